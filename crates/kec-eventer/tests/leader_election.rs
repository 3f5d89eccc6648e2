//! High availability on the fake API server: replicas elect a leader through a
//! coordination.k8s.io/v1 Lease, only the leader runs the sources, and every test asserts that
//! the center's sum of occurrences equals the fake's ground truth exactly (the center's ledger
//! absorbs the relist of each handover).

mod support;

use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::AtomicU64;
use std::time::Duration;

use kec_eventer::{Eventer, EventerConfig, EventerStats, EventsApi, LeaderElectionConfig};
use kec_testkit::{FakeApiHandle, Fault, FaultRule, ResourceKind, Verb};
use serde_json::Value;
use support::{assert_exact, start_api, start_center, wait_until, write_rounds};

const LEASE_NAMESPACE: &str = "kec";
const LEASE_NAME: &str = "kec-eventer";

fn stat(counter: &AtomicU64) -> u64 {
    EventerStats::value(counter)
}

/// A replica with leader election on and short timings (lease 3 s, renew deadline 2 s, retry
/// every 1 s).
fn replica_config(
    api_url: &str,
    center_url: &str,
    state_dir: &Path,
    identity: &str,
) -> EventerConfig {
    let mut config = support::eventer_config(api_url, EventsApi::CoreV1, center_url, state_dir);
    config.leader_election = LeaderElectionConfig {
        enabled: true,
        lease_name: LEASE_NAME.to_string(),
        lease_namespace: Some(LEASE_NAMESPACE.to_string()),
        identity: Some(identity.to_string()),
        lease_duration_secs: 3,
        renew_deadline_secs: 2,
        retry_period_secs: 1,
    };
    config
}

fn lease(handle: &FakeApiHandle) -> Value {
    handle
        .get_object(ResourceKind::Lease, LEASE_NAMESPACE, LEASE_NAME)
        .expect("the Lease exists")
}

fn holder(handle: &FakeApiHandle) -> String {
    lease(handle)
        .pointer("/spec/holderIdentity")
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_string()
}

fn transitions(handle: &FakeApiHandle) -> i64 {
    lease(handle)
        .pointer("/spec/leaseTransitions")
        .and_then(Value::as_i64)
        .unwrap_or(-1)
}

/// Keeps writing rounds from `first` on until `stop` is cancelled; returns how many it wrote.
fn spawn_writer(
    handle: &FakeApiHandle,
    first: usize,
    stop: tokio_util::sync::CancellationToken,
) -> tokio::task::JoinHandle<usize> {
    let recorder = handle.event_recorder("kubelet", "node-1");
    tokio::spawn(async move {
        let mut round = first;
        while !stop.is_cancelled() {
            support::write_round(&recorder, round);
            round += 1;
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        round - first
    })
}

/// Two replicas started together: exactly one leads, it alone lists and watches, both share
/// the center, and every occurrence arrives once. A graceful shutdown of the leader releases
/// the Lease and the other takes over.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_replicas_deliver_every_occurrence_once_and_a_released_lease_is_taken_over() {
    let api = start_api().await;
    let handle = api.handle();
    handle.generate_events("bulk", 40).unwrap();
    let center = start_center().await;
    let (dir_a, dir_b) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let (a, b) = tokio::join!(
        replica_config(&api.url(), &center.url, dir_a.path(), "eventer-a").build(),
        replica_config(&api.url(), &center.url, dir_b.path(), "eventer-b").build(),
    );
    let (a, b) = (a.unwrap(), b.unwrap());
    let (stats_a, stats_b) = (a.stats(), b.stats());
    wait_until("one replica leads", || {
        stat(&stats_a.leader) + stat(&stats_b.leader) == 1
    })
    .await;
    let (leader, follower, leader_stats, follower_stats, follower_name) =
        if stat(&stats_a.leader) == 1 {
            (a, b, stats_a, stats_b, "eventer-b")
        } else {
            (b, a, stats_b, stats_a, "eventer-a")
        };
    let recorder = handle.event_recorder("kubelet", "node-1");
    write_rounds(&recorder, 0..8).await;
    assert_exact(&center, &handle).await;
    assert_eq!(stat(&leader_stats.leader), 1);
    assert_eq!(stat(&follower_stats.leader), 0, "only one replica leads");
    assert_eq!(
        stat(&follower_stats.lists),
        0,
        "the follower never listed Events"
    );
    assert_eq!(stat(&follower_stats.received), 0);
    assert!(stat(&leader_stats.lists) >= 1);
    assert_eq!(transitions(&handle), 0);

    leader.shutdown().await;
    // Released: no holder and a one-second duration, so the follower need not wait 3 s.
    let released = lease(&handle);
    let released_holder = released
        .pointer("/spec/holderIdentity")
        .and_then(Value::as_str);
    assert!(released_holder.is_none_or(str::is_empty), "{released}");
    assert_eq!(
        released
            .pointer("/spec/leaseDurationSeconds")
            .and_then(Value::as_i64),
        Some(1)
    );
    wait_until("the follower leads", || stat(&follower_stats.leader) == 1).await;
    assert_eq!(holder(&handle), follower_name);
    assert_eq!(transitions(&handle), 1);
    write_rounds(&recorder, 8..12).await;
    assert_exact(&center, &handle).await;
    assert!(stat(&follower_stats.lists) >= 1);
    follower.shutdown().await;
    assert_exact(&center, &handle).await;
    center.server.abort();
    api.shutdown().await;
}

