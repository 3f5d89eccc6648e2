//! `dingtalk`: a DingTalk group's custom robot (自定义机器人). One message per Event, text or
//! markdown, as kube-eventer's dingtalk sink writes them; signed when the robot's security
//! setting is "sign" (加签): `timestamp` (ms) and `sign` =
//! base64(HMAC-SHA256(key = secret, timestamp + "\n" + secret)) in the query.
//! The robot answers 200 with `errcode`: 0 delivered, 130101 (more than 20 a minute) and -1
//! (busy) retried, anything else (bad token, bad signature, missing keyword) final.

use std::sync::Arc;

use kec_model::EventRecord;
use serde::{Deserialize, Serialize};
use serde_json::json;

use crate::kube_eventer::{Level, SinkFromFlag, SinkUri, flag_sink};
use crate::ratelimit::RateLimitConfig;
use crate::sinks::chat::{
    CodedAnswer, GoTimeLayout, TextOrMarkdown, go_time, hmac_sha256_base64, kube_eventer_text,
    secret_url_problem, url_host,
};
use crate::sinks::http::{DeliveryConfig, Format, HttpRequest, Verdict};
use crate::sinks::{HttpSinkConfig, SinkConfig};

/// A DingTalk custom robot.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DingTalkSinkConfig {
    /// The robot's webhook, with its token:
    /// `https://oapi.dingtalk.com/robot/send?access_token=...`. A secret: never logged.
    pub webhook_url: String,
    /// The signing secret (`SEC...`) when the robot's security setting is "sign" (加签).
    #[serde(default)]
    pub secret: Option<String>,
    /// `text` (default) or `markdown`.
    #[serde(default)]
    pub msg_type: TextOrMarkdown,
    /// Lines put above each message, e.g. the cluster's name (kube-eventer's `label`).
    #[serde(default)]
    pub labels: Vec<String>,
    /// Markdown only: the Alibaba Cloud ACK cluster id, for the console links kube-eventer adds.
    #[serde(default)]
    pub cluster_id: String,
    /// Markdown only: the Alibaba Cloud region (`cn-hangzhou`), for the same links.
    #[serde(default)]
    pub region: String,
    /// Mobile numbers of group members to @mention.
    #[serde(default)]
    pub at_mobiles: Vec<String>,
    /// @mention everyone in the group.
    #[serde(default)]
    pub at_all: bool,
    /// Queue, timeout, retries.
    #[serde(default)]
    pub delivery: DeliveryConfig,
    /// Messages per minute and per object (DingTalk accepts 20 a minute per robot).
    #[serde(default = "RateLimitConfig::chat")]
    pub rate_limit: RateLimitConfig,
}

impl DingTalkSinkConfig {
    /// A text robot at `webhook_url` with the chat defaults.
    pub fn new(webhook_url: impl Into<String>) -> DingTalkSinkConfig {
        DingTalkSinkConfig {
            webhook_url: webhook_url.into(),
            secret: None,
            msg_type: TextOrMarkdown::Text,
            labels: Vec::new(),
            cluster_id: String::new(),
            region: String::new(),
            at_mobiles: Vec::new(),
            at_all: false,
            delivery: DeliveryConfig::default(),
            rate_limit: RateLimitConfig::chat(),
        }
    }
}

impl HttpSinkConfig for DingTalkSinkConfig {
    fn kind(&self) -> &'static str {
        "dingtalk"
    }

    fn describe(&self) -> String {
        format!("dingtalk robot at {}", url_host(&self.webhook_url))
    }

    fn problems(&self, field: &str) -> Vec<String> {
        let mut problems = Vec::new();
        if let Some(problem) =
            secret_url_problem(&format!("{field}.webhook_url"), &self.webhook_url)
        {
            problems.push(problem);
        } else if !has_query_param(&self.webhook_url, "access_token") {
            problems.push(format!(
                "{field}.webhook_url has no access_token parameter (copy the robot's whole webhook)"
            ));
        }
        if self.secret.as_deref().is_some_and(str::is_empty) {
            problems.push(format!(
                "{field}.secret is empty (leave it out when the robot does not sign)"
            ));
        }
        problems
    }

    fn format(&self) -> crate::Result<Arc<dyn Format>> {
        Ok(Arc::new(DingTalkFormat {
            config: self.clone(),
        }))
    }

    fn delivery(&self) -> &DeliveryConfig {
        &self.delivery
    }

    fn rate_limit(&self) -> &RateLimitConfig {
        &self.rate_limit
    }
}

