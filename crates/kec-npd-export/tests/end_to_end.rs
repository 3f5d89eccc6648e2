//! Issue #5 item 9, end to end: a kernel log line read by kec npd's kernel monitor (NPD's
//! kernel-monitor.json, unchanged) -> node condition and Events on the fake API server ->
//! `kec eventer` -> searchable in a `kec server` center.

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use kec_eventer::{
    BackoffConfig, CenterSinkConfig, EventerConfig, KubeConnection, KubernetesSourceConfig,
    SinkConfig,
};
use kec_npd::MonitorOptions;
use kec_npd_export::supervisor::{self, MonitorSpec};
use kec_npd_export::{
    ApiServerTarget, ConditionBook, K8sExporter, K8sExporterConfig, NpdMetrics, ProblemDaemon,
    SharedBook, SharedClock, SystemClock,
};
use kec_store::{EmbeddedStore, StoreConfig};
use kec_testkit::{FakeApiServer, FakeApiServerConfig, ResourceKind};
use serde_json::Value;
use tokio_util::sync::CancellationToken;

const NODE: &str = "node-1";
const DEADLINE: Duration = Duration::from_secs(30);
const UPTIME_SECONDS: u64 = 100_000;

fn shared(path: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../../shared/data")
        .join(path)
}

fn write(root: &Path, relative: &str, text: &str) {
    let path = root.join(relative);
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(path, text).unwrap();
}

