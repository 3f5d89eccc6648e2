//! [`SharedState`]: what the HTTP handlers, the watch streams and the handle share.

use std::sync::atomic::{AtomicU64, AtomicUsize};
use std::sync::{Mutex, MutexGuard};

use tokio::sync::watch;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use crate::clock::Clock;
use crate::cluster::ClusterState;
use crate::config::FakeApiServerConfig;
use crate::faults::FaultBook;
use crate::recording::RecordedRequest;

pub struct SharedState {
    pub config: FakeApiServerConfig,
    pub clock: Clock,
    cluster: Mutex<ClusterState>,
    /// The newest revision; watch streams wait on it for new changes.
    pub revision_rx: watch::Receiver<u64>,
    /// Bumped by [`crate::FakeApiHandle::send_bookmarks`]: watches with bookmarks send one now.
    pub bookmark_tx: watch::Sender<u64>,
    faults: Mutex<FaultBook>,
    requests: Mutex<Vec<RecordedRequest>>,
    pub request_sequence: AtomicU64,
    /// Cancelled when the shutdown grace period is over: open watches end cleanly.
    pub watches_end: CancellationToken,
    /// Cancelled on shutdown: background tasks (TTL sweeper) stop.
    pub background_stop: CancellationToken,
    pub watch_tasks: TaskTracker,
    pub open_watches: AtomicUsize,
}

/// A poisoned lock only means a panic elsewhere (a failing test); the data is still usable.
fn relock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

impl SharedState {
    pub fn new(config: FakeApiServerConfig) -> SharedState {
        let clock = Clock::new(config.clock);
        let (revision_tx, revision_rx) = watch::channel(config.initial_resource_version);
        let cluster = ClusterState::new(
            config.initial_resource_version,
            config.watch_history_size,
            clock.clone(),
            revision_tx,
        );
        let (bookmark_tx, _) = watch::channel(0);
        SharedState {
            config,
            clock,
            cluster: Mutex::new(cluster),
            revision_rx,
            bookmark_tx,
            faults: Mutex::new(FaultBook::default()),
            requests: Mutex::new(Vec::new()),
            request_sequence: AtomicU64::new(0),
            watches_end: CancellationToken::new(),
            background_stop: CancellationToken::new(),
            watch_tasks: TaskTracker::new(),
            open_watches: AtomicUsize::new(0),
        }
    }

    pub fn cluster(&self) -> MutexGuard<'_, ClusterState> {
        relock(&self.cluster)
    }

    pub fn faults(&self) -> MutexGuard<'_, FaultBook> {
        relock(&self.faults)
    }

    pub fn requests(&self) -> MutexGuard<'_, Vec<RecordedRequest>> {
        relock(&self.requests)
    }
}
