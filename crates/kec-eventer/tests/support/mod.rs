//! Shared by the events.k8s.io/v1 and leader election tests: a real in-process center, the
//! fake API server, eventer configs with short timings, and exact-total checks against the
//! fake's ground truth (the same approach as tests/delivery.rs).

#![allow(dead_code)]

use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use kec_eventer::{
    BackoffConfig, CenterSinkConfig, EventerConfig, EventsApi, KubeConnection,
    KubernetesSourceConfig, SinkConfig,
};
use kec_store::{AggregateRequest, EmbeddedStore, StoreConfig};
use kec_testkit::{
    EventRecorder, FakeApiHandle, FakeApiServer, FakeApiServerConfig, InvolvedObject,
};
use tempfile::TempDir;

/// Generous: a takeover waits out a lease, and the machine is shared.
pub const DELIVERY_DEADLINE: Duration = Duration::from_secs(40);

/// A center: the real app on a real socket, over a store the test can read.
pub struct Center {
    pub store: Arc<EmbeddedStore>,
    pub url: String,
    pub server: tokio::task::JoinHandle<()>,
    _dir: TempDir,
}

pub async fn start_center() -> Center {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let mut store_config = StoreConfig::new(dir.path());
    store_config.writer_memory_bytes = 20 * 1024 * 1024;
    let store = Arc::new(EmbeddedStore::open(store_config).unwrap());
    let app = kec_server::app(kec_server::AppState::new(store.clone()));
    let url = format!("http://{}", listener.local_addr().unwrap());
    let server = tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    Center {
        store,
        url,
        server,
        _dir: dir,
    }
}

pub async fn start_api() -> FakeApiServer {
    FakeApiServer::start(FakeApiServerConfig::default())
        .await
        .unwrap()
}

fn stored_occurrences(store: &EmbeddedStore) -> i64 {
    store.commit(kec_model::time::now_ms()).unwrap();
    store
        .aggregate(&AggregateRequest::default())
        .unwrap()
        .iter()
        .map(|row| row.occurrences)
        .sum()
}

/// Polls the center until it holds `expected` occurrences or the deadline passes; returns
/// the last sum seen.
pub async fn wait_for_occurrences(store: &Arc<EmbeddedStore>, expected: u64) -> i64 {
    let deadline = Instant::now() + DELIVERY_DEADLINE;
    loop {
        let store = store.clone();
        let stored = tokio::task::spawn_blocking(move || stored_occurrences(&store))
            .await
            .unwrap();
        if stored == expected as i64 || Instant::now() > deadline {
            return stored;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// The center holds exactly the fake API server's ground truth of occurrences.
pub async fn assert_exact(center: &Center, handle: &FakeApiHandle) {
    let truth = handle.total_occurrences();
    assert!(truth > 0);
    let stored = wait_for_occurrences(&center.store, truth).await;
    assert_eq!(
        stored, truth as i64,
        "center occurrences vs API server ground truth"
    );
}

pub async fn wait_until(what: &str, mut condition: impl FnMut() -> bool) {
    let deadline = Instant::now() + DELIVERY_DEADLINE;
    while !condition() {
        assert!(Instant::now() < deadline, "timed out waiting until {what}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// An eventer reading `api` from the fake, delivering to the center, with fast retries, small
/// pages and tiny channels.
pub fn eventer_config(
    api_url: &str,
    events_api: EventsApi,
    center_url: &str,
    state_dir: &Path,
) -> EventerConfig {
    let fast = BackoffConfig {
        initial_ms: 20,
        max_ms: 200,
    };
    let source = KubernetesSourceConfig {
        connection: KubeConnection::Url {
            server_url: api_url.to_string(),
        },
        api: events_api,
        watch_timeout_secs: 2,
        page_size: 3,
        backoff: fast,
        ..KubernetesSourceConfig::default()
    };
    let mut center = CenterSinkConfig::new(center_url, "test");
    center.batch_max_events = 7;
    center.batch_max_wait_ms = 20;
    center.request_timeout_ms = 2_000;
    center.backoff = fast;
    let mut config = EventerConfig::new(source, vec![SinkConfig::Center(center)]);
    config.state_dir = state_dir.to_path_buf();
    config.channel_capacity = 4;
    config.flush_timeout_ms = 5_000;
    config
}

/// One round of realistic writes: repeats (count PATCHes) of four crash-looping pods and one
/// new Event.
pub fn write_round(recorder: &EventRecorder, round: usize) {
    for pod in 0..4 {
        recorder
            .record(
                &InvolvedObject::pod("prod", &format!("web-{pod}")),
                "Warning",
                "BackOff",
                "Back-off restarting failed container app",
            )
            .unwrap();
    }
    recorder
        .record(
            &InvolvedObject::pod("batch", &format!("job-{round}")),
            "Normal",
            "Scheduled",
            "Successfully assigned the pod",
        )
        .unwrap();
}

/// Writes `rounds` rounds, pacing them so they fall during outages and reconnects.
pub async fn write_rounds(recorder: &EventRecorder, rounds: std::ops::Range<usize>) {
    for round in rounds {
        write_round(recorder, round);
        tokio::time::sleep(Duration::from_millis(30)).await;
    }
}
