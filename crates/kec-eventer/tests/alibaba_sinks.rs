//! The Alibaba Cloud sinks against local fakes of SLS PutLogs and EventBridge PutEvents, built
//! from the public API references (not against the real cloud). The fakes check the signature
//! with the documented algorithm, computed here independently of the sinks' code, decode the
//! protobuf LogGroup / CloudEvents batch, and answer scripted errors so retries can be counted.

use std::collections::{BTreeMap, VecDeque};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, Uri};
use axum::routing::post;
use base64::Engine as _;
use hmac::{Hmac, Mac};
use kec_eventer::kube_eventer::{SinkUri, parse_sink_flag};
use kec_eventer::metrics::SinkStats;
use kec_eventer::sinks::alibaba::AccessKeyConfig;
use kec_eventer::sinks::eventbridge::{self, EventBridgeSinkConfig};
use kec_eventer::sinks::http::Format;
use kec_eventer::sinks::sls::{self, SlsSinkConfig};
use kec_eventer::{
    BackoffConfig, Eventer, EventerConfig, KubeConnection, KubernetesSourceConfig, SinkConfig,
};
use kec_model::EventRecord;
use kec_testkit::{FakeApiServer, FakeApiServerConfig, InvolvedObject};
use md5::{Digest, Md5};

const KEY_ID: &str = "LTAI5tTestKeyId";
const KEY_SECRET: &str = "TestKeySecretValue";
/// Sat, 18 Apr 2020 05:30:41 GMT.
const FIXED_MS: i64 = 1_587_187_841_000;
const DEADLINE: Duration = Duration::from_secs(20);
/// Events the fake API server holds from the start (a node's start-up).
const SEEDED: u64 = 5;

// ---------------------------------------------------------------------------------------------
// Independent implementations of the documented algorithms.

fn hmac_sha1_base64(secret: &str, text: &str) -> String {
    let mut mac = Hmac::<sha1::Sha1>::new_from_slice(secret.as_bytes()).unwrap();
    mac.update(text.as_bytes());
    base64::engine::general_purpose::STANDARD.encode(mac.finalize().into_bytes())
}

fn header<'a>(headers: &'a HeaderMap, name: &str) -> &'a str {
    headers
        .get(name)
        .and_then(|value| value.to_str().ok())
        .unwrap_or("")
}

/// The signed headers: every header with one of the prefixes, lowercase, sorted by name.
fn canonical_headers(headers: &HeaderMap, prefixes: &[&str]) -> String {
    let mut signed: Vec<(String, String)> = headers
        .iter()
        .filter(|(name, _)| {
            prefixes
                .iter()
                .any(|prefix| name.as_str().starts_with(prefix))
        })
        .map(|(name, value)| {
            (
                name.as_str().to_string(),
                value.to_str().unwrap().trim().to_string(),
            )
        })
        .collect();
    signed.sort();
    signed
        .iter()
        .map(|(name, value)| format!("{name}:{value}\n"))
        .collect()
}

/// SLS (API reference, "Request signatures"): `VERB\nCONTENT-MD5\nCONTENT-TYPE\nDATE\n
/// CanonicalizedLOGHeaders\nCanonicalizedResource`, `Authorization: LOG <id>:<signature>`.
fn sls_expected_authorization(headers: &HeaderMap, path: &str) -> String {
    let text = format!(
        "POST\n{}\n{}\n{}\n{}{path}",
        header(headers, "content-md5"),
        header(headers, "content-type"),
        header(headers, "date"),
        canonical_headers(headers, &["x-log-", "x-acs-"]),
    );
    format!("LOG {KEY_ID}:{}", hmac_sha1_base64(KEY_SECRET, &text))
}

/// EventBridge (the SDKs' signer): `VERB\nCONTENT-MD5\nCONTENT-TYPE\nDATE\n` + the `x-acs-`
/// headers + the resource, `Authorization: acs:<id>:<signature>`.
fn eventbridge_expected_authorization(headers: &HeaderMap, path: &str) -> String {
    let text = format!(
        "POST\n{}\n{}\n{}\n{}{path}",
        header(headers, "content-md5"),
        header(headers, "content-type"),
        header(headers, "date"),
        canonical_headers(headers, &["x-acs-"]),
    );
    format!("acs:{KEY_ID}:{}", hmac_sha1_base64(KEY_SECRET, &text))
}

