//! What every handler shares.

use std::sync::Arc;

use kec_store::EmbeddedStore;

use crate::error::ApiError;
use crate::metrics::Metrics;

/// Shared by all handlers; cheap to clone.
#[derive(Clone)]
pub struct AppState {
    pub store: Arc<EmbeddedStore>,
    pub metrics: Arc<Metrics>,
    /// Largest accepted request body, in bytes (after decompression for gzip bodies).
    pub max_body_bytes: usize,
}

impl AppState {
    pub fn new(store: Arc<EmbeddedStore>) -> AppState {
        AppState {
            store,
            metrics: Arc::new(Metrics::new()),
            max_body_bytes: 32 * 1024 * 1024,
        }
    }

    /// Runs a blocking store call off the async workers.
    pub async fn with_store<T, F>(&self, call: F) -> Result<T, ApiError>
    where
        F: FnOnce(&EmbeddedStore) -> kec_store::Result<T> + Send + 'static,
        T: Send + 'static,
    {
        let store = self.store.clone();
        tokio::task::spawn_blocking(move || call(&store))
            .await
            .map_err(|error| ApiError::Internal(format!("store task failed: {error}")))?
            .map_err(ApiError::from)
    }
}
