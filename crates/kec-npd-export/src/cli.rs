//! The `kec npd` command line (also the slim `kec-npd` agent binary): node-problem-detector's
//! flags mapped onto kec-npd's monitors and this crate's problem daemon and exporters.
//!
//! Every flag and every monitor config is checked before anything starts, and every problem is
//! reported at once (NPD stops at the first).

use std::net::{IpAddr, SocketAddr};
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use crate::supervisor::{self, MonitorSpec};
use crate::{
    ApiServerTarget, ConditionBook, K8sExporter, K8sExporterConfig, NpdMetrics, ProblemDaemon,
    SharedBook, SharedClock, SystemClock,
};
use anyhow::{Context, bail};
use clap::ArgAction;
use kec_npd::{MonitorKind, MonitorOptions};
use tokio_util::sync::CancellationToken;

/// How long a stopped monitor waits before it is loaded and started again.
const MONITOR_RESTART_PAUSE: Duration = Duration::from_secs(10);
/// How long queued Events may take to be written at shutdown.
const EVENT_FLUSH_DEADLINE: Duration = Duration::from_secs(10);

/// Detect node problems (kernel deadlocks, runtime hangs, full tables, ...) from
/// node-problem-detector's JSON monitor configs and report them as node conditions, Events and
/// Prometheus metrics.
///
/// Flags keep node-problem-detector's names, defaults and meaning. Example:
///   kec npd --config.system-log-monitor=/config/kernel-monitor.json,/config/docker-monitor.json
#[derive(Debug, clap::Args)]
pub struct NpdArgs {
    /// System log monitor configs (kmsg, journald, filelog), comma-separated; repeatable.
    #[arg(
        long = "config.system-log-monitor",
        value_delimiter = ',',
        value_name = "PATHS"
    )]
    system_log_monitor: Vec<PathBuf>,
    /// Custom plugin monitor configs, comma-separated; repeatable.
    #[arg(
        long = "config.custom-plugin-monitor",
        value_delimiter = ',',
        value_name = "PATHS"
    )]
    custom_plugin_monitor: Vec<PathBuf>,
    /// System stats monitor configs, comma-separated; repeatable.
    #[arg(
        long = "config.system-stats-monitor",
        value_delimiter = ',',
        value_name = "PATHS"
    )]
    system_stats_monitor: Vec<PathBuf>,
    /// kec's native check configs (no shell needed), comma-separated; repeatable.
    #[arg(
        long = "config.native-checks",
        value_delimiter = ',',
        value_name = "PATHS"
    )]
    native_checks: Vec<PathBuf>,
    /// Deprecated NPD spelling of --config.system-log-monitor (not with it).
    #[arg(long = "system-log-monitors", value_delimiter = ',', hide = true)]
    deprecated_system_log_monitors: Vec<PathBuf>,
    /// Deprecated NPD spelling of --config.custom-plugin-monitor (not with it).
    #[arg(long = "custom-plugin-monitors", value_delimiter = ',', hide = true)]
    deprecated_custom_plugin_monitors: Vec<PathBuf>,
    /// The node name; default: env NODE_NAME, then the hostname.
    #[arg(long, default_value = "")]
    hostname_override: String,
    /// Report to the Kubernetes API server (node conditions and Events).
    #[arg(long, value_parser = parse_go_bool, default_value = "true", num_args = 0..=1,
        require_equals = true, default_missing_value = "true", action = ArgAction::Set)]
    enable_k8s_exporter: bool,
    /// Write Kubernetes Events.
    #[arg(long, value_parser = parse_go_bool, default_value = "true", num_args = 0..=1,
        require_equals = true, default_missing_value = "true", action = ArgAction::Set)]
    k8s_exporter_write_events: bool,
    /// Update node conditions.
    #[arg(long, value_parser = parse_go_bool, default_value = "true", num_args = 0..=1,
        require_equals = true, default_missing_value = "true", action = ArgAction::Set)]
    k8s_exporter_update_node_conditions: bool,
    /// The node status is PATCHed at least this often (Go duration).
    #[arg(long, value_parser = parse_go_duration, default_value = "5m")]
    k8s_exporter_heartbeat_period: Duration,
    /// NPD's API server URI: `https://host:port[?inClusterConfig=false&auth=<kubeconfig>&insecure=true]`.
    #[arg(long)]
    apiserver_override: Option<String>,
    /// After this long without the Node a warning is logged (kec keeps waiting).
    #[arg(long, value_parser = parse_go_duration, default_value = "5m")]
    apiserver_wait_timeout: Duration,
    /// Pause between attempts to read the Node at start.
    #[arg(long, value_parser = parse_go_duration, default_value = "5s")]
    apiserver_wait_interval: Duration,
    /// Namespace of the Events (default: `default`, with a namespace-less Node reference).
    #[arg(long, default_value = "")]
    event_namespace: String,
    /// Address of /healthz and /conditions.
    #[arg(long, default_value = "127.0.0.1")]
    address: IpAddr,
    /// Port of /healthz and /conditions; 0 disables.
    #[arg(long, default_value_t = 20256)]
    port: u16,
    /// Address of the Prometheus endpoint (/metrics).
    #[arg(long, default_value = "127.0.0.1")]
    prometheus_address: IpAddr,
    /// Port of the Prometheus endpoint; 0 disables.
    #[arg(long, default_value_t = 20257)]
    prometheus_port: u16,
    /// Kubeconfig file (default: NPD's in-cluster config, or the --apiserver-override URI).
    #[arg(long)]
    kubeconfig: Option<PathBuf>,
    /// Where read positions (kmsg sequence number, journald cursor) are kept across restarts.
    #[arg(long, default_value = "/var/lib/kec-npd")]
    state_dir: PathBuf,
    /// kec only: a log-based condition nothing re-affirmed for this long goes back to its
    /// default (Go duration; `0`, the default, never clears, like NPD).
    #[arg(long, value_parser = parse_go_duration, default_value = "0")]
    condition_quiet_period: Duration,
}

