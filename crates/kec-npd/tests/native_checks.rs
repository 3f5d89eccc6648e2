//! Native checks against fake /proc files, a fake Docker socket and a fake kubelet.

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use kec_npd::config::native::RuntimeKind;
use kec_npd::monitor::native::{
    check_conntrack, check_fd_pressure, check_kubelet, check_pid_pressure, check_runtime,
    parse_net_dev,
};
use kec_npd::monitor::{MonitorKind, MonitorOptions, load_monitor};
use kec_npd::types::ConditionStatus;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio_util::sync::CancellationToken;

fn root() -> (tempfile::TempDir, MonitorOptions) {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let mut options = MonitorOptions::new(dir.path().join("state"), "node-1");
    options.root = dir.path().to_path_buf();
    options.clock = Arc::new(|| 5_000);
    (dir, options)
}

fn write(root: &Path, relative: &str, text: &str) {
    let path = root.join(relative);
    std::fs::create_dir_all(path.parent().unwrap_or(Path::new("/")))
        .unwrap_or_else(|e| panic!("{e}"));
    std::fs::write(path, text).unwrap_or_else(|e| panic!("{e}"));
}

#[test]
fn proc_based_checks() {
    let (dir, options) = root();
    // Missing files: Unknown, not a panic.
    assert_eq!(
        check_conntrack(&options, 90.0).status,
        ConditionStatus::Unknown
    );
    write(
        dir.path(),
        "proc/sys/net/netfilter/nf_conntrack_count",
        "950\n",
    );
    write(
        dir.path(),
        "proc/sys/net/netfilter/nf_conntrack_max",
        "1000\n",
    );
    let full = check_conntrack(&options, 90.0);
    assert_eq!(full.status, ConditionStatus::True);
    assert!(full.message.contains("950 of 1000"), "{}", full.message);
    write(
        dir.path(),
        "proc/sys/net/netfilter/nf_conntrack_count",
        "10\n",
    );
    assert_eq!(
        check_conntrack(&options, 90.0).status,
        ConditionStatus::False
    );

    // file-nr: allocated, free, max.
    write(dir.path(), "proc/sys/fs/file-nr", "9500\t100\t10000\n");
    write(dir.path(), "proc/sys/fs/file-max", "10000\n");
    assert_eq!(
        check_fd_pressure(&options, 90.0).status,
        ConditionStatus::True
    );
    write(dir.path(), "proc/sys/fs/file-nr", "1000\t0\t10000\n");
    assert_eq!(
        check_fd_pressure(&options, 90.0).status,
        ConditionStatus::False
    );

    write(dir.path(), "proc/loadavg", "0.50 0.40 0.30 2/31000 12345\n");
    write(dir.path(), "proc/sys/kernel/pid_max", "32768\n");
    assert_eq!(
        check_pid_pressure(&options, 90.0).status,
        ConditionStatus::True
    );
    write(dir.path(), "proc/loadavg", "0.50 0.40 0.30 2/300 12345\n");
    assert_eq!(
        check_pid_pressure(&options, 90.0).status,
        ConditionStatus::False
    );
    write(dir.path(), "proc/loadavg", "garbage");
    assert_eq!(
        check_pid_pressure(&options, 90.0).status,
        ConditionStatus::Unknown
    );
}

const NET_DEV: &str = "Inter-|   Receive                                                |  Transmit
 face |bytes    packets errs drop fifo frame compressed multicast|bytes    packets errs drop fifo colls carrier compressed
    lo: 1000 10 0 0 0 0 0 0 1000 10 0 0 0 0 0 0
  eth0: 5000 50 RXE RXD 0 0 0 0 6000 60 TXE TXD 0 0 0 0
";

fn net_dev(rx_errors: u64, rx_dropped: u64, tx_errors: u64, tx_dropped: u64) -> String {
    NET_DEV
        .replace("RXE", &rx_errors.to_string())
        .replace("RXD", &rx_dropped.to_string())
        .replace("TXE", &tx_errors.to_string())
        .replace("TXD", &tx_dropped.to_string())
}

#[test]
fn net_dev_parsing() {
    let counters = parse_net_dev(&net_dev(1, 2, 3, 4));
    let eth0 = counters.get("eth0").copied().unwrap_or_default();
    assert_eq!(
        (
            eth0.rx_errors,
            eth0.rx_dropped,
            eth0.tx_errors,
            eth0.tx_dropped
        ),
        (1, 2, 3, 4)
    );
    assert_eq!(counters.len(), 2);
    assert!(parse_net_dev("nonsense\n\nx: 1 2").is_empty());
}

