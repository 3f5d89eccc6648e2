//! WATCH: NDJSON frames `{"type":...,"object":...}` from a resourceVersion, bookmarks, the
//! stale-resourceVersion ERROR frames, timeouts, the shutdown grace, and the stream faults.
//!
//! A watch is a task writing byte chunks into a small bounded channel that the response body
//! reads; `Err` items abort the response (no terminating chunk), which is how the "cut in the
//! middle of a frame" and "connection reset" faults reach the client.

use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;

use axum::body::{Body, Bytes};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use futures_util::stream;
use serde_json::{Value, json};
use tokio::sync::mpsc;

use crate::cluster::{Change, ChangeType, SnapshotError};
use crate::error::ApiStatus;
use crate::faults::{Fault, HitFaults};
use crate::operations::{served_bytes, to_served_with_type};
use crate::resources::ApiResource;
use crate::resources::ResourcePath;
use crate::selectors::{FieldSelector, LabelSelector};
use crate::server::ConnectionAddress;
use crate::state::SharedState;

/// Longest a watch stays open, whatever `timeoutSeconds` says (keeps deadlines representable).
const LONGEST_WATCH: Duration = Duration::from_secs(365 * 24 * 3_600);

/// How many chunks may wait between the watch task and the socket.
const WATCH_CHANNEL_CAPACITY: usize = 16;

/// The error that aborts a watch body (hyper then drops the connection without ending the
/// chunked body).
#[derive(Debug, thiserror::Error)]
#[error("watch stream aborted by an injected fault")]
pub struct WatchAborted;

type Chunk = Result<Bytes, WatchAborted>;

/// The parsed query of a watch request.
#[derive(Debug, Clone)]
pub struct WatchRequest {
    pub path: ResourcePath,
    pub resource_version: Option<String>,
    pub timeout: Duration,
    pub allow_bookmarks: bool,
    pub send_initial_events: bool,
    pub label_selector: LabelSelector,
    pub field_selector: FieldSelector,
}

/// Starts a watch and returns its streaming response.
pub fn start_watch(
    shared: &Arc<SharedState>,
    request: WatchRequest,
    faults: HitFaults,
    connection: Option<ConnectionAddress>,
) -> Result<Response, ApiStatus> {
    let kind = request.path.resource.storage;
    let resource_version =
        match request.resource_version.as_deref() {
            None | Some("") | Some("0") => None,
            Some(text) => Some(text.parse::<u64>().map_err(|_| {
                ApiStatus::bad_request(format!("invalid resource version {text:?}"))
            })?),
        };
    let (frames_tx, frames_rx) = mpsc::channel::<Chunk>(WATCH_CHANNEL_CAPACITY);

    // Decide the start under the lock, so no change slips between the snapshot and the cursor.
    let start = {
        let cluster = shared.cluster();
        match resource_version {
            Some(revision) if !request.send_initial_events => {
                let compaction_point = cluster.compaction_point();
                if revision.saturating_add(1) < compaction_point {
                    WatchStart::Error(too_old_status(
                        kind.bypasses_watch_cache(),
                        revision,
                        compaction_point,
                    ))
                } else if revision.saturating_add(1) == compaction_point
                    && kind.bypasses_watch_cache()
                {
                    // etcd answers a watch from exactly one revision before its compaction
                    // point with an internal error, not with "too old".
                    WatchStart::Error(ApiStatus::new(
                        500,
                        "InternalError",
                        "Internal error occurred: etcdserver: mvcc: required revision has been compacted",
                    ))
                } else {
                    WatchStart::From {
                        cursor: revision,
                        initial: Vec::new(),
                    }
                }
            }
            _ => WatchStart::From {
                cursor: cluster.revision(),
                initial: cluster.current_objects(kind, request.path.namespace.as_deref()),
            },
        }
    };

    let mut response = match start {
        WatchStart::Error(status) => {
            let frame = frame_bytes("ERROR", &status.to_json());
            tokio::spawn(async move {
                let _ = frames_tx.send(Ok(frame)).await;
            });
            stream_response(frames_rx)
        }
        WatchStart::From { cursor, initial } => {
            let ending = faults.watch_ending;
            let shaping = match faults.watch_shaping {
                Some(Fault::SlowSplitFrames { pieces, delay }) => Some((pieces.max(1), delay)),
                _ => None,
            };
            let writer = FrameWriter {
                frames_tx,
                sent_frames: 0,
                ending,
                shaping,
                connection,
                flush_delay: shared.config.fault_flush_delay,
            };
            let task_shared = Arc::clone(shared);
            shared.open_watches.fetch_add(1, Ordering::SeqCst);
            shared.watch_tasks.spawn(async move {
                run_watch(&task_shared, request, cursor, initial, writer).await;
                task_shared.open_watches.fetch_sub(1, Ordering::SeqCst);
            });
            stream_response(frames_rx)
        }
    };
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    Ok(response)
}

