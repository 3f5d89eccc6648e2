//! `teams`: a Microsoft Teams incoming webhook. One message per Event: an Adaptive Card in the
//! `message` attachment envelope, which both the legacy Office 365 connector webhooks and the
//! Power Automate "Workflows" webhooks accept:
//! `{"type":"message","attachments":[{"contentType":"application/vnd.microsoft.card.adaptive",
//! "content":{"type":"AdaptiveCard",...}}]}`.
//! Workflows answer 202, connectors 200 with body `1`; 429 and 5xx are retried. Connectors also
//! answer 200 with a text beginning "Webhook message delivery failed" when Teams refused the
//! message: retried when Teams said 429 (throttled), final otherwise.

use std::sync::Arc;

use kec_model::EventRecord;
use serde::{Deserialize, Serialize};
use serde_json::json;

use crate::ratelimit::RateLimitConfig;
use crate::sinks::HttpSinkConfig;
use crate::sinks::chat::{Summary, secret_url_problem, truncate_chars, url_host};
use crate::sinks::http::{DeliveryConfig, Format, HttpRequest, Verdict, excerpt, status_verdict};

/// A Microsoft Teams incoming webhook (Workflows or a legacy connector).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TeamsSinkConfig {
    /// The webhook's URL. A secret: never logged.
    pub webhook_url: String,
    /// Shown on each card, e.g. the cluster's name.
    #[serde(default)]
    pub labels: Vec<String>,
    /// Queue, timeout, retries.
    #[serde(default)]
    pub delivery: DeliveryConfig,
    /// Messages per minute and per object.
    #[serde(default = "RateLimitConfig::chat")]
    pub rate_limit: RateLimitConfig,
}

impl TeamsSinkConfig {
    /// A webhook with the chat defaults.
    pub fn new(webhook_url: impl Into<String>) -> TeamsSinkConfig {
        TeamsSinkConfig {
            webhook_url: webhook_url.into(),
            labels: Vec::new(),
            delivery: DeliveryConfig::default(),
            rate_limit: RateLimitConfig::chat(),
        }
    }
}

impl HttpSinkConfig for TeamsSinkConfig {
    fn kind(&self) -> &'static str {
        "teams"
    }

    fn describe(&self) -> String {
        format!("teams webhook at {}", url_host(&self.webhook_url))
    }

    fn problems(&self, field: &str) -> Vec<String> {
        secret_url_problem(&format!("{field}.webhook_url"), &self.webhook_url)
            .into_iter()
            .collect()
    }

    fn format(&self) -> crate::Result<Arc<dyn Format>> {
        Ok(Arc::new(TeamsFormat {
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

/// Teams refuses messages over about 28 KB; messages are cut well below.
const MESSAGE_MAX: usize = 10_000;

struct TeamsFormat {
    config: TeamsSinkConfig,
}

/// The Adaptive Card of one Event.
fn card(summary: &Summary) -> serde_json::Value {
    let facts: Vec<serde_json::Value> = summary
        .facts
        .iter()
        .map(|(name, value)| json!({"title": name, "value": value}))
        .collect();
    json!({
        "$schema": "http://adaptivecards.io/schemas/adaptive-card.json",
        "type": "AdaptiveCard",
        "version": "1.4",
        "msteams": {"width": "Full"},
        "body": [
            {
                "type": "TextBlock",
                "text": summary.title,
                "size": "Medium",
                "weight": "Bolder",
                "wrap": true,
                // Warnings in the theme's attention colour (red).
                "color": if summary.warning { "Attention" } else { "Default" },
            },
            {"type": "TextBlock", "text": truncate_chars(&summary.message, MESSAGE_MAX), "wrap": true},
            {"type": "FactSet", "facts": facts},
        ],
    })
}

impl Format for TeamsFormat {
    fn request(&self, batch: &[Arc<EventRecord>], _now_ms: i64) -> Result<HttpRequest, String> {
        let record = batch.first().ok_or("empty batch")?;
        let summary = Summary::of(record, &self.config.labels);
        let body = json!({
            "type": "message",
            "attachments": [{
                "contentType": "application/vnd.microsoft.card.adaptive",
                "contentUrl": null,
                "content": card(&summary),
            }],
        });
        Ok(HttpRequest::post_json(
            self.config.webhook_url.clone(),
            &body,
        ))
    }

    fn verdict(&self, status: u16, body: &[u8]) -> Verdict {
        let text = String::from_utf8_lossy(body);
        if status == 200 && text.contains("Webhook message delivery failed") {
            return if text.contains("429") {
                Verdict::Retry(format!("throttled: {}", excerpt(body)))
            } else {
                Verdict::Reject(excerpt(body))
            };
        }
        status_verdict(status, body)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sinks::chat::tests::record;

    #[test]
    fn events_become_adaptive_cards_in_a_message_envelope() {
        let mut config = TeamsSinkConfig::new("https://example.webhook.office.com/webhookb2/x");
        config.labels = vec!["eu-1".into()];
        let request = config
            .format()
            .unwrap()
            .request(&[Arc::new(record())], 0)
            .unwrap();
        let body: serde_json::Value = serde_json::from_slice(&request.body).unwrap();
        assert_eq!(body["type"], "message");
        let attachment = &body["attachments"][0];
        assert_eq!(
            attachment["contentType"],
            "application/vnd.microsoft.card.adaptive"
        );
        let card = &attachment["content"];
        assert_eq!(card["type"], "AdaptiveCard");
        assert_eq!(card["body"][0]["text"], "Warning BackOff: Pod shop/web-1");
        assert_eq!(card["body"][0]["color"], "Attention");
        assert_eq!(
            card["body"][2]["facts"][0],
            json!({"title": "Label", "value": "eu-1"})
        );
    }

    #[test]
    fn connector_failures_in_a_200_are_read() {
        let format = TeamsSinkConfig::new("https://x.test/hook")
            .format()
            .unwrap();
        assert_eq!(format.verdict(200, b"1"), Verdict::Delivered);
        assert_eq!(format.verdict(202, b""), Verdict::Delivered);
        assert!(matches!(
            format.verdict(200, b"Webhook message delivery failed with error: Microsoft Teams endpoint returned HTTP error 429 with ContextId ..."),
            Verdict::Retry(_)
        ));
        assert!(matches!(
            format.verdict(200, b"Webhook message delivery failed with error: Microsoft Teams endpoint returned HTTP error 413"),
            Verdict::Reject(_)
        ));
        assert!(matches!(
            format.verdict(400, b"Bad payload"),
            Verdict::Reject(_)
        ));
    }
}
