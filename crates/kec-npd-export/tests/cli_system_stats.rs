//! `--config.system-stats-monitor` end to end: the agent started from its command line with
//! NPD's unchanged system-stats-monitor.json serves this machine's stats on /metrics under
//! NPD's names.

use std::path::Path;
use std::time::{Duration, Instant};

use clap::Parser;
use kec_npd_export::cli::{self, NpdArgs};
use tokio_util::sync::CancellationToken;

#[derive(Debug, Parser)]
struct TestCli {
    #[command(flatten)]
    args: NpdArgs,
}

#[tokio::test]
async fn system_stats_are_served_on_metrics() {
    // reqwest is built without a crypto provider; kec installs ring.
    let _ = rustls::crypto::ring::default_provider().install_default();
    let config = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../../shared/data/npd-config/system-stats-monitor.json");
    let state = tempfile::tempdir().unwrap();
    // A free port for /metrics.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let flags = [
        "kec-npd".to_string(),
        format!("--config.system-stats-monitor={}", config.display()),
        "--enable-k8s-exporter=false".to_string(),
        "--hostname-override=node-1".to_string(),
        "--port=0".to_string(),
        format!("--prometheus-port={port}"),
        format!("--state-dir={}", state.path().display()),
    ];
    let args = TestCli::parse_from(flags).args;
    let shutdown = CancellationToken::new();
    let agent = tokio::spawn(cli::run(args, shutdown.clone()));

    let url = format!("http://127.0.0.1:{port}/metrics");
    let deadline = Instant::now() + Duration::from_secs(20);
    let text = loop {
        assert!(Instant::now() < deadline, "no system stats on {url}");
        if let Ok(response) = reqwest::get(&url).await
            && let Ok(text) = response.text().await
            && text.contains("host_uptime{")
        {
            break text;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    for series in [
        "cpu_load_1m ",
        "cpu_usage_time{state=\"user\"} ",
        "system_procs_running ",
        "memory_bytes_used{state=\"used\"} ",
        "memory_unevictable_used ",
        "# TYPE disk_io_time gauge",
    ] {
        assert!(text.contains(series), "{series} missing from:\n{text}");
    }
    assert!(
        !text.contains("net_rx_bytes"),
        "not enabled in NPD's config"
    );
    shutdown.cancel();
    tokio::time::timeout(Duration::from_secs(10), agent)
        .await
        .expect("the agent stops on shutdown")
        .unwrap()
        .unwrap();
}
