//! The chat sinks end to end: the eventer watches the fake API server and delivers to a local
//! receiver that checks the wire format the vendors document (signatures recomputed here from
//! the documented algorithms) and answers what the vendors answer, including their error codes,
//! so retries and final refusals are seen from the outside.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use base64::Engine;
use hmac::{Hmac, Mac};
use kec_eventer::kube_eventer::{parse_sink_flag, sinks_and_route};
use kec_eventer::metrics::SinkStats;
use kec_eventer::routing::RouteConfig;
use kec_eventer::sinks::HttpSinkConfig;
use kec_eventer::sinks::chat::TextOrMarkdown;
use kec_eventer::sinks::dingtalk::DingTalkSinkConfig;
use kec_eventer::sinks::lark::{LarkMsgType, LarkSinkConfig};
use kec_eventer::sinks::slack::SlackSinkConfig;
use kec_eventer::sinks::teams::TeamsSinkConfig;
use kec_eventer::sinks::wechat::{WeChatAppConfig, WeChatSinkConfig};
use kec_eventer::{
    BackoffConfig, EventerConfig, EventerStats, KubeConnection, KubernetesSourceConfig, SinkConfig,
};
use kec_testkit::config::ClockMode;
use kec_testkit::{FakeApiServer, FakeApiServerConfig, InvolvedObject, Recorded};
use serde_json::{Value, json};
use sha2::Sha256;

const DEADLINE: Duration = Duration::from_secs(20);
/// The fake API server's clock: every Event it writes happened at this time.
const CLOCK_START: &str = "2024-05-01T10:00:00Z";

// ---------------------------------------------------------------- the receiver

/// One request the receiver got.
#[derive(Debug, Clone)]
struct Received {
    method: Method,
    path: String,
    query: Vec<(String, String)>,
    raw_query: String,
    headers: HeaderMap,
    body: Bytes,
}

impl Received {
    fn json(&self) -> Value {
        serde_json::from_slice(&self.body).unwrap()
    }

    fn param(&self, name: &str) -> Option<&str> {
        self.query
            .iter()
            .find(|(key, _)| key == name)
            .map(|(_, value)| value.as_str())
    }
}

/// What the receiver answers.
#[derive(Debug, Clone)]
struct Answer {
    status: u16,
    body: String,
    retry_after: Option<&'static str>,
}

fn answer(status: u16, body: &str) -> Answer {
    Answer {
        status,
        body: body.to_string(),
        retry_after: None,
    }
}

#[derive(Clone)]
struct Shared {
    requests: Arc<Mutex<Vec<Received>>>,
    /// Answers to the next requests, in order; then `usual`.
    script: Arc<Mutex<VecDeque<Answer>>>,
    usual: Answer,
}

struct Receiver {
    url: String,
    shared: Shared,
    server: tokio::task::JoinHandle<()>,
}

async fn receive(
    State(shared): State<Shared>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let raw_query = uri.query().unwrap_or_default().to_string();
    let query = reqwest::Url::parse(&format!("http://receiver.invalid/?{raw_query}"))
        .unwrap()
        .query_pairs()
        .into_owned()
        .collect();
    shared.requests.lock().unwrap().push(Received {
        method,
        path: uri.path().to_string(),
        query,
        raw_query,
        headers,
        body,
    });
    let answer = shared
        .script
        .lock()
        .unwrap()
        .pop_front()
        .unwrap_or_else(|| shared.usual.clone());
    let mut response = (StatusCode::from_u16(answer.status).unwrap(), answer.body).into_response();
    if let Some(seconds) = answer.retry_after {
        response
            .headers_mut()
            .insert("retry-after", seconds.parse().unwrap());
    }
    response
}