/// Go's `strconv.ParseBool`, as NPD's flags accept.
fn parse_go_bool(text: &str) -> Result<bool, String> {
    match text {
        "1" | "t" | "T" | "true" | "TRUE" | "True" => Ok(true),
        "0" | "f" | "F" | "false" | "FALSE" | "False" => Ok(false),
        other => Err(format!("{other:?} is not a boolean (true or false)")),
    }
}

/// Go's `time.ParseDuration`, non-negative.
fn parse_go_duration(text: &str) -> Result<Duration, String> {
    let nanos = kec_npd::config::duration::parse_go_duration(text)?;
    u64::try_from(nanos)
        .map(Duration::from_nanos)
        .map_err(|_| format!("{text:?} is negative"))
}

/// What the flags ask for, checked.
#[derive(Debug)]
struct NpdPlan {
    node_name: String,
    exporter: Option<(K8sExporterConfig, ApiServerTarget)>,
    http: Option<SocketAddr>,
    prometheus: Option<SocketAddr>,
    quiet_period: Option<Duration>,
}

/// NPD's order: --hostname-override, then NODE_NAME, then the hostname.
fn node_name(
    override_name: &str,
    env_node_name: Option<String>,
    hostname: Option<String>,
) -> String {
    if !override_name.is_empty() {
        return override_name.to_string();
    }
    env_node_name
        .filter(|name| !name.is_empty())
        .or(hostname)
        .unwrap_or_default()
}

fn system_hostname() -> Option<String> {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .ok()
        .map(|name| name.trim().to_string())
        .filter(|name| !name.is_empty())
}

fn specs(kind: MonitorKind, paths: &[PathBuf]) -> impl Iterator<Item = MonitorSpec> + '_ {
    paths
        .iter()
        .filter(|path| !path.as_os_str().is_empty())
        .map(move |path| MonitorSpec {
            kind,
            path: path.clone(),
        })
}

/// Every monitor config named on the command line, in flag order.
fn monitor_specs(args: &NpdArgs) -> Vec<MonitorSpec> {
    specs(MonitorKind::SystemLog, &args.system_log_monitor)
        .chain(specs(
            MonitorKind::SystemLog,
            &args.deprecated_system_log_monitors,
        ))
        .chain(specs(
            MonitorKind::CustomPlugin,
            &args.custom_plugin_monitor,
        ))
        .chain(specs(
            MonitorKind::CustomPlugin,
            &args.deprecated_custom_plugin_monitors,
        ))
        .chain(specs(MonitorKind::SystemStats, &args.system_stats_monitor))
        .chain(specs(MonitorKind::NativeChecks, &args.native_checks))
        .collect()
}

