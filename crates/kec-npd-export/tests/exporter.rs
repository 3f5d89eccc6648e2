//! The Kubernetes exporter against the fake API server: exact PATCH bodies, heartbeat timing,
//! retries, Events and their counts, NPD #304. Most tests run the fake's router in-process
//! under paused tokio time, so periods are exact and nothing waits for real.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use jiff::Timestamp;
use kec_npd::types::{Condition, ConditionStatus, Event, Severity, Status};
use kec_npd_export::conditions::{ConditionBook, ConditionSemantics};
use kec_npd_export::k8s::{K8sExporter, K8sExporterConfig, SharedBook};
use kec_npd_export::metrics::NpdMetrics;
use kec_npd_export::time::{ManualClock, SharedClock};
use kec_npd_export::{ApiServerTarget, MonitorFeed, ProblemDaemon};
use kec_testkit::handle::node_object;
use kec_testkit::{
    ClockMode, FakeApiHandle, FakeApiServer, FakeApiServerConfig, Fault, FaultRule,
    RecordedRequest, ResourceKind, Verb,
};
use serde_json::{Value, json};
use tokio_util::sync::CancellationToken;

const NODE: &str = "node-1";
const START: &str = "2026-11-25T10:00:00Z";

fn start_time() -> Timestamp {
    START.parse().unwrap()
}

fn fake_config(nodes: &[&str]) -> FakeApiServerConfig {
    FakeApiServerConfig {
        clock: ClockMode::Manual {
            start: start_time(),
        },
        initial_nodes: nodes.iter().map(|node| node.to_string()).collect(),
        startup_events: false,
        ..FakeApiServerConfig::default()
    }
}

/// An in-process client on the fake's router (no sockets: paused time works).
fn in_process_client(handle: &FakeApiHandle) -> kube::Client {
    kube::Client::new(kec_testkit::app(handle.clone()), "default")
}

fn exporter_config() -> K8sExporterConfig {
    K8sExporterConfig {
        heartbeat_period: Duration::from_secs(60),
        ..K8sExporterConfig::new(NODE)
    }
}

struct Agent {
    daemon: ProblemDaemon,
    metrics: NpdMetrics,
    clock: ManualClock,
    shutdown: CancellationToken,
}

impl Agent {
    fn start(handle: &FakeApiHandle, config: K8sExporterConfig, quiet: Option<Duration>) -> Agent {
        let book: SharedBook = Arc::new(Mutex::new(ConditionBook::new(quiet)));
        let metrics = NpdMetrics::new();
        let clock = ManualClock::new(start_time());
        let shared_clock: SharedClock = Arc::new(clock.clone());
        let shutdown = CancellationToken::new();
        let exporter = K8sExporter::start(
            config,
            in_process_client(handle),
            book.clone(),
            shared_clock.clone(),
            metrics.clone(),
            shutdown.clone(),
        );
        let daemon =
            ProblemDaemon::new(book.clone(), metrics.clone(), Some(exporter), shared_clock);
        Agent {
            daemon,
            metrics,
            clock,
            shutdown,
        }
    }

    fn report(&self, status: &Status) {
        self.daemon
            .handle_status(status, ConditionSemantics::Latched);
    }

    /// Moves tokio time and the wall clock together.
    async fn advance(&self, by: Duration) {
        self.clock.advance(by);
        tokio::time::sleep(by).await;
    }

    async fn stop(self) {
        self.shutdown.cancel();
        if let Some(exporter) = self.daemon.into_exporter() {
            exporter.finish().await;
        }
    }
}

fn condition(status: ConditionStatus, reason: &str, message: &str) -> Condition {
    Condition {
        condition_type: "KernelDeadlock".into(),
        status,
        transition_ms: start_time().as_millisecond(),
        reason: reason.into(),
        message: message.into(),
    }
}

fn default_condition() -> Condition {
    condition(
        ConditionStatus::False,
        "KernelHasNoDeadlock",
        "kernel has no deadlock",
    )
}

fn deadlock() -> Condition {
    Condition {
        transition_ms: start_time().as_millisecond() + 30_000,
        ..condition(
            ConditionStatus::True,
            "DockerHung",
            "task docker:7 blocked for more than 120 seconds.",
        )
    }
}

fn status(conditions: Vec<Condition>, events: Vec<Event>) -> Status {
    Status {
        source: "kernel-monitor".into(),
        events,
        conditions,
    }
}