enum WatchStart {
    Error(ApiStatus),
    From {
        cursor: u64,
        initial: Vec<Arc<Value>>,
    },
}

/// The Status of an ERROR frame for a watch from a compacted revision.
fn too_old_status(bypasses_cache: bool, revision: u64, compaction_point: u64) -> ApiStatus {
    if bypasses_cache {
        ApiStatus::new(
            410,
            "Expired",
            "The resourceVersion for the provided watch is too old.",
        )
    } else {
        ApiStatus::new(
            410,
            "Expired",
            format!(
                "too old resource version: {revision} ({})",
                compaction_point.saturating_sub(1)
            ),
        )
    }
}

/// `200 OK` whose body is whatever the channel yields, chunked.
fn stream_response(frames_rx: mpsc::Receiver<Chunk>) -> Response {
    let body_stream = stream::unfold(frames_rx, |mut frames_rx| async move {
        frames_rx.recv().await.map(|chunk| (chunk, frames_rx))
    });
    (StatusCode::OK, Body::from_stream(body_stream)).into_response()
}

/// The `200`, empty body, `Connection: close` answer of [`Fault::WatchEmptyResponse`].
pub fn empty_watch_response() -> Response {
    let (_, frames_rx) = mpsc::channel::<Chunk>(1);
    let mut response = stream_response(frames_rx);
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    headers.insert(header::CONNECTION, HeaderValue::from_static("close"));
    response
}

/// One NDJSON frame, `type` first as kube-apiserver writes it.
fn frame_bytes(frame_type: &str, object: &Value) -> Bytes {
    let mut bytes = frame_start(frame_type);
    // Writing a `Value` into a Vec cannot fail.
    let _ = serde_json::to_writer(&mut bytes, object);
    bytes.extend_from_slice(b"}\n");
    Bytes::from(bytes)
}

/// The frame of a stored object, served (with kind and apiVersion) for `resource`.
fn object_frame(frame_type: &str, resource: &ApiResource, stored: &Value) -> Bytes {
    let mut bytes = frame_start(frame_type);
    served_bytes(resource, stored, true, &mut bytes);
    bytes.extend_from_slice(b"}\n");
    Bytes::from(bytes)
}

fn frame_start(frame_type: &str) -> Vec<u8> {
    let mut bytes = Vec::with_capacity(1024);
    bytes.extend_from_slice(b"{\"type\":\"");
    bytes.extend_from_slice(frame_type.as_bytes());
    bytes.extend_from_slice(b"\",\"object\":");
    bytes
}

/// Whether the writer may go on.
#[derive(Debug, PartialEq, Eq)]
enum Flow {
    Continue,
    Stop,
}

struct FrameWriter {
    frames_tx: mpsc::Sender<Chunk>,
    sent_frames: usize,
    ending: Option<Fault>,
    shaping: Option<(usize, Duration)>,
    connection: Option<ConnectionAddress>,
    flush_delay: Duration,
}

impl FrameWriter {
    fn ending_frames(&self) -> Option<usize> {
        match self.ending {
            Some(
                Fault::WatchCloseAfter { frames }
                | Fault::WatchResetAfter { frames }
                | Fault::WatchCutMidFrameAfter { frames },
            ) => Some(frames),
            _ => None,
        }
    }

    /// Ends the stream now if a close or reset fault is due (a cut waits for the next frame).
    async fn end_if_due(&mut self) -> Flow {
        if self.ending_frames() != Some(self.sent_frames) {
            return Flow::Continue;
        }
        match self.ending {
            Some(Fault::WatchCloseAfter { .. }) => Flow::Stop,
            Some(Fault::WatchResetAfter { .. }) => {
                tokio::time::sleep(self.flush_delay).await;
                if let Some(connection) = &self.connection {
                    connection.request_reset();
                }
                let _ = self.frames_tx.send(Err(WatchAborted)).await;
                Flow::Stop
            }
            _ => Flow::Continue,
        }
    }