#[tokio::test]
async fn docker_ping_containerd_connect_and_kubelet_health() {
    let (dir, options) = root();
    // A fake dockerd answering /_ping.
    let socket = dir.path().join("run/docker.sock");
    std::fs::create_dir_all(socket.parent().unwrap_or(Path::new("/")))
        .unwrap_or_else(|e| panic!("{e}"));
    let listener = tokio::net::UnixListener::bind(&socket).unwrap_or_else(|e| panic!("{e}"));
    tokio::spawn(async move {
        while let Ok((mut stream, _)) = listener.accept().await {
            let mut request = vec![0u8; 1024];
            let read = stream.read(&mut request).await.unwrap_or(0);
            let ok = String::from_utf8_lossy(&request[..read]).starts_with("GET /_ping ");
            let answer: &[u8] = if ok {
                b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nOK"
            } else {
                b"HTTP/1.1 404 Not Found\r\n\r\n"
            };
            let _ = stream.write_all(answer).await;
        }
    });
    let healthy = check_runtime(
        &options,
        RuntimeKind::Docker,
        "/run/docker.sock",
        Duration::from_secs(2),
    )
    .await;
    assert_eq!(
        healthy.status,
        ConditionStatus::False,
        "{}",
        healthy.message
    );
    let absent = check_runtime(
        &options,
        RuntimeKind::Containerd,
        "/run/containerd/containerd.sock",
        Duration::from_secs(2),
    )
    .await;
    assert_eq!(absent.status, ConditionStatus::True);
    // containerd: a connect is enough.
    let containerd = dir.path().join("run/containerd.sock");
    let _listener = tokio::net::UnixListener::bind(&containerd).unwrap_or_else(|e| panic!("{e}"));
    let up = check_runtime(
        &options,
        RuntimeKind::Containerd,
        "/run/containerd.sock",
        Duration::from_secs(2),
    )
    .await;
    assert_eq!(up.status, ConditionStatus::False);

    // A kubelet that answers 500, then nothing listening.
    let kubelet = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let address = kubelet.local_addr().unwrap_or_else(|e| panic!("{e}"));
    tokio::spawn(async move {
        while let Ok((mut stream, _)) = kubelet.accept().await {
            let mut request = vec![0u8; 1024];
            let _ = stream.read(&mut request).await;
            let _ = stream
                .write_all(b"HTTP/1.1 500 Internal Server Error\r\n\r\n")
                .await;
        }
    });
    let sick = check_kubelet(&format!("http://{address}/healthz"), Duration::from_secs(2)).await;
    assert_eq!(sick.status, ConditionStatus::True);
    assert!(sick.message.contains("HTTP 500"), "{}", sick.message);
    let down = check_kubelet("http://127.0.0.1:1/healthz", Duration::from_secs(2)).await;
    assert_eq!(down.status, ConditionStatus::True);
}

#[tokio::test]
async fn the_monitor_reports_condition_changes_and_interface_error_events() {
    let (dir, options) = root();
    write(
        dir.path(),
        "proc/sys/net/netfilter/nf_conntrack_count",
        "999\n",
    );
    write(
        dir.path(),
        "proc/sys/net/netfilter/nf_conntrack_max",
        "1000\n",
    );
    write(dir.path(), "proc/net/dev", &net_dev(0, 0, 0, 0));
    let config = serde_json::json!({
        "source": "native-checks",
        "invokeInterval": "50ms",
        "checks": [
            {"type": "conntrack", "condition": "ConntrackFull"},
            {"type": "netDev", "reason": "NetworkInterfaceErrors", "excludeInterfaceRegexp": "^lo$"}
        ]
    });
    write(dir.path(), "native.json", &config.to_string());
    let monitor = load_monitor(
        MonitorKind::NativeChecks,
        &dir.path().join("native.json"),
        &options,
    )
    .unwrap_or_else(|e| panic!("{e}"));
    let cancel = CancellationToken::new();
    let mut rx = monitor.start(cancel.clone());
    let mut next = async || match tokio::time::timeout(Duration::from_secs(10), rx.recv()).await {
        Ok(Some(status)) => status,
        other => panic!("{other:?}"),
    };
    let initial = next().await;
    assert_eq!(initial.conditions[0].status, ConditionStatus::False);
    assert_eq!(initial.conditions[0].reason, "NoConntrackFull");
    let first = next().await;
    assert_eq!(first.conditions[0].status, ConditionStatus::True);
    assert_eq!(first.events.len(), 1);
    assert_eq!(first.events[0].reason, "ConntrackFull");
    // Errors grow on eth0.
    write(dir.path(), "proc/net/dev", &net_dev(2, 0, 0, 1));
    let mut found = None;
    for _ in 0..20 {
        let status = next().await;
        if let Some(event) = status
            .events
            .iter()
            .find(|e| e.reason == "NetworkInterfaceErrors")
        {
            found = Some(event.message.clone());
            break;
        }
    }
    assert_eq!(
        found.as_deref(),
        Some("interface eth0: rx_errors +2, rx_dropped +0, tx_errors +0, tx_dropped +1")
    );
    cancel.cancel();
}

