//! Simulated clusters: Kubernetes Events that look like the real thing, without a cluster.
//!
//! - [`demo`]: [`DemoCluster`], a small deterministic cluster playing incidents, for `kec demo`.
//! - [`synthetic`]: [`SyntheticLoad`], skewed high-volume records for the storage benchmark.
//! - `render` (private): fast renderers for RFC 3339 times, uids and generated names.

pub mod demo;
mod render;
pub mod synthetic;

pub use demo::DemoCluster;
pub use synthetic::{SyntheticConfig, SyntheticLoad};
