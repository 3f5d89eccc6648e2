//! Sinks: where Events go. All kinds are listed in the one enum [`SinkConfig`]; each is a
//! `*Config` (its doc comments are the user docs) with a `problems()` check and a way to start.
//! Routing decides what each sink gets ([`crate::routing`]); sinks never filter.
//!
//! Two families:
//! - durable sinks (`center`, `stdout`): the fan-out waits for them (backpressure reaches the
//!   source); the center spools to disk and loses nothing;
//! - HTTP sinks (`webhook`, chat robots, cloud APIs): a [`http::Format`] plus the shared
//!   delivery of [`http`] (bounded queue that drops when full, rate limits, batching, retries).
//!   Each implements [`HttpSinkConfig`]; adding one is a variant here, one arm in
//!   [`SinkConfig::http`] and one in [`crate::kube_eventer`]'s sink table.

pub mod alibaba;
pub mod center;
pub mod chat;
pub mod dingtalk;
pub mod eventbridge;
pub mod file;
pub mod http;
pub mod lark;
pub mod slack;
pub mod sls;
pub mod stdout;
pub mod teams;
pub mod webhook;
pub mod wechat;

use std::sync::Arc;

use serde::{Deserialize, Serialize};

use crate::ratelimit::RateLimitConfig;
use center::CenterSinkConfig;
use http::{DeliveryConfig, Format};
use stdout::StdoutSinkConfig;

/// Every sink kind, tagged by `type`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum SinkConfig {
    /// The kec center's ingest API, with a disk spool.
    Center(CenterSinkConfig),
    /// JSON lines (the original Event objects) on standard output.
    Stdout(StdoutSinkConfig),
    /// JSON lines (the original Event objects) appended to a file, rotated by size.
    File(file::FileSinkConfig),
    /// Any HTTP endpoint: method, headers and a body (kube-eventer's Go templates or JSON).
    Webhook(webhook::WebhookSinkConfig),
    /// A DingTalk group's custom robot.
    #[serde(rename = "dingtalk")]
    DingTalk(dingtalk::DingTalkSinkConfig),
    /// WeCom: a group robot or an application.
    #[serde(rename = "wechat")]
    WeChat(wechat::WeChatSinkConfig),
    /// A Feishu / Lark group's custom bot.
    Lark(lark::LarkSinkConfig),
    /// A Slack incoming webhook.
    Slack(slack::SlackSinkConfig),
    /// A Microsoft Teams incoming webhook.
    Teams(teams::TeamsSinkConfig),
    /// Alibaba Cloud Log Service (PutLogs).
    Sls(sls::SlsSinkConfig),
    /// Alibaba Cloud EventBridge (PutEvents, CloudEvents).
    #[serde(rename = "eventbridge")]
    EventBridge(eventbridge::EventBridgeSinkConfig),
}

/// What every HTTP sink's config offers the shared delivery.
pub trait HttpSinkConfig {
    /// The kind's name (`webhook`, `dingtalk`, ...), as in `type:`.
    fn kind(&self) -> &'static str;
    /// A short description for logs; never a secret (no tokens, no signed URLs).
    fn describe(&self) -> String;
    /// Every problem with the settings, each prefixed with `field`.
    fn problems(&self, field: &str) -> Vec<String>;
    /// The wire format (the config must be valid).
    fn format(&self) -> crate::Result<Arc<dyn Format>>;
    fn delivery(&self) -> &DeliveryConfig;
    fn rate_limit(&self) -> &RateLimitConfig;
}

impl SinkConfig {
    /// The kind's name, as in `type:`.
    pub fn kind(&self) -> &'static str {
        match self {
            SinkConfig::Center(_) => "center",
            SinkConfig::Stdout(_) => "stdout",
            SinkConfig::File(_) => "file",
            other => other.http().map_or("unknown", HttpSinkConfig::kind),
        }
    }

    /// The HTTP sink behind this config, if it is one.
    pub fn http(&self) -> Option<&dyn HttpSinkConfig> {
        match self {
            SinkConfig::Webhook(config) => Some(config),
            SinkConfig::DingTalk(config) => Some(config),
            SinkConfig::WeChat(config) => Some(config),
            SinkConfig::Lark(config) => Some(config),
            SinkConfig::Slack(config) => Some(config),
            SinkConfig::Teams(config) => Some(config),
            SinkConfig::Sls(config) => Some(config),
            SinkConfig::EventBridge(config) => Some(config),
            SinkConfig::Center(_) | SinkConfig::Stdout(_) | SinkConfig::File(_) => None,
        }
    }

    /// A short name for logs and problems; never a secret.
    pub fn describe(&self) -> String {
        match self {
            SinkConfig::Center(config) => {
                format!("center {} (cluster {})", config.endpoint, config.cluster)
            }
            SinkConfig::Stdout(_) => "stdout".to_string(),
            SinkConfig::File(config) => format!("file {}", config.path.display()),
            other => other
                .http()
                .map_or_else(|| "unknown".to_string(), HttpSinkConfig::describe),
        }
    }

    /// Every problem with this sink's settings; `field` prefixes each.
    pub fn problems(&self, field: &str) -> Vec<String> {
        match self {
            SinkConfig::Center(config) => config.problems(field),
            SinkConfig::Stdout(config) => config.problems(field),
            SinkConfig::File(config) => config.problems(field),
            other => other.http().map_or_else(Vec::new, |http| {
                let mut problems = http.problems(field);
                problems.extend(http.delivery().problems(&format!("{field}.delivery")));
                problems.extend(http.rate_limit().problems(&format!("{field}.rate_limit")));
                problems
            }),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sink_kinds_read_from_tagged_json_and_unknown_fields_are_refused() {
        let sink: SinkConfig = serde_json::from_str(
            r#"{"type": "center", "endpoint": "http://center:8080", "cluster": "prod"}"#,
        )
        .unwrap();
        assert!(matches!(&sink, SinkConfig::Center(config) if config.cluster == "prod"));
        assert_eq!(sink.kind(), "center");
        let sink: SinkConfig = serde_json::from_str(r#"{"type": "stdout"}"#).unwrap();
        assert_eq!(sink, SinkConfig::Stdout(StdoutSinkConfig::default()));
        assert!(serde_json::from_str::<SinkConfig>(r#"{"type": "stdout", "colour": 1}"#).is_err());
        assert!(serde_json::from_str::<SinkConfig>(r#"{"type": "carrier-pigeon"}"#).is_err());
    }
}
