//! The custom plugin monitor with NPD's semantics, running small shell scripts from temp dirs.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use kec_npd::config::RuleKind;
use kec_npd::config::custom_plugin::{CustomPluginConfig, PluginRule};
use kec_npd::monitor::custom_plugin::{PluginConditions, PluginResult, PluginStatus, run_plugin};
use kec_npd::monitor::{MonitorKind, MonitorOptions, load_monitor};
use kec_npd::types::{ConditionStatus, Severity, Status};
use tokio_util::sync::CancellationToken;

fn script(dir: &Path, name: &str, body: &str) -> PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, format!("#!/bin/sh\n{body}\n")).unwrap_or_else(|e| panic!("{e}"));
    let mut permissions = std::fs::metadata(&path)
        .unwrap_or_else(|e| panic!("{e}"))
        .permissions();
    std::os::unix::fs::PermissionsExt::set_mode(&mut permissions, 0o755);
    std::fs::set_permissions(&path, permissions).unwrap_or_else(|e| panic!("{e}"));
    path
}

fn rule(path: PathBuf, timeout_ns: Option<i64>) -> PluginRule {
    PluginRule {
        kind: RuleKind::Temporary,
        condition: String::new(),
        reason: "R".into(),
        path,
        args: Vec::new(),
        timeout_ns,
        invoke_interval_ns: None,
    }
}

const SECOND: i64 = 1_000_000_000;

#[tokio::test]
async fn exit_codes_map_to_ok_nonok_unknown() {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let ok = script(dir.path(), "ok.sh", "echo '  all good  '; exit 0");
    let bad = script(
        dir.path(),
        "bad.sh",
        "echo 'NTP is down'; echo noise >&2; exit 1",
    );
    let odd = script(dir.path(), "odd.sh", "echo odd; exit 3");
    assert_eq!(
        run_plugin(&rule(ok, None), 5 * SECOND, 80).await,
        (PluginStatus::Ok, "all good".into())
    );
    assert_eq!(
        run_plugin(&rule(bad, None), 5 * SECOND, 80).await,
        (PluginStatus::NonOk, "NTP is down".into())
    );
    assert_eq!(
        run_plugin(&rule(odd, None), 5 * SECOND, 80).await,
        (PluginStatus::Unknown, "odd".into())
    );
    let missing = rule(dir.path().join("absent.sh"), None);
    assert_eq!(
        run_plugin(&missing, 5 * SECOND, 80).await,
        (
            PluginStatus::Unknown,
            "Error in starting plugin. Please check the error log".into()
        )
    );
}

#[tokio::test]
async fn output_is_cut_to_max_output_length() {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let long = script(dir.path(), "long.sh", "printf '%0100d' 0; exit 1");
    let (status, message) = run_plugin(&rule(long, None), 5 * SECOND, 80).await;
    assert_eq!(status, PluginStatus::NonOk);
    assert_eq!(message.len(), 80);
}

#[tokio::test]
async fn the_smaller_timeout_wins_and_a_timeout_is_unknown_and_kills_the_group() {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let marker = dir.path().join("survived");
    let slow = script(
        dir.path(),
        "slow.sh",
        &format!(
            "echo started; (sleep 2; touch {}) & sleep 10; exit 0",
            marker.display()
        ),
    );
    let started = std::time::Instant::now();
    // Rule timeout 300 ms < global 5 s.
    let (status, message) = run_plugin(&rule(slow, Some(SECOND / 10 * 3)), 5 * SECOND, 200).await;
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "the rule timeout must apply"
    );
    assert_eq!(status, PluginStatus::Unknown);
    assert!(
        message.starts_with("Timeout when running plugin \""),
        "{message}"
    );
    assert!(message.contains("state - signal: killed"), "{message}");
    // The background child was in the plugin's process group and was killed with it.
    tokio::time::sleep(Duration::from_millis(2500)).await;
    assert!(
        !marker.exists(),
        "the plugin's children must be killed on timeout"
    );
}

fn ntp_config(message_change: bool) -> Arc<CustomPluginConfig> {
    let value = serde_json::json!({
        "plugin": "custom",
        "pluginConfig": {"enable_message_change_based_condition_update": message_change},
        "source": "ntp-custom-plugin-monitor",
        "conditions": [{"type": "NTPProblem", "reason": "NTPIsUp", "message": "ntp service is up"}],
        "rules": [
            {"type": "temporary", "reason": "NTPIsDown", "path": "/bin/true"},
            {"type": "permanent", "condition": "NTPProblem", "reason": "NTPIsDown", "path": "/bin/true"}
        ]
    });
    Arc::new(
        CustomPluginConfig::from_value(Path::new("ntp.json"), &value, Path::new("/"))
            .unwrap_or_else(|e| panic!("{e}")),
    )
}

fn result(rule_index: usize, status: PluginStatus, message: &str) -> PluginResult {
    PluginResult {
        rule_index,
        status,
        message: message.into(),
    }
}

