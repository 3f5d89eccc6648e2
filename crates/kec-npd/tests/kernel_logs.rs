//! Golden cases: every real kernel log NPD ships for its tests (shared/data/kernel-logs/npd)
//! fires the rule NPD fires for it, with NPD's shipped kernel, readonly and docker monitors.

use std::path::{Path, PathBuf};

use kec_npd::config::system_log::SystemLogConfig;
use kec_npd::monitor::system_log::rules::{LogLine, RuleEngine};
use kec_npd::types::{ConditionStatus, Severity, Status};

fn data(path: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../../shared/data")
        .join(path)
}

fn config(name: &str) -> SystemLogConfig {
    let path = data(&format!("npd-config/{name}"));
    SystemLogConfig::load(&path).unwrap_or_else(|error| panic!("{error}"))
}

/// Feeds a log file line by line (trimmed, as the kmsg watcher does) and returns the statuses.
fn feed(config: &SystemLogConfig, log: &str) -> (Vec<Status>, RuleEngine) {
    let text = std::fs::read_to_string(data(&format!("kernel-logs/npd/{log}")))
        .unwrap_or_else(|error| panic!("{log}: {error}"));
    let mut engine = RuleEngine::new(config, Vec::new(), 0).unwrap_or_else(|e| panic!("{e}"));
    let mut statuses = Vec::new();
    for (index, line) in text.lines().enumerate() {
        let message = line.trim();
        if message.is_empty() {
            continue;
        }
        engine.process(
            LogLine {
                timestamp_ms: 1_000 + index as i64,
                message: message.to_string(),
            },
            &mut statuses,
        );
    }
    (statuses, engine)
}

/// (reason, severity) of every event, in order.
fn events(statuses: &[Status]) -> Vec<(String, Severity)> {
    statuses
        .iter()
        .flat_map(|s| s.events.iter().map(|e| (e.reason.clone(), e.severity)))
        .collect()
}

/// (type, status, reason) of every condition that is not False at the end.
fn problems(engine: &RuleEngine) -> Vec<(String, ConditionStatus, String)> {
    engine
        .conditions()
        .iter()
        .filter(|c| c.status != ConditionStatus::False)
        .map(|c| (c.condition_type.clone(), c.status, c.reason.clone()))
        .collect()
}

fn warn(reason: &str) -> (String, Severity) {
    (reason.to_string(), Severity::Warn)
}

#[test]
fn oom_kill_is_a_temporary_oom_killing_event() {
    let (statuses, engine) = feed(&config("kernel-monitor.json"), "oom_kill");
    assert_eq!(events(&statuses), vec![warn("OOMKilling")]);
    let event = &statuses[0].events[0];
    assert_eq!(
        event.message,
        "Killed process 1012 (heapster) total-vm:327128kB, anon-rss:306328kB, file-rss:11132kB, shmem-rss:12345kB"
    );
    // The timestamp is the matched line's (the second line of the file).
    assert_eq!(event.timestamp_ms, 1_001);
    assert!(problems(&engine).is_empty());
}

#[test]
fn docker_hung_is_task_hung_and_sets_kernel_deadlock() {
    let (statuses, engine) = feed(&config("kernel-monitor.json"), "docker_hung");
    // TaskHung (temporary) then the KernelDeadlock condition change (permanent DockerHung).
    assert_eq!(
        events(&statuses),
        vec![warn("TaskHung"), warn("DockerHung")]
    );
    assert_eq!(
        problems(&engine),
        vec![(
            "KernelDeadlock".to_string(),
            ConditionStatus::True,
            "DockerHung".to_string()
        )]
    );
    let deadlock = engine
        .conditions()
        .iter()
        .find(|c| c.condition_type == "KernelDeadlock")
        .unwrap_or_else(|| panic!("no KernelDeadlock"));
    assert_eq!(
        deadlock.message,
        "INFO: task docker:20744 blocked for more than 120 seconds."
    );
    assert_eq!(deadlock.transition_ms, 1_000);
    assert_eq!(
        statuses[1].events[0].message,
        "Node condition KernelDeadlock is now: True, reason: DockerHung, message: \"INFO: task docker:20744 blocked for more than 120 seconds.\""
    );
}

#[test]
fn aufs_umount_hung_is_task_hung_without_a_condition() {
    let (statuses, engine) = feed(&config("kernel-monitor.json"), "aufs_umount_hung");
    assert_eq!(events(&statuses), vec![warn("TaskHung")]);
    assert!(problems(&engine).is_empty());
}

