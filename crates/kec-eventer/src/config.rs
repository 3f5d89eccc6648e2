//! [`EventerConfig`]: the whole eventer configuration, `validate()` (every problem at once),
//! then `build()` (the running [`Eventer`]).

use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;

use serde::{Deserialize, Serialize};

use crate::enrich::EnrichmentConfig;
use crate::leader::LeaderElectionConfig;
use crate::pipeline::Eventer;
use crate::routing::RouteConfig;
use crate::sinks::SinkConfig;
use crate::source::KubernetesSourceConfig;
use crate::{Error, Result};

/// Everything `kec eventer` runs with.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EventerConfig {
    /// Where Events come from.
    #[serde(default)]
    pub source: KubernetesSourceConfig,
    /// Where Events go (at least one), by name. Names are what routes refer to.
    pub sinks: BTreeMap<String, SinkConfig>,
    /// Which sinks get which Events (see [`crate::routing`]). Without one, every sink gets
    /// every Event.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub route: Option<RouteConfig>,
    /// Directory of the state file and the spools (created if missing).
    #[serde(default = "default_state_dir")]
    pub state_dir: PathBuf,
    /// Capacity of the channel from the source and of each sink's channel (records). When
    /// full, the source waits (backpressure, counted in `backpressure_waits`).
    #[serde(default = "default_channel_capacity")]
    pub channel_capacity: usize,
    /// On shutdown, how long sinks may keep delivering what is queued, in milliseconds
    /// (what is left stays in the spool for the next start).
    #[serde(default = "default_flush_timeout_ms")]
    pub flush_timeout_ms: u64,
    /// High availability: only the holder of a Lease runs the sources (see [`crate::leader`]).
    #[serde(default)]
    pub leader_election: LeaderElectionConfig,
    /// Node, owner workload and labels added from watch caches (see [`crate::enrich`]).
    #[serde(default)]
    pub enrichment: EnrichmentConfig,
}

/// Names sinks by kind: the first of a kind is `<kind>`, the next `<kind>-2`, ...
pub fn name_sinks(sinks: Vec<SinkConfig>) -> BTreeMap<String, SinkConfig> {
    let mut named = BTreeMap::new();
    for sink in sinks {
        named.insert(free_name(sink.kind(), &named), sink);
    }
    named
}

/// `kind`, or `kind-2`, `kind-3`, ... whichever is not taken yet.
pub fn free_name(kind: &str, taken: &BTreeMap<String, SinkConfig>) -> String {
    let mut name = kind.to_string();
    let mut index = 1;
    while taken.contains_key(&name) {
        index += 1;
        name = format!("{kind}-{index}");
    }
    name
}

fn is_sink_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 63
        && name
            .chars()
            .all(|character| character.is_ascii_alphanumeric() || matches!(character, '-' | '_'))
}

fn default_state_dir() -> PathBuf {
    PathBuf::from(".")
}
fn default_channel_capacity() -> usize {
    256
}
fn default_flush_timeout_ms() -> u64 {
    10_000
}

impl EventerConfig {
    /// A config with defaults around the given source and sinks.
    pub fn new(source: KubernetesSourceConfig, sinks: Vec<SinkConfig>) -> EventerConfig {
        EventerConfig {
            source,
            sinks: name_sinks(sinks),
            route: None,
            state_dir: default_state_dir(),
            channel_capacity: default_channel_capacity(),
            flush_timeout_ms: default_flush_timeout_ms(),
            leader_election: LeaderElectionConfig::default(),
            enrichment: EnrichmentConfig::default(),
        }
    }

    /// Every problem of the configuration, in order.
    pub fn problems(&self) -> Vec<String> {
        let mut problems = self.source.problems();
        if self.sinks.is_empty() {
            problems.push("at least one sink is needed".to_string());
        }
        let mut spool_names = BTreeSet::new();
        for (name, sink) in &self.sinks {
            if !is_sink_name(name) {
                problems.push(format!(
                    "sinks: {name:?} is not a sink name (letters, digits, '-' and '_', at most 63)"
                ));
            }
            problems.extend(sink.problems(&format!("sinks.{name}")));
            if let SinkConfig::Center(center) = sink
                && !spool_names.insert(center.spool_name())
            {
                problems.push(format!(
                    "sinks.{name}: a second center sink for cluster {:?} (one spool per cluster)",
                    center.cluster
                ));
            }
        }
        if let Some(route) = &self.route {
            problems.extend(route.problems("route", &self.sinks.keys().cloned().collect()));
        }
        if self.channel_capacity == 0 {
            problems.push("channel_capacity must be at least 1".to_string());
        }
        problems.extend(self.leader_election.problems("leader_election"));
        problems.extend(self.enrichment.problems("enrichment"));
        problems
    }