/// True when `url`'s query has `name`.
pub(crate) fn has_query_param(url: &str, name: &str) -> bool {
    reqwest::Url::parse(url)
        .map(|parsed| {
            parsed
                .query_pairs()
                .any(|(key, value)| key == name && !value.is_empty())
        })
        .unwrap_or(false)
}

/// The DingTalk robot signature of `timestamp_ms` (the `sign` parameter before URL encoding).
pub fn dingtalk_sign(timestamp_ms: i64, secret: &str) -> String {
    hmac_sha256_base64(
        secret.as_bytes(),
        format!("{timestamp_ms}\n{secret}").as_bytes(),
    )
}

struct DingTalkFormat {
    config: DingTalkSinkConfig,
}

const ANSWER: CodedAnswer<'static> = CodedAnswer {
    code_fields: &["errcode"],
    message_fields: &["errmsg"],
    // 130101: "send too fast, exceed 20 times per minute"; -1: "system busy".
    retry_codes: &[130_101, -1],
};

impl DingTalkFormat {
    fn body(&self, record: &EventRecord) -> serde_json::Value {
        let config = &self.config;
        let mut body = match config.msg_type {
            TextOrMarkdown::Text => {
                let mut content = kube_eventer_text(record, &config.labels, GoTimeLayout::DateTime);
                // DingTalk highlights a mention only when the text names the number too.
                for mobile in &config.at_mobiles {
                    content.push_str(&format!(" @{mobile}"));
                }
                json!({"msgtype": "text", "text": {"content": content}})
            }
            TextOrMarkdown::Markdown => json!({
                "msgtype": "markdown",
                "markdown": {
                    "title": format!("Kubernetes(ID:{}) Event", config.cluster_id),
                    "text": markdown_text(record, config),
                },
            }),
        };
        if !config.at_mobiles.is_empty() || config.at_all {
            body["at"] = json!({"atMobiles": config.at_mobiles, "isAtAll": config.at_all});
        }
        body
    }
}

impl Format for DingTalkFormat {
    fn request(&self, batch: &[Arc<EventRecord>], now_ms: i64) -> Result<HttpRequest, String> {
        let record = batch.first().ok_or("empty batch")?;
        let mut url = reqwest::Url::parse(&self.config.webhook_url)
            .map_err(|_| "the webhook_url is not a URL".to_string())?;
        if let Some(secret) = &self.config.secret {
            url.query_pairs_mut()
                .append_pair("timestamp", &now_ms.to_string())
                .append_pair("sign", &dingtalk_sign(now_ms, secret));
        }
        let mut request = HttpRequest::post_json(url.to_string(), &self.body(record));
        // As kube-eventer sends it.
        request.headers = vec![(
            "Content-Type".to_string(),
            "application/json;charset=utf-8".to_string(),
        )];
        Ok(request)
    }

    fn verdict(&self, status: u16, body: &[u8]) -> Verdict {
        ANSWER.verdict(status, body)
    }
}

const ACK_CONSOLE: &str = "https://cs.console.aliyun.com/#/k8s";

/// kube-eventer's markdown message: node and labels on top, then the fields with links into
/// the Alibaba Cloud console for the kinds it links.
fn markdown_text(record: &EventRecord, config: &DingTalkSinkConfig) -> String {
    let (region, cluster) = (&config.region, &config.cluster_id);
    let namespace = &record.namespace;
    // The Event's name is `<object>.<suffix>`; the links want the object.
    let object = record.name.split('.').next().unwrap_or_default();
    let link = |url: String| format!("[{}]({url})", record.name);
    let name = match record.object.kind.as_str() {
        kind @ ("Deployment" | "StatefulSet" | "DaemonSet") => link(format!(
            "{ACK_CONSOLE}/{}/detail/{region}/{cluster}/{namespace}/{object}/pods",
            kind.to_lowercase()
        )),
        "Pod" => link(format!(
            "{ACK_CONSOLE}/pod/{cluster}/{namespace}/{object}/container"
        )),
        "CronJob" => link(format!(
            "{ACK_CONSOLE}/cronjob/detail/{region}/{cluster}/{namespace}/{object}/jobs"
        )),
        "Service" => link(format!(
            "{ACK_CONSOLE}/service/detail/{region}/{cluster}/{namespace}/{object}"
        )),
        _ => record.name.clone(),
    };
    // kube-eventer prepends the node line, then the labels: labels come first.
    let mut text = String::new();
    for (index, label) in config.labels.iter().enumerate() {
        if !label.trim().is_empty() {
            text.push_str(&format!("label[{index}]: **{label}**\n\n"));
        }
    }
    let host = &record.source_host;
    if !host.is_empty() {
        match host.split_once('.') {
            // `<region>.<instance>` names an ECS instance.
            Some((ecs_region, instance)) => text.push_str(&format!(
                "Node: [{host}](https://ecs.console.aliyun.com/#/server/{}/detail?regionId={ecs_region}) \n\n",
                instance.split('.').next().unwrap_or_default()
            )),
            None => text.push_str(&format!("Node: **{host}** \n\n")),
        }
    }
    text.push_str(&format!(
        "Level: **{}** \n\nKind: **{}** \n\nNamespace: [{namespace}]({ACK_CONSOLE}/namespace) \n\n\
         Name: {name} \n\nReason: **{}** \n\nTimestamp: **{}** \n\nMessage: **{}**",
        record.event_type,
        record.object.kind,
        record.reason,
        go_time(record.time_ms, GoTimeLayout::String),
        record.message
    ));
    text
}

