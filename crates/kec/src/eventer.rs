//! `kec eventer`: kube-eventer-compatible flags mapped onto [`kec_eventer::EventerConfig`].
//!
//! Every flag is checked before anything starts, and every problem is reported at once.

use std::path::PathBuf;

use anyhow::bail;
use kec_eventer::{EventerConfig, EventsApi, KubeConnection, KubernetesSourceConfig, kube_eventer};

/// Watch this cluster's Events and deliver every occurrence to the kec center and other sinks.
///
/// Flags follow kube-eventer's where they exist. Example:
///   kec eventer --source=kubernetes: --sink='kec:http://kec-center:8080?cluster=prod'
#[derive(Debug, clap::Args)]
pub struct EventerArgs {
    /// Where Events come from (kube-eventer syntax). `kubernetes:` uses --kubeconfig /
    /// --context, else KUBECONFIG or ~/.kube/config, else the in-cluster service account.
    /// `kubernetes:<url>` uses the in-cluster service account against <url>;
    /// `kubernetes:<url>?inClusterConfig=false` uses the kubeconfig's credentials against <url>
    /// if a kubeconfig is given or found, else no credentials (e.g. `kubectl proxy`).
    #[arg(long, default_value = "kubernetes:", conflicts_with = "config")]
    source: String,
    /// Where Events go; repeat for several sinks. `kec:<center-url>?cluster=<name>[&gzip=true]`
    /// pushes to a kec center (plain http, with a disk spool under --state-dir); `stdout`
    /// writes one JSON line per Event.
    #[arg(long = "sink", value_name = "SINK", conflicts_with = "config")]
    sinks: Vec<String>,
    /// A YAML configuration file instead of --source/--sink: named sinks of every kind, a
    /// route tree with match and drop rules (see docs/EVENTER.md). --state-dir still applies
    /// when the file does not set state_dir.
    #[arg(long, value_name = "FILE")]
    config: Option<PathBuf>,
    /// Address of /healthz and /metrics (kube-eventer's flag).
    #[arg(long, default_value = "0.0.0.0")]
    healthz_ip: std::net::IpAddr,
    /// Port of /healthz and /metrics (kube-eventer's flag); 0 turns the server off.
    #[arg(long, default_value_t = 8084)]
    healthz_port: u16,
    /// Accepted for kube-eventer compatibility and ignored: Events are delivered as they come.
    #[arg(long, value_name = "DURATION")]
    frequency: Option<String>,
    /// Kubeconfig file (default: KUBECONFIG, then ~/.kube/config).
    #[arg(long)]
    kubeconfig: Option<PathBuf>,
    /// Kubeconfig context (default: the current context).
    #[arg(long)]
    context: Option<String>,
    /// Namespaces to watch, comma-separated (default: all namespaces).
    #[arg(long, value_delimiter = ',')]
    namespaces: Vec<String>,
    /// Directory of the state file (kec-eventer-state.json) and the center spools.
    #[arg(long, default_value = ".")]
    state_dir: PathBuf,
    /// Which Event API to watch: core/v1 (default, as kube-eventer) or events.k8s.io/v1.
    /// Overrides source.api of --config.
    #[arg(long, value_name = "API")]
    events_api: Option<EventsApi>,
    /// Several replicas: only the holder of a coordination.k8s.io/v1 Lease watches Events
    /// (needs get, create and update on leases). Overrides leader_election of --config.
    #[arg(long)]
    leader_elect: bool,
    /// Name of the leader election Lease (default: kec-eventer).
    #[arg(long, value_name = "NAME", requires = "leader_elect")]
    leader_elect_lease_name: Option<String>,
    /// Namespace of the leader election Lease (default: POD_NAMESPACE, else the service
    /// account's namespace, else default).
    #[arg(long, value_name = "NAMESPACE", requires = "leader_elect")]
    leader_elect_namespace: Option<String>,
}

