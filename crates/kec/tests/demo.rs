//! `kec demo` end to end: the simulated cluster goes through the real ingest API and the store
//! ends up holding exactly the occurrences the simulation produced.

use std::process::Command;

use kec_store::{AggregateRequest, EmbeddedStore, StoreConfig};

#[test]
fn demo_delivers_every_occurrence_exactly_once() {
    let dir = tempfile::tempdir().unwrap();
    let output = Command::new(env!("CARGO_BIN_EXE_kec"))
        .args([
            "demo",
            "--listen",
            "127.0.0.1:0",
            "--seed",
            "7",
            "--history-hours",
            "2",
        ])
        .args(["--duration-seconds", "4", "--data-dir"])
        .arg(dir.path())
        .env("KEC_LOG", "warn")
        .output()
        .expect("kec demo runs");
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "kec demo failed: {stdout}\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(
        stdout.contains("kec demo is running: open http://127.0.0.1:"),
        "{stdout}"
    );
    let summary = stdout
        .lines()
        .find(|line| line.starts_with("demo stopped"))
        .expect("summary line");
    let numbers: Vec<u64> = summary
        .split_whitespace()
        .filter_map(|word| word.parse().ok())
        .collect();
    assert_eq!(numbers.len(), 2, "{summary}");
    let (produced, acknowledged) = (numbers[0], numbers[1]);
    assert!(produced > 1000, "two hours of a busy cluster: {summary}");
    assert_eq!(produced, acknowledged, "{summary}");

    let store = EmbeddedStore::open(StoreConfig::new(dir.path())).unwrap();
    let rows = store.aggregate(&AggregateRequest::default()).unwrap();
    let stored: i64 = rows.iter().map(|row| row.occurrences).sum();
    assert_eq!(stored as u64, produced);
    let clusters = store.clusters().unwrap();
    assert_eq!(clusters.len(), 1);
    assert_eq!(clusters[0].name, "demo");
    assert!(clusters[0].warning_occurrences > 0);
}
