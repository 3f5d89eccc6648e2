//! The system log monitor end to end: kmsg/journald/filelog inputs under a temp root, lookback,
//! and no replay after a restart (positions persisted in the state dir).

use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use kec_npd::monitor::{MonitorKind, MonitorOptions, load_monitor};
use kec_npd::state::{JournalPosition, KmsgPosition, PositionFile};
use kec_npd::types::Status;
use tokio_util::sync::CancellationToken;

/// 2027-01-15T08:00:00Z.
const NOW_MS: i64 = 1_799_913_600_000;
/// The node booted 1000 s before NOW.
const UPTIME_S: i64 = 1000;

fn shared(path: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../../shared/data")
        .join(path)
}

struct Node {
    root: tempfile::TempDir,
    state: tempfile::TempDir,
}

impl Node {
    fn new() -> Node {
        let node = Node {
            root: tempfile::tempdir().unwrap_or_else(|e| panic!("{e}")),
            state: tempfile::tempdir().unwrap_or_else(|e| panic!("{e}")),
        };
        node.write("proc/uptime", &format!("{UPTIME_S}.00 1234.00\n"));
        node.write("proc/sys/kernel/random/boot_id", "boot-1\n");
        node.write("dev/kmsg", "");
        node
    }

    fn path(&self, relative: &str) -> PathBuf {
        self.root.path().join(relative)
    }

    fn write(&self, relative: &str, text: &str) {
        let path = self.path(relative);
        std::fs::create_dir_all(path.parent().unwrap_or(Path::new("/")))
            .unwrap_or_else(|e| panic!("{e}"));
        std::fs::write(path, text).unwrap_or_else(|e| panic!("{e}"));
    }

    fn append(&self, relative: &str, text: &str) {
        let mut file = std::fs::OpenOptions::new()
            .append(true)
            .open(self.path(relative))
            .unwrap_or_else(|e| panic!("{e}"));
        file.write_all(text.as_bytes())
            .unwrap_or_else(|e| panic!("{e}"));
    }

    fn options(&self) -> MonitorOptions {
        let mut options = MonitorOptions::new(self.state.path(), "node-1");
        options.root = self.root.path().to_path_buf();
        options.clock = Arc::new(|| NOW_MS);
        options
    }
}

/// A kmsg record `seconds_ago` before NOW.
fn kmsg(sequence: u64, seconds_ago: i64, message: &str) -> String {
    let usec = (UPTIME_S - seconds_ago) * 1_000_000;
    format!("6,{sequence},{usec},-;{message}\n")
}

/// Receives until `done` holds for the statuses so far (10 s at most).
async fn collect_until(
    rx: &mut tokio::sync::mpsc::Receiver<Status>,
    done: impl Fn(&[Status]) -> bool,
) -> Vec<Status> {
    let mut statuses = Vec::new();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    while !done(&statuses) {
        match tokio::time::timeout_at(deadline, rx.recv()).await {
            Ok(Some(status)) => statuses.push(status),
            Ok(None) => break,
            Err(_) => panic!("timed out; got {statuses:#?}"),
        }
    }
    statuses
}

fn reasons(statuses: &[Status]) -> Vec<String> {
    statuses
        .iter()
        .flat_map(|s| s.events.iter().map(|e| e.reason.clone()))
        .collect()
}

async fn stop(
    cancel: CancellationToken,
    mut rx: tokio::sync::mpsc::Receiver<Status>,
) -> Vec<Status> {
    cancel.cancel();
    let mut rest = Vec::new();
    while let Ok(Some(status)) = tokio::time::timeout(Duration::from_secs(10), rx.recv()).await {
        rest.push(status);
    }
    rest
}

const HUNG: &str = "INFO: task docker:20744 blocked for more than 120 seconds.";
const OOM: &str =
    "Killed process 1012 (heapster) total-vm:327128kB, anon-rss:306328kB, file-rss:11132kB";

