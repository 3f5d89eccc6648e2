//! `kec eventer`: watches a cluster's core/v1 Events and delivers every occurrence the API
//! server holds, across watch faults, relists and restarts, to the kec center and other sinks.
//!
//! Data flow: [`source`] (LIST + WATCH per namespace) -> bounded channel -> [`pipeline`]
//! (fan-out, backpressure counted) -> one bounded channel per sink -> [`sinks`].
//!
//! Modules:
//! - [`config`]: [`EventerConfig`], the whole configuration; `validate()` then `build()`.
//! - [`source`]: [`KubernetesSourceConfig`], connection to the API server and the list+watch
//!   loop with its relist rules (any ERROR frame, empty 200, 410).
//! - [`sinks`]: [`SinkConfig`], the one enum of sink kinds: [`sinks::center`] (kec center, disk
//!   spool) and [`sinks::stdout`] (JSON lines).
//! - [`gotemplate`]: Go text/template bodies over a core/v1 Event, rendered as kube-eventer
//!   renders them (the `webhook` sink).
//! - [`spool`]: the durable, ordered on-disk queue of NDJSON batches used by the center sink.
//! - [`state`]: the small state file and why it holds so little.
//! - [`retry`]: exponential backoff with jitter and `Retry-After` handling, shared by all.
//! - [`pipeline`]: [`Eventer`], the running thing: tasks, fan-out, ordered shutdown, stats.
//! - [`leader`]: [`LeaderElectionConfig`], Lease leader election (client-go semantics): only
//!   the leader runs the sources.

pub mod config;
pub mod enrich;
pub mod gotemplate;
pub mod kube_eventer;
pub mod leader;
pub mod metrics;
pub mod pipeline;
pub mod ratelimit;
pub mod retry;
pub mod routing;
pub mod sinks;
pub mod source;
pub mod spool;
pub mod state;
pub mod telemetry;

use std::path::PathBuf;

pub use config::EventerConfig;
pub use leader::LeaderElectionConfig;
pub use pipeline::{Eventer, EventerStats};
pub use retry::BackoffConfig;
pub use sinks::SinkConfig;
pub use sinks::center::CenterSinkConfig;
pub use sinks::stdout::StdoutSinkConfig;
pub use source::{EventsApi, KubeConnection, KubernetesSourceConfig};

/// Errors of the eventer.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The configuration is invalid; every problem found is listed.
    #[error("invalid eventer configuration: {}", .0.join("; "))]
    InvalidConfig(Vec<String>),
    /// No Kubernetes client could be configured (kubeconfig, in-cluster, URL).
    #[error("cannot configure the Kubernetes client: {0}")]
    KubeConfig(String),
    /// The Kubernetes client could not be built.
    #[error("cannot build the Kubernetes client: {0}")]
    KubeClient(#[source] kube::Error),
    /// Reading or writing the spool failed.
    #[error("spool I/O on {path}: {source}")]
    Spool {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    /// The state file could not be read or written.
    #[error("state file {path}: {reason}")]
    State { path: PathBuf, reason: String },
    /// The HTTP client of a sink could not be built.
    #[error("cannot build the HTTP client: {0}")]
    HttpClient(#[source] reqwest::Error),
}

pub type Result<T, E = Error> = std::result::Result<T, E>;

pub(crate) use kec_model::names::is_dns1123_label;