/// kube-eventer's `--sink=dingtalk:https://oapi.dingtalk.com/robot/send?access_token=..&label=..
/// &sign=..&msg_type=markdown&cluster_id=..&region=..`; its default level is Warning.
pub fn from_kube_eventer(uri: &SinkUri) -> SinkFromFlag {
    let mut problems = uri.unknown_params(&[
        "access_token",
        "label",
        "sign",
        "msg_type",
        "cluster_id",
        "region",
    ]);
    let mut config = DingTalkSinkConfig::new(String::new());
    match uri.param("access_token") {
        Some(token) if !token.is_empty() => match reqwest::Url::parse(&uri.target) {
            Ok(mut url) => {
                url.query_pairs_mut().append_pair("access_token", token);
                config.webhook_url = url.to_string();
            }
            Err(_) => {
                problems.push("--sink dingtalk: the robot's URL is not an absolute URL".to_string())
            }
        },
        _ => problems.push("--sink dingtalk needs the robot's access_token".to_string()),
    }
    config.secret = uri
        .param("sign")
        .filter(|sign| !sign.is_empty())
        .map(str::to_string);
    config.labels = uri
        .param_values("label")
        .into_iter()
        .map(str::to_string)
        .collect();
    if let Some(msg_type) = uri.param("msg_type") {
        match TextOrMarkdown::parse(msg_type) {
            Some(msg_type) => config.msg_type = msg_type,
            None => problems.push(format!(
                "--sink dingtalk: msg_type={msg_type:?} is neither text nor markdown"
            )),
        }
    }
    config.cluster_id = uri.param("cluster_id").unwrap_or_default().to_string();
    config.region = uri.param("region").unwrap_or_default().to_string();
    flag_sink(problems, SinkConfig::DingTalk(config), Level::Warning)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sinks::chat::tests::record;

    fn request_body(config: &DingTalkSinkConfig) -> (HttpRequest, serde_json::Value) {
        let format = config.format().unwrap();
        let request = format
            .request(&[Arc::new(record())], 1_700_000_000_000)
            .unwrap();
        let body = serde_json::from_slice(&request.body).unwrap();
        (request, body)
    }

    #[test]
    fn text_messages_are_kube_eventers() {
        let mut config =
            DingTalkSinkConfig::new("https://oapi.dingtalk.com/robot/send?access_token=t0k");
        config.labels = vec!["c-42".into()];
        let (request, body) = request_body(&config);
        assert_eq!(
            request.url,
            "https://oapi.dingtalk.com/robot/send?access_token=t0k"
        );
        assert_eq!(body["msgtype"], "text");
        assert_eq!(
            body["text"]["content"],
            "c-42\nLevel:Warning \nKind:Pod \nNamespace:shop \nName:web-1.17c8a3e1f2 \nReason:BackOff \
             \nTimestamp:2024-05-01 10:00:00 \nMessage:Back-off restarting failed container app"
        );
        assert!(body.get("at").is_none());
    }

    #[test]
    fn signed_requests_carry_timestamp_and_url_encoded_sign() {
        let mut config =
            DingTalkSinkConfig::new("https://oapi.dingtalk.com/robot/send?access_token=t0k");
        config.secret = Some("SECxyz".into());
        let (request, _) = request_body(&config);
        let url = reqwest::Url::parse(&request.url).unwrap();
        let pairs: Vec<(String, String)> = url.query_pairs().into_owned().collect();
        assert_eq!(pairs[1], ("timestamp".into(), "1700000000000".into()));
        assert_eq!(
            pairs[2],
            ("sign".into(), dingtalk_sign(1_700_000_000_000, "SECxyz"))
        );
        // base64's `+`, `/` and `=` never appear raw in the query.
        let raw_sign = request.url.split("sign=").nth(1).unwrap();
        assert!(!raw_sign.contains(['+', '/', '=']), "{raw_sign}");
    }

    #[test]
    fn markdown_links_into_the_ack_console_and_mentions_go_in_at() {
        let mut config =
            DingTalkSinkConfig::new("https://oapi.dingtalk.com/robot/send?access_token=t");
        config.msg_type = TextOrMarkdown::Markdown;
        config.cluster_id = "c9".into();
        config.region = "cn-hangzhou".into();
        config.labels = vec!["prod".into()];
        config.at_mobiles = vec!["13800000000".into()];
        let (_, body) = request_body(&config);
        assert_eq!(body["markdown"]["title"], "Kubernetes(ID:c9) Event");
        let text = body["markdown"]["text"].as_str().unwrap();
        assert!(text.starts_with(
            "label[0]: **prod**\n\nNode: [cn-hangzhou.192.168.0.7](https://ecs.console.aliyun.com/#/server/192/detail?regionId=cn-hangzhou) \n\nLevel: **Warning**"
        ), "{text}");
        assert!(text.contains(
            "Name: [web-1.17c8a3e1f2](https://cs.console.aliyun.com/#/k8s/pod/c9/shop/web-1/container)"
        ), "{text}");
        assert!(text.ends_with("Timestamp: **2024-05-01 10:00:00 +0000 UTC** \n\nMessage: **Back-off restarting failed container app**"));
        assert_eq!(
            body["at"],
            json!({"atMobiles": ["13800000000"], "isAtAll": false})
        );
    }

    #[test]
    fn answers_are_judged_by_errcode() {
        let format = DingTalkSinkConfig::new("https://x/robot/send?access_token=t")
            .format()
            .unwrap();
        assert_eq!(
            format.verdict(200, br#"{"errcode":0,"errmsg":"ok"}"#),
            Verdict::Delivered
        );
        assert!(matches!(
            format.verdict(200, br#"{"errcode":130101,"errmsg":"send too fast"}"#),
            Verdict::Retry(_)
        ));
        assert!(matches!(
            format.verdict(200, br#"{"errcode":310000,"errmsg":"sign not match"}"#),
            Verdict::Reject(_)
        ));
        assert!(matches!(format.verdict(502, b""), Verdict::Retry(_)));
    }

    #[test]
    fn problems_never_print_the_token() {
        let config = DingTalkSinkConfig::new("oapi.dingtalk.com/robot/send?access_token=SECRET");
        let problems = config.problems("sinks.ding");
        assert_eq!(problems.len(), 1);
        assert!(!problems[0].contains("SECRET"));
        let config = DingTalkSinkConfig::new("https://oapi.dingtalk.com/robot/send");
        assert_eq!(config.problems("s").len(), 1);
        assert_eq!(
            DingTalkSinkConfig::new("https://oapi.dingtalk.com/robot/send?access_token=SECRET")
                .describe(),
            "dingtalk robot at oapi.dingtalk.com"
        );
    }

    #[test]
    fn kube_eventer_flags_map_onto_the_config() {
        let uri = SinkUri::parse(
            "dingtalk:https://oapi.dingtalk.com/robot/send?access_token=t0k&label=a&label=b&sign=SECx&msg_type=markdown&cluster_id=c1&region=cn-shenzhen&level=Normal",
        );
        let (SinkConfig::DingTalk(config), level) = from_kube_eventer(&uri).unwrap() else {
            panic!("not dingtalk")
        };
        assert_eq!(level, Level::Warning);
        assert_eq!(
            config.webhook_url,
            "https://oapi.dingtalk.com/robot/send?access_token=t0k"
        );
        assert_eq!(config.labels, vec!["a", "b"]);
        assert_eq!(config.secret.as_deref(), Some("SECx"));
        assert_eq!(config.msg_type, TextOrMarkdown::Markdown);
        assert_eq!(
            (config.cluster_id.as_str(), config.region.as_str()),
            ("c1", "cn-shenzhen")
        );
        assert!(config.problems("s").is_empty());
        let problems = from_kube_eventer(&SinkUri::parse(
            "dingtalk:https://oapi.dingtalk.com/robot/send?msg_type=html&colour=1",
        ))
        .unwrap_err();
        assert_eq!(problems.len(), 3, "{problems:?}");
    }
}
