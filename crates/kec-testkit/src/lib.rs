//! A protocol-faithful fake Kubernetes API server, for tests and for `kec demo`.
//!
//! It serves core/v1 and events.k8s.io/v1 Events, Nodes (with status PATCH), Pods,
//! ReplicaSets, Deployments, Jobs, CronJobs, Leases, ConfigMaps and Secrets over HTTP the way
//! kube-apiserver 1.36 with etcd 3.6 does (see "Testing against reality" in DESIGN.md): one
//! global resourceVersion, paged LIST with consistent continue tokens, NDJSON WATCH with a
//! bounded history and the exact stale-resourceVersion answers, Event TTL as DELETED, and
//! faults on demand. It records every request and knows how many Event occurrences it produced.
//!
//! ```no_run
//! # async fn demo() -> kec_testkit::Result<()> {
//! use kec_testkit::{FakeApiServer, FakeApiServerConfig, InvolvedObject};
//! let server = FakeApiServer::start(FakeApiServerConfig::default()).await?;
//! let recorder = server.handle().event_recorder("kubelet", "node-1");
//! recorder.record(&InvolvedObject::pod("prod", "web-1"), "Warning", "BackOff", "restarting")?;
//! // ... point a client at server.url() ...
//! server.shutdown().await;
//! # Ok(()) }
//! ```
//!
//! Modules:
//! - [`server`]: the listening server, [`FakeApiServer`] (start, url, shutdown).
//! - [`handle`]: the test's remote control, [`FakeApiHandle`]: state, faults, requests, truth.
//! - [`config`]: the knobs, [`FakeApiServerConfig`] and [`ClockMode`].
//! - [`api`]: the router [`app`]: recording, faults, dispatch, LIST, GET, writes, discovery.
//! - [`watch`]: WATCH streams, bookmarks, ERROR frames and the stream faults.
//! - [`operations`]: write verbs with kube-apiserver's rules and Event validation.
//! - [`cluster`]: objects, the global revision, the bounded history, snapshots, ground truth.
//! - [`event_format`]: Event serialization quirks and the events.k8s.io/v1 conversion.
//! - [`patch`]: strategic merge, JSON merge and JSON patches.
//! - [`selectors`]: label and field selectors.
//! - [`continue_token`]: LIST continue tokens.
//! - [`faults`]: what can go wrong, [`Fault`] and [`FaultRule`], and the book of rules.
//! - [`recording`]: what clients sent, [`RecordedRequest`].
//! - [`emitter`]: a client-go-like Event producer, [`EventRecorder`].
//! - [`resources`]: the served resources and the request path parser.
//! - [`clock`]: the injected clock and Kubernetes time formats.
//! - [`error`]: the crate's [`Error`] and Kubernetes `Status` answers, [`ApiStatus`].
//! - `state` (private): what handlers, watches and the handle share.

pub mod api;
pub mod clock;
pub mod cluster;
pub mod config;
pub mod continue_token;
pub mod emitter;
pub mod error;
pub mod event_format;
pub mod faults;
pub mod handle;
pub mod operations;
pub mod patch;
pub mod recording;
pub mod resources;
pub mod selectors;
pub mod server;
mod state;
pub mod watch;

pub use api::app;
pub use cluster::EventGroundTruth;
pub use config::{CONTROL_PLANE_NODE, ClockMode, FakeApiServerConfig};
pub use emitter::{EventRecorder, InvolvedObject, Recorded};
pub use error::{ApiStatus, Error, Result};
pub use faults::{Fault, FaultId, FaultRule, RequestMatcher, Verb};
pub use handle::{FakeApiHandle, LoadedFrames};
pub use recording::RecordedRequest;
pub use resources::ResourceKind;
pub use server::FakeApiServer;