/// kill -9 of the leader while Events keep coming: nothing releases the Lease, the follower
/// takes over once it has seen the Lease unchanged for its duration, relists, and the center
/// ends up with every occurrence exactly once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn killing_the_leader_mid_stream_loses_nothing() {
    let api = start_api().await;
    let handle = api.handle();
    let center = start_center().await;
    let (dir_a, dir_b) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let a = replica_config(&api.url(), &center.url, dir_a.path(), "eventer-a")
        .build()
        .await
        .unwrap();
    let stats_a = a.stats();
    wait_until("eventer-a leads", || stat(&stats_a.leader) == 1).await;
    let b: Eventer = replica_config(&api.url(), &center.url, dir_b.path(), "eventer-b")
        .build()
        .await
        .unwrap();
    let stats_b = b.stats();

    let stop_writing = tokio_util::sync::CancellationToken::new();
    let writer = spawn_writer(&handle, 0, stop_writing.clone());
    wait_until("eventer-a is streaming", || stat(&stats_a.received) >= 20).await;
    a.abort().await;
    let received_by_a = stat(&stats_a.received);
    assert_eq!(holder(&handle), "eventer-a", "kill -9 releases nothing");
    wait_until("eventer-b takes over", || stat(&stats_b.leader) == 1).await;
    wait_until("eventer-b is streaming", || stat(&stats_b.received) >= 10).await;
    stop_writing.cancel();
    let rounds = writer.await.unwrap();
    assert!(rounds >= 10, "writes went on during the takeover: {rounds}");

    assert_exact(&center, &handle).await;
    assert_eq!(holder(&handle), "eventer-b");
    assert_eq!(transitions(&handle), 1);
    assert_eq!(stat(&stats_b.leader_acquisitions), 1);
    assert_eq!(
        stat(&stats_a.received),
        received_by_a,
        "the killed replica's sources are gone"
    );
    b.shutdown().await;
    assert_exact(&center, &handle).await;
    center.server.abort();
    api.shutdown().await;
}

/// A leader whose renewals fail for its renew deadline stops its sources (no Event LIST or
/// WATCH), keeps trying, leads again once the API server answers, and its relist delivers what
/// happened meanwhile.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_leader_that_cannot_renew_stops_its_sources_and_leads_again() {
    let api = start_api().await;
    let handle = api.handle();
    let center = start_center().await;
    let dir = tempfile::tempdir().unwrap();
    let eventer = replica_config(&api.url(), &center.url, dir.path(), "eventer-a")
        .build()
        .await
        .unwrap();
    let stats = eventer.stats();
    wait_until("it leads", || stat(&stats.leader) == 1).await;
    let recorder = handle.event_recorder("kubelet", "node-1");
    write_rounds(&recorder, 0..4).await;
    assert_exact(&center, &handle).await;

    let lease_down = handle.inject_fault(FaultRule::new(Fault::InternalError).resource("leases"));
    wait_until("leadership is lost", || {
        stat(&stats.leader) == 0 && stat(&stats.leader_losses) == 1
    })
    .await;
    handle.clear_requests();
    write_rounds(&recorder, 4..8).await;
    // Still down: the replica keeps asking for the Lease, and reads no Events meanwhile. Three
    // retries take over 3 s, longer than the 2 s Event watch timeout: a source still running
    // would have re-watched (other watches, such as enrichment's, may stay open).
    wait_until("it retried the Lease three times", || {
        handle
            .requests()
            .iter()
            .filter(|request| request.path.contains("/leases/"))
            .count()
            >= 3
    })
    .await;
    assert!(
        handle
            .requests()
            .iter()
            .all(|request| !request.path.ends_with("/events")
                || !matches!(request.verb, Some(Verb::List | Verb::Watch))),
        "no Event LIST or WATCH without the Lease"
    );

    handle.clear_fault(lease_down);
    wait_until("it leads again", || stat(&stats.leader) == 1).await;
    assert_eq!(stat(&stats.leader_acquisitions), 2);
    assert_exact(&center, &handle).await;
    // It held the Lease all along as far as the API server knows: no transition.
    assert_eq!(holder(&handle), "eventer-a");
    assert_eq!(transitions(&handle), 0);
    let stats: Arc<EventerStats> = eventer.stats();
    eventer.shutdown().await;
    assert_exact(&center, &handle).await;
    assert_eq!(stat(&stats.leader), 0);
    center.server.abort();
    api.shutdown().await;
}
