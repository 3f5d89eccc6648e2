//! The webhook sink end to end: Events from the fake API server, the body template read from a
//! ConfigMap there, a local receiver that records exactly what arrives (method, path and
//! query, headers, body) and answers scripted statuses.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, Method, StatusCode, Uri};
use kec_eventer::kube_eventer::{parse_sink_flag, sinks_and_route};
use kec_eventer::sinks::webhook::{WebhookBody, WebhookSinkConfig};
use kec_eventer::{BackoffConfig, Eventer, EventerConfig, KubeConnection, KubernetesSourceConfig};
use kec_eventer::{SinkConfig, metrics::SinkStats};
use kec_testkit::{FakeApiServer, FakeApiServerConfig, ResourceKind};
use serde_json::{Value, json};
use tempfile::TempDir;

/// One request as the receiver saw it.
#[derive(Debug, Clone)]
struct Received {
    method: Method,
    path_and_query: String,
    headers: HeaderMap,
    body: String,
}

#[derive(Clone, Default)]
struct Receiver {
    received: Arc<Mutex<Vec<Received>>>,
    /// Statuses to answer, in order; 200 once empty.
    script: Arc<Mutex<VecDeque<u16>>>,
}

impl Receiver {
    fn received(&self) -> Vec<Received> {
        self.received.lock().unwrap().clone()
    }
}

