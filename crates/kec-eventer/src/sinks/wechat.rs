//! `wechat`: WeCom (企业微信), either way it takes messages:
//!
//! - a group robot (`webhook_url`: `https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=..`),
//!   text or markdown;
//! - an application (`app`: corp id, secret, agent id), which is what kube-eventer's wechat sink
//!   uses: `gettoken` for an access token (cached until it expires), then `message/send` to
//!   `to_user` (default `@all`). kube-eventer sends one request per user; WeCom takes the users
//!   joined by `|` in one request, which reaches the same people.
//!
//! Both answer 200 with `errcode`: 0 delivered; 45009 (over the frequency limit) and -1 (busy)
//! retried; for the application, an expired or invalid token (42001, 40014, 41001) is
//! forgotten and fetched again; anything else is final.
//!
//! The shared delivery builds one request at a time, so the application's token is fetched
//! through it: without a valid token the "request" is the `gettoken` call, whose answer is
//! cached and reported as "retry", and the next try sends the message. That costs one try of
//! `delivery.max_attempts` per fetch (hence at least 2).

use std::sync::{Arc, Mutex};

use kec_model::EventRecord;
use serde::{Deserialize, Serialize};
use serde_json::json;

use crate::kube_eventer::{Level, SinkFromFlag, SinkUri, flag_sink};
use crate::ratelimit::RateLimitConfig;
use crate::sinks::chat::{
    CodedAnswer, GoTimeLayout, TextOrMarkdown, kube_eventer_text, secret_url_problem, url_host,
};
use crate::sinks::dingtalk::has_query_param;
use crate::sinks::http::{DeliveryConfig, Format, HttpRequest, Verdict, excerpt, status_verdict};
use crate::sinks::{HttpSinkConfig, SinkConfig};

/// WeCom: a group robot (`webhook_url`) or an application (`app`); exactly one of them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WeChatSinkConfig {
    /// A group robot's webhook, with its key:
    /// `https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=...`. A secret: never logged.
    #[serde(default)]
    pub webhook_url: Option<String>,
    /// A WeCom application (kube-eventer's `corp_id`, `corp_secret`, `agent_id`, `to_user`).
    #[serde(default)]
    pub app: Option<WeChatAppConfig>,
    /// `text` (default; kube-eventer's text) or `markdown`.
    #[serde(default)]
    pub msg_type: TextOrMarkdown,
    /// Lines put above each message, e.g. the cluster's name (kube-eventer's `label`).
    #[serde(default)]
    pub labels: Vec<String>,
    /// Group robot text messages only: mobile numbers to @mention (`@all` for everyone).
    #[serde(default)]
    pub mentioned_mobiles: Vec<String>,
    /// Queue, timeout, retries.
    #[serde(default)]
    pub delivery: DeliveryConfig,
    /// Messages per minute and per object (a WeCom robot accepts 20 a minute).
    #[serde(default = "RateLimitConfig::chat")]
    pub rate_limit: RateLimitConfig,
}

/// A WeCom application that sends the messages (企业微信应用).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WeChatAppConfig {
    /// The corporation's id (`corpid`).
    pub corp_id: String,
    /// The application's secret (`corpsecret`). Never logged.
    pub corp_secret: String,
    /// The application's agent id.
    pub agent_id: i64,
    /// Users to send to; `@all` (the default) is everyone the application reaches.
    #[serde(default = "all_users")]
    pub to_user: Vec<String>,
    /// Departments to send to (ids).
    #[serde(default)]
    pub to_party: Vec<String>,
    /// Tags to send to (ids).
    #[serde(default)]
    pub to_tag: Vec<String>,
    /// The API's address (a proxy, or a test server).
    #[serde(default = "default_api_url")]
    pub api_url: String,
}

fn all_users() -> Vec<String> {
    vec!["@all".to_string()]
}

fn default_api_url() -> String {
    "https://qyapi.weixin.qq.com".to_string()
}

impl WeChatSinkConfig {
    /// A group robot at `webhook_url` with the chat defaults.
    pub fn robot(webhook_url: impl Into<String>) -> WeChatSinkConfig {
        WeChatSinkConfig {
            webhook_url: Some(webhook_url.into()),
            app: None,
            msg_type: TextOrMarkdown::Text,
            labels: Vec::new(),
            mentioned_mobiles: Vec::new(),
            delivery: DeliveryConfig::default(),
            rate_limit: RateLimitConfig::chat(),
        }
    }