async fn wait_until(what: &str, mut condition: impl FnMut() -> bool) {
    let deadline = Instant::now() + DEADLINE;
    while !condition() {
        assert!(Instant::now() < deadline, "timed out waiting until {what}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_kernel_log_line_becomes_a_node_condition_and_an_event_in_the_center() {
    // The API server and the center.
    let api = FakeApiServer::start(FakeApiServerConfig {
        initial_nodes: vec![NODE.to_string()],
        ..FakeApiServerConfig::default()
    })
    .await
    .unwrap();
    let handle = api.handle();
    let center_dir = tempfile::tempdir().unwrap();
    let store = Arc::new(EmbeddedStore::open(StoreConfig::new(center_dir.path())).unwrap());
    let center_app = kec_server::app(kec_server::AppState::new(store.clone()));
    let center_listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let center_url = format!("http://{}", center_listener.local_addr().unwrap());
    let center = tokio::spawn(async move {
        let _ = axum::serve(center_listener, center_app).await;
    });

    // kec eventer: the fake API server -> the center.
    let eventer_dir = tempfile::tempdir().unwrap();
    let fast = BackoffConfig {
        initial_ms: 20,
        max_ms: 200,
    };
    let source = KubernetesSourceConfig {
        connection: KubeConnection::Url {
            server_url: api.url(),
        },
        watch_timeout_secs: 2,
        backoff: fast,
        ..KubernetesSourceConfig::default()
    };
    let mut sink = CenterSinkConfig::new(&center_url, "e2e");
    sink.batch_max_wait_ms = 20;
    sink.backoff = fast;
    let mut eventer_config = EventerConfig::new(source, vec![SinkConfig::Center(sink)]);
    eventer_config.state_dir = eventer_dir.path().to_path_buf();
    let eventer = eventer_config.build().await.unwrap();

    // kec npd on a node whose kernel log holds a hung docker task, 5 s old.
    let root = tempfile::tempdir().unwrap();
    let state = tempfile::tempdir().unwrap();
    write(
        root.path(),
        "proc/uptime",
        &format!("{UPTIME_SECONDS}.00 1.00\n"),
    );
    write(root.path(), "proc/sys/kernel/random/boot_id", "boot-1\n");
    let record_usec = (UPTIME_SECONDS - 5) * 1_000_000;
    write(
        root.path(),
        "dev/kmsg",
        &format!(
            "3,1,{record_usec},-;INFO: task docker:20744 blocked for more than 120 seconds.\n"
        ),
    );
    let mut options = MonitorOptions::new(state.path(), NODE);
    options.root = root.path().to_path_buf();
    let specs = [MonitorSpec {
        kind: kec_npd::MonitorKind::SystemLog,
        path: shared("npd-config/kernel-monitor.json"),
    }];
    let loaded = supervisor::load_all(&specs, &options).unwrap();
    let metrics = NpdMetrics::new();
    let book: SharedBook = Arc::new(Mutex::new(ConditionBook::new(None)));
    let clock: SharedClock = Arc::new(SystemClock);
    let target = ApiServerTarget {
        apiserver_override: Some(format!("{}?inClusterConfig=false", api.url())),
        kubeconfig: None,
    };
    let exporter_shutdown = CancellationToken::new();
    let exporter = K8sExporter::start(
        K8sExporterConfig {
            update_period: Duration::from_millis(100),
            ..K8sExporterConfig::new(NODE)
        },
        target.client().await.unwrap(),
        book.clone(),
        clock.clone(),
        metrics.clone(),
        exporter_shutdown.clone(),
    );
    let monitors_shutdown = CancellationToken::new();
    let feeds = loaded
        .into_iter()
        .map(|monitor| {
            supervisor::supervise(
                monitor,
                options.clone(),
                metrics.clone(),
                Duration::from_secs(1),
                monitors_shutdown.clone(),
            )
        })
        .collect();
    let daemon =
        tokio::spawn(ProblemDaemon::new(book, metrics.clone(), Some(exporter), clock).run(feeds));

    // The node condition and the Events on the API server.
    wait_until("KernelDeadlock is True on the node", || {
        handle
            .get_object(ResourceKind::Node, "", NODE)
            .and_then(|node| {
                node["status"]["conditions"]
                    .as_array()
                    .and_then(|conditions| {
                        conditions
                            .iter()
                            .find(|condition| condition["type"] == "KernelDeadlock")
                            .cloned()
                    })
            })
            .is_some_and(|condition| {
                condition["status"] == "True" && condition["reason"] == "DockerHung"
            })
    })
    .await;
    let npd_events = || -> Vec<Value> {
        handle
            .list_objects(ResourceKind::Event, Some("default"))
            .into_iter()
            .filter(|event| event["source"]["component"] == "kernel-monitor")
            .collect()
    };
    wait_until("the kernel monitor's Events exist", || {
        npd_events().len() == 2
    })
    .await;
    let mut reasons: Vec<String> = npd_events()
        .iter()
        .map(|event| event["reason"].as_str().unwrap().to_string())
        .collect();
    reasons.sort();
    assert_eq!(
        reasons,
        ["DockerHung", "TaskHung"],
        "the condition change and the temporary problem"
    );
    for event in npd_events() {
        assert_eq!(event["involvedObject"]["kind"], "Node");
        assert_eq!(event["involvedObject"]["name"], NODE);
        assert_eq!(event["source"]["host"], NODE);
        assert_eq!(event["type"], "Warning");
    }

    // ... and through kec eventer into the center's search API.
    let _ = rustls::crypto::ring::default_provider().install_default();
    let client = reqwest::Client::new();
    let deadline = Instant::now() + DEADLINE;
    let found = loop {
        let committer = store.clone();
        tokio::task::spawn_blocking(move || committer.commit(kec_model::time::now_ms()).unwrap())
            .await
            .unwrap();
        let answer: Value = client
            .get(format!(
                "{center_url}/api/v1/events?reason=TaskHung&kind=Node"
            ))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        let text = answer.to_string();
        if text.contains("kernel-monitor") && text.contains("task docker:20744 blocked") {
            break text;
        }
        assert!(
            Instant::now() < deadline,
            "the center never showed the event: {text}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    assert!(found.contains(NODE), "{found}");

    monitors_shutdown.cancel();
    let exporter = daemon.await.unwrap().unwrap();
    exporter_shutdown.cancel();
    exporter.finish().await;
    eventer.shutdown().await;
    center.abort();
    api.shutdown().await;
}