fn summary(status: &Status) -> (ConditionStatus, String, String, Vec<(String, Severity)>) {
    let condition = &status.conditions[0];
    (
        condition.status,
        condition.reason.clone(),
        condition.message.clone(),
        status
            .events
            .iter()
            .map(|e| (e.reason.clone(), e.severity))
            .collect(),
    )
}

#[test]
fn npd_condition_transitions() {
    let mut conditions = PluginConditions::new(ntp_config(false), 0);
    // Temporary rule: an Event only when not OK.
    assert!(
        conditions
            .apply(&result(0, PluginStatus::Ok, ""), 1)
            .events
            .is_empty()
    );
    let event = conditions.apply(&result(0, PluginStatus::Unknown, "weird"), 1);
    assert_eq!(event.events[0].reason, "NTPIsDown");
    // False -> True: the rule's reason and output.
    let status = conditions.apply(&result(1, PluginStatus::NonOk, "ntp down"), 2);
    assert_eq!(
        summary(&status),
        (
            ConditionStatus::True,
            "NTPIsDown".into(),
            "ntp down".into(),
            vec![("NTPIsDown".into(), Severity::Warn)]
        )
    );
    assert_eq!(status.conditions[0].transition_ms, 2);
    // True -> True with another message: no update unless message-change updates are on.
    let status = conditions.apply(&result(1, PluginStatus::NonOk, "still down"), 3);
    assert_eq!(summary(&status).2, "ntp down");
    assert!(status.events.is_empty());
    // True -> Unknown: the default reason, the plugin's output, a Normal event.
    let status = conditions.apply(&result(1, PluginStatus::Unknown, "timeout"), 4);
    assert_eq!(
        summary(&status),
        (
            ConditionStatus::Unknown,
            "NTPIsUp".into(),
            "timeout".into(),
            vec![("NTPIsUp".into(), Severity::Info)]
        )
    );
    // Unknown -> False: the default reason and message.
    let status = conditions.apply(&result(1, PluginStatus::Ok, "fine"), 5);
    assert_eq!(
        summary(&status),
        (
            ConditionStatus::False,
            "NTPIsUp".into(),
            "ntp service is up".into(),
            vec![("NTPIsUp".into(), Severity::Info)]
        )
    );
    assert_eq!(
        status.events[0].message,
        "Node condition NTPProblem is now: False, reason: NTPIsUp, message: \"ntp service is up\""
    );
    // False -> False: nothing.
    assert!(
        conditions
            .apply(&result(1, PluginStatus::Ok, "fine"), 6)
            .events
            .is_empty()
    );
}

#[test]
fn message_change_based_updates_when_enabled() {
    let mut conditions = PluginConditions::new(ntp_config(true), 0);
    conditions.apply(&result(1, PluginStatus::NonOk, "ntp down"), 1);
    let status = conditions.apply(&result(1, PluginStatus::NonOk, "still down"), 2);
    assert_eq!(summary(&status).2, "still down");
    assert_eq!(status.events.len(), 1);
    assert_eq!(status.conditions[0].transition_ms, 2);
}

#[tokio::test]
async fn the_monitor_runs_rules_at_start_and_every_interval() {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let counter = dir.path().join("runs");
    script(
        dir.path(),
        "check.sh",
        &format!("echo run >> {}; echo 'ntp down'; exit 1", counter.display()),
    );
    let config = serde_json::json!({
        "plugin": "custom",
        "pluginConfig": {"invoke_interval": "200ms", "timeout": "2s", "concurrency": 1},
        "source": "ntp",
        "conditions": [{"type": "NTPProblem", "reason": "NTPIsUp", "message": "ntp service is up"}],
        "rules": [{"type": "permanent", "condition": "NTPProblem", "reason": "NTPIsDown", "path": "./check.sh"}]
    });
    std::fs::write(dir.path().join("ntp.json"), config.to_string())
        .unwrap_or_else(|e| panic!("{e}"));
    let mut options = MonitorOptions::new(dir.path().join("state"), "node-1");
    options.plugin_base_dir = dir.path().to_path_buf();
    let monitor = load_monitor(
        MonitorKind::CustomPlugin,
        &dir.path().join("ntp.json"),
        &options,
    )
    .unwrap_or_else(|e| panic!("{e}"));
    let cancel = CancellationToken::new();
    let mut rx = monitor.start(cancel.clone());
    let mut statuses = Vec::new();
    while statuses.len() < 4 {
        match tokio::time::timeout(Duration::from_secs(10), rx.recv()).await {
            Ok(Some(status)) => statuses.push(status),
            other => panic!("monitor stopped early: {other:?}"),
        }
    }
    cancel.cancel();
    // Initial (False), the first run (-> True, one event), then runs with no change.
    assert_eq!(statuses[0].conditions[0].status, ConditionStatus::False);
    assert_eq!(statuses[1].conditions[0].status, ConditionStatus::True);
    assert_eq!(statuses[1].events.len(), 1);
    assert!(statuses[2].events.is_empty() && statuses[3].events.is_empty());
    let runs = std::fs::read_to_string(&counter)
        .unwrap_or_default()
        .lines()
        .count();
    assert!(runs >= 3, "ran {runs} times");
}
