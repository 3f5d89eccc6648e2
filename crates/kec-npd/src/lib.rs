//! `kec npd`: a node problem detector that reads node-problem-detector's (NPD's) JSON configs
//! unchanged and reports node conditions and Events.
//!
//! Data flow: monitors (system log, custom plugin, native checks) -> [`types::Status`] updates
//! -> problem daemon -> exporters (Kubernetes node conditions and Events, Prometheus, `/conditions`).
//!
//! Modules:
//! - [`types`]: NPD's data model (Status, Event, Condition, Severity), shared by monitors and
//!   exporters.
//! - [`config`]: loading and validating NPD's config files (every problem reported at once).
//! - [`monitor`]: the [`Monitor`] trait, [`load_monitor`] and the monitors themselves.
//! - [`state`]: positions (kmsg sequence number, journald cursor) persisted across restarts.
//! - [`error`]: the crate's error type.
//! - [`bench`]: log lines per second through a system log monitor's rules (`kec bench npd`).

pub mod bench;
pub mod config;
pub mod error;
pub mod monitor;
pub mod state;
pub mod types;

pub use bench::bench_lines;
pub use error::{Error, Result};
pub use monitor::{Clock, Monitor, MonitorKind, MonitorOptions, load_monitor};
