//! [`FakeApiServerConfig`]: everything a test may want to tune, with real-apiserver defaults
//! except where a real default (60 s grace, 30-60 min watches) would make tests slow.

use std::time::Duration;

use jiff::Timestamp;

/// Where the fake API server's notion of "now" comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ClockMode {
    /// Wall time (plus whatever [`crate::FakeApiHandle::advance_clock`] added).
    System,
    /// Frozen at `start` until [`crate::FakeApiHandle::advance_clock`] moves it: timestamps and
    /// TTL expiry become fully deterministic.
    Manual { start: Timestamp },
}

/// How the fake API server behaves. `Default` is what tests want; every field is public so a
/// test changes only what it needs (`FakeApiServerConfig { event_ttl: .., ..Default::default() }`).
#[derive(Debug, Clone)]
pub struct FakeApiServerConfig {
    /// Address to bind; `127.0.0.1:0` picks a free port.
    pub bind_address: String,
    /// Source of "now" for timestamps and TTL.
    pub clock: ClockMode,
    /// The resourceVersion (etcd revision) the server starts at. Real clusters are far from 1.
    pub initial_resource_version: u64,
    /// How many changes (of all kinds together, like etcd's history) stay watchable. Older
    /// changes are compacted: watches and continue tokens from before them get 410.
    pub watch_history_size: usize,
    /// Events are deleted this long after their LAST write (kube-apiserver `--event-ttl`, 1 h).
    pub event_ttl: Duration,
    /// How often the background sweeper looks for expired Events (tests usually call
    /// [`crate::FakeApiHandle::expire_due_events`] instead).
    pub ttl_sweep_interval: Duration,
    /// A watch without `timeoutSeconds` ends after this (kube-apiserver picks 30-60 min).
    pub default_watch_timeout: Duration,
    /// Period of BOOKMARK frames on watches that asked for them (never on Events).
    pub bookmark_interval: Duration,
    /// On shutdown, open watches keep streaming this long, then end cleanly (real: 60 s).
    pub shutdown_grace: Duration,
    /// Pause before a fault cuts a connection, so the frames sent before it reach the client
    /// (a reset discards data still in the server's send buffer).
    pub fault_flush_delay: Duration,
    /// Nodes that exist from the start (cluster-scoped, with a Ready condition).
    pub initial_nodes: Vec<String>,
    /// Write the few Events a fresh control plane writes about itself, in namespace `default`.
    pub startup_events: bool,
    /// Largest request body accepted (kube-apiserver allows 3 MiB objects).
    pub max_request_body_bytes: usize,
}

impl Default for FakeApiServerConfig {
    fn default() -> FakeApiServerConfig {
        FakeApiServerConfig {
            bind_address: "127.0.0.1:0".to_string(),
            clock: ClockMode::System,
            initial_resource_version: 1_000,
            watch_history_size: 10_000,
            event_ttl: Duration::from_secs(3_600),
            ttl_sweep_interval: Duration::from_secs(1),
            default_watch_timeout: Duration::from_secs(1_800),
            bookmark_interval: Duration::from_secs(60),
            shutdown_grace: Duration::from_millis(200),
            fault_flush_delay: Duration::from_millis(30),
            initial_nodes: vec![CONTROL_PLANE_NODE.to_string()],
            startup_events: true,
            max_request_body_bytes: 3 * 1024 * 1024,
        }
    }
}

/// Name of the node that exists from the start and that the startup Events are about.
pub const CONTROL_PLANE_NODE: &str = "kec-fake-control-plane";