    async fn send(&mut self, frame: Bytes) -> Flow {
        if self.end_if_due().await == Flow::Stop {
            return Flow::Stop;
        }
        if matches!(self.ending, Some(Fault::WatchCutMidFrameAfter { frames }) if frames == self.sent_frames)
        {
            let half = frame.slice(..frame.len() / 2);
            let _ = self.frames_tx.send(Ok(half)).await;
            tokio::time::sleep(self.flush_delay).await;
            let _ = self.frames_tx.send(Err(WatchAborted)).await;
            return Flow::Stop;
        }
        match self.shaping {
            Some((pieces, delay)) => {
                let piece_length = frame.len().div_ceil(pieces).max(1);
                let mut offset = 0;
                while offset < frame.len() {
                    if offset > 0 {
                        tokio::time::sleep(delay).await;
                    }
                    let end = (offset + piece_length).min(frame.len());
                    if self
                        .frames_tx
                        .send(Ok(frame.slice(offset..end)))
                        .await
                        .is_err()
                    {
                        return Flow::Stop;
                    }
                    offset = end;
                }
            }
            None => {
                if self.frames_tx.send(Ok(frame)).await.is_err() {
                    return Flow::Stop;
                }
            }
        }
        self.sent_frames += 1;
        self.end_if_due().await
    }
}

/// What a change looks like to one watcher, given its selectors (an object leaving the
/// selection is DELETED for it, one entering is ADDED).
fn frame_type_for(change: &Change, matches: &dyn Fn(&Value) -> bool) -> Option<&'static str> {
    match change.change_type {
        ChangeType::Added => matches(&change.object).then_some("ADDED"),
        ChangeType::Deleted => {
            let was_visible = change.previous.as_deref().is_none_or(matches);
            was_visible.then_some("DELETED")
        }
        ChangeType::Modified => {
            let before = change.previous.as_deref().is_some_and(matches);
            let after = matches(&change.object);
            match (before, after) {
                (true, true) => Some("MODIFIED"),
                (false, true) => Some("ADDED"),
                (true, false) => Some("DELETED"),
                (false, false) => None,
            }
        }
    }
}

