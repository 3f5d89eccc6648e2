//! `kec bench npd`: log lines per second per core through a system log monitor's rules
//! (kec-npd's [`kec_npd::bench_lines`]), then the footprint of a running `kec npd` with the
//! default configs (resident memory and CPU, sampled from /proc while it idles).

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use kec_npd::config::system_log::SystemLogConfig;

#[derive(Debug, clap::Args)]
pub struct NpdBenchArgs {
    /// The system log monitor whose rules are timed.
    #[arg(long, default_value = "deploy/npd/config/kernel-monitor.json")]
    config: PathBuf,
    /// Log lines to feed, one per line; raw /dev/kmsg records (`prio,seq,usec,flags;message`)
    /// are reduced to their message. Cycled up to --lines.
    #[arg(long, default_value = "../shared/data/kmsg/kmsg.1.log")]
    log_file: PathBuf,
    /// Lines fed through the rules.
    #[arg(long, default_value_t = 2_000_000)]
    lines: u64,
    /// Directory of the default configs `kec npd` runs with for the footprint.
    #[arg(long, default_value = "deploy/npd/config")]
    config_dir: PathBuf,
    /// How long the footprint of `kec npd` is sampled; 0 skips it.
    #[arg(long, default_value_t = 20)]
    rss_seconds: u64,
}

fn log_messages(path: &Path) -> anyhow::Result<Vec<String>> {
    let text = std::fs::read_to_string(path)
        .with_context(|| format!("cannot read the log {}", path.display()))?;
    let messages: Vec<String> = text
        .lines()
        .map(|line| match line.split_once(';') {
            // A kmsg record: the header has no spaces.
            Some((header, message)) if !header.contains(' ') => message.to_string(),
            _ => line.to_string(),
        })
        .filter(|message| !message.is_empty())
        .collect();
    if messages.is_empty() {
        bail!("{} holds no log lines", path.display());
    }
    Ok(messages)
}

/// `VmRSS` and `VmHWM` of a process, in KiB.
pub(crate) fn memory_kib(pid: u32) -> Option<(u64, u64)> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let field = |name: &str| {
        status
            .lines()
            .find_map(|line| line.strip_prefix(name))
            .and_then(|rest| rest.split_whitespace().next())
            .and_then(|kib| kib.parse::<u64>().ok())
    };
    Some((field("VmRSS:")?, field("VmHWM:")?))
}

/// User + system CPU time of a process, in clock ticks (fields 14 and 15 of /proc/pid/stat).
fn cpu_ticks(pid: u32) -> Option<u64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // The command name may hold spaces; fields start after its closing parenthesis.
    let (_, rest) = stat.rsplit_once(')')?;
    let fields: Vec<&str> = rest.split_whitespace().collect();
    let user = fields.get(11)?.parse::<u64>().ok()?;
    let system = fields.get(12)?.parse::<u64>().ok()?;
    Some(user + system)
}

/// The default monitors: every system log config of `config_dir`, and its native checks.
fn default_monitor_flags(config_dir: &Path) -> anyhow::Result<Vec<String>> {
    let mut system_log = Vec::new();
    let mut native = Vec::new();
    let entries = std::fs::read_dir(config_dir)
        .with_context(|| format!("cannot read {}", config_dir.display()))?;
    for entry in entries {
        let path = entry?.path();
        if path.extension().and_then(|extension| extension.to_str()) != Some("json") {
            continue;
        }
        if path.file_name().and_then(|name| name.to_str()) == Some("native-checks.json") {
            native.push(path.display().to_string());
        } else {
            system_log.push(path.display().to_string());
        }
    }
    system_log.sort();
    let mut flags = vec![format!(
        "--config.system-log-monitor={}",
        system_log.join(",")
    )];
    if !native.is_empty() {
        flags.push(format!("--config.native-checks={}", native.join(",")));
    }
    Ok(flags)
}