    /// An application with the chat defaults.
    pub fn app(app: WeChatAppConfig) -> WeChatSinkConfig {
        WeChatSinkConfig {
            webhook_url: None,
            app: Some(app),
            ..WeChatSinkConfig::robot("")
        }
    }
}

impl HttpSinkConfig for WeChatSinkConfig {
    fn kind(&self) -> &'static str {
        "wechat"
    }

    fn describe(&self) -> String {
        match (&self.webhook_url, &self.app) {
            (Some(url), _) => format!("wechat robot at {}", url_host(url)),
            (None, Some(app)) => format!(
                "wechat application {} of corp {} at {}",
                app.agent_id,
                app.corp_id,
                url_host(&app.api_url)
            ),
            (None, None) => "wechat (not configured)".to_string(),
        }
    }

    fn problems(&self, field: &str) -> Vec<String> {
        let mut problems = Vec::new();
        match (&self.webhook_url, &self.app) {
            (Some(_), Some(_)) => problems.push(format!(
                "{field}: give either webhook_url (a group robot) or app (an application), not both"
            )),
            (None, None) => problems.push(format!(
                "{field}: give webhook_url (a group robot) or app (an application)"
            )),
            (Some(url), None) => {
                if let Some(problem) = secret_url_problem(&format!("{field}.webhook_url"), url) {
                    problems.push(problem);
                } else if !has_query_param(url, "key") {
                    problems.push(format!(
                        "{field}.webhook_url has no key parameter (copy the robot's whole webhook)"
                    ));
                }
            }
            (None, Some(app)) => {
                let app_field = format!("{field}.app");
                for (name, value) in [("corp_id", &app.corp_id), ("corp_secret", &app.corp_secret)]
                {
                    if value.is_empty() {
                        problems.push(format!("{app_field}.{name} is missing"));
                    }
                }
                if app.to_user.is_empty() && app.to_party.is_empty() && app.to_tag.is_empty() {
                    problems.push(format!(
                        "{app_field}: to_user, to_party and to_tag are all empty: nobody would get a message"
                    ));
                }
                if let Some(problem) =
                    secret_url_problem(&format!("{app_field}.api_url"), &app.api_url)
                {
                    problems.push(problem);
                }
                if self.delivery.max_attempts < 2 {
                    problems.push(format!(
                        "{field}.delivery.max_attempts must be at least 2 for an application (one try fetches the access token)"
                    ));
                }
                if !self.mentioned_mobiles.is_empty() {
                    problems.push(format!(
                        "{field}.mentioned_mobiles works with a group robot only"
                    ));
                }
            }
        }
        problems
    }

    fn format(&self) -> crate::Result<Arc<dyn Format>> {
        Ok(Arc::new(WeChatFormat {
            config: self.clone(),
            token: Mutex::new(None),
        }))
    }

    fn delivery(&self) -> &DeliveryConfig {
        &self.delivery
    }

    fn rate_limit(&self) -> &RateLimitConfig {
        &self.rate_limit
    }
}

/// An application's access token and when to stop using it.
#[derive(Debug, Clone)]
struct AccessToken {
    value: String,
    use_until_ms: i64,
}

/// Tokens are dropped this long before WeCom says they expire (clock skew, slow requests).
const TOKEN_MARGIN_MS: i64 = 5 * 60 * 1000;

struct WeChatFormat {
    config: WeChatSinkConfig,
    /// The application's token (unused for a robot).
    token: Mutex<Option<AccessToken>>,
}

const ROBOT_ANSWER: CodedAnswer<'static> = CodedAnswer {
    code_fields: &["errcode"],
    message_fields: &["errmsg"],
    // 45009: "api freq out of limit"; -1: "system busy".
    retry_codes: &[45_009, -1],
};

/// Application answers meaning the token is no good: expired, invalid, missing.
const TOKEN_CODES: &[i64] = &[42_001, 40_014, 41_001];

impl WeChatFormat {
    fn content(&self, record: &EventRecord) -> String {
        match self.config.msg_type {
            // kube-eventer's wechat sink prints the time with Go's `Time.String()`.
            TextOrMarkdown::Text => {
                kube_eventer_text(record, &self.config.labels, GoTimeLayout::String)
            }
            TextOrMarkdown::Markdown => markdown(record, &self.config.labels),
        }
    }