/// The flags that apply over both the other flags and --config: Event API, leader election.
fn apply_common_flags(config: &mut EventerConfig, args: &EventerArgs) {
    if let Some(events_api) = args.events_api {
        config.source.api = events_api;
    }
    if args.leader_elect {
        config.leader_election.enabled = true;
    }
    if let Some(lease_name) = &args.leader_elect_lease_name {
        config.leader_election.lease_name = lease_name.clone();
    }
    if let Some(namespace) = &args.leader_elect_namespace {
        config.leader_election.lease_namespace = Some(namespace.clone());
    }
}

/// Query parameters of a kube-eventer URL (`?a=b&c=d`).
fn query_pairs(query: &str) -> Vec<(String, String)> {
    reqwest::Url::parse(&format!("http://query.invalid/?{query}"))
        .map(|url| {
            url.query_pairs()
                .map(|(key, value)| (key.into_owned(), value.into_owned()))
                .collect()
        })
        .unwrap_or_default()
}

fn parse_bool(flag: &str, key: &str, value: &str, problems: &mut Vec<String>) -> bool {
    match value {
        "true" | "1" => true,
        "false" | "0" => false,
        _ => {
            problems.push(format!("{flag}: {key}={value:?} is not true or false"));
            false
        }
    }
}

fn parse_source(args: &EventerArgs, problems: &mut Vec<String>) -> KubeConnection {
    let Some(rest) = args.source.strip_prefix("kubernetes:") else {
        problems.push(format!(
            "--source={:?}: only the kubernetes source exists (kubernetes:[<url>][?inClusterConfig=true|false])",
            args.source
        ));
        return KubeConnection::Infer;
    };
    let (url, query) = rest.split_once('?').unwrap_or((rest, ""));
    let mut in_cluster = true;
    for (key, value) in query_pairs(query) {
        match key.as_str() {
            "inClusterConfig" => in_cluster = parse_bool("--source", &key, &value, problems),
            // kube-eventer parameters about TLS and auth files: not supported in this version.
            _ => problems.push(format!("--source: unsupported parameter {key:?}")),
        }
    }
    let kubeconfig_given = args.kubeconfig.is_some() || args.context.is_some();
    if url.is_empty() {
        if kubeconfig_given {
            return KubeConnection::Kubeconfig {
                path: args.kubeconfig.clone(),
                context: args.context.clone(),
                server_url: None,
            };
        }
        return KubeConnection::Infer;
    }
    if in_cluster {
        if kubeconfig_given {
            problems
                .push("--kubeconfig/--context need inClusterConfig=false in --source".to_string());
        }
        return KubeConnection::InCluster {
            server_url: Some(url.to_string()),
        };
    }
    let default_kubeconfig_exists = std::env::var_os("KUBECONFIG").is_some()
        || std::env::var_os("HOME")
            .is_some_and(|home| PathBuf::from(home).join(".kube/config").is_file());
    if kubeconfig_given || default_kubeconfig_exists {
        KubeConnection::Kubeconfig {
            path: args.kubeconfig.clone(),
            context: args.context.clone(),
            server_url: Some(url.to_string()),
        }
    } else {
        KubeConnection::Url {
            server_url: url.to_string(),
        }
    }
}

/// Go-style durations as kube-eventer takes them: `30s`, `1m`, `500ms`, `1h`.
fn is_duration(text: &str) -> bool {
    let digits_end = text
        .find(|character: char| !character.is_ascii_digit())
        .unwrap_or(text.len());
    digits_end > 0 && matches!(&text[digits_end..], "ms" | "s" | "m" | "h")
}

