//! Writes Events in the order they were observed, like client-go's `recordToSink`: a repeat
//! is a PATCH and a PATCH that gets 404 (the Event expired) POSTs the same name again with
//! the running count; up to `event_max_attempts` tries, `event_retry_interval` apart (the
//! first pause randomised). Unlike client-go, 429 and 5xx answers are retried too (client-go
//! gives up on any API status), honouring `Retry-After`; other 4xx answers are final.

use rand::Rng;
use tokio::sync::{mpsc, watch};
use tokio_util::sync::CancellationToken;

use super::K8sExporterConfig;
use crate::Result;
use crate::api::NodeApi;
use crate::correlator::{EventWrite, NodeReference};
use crate::metrics::{EventDropCause, EventOutcome, NpdMetrics};

async fn write_once(
    api: &NodeApi,
    node: &NodeReference,
    write: &EventWrite,
) -> Result<EventOutcome> {
    match write {
        EventWrite::Create(draft) => {
            api.create_event(&draft.namespace, &draft.to_json(node))
                .await?;
            Ok(EventOutcome::Created)
        }
        EventWrite::Patch(draft) => {
            match api
                .patch_event(&draft.namespace, &draft.name, &draft.patch_body())
                .await
            {
                Ok(_) => Ok(EventOutcome::Patched),
                Err(error) if error.status() == Some(404) => {
                    api.create_event(&draft.namespace, &draft.to_json(node))
                        .await?;
                    Ok(EventOutcome::Recreated)
                }
                Err(error) => Err(error),
            }
        }
    }
}

/// See the module documentation. Ends when every sender is dropped and the queue is written,
/// or at shutdown while waiting for the Node or between retries.
pub async fn run(
    config: K8sExporterConfig,
    api: NodeApi,
    mut event_rx: mpsc::Receiver<EventWrite>,
    mut node_rx: watch::Receiver<Option<NodeReference>>,
    metrics: NpdMetrics,
    shutdown: CancellationToken,
) {
    let node = tokio::select! {
        node = node_rx.wait_for(Option::is_some) => match node {
            Ok(node) => node.clone(),
            Err(_) => None,
        },
        _ = shutdown.cancelled() => None,
    };
    let Some(node) = node else {
        return;
    };
    while let Some(write) = event_rx.recv().await {
        let mut attempt = 1;
        loop {
            let error = match write_once(&api, &node, &write).await {
                Ok(outcome) => {
                    metrics.event_written(outcome);
                    break;
                }
                Err(error) => error,
            };
            let draft = write.draft();
            if !error.is_retryable() {
                if error.status() == Some(409) {
                    tracing::debug!(%error, name = %draft.name, "event already exists (will not retry)");
                } else {
                    tracing::warn!(%error, name = %draft.name, reason = %draft.reason, "event rejected (will not retry)");
                }
                metrics.event_dropped(EventDropCause::Rejected);
                break;
            }
            if attempt >= config.event_max_attempts {
                tracing::warn!(%error, name = %draft.name, reason = %draft.reason, attempts = attempt, "unable to write event (retry limit exceeded)");
                metrics.event_dropped(EventDropCause::RetriesExhausted);
                break;
            }
            let mut pause = config.event_retry_interval;
            if attempt == 1 {
                // Randomise the first pause so the agents of a cluster do not retry together.
                pause = pause.mul_f64(rand::rng().random_range(0.0..1.0));
            }
            if let Some(retry_after) = error.retry_after() {
                pause = pause.max(retry_after);
            }
            tracing::info!(%error, name = %draft.name, attempt, retry_in_ms = pause.as_millis() as u64, "event write failed, will retry");
            tokio::select! {
                _ = tokio::time::sleep(pause) => {}
                _ = shutdown.cancelled() => return,
            }
            attempt += 1;
        }
    }
}