    fn message(&self, record: &EventRecord) -> serde_json::Value {
        let content = self.content(record);
        match self.config.msg_type {
            TextOrMarkdown::Text => {
                let mut text = json!({"content": content});
                if !self.config.mentioned_mobiles.is_empty() {
                    text["mentioned_mobile_list"] = json!(self.config.mentioned_mobiles);
                }
                json!({"msgtype": "text", "text": text})
            }
            TextOrMarkdown::Markdown => {
                json!({"msgtype": "markdown", "markdown": {"content": content}})
            }
        }
    }

    fn token_lock(&self) -> std::sync::MutexGuard<'_, Option<AccessToken>> {
        // The token is a cache: a poisoned lock only means a panic elsewhere, the value is fine.
        self.token
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    fn app_request(
        &self,
        app: &WeChatAppConfig,
        record: &EventRecord,
        now_ms: i64,
    ) -> Result<HttpRequest, String> {
        let api = app.api_url.trim_end_matches('/');
        let token = self
            .token_lock()
            .clone()
            .filter(|token| now_ms < token.use_until_ms);
        let Some(token) = token else {
            let mut url = reqwest::Url::parse(&format!("{api}/cgi-bin/gettoken"))
                .map_err(|_| "the app api_url is not a URL".to_string())?;
            url.query_pairs_mut()
                .append_pair("corpid", &app.corp_id)
                .append_pair("corpsecret", &app.corp_secret);
            return Ok(HttpRequest {
                method: reqwest::Method::GET,
                url: url.to_string(),
                headers: Vec::new(),
                body: Vec::new(),
            });
        };
        let mut url = reqwest::Url::parse(&format!("{api}/cgi-bin/message/send"))
            .map_err(|_| "the app api_url is not a URL".to_string())?;
        url.query_pairs_mut()
            .append_pair("access_token", &token.value);
        let mut body = self.message(record);
        body["touser"] = json!(app.to_user.join("|"));
        body["toparty"] = json!(app.to_party.join("|"));
        body["totag"] = json!(app.to_tag.join("|"));
        body["agentid"] = json!(app.agent_id);
        body["safe"] = json!(0);
        Ok(HttpRequest::post_json(url.to_string(), &body))
    }

    /// Reads an application's answer: a token to keep, or a message's fate.
    fn app_verdict(&self, status: u16, body: &[u8]) -> Verdict {
        if status != 200 {
            return status_verdict(status, body);
        }
        let Ok(answer) = serde_json::from_slice::<serde_json::Value>(body) else {
            return Verdict::Reject(format!(
                "answered 200 with a body that is not JSON: {}",
                excerpt(body)
            ));
        };
        if let Some(token) = answer.get("access_token").and_then(|token| token.as_str()) {
            let expires_in_secs = answer
                .get("expires_in")
                .and_then(serde_json::Value::as_i64)
                .unwrap_or(7200);
            *self.token_lock() = Some(AccessToken {
                value: token.to_string(),
                use_until_ms: kec_model::time::now_ms() + expires_in_secs * 1000 - TOKEN_MARGIN_MS,
            });
            return Verdict::Retry("fetched an access token; sending".to_string());
        }
        match ROBOT_ANSWER.read(body) {
            Ok(Some((code, message))) if TOKEN_CODES.contains(&code) => {
                *self.token_lock() = None;
                Verdict::Retry(format!(
                    "the access token is no good (code {code}: {message}); fetching another"
                ))
            }
            _ => ROBOT_ANSWER.verdict(status, body),
        }
    }
}

impl Format for WeChatFormat {
    fn request(&self, batch: &[Arc<EventRecord>], now_ms: i64) -> Result<HttpRequest, String> {
        let record = batch.first().ok_or("empty batch")?;
        match (&self.config.webhook_url, &self.config.app) {
            (Some(url), _) => Ok(HttpRequest::post_json(url.clone(), &self.message(record))),
            (None, Some(app)) => self.app_request(app, record, now_ms),
            (None, None) => Err("neither webhook_url nor app is set".to_string()),
        }
    }

    fn verdict(&self, status: u16, body: &[u8]) -> Verdict {
        if self.config.webhook_url.is_none() && self.config.app.is_some() {
            self.app_verdict(status, body)
        } else {
            ROBOT_ANSWER.verdict(status, body)
        }
    }
}

