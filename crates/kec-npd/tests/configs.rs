//! Every NPD config in shared/data/npd-config loads and builds its monitor; invalid configs
//! report every problem at once with its field.

use std::path::{Path, PathBuf};

use kec_npd::Error;
use kec_npd::config::RuleKind;
use kec_npd::config::custom_plugin::CustomPluginConfig;
use kec_npd::config::system_log::{LogPlugin, SystemLogConfig};
use kec_npd::monitor::{MonitorKind, MonitorOptions, load_monitor};

fn shared(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../../shared/data/npd-config")
        .join(name)
}

/// A root with /proc, and a plugin base dir holding ./config/plugin/check_ntp.sh (our own
/// stand-in script: NPD's is not copied).
fn options() -> (tempfile::TempDir, MonitorOptions) {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    std::fs::create_dir_all(dir.path().join("root/proc")).unwrap_or_else(|e| panic!("{e}"));
    std::fs::create_dir_all(dir.path().join("config/plugin")).unwrap_or_else(|e| panic!("{e}"));
    std::fs::write(
        dir.path().join("config/plugin/check_ntp.sh"),
        "#!/bin/sh\nexit 0\n",
    )
    .unwrap_or_else(|e| panic!("{e}"));
    let mut options = MonitorOptions::new(dir.path().join("state"), "node-1");
    options.root = dir.path().join("root");
    options.plugin_base_dir = dir.path().to_path_buf();
    (dir, options)
}

#[test]
fn every_shipped_npd_config_loads_and_builds() {
    let (_dir, options) = options();
    for (name, kind, source, conditions) in [
        (
            "kernel-monitor.json",
            MonitorKind::SystemLog,
            "kernel-monitor",
            3,
        ),
        (
            "readonly-monitor.json",
            MonitorKind::SystemLog,
            "readonly-monitor",
            1,
        ),
        (
            "docker-monitor.json",
            MonitorKind::SystemLog,
            "docker-monitor",
            1,
        ),
        (
            "systemd-monitor.json",
            MonitorKind::SystemLog,
            "systemd-monitor",
            0,
        ),
        (
            "custom-plugin-monitor.json",
            MonitorKind::CustomPlugin,
            "ntp-custom-plugin-monitor",
            1,
        ),
    ] {
        let monitor =
            load_monitor(kind, &shared(name), &options).unwrap_or_else(|e| panic!("{name}: {e}"));
        assert_eq!(monitor.source(), source);
        let initial = monitor
            .initial_status()
            .unwrap_or_else(|| panic!("{name}: no initial status"));
        assert_eq!(initial.conditions.len(), conditions, "{name}");
        assert!(initial.events.is_empty());
        assert!(
            initial
                .conditions
                .iter()
                .all(|c| c.status == kec_npd::types::ConditionStatus::False)
        );
    }
    let stats = load_monitor(
        MonitorKind::SystemStats,
        &shared("system-stats-monitor.json"),
        &options,
    )
    .unwrap_or_else(|e| panic!("{e}"));
    assert!(
        stats.initial_status().is_none(),
        "system stats reports metrics only"
    );
}

#[test]
fn npd_defaults_and_fields_are_decoded() {
    let kernel =
        SystemLogConfig::load(&shared("kernel-monitor.json")).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(kernel.plugin, LogPlugin::Kmsg);
    assert_eq!(kernel.lookback_ns, 300_000_000_000);
    assert_eq!(kernel.buffer_size, 10);
    assert_eq!(kernel.rules.len(), 14);
    assert_eq!(kernel.rules[13].kind, RuleKind::Permanent);
    assert_eq!(kernel.rules[13].condition, "KernelDeadlock");
    assert_eq!(kernel.conditions[0].reason, "KernelHasNoDeadlock");
    let docker =
        SystemLogConfig::load(&shared("docker-monitor.json")).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(
        docker.plugin,
        LogPlugin::Journald {
            identifier: "dockerd".into()
        }
    );
    let (dir, _) = options();
    let plugin = CustomPluginConfig::load(&shared("custom-plugin-monitor.json"), dir.path())
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(plugin.invoke_interval_ns, 30_000_000_000);
    assert_eq!(plugin.timeout_ns, 5_000_000_000);
    assert_eq!(plugin.max_output_length, 80);
    assert_eq!(plugin.concurrency, 3);
    assert_eq!(plugin.rules[0].timeout_ns, Some(3_000_000_000));
    assert!(!plugin.skip_initial_status);
}