#[tokio::test]
async fn kmsg_lookback_then_no_replay_after_restart() {
    let node = Node::new();
    let config = shared("npd-config/kernel-monitor.json");
    // Older than the 5 m lookback: dropped on the first start.
    node.append("dev/kmsg", &kmsg(1, 900, OOM));
    node.append("dev/kmsg", &kmsg(2, 10, HUNG));

    let monitor = load_monitor(MonitorKind::SystemLog, &config, &node.options())
        .unwrap_or_else(|e| panic!("{e}"));
    let initial = monitor
        .initial_status()
        .unwrap_or_else(|| panic!("log monitors have an initial status"));
    assert_eq!(initial.conditions.len(), 3);
    let cancel = CancellationToken::new();
    let mut rx = monitor.start(cancel.clone());
    let statuses = collect_until(&mut rx, |s| reasons(s).contains(&"DockerHung".to_string())).await;
    assert_eq!(statuses[0], initial, "the initial status comes first");
    assert_eq!(reasons(&statuses), vec!["TaskHung", "DockerHung"]);
    // The event time is the record's: boot + usec.
    assert_eq!(statuses[1].events[0].timestamp_ms, NOW_MS - 10_000);
    assert!(stop(cancel, rx).await.is_empty());
    let saved =
        PositionFile::new(node.state.path(), "kmsg", "kernel-monitor").load::<KmsgPosition>();
    assert_eq!(
        saved.ok().flatten(),
        Some(KmsgPosition {
            boot_id: Some("boot-1".into()),
            sequence: 2
        })
    );

    // Restart: a new record, older than the lookback, is still reported because a position
    // was saved; the two old records are not replayed.
    node.append("dev/kmsg", &kmsg(3, 600, OOM));
    let monitor = load_monitor(MonitorKind::SystemLog, &config, &node.options())
        .unwrap_or_else(|e| panic!("{e}"));
    let cancel = CancellationToken::new();
    let mut rx = monitor.start(cancel.clone());
    let statuses = collect_until(&mut rx, |s| reasons(s).contains(&"OOMKilling".to_string())).await;
    assert_eq!(reasons(&statuses), vec!["OOMKilling"]);
    // Lines appended while running are picked up (the file is followed).
    node.append(
        "dev/kmsg",
        &kmsg(
            4,
            1,
            "unregister_netdevice: waiting for lo to become free. Usage count = 1",
        ),
    );
    let statuses = collect_until(&mut rx, |s| !s.is_empty()).await;
    assert_eq!(reasons(&statuses), vec!["UnregisterNetDevice"]);
    assert!(stop(cancel, rx).await.is_empty());
    let saved =
        PositionFile::new(node.state.path(), "kmsg", "kernel-monitor").load::<KmsgPosition>();
    assert_eq!(saved.ok().flatten().map(|p| p.sequence), Some(4));
}

#[tokio::test]
async fn a_saved_sequence_from_another_boot_is_ignored() {
    let node = Node::new();
    PositionFile::new(node.state.path(), "kmsg", "kernel-monitor")
        .save(&KmsgPosition {
            boot_id: Some("boot-0".into()),
            sequence: 50,
        })
        .unwrap_or_else(|e| panic!("{e}"));
    // Sequence numbers restart at boot: record 2 is new although 2 < 50.
    node.append("dev/kmsg", &kmsg(2, 5, HUNG));
    let config = shared("npd-config/kernel-monitor.json");
    let monitor = load_monitor(MonitorKind::SystemLog, &config, &node.options())
        .unwrap_or_else(|e| panic!("{e}"));
    let cancel = CancellationToken::new();
    let mut rx = monitor.start(cancel.clone());
    let statuses = collect_until(&mut rx, |s| reasons(s).len() >= 2).await;
    assert_eq!(reasons(&statuses), vec!["TaskHung", "DockerHung"]);
    stop(cancel, rx).await;
}