/// log.proto of SLS, declared here again so decoding does not trust the sink's own types.
mod proto {
    #[derive(Clone, PartialEq, prost::Message)]
    pub struct LogGroup {
        #[prost(message, repeated, tag = "1")]
        pub logs: Vec<Log>,
        #[prost(string, optional, tag = "3")]
        pub topic: Option<String>,
        #[prost(string, optional, tag = "4")]
        pub source: Option<String>,
    }
    #[derive(Clone, PartialEq, prost::Message)]
    pub struct Log {
        #[prost(uint32, required, tag = "1")]
        pub time: u32,
        #[prost(message, repeated, tag = "2")]
        pub contents: Vec<Content>,
    }
    #[derive(Clone, PartialEq, prost::Message)]
    pub struct Content {
        #[prost(string, required, tag = "1")]
        pub key: String,
        #[prost(string, required, tag = "2")]
        pub value: String,
    }
}

fn decode_sls_body(headers: &HeaderMap, body: &[u8]) -> proto::LogGroup {
    let raw_size: usize = header(headers, "x-log-bodyrawsize").parse().unwrap();
    let raw = match header(headers, "x-log-compresstype") {
        "lz4" => lz4_flex::block::decompress(body, raw_size).unwrap(),
        "" => body.to_vec(),
        other => panic!("unknown compression {other}"),
    };
    assert_eq!(raw.len(), raw_size, "x-log-bodyrawsize");
    prost::Message::decode(raw.as_slice()).unwrap()
}

// ---------------------------------------------------------------------------------------------
// The fakes.

#[derive(Default)]
struct FakeState {
    /// Answers for the next requests (status, body); then 200.
    script: VecDeque<(u16, String)>,
    requests: usize,
    bad_signatures: usize,
    /// Logs (SLS) or CloudEvents (EventBridge) of accepted requests.
    accepted: Vec<serde_json::Value>,
}

type Shared = Arc<Mutex<FakeState>>;

fn answer(
    state: &Shared,
    signature_ok: bool,
    items: Vec<serde_json::Value>,
) -> (StatusCode, String) {
    let mut state = state.lock().unwrap();
    state.requests += 1;
    if !signature_ok {
        state.bad_signatures += 1;
    }
    // A scripted answer (even a 200 with failed entries) accepts nothing.
    let (status, body) = match state.script.pop_front() {
        Some(scripted) => scripted,
        None => {
            state.accepted.extend(items);
            (200, String::new())
        }
    };
    (StatusCode::from_u16(status).unwrap(), body)
}