    /// Reads a YAML configuration (see docs/EVENTER.md) and checks it; the error lists every
    /// problem, or says where the YAML cannot be read.
    pub fn from_yaml(text: &str) -> Result<EventerConfig> {
        let config: EventerConfig = serde_saphyr::from_str(text)
            .map_err(|error| Error::InvalidConfig(vec![error.to_string()]))?;
        config.validate()?;
        Ok(config)
    }

    /// Checks the whole configuration; the error lists every problem.
    pub fn validate(&self) -> Result<()> {
        let problems = self.problems();
        if problems.is_empty() {
            Ok(())
        } else {
            Err(Error::InvalidConfig(problems))
        }
    }

    /// Validates, connects to the API server as configured and starts the eventer.
    pub async fn build(self) -> Result<Eventer> {
        self.validate()?;
        let client = self.source.client().await?;
        Eventer::start(self, client).await
    }

    /// Like [`Self::build`], with a client made elsewhere (tests, embedding).
    pub async fn build_with_client(self, client: kube::Client) -> Result<Eventer> {
        self.validate()?;
        Eventer::start(self, client).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sinks::center::CenterSinkConfig;
    use crate::source::KubeConnection;

    #[test]
    fn every_problem_is_reported_at_once() {
        let source = KubernetesSourceConfig {
            connection: KubeConnection::Url {
                server_url: "not a url".into(),
            },
            namespaces: vec!["Prod".into()],
            watch_timeout_secs: 0,
            ..KubernetesSourceConfig::default()
        };
        let sinks = vec![
            SinkConfig::Center(CenterSinkConfig::new("http://center", "a")),
            SinkConfig::Center(CenterSinkConfig::new("http://other", "a")),
        ];
        let mut config = EventerConfig::new(source, sinks);
        config.channel_capacity = 0;
        let problems = config.problems();
        assert_eq!(problems.len(), 5, "{problems:?}");
        assert_eq!(
            config.sinks.keys().collect::<Vec<_>>(),
            vec!["center", "center-2"]
        );
        assert!(
            matches!(config.validate(), Err(Error::InvalidConfig(listed)) if listed == problems)
        );
        let empty = EventerConfig::new(KubernetesSourceConfig::default(), Vec::new());
        assert_eq!(
            empty.problems(),
            vec!["at least one sink is needed".to_string()]
        );
    }

    #[test]
    fn a_yaml_config_with_a_route_tree_reads_and_checks() {
        let config = EventerConfig::from_yaml(
            r#"
source:
  namespaces: [prod, stage]
  connection: {type: in_cluster}
sinks:
  center: {type: center, endpoint: "https://kec.example", cluster: prod}
  out: {type: stdout}
route:
  drop:
    - {type: Normal, reason: "/^(Pulled|Created|Started)$/"}
  sinks: [center]
  routes:
    - match: [{type: Warning, namespace: prod}]
      sinks: [out]
"#,
        )
        .unwrap();
        assert_eq!(config.sinks.len(), 2);
        let route = config.route.as_ref().unwrap();
        assert_eq!(route.drop.len(), 1);
        assert_eq!(route.routes[0].sinks, vec!["out"]);

        let error = EventerConfig::from_yaml(
            "sinks:\n  a: {type: stdout}\nroute: {sinks: [b], routes: [{match: [{reason: '/(/'}]}]}\n",
        )
        .unwrap_err();
        let Error::InvalidConfig(problems) = error else {
            panic!("{error:?}")
        };
        assert_eq!(problems.len(), 2, "{problems:?}");
        let unreadable = EventerConfig::from_yaml("sinks: {a: {type: stdout, colour: red}}");
        assert!(
            matches!(&unreadable, Err(Error::InvalidConfig(problems)) if problems[0].contains("colour")),
            "{unreadable:?}"
        );
    }

    #[test]
    fn a_json_config_reads_with_defaults() {
        let config: EventerConfig = serde_json::from_str(
            r#"{"source": {"namespaces": ["prod"], "connection": {"type": "url", "server_url": "http://127.0.0.1:6443"}},
                "sinks": {"out": {"type": "stdout"}}}"#,
        )
        .unwrap();
        assert!(config.validate().is_ok());
        assert_eq!(config.source.watch_timeout_secs, 290);
        assert_eq!(config.channel_capacity, 256);
    }
}