#[tokio::test]
async fn readonly_monitor_reads_the_real_log_through_kmsg() {
    let node = Node::new();
    let text =
        std::fs::read_to_string(shared("kernel-logs/npd/readonly_filesystem")).unwrap_or_default();
    for (index, line) in text.lines().enumerate() {
        node.append("dev/kmsg", &kmsg(index as u64 + 1, 3, line));
    }
    let config = shared("npd-config/readonly-monitor.json");
    let monitor = load_monitor(MonitorKind::SystemLog, &config, &node.options())
        .unwrap_or_else(|e| panic!("{e}"));
    let cancel = CancellationToken::new();
    let mut rx = monitor.start(cancel.clone());
    let statuses = collect_until(&mut rx, |s| !reasons(s).is_empty()).await;
    let last = statuses.last().unwrap_or_else(|| panic!("no status"));
    assert_eq!(last.conditions[0].condition_type, "ReadonlyFilesystem");
    assert_eq!(
        last.conditions[0].status,
        kec_npd::types::ConditionStatus::True
    );
    assert_eq!(
        last.conditions[0].message,
        "EXT4-fs (sda1): Remounting filesystem read-only"
    );
    stop(cancel, rx).await;
}

fn journal_line(cursor: &str, seconds_ago: i64, identifier: &str, message: &str) -> String {
    let usec = (NOW_MS - seconds_ago * 1000) * 1000;
    serde_json::json!({
        "__CURSOR": cursor,
        "__REALTIME_TIMESTAMP": usec.to_string(),
        "SYSLOG_IDENTIFIER": identifier,
        "MESSAGE": message,
    })
    .to_string()
}

/// A fake journalctl: records its arguments, prints the recorded stream, then waits like
/// `--follow` does.
fn fake_journalctl(node: &Node, stream: &[String]) -> PathBuf {
    node.write("journal.json", &(stream.join("\n") + "\n"));
    let script = node.path("journalctl");
    let args_file = node.path("journalctl.args");
    let journal = node.path("journal.json");
    node.write(
        "journalctl",
        &format!(
            "#!/bin/sh\necho \"$@\" >> {}\ncat {}\nexec sleep 5\n",
            args_file.display(),
            journal.display()
        ),
    );
    let mut permissions = std::fs::metadata(&script)
        .unwrap_or_else(|e| panic!("{e}"))
        .permissions();
    std::os::unix::fs::PermissionsExt::set_mode(&mut permissions, 0o755);
    std::fs::set_permissions(&script, permissions).unwrap_or_else(|e| panic!("{e}"));
    script
}

