//! The router, the background tasks, and serving with an ordered shutdown.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::IntoResponse;
use axum::routing::{get, post};
use kec_store::{EmbeddedStore, StoreConfig};
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use crate::error::ApiError;
use crate::state::AppState;
use crate::{api, ingest, ui};

/// How `kec server` runs.
#[derive(Debug, Clone)]
pub struct ServerConfig {
    pub listen: SocketAddr,
    pub data_dir: PathBuf,
    pub retention_days: u32,
    /// How often accepted events are committed to the index (and become searchable).
    pub commit_interval: Duration,
}

/// The HTTP application: API, metrics, health and UI.
pub fn app(state: AppState) -> Router {
    Router::new()
        .route(
            "/api/v1/clusters/{cluster}/events",
            post(ingest::ingest_events),
        )
        .route("/api/v1/clusters", get(api::clusters))
        .route("/api/v1/events", get(api::search_events))
        .route("/api/v1/events/histogram", get(api::histogram))
        .route("/api/v1/query", get(crate::query::query))
        .route("/api/v1/tail", get(crate::tail::tail))
        .route(
            "/api/v1/clusters/{cluster}/objects/{namespace}/{kind}/{name}/timeline",
            get(api::timeline),
        )
        .route("/healthz", get(|| async { "ok" }))
        .route("/readyz", get(readyz))
        .route("/metrics", get(metrics))
        .merge(ui::routes())
        .fallback(|| async { ApiError::NotFound("no such page or endpoint".into()) })
        // A bug must cost one request a 500, never the process or the connection pool.
        .layer(tower_http::catch_panic::CatchPanicLayer::custom(
            |_panic: Box<dyn std::any::Any + Send>| {
                ApiError::Internal(
                    "the server hit a bug answering this request; it was logged".into(),
                )
                .into_response()
            },
        ))
        .with_state(state)
}

async fn readyz(State(state): State<AppState>) -> Result<&'static str, ApiError> {
    // Cheap on purpose: proves the store answers without walking the data directory.
    state.with_store(|store| store.days()).await?;
    Ok("ready")
}

async fn metrics(State(state): State<AppState>) -> Result<impl IntoResponse, ApiError> {
    let stats = state.with_store(|store| store.stats()).await?;
    state.metrics.set_store_stats(&stats);
    let text = state
        .metrics
        .encode()
        .map_err(|error| ApiError::Internal(error.to_string()))?;
    Ok((
        StatusCode::OK,
        [(
            axum::http::header::CONTENT_TYPE,
            "application/openmetrics-text; version=1.0.0; charset=utf-8",
        )],
        text,
    ))
}

/// Opens the store, serves until `shutdown` is cancelled, then stops in order: the listener
/// stops accepting, in-flight requests finish, background tasks stop, the store commits.
/// `on_listening` receives the bound address (useful with port 0).
pub async fn serve(
    config: ServerConfig,
    shutdown: CancellationToken,
    on_listening: impl FnOnce(SocketAddr, AppState),
) -> Result<(), ServeError> {
    let mut store_config = StoreConfig::new(&config.data_dir);
    store_config.retention_days = config.retention_days;
    let store = tokio::task::spawn_blocking(move || EmbeddedStore::open(store_config))
        .await
        .map_err(|error| ServeError::Task(error.to_string()))??;
    let state = AppState::new(Arc::new(store));
    let listener = tokio::net::TcpListener::bind(config.listen)
        .await
        .map_err(|source| ServeError::Bind {
            address: config.listen,
            source,
        })?;
    let address = listener.local_addr().map_err(|source| ServeError::Bind {
        address: config.listen,
        source,
    })?;
    on_listening(address, state.clone());

    let tasks = TaskTracker::new();
    let background = shutdown.child_token();
    tasks.spawn(commit_loop(
        state.clone(),
        config.commit_interval,
        background.clone(),
    ));
    tasks.spawn(retention_loop(state.clone(), background.clone()));

    let server = axum::serve(listener, app(state.clone())).with_graceful_shutdown({
        let shutdown = shutdown.clone();
        async move { shutdown.cancelled().await }
    });
    let served = server.await;
    background.cancel();
    tasks.close();
    tasks.wait().await;
    let store = state.store.clone();
    tokio::task::spawn_blocking(move || store.close(kec_model::time::now_ms()))
        .await
        .map_err(|error| ServeError::Task(error.to_string()))??;
    served.map_err(|source| ServeError::Bind { address, source })?;
    Ok(())
}

async fn commit_loop(state: AppState, interval: Duration, stop: CancellationToken) {
    let mut ticker = tokio::time::interval(interval);
    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            _ = stop.cancelled() => return,
            _ = ticker.tick() => {}
        }
        if let Err(error) = state
            .with_store(|store| store.commit(kec_model::time::now_ms()))
            .await
        {
            state.metrics.commit_failed();
            tracing::error!(%error, "committing the event index failed; events stay in the write-ahead log");
        }
    }
}

async fn retention_loop(state: AppState, stop: CancellationToken) {
    let mut ticker = tokio::time::interval(Duration::from_secs(3600));
    loop {
        tokio::select! {
            _ = stop.cancelled() => return,
            _ = ticker.tick() => {}
        }
        if let Err(error) = state
            .with_store(|store| store.enforce_retention(kec_model::time::now_ms()))
            .await
        {
            tracing::error!(%error, "dropping expired day partitions failed");
        }
    }
}

/// Why the server could not start, or stopped with an error.
#[derive(Debug, thiserror::Error)]
pub enum ServeError {
    #[error("cannot listen on {address}")]
    Bind {
        address: SocketAddr,
        #[source]
        source: std::io::Error,
    },
    #[error(transparent)]
    Store(#[from] kec_store::Error),
    #[error("background task failed: {0}")]
    Task(String),
}