/// A WeCom markdown message: labels, a coloured title, then the fields as a quote.
fn markdown(record: &EventRecord, labels: &[String]) -> String {
    let mut text = String::new();
    for label in labels.iter().filter(|label| !label.trim().is_empty()) {
        text.push_str(&format!("**{label}**\n"));
    }
    let colour = if record.is_warning() {
        "warning"
    } else {
        "info"
    };
    text.push_str(&format!(
        "<font color=\"{colour}\">{}</font> **{}**\n",
        record.event_type, record.reason
    ));
    let object = &record.object;
    for (name, value) in [
        ("Kind", object.kind.as_str()),
        ("Namespace", object.namespace.as_str()),
        ("Name", object.name.as_str()),
        ("Node", record.node.as_str()),
    ] {
        if !value.is_empty() {
            text.push_str(&format!(
                "> {name}: <font color=\"comment\">{value}</font>\n"
            ));
        }
    }
    text.push_str(&format!(
        "> Timestamp: <font color=\"comment\">{}</font>\n> Message: {}",
        crate::sinks::chat::go_time(record.time_ms, GoTimeLayout::DateTime),
        record.message
    ));
    text
}

/// kube-eventer's `--sink=wechat:?corp_id=..&corp_secret=..&agent_id=..&to_user=a,b&label=..`
/// (an application). Its default level is Warning.
pub fn from_kube_eventer(uri: &SinkUri) -> SinkFromFlag {
    let mut problems =
        uri.unknown_params(&["corp_id", "corp_secret", "agent_id", "to_user", "label"]);
    let mut need = |name: &str| match uri.param(name) {
        Some(value) if !value.is_empty() => value.to_string(),
        _ => {
            problems.push(format!("--sink wechat needs {name}"));
            String::new()
        }
    };
    let corp_id = need("corp_id");
    let corp_secret = need("corp_secret");
    let agent_id = need("agent_id");
    let agent_id = match agent_id.parse::<i64>() {
        Ok(agent_id) => agent_id,
        Err(_) => {
            if !agent_id.is_empty() {
                problems.push(format!(
                    "--sink wechat: agent_id={agent_id:?} is not a number"
                ));
            }
            0
        }
    };
    // kube-eventer: an empty or absent `to_user` means everyone.
    let mut to_user = uri.param_list("to_user");
    if to_user.is_empty() {
        to_user = all_users();
    }
    let mut config = WeChatSinkConfig::app(WeChatAppConfig {
        corp_id,
        corp_secret,
        agent_id,
        to_user,
        to_party: Vec::new(),
        to_tag: Vec::new(),
        api_url: default_api_url(),
    });
    config.labels = uri
        .param_values("label")
        .into_iter()
        .map(str::to_string)
        .collect();
    flag_sink(problems, SinkConfig::WeChat(config), Level::Warning)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sinks::chat::tests::record;

    fn app(api_url: &str) -> WeChatAppConfig {
        WeChatAppConfig {
            corp_id: "ww1".into(),
            corp_secret: "s3cret".into(),
            agent_id: 1_000_012,
            to_user: vec!["zhangsan".into(), "lisi".into()],
            to_party: Vec::new(),
            to_tag: Vec::new(),
            api_url: api_url.into(),
        }
    }

    #[test]
    fn robot_text_is_kube_eventers_and_mentions_are_listed() {
        let mut config =
            WeChatSinkConfig::robot("https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=k");
        config.mentioned_mobiles = vec!["@all".into()];
        let request = config
            .format()
            .unwrap()
            .request(&[Arc::new(record())], 0)
            .unwrap();
        assert_eq!(
            request.url,
            "https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=k"
        );
        let body: serde_json::Value = serde_json::from_slice(&request.body).unwrap();
        assert_eq!(body["msgtype"], "text");
        assert_eq!(
            body["text"]["content"],
            "Level:Warning \nKind:Pod \nNamespace:shop \nName:web-1.17c8a3e1f2 \nReason:BackOff \
             \nTimestamp:2024-05-01 10:00:00 +0000 UTC \nMessage:Back-off restarting failed container app"
        );
        assert_eq!(body["text"]["mentioned_mobile_list"], json!(["@all"]));
    }

    #[test]
    fn robot_markdown_colours_warnings() {
        let mut config =
            WeChatSinkConfig::robot("https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=k");
        config.msg_type = TextOrMarkdown::Markdown;
        config.labels = vec!["prod".into()];
        let request = config
            .format()
            .unwrap()
            .request(&[Arc::new(record())], 0)
            .unwrap();
        let body: serde_json::Value = serde_json::from_slice(&request.body).unwrap();
        let content = body["markdown"]["content"].as_str().unwrap();
        assert!(
            content.starts_with(
                "**prod**\n<font color=\"warning\">Warning</font> **BackOff**\n> Kind:"
            ),
            "{content}"
        );
        assert!(content.ends_with("> Message: Back-off restarting failed container app"));
    }

    #[test]
    fn an_application_fetches_a_token_then_sends_and_refetches_when_it_expires() {
        let format = WeChatSinkConfig::app(app("http://wecom.test/"))
            .format()
            .unwrap();
        let batch = [Arc::new(record())];
        let now = kec_model::time::now_ms();
        let first = format.request(&batch, now).unwrap();
        assert_eq!(first.method, reqwest::Method::GET);
        assert_eq!(
            first.url,
            "http://wecom.test/cgi-bin/gettoken?corpid=ww1&corpsecret=s3cret"
        );
        assert!(matches!(
            format.verdict(
                200,
                br#"{"errcode":0,"errmsg":"ok","access_token":"AT1","expires_in":7200}"#
            ),
            Verdict::Retry(_)
        ));
        let send = format.request(&batch, now).unwrap();
        assert_eq!(
            send.url,
            "http://wecom.test/cgi-bin/message/send?access_token=AT1"
        );
        let body: serde_json::Value = serde_json::from_slice(&send.body).unwrap();
        assert_eq!(body["touser"], "zhangsan|lisi");
        assert_eq!(body["agentid"], 1_000_012);
        assert_eq!(body["safe"], 0);
        assert_eq!(body["msgtype"], "text");
        assert_eq!(
            format.verdict(200, br#"{"errcode":0,"errmsg":"ok"}"#),
            Verdict::Delivered
        );
        // Two hours later the token is past its use-by time.
        assert_eq!(
            format.request(&batch, now + 7_200_000).unwrap().method,
            reqwest::Method::GET
        );
        // An answer saying the token expired forgets it at once.
        assert!(matches!(
            format.verdict(200, br#"{"errcode":42001,"errmsg":"access_token expired"}"#),
            Verdict::Retry(_)
        ));
        assert_eq!(
            format.request(&batch, now).unwrap().method,
            reqwest::Method::GET
        );
        assert!(matches!(
            format.verdict(200, br#"{"errcode":40001,"errmsg":"invalid credential"}"#),
            Verdict::Reject(_)
        ));
    }

    #[test]
    fn problems_name_what_is_wrong_without_secrets() {
        let config = WeChatSinkConfig::robot("https://qyapi.weixin.qq.com/cgi-bin/webhook/send");
        assert_eq!(config.problems("w").len(), 1);
        let mut both =
            WeChatSinkConfig::robot("https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=k");
        both.app = Some(app("https://qyapi.weixin.qq.com"));
        assert_eq!(both.problems("w").len(), 1);
        let mut bad_app = app("https://qyapi.weixin.qq.com");
        bad_app.corp_secret.clear();
        bad_app.to_user.clear();
        let mut config = WeChatSinkConfig::app(bad_app);
        config.delivery.max_attempts = 1;
        assert_eq!(config.problems("w").len(), 3, "{:?}", config.problems("w"));
        assert_eq!(
            WeChatSinkConfig::app(app("https://qyapi.weixin.qq.com")).describe(),
            "wechat application 1000012 of corp ww1 at qyapi.weixin.qq.com"
        );
    }

    #[test]
    fn kube_eventer_flags_configure_an_application() {
        let uri = SinkUri::parse(
            "wechat:?corp_id=ww1&corp_secret=s&agent_id=1000012&to_user=a,b&label=c1&level=Normal",
        );
        let (SinkConfig::WeChat(config), level) = from_kube_eventer(&uri).unwrap() else {
            panic!("not wechat")
        };
        assert_eq!(level, Level::Warning);
        let app = config.app.as_ref().unwrap();
        assert_eq!(app.to_user, vec!["a", "b"]);
        assert_eq!(app.agent_id, 1_000_012);
        assert_eq!(config.labels, vec!["c1"]);
        assert!(config.problems("s").is_empty());
        let uri = SinkUri::parse("wechat:?corp_id=ww1&corp_secret=s&agent_id=7&to_user=");
        let (SinkConfig::WeChat(config), _) = from_kube_eventer(&uri).unwrap() else {
            panic!("not wechat")
        };
        assert_eq!(config.app.unwrap().to_user, vec!["@all"]);
        let problems =
            from_kube_eventer(&SinkUri::parse("wechat:?corp_id=ww1&agent_id=x")).unwrap_err();
        assert_eq!(problems.len(), 2, "{problems:?}");
    }
}