async fn run_watch(
    shared: &Arc<SharedState>,
    request: WatchRequest,
    mut cursor: u64,
    initial: Vec<Arc<Value>>,
    mut writer: FrameWriter,
) {
    let resource = request.path.resource;
    let kind = resource.storage;
    let namespace_prefix = request
        .path
        .namespace
        .as_deref()
        .map(|namespace| format!("{namespace}/"));
    let label_selector = request.label_selector.clone();
    let field_selector = request.field_selector.clone();
    let matches = move |stored: &Value| {
        if label_selector.is_empty() && field_selector.is_empty() {
            return true;
        }
        let served = to_served_with_type(resource, stored);
        label_selector.matches(&served) && field_selector.matches(&served)
    };
    let bookmarks = request.allow_bookmarks && !kind.bypasses_watch_cache();
    // A client may ask for any timeout; past a year it makes no difference to a test.
    let deadline = tokio::time::Instant::now() + request.timeout.min(LONGEST_WATCH);
    let mut revision_rx = shared.revision_rx.clone();
    let mut bookmark_rx = shared.bookmark_tx.subscribe();
    let bookmark_interval = shared
        .config
        .bookmark_interval
        .clamp(Duration::from_millis(1), LONGEST_WATCH);
    let mut bookmark_ticker = tokio::time::interval_at(
        tokio::time::Instant::now() + bookmark_interval,
        bookmark_interval,
    );

    if writer.end_if_due().await == Flow::Stop {
        return;
    }
    // The synthetic ADDED burst comes in key order, not in resourceVersion order.
    for object in initial {
        if !matches(&object) {
            continue;
        }
        let frame = object_frame("ADDED", resource, &object);
        if writer.send(frame).await == Flow::Stop {
            return;
        }
    }
    if request.send_initial_events && request.allow_bookmarks {
        let frame = bookmark_frame(resource.kind, &resource.api_version(), cursor, true);
        if writer.send(frame).await == Flow::Stop {
            return;
        }
    }

    // A bookmark waits until pending changes are sent, so its resourceVersion covers them.
    let mut bookmark_due = false;
    loop {
        // Everything after the cursor, taken under the lock, sent without it.
        let pending = {
            let cluster = shared.cluster();
            match cluster.changes_after(cursor) {
                Ok(changes) => Ok((changes, cluster.revision())),
                Err(SnapshotError::Compacted { compaction_point }) => Err(too_old_status(
                    kind.bypasses_watch_cache(),
                    cursor,
                    compaction_point,
                )),
                Err(SnapshotError::Future { .. }) => Ok((Vec::new(), cursor)),
            }
        };
        match pending {
            Err(status) => {
                // The watcher fell behind the history: like an etcd watch, it gets an ERROR.
                let _ = writer.send(frame_bytes("ERROR", &status.to_json())).await;
                return;
            }
            Ok((changes, newest)) => {
                for change in changes {
                    if change.kind != kind
                        || namespace_prefix
                            .as_deref()
                            .is_some_and(|prefix| !change.key.starts_with(prefix))
                    {
                        continue;
                    }
                    let Some(frame_type) = frame_type_for(&change, &matches) else {
                        continue;
                    };
                    let frame = object_frame(frame_type, resource, &change.object);
                    if writer.send(frame).await == Flow::Stop {
                        return;
                    }
                }
                // A watch from a future revision stays there until the server catches up.
                cursor = cursor.max(newest);
            }
        }
        if bookmark_due {
            bookmark_due = false;
            let frame = bookmark_frame(resource.kind, &resource.api_version(), cursor, false);
            if writer.send(frame).await == Flow::Stop {
                return;
            }
        }
        tokio::select! {
            changed = revision_rx.changed() => {
                if changed.is_err() {
                    return;
                }
            }
            _ = tokio::time::sleep_until(deadline) => return,
            _ = shared.watches_end.cancelled() => return,
            _ = writer.frames_tx.closed() => return,
            _ = bookmark_ticker.tick(), if bookmarks => bookmark_due = true,
            changed = bookmark_rx.changed(), if bookmarks => bookmark_due = changed.is_ok(),
        }
    }
}

/// A BOOKMARK frame: an empty object of the watched kind carrying only a resourceVersion.
fn bookmark_frame(kind: &str, api_version: &str, revision: u64, initial_events_end: bool) -> Bytes {
    let mut metadata = json!({"resourceVersion": revision.to_string(), "creationTimestamp": null});
    if initial_events_end {
        metadata["annotations"] = json!({"k8s.io/initial-events-end": "true"});
    }
    frame_bytes(
        "BOOKMARK",
        &json!({"kind": kind, "apiVersion": api_version, "metadata": metadata}),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::resources::ResourceKind;

    fn change(change_type: ChangeType, previous: Option<Value>, object: Value) -> Change {
        Change {
            revision: 1,
            kind: ResourceKind::Pod,
            key: "ns/p".into(),
            change_type,
            previous: previous.map(Arc::new),
            object: Arc::new(object),
        }
    }

    #[test]
    fn selectors_turn_modifications_into_arrivals_and_departures() {
        let on_node_a = |stored: &Value| stored["spec"]["nodeName"] == "a";
        let moved_in = change(
            ChangeType::Modified,
            Some(json!({"spec": {"nodeName": "b"}})),
            json!({"spec": {"nodeName": "a"}}),
        );
        assert_eq!(frame_type_for(&moved_in, &on_node_a), Some("ADDED"));
        let moved_out = change(
            ChangeType::Modified,
            Some(json!({"spec": {"nodeName": "a"}})),
            json!({"spec": {"nodeName": "b"}}),
        );
        assert_eq!(frame_type_for(&moved_out, &on_node_a), Some("DELETED"));
        let elsewhere = change(ChangeType::Added, None, json!({"spec": {"nodeName": "c"}}));
        assert_eq!(frame_type_for(&elsewhere, &on_node_a), None);
    }

    #[test]
    fn frames_are_one_json_line() {
        let frame = frame_bytes("ADDED", &json!({"kind": "Pod"}));
        assert_eq!(
            &frame[..],
            b"{\"type\":\"ADDED\",\"object\":{\"kind\":\"Pod\"}}\n"
        );
    }
}