/// Checks the flags; every problem at once.
fn plan_from_args(args: &NpdArgs, node_name: String) -> Result<NpdPlan, Vec<String>> {
    let mut problems = Vec::new();
    if !args.deprecated_system_log_monitors.is_empty() && !args.system_log_monitor.is_empty() {
        problems.push(
            "--system-log-monitors is deprecated in favor of --config.system-log-monitor; they cannot be set at the same time"
                .to_string(),
        );
    }
    if !args.deprecated_custom_plugin_monitors.is_empty() && !args.custom_plugin_monitor.is_empty()
    {
        problems.push(
            "--custom-plugin-monitors is deprecated in favor of --config.custom-plugin-monitor; they cannot be set at the same time"
                .to_string(),
        );
    }
    let monitors = monitor_specs(args);
    if monitors.is_empty() {
        problems.push(
            "no monitor config given (--config.system-log-monitor, --config.custom-plugin-monitor, --config.system-stats-monitor, --config.native-checks)"
                .to_string(),
        );
    }
    let exporter = if args.enable_k8s_exporter {
        let config = K8sExporterConfig {
            event_namespace: args.event_namespace.clone(),
            heartbeat_period: args.k8s_exporter_heartbeat_period,
            apiserver_wait_interval: args.apiserver_wait_interval,
            apiserver_wait_timeout: args.apiserver_wait_timeout,
            write_events: args.k8s_exporter_write_events,
            update_node_conditions: args.k8s_exporter_update_node_conditions,
            ..K8sExporterConfig::new(&node_name)
        };
        problems.extend(config.problems());
        let target = ApiServerTarget {
            apiserver_override: args
                .apiserver_override
                .clone()
                .filter(|uri| !uri.is_empty()),
            kubeconfig: args.kubeconfig.clone(),
        };
        problems.extend(target.problems());
        Some((config, target))
    } else {
        if node_name.is_empty() {
            problems.push("the node name is empty (--hostname-override, NODE_NAME)".to_string());
        }
        None
    };
    if problems.is_empty() {
        Ok(NpdPlan {
            node_name,
            exporter,
            http: (args.port != 0).then(|| SocketAddr::new(args.address, args.port)),
            prometheus: (args.prometheus_port != 0)
                .then(|| SocketAddr::new(args.prometheus_address, args.prometheus_port)),
            quiet_period: (!args.condition_quiet_period.is_zero())
                .then_some(args.condition_quiet_period),
        })
    } else {
        Err(problems)
    }
}

/// Flags and every monitor config: all problems at once.
fn check(
    args: &NpdArgs,
    node_name: String,
) -> Result<(NpdPlan, Vec<supervisor::LoadedMonitor>, MonitorOptions), Vec<String>> {
    let options = MonitorOptions::new(&args.state_dir, &node_name);
    let loaded = supervisor::load_all(&monitor_specs(args), &options);
    match (plan_from_args(args, node_name), loaded) {
        (Ok(plan), Ok(loaded)) => Ok((plan, loaded, options)),
        (Ok(_), Err(config_problems)) => Err(config_problems),
        (Err(flag_problems), Ok(_)) => Err(flag_problems),
        (Err(mut flag_problems), Err(config_problems)) => {
            flag_problems.extend(config_problems);
            Err(flag_problems)
        }
    }
}

/// A token cancelled on SIGINT or SIGTERM: the one owner of shutdown in `kec` (every role) and
/// in the `kec-npd` agent. Spawns the waiting task, so it must be called inside a Tokio runtime.
/// Where SIGTERM cannot be listened for, only SIGINT (Ctrl-C) cancels.
pub fn shutdown_on_signals() -> CancellationToken {
    let token = CancellationToken::new();
    let cancel = token.clone();
    tokio::spawn(async move {
        let terminate = async {
            match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
                Ok(mut signal) => {
                    signal.recv().await;
                }
                Err(_) => std::future::pending::<()>().await,
            }
        };
        tokio::select! {
            _ = tokio::signal::ctrl_c() => {}
            _ = terminate => {}
        }
        tracing::info!("shutting down");
        cancel.cancel();
    });
    token
}

