//! What every handler shares.

use std::sync::Arc;

use kec_store::EmbeddedStore;

use crate::error::ApiError;
use crate::metrics::Metrics;
use crate::saved::SavedQueries;
use crate::tail::TailBus;

/// Shared by all handlers; cheap to clone.
#[derive(Clone)]
pub struct AppState {
    pub store: Arc<EmbeddedStore>,
    pub metrics: Arc<Metrics>,
    /// Largest accepted request body, in bytes (after decompression for gzip bodies).
    pub max_body_bytes: usize,
    /// Stored observations as they arrive, for live tails.
    pub tail: TailBus,
    /// The UI's saved queries (`ui.sqlite` in the store's data directory).
    pub saved: Arc<SavedQueries>,
}

impl AppState {
    pub fn new(store: Arc<EmbeddedStore>) -> AppState {
        let saved = Arc::new(SavedQueries::in_data_dir(&store.config().data_dir));
        AppState {
            store,
            metrics: Arc::new(Metrics::new()),
            max_body_bytes: 32 * 1024 * 1024,
            tail: TailBus::default(),
            saved,
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

    /// Runs a blocking call that needs more than the store (the saved queries) off the async
    /// workers.
    pub async fn blocking<T, F>(&self, call: F) -> Result<T, ApiError>
    where
        F: FnOnce(&AppState) -> Result<T, ApiError> + Send + 'static,
        T: Send + 'static,
    {
        let state = self.clone();
        tokio::task::spawn_blocking(move || call(&state))
            .await
            .map_err(|error| ApiError::Internal(format!("blocking task failed: {error}")))?
    }
}