#[test]
fn restart_window_counts_unexpected_starts_like_log_counter() {
    use kec_npd::monitor::native::RestartWindow;
    use kec_npd::monitor::system_log::rules::LogLine;
    let mut window = RestartWindow::new(
        "Started (Kubernetes kubelet|kubelet.service|kubelet.service - .*).",
        "Stopping (Kubernetes kubelet|kubelet.service|kubelet.service - .*)...",
        1_200_000,
        3,
    )
    .unwrap_or_else(|e| panic!("{e}"));
    let line = |at: i64, message: &str| LogLine {
        timestamp_ms: at,
        message: message.into(),
    };
    window.observe(line(
        1_000,
        "Started kubelet.service - kubelet: The Kubernetes Node Agent.",
    ));
    window.observe(line(
        2_000,
        "Started kubelet.service - kubelet: The Kubernetes Node Agent.",
    ));
    assert_eq!(window.evaluate(3_000).status, ConditionStatus::False);
    window.observe(line(4_000, "Started Kubernetes kubelet."));
    let frequent = window.evaluate(5_000);
    assert_eq!(frequent.status, ConditionStatus::True);
    assert!(
        frequent.message.starts_with("3 unexpected starts"),
        "{}",
        frequent.message
    );
    // A clean stop takes one back.
    window.observe(line(6_000, "Stopping kubelet.service..."));
    assert_eq!(window.evaluate(7_000).status, ConditionStatus::False);
    // Unrelated lines count nothing; old starts leave the window.
    window.observe(line(8_000, "Started containerd.service."));
    window.observe(line(9_000, "Started kubelet.service."));
    assert_eq!(window.evaluate(10_000).status, ConditionStatus::True);
    assert_eq!(window.evaluate(1_202_500).status, ConditionStatus::False);
}

#[tokio::test]
async fn service_restarts_from_a_followed_journal() {
    let (dir, options) = root();
    let now_us = 5_000 * 1000;
    let entries: Vec<String> = (0..3)
        .map(|i| {
            serde_json::json!({
                "__CURSOR": format!("c{i}"),
                "__REALTIME_TIMESTAMP": (now_us - 1000 * (10 - i)).to_string(),
                "SYSLOG_IDENTIFIER": "systemd",
                "MESSAGE": "Starting containerd.service - containerd container runtime...",
            })
            .to_string()
        })
        .collect();
    write(dir.path(), "journal.json", &(entries.join("\n") + "\n"));
    write(
        dir.path(),
        "journalctl",
        &format!(
            "#!/bin/sh\ncat {}\nexec sleep 5\n",
            dir.path().join("journal.json").display()
        ),
    );
    let script = dir.path().join("journalctl");
    let mut permissions = std::fs::metadata(&script)
        .unwrap_or_else(|e| panic!("{e}"))
        .permissions();
    std::os::unix::fs::PermissionsExt::set_mode(&mut permissions, 0o755);
    std::fs::set_permissions(&script, permissions).unwrap_or_else(|e| panic!("{e}"));
    let mut options = options;
    options.journalctl = script;
    let config = serde_json::json!({
        "source": "native-checks",
        "invokeInterval": "50ms",
        "checks": [{
            "type": "serviceRestarts",
            "condition": "FrequentContainerdRestart",
            "pattern": "Starting (containerd container runtime|containerd.service|containerd.service - containerd container runtime)...",
            "window": "20m",
            "count": 3
        }]
    });
    write(dir.path(), "native.json", &config.to_string());
    let monitor = load_monitor(
        MonitorKind::NativeChecks,
        &dir.path().join("native.json"),
        &options,
    )
    .unwrap_or_else(|e| panic!("{e}"));
    let cancel = CancellationToken::new();
    let mut rx = monitor.start(cancel.clone());
    let mut became_true = None;
    for _ in 0..100 {
        let status = match tokio::time::timeout(Duration::from_secs(10), rx.recv()).await {
            Ok(Some(status)) => status,
            other => panic!("{other:?}"),
        };
        if status.conditions[0].status == ConditionStatus::True {
            became_true = Some(status);
            break;
        }
    }
    cancel.cancel();
    let status =
        became_true.unwrap_or_else(|| panic!("FrequentContainerdRestart never became True"));
    assert_eq!(status.conditions[0].reason, "FrequentContainerdRestart");
    assert_eq!(status.events[0].reason, "FrequentContainerdRestart");
}