/// The eventer configuration the flags describe, or every problem with them.
pub fn config_from_args(args: &EventerArgs) -> Result<EventerConfig, Vec<String>> {
    let mut problems = Vec::new();
    let connection = parse_source(args, &mut problems);
    if let Some(frequency) = &args.frequency
        && !is_duration(frequency)
    {
        problems.push(format!(
            "--frequency={frequency:?} is not a duration like 30s or 1m"
        ));
    }
    let mut flag_sinks = Vec::new();
    for text in &args.sinks {
        match kube_eventer::parse_sink_flag(text) {
            Ok(flag) => flag_sinks.push(flag),
            Err(flag_problems) => problems.extend(flag_problems),
        }
    }
    if args.sinks.is_empty() {
        problems.push("at least one --sink is needed".to_string());
    }
    let source = KubernetesSourceConfig {
        connection,
        namespaces: args.namespaces.clone(),
        ..KubernetesSourceConfig::default()
    };
    let mut config = EventerConfig::new(source, Vec::new());
    let (sinks, route) = kube_eventer::sinks_and_route(flag_sinks);
    config.sinks = sinks;
    config.route = Some(route);
    config.state_dir = args.state_dir.clone();
    apply_common_flags(&mut config, args);
    // "at least one --sink" (above) already says it in the flags' words.
    problems.extend(
        config
            .problems()
            .into_iter()
            .filter(|problem| problem != "at least one sink is needed"),
    );
    if problems.is_empty() {
        Ok(config)
    } else {
        Err(problems)
    }
}

/// The configuration of `--config`, or every problem with it.
fn config_from_file(path: &std::path::Path, args: &EventerArgs) -> anyhow::Result<EventerConfig> {
    let text = std::fs::read_to_string(path).map_err(|error| {
        anyhow::anyhow!(
            "cannot read the configuration file {}: {error}",
            path.display()
        )
    })?;
    let mut config = EventerConfig::from_yaml(&text).map_err(|error| match error {
        kec_eventer::Error::InvalidConfig(problems) => anyhow::anyhow!(
            "invalid configuration file {}:\n  - {}",
            path.display(),
            problems.join("\n  - ")
        ),
        other => anyhow::anyhow!(other),
    })?;
    if !text.lines().any(|line| line.starts_with("state_dir:")) {
        config.state_dir = args.state_dir.clone();
    }
    apply_common_flags(&mut config, args);
    if let Err(kec_eventer::Error::InvalidConfig(problems)) = config.validate() {
        bail!("invalid eventer flags:\n  - {}", problems.join("\n  - "));
    }
    Ok(config)
}

