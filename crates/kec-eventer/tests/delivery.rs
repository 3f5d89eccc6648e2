//! The eventer against the fake API server and a real in-process center: every test asserts
//! that the center's sum of occurrences equals the fake's ground truth exactly.

use std::collections::VecDeque;
use std::net::SocketAddr;
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::extract::Request;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use kec_eventer::{
    BackoffConfig, CenterSinkConfig, Eventer, EventerConfig, EventerStats, KubeConnection,
    KubernetesSourceConfig, SinkConfig,
};
use kec_store::{AggregateRequest, EmbeddedStore, StoreConfig};
use kec_testkit::{
    EventRecorder, FakeApiHandle, FakeApiServer, FakeApiServerConfig, Fault, FaultRule,
    InvolvedObject, Recorded, RecordedRequest, Verb,
};
use tempfile::TempDir;

const DELIVERY_DEADLINE: Duration = Duration::from_secs(20);

/// A center: the real app on a real socket, over a store the test can read.
struct Center {
    store: Arc<EmbeddedStore>,
    url: String,
    server: tokio::task::JoinHandle<()>,
    _dir: TempDir,
}

/// Answers scripted statuses to the first ingest requests, then lets the rest through.
type Script = Arc<Mutex<VecDeque<(u16, Option<&'static str>)>>>;

async fn start_center_on(listener: tokio::net::TcpListener, script: Option<Script>) -> Center {
    let dir = tempfile::tempdir().unwrap();
    let mut store_config = StoreConfig::new(dir.path());
    store_config.writer_memory_bytes = 20 * 1024 * 1024;
    let store = Arc::new(EmbeddedStore::open(store_config).unwrap());
    let mut app = kec_server::app(kec_server::AppState::new(store.clone()));
    if let Some(script) = script {
        app = app.layer(axum::middleware::from_fn(
            move |request: Request, next: Next| {
                let scripted = script.lock().unwrap().pop_front();
                async move {
                    match scripted {
                        Some((status, retry_after)) => {
                            let status = axum::http::StatusCode::from_u16(status).unwrap();
                            let mut response: Response = (status, "scripted").into_response();
                            if let Some(seconds) = retry_after {
                                response
                                    .headers_mut()
                                    .insert("retry-after", seconds.parse().unwrap());
                            }
                            response
                        }
                        None => next.run(request).await,
                    }
                }
            },
        ));
    }
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

async fn start_center() -> Center {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    start_center_on(listener, None).await
}

/// A free port nobody listens on (yet): connections are refused until a center binds it.
async fn reserve_port() -> SocketAddr {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    listener.local_addr().unwrap()
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
async fn wait_for_occurrences(store: &Arc<EmbeddedStore>, expected: u64) -> i64 {
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

async fn wait_until(what: &str, mut condition: impl FnMut() -> bool) {
    let deadline = Instant::now() + DELIVERY_DEADLINE;
    while !condition() {
        assert!(Instant::now() < deadline, "timed out waiting until {what}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

fn eventer_config(api_url: &str, center_url: &str, state_dir: &Path) -> EventerConfig {
    let fast = BackoffConfig {
        initial_ms: 20,
        max_ms: 200,
    };
    let source = KubernetesSourceConfig {
        connection: KubeConnection::Url {
            server_url: api_url.to_string(),
        },
        namespaces: Vec::new(),
        watch_timeout_secs: 2,
        // Small pages: every LIST walks continue tokens.
        page_size: 3,
        max_watch_start_failures: 5,
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
    // These tests count and check the requests of the Event watch: no enrichment watches.
    // (tests/enrichment.rs covers those.)
    config.enrichment.enabled = false;
    // Tiny channels: backpressure happens for real.
    config.channel_capacity = 4;
    config.flush_timeout_ms = 5_000;
    config
}

async fn start_eventer(api: &FakeApiServer, center_url: &str, state_dir: &Path) -> Eventer {
    eventer_config(&api.url(), center_url, state_dir)
        .build()
        .await
        .unwrap()
}

/// One round of realistic writes: repeats (count PATCHes) of four crash-looping pods and one
/// new Event.
fn write_round(recorder: &EventRecorder, round: usize) {
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
async fn write_rounds(recorder: &EventRecorder, rounds: std::ops::Range<usize>) {
    for round in rounds {
        write_round(recorder, round);
        tokio::time::sleep(Duration::from_millis(30)).await;
    }
}

fn stat(counter: &std::sync::atomic::AtomicU64) -> u64 {
    EventerStats::value(counter)
}

async fn start_api() -> FakeApiServer {
    FakeApiServer::start(FakeApiServerConfig::default())
        .await
        .unwrap()
}

async fn assert_exact(center: &Center, handle: &FakeApiHandle) {
    let truth = handle.total_occurrences();
    assert!(truth > 0);
    let stored = wait_for_occurrences(&center.store, truth).await;
    assert_eq!(
        stored, truth as i64,
        "center occurrences vs API server ground truth"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn normal_flow_delivers_every_occurrence_once_including_a_re_post_after_expiry() {
    let api = start_api().await;
    let handle = api.handle();
    // A backlog the first LIST pushes through the tiny channels at once.
    handle.generate_events("bulk", 300).unwrap();
    let center = start_center().await;
    let state_dir = tempfile::tempdir().unwrap();
    let eventer = start_eventer(&api, &center.url, state_dir.path()).await;
    let recorder = handle.event_recorder("kubelet", "node-1");
    write_rounds(&recorder, 0..5).await;
    assert_exact(&center, &handle).await;

    // client-go's repeat after expiry: the PATCH gets 404, the same name is POSTed again with
    // the running count under a new uid; only the new occurrence may count.
    let object = InvolvedObject::pod("prod", "web-0");
    let Recorded::Patched {
        namespace, name, ..
    } = recorder
        .record(
            &object,
            "Warning",
            "BackOff",
            "Back-off restarting failed container app",
        )
        .unwrap()
    else {
        panic!("expected a PATCH");
    };
    assert_exact(&center, &handle).await;
    assert!(handle.expire_event(&namespace, &name));
    let again = recorder
        .record(
            &object,
            "Warning",
            "BackOff",
            "Back-off restarting failed container app",
        )
        .unwrap();
    assert!(matches!(again, Recorded::Recreated { .. }), "{again:?}");
    write_rounds(&recorder, 5..8).await;
    assert_exact(&center, &handle).await;

    let stats = eventer.stats();
    eventer.shutdown().await;
    assert_exact(&center, &handle).await;
    assert!(
        stat(&stats.backpressure_waits) > 0,
        "tiny channels must have filled"
    );
    assert_eq!(stat(&stats.batches_rejected), 0);
    center.server.abort();
    api.shutdown().await;
}

/// Injects `fault` on the next `times` event watches, writes during the outages, and checks
/// exact totals. Returns the eventer's stats and the API server's request log.
async fn exact_totals_under_watch_fault(
    fault: Fault,
    times: u64,
) -> (Arc<EventerStats>, Vec<RecordedRequest>) {
    let api = start_api().await;
    let handle = api.handle();
    handle.inject_fault(
        FaultRule::new(fault)
            .verb(Verb::Watch)
            .resource("events")
            .times(times),
    );
    let center = start_center().await;
    let state_dir = tempfile::tempdir().unwrap();
    let eventer = start_eventer(&api, &center.url, state_dir.path()).await;
    let recorder = handle.event_recorder("kubelet", "node-1");
    write_rounds(&recorder, 0..12).await;
    assert_exact(&center, &handle).await;
    assert!(
        handle.active_faults().is_empty(),
        "every injected fault was hit"
    );
    let stats = eventer.stats();
    eventer.shutdown().await;
    assert_exact(&center, &handle).await;
    let requests = handle.requests();
    center.server.abort();
    api.shutdown().await;
    (stats, requests)
}

/// The first `faulted` WATCHes each got the fault; the eventer's next request after each must
/// be a LIST (a relist), never a re-watch from the same resourceVersion.
fn assert_each_faulted_watch_is_followed_by_a_list(requests: &[RecordedRequest], faulted: usize) {
    let watches: Vec<usize> = requests
        .iter()
        .enumerate()
        .filter(|(_, request)| request.verb == Some(Verb::Watch))
        .map(|(position, _)| position)
        .take(faulted)
        .collect();
    assert_eq!(watches.len(), faulted);
    for position in watches {
        assert_eq!(
            requests.get(position + 1).and_then(|request| request.verb),
            Some(Verb::List),
            "request after faulted watch #{position}: {:?}",
            requests.get(position + 1).map(|request| &request.query)
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_watch_closed_cleanly_resumes_without_loss() {
    let (stats, _) = exact_totals_under_watch_fault(Fault::WatchCloseAfter { frames: 2 }, 3).await;
    assert!(stat(&stats.watch_restarts) >= 3);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_watch_reset_resumes_without_loss() {
    let (stats, _) = exact_totals_under_watch_fault(Fault::WatchResetAfter { frames: 2 }, 3).await;
    assert!(stat(&stats.watch_restarts) >= 3);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_watch_cut_mid_frame_resumes_without_loss() {
    let (stats, _) =
        exact_totals_under_watch_fault(Fault::WatchCutMidFrameAfter { frames: 2 }, 3).await;
    assert!(stat(&stats.watch_restarts) >= 3);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_empty_200_watch_forces_a_relist() {
    let (stats, requests) = exact_totals_under_watch_fault(Fault::WatchEmptyResponse, 3).await;
    assert_each_faulted_watch_is_followed_by_a_list(&requests, 3);
    assert!(stat(&stats.forced_relists) >= 3, "{stats:?}");
    assert!(stat(&stats.lists) >= 4, "{stats:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_410_on_watch_start_forces_a_relist() {
    let (stats, requests) = exact_totals_under_watch_fault(Fault::WatchGone, 3).await;
    assert_each_faulted_watch_is_followed_by_a_list(&requests, 3);
    assert!(stat(&stats.forced_relists) >= 3, "{stats:?}");
}

/// kube-rs's watcher re-watches from the same resourceVersion on a non-410 ERROR frame; one
/// revision below the compaction point the API server answers every such watch with a 500
/// frame, so that loops forever. The eventer must relist on ANY ERROR frame.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_error_500_frame_one_below_compaction_forces_a_relist() {
    let api = start_api().await;
    let handle = api.handle();
    let center = start_center().await;
    let state_dir = tempfile::tempdir().unwrap();
    let mut config = eventer_config(&api.url(), &center.url, state_dir.path());
    config.source.watch_timeout_secs = 1;
    // Keep retrying the watch from the same resourceVersion while the test holds it down.
    config.source.max_watch_start_failures = 10_000;
    let eventer = config.build().await.unwrap();
    let recorder = handle.event_recorder("kubelet", "node-1");
    write_rounds(&recorder, 0..3).await;
    assert_exact(&center, &handle).await;

    // The eventer is idle at the newest revision. Hold its watches down, write, and compact
    // so that its resourceVersion is exactly one below the compaction point.
    let down = handle.inject_fault(
        FaultRule::new(Fault::ServiceUnavailable {
            retry_after_seconds: 0,
        })
        .verb(Verb::Watch)
        .resource("events"),
    );
    wait_until("the open watch ended", || handle.open_watches() == 0).await;
    let eventer_version = handle.resource_version();
    write_rounds(&recorder, 3..6).await;
    handle.compact_to(eventer_version + 1);
    assert_eq!(handle.compaction_point(), eventer_version + 1);
    handle.clear_requests();
    handle.clear_fault(down);

    assert_exact(&center, &handle).await;
    let requests = handle.requests();
    let from_stale = requests
        .iter()
        .position(|request| {
            request.verb == Some(Verb::Watch)
                && request.query_param("resourceVersion")
                    == Some(eventer_version.to_string().as_str())
                && request.status == 200
        })
        .expect("the eventer re-watched from its resourceVersion");
    assert!(
        requests[from_stale..]
            .iter()
            .any(|request| request.verb == Some(Verb::List)),
        "a LIST followed the ERROR frame"
    );
    let stats = eventer.stats();
    assert!(stat(&stats.forced_relists) >= 1);
    eventer.shutdown().await;
    center.server.abort();
    api.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn api_throttling_429_and_503_with_retry_after_is_honoured() {
    let api = start_api().await;
    let handle = api.handle();
    for fault in [
        Fault::TooManyRequests {
            retry_after_seconds: 1,
        },
        Fault::ServiceUnavailable {
            retry_after_seconds: 1,
        },
    ] {
        handle.inject_fault(FaultRule::new(fault).resource("events").times(1));
    }
    let center = start_center().await;
    let state_dir = tempfile::tempdir().unwrap();
    let started = Instant::now();
    let eventer = start_eventer(&api, &center.url, state_dir.path()).await;
    let recorder = handle.event_recorder("kubelet", "node-1");
    write_rounds(&recorder, 0..5).await;
    assert_exact(&center, &handle).await;
    assert!(
        started.elapsed() >= Duration::from_secs(2),
        "two Retry-After: 1 answers must cost two seconds"
    );
    let throttled = handle
        .requests()
        .iter()
        .filter(|request| request.status == 429 || request.status == 503)
        .count();
    assert_eq!(throttled, 2);
    eventer.shutdown().await;
    center.server.abort();
    api.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_center_down_then_up_loses_nothing_and_duplicates_nothing() {
    let api = start_api().await;
    let handle = api.handle();
    let center_address = reserve_port().await;
    let center_url = format!("http://{center_address}");
    let state_dir = tempfile::tempdir().unwrap();
    let eventer = start_eventer(&api, &center_url, state_dir.path()).await;
    let stats = eventer.stats();
    let recorder = handle.event_recorder("kubelet", "node-1");
    write_rounds(&recorder, 0..6).await;
    wait_until("batches are spooled and retried", || {
        stat(&stats.batches_spooled) >= 2 && stat(&stats.delivery_retries) >= 3
    })
    .await;
    let spool_dir = eventer.spool_dirs().remove(0);
    assert!(spool_files(&spool_dir) >= 2);

    let listener = tokio::net::TcpListener::bind(center_address).await.unwrap();
    let center = start_center_on(listener, None).await;
    write_rounds(&recorder, 6..9).await;
    assert_exact(&center, &handle).await;
    eventer.shutdown().await;
    assert_exact(&center, &handle).await;
    assert_eq!(
        spool_files(&spool_dir),
        0,
        "the spool is empty once delivered"
    );
    center.server.abort();
    api.shutdown().await;
}

fn spool_files(dir: &Path) -> usize {
    std::fs::read_dir(dir)
        .unwrap()
        .filter(|entry| {
            entry
                .as_ref()
                .is_ok_and(|entry| entry.path().extension().is_some_and(|ext| ext == "ndjson"))
        })
        .count()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn center_429_and_503_are_retried_after_retry_after() {
    let api = start_api().await;
    let handle = api.handle();
    let script: Script = Arc::new(Mutex::new(VecDeque::from([
        (429, Some("1")),
        (503, Some("1")),
        (500, None),
    ])));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let center = start_center_on(listener, Some(script.clone())).await;
    let state_dir = tempfile::tempdir().unwrap();
    let started = Instant::now();
    let eventer = start_eventer(&api, &center.url, state_dir.path()).await;
    let recorder = handle.event_recorder("kubelet", "node-1");
    write_rounds(&recorder, 0..4).await;
    assert_exact(&center, &handle).await;
    assert!(script.lock().unwrap().is_empty());
    assert!(started.elapsed() >= Duration::from_secs(2));
    let stats = eventer.stats();
    assert_eq!(stat(&stats.delivery_retries), 3);
    eventer.shutdown().await;
    center.server.abort();
    api.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_batch_the_center_refuses_for_good_moves_to_rejected_with_its_reason() {
    let api = start_api().await;
    let handle = api.handle();
    let script: Script = Arc::new(Mutex::new(VecDeque::from([(400, None)])));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let center = start_center_on(listener, Some(script)).await;
    let state_dir = tempfile::tempdir().unwrap();
    let eventer = start_eventer(&api, &center.url, state_dir.path()).await;
    let stats = eventer.stats();
    let recorder = handle.event_recorder("kubelet", "node-1");
    write_rounds(&recorder, 0..3).await;
    wait_until("a batch is rejected and later ones delivered", || {
        stat(&stats.batches_rejected) == 1 && stat(&stats.batches_delivered) >= 1
    })
    .await;
    let rejected_dir = eventer.spool_dirs().remove(0).join("rejected");
    assert_eq!(spool_files(&rejected_dir), 1);
    let reason = std::fs::read_dir(&rejected_dir)
        .unwrap()
        .filter_map(Result::ok)
        .find(|entry| entry.path().extension().is_some_and(|ext| ext == "reason"))
        .map(|entry| std::fs::read_to_string(entry.path()).unwrap())
        .unwrap();
    assert!(reason.contains("400"), "{reason}");
    eventer.shutdown().await;
    center.server.abort();
    api.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_restart_with_the_same_state_dir_delivers_what_happened_while_down() {
    let api = start_api().await;
    let handle = api.handle();
    let center = start_center().await;
    let state_dir = tempfile::tempdir().unwrap();
    let eventer = start_eventer(&api, &center.url, state_dir.path()).await;
    let recorder = handle.event_recorder("kubelet", "node-1");
    write_rounds(&recorder, 0..4).await;
    assert_exact(&center, &handle).await;
    eventer.shutdown().await;

    // Count bumps and new Events while no eventer runs.
    write_rounds(&recorder, 4..8).await;
    let eventer = start_eventer(&api, &center.url, state_dir.path()).await;
    assert_exact(&center, &handle).await;
    write_rounds(&recorder, 8..10).await;
    assert_exact(&center, &handle).await;
    eventer.shutdown().await;
    assert_exact(&center, &handle).await;
    center.server.abort();
    api.shutdown().await;
}

/// A batch that cannot be spooled (here: its file cannot take its final name) has left memory
/// already, so the eventer must fail loudly instead of going on without it; the restart's
/// relist then delivers everything exactly.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_batch_that_cannot_be_spooled_fails_the_eventer_and_the_restart_delivers_it() {
    let api = start_api().await;
    let handle = api.handle();
    let center = start_center().await;
    let state_dir = tempfile::tempdir().unwrap();
    let eventer = start_eventer(&api, &center.url, state_dir.path()).await;
    let stats = eventer.stats();
    let recorder = handle.event_recorder("kubelet", "node-1");
    write_rounds(&recorder, 0..2).await;
    assert_exact(&center, &handle).await;
    wait_until("every spooled batch is delivered", || {
        stat(&stats.batches_delivered) == stat(&stats.batches_spooled)
    })
    .await;
    // The next batch's final name is taken by a directory: its rename fails.
    let spool_dir = eventer.spool_dirs().remove(0);
    let next_seq = stat(&stats.batches_spooled) + 1;
    let blocker = spool_dir.join(format!("{next_seq:020}.ndjson"));
    std::fs::create_dir_all(blocker.join("blocker")).unwrap();
    // One round, then nothing: the failure is reported without waiting for another Event.
    write_rounds(&recorder, 2..3).await;
    tokio::time::timeout(DELIVERY_DEADLINE, eventer.failed())
        .await
        .expect("the eventer reports that its center sink stopped");
    eventer.abort().await;
    let leftovers: Vec<_> = std::fs::read_dir(&spool_dir)
        .unwrap()
        .filter_map(Result::ok)
        .filter(|item| item.path().extension().is_some_and(|ext| ext == "tmp"))
        .collect();
    assert!(leftovers.is_empty(), "half-written batches: {leftovers:?}");
    assert!(stored_occurrences(&center.store) < handle.total_occurrences() as i64);

    std::fs::remove_dir_all(&blocker).unwrap();
    let eventer = start_eventer(&api, &center.url, state_dir.path()).await;
    assert_exact(&center, &handle).await;
    write_rounds(&recorder, 4..6).await;
    assert_exact(&center, &handle).await;
    eventer.shutdown().await;
    center.server.abort();
    api.shutdown().await;
}

/// kill -9 with batches spooled (the center is down), then an Event that was only ever in the
/// spool expires from the API server: only the spool can still deliver it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_killed_eventer_resends_its_spool_on_start() {
    let api = start_api().await;
    let handle = api.handle();
    let center_address = reserve_port().await;
    let center_url = format!("http://{center_address}");
    let state_dir = tempfile::tempdir().unwrap();
    let eventer = start_eventer(&api, &center_url, state_dir.path()).await;
    let stats = eventer.stats();
    let recorder = handle.event_recorder("kubelet", "node-1");
    let Recorded::Created { namespace, name } = recorder
        .record(
            &InvolvedObject::pod("prod", "short-lived"),
            "Warning",
            "FailedMount",
            "MountVolume.SetUp failed for volume \"config\"",
        )
        .unwrap()
    else {
        panic!("expected a new Event");
    };
    write_rounds(&recorder, 0..4).await;
    wait_until("the short-lived Event and the rounds are spooled", || {
        stat(&stats.received) >= 25 && stat(&stats.batches_spooled) >= 3
    })
    .await;
    tokio::time::sleep(Duration::from_millis(100)).await;
    eventer.abort().await;

    assert!(handle.expire_event(&namespace, &name));
    write_rounds(&recorder, 4..6).await;
    let listener = tokio::net::TcpListener::bind(center_address).await.unwrap();
    let center = start_center_on(listener, None).await;
    let eventer = start_eventer(&api, &center.url, state_dir.path()).await;
    assert_exact(&center, &handle).await;
    eventer.shutdown().await;
    assert_exact(&center, &handle).await;
    center.server.abort();
    api.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_namespace_list_watches_only_those_namespaces_and_gzip_bodies_arrive() {
    let api = start_api().await;
    let handle = api.handle();
    let center = start_center().await;
    let state_dir = tempfile::tempdir().unwrap();
    let mut config = eventer_config(&api.url(), &center.url, state_dir.path());
    config.source.namespaces = vec!["prod".to_string()];
    let Some(SinkConfig::Center(center_sink)) = config.sinks.get_mut("center") else {
        panic!("expected the center sink");
    };
    center_sink.gzip = true;
    let eventer = config.build().await.unwrap();
    let recorder = handle.event_recorder("kubelet", "node-1");
    write_rounds(&recorder, 0..5).await;
    let truth = handle.total_occurrences_in("prod");
    assert!(truth < handle.total_occurrences());
    assert_eq!(
        wait_for_occurrences(&center.store, truth).await,
        truth as i64
    );
    eventer.shutdown().await;
    assert_eq!(
        wait_for_occurrences(&center.store, truth).await,
        truth as i64
    );
    assert!(
        handle
            .requests()
            .iter()
            .all(|request| request.path == "/api/v1/namespaces/prod/events")
    );
    center.server.abort();
    api.shutdown().await;
}