async fn fake_sls(
    state: State<Shared>,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> (StatusCode, String) {
    let signature_ok = header(&headers, "authorization")
        == sls_expected_authorization(&headers, uri.path())
        && header(&headers, "content-md5") == format!("{:X}", Md5::digest(&body));
    let group = decode_sls_body(&headers, &body);
    let logs = group
        .logs
        .iter()
        .map(|log| {
            let contents: Vec<(String, String)> = log
                .contents
                .iter()
                .map(|content| (content.key.clone(), content.value.clone()))
                .collect();
            serde_json::json!({"time": log.time, "contents": contents, "topic": group.topic})
        })
        .collect();
    answer(&state, signature_ok, logs)
}

async fn fake_eventbridge(
    state: State<Shared>,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> (StatusCode, String) {
    let signature_ok = header(&headers, "authorization")
        == eventbridge_expected_authorization(&headers, uri.path());
    let events: Vec<serde_json::Value> = serde_json::from_slice(&body).unwrap();
    let (status, text) = answer(&state, signature_ok, events.clone());
    if status == StatusCode::OK && text.is_empty() {
        let entries: Vec<_> = events
            .iter()
            .map(|event| serde_json::json!({"EventId": event["id"], "TraceId": "t"}))
            .collect();
        let body = serde_json::json!({"RequestId": "r", "ResourceOwnerAccountId": "1", "FailedEntryCount": 0, "EntryList": entries});
        return (status, body.to_string());
    }
    (status, text)
}

async fn start_fake(script: Vec<(u16, &str)>) -> (String, Shared) {
    let state: Shared = Arc::new(Mutex::new(FakeState {
        script: script
            .into_iter()
            .map(|(status, body)| (status, body.to_string()))
            .collect(),
        ..FakeState::default()
    }));
    let app = Router::new()
        .route("/logstores/{logstore}/shards/lb", post(fake_sls))
        .route("/openapi/putEvents", post(fake_eventbridge))
        .with_state(state.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    (url, state)
}

// ---------------------------------------------------------------------------------------------
// Records and the eventer.

fn record(event: serde_json::Value) -> Arc<EventRecord> {
    match kec_model::convert::parse_value(event, "test", FIXED_MS).unwrap() {
        kec_model::convert::ParsedLine::Observation(observation) => Arc::new(observation.record),
        other => panic!("{other:?}"),
    }
}

fn pod_event() -> serde_json::Value {
    serde_json::json!({
        "apiVersion": "v1", "kind": "Event",
        "metadata": {"name": "web-0.17a", "namespace": "prod", "uid": "e-uid-1", "resourceVersion": "42"},
        "involvedObject": {"kind": "Pod", "namespace": "prod", "name": "web-0", "uid": "pod-uid-1", "apiVersion": "v1"},
        "reason": "BackOff", "message": "Back-off restarting <app> & co",
        "source": {"component": "kubelet", "host": "node-1"},
        "firstTimestamp": "2020-04-18T05:00:00Z", "lastTimestamp": "2020-04-18T05:30:00Z",
        "count": 3, "type": "Warning"
    })
}

fn node_event() -> serde_json::Value {
    serde_json::json!({
        "apiVersion": "v1", "kind": "Event",
        "metadata": {"name": "node-1.17b", "namespace": "default", "uid": "e-uid-2", "resourceVersion": "43"},
        "involvedObject": {"kind": "Node", "name": "node-1", "uid": "node-1", "apiVersion": "v1"},
        "reason": "NodeReady", "message": "ready",
        "source": {"component": "kubelet", "host": "node-1"},
        "lastTimestamp": "2020-04-18T05:30:01Z", "count": 1, "type": "Normal"
    })
}

fn fast_delivery() -> kec_eventer::sinks::http::DeliveryConfig {
    kec_eventer::sinks::http::DeliveryConfig {
        max_attempts: 5,
        batch_max_wait_ms: 100,
        backoff: BackoffConfig {
            initial_ms: 10,
            max_ms: 50,
        },
        ..Default::default()
    }
}

async fn start_eventer(
    api: &FakeApiServer,
    sink: SinkConfig,
    state_dir: &std::path::Path,
) -> Eventer {
    let source = KubernetesSourceConfig {
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
    let mut config = EventerConfig::new(source, vec![sink]);
    config.state_dir = state_dir.to_path_buf();
    config.build().await.unwrap()
}

/// Writes `count` Events about different pods.
fn write_events(api: &FakeApiServer, count: usize) {
    let recorder = api.handle().event_recorder("kubelet", "node-1");
    for pod in 0..count {
        recorder
            .record(
                &InvolvedObject::pod("prod", &format!("web-{pod}")),
                "Warning",
                "BackOff",
                "Back-off restarting failed container app",
            )
            .unwrap();
    }
}

async fn wait_until(what: &str, mut condition: impl FnMut() -> bool) {
    let deadline = Instant::now() + DEADLINE;
    while !condition() {
        assert!(Instant::now() < deadline, "timed out waiting until {what}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

fn sink_stats(eventer: &Eventer) -> Arc<SinkStats> {
    eventer.sink_stats().into_iter().next().unwrap()
}

fn stat(counter: &std::sync::atomic::AtomicU64) -> u64 {
    SinkStats::value(counter)
}

fn sls_config(endpoint: &str) -> SlsSinkConfig {
    let mut config = SlsSinkConfig::new(endpoint, "k8s-log-c1", "k8s-event");
    config.topic = "k8s-cluster-dev".into();
    config.labels.insert("ClusterId".into(), "c1".into());
    config.access_key = AccessKeyConfig::inline(KEY_ID, KEY_SECRET);
    config.delivery = fast_delivery();
    config
}

fn eventbridge_config(endpoint: &str) -> EventBridgeSinkConfig {
    let mut config = EventBridgeSinkConfig::new("1234567890", "cn-hangzhou", "c1");
    config.endpoint = Some(endpoint.to_string());
    config.access_key = AccessKeyConfig::inline(KEY_ID, KEY_SECRET);
    config.delivery = fast_delivery();
    config
}

fn headers_of(request: &kec_eventer::sinks::http::HttpRequest) -> HeaderMap {
    let mut headers = HeaderMap::new();
    for (name, value) in &request.headers {
        headers.insert(
            axum::http::HeaderName::from_bytes(name.to_lowercase().as_bytes()).unwrap(),
            value.parse().unwrap(),
        );
    }
    headers
}

// ---------------------------------------------------------------------------------------------
// SLS.

#[test]
fn sls_request_has_the_documented_headers_signature_and_log_group() {
    let format = sls_config("https://cn-hangzhou.log.aliyuncs.com")
        .format_with_env(|_| None)
        .unwrap();
    let batch = vec![record(pod_event()), record(node_event())];
    let request = format.request(&batch, FIXED_MS).unwrap();
    assert_eq!(request.method, reqwest::Method::POST);
    assert_eq!(
        request.url,
        "https://k8s-log-c1.cn-hangzhou.log.aliyuncs.com/logstores/k8s-event/shards/lb"
    );
    let headers = headers_of(&request);
    assert_eq!(
        header(&headers, "host"),
        "k8s-log-c1.cn-hangzhou.log.aliyuncs.com"
    );
    assert_eq!(header(&headers, "date"), "Sat, 18 Apr 2020 05:30:41 GMT");
    assert_eq!(header(&headers, "content-type"), "application/x-protobuf");
    assert_eq!(header(&headers, "x-log-apiversion"), "0.6.0");
    assert_eq!(header(&headers, "x-log-signaturemethod"), "hmac-sha1");
    assert_eq!(header(&headers, "x-log-compresstype"), "lz4");
    let md5 = format!("{:X}", Md5::digest(&request.body));
    assert_eq!(header(&headers, "content-md5"), md5);
    // The string to sign written out by hand from the API reference.
    let string_to_sign = format!(
        "POST\n{md5}\napplication/x-protobuf\nSat, 18 Apr 2020 05:30:41 GMT\nx-log-apiversion:0.6.0\nx-log-bodyrawsize:{}\nx-log-compresstype:lz4\nx-log-signaturemethod:hmac-sha1\n/logstores/k8s-event/shards/lb",
        header(&headers, "x-log-bodyrawsize")
    );
    assert_eq!(
        header(&headers, "authorization"),
        format!(
            "LOG {KEY_ID}:{}",
            hmac_sha1_base64(KEY_SECRET, &string_to_sign)
        )
    );
    assert_eq!(
        header(&headers, "authorization"),
        sls_expected_authorization(&headers, "/logstores/k8s-event/shards/lb")
    );

    let group = decode_sls_body(&headers, &request.body);
    assert_eq!(group.topic.as_deref(), Some("k8s-cluster-dev"));
    assert_eq!(group.source.as_deref(), Some(""));
    assert_eq!(group.logs.len(), 2);
    let pod = &group.logs[0];
    assert_eq!(
        pod.time, 1_587_187_800,
        "lastTimestamp 2020-04-18T05:30:00Z"
    );
    let keys: Vec<&str> = pod.contents.iter().map(|c| c.key.as_str()).collect();
    assert_eq!(
        keys,
        [
            "eventId",
            "hostname",
            "level",
            "pod_id",
            "pod_name",
            "ClusterId"
        ]
    );
    let values: Vec<&str> = pod.contents.iter().map(|c| c.value.as_str()).collect();
    assert_eq!(
        &values[1..],
        ["node-1", "Warning", "pod-uid-1", "web-0", "c1"]
    );
    // eventId: the Event as Go's MarshalIndent(event, "", " ") writes it.
    let event_json = values[0];
    assert!(event_json.starts_with("{\n \""), "{event_json}");
    assert!(event_json.contains("\n  \"kind\": \"Pod\""), "{event_json}");
    assert!(
        event_json.contains("restarting \\u003capp\\u003e \\u0026 co"),
        "{event_json}"
    );
    let parsed: serde_json::Value = serde_json::from_str(event_json).unwrap();
    assert_eq!(parsed, pod_event());
    let node = &group.logs[1];
    let keys: Vec<&str> = node.contents.iter().map(|c| c.key.as_str()).collect();
    assert_eq!(
        keys,
        ["eventId", "hostname", "level", "ClusterId"],
        "no pod fields"
    );
    assert_eq!(node.contents[2].value, "Normal");

    // Without compression the body is the LogGroup itself.
    let mut plain = sls_config("https://cn-hangzhou.log.aliyuncs.com");
    plain.compress = false;
    plain.access_key.security_token =
        Some(kec_eventer::sinks::alibaba::Sensitive::new("sts-token"));
    let request = plain
        .format_with_env(|_| None)
        .unwrap()
        .request(&batch, FIXED_MS)
        .unwrap();
    let headers = headers_of(&request);
    assert_eq!(header(&headers, "x-log-compresstype"), "");
    assert_eq!(header(&headers, "x-acs-security-token"), "sts-token");
    assert_eq!(
        header(&headers, "authorization"),
        sls_expected_authorization(&headers, "/logstores/k8s-event/shards/lb")
    );
    assert_eq!(decode_sls_body(&headers, &request.body).logs.len(), 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sls_delivers_through_quota_and_server_errors_with_valid_signatures() {
    let (url, fake) = start_fake(vec![
        (
            403,
            r#"{"errorCode":"WriteQuotaExceed","errorMessage":"quota"}"#,
        ),
        (
            500,
            r#"{"errorCode":"InternalServerError","errorMessage":"x"}"#,
        ),
        (503, r#"{"errorCode":"ServerBusy","errorMessage":"x"}"#),
    ])
    .await;
    let api = FakeApiServer::start(FakeApiServerConfig::default())
        .await
        .unwrap();
    let state_dir = tempfile::tempdir().unwrap();
    let eventer = start_eventer(&api, SinkConfig::Sls(sls_config(&url)), state_dir.path()).await;
    write_events(&api, 6);
    let stats = sink_stats(&eventer);
    wait_until("every log is accepted", || {
        stat(&stats.received) >= SEEDED + 6
            && fake.lock().unwrap().accepted.len() as u64 == stat(&stats.received)
    })
    .await;
    eventer.shutdown().await;
    let state = std::mem::take(&mut *fake.lock().unwrap());
    assert_eq!(
        state.bad_signatures, 0,
        "every request was signed correctly"
    );
    assert!(state.requests >= 4, "3 refusals then at least one success");
    assert_eq!(stat(&stats.retries), 3);
    assert_eq!(stat(&stats.delivered), SEEDED + 6);
    assert_eq!(stat(&stats.dropped), 0);
    let mut pods: Vec<String> = state
        .accepted
        .iter()
        .filter(|log| log["contents"].to_string().contains("\"pod_name\""))
        .map(|log| {
            assert_eq!(log["topic"], "k8s-cluster-dev");
            let pairs: Vec<(String, String)> =
                serde_json::from_value(log["contents"].clone()).unwrap();
            let contents: BTreeMap<String, String> = pairs.into_iter().collect();
            assert_eq!(contents["level"], "Warning");
            assert_eq!(contents["hostname"], "node-1");
            assert_eq!(contents["ClusterId"], "c1");
            contents["pod_name"].clone()
        })
        .collect();
    pods.sort();
    assert_eq!(
        pods,
        (0..6).map(|pod| format!("web-{pod}")).collect::<Vec<_>>()
    );
    api.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sls_does_not_retry_authentication_errors() {
    let refusal = r#"{"errorCode":"Unauthorized","errorMessage":"denied"}"#;
    let (url, fake) = start_fake(vec![(401, refusal); 50]).await;
    let api = FakeApiServer::start(FakeApiServerConfig::default())
        .await
        .unwrap();
    let state_dir = tempfile::tempdir().unwrap();
    let eventer = start_eventer(&api, SinkConfig::Sls(sls_config(&url)), state_dir.path()).await;
    write_events(&api, 3);
    let stats = sink_stats(&eventer);
    wait_until("every record is dropped", || {
        stat(&stats.received) >= SEEDED + 3 && stat(&stats.dropped) == stat(&stats.received)
    })
    .await;
    eventer.shutdown().await;
    let state = std::mem::take(&mut *fake.lock().unwrap());
    assert_eq!(stat(&stats.retries), 0);
    assert_eq!(stat(&stats.delivered), 0);
    let records = stat(&stats.received) as usize;
    assert!(
        (1..=records).contains(&state.requests),
        "one try per batch: {} requests for {records} records",
        state.requests
    );
    assert!(state.accepted.is_empty());
    api.shutdown().await;
}

// ---------------------------------------------------------------------------------------------
// EventBridge.

#[test]
fn eventbridge_request_has_the_sdk_headers_signature_and_cloud_events() {
    let format = eventbridge_config("http://127.0.0.1:9")
        .format_with_env(|_| None)
        .unwrap();
    let batch = vec![record(pod_event()), record(node_event())];
    let request = format.request(&batch, FIXED_MS).unwrap();
    assert_eq!(request.url, "http://127.0.0.1:9/openapi/putEvents");
    let headers = headers_of(&request);
    assert_eq!(
        header(&headers, "host"),
        "1234567890.eventbridge.cn-hangzhou-vpc.aliyuncs.com"
    );
    assert_eq!(header(&headers, "date"), "Sat, 18 Apr 2020 05:30:41 GMT");
    assert_eq!(
        header(&headers, "content-type"),
        "application/cloudevents-batch+json; charset=utf-8"
    );
    assert_eq!(header(&headers, "accept"), "application/json");
    assert_eq!(header(&headers, "x-eventbridge-version"), "2015-06-06");
    assert_eq!(header(&headers, "x-acs-signature-method"), "HMAC-SHA1");
    assert_eq!(header(&headers, "x-acs-signature-version"), "1.0");
    let nonce = header(&headers, "x-acs-signature-nonce");
    assert_eq!(nonce.len(), 36);
    let string_to_sign = format!(
        "POST\n\napplication/cloudevents-batch+json; charset=utf-8\nSat, 18 Apr 2020 05:30:41 GMT\nx-acs-signature-method:HMAC-SHA1\nx-acs-signature-nonce:{nonce}\nx-acs-signature-version:1.0\n/openapi/putEvents"
    );
    assert_eq!(
        header(&headers, "authorization"),
        format!(
            "acs:{KEY_ID}:{}",
            hmac_sha1_base64(KEY_SECRET, &string_to_sign)
        )
    );

    let events: Vec<serde_json::Value> = serde_json::from_slice(&request.body).unwrap();
    assert_eq!(events.len(), 2);
    assert_eq!(
        events[0],
        serde_json::json!({
            "id": "e-uid-1-42",
            "source": "acs.cs",
            "specversion": "1.0",
            "type": "cs:k8s:PodRelatedEvent",
            "datacontenttype": "application/json",
            "subject": "acs:cs:cn-hangzhou:1234567890:c1/apis/v1/namespaces/prod/pods/web-0",
            "time": "2020-04-18T05:30:00Z",
            "data": pod_event(),
            "aliyuneventbusname": "default",
        })
    );
    assert_eq!(events[1]["type"], "cs:k8s:NodeRelatedEvent");
    assert_eq!(
        events[1]["subject"],
        "acs:cs:cn-hangzhou:1234567890:c1/apis/v1/namespaces//nodes/node-1"
    );
    // A retry sends the same ids, with a fresh nonce.
    let again = format.request(&batch, FIXED_MS).unwrap();
    let again_events: Vec<serde_json::Value> = serde_json::from_slice(&again.body).unwrap();
    assert_eq!(again_events[0]["id"], events[0]["id"]);
    assert_ne!(header(&headers_of(&again), "x-acs-signature-nonce"), nonce);
    assert_eq!(format.max_batch(), 4, "kube-eventer's batch size");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn eventbridge_delivers_through_throttling_and_server_errors() {
    let (url, fake) = start_fake(vec![
        (429, r#"{"code":"TooManyRequests","message":"slow down","requestId":"r"}"#),
        (503, r#"{"code":"ServiceUnavailable","message":"x","requestId":"r"}"#),
        (
            200,
            r#"{"RequestId":"r","FailedEntryCount":1,"EntryList":[{"ErrorCode":"Throttling.User","ErrorMessage":"x"}]}"#,
        ),
    ])
    .await;
    let api = FakeApiServer::start(FakeApiServerConfig::default())
        .await
        .unwrap();
    let state_dir = tempfile::tempdir().unwrap();
    let sink = SinkConfig::EventBridge(eventbridge_config(&url));
    let eventer = start_eventer(&api, sink, state_dir.path()).await;
    write_events(&api, 6);
    let stats = sink_stats(&eventer);
    wait_until("every event is accepted", || {
        stat(&stats.received) >= SEEDED + 6
            && fake.lock().unwrap().accepted.len() as u64 == stat(&stats.received)
    })
    .await;
    eventer.shutdown().await;
    let state = std::mem::take(&mut *fake.lock().unwrap());
    assert_eq!(state.bad_signatures, 0);
    assert_eq!(stat(&stats.retries), 3);
    assert_eq!(stat(&stats.delivered), SEEDED + 6);
    assert_eq!(stat(&stats.dropped), 0);
    let pod_events: Vec<_> = state
        .accepted
        .iter()
        .filter(|event| event["data"]["involvedObject"]["kind"] == "Pod")
        .collect();
    assert_eq!(pod_events.len(), 6);
    for event in pod_events {
        assert_eq!(event["source"], "acs.cs");
        assert_eq!(event["type"], "cs:k8s:PodRelatedEvent");
        assert_eq!(event["data"]["involvedObject"]["kind"], "Pod");
        let name = event["data"]["involvedObject"]["name"].as_str().unwrap();
        assert_eq!(
            event["subject"],
            format!("acs:cs:cn-hangzhou:1234567890:c1/apis/v1/namespaces/prod/pods/{name}")
        );
    }
    api.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn eventbridge_does_not_retry_authentication_errors() {
    let refusal = r#"{"code":"SignatureDoesNotMatch","message":"no","requestId":"r"}"#;
    let (url, fake) = start_fake(vec![(403, refusal); 50]).await;
    let api = FakeApiServer::start(FakeApiServerConfig::default())
        .await
        .unwrap();
    let state_dir = tempfile::tempdir().unwrap();
    let sink = SinkConfig::EventBridge(eventbridge_config(&url));
    let eventer = start_eventer(&api, sink, state_dir.path()).await;
    write_events(&api, 2);
    let stats = sink_stats(&eventer);
    wait_until("every record is dropped", || {
        stat(&stats.received) >= SEEDED + 2 && stat(&stats.dropped) == stat(&stats.received)
    })
    .await;
    eventer.shutdown().await;
    assert_eq!(stat(&stats.retries), 0);
    assert_eq!(stat(&stats.delivered), 0);
    let requests = fake.lock().unwrap().requests as u64;
    let batches = stat(&stats.received).div_ceil(4);
    assert!(
        (batches..=stat(&stats.received)).contains(&requests),
        "one try per batch of at most 4: {requests}"
    );
    api.shutdown().await;
}

// ---------------------------------------------------------------------------------------------
// kube-eventer flags and secrets.

#[test]
fn kube_eventer_sls_flags_work_unchanged() {
    let flag = parse_sink_flag(
        "sls:https://cn-hangzhou.log.aliyuncs.com?project=my-sls-project&logStore=k8s_events&topic=k8s-cluster-dev&label=ClusterId,c1&label=RegionId,cn-hangzhou&accessKeyId=LTAIflagid&accessKeySecret=flagsecret",
    )
    .unwrap();
    let SinkConfig::Sls(config) = &flag.sink else {
        panic!("{:?}", flag.sink)
    };
    assert_eq!(config.endpoint, "https://cn-hangzhou.log.aliyuncs.com");
    assert_eq!(
        (config.project.as_str(), config.logstore.as_str()),
        ("my-sls-project", "k8s_events")
    );
    assert_eq!(config.topic, "k8s-cluster-dev");
    assert_eq!(config.labels.len(), 2);
    assert_eq!(flag.rule, None, "kube-eventer's sls sink takes every Event");
    let shown = format!("{:?} {}", flag, flag.sink.describe());
    assert!(
        !shown.contains("LTAIflagid") && !shown.contains("flagsecret"),
        "{shown}"
    );

    // No endpoint: the region's, over the intranet unless internal=false.
    let env = |name: &str| (name == "RegionId").then(|| "cn-beijing".to_string());
    let uri = SinkUri::parse("sls:?project=proj&logStore=store");
    let (sink, _) = sls::from_kube_eventer_with_env(&uri, env).unwrap();
    let SinkConfig::Sls(config) = sink else {
        panic!()
    };
    assert_eq!(
        config.endpoint,
        "https://cn-beijing-intranet.log.aliyuncs.com"
    );
    let uri =
        SinkUri::parse("sls:?project=proj&logStore=store&regionId=cn-hangzhou&internal=false");
    let (sink, _) = sls::from_kube_eventer_with_env(&uri, |_| None).unwrap();
    let SinkConfig::Sls(config) = sink else {
        panic!()
    };
    assert_eq!(config.endpoint, "https://cn-hangzhou.log.aliyuncs.com");

    let problems =
        parse_sink_flag("sls:https://x.log.aliyuncs.com?label=bad&accessKeyId=only&colour=red")
            .unwrap_err();
    assert_eq!(problems.len(), 5, "{problems:?}");
    assert!(
        problems.iter().all(|problem| !problem.contains("only")),
        "{problems:?}"
    );
}

#[test]
fn kube_eventer_eventbridge_flags_work_unchanged() {
    let env = |name: &str| match name {
        "OwnerAccountId" => Some("1234567890".to_string()),
        "RegionId" => Some("cn-hangzhou".to_string()),
        _ => None,
    };
    let uri = SinkUri::parse(
        "eventbridge:?clusterId=c1&accessKeyId=LTAIid&accessKeySecret=sec&eventBusName=my-bus&internal=false&level=Warning",
    );
    let (sink, _) = eventbridge::from_kube_eventer_with_env(&uri, env).unwrap();
    let SinkConfig::EventBridge(config) = sink else {
        panic!()
    };
    assert_eq!(config.cluster_id, "c1");
    assert_eq!(config.account_id, "1234567890");
    assert_eq!(config.region_id, "cn-hangzhou");
    assert_eq!(config.event_bus, "my-bus");
    assert!(!config.internal);
    assert_eq!(
        config.endpoint_url(),
        "https://1234567890.eventbridge.cn-hangzhou.aliyuncs.com"
    );
    assert_eq!(config.access_key, AccessKeyConfig::inline("LTAIid", "sec"));

    // A URL before `?` is ignored, as kube-eventer does.
    let uri = SinkUri::parse("eventbridge:https://ignored.example?clusterId=c1");
    let problems = eventbridge::from_kube_eventer_with_env(&uri, |_| None).unwrap_err();
    assert_eq!(problems.len(), 2, "region and account: {problems:?}");
}

#[test]
fn a_missing_access_key_is_a_clear_startup_error() {
    let mut config = sls_config("https://cn-hangzhou.log.aliyuncs.com");
    config.access_key = AccessKeyConfig::default();
    let error = config.format_with_env(|_| None).unwrap_err().to_string();
    assert!(error.contains("no AccessKey"), "{error}");
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("access-key-id"), KEY_ID).unwrap();
    std::fs::write(dir.path().join("access-key-secret"), KEY_SECRET).unwrap();
    config.access_key.secret_dir = Some(dir.path().to_path_buf());
    let format = config.format_with_env(|_| None).unwrap();
    let shown = format!("{format:?}");
    assert!(
        !shown.contains(KEY_ID) && !shown.contains(KEY_SECRET),
        "{shown}"
    );
    let request = format.request(&[record(pod_event())], FIXED_MS).unwrap();
    let headers = headers_of(&request);
    assert_eq!(
        header(&headers, "authorization"),
        sls_expected_authorization(&headers, "/logstores/k8s-event/shards/lb")
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_access_key_can_come_from_a_secret_read_through_the_api() {
    let (url, fake) = start_fake(Vec::new()).await;
    let api = FakeApiServer::start(FakeApiServerConfig::default())
        .await
        .unwrap();
    let encode = |text: &str| base64::engine::general_purpose::STANDARD.encode(text);
    let mut config = sls_config(&url);
    config.access_key = AccessKeyConfig {
        secret_ref: Some(kec_eventer::sinks::alibaba::SecretRef::default()),
        ..AccessKeyConfig::default()
    };

    // No Secret yet: the eventer does not start, and says which Secret it missed.
    let state_dir = tempfile::tempdir().unwrap();
    let source = KubernetesSourceConfig {
        connection: KubeConnection::Url {
            server_url: api.url(),
        },
        ..KubernetesSourceConfig::default()
    };
    let mut missing = EventerConfig::new(source, vec![SinkConfig::Sls(config.clone())]);
    missing.state_dir = state_dir.path().to_path_buf();
    let error = missing.build().await.unwrap_err().to_string();
    assert!(
        error.contains("Secret kube-system/alibaba-addon-secret does not exist"),
        "{error}"
    );

    api.handle()
        .apply_object(
            kec_testkit::ResourceKind::Secret,
            serde_json::json!({
                "apiVersion": "v1", "kind": "Secret",
                "metadata": {"name": "alibaba-addon-secret", "namespace": "kube-system"},
                "data": {"access-key-id": encode(KEY_ID), "access-key-secret": encode(KEY_SECRET)},
            }),
        )
        .unwrap();
    let eventer = start_eventer(&api, SinkConfig::Sls(config), state_dir.path()).await;
    write_events(&api, 2);
    let stats = sink_stats(&eventer);
    wait_until("every log is accepted", || {
        stat(&stats.received) >= SEEDED + 2
            && fake.lock().unwrap().accepted.len() as u64 == stat(&stats.received)
    })
    .await;
    eventer.shutdown().await;
    let state = std::mem::take(&mut *fake.lock().unwrap());
    assert!(state.requests >= 1);
    assert_eq!(
        state.bad_signatures, 0,
        "signed with the Secret's AccessKey"
    );
    api.shutdown().await;
}

#[test]
fn yaml_configs_read_with_defaults_and_refuse_unknown_fields() {
    let sink: SinkConfig = serde_saphyr::from_str(
        "type: sls\nendpoint: https://cn-hangzhou.log.aliyuncs.com\nproject: k8s-log\nlogstore: k8s-event\naccess_key: {secret_ref: {}}\n",
    )
    .unwrap();
    let SinkConfig::Sls(config) = &sink else {
        panic!("{sink:?}")
    };
    assert!(config.compress);
    assert_eq!(config.topic, "");
    let reference = config.access_key.secret_ref.clone().unwrap();
    assert_eq!(
        (reference.namespace.as_str(), reference.name.as_str()),
        ("kube-system", "alibaba-addon-secret")
    );
    assert!(
        sink.problems("sinks.sls").is_empty(),
        "{:?}",
        sink.problems("sinks.sls")
    );

    let sink: SinkConfig = serde_saphyr::from_str(
        "type: eventbridge\naccount_id: \"1234567890\"\nregion_id: cn-hangzhou\ncluster_id: c1\naccess_key: {secret_dir: /etc/kec/alibaba}\n",
    )
    .unwrap();
    let SinkConfig::EventBridge(config) = &sink else {
        panic!("{sink:?}")
    };
    assert_eq!(config.event_bus, "default");
    assert!(config.internal);
    assert_eq!(sink.kind(), "eventbridge");
    assert!(
        sink.problems("sinks.eb").is_empty(),
        "{:?}",
        sink.problems("sinks.eb")
    );

    assert!(
        serde_saphyr::from_str::<SinkConfig>(
            "type: sls\nendpoint: https://x\nproject: p\nlogstore: l\nshard: 1\n"
        )
        .is_err()
    );
    let both: SinkConfig = serde_saphyr::from_str(
        "type: eventbridge\naccount_id: \"1\"\nregion_id: r\ncluster_id: c\naccess_key: {id: a, secret: b, secret_ref: {}}\n",
    )
    .unwrap();
    let problems = both.problems("sinks.eb");
    assert_eq!(problems.len(), 1, "{problems:?}");
    assert!(problems[0].contains("give one of"), "{problems:?}");
}
