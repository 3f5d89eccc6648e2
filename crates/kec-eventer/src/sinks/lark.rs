//! `lark`: a Feishu / Lark group's custom bot (`https://open.feishu.cn/open-apis/bot/v2/hook/..`
//! or `https://open.larksuite.com/...`). One message per Event: an interactive card (default),
//! a rich-text `post` or plain `text`. With a signing secret the body carries `timestamp`
//! (seconds, as a string) and `sign` = base64(HMAC-SHA256(key = timestamp + "\n" + secret,
//! message = empty)), as Feishu documents it.
//! The bot answers 200 with `code` (older bots: `StatusCode`): 0 delivered, 11232 (frequency
//! limited) retried, anything else (bad signature 19021, keyword missing 19024, ...) final.

use std::sync::Arc;

use kec_model::EventRecord;
use serde::{Deserialize, Serialize};
use serde_json::json;

use crate::ratelimit::RateLimitConfig;
use crate::sinks::HttpSinkConfig;
use crate::sinks::chat::{CodedAnswer, Summary, hmac_sha256_base64, secret_url_problem, url_host};
use crate::sinks::http::{DeliveryConfig, Format, HttpRequest, Verdict};

/// The message kinds a Feishu / Lark bot takes.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum LarkMsgType {
    /// Plain text.
    Text,
    /// Rich text with a title.
    Post,
    /// A card with a coloured header (red for Warnings).
    #[default]
    Interactive,
}

/// A Feishu / Lark custom bot.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LarkSinkConfig {
    /// The bot's webhook: `https://open.feishu.cn/open-apis/bot/v2/hook/<id>`. A secret: never
    /// logged.
    pub webhook_url: String,
    /// The signing secret when the bot's security setting asks for a signature.
    #[serde(default)]
    pub secret: Option<String>,
    /// `interactive` (a card, the default), `post` (rich text) or `text`.
    #[serde(default)]
    pub msg_type: LarkMsgType,
    /// Shown on each message, e.g. the cluster's name.
    #[serde(default)]
    pub labels: Vec<String>,
    /// Queue, timeout, retries.
    #[serde(default)]
    pub delivery: DeliveryConfig,
    /// Messages per minute and per object.
    #[serde(default = "RateLimitConfig::chat")]
    pub rate_limit: RateLimitConfig,
}

impl LarkSinkConfig {
    /// An interactive-card bot at `webhook_url` with the chat defaults.
    pub fn new(webhook_url: impl Into<String>) -> LarkSinkConfig {
        LarkSinkConfig {
            webhook_url: webhook_url.into(),
            secret: None,
            msg_type: LarkMsgType::Interactive,
            labels: Vec::new(),
            delivery: DeliveryConfig::default(),
            rate_limit: RateLimitConfig::chat(),
        }
    }
}

