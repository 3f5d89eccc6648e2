//! Throughput of the rule engine: log lines per second through a system log monitor's rules
//! (what `kec bench npd` and `benches/rules.rs` measure).

use std::time::Instant;

use crate::config::system_log::SystemLogConfig;
use crate::monitor::system_log::rules::{LogLine, RuleEngine};

/// What one benchmark run measured.
#[derive(Debug, Clone, PartialEq)]
pub struct BenchReport {
    /// Lines fed.
    pub lines: u64,
    /// Statuses produced (rule matches).
    pub statuses: u64,
    /// Wall time of the run in seconds (one thread).
    pub seconds: f64,
    /// Lines per second on one core.
    pub lines_per_second: f64,
}

/// Feeds `lines` (cycled up to `total` lines) through the rules of `config` on the calling
/// thread and reports the rate. Every line goes through the full engine: ring buffer, every
/// rule, Status construction.
pub fn bench_lines(
    config: &SystemLogConfig,
    lines: &[String],
    total: u64,
) -> Result<BenchReport, String> {
    if lines.is_empty() {
        return Err("no lines to feed".to_string());
    }
    let mut engine = RuleEngine::new(config, config.skip_list.clone(), 0)?;
    let mut statuses = Vec::new();
    let mut produced = 0u64;
    let start = Instant::now();
    for (index, message) in lines
        .iter()
        .cycle()
        .take(usize::try_from(total).unwrap_or(usize::MAX))
        .enumerate()
    {
        engine.process(
            LogLine {
                timestamp_ms: i64::try_from(index).unwrap_or(i64::MAX),
                message: message.clone(),
            },
            &mut statuses,
        );
        produced += statuses.len() as u64;
        statuses.clear();
    }
    let seconds = start.elapsed().as_secs_f64();
    Ok(BenchReport {
        lines: total,
        statuses: produced,
        seconds,
        lines_per_second: if seconds > 0.0 {
            total as f64 / seconds
        } else {
            f64::INFINITY
        },
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_lines_and_rule_matches() {
        let value = serde_json::json!({
            "plugin": "kmsg", "source": "k",
            "conditions": [{"type": "KernelDeadlock", "reason": "KernelHasNoDeadlock", "message": "ok"}],
            "rules": [
                {"type": "temporary", "reason": "TaskHung", "pattern": "task [\\S ]+:\\w+ blocked for more than \\w+ seconds\\."},
                {"type": "permanent", "condition": "KernelDeadlock", "reason": "DockerHung", "pattern": "task docker:\\w+ blocked for more than \\w+ seconds\\."}
            ]
        });
        let config = SystemLogConfig::from_value(std::path::Path::new("k.json"), &value)
            .unwrap_or_else(|e| panic!("{e}"));
        let lines = vec![
            "INFO: task docker:1 blocked for more than 120 seconds.".to_string(),
            "nothing to see".to_string(),
        ];
        let report = bench_lines(&config, &lines, 6).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(report.lines, 6);
        // Three hung-task lines, each matching both rules.
        assert_eq!(report.statuses, 6);
        assert!(report.lines_per_second > 0.0);
        assert!(bench_lines(&config, &[], 1).is_err());
    }
}