async fn footprint(args: &NpdBenchArgs) -> anyhow::Result<()> {
    let state_dir = tempfile::Builder::new()
        .prefix("kec-bench-npd-")
        .tempdir()?;
    let executable = std::env::current_exe().context("cannot find the kec executable")?;
    let mut command = tokio::process::Command::new(executable);
    command
        .arg("npd")
        .args(default_monitor_flags(&args.config_dir)?)
        .arg(format!("--state-dir={}", state_dir.path().display()))
        .arg("--hostname-override=bench-node")
        // An API server that never answers: the exporter and its client exist and keep
        // trying to read the Node, as on a node whose API server is down.
        .arg("--apiserver-override=http://127.0.0.1:9?inClusterConfig=false")
        .arg("--port=0")
        .arg("--prometheus-port=0")
        .env("KEC_LOG", "warn")
        // As deploy/npd/daemonset.yaml runs it: mimalloc's transparent huge pages would add
        // about 20 MiB of resident memory to an agent that needs a few.
        .env("MIMALLOC_ALLOW_THP", "0")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .kill_on_drop(true);
    let mut child = command.spawn().context("cannot start kec npd")?;
    let pid = child.id().context("kec npd exited at once")?;
    // Let it start (configs, regexes, journalctl, first native checks) before sampling.
    tokio::time::sleep(Duration::from_secs(3)).await;
    let started = Instant::now();
    let ticks_at_start = cpu_ticks(pid).context("kec npd is not running")?;
    let mut max_rss_kib = 0;
    let mut hwm_kib = 0;
    while started.elapsed() < Duration::from_secs(args.rss_seconds) {
        if let Some((rss, hwm)) = memory_kib(pid) {
            max_rss_kib = max_rss_kib.max(rss);
            hwm_kib = hwm;
        } else {
            bail!("kec npd stopped during the measurement");
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    let ticks = cpu_ticks(pid).unwrap_or(ticks_at_start) - ticks_at_start;
    let seconds = started.elapsed().as_secs_f64();
    // Linux reports CPU time in USER_HZ ticks, 100 per second.
    let core_percent = ticks as f64 / 100.0 / seconds * 100.0;
    child.start_kill().ok();
    child.wait().await.ok();
    println!(
        "kec npd, default configs (MIMALLOC_ALLOW_THP=0), idle {seconds:.0} s: RSS max {:.1} MiB, peak (VmHWM) {:.1} MiB, CPU {core_percent:.2} % of a core",
        max_rss_kib as f64 / 1024.0,
        hwm_kib as f64 / 1024.0,
    );
    Ok(())
}

pub async fn run(args: NpdBenchArgs) -> anyhow::Result<()> {
    let config = SystemLogConfig::load(&args.config)
        .map_err(|error| anyhow::anyhow!("{error}"))
        .context("cannot load the monitor config")?;
    let messages = log_messages(&args.log_file)?;
    let total = args.lines;
    let report =
        tokio::task::spawn_blocking(move || kec_npd::bench_lines(&config, &messages, total))
            .await
            .context("the benchmark thread failed")?
            .map_err(|error| anyhow::anyhow!("{error}"))?;
    println!(
        "rules of {}: {} lines in {:.2} s = {:.0} lines/s on one core ({} statuses)",
        args.config.display(),
        report.lines,
        report.seconds,
        report.lines_per_second,
        report.statuses
    );
    if args.rss_seconds > 0 {
        footprint(&args).await?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kmsg_records_are_reduced_to_their_message() {
        let directory = tempfile::tempdir().unwrap();
        let path = directory.path().join("log");
        std::fs::write(
            &path,
            "6,1,100,-;INFO: task docker:7 blocked for more than 120 seconds.\nplain line; with a semicolon\n\n",
        )
        .unwrap();
        assert_eq!(
            log_messages(&path).unwrap(),
            [
                "INFO: task docker:7 blocked for more than 120 seconds.",
                "plain line; with a semicolon"
            ]
        );
    }

    #[test]
    fn this_process_has_memory_and_cpu_figures() {
        let pid = std::process::id();
        let (rss, hwm) = memory_kib(pid).unwrap();
        assert!(rss > 0 && hwm >= rss);
        assert!(cpu_ticks(pid).is_some());
    }
}
