//! kec npd's problem daemon and exporters: what happens to a monitor's
//! [`Status`](kec_npd::types::Status) reports after `kec-npd` produced them.
//!
//! Modules:
//! - [`daemon`]: [`ProblemDaemon`], merges every monitor's reports and feeds the exporters.
//! - [`cli`]: the `kec npd` / `kec-npd` command line (NPD's flags) and [`cli::run`].
//! - [`supervisor`]: loads every monitor (all problems at once) and restarts one that stops.
//! - [`conditions`]: [`ConditionBook`], the published conditions (NPD #304 and quiet-period clearing).
//! - [`k8s`]: the Kubernetes exporter (node status PATCH, Events), [`K8sExporter`].
//! - [`correlator`]: client-go's Event aggregation, dedup and spam filter.
//! - [`api`]: the raw API requests, [`NodeApi`].
//! - [`connection`]: NPD's `--apiserver-override` and `--kubeconfig` to a client.
//! - [`metrics`]: NPD's problem metrics and the agent's own, [`NpdMetrics`].
//! - [`http`]: `/healthz`, `/conditions`, `/metrics`.
//! - [`time`]: the injected wall clock and Kubernetes time format.
//! - [`error`]: [`Error`] and [`Result`].

pub mod api;
pub mod cli;
pub mod conditions;
pub mod connection;
pub mod correlator;
pub mod daemon;
pub mod error;
pub mod http;
pub mod k8s;
pub mod metrics;
pub mod supervisor;
pub mod time;

pub use api::NodeApi;
pub use conditions::{ConditionBook, ConditionSemantics};
pub use connection::{ApiServerOverride, ApiServerTarget};
pub use correlator::{CorrelatorConfig, EventCorrelator};
pub use daemon::{MonitorFeed, ProblemDaemon};
pub use error::{Error, Result};
pub use k8s::{K8sExporter, K8sExporterConfig, SharedBook};
pub use metrics::NpdMetrics;
pub use time::{ManualClock, SharedClock, SystemClock, WallClock};