#[test]
fn null_pointer_is_a_kernel_oops() {
    let (statuses, engine) = feed(&config("kernel-monitor.json"), "null_pointer");
    assert_eq!(events(&statuses), vec![warn("KernelOops")]);
    assert_eq!(
        statuses[0].events[0].message,
        "BUG: unable to handle kernel NULL pointer dereference at 0000000000000078"
    );
    assert!(problems(&engine).is_empty());
}

#[test]
fn divide_error_is_a_kernel_oops_after_trimming() {
    // The line ends with a space; only NPD's TrimSpace lets the end-anchored rule match.
    let (statuses, _) = feed(&config("kernel-monitor.json"), "divide_zero");
    assert_eq!(events(&statuses), vec![warn("KernelOops")]);
    assert_eq!(statuses[0].events[0].message, "divide error: 0000 [#1] SMP");
}

#[test]
fn unregister_netdevice_is_temporary() {
    let (statuses, _) = feed(&config("kernel-monitor.json"), "unregister_netdevice");
    assert_eq!(events(&statuses), vec![warn("UnregisterNetDevice")]);
}

#[test]
fn readonly_filesystem_sets_the_readonly_condition() {
    let (statuses, engine) = feed(&config("readonly-monitor.json"), "readonly_filesystem");
    assert_eq!(events(&statuses), vec![warn("FilesystemIsReadOnly")]);
    assert_eq!(
        problems(&engine),
        vec![(
            "ReadonlyFilesystem".to_string(),
            ConditionStatus::True,
            "FilesystemIsReadOnly".to_string()
        )]
    );
    // The kernel monitor has no rule for it.
    let (statuses, _) = feed(&config("kernel-monitor.json"), "readonly_filesystem");
    assert!(events(&statuses).is_empty());
}

#[test]
fn no_kernel_log_fires_the_docker_monitor_and_others_stay_silent_on_readonly() {
    for log in [
        "oom_kill",
        "docker_hung",
        "aufs_umount_hung",
        "null_pointer",
        "divide_zero",
        "unregister_netdevice",
        "readonly_filesystem",
    ] {
        let (statuses, _) = feed(&config("docker-monitor.json"), log);
        assert!(statuses.is_empty(), "docker-monitor fired for {log}");
        if log != "readonly_filesystem" {
            let (statuses, _) = feed(&config("readonly-monitor.json"), log);
            assert!(statuses.is_empty(), "readonly-monitor fired for {log}");
        }
    }
}

#[test]
fn a_true_condition_with_the_same_reason_makes_no_second_event() {
    let config = config("kernel-monitor.json");
    let mut engine = RuleEngine::new(&config, Vec::new(), 0).unwrap_or_else(|e| panic!("{e}"));
    let mut statuses = Vec::new();
    for at in [10, 20] {
        engine.process(
            LogLine {
                timestamp_ms: at,
                message: "INFO: task docker:1 blocked for more than 120 seconds.".into(),
            },
            &mut statuses,
        );
    }
    // First line: TaskHung + DockerHung change; second: TaskHung + a status with no event.
    let reasons: Vec<Vec<String>> = statuses
        .iter()
        .map(|s| s.events.iter().map(|e| e.reason.clone()).collect())
        .collect();
    assert_eq!(
        reasons,
        vec![
            vec!["TaskHung".to_string()],
            vec!["DockerHung".to_string()],
            vec!["TaskHung".to_string()],
            vec![]
        ]
    );
    let deadlock = &statuses[3].conditions[0];
    assert_eq!(
        (deadlock.status, deadlock.transition_ms),
        (ConditionStatus::True, 10)
    );
}

#[test]
fn docker_monitor_rules_fire_on_dockerd_messages() {
    let config = config("docker-monitor.json");
    let mut engine = RuleEngine::new(&config, Vec::new(), 0).unwrap_or_else(|e| panic!("{e}"));
    let mut statuses = Vec::new();
    for message in [
        "Error trying v2 registry: failed to register layer: rename /var/lib/docker/image/overlay2/layerdb/tmp/write-set-1 /var/lib/docker/image/overlay2/layerdb/sha256/abc: directory not empty",
        "handler for GET /containers/x/json returned error: readlink /var/lib/docker/overlay2/l: invalid argument",
        "OCI runtime start failed: container process is already dead: unknown",
    ] {
        engine.process(
            LogLine {
                timestamp_ms: 0,
                message: message.into(),
            },
            &mut statuses,
        );
    }
    assert_eq!(
        events(&statuses),
        vec![
            warn("CorruptDockerImage"),
            warn("CorruptDockerOverlay2"),
            warn("DockerContainerStartupFailure")
        ]
    );
    assert_eq!(
        problems(&engine),
        vec![(
            "CorruptDockerOverlay2".to_string(),
            ConditionStatus::True,
            "CorruptDockerOverlay2".to_string()
        )]
    );
}