async fn record(
    State(receiver): State<Receiver>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> StatusCode {
    receiver.received.lock().unwrap().push(Received {
        method,
        path_and_query: uri
            .path_and_query()
            .map(ToString::to_string)
            .unwrap_or_default(),
        headers,
        body: String::from_utf8_lossy(&body).into_owned(),
    });
    let status = receiver.script.lock().unwrap().pop_front().unwrap_or(200);
    StatusCode::from_u16(status).unwrap()
}

/// A receiver on 127.0.0.1:0; returns it and its base URL.
async fn start_receiver(script: &[u16]) -> (Receiver, String) {
    let receiver = Receiver::default();
    receiver.script.lock().unwrap().extend(script);
    let app = axum::Router::new()
        .fallback(record)
        .with_state(receiver.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    (receiver, url)
}

async fn start_api() -> FakeApiServer {
    FakeApiServer::start(FakeApiServerConfig::default())
        .await
        .unwrap()
}

/// The eventer reading `namespaces` (all when empty: the fake API server starts with Node
/// Events of its own in `default`).
fn config(
    api: &FakeApiServer,
    namespaces: &[&str],
    sinks: Vec<SinkConfig>,
    state_dir: &TempDir,
) -> EventerConfig {
    let source = KubernetesSourceConfig {
        namespaces: namespaces.iter().map(ToString::to_string).collect(),
        connection: KubeConnection::Url {
            server_url: api.url(),
        },
        watch_timeout_secs: 2,
        backoff: BackoffConfig {
            initial_ms: 20,
            max_ms: 200,
        },
        ..KubernetesSourceConfig::default()
    };
    let mut config = EventerConfig::new(source, sinks);
    config.state_dir = state_dir.path().to_path_buf();
    config
}

/// A core/v1 Event about `kind/name` with fixed times.
fn event(name: &str, kind: &str, object: &str, event_type: &str, message: &str) -> Value {
    let namespace = if kind == "Node" { "default" } else { "prod" };
    let object_namespace = if kind == "Node" { "" } else { "prod" };
    json!({
        "metadata": {"name": name, "namespace": namespace},
        "involvedObject": {"kind": kind, "namespace": object_namespace, "name": object},
        "reason": "BackOff",
        "message": message,
        "source": {"component": "kubelet", "host": "node-1"},
        "firstTimestamp": "2024-03-05T07:08:09Z",
        "lastTimestamp": "2024-03-05T08:09:10Z",
        "count": 4,
        "type": event_type
    })
}

async fn wait_for(what: &str, mut condition: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(20);
    while !condition() {
        assert!(Instant::now() < deadline, "timed out waiting until {what}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

fn only_sink(eventer: &Eventer) -> Arc<SinkStats> {
    let stats = eventer.sink_stats();
    assert_eq!(stats.len(), 1);
    stats[0].clone()
}

fn value(counter: &std::sync::atomic::AtomicU64) -> u64 {
    counter.load(std::sync::atomic::Ordering::Relaxed)
}

/// kube-eventer's docs, "Typical Scenarios / Dingtalk": the flag and the ConfigMap body, as
/// given there (the `\n` in the ConfigMap are backslash-n: text/template leaves them alone).
const DOC_DINGTALK_BODY: &str = "{\t\"msgtype\": \"text\",\n\t\"text\": {\"content\":\"EventType:{{ .Type }}\\nEventKind:{{ .InvolvedObject.Kind }}\\nEventReason:{{ .Reason }}\\nEventTime:{{ .LastTimestamp }}\\nEventMessage:{{ .Message }}\"},\n\t\"markdown\": {\"title\":\"\",\"text\":\"\"}\n}";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kube_eventer_flag_with_a_configmap_body_sends_what_kube_eventer_sends() {
    let api = start_api().await;
    let handle = api.handle();
    handle
        .apply_object(
            ResourceKind::ConfigMap,
            json!({
                "metadata": {"name": "custom-body", "namespace": "kube-system"},
                "data": {"content": DOC_DINGTALK_BODY}
            }),
        )
        .unwrap();
    handle
        .create_event(event(
            "web-1.a",
            "Pod",
            "web-1",
            "Warning",
            "Back-off restarting failed container \"app\" in pod web-1",
        ))
        .unwrap();
    // kinds=Pod: not sent.
    handle
        .create_event(event("node-1.b", "Node", "node-1", "Warning", "disk"))
        .unwrap();
    let (receiver, url) = start_receiver(&[]).await;
    let path_and_query = "/robot/send?access_token=token&level=Normal&kinds=Pod\
                          &header=Content-Type=application/json&custom_body_configmap=custom-body\
                          &custom_body_configmap_namespace=kube-system&method=POST";
    let flag = parse_sink_flag(&format!("webhook:{url}{path_and_query}")).unwrap();
    let (sinks, route) = sinks_and_route(vec![flag]);
    let state_dir = tempfile::tempdir().unwrap();
    let mut config = config(&api, &[], Vec::new(), &state_dir);
    config.sinks = sinks;
    config.route = Some(route);
    let eventer = config.build().await.unwrap();
    wait_for("the Pod Event arrives", || !receiver.received().is_empty()).await;
    // Give the Node Event time to (not) arrive.
    tokio::time::sleep(Duration::from_millis(300)).await;
    let received = receiver.received();
    assert_eq!(received.len(), 1, "{received:?}");
    let request = &received[0];
    assert_eq!(request.method, Method::POST);
    assert_eq!(
        request.path_and_query, path_and_query,
        "kube-eventer sends to the whole flag URL"
    );
    assert_eq!(request.headers["content-type"], "application/json");
    // Go: `{{ .LastTimestamp }}` is metav1.Time's String(), the quotes are cut from the message.
    let expected = "{\t\"msgtype\": \"text\",\n\t\"text\": {\"content\":\"EventType:Warning\\nEventKind:Pod\\nEventReason:BackOff\\nEventTime:2024-03-05 08:09:10 +0000 UTC\\nEventMessage:Back-off restarting failed container app in pod web-1\"},\n\t\"markdown\": {\"title\":\"\",\"text\":\"\"}\n}";
    assert_eq!(request.body, expected);
    let parsed: Value = serde_json::from_str(&request.body).unwrap();
    assert_eq!(parsed["msgtype"], "text");
    eventer.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn yaml_config_sends_its_method_headers_and_template_and_the_default_body_is_kube_eventers() {
    let api = start_api().await;
    let created = api
        .handle()
        .create_event(event("web-1.a", "Pod", "web-1", "Normal", "Started"))
        .unwrap();
    let uid = created["metadata"]["uid"].as_str().unwrap().to_string();
    let (receiver, url) = start_receiver(&[]).await;
    let mut templated = WebhookSinkConfig::new(format!("{url}/templated"));
    templated.method = "PUT".to_string();
    templated
        .headers
        .insert("Authorization".to_string(), "Bearer s3cret".to_string());
    templated
        .headers
        .insert("X-Team".to_string(), "infra".to_string());
    templated.body = WebhookBody::Template(
        "{{ .ObjectMeta.UID }} {{ .Namespace }}/{{ .Name }} {{ .InvolvedObject.Kind }}/{{ .InvolvedObject.Name }} \
         x{{ .Count }} {{ .Source.Host }} {{ .FirstTimestamp }}{{ if eq .Type \"Warning\" }} !{{ end }}"
            .to_string(),
    );
    let default_body = WebhookSinkConfig::new(format!("{url}/default"));
    let state_dir = tempfile::tempdir().unwrap();
    let eventer = config(
        &api,
        &["prod"],
        vec![
            SinkConfig::Webhook(templated),
            SinkConfig::Webhook(default_body),
        ],
        &state_dir,
    )
    .build()
    .await
    .unwrap();
    wait_for("both requests arrive", || receiver.received().len() == 2).await;
    let received = receiver.received();
    let templated = received
        .iter()
        .find(|request| request.path_and_query == "/templated")
        .unwrap();
    assert_eq!(templated.method, Method::PUT);
    assert_eq!(templated.headers["authorization"], "Bearer s3cret");
    assert_eq!(templated.headers["x-team"], "infra");
    assert!(!templated.headers.contains_key("content-type"));
    assert_eq!(
        templated.body,
        format!("{uid} prod/web-1.a Pod/web-1 x4 node-1 2024-03-05 07:08:09 +0000 UTC")
    );
    let default = received
        .iter()
        .find(|request| request.path_and_query == "/default")
        .unwrap();
    assert_eq!(default.method, Method::POST);
    assert_eq!(
        default.body,
        "\n{\n\t\"EventType\": \"Normal\",\n\t\"EventKind\": \"Pod\",\n\t\"EventReason\": \"BackOff\",\n\t\"EventTime\": \"2024-03-05 08:09:10 +0000 UTC\",\n\t\"EventMessage\": \"Started\"\n}"
    );
    eventer.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn server_errors_and_429_are_retried_until_delivered() {
    let api = start_api().await;
    api.handle()
        .create_event(event("web-1.a", "Pod", "web-1", "Warning", "m"))
        .unwrap();
    let (receiver, url) = start_receiver(&[503, 429, 500]).await;
    let mut webhook = WebhookSinkConfig::new(format!("{url}/hook"));
    webhook.body = WebhookBody::EventJson;
    webhook.delivery.backoff = BackoffConfig {
        initial_ms: 10,
        max_ms: 20,
    };
    let state_dir = tempfile::tempdir().unwrap();
    let eventer = config(
        &api,
        &["prod"],
        vec![SinkConfig::Webhook(webhook)],
        &state_dir,
    )
    .build()
    .await
    .unwrap();
    let stats = only_sink(&eventer);
    wait_for("delivered", || value(&stats.delivered) == 1).await;
    let received = receiver.received();
    assert_eq!(received.len(), 4, "three failures, then the delivery");
    assert!(
        received
            .iter()
            .all(|request| request.body == received[0].body)
    );
    let sent: Value = serde_json::from_str(&received[3].body).unwrap();
    assert_eq!(sent["metadata"]["name"], "web-1.a");
    assert_eq!(received[3].headers["content-type"], "application/json");
    assert_eq!(value(&stats.retries), 3);
    assert_eq!(value(&stats.dropped), 0);
    eventer.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_permanent_error_is_not_retried() {
    let api = start_api().await;
    api.handle()
        .create_event(event("web-1.a", "Pod", "web-1", "Warning", "m"))
        .unwrap();
    let (receiver, url) = start_receiver(&[400]).await;
    let state_dir = tempfile::tempdir().unwrap();
    let eventer = config(
        &api,
        &["prod"],
        vec![SinkConfig::Webhook(WebhookSinkConfig::new(format!(
            "{url}/hook"
        )))],
        &state_dir,
    )
    .build()
    .await
    .unwrap();
    let stats = only_sink(&eventer);
    wait_for("dropped", || value(&stats.dropped) == 1).await;
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert_eq!(receiver.received().len(), 1, "{:#?}", receiver.received());
    assert_eq!(value(&stats.retries), 0);
    assert_eq!(value(&stats.delivered), 0);
    eventer.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_missing_configmap_or_content_key_stops_the_start_without_leaking_the_url() {
    let api = start_api().await;
    api.handle()
        .apply_object(
            ResourceKind::ConfigMap,
            json!({"metadata": {"name": "no-content", "namespace": "default"}, "data": {"body": "x"}}),
        )
        .unwrap();
    let state_dir = tempfile::tempdir().unwrap();
    for (configmap, expected) in [
        ("missing", "cannot read ConfigMap default/missing"),
        (
            "no-content",
            "ConfigMap default/no-content has no `content` key",
        ),
    ] {
        let flag = parse_sink_flag(&format!(
            "webhook:http://127.0.0.1:9/send?access_token=top-secret&custom_body_configmap={configmap}"
        ))
        .unwrap();
        let error = config(&api, &["prod"], vec![flag.sink], &state_dir)
            .build()
            .await
            .unwrap_err()
            .to_string();
        assert!(error.contains(expected), "{error}");
        assert!(!error.contains("top-secret"), "{error}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_file_sink_appends_every_event_as_its_own_json_line() {
    let api = start_api().await;
    for index in 0..5 {
        api.handle()
            .create_event(event(
                &format!("web-{index}.a"),
                "Pod",
                "web",
                "Normal",
                "m",
            ))
            .unwrap();
    }
    let state_dir = tempfile::tempdir().unwrap();
    let path = state_dir.path().join("out/events.jsonl");
    let file = kec_eventer::sinks::file::FileSinkConfig::new(&path);
    let eventer = config(&api, &["prod"], vec![SinkConfig::File(file)], &state_dir)
        .build()
        .await
        .unwrap();
    let stats = eventer.stats();
    wait_for("five lines written", || value(&stats.events_delivered) == 5).await;
    eventer.shutdown().await;
    let mut names: Vec<String> = std::fs::read_to_string(&path)
        .unwrap()
        .lines()
        .map(|line| {
            let event: Value = serde_json::from_str(line).unwrap();
            assert_eq!(event["involvedObject"]["kind"], "Pod");
            event["metadata"]["name"].as_str().unwrap().to_string()
        })
        .collect();
    names.sort();
    assert_eq!(
        names,
        ["web-0.a", "web-1.a", "web-2.a", "web-3.a", "web-4.a"]
    );
}