/// Runs the agent until `shutdown` fires (SIGINT / SIGTERM in the binaries).
pub async fn run(args: NpdArgs, shutdown: CancellationToken) -> anyhow::Result<()> {
    let name = node_name(
        &args.hostname_override,
        std::env::var("NODE_NAME").ok(),
        system_hostname(),
    );
    let (plan, loaded, options) = match check(&args, name) {
        Ok(checked) => checked,
        Err(problems) => bail!(
            "invalid npd flags or configs:\n  - {}",
            problems.join("\n  - ")
        ),
    };
    std::fs::create_dir_all(&args.state_dir).with_context(|| {
        format!(
            "cannot create the state directory {}",
            args.state_dir.display()
        )
    })?;
    // System stats monitors publish on the options' board; /metrics reads it.
    let metrics = NpdMetrics::with_stats_board(options.stats_board.clone());
    let book: SharedBook = Arc::new(Mutex::new(ConditionBook::new(plan.quiet_period)));
    let clock: SharedClock = Arc::new(SystemClock);

    let servers_shutdown = CancellationToken::new();
    let mut servers = Vec::new();
    if let Some(address) = plan.http {
        let listener = crate::http::bind("the npd server (/healthz, /conditions)", address).await?;
        let router = crate::http::app(book.clone());
        servers.push(tokio::spawn(crate::http::serve(
            "the npd server",
            listener,
            router,
            servers_shutdown.clone(),
        )));
    }
    if let Some(address) = plan.prometheus {
        let listener = crate::http::bind("the Prometheus endpoint", address).await?;
        let router = crate::http::metrics_app(metrics.clone());
        servers.push(tokio::spawn(crate::http::serve(
            "the Prometheus endpoint",
            listener,
            router,
            servers_shutdown.clone(),
        )));
    }

    let exporter_shutdown = CancellationToken::new();
    let exporter = match &plan.exporter {
        Some((config, target)) => {
            let client = target
                .client()
                .await
                .context("cannot build a Kubernetes client (--apiserver-override, --kubeconfig)")?;
            Some(K8sExporter::start(
                config.clone(),
                client,
                book.clone(),
                clock.clone(),
                metrics.clone(),
                exporter_shutdown.clone(),
            ))
        }
        None => None,
    };

    let sources: Vec<String> = loaded
        .iter()
        .map(|monitor| monitor.monitor.source().to_string())
        .collect();
    let feeds = loaded
        .into_iter()
        .map(|monitor| {
            supervisor::supervise(
                monitor,
                options.clone(),
                metrics.clone(),
                MONITOR_RESTART_PAUSE,
                shutdown.clone(),
            )
        })
        .collect();
    tracing::info!(node = %plan.node_name, ?sources, k8s_exporter = plan.exporter.is_some(),
        http = ?plan.http, prometheus = ?plan.prometheus, "kec npd running");
    let daemon = ProblemDaemon::new(book, metrics, exporter, clock);
    // Returns once shutdown stopped every monitor and their last reports were handled.
    let exporter = daemon.run(feeds).await;
    exporter_shutdown.cancel();
    if let Some(exporter) = exporter
        && tokio::time::timeout(EVENT_FLUSH_DEADLINE, exporter.finish())
            .await
            .is_err()
    {
        tracing::warn!("queued events were not all written before the shutdown deadline");
    }
    servers_shutdown.cancel();
    for server in servers {
        match server.await {
            Ok(Ok(())) => {}
            Ok(Err(error)) => tracing::warn!(%error, "server stopped with an error"),
            Err(error) => tracing::warn!(%error, "server task failed"),
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    #[derive(Debug, Parser)]
    struct TestCli {
        #[command(flatten)]
        args: NpdArgs,
    }

    fn args(flags: &[&str]) -> NpdArgs {
        TestCli::parse_from(std::iter::once("kec-npd").chain(flags.iter().copied())).args
    }

    fn try_args(flags: &[&str]) -> Result<NpdArgs, clap::Error> {
        TestCli::try_parse_from(std::iter::once("kec-npd").chain(flags.iter().copied()))
            .map(|cli| cli.args)
    }

    #[test]
    fn npd_flags_keep_npd_s_names_and_defaults() {
        let parsed = args(&[
            "--config.system-log-monitor=/config/kernel-monitor.json,/config/docker-monitor.json",
            "--config.system-log-monitor=/config/systemd-monitor.json",
            "--config.custom-plugin-monitor=/config/ntp.json",
        ]);
        assert_eq!(
            parsed.system_log_monitor.len(),
            3,
            "comma-separated and repeatable"
        );
        assert!(parsed.enable_k8s_exporter);
        assert_eq!(
            parsed.k8s_exporter_heartbeat_period,
            Duration::from_secs(300)
        );
        assert_eq!(parsed.apiserver_wait_interval, Duration::from_secs(5));
        assert_eq!(parsed.event_namespace, "");
        assert_eq!(parsed.port, 20256);
        assert_eq!(parsed.prometheus_port, 20257);
        assert_eq!(parsed.address.to_string(), "127.0.0.1");
        let plan = plan_from_args(&parsed, "node-1".into()).unwrap();
        let monitors = monitor_specs(&parsed);
        assert_eq!(monitors.len(), 4);
        assert_eq!(monitors[3].kind, MonitorKind::CustomPlugin);
        assert_eq!(plan.http, Some("127.0.0.1:20256".parse().unwrap()));
        assert_eq!(plan.prometheus, Some("127.0.0.1:20257".parse().unwrap()));
        assert_eq!(plan.quiet_period, None, "off by default, like NPD");
        let (config, _) = plan.exporter.unwrap();
        assert_eq!(config.node_name, "node-1");
        assert_eq!(config.event_object_namespace(), "default");
    }

    #[test]
    fn go_style_bools_and_durations_are_accepted() {
        let parsed = args(&[
            "--config.custom-plugin-monitor=/c.json",
            "--enable-k8s-exporter=false",
            "--k8s-exporter-heartbeat-period=1m30s",
            "--condition-quiet-period=10m",
            "--port=0",
            "--prometheus-address=0.0.0.0",
            "--prometheus-port=9101",
        ]);
        assert!(!parsed.enable_k8s_exporter);
        assert_eq!(
            parsed.k8s_exporter_heartbeat_period,
            Duration::from_secs(90)
        );
        let plan = plan_from_args(&parsed, "node-1".into()).unwrap();
        assert!(plan.exporter.is_none());
        assert_eq!(plan.http, None, "port 0 disables");
        assert_eq!(plan.prometheus, Some("0.0.0.0:9101".parse().unwrap()));
        assert_eq!(plan.quiet_period, Some(Duration::from_secs(600)));
        assert!(
            args(&[
                "--enable-k8s-exporter",
                "--config.custom-plugin-monitor=/c.json"
            ])
            .enable_k8s_exporter
        );
        assert!(try_args(&["--enable-k8s-exporter=maybe"]).is_err());
        assert!(try_args(&["--k8s-exporter-heartbeat-period=-5m"]).is_err());
        assert!(try_args(&["--k8s-exporter-heartbeat-period=5 minutes"]).is_err());
    }

    #[test]
    fn node_name_comes_from_the_override_then_node_name_then_the_hostname() {
        assert_eq!(node_name("a", Some("b".into()), Some("c".into())), "a");
        assert_eq!(node_name("", Some("b".into()), Some("c".into())), "b");
        assert_eq!(node_name("", Some(String::new()), Some("c".into())), "c");
        assert_eq!(node_name("", None, None), "");
    }

    #[test]
    fn every_flag_problem_is_reported_at_once() {
        let parsed = args(&[
            "--system-log-monitors=/a.json",
            "--config.system-log-monitor=/b.json",
            "--event-namespace=Not_A_Namespace",
            "--apiserver-override=ftp://somewhere",
            "--kubeconfig=/no/such/kubeconfig",
        ]);
        let problems = plan_from_args(&parsed, "Bad_Node".into()).unwrap_err();
        assert_eq!(problems.len(), 5, "{problems:#?}");
        let no_configs = plan_from_args(&args(&[]), "node-1".into()).unwrap_err();
        assert!(
            no_configs[0].contains("no monitor config given"),
            "{no_configs:?}"
        );
    }

    #[test]
    fn invalid_flags_and_every_invalid_monitor_config_are_reported_at_once() {
        let directory = tempfile::tempdir().unwrap();
        let broken = directory.path().join("broken.json");
        std::fs::write(&broken, "{\"plugin\": \"kmsg\", \"rules\": [").unwrap();
        let missing = directory.path().join("missing.json");
        let flag = format!(
            "--config.system-log-monitor={},{}",
            broken.display(),
            missing.display()
        );
        let state_dir = format!("--state-dir={}", directory.path().display());
        let parsed = args(&[&flag, &state_dir, "--event-namespace=BAD"]);
        let Err(problems) = check(&parsed, "node-1".into()) else {
            panic!("the flags and configs are invalid");
        };
        assert_eq!(problems.len(), 3, "{problems:#?}");
        assert!(problems[0].contains("--event-namespace"), "{problems:?}");
        assert!(problems[1].contains("broken.json"), "{problems:?}");
        assert!(problems[2].contains("missing.json"), "{problems:?}");
    }
}
