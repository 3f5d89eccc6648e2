//! The supervisor: all config problems at once, and a monitor that stops is loaded again from
//! its file and restarted (counted), its reports flowing on through the same feed.

use std::path::Path;
use std::time::Duration;

use kec_npd::types::{Condition, ConditionStatus, Status};
use kec_npd::{Monitor, MonitorKind, MonitorOptions};
use kec_npd_export::NpdMetrics;
use kec_npd_export::supervisor::{self, LoadedMonitor, MonitorSpec};
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

/// A monitor that reports once and stops (as a monitor whose input failed does).
struct OneShotMonitor;

fn one_shot_status() -> Status {
    Status {
        source: "ntp-custom-plugin-monitor".into(),
        events: Vec::new(),
        conditions: vec![Condition {
            condition_type: "NTPProblem".into(),
            status: ConditionStatus::True,
            transition_ms: 0,
            reason: "FromTheFirstRun".into(),
            message: String::new(),
        }],
    }
}

impl Monitor for OneShotMonitor {
    fn source(&self) -> &str {
        "ntp-custom-plugin-monitor"
    }

    fn initial_status(&self) -> Option<Status> {
        None
    }

    fn start(self: Box<Self>, _cancel: CancellationToken) -> mpsc::Receiver<Status> {
        let (status_tx, status_rx) = mpsc::channel(1);
        let _ = status_tx.try_send(one_shot_status());
        status_rx
    }
}

fn plugin_config(directory: &Path) -> std::path::PathBuf {
    let path = directory.join("ntp.json");
    std::fs::write(
        &path,
        r#"{"plugin": "custom", "pluginConfig": {"invoke_interval": "1h", "timeout": "5s"},
            "source": "ntp-custom-plugin-monitor",
            "conditions": [{"type": "NTPProblem", "reason": "NTPIsUp", "message": "ntp service is up"}],
            "rules": [{"type": "permanent", "condition": "NTPProblem", "reason": "NTPIsDown",
                       "path": "/bin/true", "timeout": "3s"}]}"#,
    )
    .unwrap();
    path
}

#[tokio::test]
async fn a_stopped_monitor_is_reloaded_restarted_and_counted() {
    let directory = tempfile::tempdir().unwrap();
    let path = plugin_config(directory.path());
    let options = MonitorOptions::new(directory.path(), "node-1");
    let metrics = NpdMetrics::new();
    let cancel = CancellationToken::new();
    let loaded = LoadedMonitor {
        spec: MonitorSpec {
            kind: MonitorKind::CustomPlugin,
            path,
        },
        monitor: Box::new(OneShotMonitor),
    };
    let mut feed = supervisor::supervise(
        loaded,
        options,
        metrics.clone(),
        Duration::from_millis(10),
        cancel.clone(),
    );
    let first = tokio::time::timeout(Duration::from_secs(10), feed.status_rx.recv())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(first, one_shot_status());
    // The reloaded monitor (from the file) starts with its initial status.
    let second = tokio::time::timeout(Duration::from_secs(10), feed.status_rx.recv())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(second.conditions[0].reason, "NTPIsUp");
    assert!(
        metrics
            .encode()
            .contains("kec_npd_monitor_restarts_total{source=\"ntp-custom-plugin-monitor\"} 1\n")
    );
    cancel.cancel();
    // The feed closes after shutdown.
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    while tokio::time::timeout_at(deadline, feed.status_rx.recv())
        .await
        .unwrap()
        .is_some()
    {}
}

#[test]
fn every_unloadable_config_is_reported() {
    let directory = tempfile::tempdir().unwrap();
    let good = plugin_config(directory.path());
    let bad = directory.path().join("bad.json");
    std::fs::write(&bad, r#"{"plugin": "kmsg", "rules": 3}"#).unwrap();
    let specs = [
        MonitorSpec {
            kind: MonitorKind::SystemLog,
            path: bad,
        },
        MonitorSpec {
            kind: MonitorKind::CustomPlugin,
            path: good,
        },
        MonitorSpec {
            kind: MonitorKind::SystemLog,
            path: directory.path().join("missing.json"),
        },
    ];
    let options = MonitorOptions::new(directory.path(), "node-1");
    let problems = supervisor::load_all(&specs, &options).unwrap_err();
    assert_eq!(problems.len(), 2, "{problems:#?}");
    assert!(problems[0].contains("bad.json") && problems[1].contains("missing.json"));
}