#[test]
fn defaults_apply_when_keys_are_absent_and_keys_match_case_insensitively_like_go() {
    let value = serde_json::json!({
        "Plugin": "kmsg", "SOURCE": "k", "bufferSize": 0,
        "rules": [{"type": "temporary", "reason": "R", "pattern": "x"}]
    });
    let config = SystemLogConfig::from_value(Path::new("mem.json"), &value)
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(config.buffer_size, 10);
    assert_eq!(config.lookback_ns, 0);
    assert!(config.metrics_reporting);
    assert_eq!(config.source, "k");
}

fn problems(error: Error) -> Vec<(String, String)> {
    match error {
        Error::InvalidConfig { problems, .. } => {
            problems.into_iter().map(|p| (p.field, p.reason)).collect()
        }
        other => panic!("expected InvalidConfig, got {other}"),
    }
}

#[test]
fn every_problem_of_a_log_config_is_reported_at_once() {
    let value = serde_json::json!({
        "plugin": "journald",
        "pluginConfig": {},
        "lookback": "5 minutes",
        "bufferSize": -1,
        "source": "",
        "conditions": [{"type": "A", "reason": "r", "message": "m"}, {"type": "A"}],
        "rules": [
            {"type": "temporary", "reason": "R", "pattern": "(unclosed"},
            {"type": "permanent", "condition": "Missing", "reason": "R", "pattern": "ok"},
            {"type": "sometimes", "reason": "", "pattern": "ok", "patern": "typo"}
        ],
        "extra": 1
    });
    let error = SystemLogConfig::from_value(Path::new("bad.json"), &value)
        .err()
        .unwrap_or_else(|| panic!("must fail"));
    let message = error.to_string();
    assert!(
        message.starts_with("invalid config file bad.json: "),
        "{message}"
    );
    let fields: Vec<String> = problems(error)
        .into_iter()
        .map(|(field, _)| field)
        .collect();
    for expected in [
        "pluginConfig.source",
        "lookback",
        "bufferSize",
        "source",
        "conditions[1].type",
        "rules[0].pattern",
        "rules[1].condition",
        "rules[2].type",
        "rules[2].reason",
        "rules[2].patern",
        "extra",
    ] {
        assert!(
            fields.contains(&expected.to_string()),
            "{expected} missing from {fields:?}"
        );
    }
    assert_eq!(fields.len(), 11, "{fields:?}");
}

#[test]
fn every_problem_of_a_plugin_config_is_reported_at_once() {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let value = serde_json::json!({
        "plugin": "exec",
        "pluginConfig": {"invoke_interval": "0s", "timeout": "2s", "concurrency": 0},
        "source": "s",
        "conditions": [],
        "rules": [
            {"type": "permanent", "condition": "NoDefault", "reason": "R", "path": "./missing.sh", "timeout": "3s"}
        ]
    });
    let error = CustomPluginConfig::from_value(Path::new("p.json"), &value, dir.path())
        .err()
        .unwrap_or_else(|| panic!("must fail"));
    let fields: Vec<String> = problems(error)
        .into_iter()
        .map(|(field, _)| field)
        .collect();
    assert_eq!(
        fields,
        vec![
            "plugin",
            "pluginConfig.invoke_interval",
            "pluginConfig.concurrency",
            "rules[0].condition",
            "rules[0].path",
            "rules[0].timeout"
        ]
    );
}

#[test]
fn broken_json_and_missing_files_are_clear_errors() {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let path = dir.path().join("broken.json");
    std::fs::write(&path, "{\"plugin\": \"kmsg\",\n  oops}").unwrap_or_else(|e| panic!("{e}"));
    let (_d, options) = options();
    let error = load_monitor(MonitorKind::SystemLog, &path, &options)
        .err()
        .unwrap_or_else(|| panic!("must fail"));
    assert!(
        error.to_string().contains("not valid JSON at line 2"),
        "{error}"
    );
    let error = load_monitor(
        MonitorKind::SystemLog,
        &dir.path().join("absent.json"),
        &options,
    )
    .err()
    .unwrap_or_else(|| panic!("must fail"));
    assert!(matches!(error, Error::ReadConfig { .. }));
}

#[test]
fn shipped_kec_configs_load() {
    let (_dir, options) = options();
    let deploy = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../deploy/npd/config");
    let native = load_monitor(
        MonitorKind::NativeChecks,
        &deploy.join("native-checks.json"),
        &options,
    )
    .unwrap_or_else(|e| panic!("{e}"));
    assert!(
        native
            .initial_status()
            .is_some_and(|s| s.conditions.len() == 8)
    );
    for name in [
        "kernel-monitor.json",
        "readonly-monitor.json",
        "docker-monitor.json",
        "systemd-monitor.json",
        "containerd-monitor.json",
    ] {
        load_monitor(MonitorKind::SystemLog, &deploy.join(name), &options)
            .unwrap_or_else(|e| panic!("{name}: {e}"));
    }
}
