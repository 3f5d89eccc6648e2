//! kec's center: the HTTP server in front of the store.
//!
//! - [`state`]: [`AppState`], what every handler shares, and the bridge to the blocking store.
//! - [`error`]: [`ApiError`], the JSON error body every failing request gets.
//! - [`ingest`]: `POST /api/v1/clusters/{cluster}/events`, NDJSON (optionally gzip) batches.
//! - [`api`]: the read API: events search, object timelines, clusters, aggregations.
//! - [`metrics`]: Prometheus metrics and `/metrics`.
//! - [`query`](mod@query): `GET /api/v1/query`, the query language's rows or series as JSON.
//! - [`tail`]: the live-tail bus ingest publishes to, and `GET /api/v1/tail` (server-sent events).
//! - [`saved`]: the UI's saved queries, in SQLite.
//! - [`ui`]: the server-rendered web UI and its embedded assets.
//! - [`server`]: the router ([`app`]), background tasks (commit, retention) and graceful serve.

pub mod api;
pub mod error;
pub mod ingest;
pub mod metrics;
pub mod query;
pub mod saved;
pub mod server;
pub mod state;
pub mod tail;
pub mod ui;

pub use error::ApiError;
pub use server::{ServeError, ServerConfig, app, serve};
pub use state::AppState;
