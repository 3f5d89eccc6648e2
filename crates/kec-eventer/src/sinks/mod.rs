//! Sinks: where Events go. Every kind is a `*Config` (its doc comments are the user docs), a
//! `problems()` check and a `start()` that returns its running tasks; all kinds are listed in
//! the one enum [`SinkConfig`]. Each sink reads its own bounded channel.

pub mod center;
pub mod stdout;

use serde::{Deserialize, Serialize};

use center::CenterSinkConfig;
use stdout::StdoutSinkConfig;

/// Every sink kind, tagged by `type`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum SinkConfig {
    /// The kec center's ingest API, with a disk spool.
    Center(CenterSinkConfig),
    /// JSON lines (the original Event objects) on standard output.
    Stdout(StdoutSinkConfig),
}

impl SinkConfig {
    /// A short name for logs and problems.
    pub fn describe(&self) -> String {
        match self {
            SinkConfig::Center(config) => {
                format!("center {} (cluster {})", config.endpoint, config.cluster)
            }
            SinkConfig::Stdout(_) => "stdout".to_string(),
        }
    }

    /// Every problem with this sink's settings; `field` prefixes each.
    pub fn problems(&self, field: &str) -> Vec<String> {
        match self {
            SinkConfig::Center(config) => config.problems(field),
            SinkConfig::Stdout(config) => config.problems(field),
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
        let sink: SinkConfig = serde_json::from_str(r#"{"type": "stdout"}"#).unwrap();
        assert_eq!(sink, SinkConfig::Stdout(StdoutSinkConfig::default()));
        assert!(serde_json::from_str::<SinkConfig>(r#"{"type": "stdout", "colour": 1}"#).is_err());
        assert!(serde_json::from_str::<SinkConfig>(r#"{"type": "dingtalk"}"#).is_err());
    }
}