impl HttpSinkConfig for LarkSinkConfig {
    fn kind(&self) -> &'static str {
        "lark"
    }

    fn describe(&self) -> String {
        format!("lark bot at {}", url_host(&self.webhook_url))
    }

    fn problems(&self, field: &str) -> Vec<String> {
        let mut problems: Vec<String> =
            secret_url_problem(&format!("{field}.webhook_url"), &self.webhook_url)
                .into_iter()
                .collect();
        if self.secret.as_deref().is_some_and(str::is_empty) {
            problems.push(format!(
                "{field}.secret is empty (leave it out when the bot does not sign)"
            ));
        }
        problems
    }

    fn format(&self) -> crate::Result<Arc<dyn Format>> {
        Ok(Arc::new(LarkFormat {
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

/// The Feishu / Lark signature of `timestamp_secs`: the string to sign is the HMAC key.
pub fn lark_sign(timestamp_secs: i64, secret: &str) -> String {
    hmac_sha256_base64(format!("{timestamp_secs}\n{secret}").as_bytes(), b"")
}

struct LarkFormat {
    config: LarkSinkConfig,
}

const ANSWER: CodedAnswer<'static> = CodedAnswer {
    code_fields: &["code", "StatusCode"],
    message_fields: &["msg", "StatusMessage"],
    // 11232: "frequency limited" (100 a minute, 5 a second per bot).
    retry_codes: &[11_232],
};

/// The text of a plain message: labels, title, message, then the facts.
fn plain_text(summary: &Summary) -> String {
    let mut text = format!("{}\n{}", summary.title, summary.message);
    for (name, value) in &summary.facts {
        text.push_str(&format!("\n{name}: {value}"));
    }
    text
}

impl LarkFormat {
    fn body(&self, record: &EventRecord) -> serde_json::Value {
        let summary = Summary::of(record, &self.config.labels);
        match self.config.msg_type {
            LarkMsgType::Text => {
                json!({"msg_type": "text", "content": {"text": plain_text(&summary)}})
            }
            LarkMsgType::Post => {
                let mut lines = vec![vec![json!({"tag": "text", "text": summary.message})]];
                lines.extend(summary.facts.iter().map(|(name, value)| {
                    vec![json!({"tag": "text", "text": format!("{name}: {value}")})]
                }));
                json!({
                    "msg_type": "post",
                    "content": {"post": {"zh_cn": {"title": summary.title, "content": lines}}},
                })
            }
            LarkMsgType::Interactive => {
                let facts = summary
                    .facts
                    .iter()
                    .map(|(name, value)| format!("**{name}:** {}", escape_lark_md(value)))
                    .collect::<Vec<_>>()
                    .join("\n");
                json!({
                    "msg_type": "interactive",
                    "card": {
                        "config": {"wide_screen_mode": true},
                        "header": {
                            "template": if summary.warning { "red" } else { "blue" },
                            "title": {"tag": "plain_text", "content": summary.title},
                        },
                        "elements": [
                            {"tag": "div", "text": {"tag": "plain_text", "content": summary.message}},
                            {"tag": "div", "text": {"tag": "lark_md", "content": facts}},
                        ],
                    },
                })
            }
        }
    }
}

/// Keeps values from turning into lark_md markup.
fn escape_lark_md(value: &str) -> String {
    value
        .replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('*', "\\*")
        .replace('_', "\\_")
        .replace('~', "\\~")
        .replace('[', "\\[")
        .replace(']', "\\]")
}

impl Format for LarkFormat {
    fn request(&self, batch: &[Arc<EventRecord>], now_ms: i64) -> Result<HttpRequest, String> {
        let record = batch.first().ok_or("empty batch")?;
        let mut body = self.body(record);
        if let Some(secret) = &self.config.secret {
            let timestamp_secs = now_ms.div_euclid(1000);
            body["timestamp"] = json!(timestamp_secs.to_string());
            body["sign"] = json!(lark_sign(timestamp_secs, secret));
        }
        Ok(HttpRequest::post_json(
            self.config.webhook_url.clone(),
            &body,
        ))
    }

    fn verdict(&self, status: u16, body: &[u8]) -> Verdict {
        ANSWER.verdict(status, body)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sinks::chat::tests::record;

    const HOOK: &str = "https://open.feishu.cn/open-apis/bot/v2/hook/abc";

    fn body_of(config: &LarkSinkConfig, now_ms: i64) -> serde_json::Value {
        let request = config
            .format()
            .unwrap()
            .request(&[Arc::new(record())], now_ms)
            .unwrap();
        assert_eq!(request.url, HOOK);
        serde_json::from_slice(&request.body).unwrap()
    }

    #[test]
    fn cards_have_a_red_header_for_warnings_and_escaped_facts() {
        let mut config = LarkSinkConfig::new(HOOK);
        config.labels = vec!["team_a".into()];
        let body = body_of(&config, 0);
        assert_eq!(body["msg_type"], "interactive");
        assert_eq!(body["card"]["header"]["template"], "red");
        assert_eq!(
            body["card"]["header"]["title"]["content"],
            "Warning BackOff: Pod shop/web-1"
        );
        let facts = body["card"]["elements"][1]["text"]["content"]
            .as_str()
            .unwrap();
        assert!(
            facts.starts_with("**Label:** team\\_a\n**Cluster:** prod\n"),
            "{facts}"
        );
        assert!(body.get("sign").is_none());
    }

    #[test]
    fn signed_bodies_carry_seconds_and_the_documented_signature() {
        let mut config = LarkSinkConfig::new(HOOK);
        config.secret = Some("s3".into());
        config.msg_type = LarkMsgType::Text;
        let body = body_of(&config, 1_599_360_473_999);
        assert_eq!(body["timestamp"], "1599360473");
        assert_eq!(body["sign"], lark_sign(1_599_360_473, "s3"));
        assert!(
            body["content"]["text"]
                .as_str()
                .unwrap()
                .starts_with("Warning BackOff: Pod shop/web-1\nBack-off")
        );
    }

    #[test]
    fn posts_have_a_title_and_one_line_per_fact() {
        let mut config = LarkSinkConfig::new(HOOK);
        config.msg_type = LarkMsgType::Post;
        let body = body_of(&config, 0);
        let post = &body["content"]["post"]["zh_cn"];
        assert_eq!(post["title"], "Warning BackOff: Pod shop/web-1");
        assert_eq!(
            post["content"][0][0]["text"],
            "Back-off restarting failed container app"
        );
        assert_eq!(post["content"][1][0]["text"], "Cluster: prod");
    }

    #[test]
    fn answers_are_judged_by_code_or_status_code() {
        let format = LarkSinkConfig::new(HOOK).format().unwrap();
        assert_eq!(
            format.verdict(200, br#"{"code":0,"data":{},"msg":"success"}"#),
            Verdict::Delivered
        );
        assert_eq!(
            format.verdict(200, br#"{"StatusCode":0,"StatusMessage":"success"}"#),
            Verdict::Delivered
        );
        assert!(matches!(
            format.verdict(200, br#"{"code":11232,"msg":"frequency limited"}"#),
            Verdict::Retry(_)
        ));
        assert!(matches!(format.verdict(200, br#"{"code":19021,"msg":"sign match fail or timestamp is not within one hour from current time"}"#), Verdict::Reject(_)));
        assert!(LarkSinkConfig::new("nope").problems("l").len() == 1);
    }
}
