//! `slack`: a Slack incoming webhook (`https://hooks.slack.com/services/T../B../..`). One
//! message per Event in Block Kit: a header (Warnings marked with a warning sign), a section with
//! the message and the facts as fields, a context line; `text` holds the same in plain words
//! for notifications and clients without blocks.
//! Slack answers 200 `ok`; 429 (with `Retry-After`) and 5xx are retried by the shared delivery;
//! 4xx (`invalid_payload`, `no_service`, `channel_is_archived`, ...) are final.

use std::sync::Arc;

use kec_model::EventRecord;
use serde::{Deserialize, Serialize};
use serde_json::json;

use crate::ratelimit::RateLimitConfig;
use crate::sinks::HttpSinkConfig;
use crate::sinks::chat::{Summary, secret_url_problem, truncate_chars, url_host};
use crate::sinks::http::{DeliveryConfig, Format, HttpRequest};

/// A Slack incoming webhook.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SlackSinkConfig {
    /// The webhook: `https://hooks.slack.com/services/...`. A secret: never logged.
    pub webhook_url: String,
    /// Shown on each message, e.g. the cluster's name.
    #[serde(default)]
    pub labels: Vec<String>,
    /// Queue, timeout, retries.
    #[serde(default)]
    pub delivery: DeliveryConfig,
    /// Messages per minute and per object (Slack allows about one a second per webhook).
    #[serde(default = "RateLimitConfig::chat")]
    pub rate_limit: RateLimitConfig,
}

impl SlackSinkConfig {
    /// A webhook with the chat defaults.
    pub fn new(webhook_url: impl Into<String>) -> SlackSinkConfig {
        SlackSinkConfig {
            webhook_url: webhook_url.into(),
            labels: Vec::new(),
            delivery: DeliveryConfig::default(),
            rate_limit: RateLimitConfig::chat(),
        }
    }
}

impl HttpSinkConfig for SlackSinkConfig {
    fn kind(&self) -> &'static str {
        "slack"
    }

    fn describe(&self) -> String {
        format!("slack webhook at {}", url_host(&self.webhook_url))
    }

    fn problems(&self, field: &str) -> Vec<String> {
        secret_url_problem(&format!("{field}.webhook_url"), &self.webhook_url)
            .into_iter()
            .collect()
    }

    fn format(&self) -> crate::Result<Arc<dyn Format>> {
        Ok(Arc::new(SlackFormat {
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

/// Block Kit limits: header text 150 characters, section text 3000, a field 2000, 10 fields.
const HEADER_MAX: usize = 150;
const SECTION_MAX: usize = 3000;
const FIELD_MAX: usize = 2000;
const FIELDS_MAX: usize = 10;

/// Escapes the three characters Slack's mrkdwn reserves.
fn escape_mrkdwn(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

struct SlackFormat {
    config: SlackSinkConfig,
}

impl SlackFormat {
    fn body(&self, record: &EventRecord) -> serde_json::Value {
        let summary = Summary::of(record, &self.config.labels);
        let marker = if summary.warning { ":warning: " } else { "" };
        let fields: Vec<serde_json::Value> = summary
            .facts
            .iter()
            .filter(|(name, _)| *name != "Time")
            .take(FIELDS_MAX)
            .map(|(name, value)| {
                json!({
                    "type": "mrkdwn",
                    "text": truncate_chars(&format!("*{name}*\n{}", escape_mrkdwn(value)), FIELD_MAX),
                })
            })
            .collect();
        let time = summary
            .facts
            .iter()
            .find(|(name, _)| *name == "Time")
            .map(|(_, time)| time.as_str())
            .unwrap_or_default();
        let message = if summary.message.is_empty() {
            "(no message)".to_string()
        } else {
            escape_mrkdwn(&summary.message)
        };
        json!({
            "text": format!("{marker}{}: {message}", escape_mrkdwn(&summary.title)),
            "blocks": [
                {
                    "type": "header",
                    "text": {
                        "type": "plain_text",
                        "text": truncate_chars(&format!("{marker}{}", summary.title), HEADER_MAX),
                        "emoji": true,
                    },
                },
                {
                    "type": "section",
                    "text": {"type": "mrkdwn", "text": truncate_chars(&message, SECTION_MAX)},
                    "fields": fields,
                },
                {
                    "type": "context",
                    "elements": [{
                        "type": "mrkdwn",
                        "text": format!("{} event · {time}", record.event_type),
                    }],
                },
            ],
        })
    }
}

impl Format for SlackFormat {
    fn request(&self, batch: &[Arc<EventRecord>], _now_ms: i64) -> Result<HttpRequest, String> {
        let record = batch.first().ok_or("empty batch")?;
        Ok(HttpRequest::post_json(
            self.config.webhook_url.clone(),
            &self.body(record),
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sinks::chat::tests::record;
    use crate::sinks::http::Verdict;

    #[test]
    fn warnings_are_marked_and_mrkdwn_is_escaped() {
        let mut record = record();
        record.message = "probe <failed> & retried".into();
        let format = SlackSinkConfig::new("https://hooks.slack.com/services/T/B/x")
            .format()
            .unwrap();
        let request = format.request(&[Arc::new(record.clone())], 0).unwrap();
        let body: serde_json::Value = serde_json::from_slice(&request.body).unwrap();
        assert_eq!(
            body["text"],
            ":warning: Warning BackOff: Pod shop/web-1: probe &lt;failed&gt; &amp; retried"
        );
        assert_eq!(body["blocks"][0]["type"], "header");
        assert_eq!(
            body["blocks"][0]["text"]["text"],
            ":warning: Warning BackOff: Pod shop/web-1"
        );
        assert_eq!(
            body["blocks"][1]["text"]["text"],
            "probe &lt;failed&gt; &amp; retried"
        );
        assert_eq!(body["blocks"][1]["fields"][0]["text"], "*Cluster*\nprod");
        assert!(body["blocks"][1]["fields"].as_array().unwrap().len() <= FIELDS_MAX);
        assert_eq!(
            body["blocks"][2]["elements"][0]["text"],
            "Warning event · 2024-05-01T10:00:00Z"
        );
        record.event_type = "Normal".into();
        let request = format.request(&[Arc::new(record)], 0).unwrap();
        let body: serde_json::Value = serde_json::from_slice(&request.body).unwrap();
        assert_eq!(
            body["blocks"][0]["text"]["text"],
            "Normal BackOff: Pod shop/web-1"
        );
    }

    #[test]
    fn long_titles_fit_the_header_limit() {
        let mut record = record();
        record.reason = "R".repeat(400);
        let format = SlackSinkConfig::new("https://hooks.slack.com/services/T/B/x")
            .format()
            .unwrap();
        let request = format.request(&[Arc::new(record)], 0).unwrap();
        let body: serde_json::Value = serde_json::from_slice(&request.body).unwrap();
        assert_eq!(
            body["blocks"][0]["text"]["text"]
                .as_str()
                .unwrap()
                .chars()
                .count(),
            HEADER_MAX
        );
    }

    #[test]
    fn answers_have_their_http_meaning() {
        let format = SlackSinkConfig::new("https://hooks.slack.com/services/T/B/x")
            .format()
            .unwrap();
        assert_eq!(format.verdict(200, b"ok"), Verdict::Delivered);
        assert!(matches!(
            format.verdict(429, b"rate_limited"),
            Verdict::Retry(_)
        ));
        assert!(matches!(
            format.verdict(404, b"no_service"),
            Verdict::Reject(_)
        ));
        assert!(matches!(
            format.verdict(400, b"invalid_payload"),
            Verdict::Reject(_)
        ));
    }
}