#[tokio::test]
async fn journald_follows_one_identifier_and_resumes_after_its_cursor() {
    let node = Node::new();
    std::fs::create_dir_all(node.path("var/log/journal")).unwrap_or_else(|e| panic!("{e}"));
    let script = fake_journalctl(
        &node,
        &[
            journal_line(
                "c1",
                30,
                "dockerd",
                "OCI runtime start failed: container process is already dead: unknown",
            ),
            journal_line(
                "c2",
                20,
                "containerd",
                "OCI runtime start failed: container process is already dead: unknown",
            ),
            journal_line(
                "c3",
                10,
                "dockerd",
                "handler returned error: readlink /var/lib/docker/overlay2/l: invalid argument",
            ),
        ],
    );
    let mut options = node.options();
    options.journalctl = script;
    let config = shared("npd-config/docker-monitor.json");
    let monitor =
        load_monitor(MonitorKind::SystemLog, &config, &options).unwrap_or_else(|e| panic!("{e}"));
    let cancel = CancellationToken::new();
    let mut rx = monitor.start(cancel.clone());
    let statuses = collect_until(&mut rx, |s| reasons(s).len() >= 2).await;
    // Only dockerd's entries count (c2 is containerd's).
    assert_eq!(
        reasons(&statuses),
        vec!["DockerContainerStartupFailure", "CorruptDockerOverlay2"]
    );
    stop(cancel, rx).await;
    let saved = PositionFile::new(node.state.path(), "journald", "docker-monitor")
        .load::<JournalPosition>();
    assert_eq!(
        saved.ok().flatten(),
        Some(JournalPosition {
            cursor: "c3".into()
        })
    );

    // Restart: journalctl is asked to start after the saved cursor, not at the lookback.
    let monitor =
        load_monitor(MonitorKind::SystemLog, &config, &options).unwrap_or_else(|e| panic!("{e}"));
    let cancel = CancellationToken::new();
    let rx = monitor.start(cancel.clone());
    let args_file = node.path("journalctl.args");
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    loop {
        let args = std::fs::read_to_string(&args_file).unwrap_or_default();
        if args.lines().count() >= 2 {
            let lines: Vec<&str> = args.lines().collect();
            let lookback_start = (NOW_MS - 300_000) / 1000;
            assert!(
                lines[0].contains(&format!("--since=@{lookback_start}")),
                "{}",
                lines[0]
            );
            assert!(lines[0].contains("SYSLOG_IDENTIFIER=dockerd"));
            assert!(lines[0].contains(&format!(
                "--directory={}",
                node.path("var/log/journal").display()
            )));
            assert!(lines[1].contains("--after-cursor=c3"), "{}", lines[1]);
            assert!(!lines[1].contains("--since"));
            break;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "journalctl not restarted: {args}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    stop(cancel, rx).await;
}

#[tokio::test]
async fn filelog_splits_lines_and_applies_the_skip_list_and_lookback() {
    let node = Node::new();
    let zone = jiff::tz::TimeZone::try_system().unwrap_or(jiff::tz::TimeZone::UTC);
    let stamp = |seconds_ago: i64| {
        jiff::Timestamp::from_millisecond(NOW_MS - seconds_ago * 1000)
            .map(|t| {
                t.to_zoned(zone.clone())
                    .strftime("%b %e %H:%M:%S")
                    .to_string()
            })
            .unwrap_or_default()
    };
    let lines = [
        format!("{} node kernel: [  1.0] {OOM}", stamp(600)),
        format!(
            "{} node kernel: [  2.0] EXT4-fs error (device sda1): skipped by skipList",
            stamp(20)
        ),
        format!("{} node kernel: [  3.0] {HUNG}", stamp(10)),
        "garbage line".to_string(),
        format!("{} node kernel: [  4.0] {OOM}", stamp(5)),
    ];
    node.write("var/log/kern.log", &(lines.join("\n") + "\n"));
    // NPD's config/kernel-monitor-filelog.json plugin settings with the shared kernel rules.
    let mut config: serde_json::Value = serde_json::from_slice(
        &std::fs::read(shared("npd-config/kernel-monitor.json")).unwrap_or_default(),
    )
    .unwrap_or_else(|e| panic!("{e}"));
    config["plugin"] = "filelog".into();
    config["logPath"] = "/var/log/kern.log".into();
    config["skipList"] = serde_json::json!(["skipped by skipList"]);
    config["pluginConfig"] = serde_json::json!({
        "timestamp": "^.{15}",
        "message": "kernel: \\[.*\\] (.*)",
        "timestampFormat": "Jan _2 15:04:05"
    });
    node.write("kernel-filelog.json", &config.to_string());
    let monitor = load_monitor(
        MonitorKind::SystemLog,
        &node.path("kernel-filelog.json"),
        &node.options(),
    )
    .unwrap_or_else(|e| panic!("{e}"));
    let cancel = CancellationToken::new();
    let mut rx = monitor.start(cancel.clone());
    let statuses = collect_until(&mut rx, |s| reasons(s).len() >= 3).await;
    assert_eq!(
        reasons(&statuses),
        vec!["TaskHung", "DockerHung", "OOMKilling"]
    );
    assert_eq!(statuses[1].events[0].timestamp_ms, NOW_MS - 10_000);
    stop(cancel, rx).await;
}