fn oom(message: &str) -> Event {
    Event {
        severity: Severity::Warn,
        timestamp_ms: start_time().as_millisecond(),
        reason: "OOMKilling".into(),
        message: message.into(),
    }
}

fn requests_matching(
    handle: &FakeApiHandle,
    method: &str,
    path_part: &str,
) -> Vec<RecordedRequest> {
    handle
        .requests()
        .into_iter()
        .filter(|request| request.method == method && request.path.contains(path_part))
        .collect()
}

fn status_patches(handle: &FakeApiHandle) -> Vec<RecordedRequest> {
    requests_matching(handle, "PATCH", &format!("/api/v1/nodes/{NODE}/status"))
}

fn node_condition(handle: &FakeApiHandle, condition_type: &str) -> Option<Value> {
    let node = handle.get_object(ResourceKind::Node, "", NODE)?;
    node["status"]["conditions"]
        .as_array()?
        .iter()
        .find(|condition| condition["type"] == condition_type)
        .cloned()
}

#[tokio::test(start_paused = true)]
async fn first_report_is_patched_with_npd_s_exact_body() {
    let handle = FakeApiHandle::new(fake_config(&[NODE]));
    let agent = Agent::start(&handle, exporter_config(), None);
    agent.report(&status(vec![default_condition()], Vec::new()));
    tokio::time::sleep(Duration::from_millis(1_500)).await;

    let get = &requests_matching(&handle, "GET", "/api/v1/nodes/")[0];
    assert_eq!(get.path, format!("/api/v1/nodes/{NODE}"));
    assert_eq!(
        get.query_param("resourceVersion"),
        Some("0"),
        "NPD reads the cache"
    );
    let patches = status_patches(&handle);
    assert_eq!(patches.len(), 1);
    assert_eq!(
        patches[0].header("content-type"),
        Some("application/strategic-merge-patch+json")
    );
    assert_eq!(
        patches[0].body_json().unwrap(),
        json!({"status": {"conditions": [{
            "type": "KernelDeadlock", "status": "False",
            "lastHeartbeatTime": START, "lastTransitionTime": START,
            "reason": "KernelHasNoDeadlock", "message": "kernel has no deadlock"}]}})
    );
    let node = handle.get_object(ResourceKind::Node, "", NODE).unwrap();
    let types: Vec<&str> = node["status"]["conditions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|condition| condition["type"].as_str().unwrap())
        .collect();
    assert_eq!(
        types,
        [
            "KernelDeadlock",
            "MemoryPressure",
            "DiskPressure",
            "PIDPressure",
            "Ready"
        ],
        "only our type is written; kubelet's stay"
    );
    agent.stop().await;
}

#[tokio::test(start_paused = true)]
async fn changes_are_patched_within_a_second_and_heartbeats_follow_the_period() {
    let handle = FakeApiHandle::new(fake_config(&[NODE]));
    let agent = Agent::start(&handle, exporter_config(), None);
    agent.report(&status(vec![default_condition()], Vec::new()));
    agent.advance(Duration::from_millis(1_500)).await;
    assert_eq!(status_patches(&handle).len(), 1);

    // Nothing changes: no PATCH until the heartbeat is due.
    agent.advance(Duration::from_secs(28)).await;
    assert_eq!(status_patches(&handle).len(), 1);
    agent.report(&status(vec![deadlock()], Vec::new()));
    agent.advance(Duration::from_millis(1_100)).await;
    let patches = status_patches(&handle);
    assert_eq!(patches.len(), 2, "a change goes out at the next 1 s check");
    let change = patches[1].body_json().unwrap();
    assert_eq!(change["status"]["conditions"][0]["status"], "True");
    assert_eq!(change["status"]["conditions"][0]["reason"], "DockerHung");
    assert_eq!(
        change["status"]["conditions"][0]["lastTransitionTime"],
        "2026-11-25T10:00:30Z"
    );
    let change_heartbeat = change["status"]["conditions"][0]["lastHeartbeatTime"].clone();

    // The heartbeat comes 60 s after the last PATCH, not before.
    agent.advance(Duration::from_secs(58)).await;
    assert_eq!(status_patches(&handle).len(), 2);
    agent.advance(Duration::from_secs(2)).await;
    let patches = status_patches(&handle);
    assert_eq!(patches.len(), 3, "heartbeat");
    let heartbeat = patches[2].body_json().unwrap();
    assert_eq!(heartbeat["status"]["conditions"][0]["status"], "True");
    assert_ne!(
        heartbeat["status"]["conditions"][0]["lastHeartbeatTime"], change_heartbeat,
        "the heartbeat time moves"
    );
    assert_eq!(
        heartbeat["status"]["conditions"][0]["lastTransitionTime"], "2026-11-25T10:00:30Z",
        "the transition time does not"
    );
    agent.advance(Duration::from_secs(60)).await;
    assert_eq!(status_patches(&handle).len(), 4);
    agent.stop().await;
}

#[tokio::test(start_paused = true)]
async fn npd_304_a_condition_true_on_the_node_stays_true_after_a_restart() {
    let handle = FakeApiHandle::new(fake_config(&[]));
    let mut node = node_object(NODE, START);
    let sick = json!({"type": "KernelDeadlock", "status": "True", "reason": "DockerHung",
        "message": "task docker:7 blocked for more than 120 seconds.",
        "lastHeartbeatTime": "2026-11-25T09:00:00Z", "lastTransitionTime": "2026-11-25T08:00:00Z"});
    node["status"]["conditions"]
        .as_array_mut()
        .unwrap()
        .insert(0, sick);
    handle.apply_object(ResourceKind::Node, node).unwrap();

    let agent = Agent::start(&handle, exporter_config(), None);
    // The restarted monitor reports its default, then a temporary problem.
    agent.report(&status(vec![default_condition()], Vec::new()));
    tokio::time::sleep(Duration::from_secs(2)).await;
    agent.report(&status(
        vec![default_condition()],
        vec![oom("Killed process 1")],
    ));
    tokio::time::sleep(Duration::from_secs(2)).await;
    let patches = status_patches(&handle);
    assert_eq!(patches.len(), 1);
    assert_eq!(
        patches[0].body_json().unwrap()["status"]["conditions"][0],
        json!({"type": "KernelDeadlock", "status": "True", "reason": "DockerHung",
            "message": "task docker:7 blocked for more than 120 seconds.",
            "lastHeartbeatTime": START, "lastTransitionTime": "2026-11-25T08:00:00Z"})
    );
    let on_node = node_condition(&handle, "KernelDeadlock").unwrap();
    assert_eq!(on_node["status"], "True");

    // The monitor changes the condition: it wins.
    let mut hung = deadlock();
    hung.reason = "AUFSUmountHung".into();
    agent.report(&status(vec![hung], Vec::new()));
    tokio::time::sleep(Duration::from_secs(2)).await;
    assert_eq!(
        node_condition(&handle, "KernelDeadlock").unwrap()["reason"],
        "AUFSUmountHung"
    );
    agent.stop().await;
}

#[tokio::test(start_paused = true)]
async fn the_exporter_waits_for_its_node_and_patches_nothing_before() {
    let handle = FakeApiHandle::new(fake_config(&[]));
    let agent = Agent::start(&handle, exporter_config(), None);
    agent.report(&status(
        vec![default_condition()],
        vec![oom("Killed process 1")],
    ));
    agent.advance(Duration::from_secs(30)).await;
    let gets = requests_matching(&handle, "GET", "/api/v1/nodes/");
    assert!(
        (6..=7).contains(&gets.len()),
        "one GET every 5 s: {}",
        gets.len()
    );
    assert!(gets.iter().all(|get| get.status == 404));
    assert!(status_patches(&handle).is_empty());
    assert!(requests_matching(&handle, "POST", "/events").is_empty());

    handle
        .apply_object(ResourceKind::Node, node_object(NODE, START))
        .unwrap();
    agent.advance(Duration::from_secs(7)).await;
    assert_eq!(status_patches(&handle).len(), 1);
    let events = handle.list_objects(ResourceKind::Event, Some("default"));
    assert_eq!(
        events.len(),
        1,
        "the queued Event goes out once the node is known"
    );
    let uid = handle.get_object(ResourceKind::Node, "", NODE).unwrap()["metadata"]["uid"].clone();
    assert_eq!(events[0]["involvedObject"]["uid"], uid);
    agent.stop().await;
}

#[tokio::test(start_paused = true)]
async fn a_failed_patch_is_retried_after_retry_after_and_carries_the_newest_state() {
    let handle = FakeApiHandle::new(fake_config(&[NODE]));
    handle.inject_fault(
        FaultRule::new(Fault::TooManyRequests {
            retry_after_seconds: 5,
        })
        .verb(Verb::Patch)
        .resource("nodes")
        .times(1),
    );
    handle.inject_fault(
        FaultRule::new(Fault::ServiceUnavailable {
            retry_after_seconds: 3,
        })
        .verb(Verb::Patch)
        .resource("nodes")
        .times(1),
    );
    let agent = Agent::start(&handle, exporter_config(), None);
    agent.report(&status(vec![default_condition()], Vec::new()));
    agent.advance(Duration::from_millis(1_500)).await;
    assert_eq!(status_patches(&handle).len(), 1);
    assert_eq!(status_patches(&handle)[0].status, 429);
    // The problem appears during the outage.
    agent.report(&status(vec![deadlock()], Vec::new()));
    agent.advance(Duration::from_secs(3)).await;
    assert_eq!(
        status_patches(&handle).len(),
        1,
        "Retry-After: 5 is honoured"
    );
    // t = 4.5 s; the retry goes out at the first check after 5 s and meets the 503.
    agent.advance(Duration::from_secs(1)).await;
    let patches = status_patches(&handle);
    assert_eq!(patches.len(), 2);
    assert_eq!(patches[1].status, 503);
    agent.advance(Duration::from_millis(2_400)).await;
    assert_eq!(
        status_patches(&handle).len(),
        2,
        "Retry-After: 3 is honoured"
    );
    agent.advance(Duration::from_secs(2)).await;
    let patches = status_patches(&handle);
    assert_eq!(patches.len(), 3);
    assert_eq!(patches[2].status, 200);
    assert_eq!(
        node_condition(&handle, "KernelDeadlock").unwrap()["status"],
        "True",
        "no status lost"
    );
    let metrics = agent.metrics.encode();
    assert!(
        metrics.contains("kec_npd_node_status_patch_failures_total 2\n"),
        "{metrics}"
    );
    assert!(
        metrics.contains("kec_npd_node_status_patches_total 1\n"),
        "{metrics}"
    );
    agent.stop().await;
}

#[tokio::test(start_paused = true)]
async fn three_repeats_are_one_event_with_count_3() {
    let handle = FakeApiHandle::new(fake_config(&[NODE]));
    let agent = Agent::start(&handle, exporter_config(), None);
    agent.advance(Duration::from_millis(100)).await;
    for _ in 0..3 {
        agent.report(&status(
            vec![default_condition()],
            vec![oom("Killed process 42 (java)")],
        ));
        agent.advance(Duration::from_secs(10)).await;
    }
    let events = handle.list_objects(ResourceKind::Event, Some("default"));
    assert_eq!(events.len(), 1);
    let event = &events[0];
    assert_eq!(event["count"], 3);
    assert_eq!(event["type"], "Warning");
    assert_eq!(event["reason"], "OOMKilling");
    assert_eq!(
        event["source"],
        json!({"component": "kernel-monitor", "host": NODE})
    );
    let uid = handle.get_object(ResourceKind::Node, "", NODE).unwrap()["metadata"]["uid"].clone();
    assert_eq!(
        event["involvedObject"],
        json!({"kind": "Node", "name": NODE, "uid": uid, "apiVersion": "v1"})
    );
    assert_eq!(event["firstTimestamp"], START);
    assert_eq!(event["lastTimestamp"], "2026-11-25T10:00:20Z");

    let posts = requests_matching(&handle, "POST", "/api/v1/namespaces/default/events");
    assert_eq!(posts.len(), 1);
    let name = event["metadata"]["name"].as_str().unwrap();
    assert!(name.starts_with("node-1."));
    let patches = requests_matching(&handle, "PATCH", &format!("/events/{name}"));
    let bodies: Vec<Value> = patches
        .iter()
        .map(|patch| patch.body_json().unwrap())
        .collect();
    assert_eq!(
        bodies,
        [
            json!({"count": 2, "lastTimestamp": "2026-11-25T10:00:10Z", "message": "Killed process 42 (java)"}),
            json!({"count": 3, "lastTimestamp": "2026-11-25T10:00:20Z", "message": "Killed process 42 (java)"}),
        ]
    );
    assert!(patches.iter().all(|patch| {
        patch.header("content-type") == Some("application/strategic-merge-patch+json")
    }));
    agent.stop().await;
}

#[tokio::test(start_paused = true)]
async fn an_expired_event_is_posted_again_under_its_name_with_the_running_count() {
    let handle = FakeApiHandle::new(fake_config(&[NODE]));
    let agent = Agent::start(&handle, exporter_config(), None);
    agent.advance(Duration::from_millis(100)).await;
    agent.report(&status(Vec::new(), vec![oom("Killed process 1")]));
    agent.advance(Duration::from_secs(1)).await;
    let first = handle.list_objects(ResourceKind::Event, Some("default"));
    let name = first[0]["metadata"]["name"].as_str().unwrap().to_string();
    assert!(handle.expire_event("default", &name));
    agent.report(&status(Vec::new(), vec![oom("Killed process 1")]));
    agent.advance(Duration::from_secs(1)).await;

    let patch = &requests_matching(&handle, "PATCH", &format!("/events/{name}"))[0];
    assert_eq!(patch.status, 404);
    let posts = requests_matching(&handle, "POST", "/events");
    assert_eq!(posts.len(), 2);
    assert_eq!(posts[1].body_json().unwrap()["metadata"]["name"], name);
    let again = handle
        .get_object(ResourceKind::Event, "default", &name)
        .unwrap();
    assert_eq!(again["count"], 2);
    assert_ne!(again["metadata"]["uid"], first[0]["metadata"]["uid"]);
    assert!(
        agent
            .metrics
            .encode()
            .contains("kec_npd_events_written_total{action=\"recreated\"} 1")
    );
    agent.stop().await;
}

#[tokio::test(start_paused = true)]
async fn event_writes_are_retried_after_429_and_5xx_and_rejections_are_counted() {
    let handle = FakeApiHandle::new(fake_config(&[NODE]));
    handle.inject_fault(
        FaultRule::new(Fault::ServiceUnavailable {
            retry_after_seconds: 20,
        })
        .verb(Verb::Create)
        .resource("events")
        .times(1),
    );
    handle.inject_fault(
        FaultRule::new(Fault::InternalError)
            .verb(Verb::Create)
            .resource("events")
            .times(1),
    );
    let agent = Agent::start(&handle, exporter_config(), None);
    agent.advance(Duration::from_millis(100)).await;
    agent.report(&status(Vec::new(), vec![oom("Killed process 1")]));
    agent.advance(Duration::from_secs(19)).await;
    assert_eq!(
        requests_matching(&handle, "POST", "/events").len(),
        1,
        "waits for Retry-After"
    );
    agent.advance(Duration::from_secs(15)).await;
    let posts = requests_matching(&handle, "POST", "/events");
    assert_eq!(
        posts.iter().map(|post| post.status).collect::<Vec<_>>(),
        [503, 500, 201]
    );
    assert_eq!(
        handle
            .list_objects(ResourceKind::Event, Some("default"))
            .len(),
        1
    );

    handle.inject_fault(
        FaultRule::new(Fault::Forbidden)
            .verb(Verb::Create)
            .resource("events")
            .times(1),
    );
    agent.report(&status(Vec::new(), vec![oom("Killed process 2")]));
    agent.report(&status(Vec::new(), vec![oom("Killed process 3")]));
    agent.advance(Duration::from_secs(1)).await;
    let metrics = agent.metrics.encode();
    assert!(
        metrics.contains("kec_npd_events_dropped_total{cause=\"rejected\"} 1\n"),
        "{metrics}"
    );
    assert!(
        metrics.contains("kec_npd_events_written_total{action=\"created\"} 2\n"),
        "{metrics}"
    );
    assert_eq!(
        handle
            .list_objects(ResourceKind::Event, Some("default"))
            .len(),
        2
    );
    agent.stop().await;
}

#[tokio::test(start_paused = true)]
async fn event_namespace_flag_puts_events_and_their_reference_in_that_namespace() {
    let handle = FakeApiHandle::new(fake_config(&[NODE]));
    let config = K8sExporterConfig {
        event_namespace: "kube-system".into(),
        ..exporter_config()
    };
    let agent = Agent::start(&handle, config, None);
    agent.advance(Duration::from_millis(100)).await;
    agent.report(&status(Vec::new(), vec![oom("Killed process 1")]));
    agent.advance(Duration::from_secs(1)).await;
    let events = handle.list_objects(ResourceKind::Event, Some("kube-system"));
    assert_eq!(events.len(), 1);
    assert_eq!(events[0]["involvedObject"]["namespace"], "kube-system");
    agent.stop().await;
}

#[tokio::test(start_paused = true)]
async fn with_a_quiet_period_a_log_condition_clears_on_the_node() {
    let handle = FakeApiHandle::new(fake_config(&[NODE]));
    let agent = Agent::start(&handle, exporter_config(), Some(Duration::from_secs(600)));
    agent.report(&status(vec![default_condition()], Vec::new()));
    agent.advance(Duration::from_secs(1)).await;
    agent.report(&status(vec![deadlock()], Vec::new()));
    agent.advance(Duration::from_secs(2)).await;
    assert_eq!(
        node_condition(&handle, "KernelDeadlock").unwrap()["status"],
        "True"
    );
    agent.advance(Duration::from_secs(590)).await;
    assert_eq!(
        node_condition(&handle, "KernelDeadlock").unwrap()["status"],
        "True"
    );
    agent.advance(Duration::from_secs(12)).await;
    let cleared = node_condition(&handle, "KernelDeadlock").unwrap();
    assert_eq!(cleared["status"], "False");
    assert_eq!(cleared["reason"], "KernelHasNoDeadlock");
    agent.stop().await;
}

/// The whole path over real HTTP: monitors' channels -> daemon -> exporter -> fake API server.
#[tokio::test]
async fn the_daemon_runs_feeds_to_a_listening_api_server() {
    let server = FakeApiServer::start(FakeApiServerConfig {
        initial_nodes: vec![NODE.to_string()],
        startup_events: false,
        ..FakeApiServerConfig::default()
    })
    .await
    .unwrap();
    let handle = server.handle();
    let target = ApiServerTarget {
        apiserver_override: Some(format!("{}?inClusterConfig=false", server.url())),
        kubeconfig: None,
    };
    let client = target.client().await.unwrap();
    let book: SharedBook = Arc::new(Mutex::new(ConditionBook::new(None)));
    let metrics = NpdMetrics::new();
    let clock: SharedClock = Arc::new(kec_npd_export::SystemClock);
    let shutdown = CancellationToken::new();
    let config = K8sExporterConfig {
        update_period: Duration::from_millis(50),
        ..exporter_config()
    };
    let exporter = K8sExporter::start(
        config,
        client,
        book.clone(),
        clock.clone(),
        metrics.clone(),
        shutdown.clone(),
    );
    let daemon = ProblemDaemon::new(book, metrics, Some(exporter), clock);
    let (kernel_tx, kernel_rx) = tokio::sync::mpsc::channel(8);
    let (plugin_tx, plugin_rx) = tokio::sync::mpsc::channel(8);
    let running = tokio::spawn(daemon.run(vec![
        MonitorFeed {
            semantics: ConditionSemantics::Latched,
            status_rx: kernel_rx,
        },
        MonitorFeed {
            semantics: ConditionSemantics::Evaluated,
            status_rx: plugin_rx,
        },
    ]));
    kernel_tx
        .send(status(vec![deadlock()], vec![oom("Killed process 7")]))
        .await
        .unwrap();
    plugin_tx
        .send(Status {
            source: "ntp-custom-plugin-monitor".into(),
            events: Vec::new(),
            conditions: vec![Condition {
                condition_type: "NTPProblem".into(),
                status: ConditionStatus::False,
                transition_ms: 0,
                reason: "NTPIsUp".into(),
                message: "ntp service is up".into(),
            }],
        })
        .await
        .unwrap();
    drop((kernel_tx, plugin_tx));
    let exporter = running.await.unwrap().unwrap();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    while (node_condition(&handle, "NTPProblem").is_none()
        || handle
            .list_objects(ResourceKind::Event, Some("default"))
            .is_empty())
        && tokio::time::Instant::now() < deadline
    {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert_eq!(
        node_condition(&handle, "KernelDeadlock").unwrap()["status"],
        "True"
    );
    assert_eq!(
        node_condition(&handle, "NTPProblem").unwrap()["reason"],
        "NTPIsUp"
    );
    let events = handle.list_objects(ResourceKind::Event, Some("default"));
    assert_eq!(events.len(), 1);
    assert_eq!(events[0]["message"], "Killed process 7");
    shutdown.cancel();
    exporter.finish().await;
    server.shutdown().await;
}