pub async fn run(args: EventerArgs) -> anyhow::Result<()> {
    let config = match &args.config {
        Some(path) => config_from_file(path, &args)?,
        None => match config_from_args(&args) {
            Ok(config) => config,
            Err(problems) => bail!("invalid eventer flags:\n  - {}", problems.join("\n  - ")),
        },
    };
    if args.frequency.is_some() {
        tracing::info!("--frequency is accepted for compatibility and ignored");
    }
    let shutdown = crate::shutdown_on_signals();
    let sinks: Vec<String> = config
        .sinks
        .iter()
        .map(|(name, sink)| format!("{name}: {}", sink.describe()))
        .collect();
    let state_dir = config.state_dir.clone();
    let eventer = config.build().await?;
    tracing::info!(?sinks, state_dir = %state_dir.display(), "kec eventer running");
    let telemetry_stop = tokio_util::sync::CancellationToken::new();
    if args.healthz_port != 0 {
        let address = std::net::SocketAddr::new(args.healthz_ip, args.healthz_port);
        let telemetry = eventer.telemetry();
        let stop = telemetry_stop.clone();
        tokio::spawn(async move {
            let served = kec_eventer::telemetry::serve(address, telemetry, stop, |bound| {
                tracing::info!(address = %bound, "/metrics and /healthz listening");
            })
            .await;
            if let Err(error) = served {
                tracing::error!(%address, %error, "cannot serve /metrics and /healthz (see --healthz-ip, --healthz-port)");
            }
        });
    }
    let sink_failed = tokio::select! {
        () = shutdown.cancelled() => false,
        () = eventer.failed() => true,
    };
    eventer.shutdown().await;
    telemetry_stop.cancel();
    if sink_failed {
        bail!(
            "a sink stopped (see the log above), so not every event could be delivered; \
             fix the sink and start kec eventer again: it relists and resends what was missed"
        );
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;
    use kec_eventer::SinkConfig;

    #[derive(Debug, Parser)]
    struct TestCli {
        #[command(flatten)]
        args: EventerArgs,
    }

    fn args(flags: &[&str]) -> EventerArgs {
        TestCli::parse_from(std::iter::once("kec-eventer").chain(flags.iter().copied())).args
    }

    #[test]
    fn kube_eventer_flags_map_onto_the_config() {
        let config = config_from_args(&args(&[
            "--source=kubernetes:http://127.0.0.1:6443?inClusterConfig=false",
            "--sink=kec:http://center:8080?cluster=prod&gzip=true",
            "--sink=stdout",
            "--frequency=30s",
            "--namespaces=prod,kube-system",
            "--state-dir=/var/lib/kec",
        ]))
        .unwrap();
        assert_eq!(config.source.namespaces, vec!["prod", "kube-system"]);
        assert_eq!(config.sinks.len(), 2);
        let Some(SinkConfig::Center(center)) = config.sinks.get("center") else {
            panic!("expected the center sink first");
        };
        assert_eq!(
            center.ingest_url(),
            "http://center:8080/api/v1/clusters/prod/events"
        );
        assert!(center.gzip);
        assert_eq!(config.state_dir, PathBuf::from("/var/lib/kec"));
        let in_cluster = config_from_args(&args(&[
            "--source=kubernetes:https://kubernetes.default",
            "--sink=stdout",
        ]))
        .unwrap();
        assert_eq!(
            in_cluster.source.connection,
            KubeConnection::InCluster {
                server_url: Some("https://kubernetes.default".into())
            }
        );
    }

    #[test]
    fn leader_election_and_event_api_flags_map_onto_the_config() {
        let plain = config_from_args(&args(&["--sink=stdout"])).unwrap();
        assert!(!plain.leader_election.enabled);
        assert_eq!(plain.source.api, EventsApi::CoreV1);
        let config = config_from_args(&args(&[
            "--sink=stdout",
            "--leader-elect",
            "--leader-elect-lease-name=eventer-prod",
            "--leader-elect-namespace=kec-system",
            "--events-api=events.k8s.io/v1",
        ]))
        .unwrap();
        assert!(config.leader_election.enabled);
        assert_eq!(config.leader_election.lease_name, "eventer-prod");
        assert_eq!(
            config.leader_election.lease_namespace.as_deref(),
            Some("kec-system")
        );
        assert_eq!(config.source.api, EventsApi::EventsV1);
        let bad = config_from_args(&args(&[
            "--sink=stdout",
            "--leader-elect",
            "--leader-elect-lease-name=Bad_Name",
            "--leader-elect-namespace=Bad_NS",
        ]))
        .unwrap_err();
        assert_eq!(bad.len(), 2, "{bad:#?}");
        let unknown_api = TestCli::try_parse_from(["kec-eventer", "--events-api=v2"]);
        assert!(unknown_api.is_err());
        let without_election =
            TestCli::try_parse_from(["kec-eventer", "--leader-elect-namespace=kec"]);
        assert!(
            without_election.is_err(),
            "the Lease flags need --leader-elect"
        );
    }

    #[test]
    fn every_bad_flag_is_reported_at_once() {
        let problems = config_from_args(&args(&[
            "--source=kafka:broker",
            "--sink=dingtalk:https://oapi.dingtalk.com?label=x",
            "--sink=kec:http://center:8080",
            "--sink=kec:ftp://center?cluster=Prod",
            "--frequency=often",
            "--namespaces=Bad_NS",
        ]))
        .unwrap_err();
        assert_eq!(problems.len(), 7, "{problems:#?}");
        let none = config_from_args(&args(&[])).unwrap_err();
        assert_eq!(none, vec!["at least one --sink is needed".to_string()]);
    }
}