impl Receiver {
    async fn start(usual: Answer, script: Vec<Answer>) -> Receiver {
        let shared = Shared {
            requests: Arc::default(),
            script: Arc::new(Mutex::new(script.into())),
            usual,
        };
        let app = axum::Router::new()
            .fallback(receive)
            .with_state(shared.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        let server = tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        Receiver {
            url,
            shared,
            server,
        }
    }

    fn requests(&self) -> Vec<Received> {
        self.shared.requests.lock().unwrap().clone()
    }
}

impl Drop for Receiver {
    fn drop(&mut self) {
        self.server.abort();
    }
}

// ---------------------------------------------------------------- the eventer

/// One Event the test writes through the fake API server.
struct Write {
    object: InvolvedObject,
    event_type: &'static str,
    reason: &'static str,
    message: &'static str,
}

fn backoff_pod(name: &str) -> Write {
    Write {
        object: InvolvedObject::pod("shop", name),
        event_type: "Warning",
        reason: "BackOff",
        message: "Back-off restarting failed container app",
    }
}

fn scheduled_pod(name: &str) -> Write {
    Write {
        object: InvolvedObject::pod("shop", name),
        event_type: "Normal",
        reason: "Scheduled",
        message: "Successfully assigned shop/web-1 to node-1",
    }
}

/// What one run did: the sink's counters after shutdown and the names of the Events written.
struct Outcome {
    delivered: u64,
    dropped: u64,
    retries: u64,
    event_names: Vec<String>,
}

fn fast_delivery() -> kec_eventer::sinks::http::DeliveryConfig {
    kec_eventer::sinks::http::DeliveryConfig {
        max_attempts: 4,
        timeout_ms: 5_000,
        backoff: BackoffConfig {
            initial_ms: 20,
            max_ms: 100,
        },
        ..Default::default()
    }
}

/// Runs the eventer with `sinks` (and `route`), writes `writes`, waits until the one sink has
/// settled `settled` records (delivered + dropped), shuts down and reports.
async fn run(
    sinks: std::collections::BTreeMap<String, SinkConfig>,
    route: Option<RouteConfig>,
    writes: Vec<Write>,
    settled: u64,
) -> Outcome {
    let api = FakeApiServer::start(FakeApiServerConfig {
        clock: ClockMode::Manual {
            start: CLOCK_START.parse().unwrap(),
        },
        ..FakeApiServerConfig::default()
    })
    .await
    .unwrap();
    let handle = api.handle();
    let state_dir = tempfile::tempdir().unwrap();
    let source = KubernetesSourceConfig {
        connection: KubeConnection::Url {
            server_url: api.url(),
        },
        // Only the test's Events: the fake cluster's own (node registrations) stay out.
        namespaces: vec!["shop".to_string()],
        watch_timeout_secs: 2,
        backoff: BackoffConfig {
            initial_ms: 20,
            max_ms: 200,
        },
        ..KubernetesSourceConfig::default()
    };
    let mut config = EventerConfig::new(source, Vec::new());
    config.sinks = sinks;
    config.route = route;
    config.state_dir = state_dir.path().to_path_buf();
    config.flush_timeout_ms = 2_000;
    let eventer = config.build().await.unwrap();
    let recorder = handle.event_recorder("kubelet", "node-1");
    let mut event_names = Vec::new();
    for write in &writes {
        let recorded = recorder
            .record(&write.object, write.event_type, write.reason, write.message)
            .unwrap();
        let (Recorded::Created { name, .. }
        | Recorded::Patched { name, .. }
        | Recorded::Recreated { name, .. }) = recorded;
        event_names.push(name);
    }
    let stats: Vec<Arc<SinkStats>> = eventer.sink_stats();
    let sink = stats.first().unwrap().clone();
    let deadline = Instant::now() + DEADLINE;
    loop {
        let done = EventerStats::value(&sink.delivered) + EventerStats::value(&sink.dropped);
        if done >= settled {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "timed out: {done} of {settled} records settled"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    // Anything more that was going to arrive would have by now.
    tokio::time::sleep(Duration::from_millis(200)).await;
    eventer.shutdown().await;
    api.shutdown().await;
    Outcome {
        delivered: EventerStats::value(&sink.delivered),
        dropped: EventerStats::value(&sink.dropped),
        retries: EventerStats::value(&sink.retries),
        event_names,
    }
}

async fn run_one(sink: SinkConfig, writes: Vec<Write>, settled: u64) -> Outcome {
    run(
        kec_eventer::config::name_sinks(vec![sink]),
        None,
        writes,
        settled,
    )
    .await
}

fn hmac_base64(key: &[u8], message: &[u8]) -> String {
    let mut mac = Hmac::<Sha256>::new_from_slice(key).unwrap();
    mac.update(message);
    base64::engine::general_purpose::STANDARD.encode(mac.finalize().into_bytes())
}

fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis() as i64
}

/// kube-eventer's text of a Warning BackOff about pod shop/web-1 (Event `name`).
fn kube_eventer_text(name: &str, timestamp: &str) -> String {
    format!(
        "Level:Warning \nKind:Pod \nNamespace:shop \nName:{name} \nReason:BackOff \
         \nTimestamp:{timestamp} \nMessage:Back-off restarting failed container app"
    )
}

// ---------------------------------------------------------------- dingtalk

const DING_OK: &str = r#"{"errcode":0,"errmsg":"ok"}"#;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dingtalk_signed_text_is_what_dingtalk_documents_and_kube_eventer_sends() {
    let receiver = Receiver::start(answer(200, DING_OK), Vec::new()).await;
    let secret = "SEC0123456789abcdef";
    let mut config =
        DingTalkSinkConfig::new(format!("{}/robot/send?access_token=t0k3n", receiver.url));
    config.secret = Some(secret.into());
    config.labels = vec!["cluster-a".into()];
    config.delivery = fast_delivery();
    let before = now_ms();
    let outcome = run_one(SinkConfig::DingTalk(config), vec![backoff_pod("web-1")], 1).await;
    assert_eq!(
        (outcome.delivered, outcome.dropped, outcome.retries),
        (1, 0, 0)
    );
    let requests = receiver.requests();
    assert_eq!(requests.len(), 1);
    let request = &requests[0];
    assert_eq!(request.method, Method::POST);
    assert_eq!(request.path, "/robot/send");
    assert_eq!(
        request.headers["content-type"],
        "application/json;charset=utf-8"
    );
    // https://open.dingtalk.com/document/robots/customize-robot-security-settings:
    // sign = urlEncode(base64(HmacSHA256(key = secret, timestamp + "\n" + secret))), ms.
    assert_eq!(request.param("access_token"), Some("t0k3n"));
    let timestamp: i64 = request.param("timestamp").unwrap().parse().unwrap();
    assert!(timestamp >= before && timestamp <= now_ms(), "{timestamp}");
    let sign = hmac_base64(
        secret.as_bytes(),
        format!("{timestamp}\n{secret}").as_bytes(),
    );
    assert_eq!(request.param("sign"), Some(sign.as_str()));
    let raw_sign = request
        .raw_query
        .split("sign=")
        .nth(1)
        .unwrap()
        .split('&')
        .next()
        .unwrap();
    assert_eq!(
        raw_sign,
        sign.replace('+', "%2B")
            .replace('/', "%2F")
            .replace('=', "%3D"),
        "the sign is URL-encoded"
    );
    assert_eq!(
        request.json(),
        json!({"msgtype": "text", "text": {"content": format!(
            "cluster-a\n{}",
            kube_eventer_text(&outcome.event_names[0], "2024-05-01 10:00:00")
        )}})
    );
}

#[test]
fn dingtalk_and_lark_signatures_at_a_fixed_time_match_the_documented_algorithms() {
    let record = Arc::new(kec_model_record());
    // DingTalk at 1700000000000 ms (value computed outside kec with Python's hmac module).
    let mut ding = DingTalkSinkConfig::new("https://oapi.dingtalk.com/robot/send?access_token=t");
    ding.secret = Some("SEC0123456789abcdef".into());
    let request = ding
        .format()
        .unwrap()
        .request(std::slice::from_ref(&record), 1_700_000_000_000)
        .unwrap();
    assert_eq!(
        request.url,
        "https://oapi.dingtalk.com/robot/send?access_token=t&timestamp=1700000000000\
         &sign=TSZbRFUuvaSQaRKUpF970OPCb2%2FLcQAP3wOvwZIzBZk%3D"
    );
    // Feishu at 1700000000 s: HmacSHA256(key = timestamp + "\n" + secret, message = "").
    let mut lark = LarkSinkConfig::new("https://open.feishu.cn/open-apis/bot/v2/hook/x");
    lark.secret = Some("lark-secret".into());
    let request = lark
        .format()
        .unwrap()
        .request(&[record], 1_700_000_000_500)
        .unwrap();
    let body: Value = serde_json::from_slice(&request.body).unwrap();
    assert_eq!(body["timestamp"], "1700000000");
    assert_eq!(body["sign"], "3K5KZdokND8ZKOA4MeLzCyzrEdEQGLkyTnklgWvOFGY=");
}

fn kec_model_record() -> kec_model::EventRecord {
    let raw = json!({
        "metadata": {"name": "web-1.1", "namespace": "shop", "uid": "u1", "resourceVersion": "1"},
        "involvedObject": {"kind": "Pod", "namespace": "shop", "name": "web-1"},
        "reason": "BackOff", "message": "m", "type": "Warning", "count": 1,
        "lastTimestamp": CLOCK_START,
    });
    match kec_model::parse_value(raw, "test", 0).unwrap() {
        kec_model::ParsedLine::Observation(observation) => observation.record,
        _ => panic!("not an observation"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dingtalk_retries_send_too_fast_and_gives_up_on_a_bad_token() {
    let too_fast = answer(
        200,
        r#"{"errcode":130101,"errmsg":"send too fast, exceed 20 times per minute"}"#,
    );
    let receiver = Receiver::start(
        answer(200, DING_OK),
        vec![
            too_fast,
            answer(503, "busy"),
            answer(200, DING_OK),
            answer(200, r#"{"errcode":300001,"errmsg":"token is not exist"}"#),
        ],
    )
    .await;
    let mut config = DingTalkSinkConfig::new(format!("{}/robot/send?access_token=t", receiver.url));
    config.delivery = fast_delivery();
    let outcome = run_one(
        SinkConfig::DingTalk(config),
        vec![backoff_pod("web-1"), backoff_pod("web-2")],
        2,
    )
    .await;
    // web-1: 130101, 503, ok; web-2: 300001 once, never again.
    assert_eq!(
        (outcome.delivered, outcome.dropped, outcome.retries),
        (1, 1, 2)
    );
    assert_eq!(receiver.requests().len(), 4);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dingtalk_kube_eventer_flag_sends_markdown_and_only_warnings_by_default() {
    let receiver = Receiver::start(answer(200, DING_OK), Vec::new()).await;
    let flag = format!(
        "dingtalk:{}/robot/send?access_token=t&label=c-1&msg_type=markdown&cluster_id=c9&region=cn-hangzhou",
        receiver.url
    );
    let mut flag = parse_sink_flag(&flag).unwrap();
    if let SinkConfig::DingTalk(config) = &mut flag.sink {
        config.delivery = fast_delivery();
    }
    let (sinks, route) = sinks_and_route(vec![flag]);
    assert_eq!(sinks.keys().collect::<Vec<_>>(), vec!["dingtalk"]);
    let outcome = run(
        sinks,
        Some(route),
        vec![scheduled_pod("web-1"), backoff_pod("web-1")],
        1,
    )
    .await;
    assert_eq!(outcome.delivered, 1);
    let requests = receiver.requests();
    assert_eq!(requests.len(), 1, "the Normal Event is filtered out");
    let body = requests[0].json();
    assert_eq!(body["msgtype"], "markdown");
    assert_eq!(body["markdown"]["title"], "Kubernetes(ID:c9) Event");
    let name = &outcome.event_names[1];
    let object = name.split('.').next().unwrap();
    assert_eq!(
        body["markdown"]["text"],
        format!(
            "label[0]: **c-1**\n\nNode: **node-1** \n\nLevel: **Warning** \n\nKind: **Pod** \n\n\
             Namespace: [shop](https://cs.console.aliyun.com/#/k8s/namespace) \n\n\
             Name: [{name}](https://cs.console.aliyun.com/#/k8s/pod/c9/shop/{object}/container) \n\n\
             Reason: **BackOff** \n\nTimestamp: **2024-05-01 10:00:00 +0000 UTC** \n\n\
             Message: **Back-off restarting failed container app**"
        )
    );
}

// ---------------------------------------------------------------- wechat

const WECOM_OK: &str = r#"{"errcode":0,"errmsg":"ok"}"#;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn wechat_robot_gets_kube_eventers_text_and_retries_the_frequency_limit() {
    let receiver = Receiver::start(
        answer(200, WECOM_OK),
        vec![answer(
            200,
            r#"{"errcode":45009,"errmsg":"api freq out of limit"}"#,
        )],
    )
    .await;
    let mut config =
        WeChatSinkConfig::robot(format!("{}/cgi-bin/webhook/send?key=k3y", receiver.url));
    config.delivery = fast_delivery();
    let outcome = run_one(SinkConfig::WeChat(config), vec![backoff_pod("web-1")], 1).await;
    assert_eq!((outcome.delivered, outcome.retries), (1, 1));
    let requests = receiver.requests();
    assert_eq!(requests.len(), 2);
    for request in &requests {
        assert_eq!(request.path, "/cgi-bin/webhook/send");
        assert_eq!(request.param("key"), Some("k3y"));
        assert_eq!(request.headers["content-type"], "application/json");
        assert_eq!(
            request.json(),
            json!({"msgtype": "text", "text": {"content": kube_eventer_text(
                &outcome.event_names[0],
                "2024-05-01 10:00:00 +0000 UTC"
            )}})
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn wechat_application_fetches_a_token_once_and_again_when_it_expires() {
    let token = |value: &str| {
        answer(
            200,
            &format!(r#"{{"errcode":0,"errmsg":"ok","access_token":"{value}","expires_in":7200}}"#),
        )
    };
    let receiver = Receiver::start(
        answer(200, WECOM_OK),
        vec![
            token("AT1"),
            answer(200, WECOM_OK),
            answer(200, r#"{"errcode":42001,"errmsg":"access_token expired"}"#),
            token("AT2"),
            answer(200, WECOM_OK),
        ],
    )
    .await;
    let mut config = WeChatSinkConfig::app(WeChatAppConfig {
        corp_id: "ww1".into(),
        corp_secret: "s3cret".into(),
        agent_id: 1_000_012,
        to_user: vec!["zhangsan".into(), "lisi".into()],
        to_party: Vec::new(),
        to_tag: Vec::new(),
        api_url: receiver.url.clone(),
    });
    config.labels = vec!["c-1".into()];
    config.delivery = fast_delivery();
    let outcome = run_one(
        SinkConfig::WeChat(config),
        vec![backoff_pod("web-1"), backoff_pod("web-2")],
        2,
    )
    .await;
    assert_eq!((outcome.delivered, outcome.dropped), (2, 0));
    let requests = receiver.requests();
    let calls: Vec<(String, String)> = requests
        .iter()
        .map(|request| (request.path.clone(), request.raw_query.clone()))
        .collect();
    assert_eq!(
        calls,
        [
            ("/cgi-bin/gettoken", "corpid=ww1&corpsecret=s3cret"),
            ("/cgi-bin/message/send", "access_token=AT1"),
            ("/cgi-bin/message/send", "access_token=AT1"),
            ("/cgi-bin/gettoken", "corpid=ww1&corpsecret=s3cret"),
            ("/cgi-bin/message/send", "access_token=AT2"),
        ]
        .map(|(path, query)| (path.to_string(), query.to_string()))
    );
    assert_eq!(requests[0].method, Method::GET);
    assert_eq!(
        requests[1].json(),
        json!({
            "touser": "zhangsan|lisi", "toparty": "", "totag": "", "msgtype": "text",
            "agentid": 1_000_012, "safe": 0,
            "text": {"content": format!(
                "c-1\n{}",
                kube_eventer_text(&outcome.event_names[0], "2024-05-01 10:00:00 +0000 UTC")
            )},
        })
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn wechat_kube_eventer_flag_with_a_wrong_secret_is_refused_without_retrying() {
    let flag = parse_sink_flag("wechat:?corp_id=ww1&corp_secret=bad&agent_id=7&to_user=").unwrap();
    let SinkConfig::WeChat(mut config) = flag.sink else {
        panic!("not wechat")
    };
    let receiver = Receiver::start(
        answer(200, r#"{"errcode":40001,"errmsg":"invalid credential"}"#),
        Vec::new(),
    )
    .await;
    config.app.as_mut().unwrap().api_url = receiver.url.clone();
    config.delivery = fast_delivery();
    assert_eq!(config.app.as_ref().unwrap().to_user, vec!["@all"]);
    let outcome = run_one(SinkConfig::WeChat(config), vec![backoff_pod("web-1")], 1).await;
    assert_eq!(
        (outcome.delivered, outcome.dropped, outcome.retries),
        (0, 1, 0)
    );
    assert_eq!(receiver.requests().len(), 1);
}

// ---------------------------------------------------------------- lark

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn lark_signed_card_and_its_error_codes() {
    let receiver = Receiver::start(
        answer(200, r#"{"code":0,"data":{},"msg":"success"}"#),
        vec![
            answer(200, r#"{"code":11232,"data":{},"msg":"frequency limited psm[lark.oapi.app_platform_runtime]appID[1]"}"#),
            answer(200, r#"{"code":0,"data":{},"msg":"success"}"#),
            answer(200, r#"{"code":19021,"data":{},"msg":"sign match fail or timestamp is not within one hour from current time"}"#),
        ],
    )
    .await;
    let secret = "lark-secret";
    let mut config = LarkSinkConfig::new(format!("{}/open-apis/bot/v2/hook/abc", receiver.url));
    config.secret = Some(secret.into());
    config.delivery = fast_delivery();
    let before_secs = now_ms() / 1000;
    let outcome = run_one(
        SinkConfig::Lark(config),
        vec![backoff_pod("web-1"), scheduled_pod("web-2")],
        2,
    )
    .await;
    assert_eq!(
        (outcome.delivered, outcome.dropped, outcome.retries),
        (1, 1, 1)
    );
    let requests = receiver.requests();
    assert_eq!(requests.len(), 3);
    for request in &requests {
        assert_eq!(request.path, "/open-apis/bot/v2/hook/abc");
        let body = request.json();
        // https://open.feishu.cn/document/client-docs/bot-v3/add-custom-bot: seconds, as a
        // string; sign = base64(HmacSHA256(key = timestamp + "\n" + secret, "")).
        let timestamp: i64 = body["timestamp"].as_str().unwrap().parse().unwrap();
        assert!(timestamp >= before_secs && timestamp <= now_ms() / 1000);
        assert_eq!(
            body["sign"],
            hmac_base64(format!("{timestamp}\n{secret}").as_bytes(), b"")
        );
        assert_eq!(body["msg_type"], "interactive");
    }
    let card = &requests[0].json()["card"];
    assert_eq!(card["header"]["template"], "red");
    assert_eq!(
        card["header"]["title"],
        json!({"tag": "plain_text", "content": "Warning BackOff: Pod shop/web-1"})
    );
    assert_eq!(
        card["elements"][0]["text"]["content"],
        "Back-off restarting failed container app"
    );
    assert_eq!(requests[2].json()["card"]["header"]["template"], "blue");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn lark_text_messages_for_older_bots_answering_status_code() {
    let receiver = Receiver::start(
        answer(
            200,
            r#"{"Extra":null,"StatusCode":0,"StatusMessage":"success"}"#,
        ),
        Vec::new(),
    )
    .await;
    let mut config = LarkSinkConfig::new(format!("{}/open-apis/bot/v2/hook/abc", receiver.url));
    config.msg_type = LarkMsgType::Text;
    config.delivery = fast_delivery();
    let outcome = run_one(SinkConfig::Lark(config), vec![backoff_pod("web-1")], 1).await;
    assert_eq!(outcome.delivered, 1);
    let body = receiver.requests()[0].json();
    assert!(body.get("sign").is_none());
    assert_eq!(body["msg_type"], "text");
    let text = body["content"]["text"].as_str().unwrap();
    assert!(
        text.starts_with(
            "Warning BackOff: Pod shop/web-1\nBack-off restarting failed container app\n"
        ),
        "{text}"
    );
    assert!(text.contains("\nTime: 2024-05-01T10:00:00Z"), "{text}");
}

// ---------------------------------------------------------------- slack

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn slack_block_kit_message_honours_retry_after_and_drops_on_no_service() {
    let receiver = Receiver::start(
        answer(200, "ok"),
        vec![
            Answer {
                status: 429,
                body: "rate_limited".into(),
                retry_after: Some("1"),
            },
            answer(200, "ok"),
            answer(404, "no_service"),
        ],
    )
    .await;
    let mut config = SlackSinkConfig::new(format!("{}/services/T0/B0/x", receiver.url));
    config.delivery = fast_delivery();
    let outcome = run_one(
        SinkConfig::Slack(config),
        vec![backoff_pod("web-1"), backoff_pod("web-2")],
        2,
    )
    .await;
    assert_eq!(
        (outcome.delivered, outcome.dropped, outcome.retries),
        (1, 1, 1)
    );
    let requests = receiver.requests();
    assert_eq!(requests.len(), 3);
    // The 429 said one second; the shared backoff alone would have waited 20 ms at most.
    // (Arrival times are not recorded; the retry count and the order prove the retry.)
    assert_eq!(requests[0].body, requests[1].body);
    let body = requests[0].json();
    assert_eq!(
        body["text"],
        ":warning: Warning BackOff: Pod shop/web-1: Back-off restarting failed container app"
    );
    let blocks = body["blocks"].as_array().unwrap();
    assert_eq!(
        blocks
            .iter()
            .map(|block| block["type"].as_str().unwrap())
            .collect::<Vec<_>>(),
        ["header", "section", "context"]
    );
    assert_eq!(blocks[0]["text"]["type"], "plain_text");
    assert_eq!(
        blocks[1]["text"],
        json!({"type": "mrkdwn", "text": "Back-off restarting failed container app"})
    );
    assert!(
        blocks[1]["fields"]
            .as_array()
            .unwrap()
            .contains(&json!({"type": "mrkdwn", "text": "*Reason*\nBackOff"}))
    );
    assert_eq!(
        blocks[2]["elements"][0]["text"],
        "Warning event · 2024-05-01T10:00:00Z"
    );
}

// ---------------------------------------------------------------- teams

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn teams_adaptive_card_in_a_message_and_5xx_retried() {
    let receiver = Receiver::start(answer(202, ""), vec![answer(500, "oops")]).await;
    let mut config = TeamsSinkConfig::new(format!(
        "{}/workflows/abc/triggers/manual/paths/invoke",
        receiver.url
    ));
    config.delivery = fast_delivery();
    let outcome = run_one(SinkConfig::Teams(config), vec![scheduled_pod("web-1")], 1).await;
    assert_eq!((outcome.delivered, outcome.retries), (1, 1));
    let requests = receiver.requests();
    assert_eq!(requests.len(), 2);
    let body = requests[1].json();
    assert_eq!(body["type"], "message");
    let attachments = body["attachments"].as_array().unwrap();
    assert_eq!(attachments.len(), 1);
    assert_eq!(
        attachments[0]["contentType"],
        "application/vnd.microsoft.card.adaptive"
    );
    let card = &attachments[0]["content"];
    assert_eq!(card["type"], "AdaptiveCard");
    assert_eq!(
        card["$schema"],
        "http://adaptivecards.io/schemas/adaptive-card.json"
    );
    assert_eq!(card["body"][0]["text"], "Normal Scheduled: Pod shop/web-1");
    assert_eq!(card["body"][0]["color"], "Default");
    let facts = card["body"][2]["facts"].as_array().unwrap();
    assert!(
        facts.contains(&json!({"title": "Kind", "value": "Pod"})),
        "{facts:?}"
    );
    assert!(
        facts.contains(&json!({"title": "Reason", "value": "Scheduled"})),
        "{facts:?}"
    );
}

// ---------------------------------------------------------------- config

#[test]
fn chat_sinks_read_from_yaml_and_refuse_unknown_fields() {
    let config = EventerConfig::from_yaml(
        r#"
sinks:
  ops-ding:
    type: dingtalk
    webhook_url: https://oapi.dingtalk.com/robot/send?access_token=abc
    secret: SECabc
    msg_type: markdown
    labels: [prod]
  wecom:
    type: wechat
    webhook_url: https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=k
  feishu:
    type: lark
    webhook_url: https://open.feishu.cn/open-apis/bot/v2/hook/x
    msg_type: post
  slack:
    type: slack
    webhook_url: https://hooks.slack.com/services/T/B/x
    rate_limit: {per_minute: 5, burst: 5}
  teams:
    type: teams
    webhook_url: https://example.webhook.office.com/webhookb2/x
"#,
    )
    .unwrap();
    let SinkConfig::DingTalk(ding) = &config.sinks["ops-ding"] else {
        panic!("not dingtalk")
    };
    assert_eq!(ding.msg_type, TextOrMarkdown::Markdown);
    assert_eq!(
        ding.rate_limit,
        kec_eventer::ratelimit::RateLimitConfig::chat()
    );
    let SinkConfig::Slack(slack) = &config.sinks["slack"] else {
        panic!("not slack")
    };
    assert_eq!(slack.rate_limit.per_minute, 5);
    assert_eq!(config.sinks["feishu"].kind(), "lark");
    assert!(
        config.sinks["wecom"]
            .describe()
            .contains("qyapi.weixin.qq.com")
    );
    assert!(!config.sinks["wecom"].describe().contains("key=k"));
    assert!(
        EventerConfig::from_yaml(
            "sinks:\n  s:\n    type: slack\n    webhook_url: https://h/x\n    channel: '#ops'\n"
        )
        .is_err()
    );
    let problems = EventerConfig::from_yaml("sinks:\n  d:\n    type: dingtalk\n    webhook_url: oapi.dingtalk.com/robot/send?access_token=SECRET\n")
        .unwrap_err()
        .to_string();
    assert!(problems.contains("webhook_url"), "{problems}");
    assert!(!problems.contains("SECRET"), "{problems}");
}
