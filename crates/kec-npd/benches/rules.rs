//! Log lines per second through NPD's kernel-monitor rules (one core).
//!
//! `cargo bench -p kec-npd --bench rules`

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use kec_npd::config::system_log::SystemLogConfig;
use kec_npd::monitor::system_log::rules::{LogLine, RuleEngine};

fn kernel_config() -> SystemLogConfig {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../../shared/data/npd-config/kernel-monitor.json"
    );
    match SystemLogConfig::load(std::path::Path::new(path)) {
        Ok(config) => config,
        Err(error) => panic!("cannot load {path}: {error}"),
    }
}

fn lines() -> Vec<String> {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../../shared/data/kmsg/kmsg.1.log"
    );
    let text = std::fs::read_to_string(path).unwrap_or_default();
    text.lines()
        .filter_map(|line| line.split_once(';').map(|(_, message)| message.to_string()))
        .collect()
}

fn rules(c: &mut Criterion) {
    let config = kernel_config();
    let lines = lines();
    let mut group = c.benchmark_group("kernel-monitor");
    group.throughput(Throughput::Elements(lines.len() as u64));
    group.bench_function("kmsg.1.log lines", |b| {
        let mut engine = match RuleEngine::new(&config, Vec::new(), 0) {
            Ok(engine) => engine,
            Err(error) => panic!("{error}"),
        };
        let mut statuses = Vec::new();
        b.iter(|| {
            for message in &lines {
                engine.process(
                    LogLine {
                        timestamp_ms: 0,
                        message: message.clone(),
                    },
                    &mut statuses,
                );
                statuses.clear();
            }
        });
    });
    group.finish();
}

criterion_group!(benches, rules);
criterion_main!(benches);
