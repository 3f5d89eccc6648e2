//! The eventer reading events.k8s.io/v1 Events from the fake API server: every test asserts
//! that the center's sum of occurrences equals the fake's ground truth exactly, as
//! tests/delivery.rs does for core/v1.

mod support;

use std::time::Duration;

use k8s_openapi::api::events::v1::Event as EventsV1Event;
use kec_eventer::{EventerStats, EventsApi};
use kec_testkit::{Fault, FaultRule, RecordedRequest, Verb};
use kube::api::{Patch, PatchParams, PostParams};
use serde_json::json;
use support::{assert_exact, eventer_config, start_api, start_center, write_rounds};

const EVENTS_V1_PREFIX: &str = "/apis/events.k8s.io/v1/";

fn stat(counter: &std::sync::atomic::AtomicU64) -> u64 {
    EventerStats::value(counter)
}

/// Every Event request of the eventer went to events.k8s.io/v1, none to core/v1.
fn assert_only_events_v1(requests: &[RecordedRequest]) {
    let event_requests: Vec<&RecordedRequest> = requests
        .iter()
        .filter(|request| request.path.ends_with("/events"))
        .collect();
    assert!(!event_requests.is_empty());
    for request in event_requests {
        assert!(
            request.path.starts_with(EVENTS_V1_PREFIX),
            "core/v1 request {} {}",
            request.method,
            request.path
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn events_v1_delivers_a_backlog_and_count_bumps_once() {
    let api = start_api().await;
    let handle = api.handle();
    handle.generate_events("bulk", 60).unwrap();
    let center = start_center().await;
    let state_dir = tempfile::tempdir().unwrap();
    let eventer = eventer_config(
        &api.url(),
        EventsApi::EventsV1,
        &center.url,
        state_dir.path(),
    )
    .build()
    .await
    .unwrap();
    let recorder = handle.event_recorder("kubelet", "node-1");
    write_rounds(&recorder, 0..6).await;
    assert_exact(&center, &handle).await;
    let stats = eventer.stats();
    eventer.shutdown().await;
    assert_exact(&center, &handle).await;
    assert_eq!(stat(&stats.unparsable), 0);
    assert_eq!(
        stat(&stats.leader),
        1,
        "without leader election the sources run"
    );
    assert_only_events_v1(&handle.requests());
    center.server.abort();
    api.shutdown().await;
}

/// Injects `fault` on the next `times` events.k8s.io/v1 watches, writes during the outages and
/// checks exact totals; returns the eventer's stats and the request log.
async fn exact_totals_under_events_v1_watch_fault(
    fault: Fault,
    times: u64,
) -> (std::sync::Arc<EventerStats>, Vec<RecordedRequest>) {
    let api = start_api().await;
    let handle = api.handle();
    handle.inject_fault(
        FaultRule::new(fault)
            .verb(Verb::Watch)
            .resource("events")
            .group("events.k8s.io")
            .times(times),
    );
    let center = start_center().await;
    let state_dir = tempfile::tempdir().unwrap();
    let eventer = eventer_config(
        &api.url(),
        EventsApi::EventsV1,
        &center.url,
        state_dir.path(),
    )
    .build()
    .await
    .unwrap();
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
    assert_only_events_v1(&requests);
    center.server.abort();
    api.shutdown().await;
    (stats, requests)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn events_v1_empty_200_watches_force_relists_without_loss() {
    let (stats, requests) =
        exact_totals_under_events_v1_watch_fault(Fault::WatchEmptyResponse, 3).await;
    assert!(stat(&stats.forced_relists) >= 3, "{stats:?}");
    // Each faulted watch is followed by a LIST, never by a re-watch from the same version
    // (other resources, such as enrichment's pods, are watched in between).
    let requests: Vec<&RecordedRequest> = requests
        .iter()
        .filter(|request| request.path.ends_with("/events"))
        .collect();
    let watches: Vec<usize> = requests
        .iter()
        .enumerate()
        .filter(|(_, request)| request.verb == Some(Verb::Watch))
        .map(|(position, _)| position)
        .take(3)
        .collect();
    assert_eq!(watches.len(), 3);
    for position in watches {
        assert_eq!(
            requests.get(position + 1).and_then(|request| request.verb),
            Some(Verb::List)
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn events_v1_watches_cut_mid_frame_resume_without_loss() {
    let (stats, _) =
        exact_totals_under_events_v1_watch_fault(Fault::WatchCutMidFrameAfter { frames: 2 }, 3)
            .await;
    assert!(stat(&stats.watch_restarts) >= 3, "{stats:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn events_v1_410_on_watch_start_forces_a_relist_without_loss() {
    let (stats, _) = exact_totals_under_events_v1_watch_fault(Fault::WatchGone, 2).await;
    assert!(stat(&stats.forced_relists) >= 2, "{stats:?}");
}

/// Events written the new way (events.k8s.io/v1 with `series`, as client-go's
/// `k8s.io/client-go/tools/events` recorder does: create once, then PATCH `series.count`)
/// count by `series.count`; a namespace list watches only that namespace.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn events_v1_series_counts_are_occurrences_in_a_watched_namespace() {
    let api = start_api().await;
    let handle = api.handle();
    let center = start_center().await;
    let state_dir = tempfile::tempdir().unwrap();
    let mut config = eventer_config(
        &api.url(),
        EventsApi::EventsV1,
        &center.url,
        state_dir.path(),
    );
    config.source.namespaces = vec!["prod".to_string()];
    let eventer = config.build().await.unwrap();

    let client = kube::Client::try_from(kube::Config::new(api.url().parse().unwrap())).unwrap();
    for namespace in ["prod", "stage"] {
        let events: kube::Api<EventsV1Event> = kube::Api::namespaced(client.clone(), namespace);
        for pod in 0..3 {
            let name = format!("web-{pod}.series");
            let event: EventsV1Event = serde_json::from_value(json!({
                "metadata": {"name": name, "namespace": namespace},
                "eventTime": "2026-11-25T20:00:00.000000Z",
                "reportingController": "kubelet",
                "reportingInstance": "node-1",
                "action": "Restarting",
                "reason": "BackOff",
                "regarding": {"kind": "Pod", "namespace": namespace, "name": format!("web-{pod}"),
                    "apiVersion": "v1", "uid": format!("uid-{namespace}-{pod}")},
                "note": "Back-off restarting failed container app",
                "type": "Warning"
            }))
            .unwrap();
            events.create(&PostParams::default(), &event).await.unwrap();
            for count in 2..=(pod + 3) {
                let series = json!({"series": {"count": count,
                    "lastObservedTime": format!("2026-11-25T20:00:{count:02}.000000Z")}});
                events
                    .patch(&name, &PatchParams::default(), &Patch::Merge(&series))
                    .await
                    .unwrap();
                tokio::time::sleep(Duration::from_millis(10)).await;
            }
        }
    }
    let truth = handle.total_occurrences_in("prod");
    // Series of 3, 4 and 5 occurrences.
    assert_eq!(truth, 12);
    assert!(truth < handle.total_occurrences());
    assert_eq!(
        support::wait_for_occurrences(&center.store, truth).await,
        truth as i64
    );
    eventer.shutdown().await;
    assert_eq!(
        support::wait_for_occurrences(&center.store, truth).await,
        truth as i64
    );
    let event_reads: Vec<RecordedRequest> = handle
        .requests()
        .into_iter()
        .filter(|request| {
            request.path.ends_with("/events")
                && matches!(request.verb, Some(Verb::List | Verb::Watch))
        })
        .collect();
    assert!(
        event_reads
            .iter()
            .any(|request| request.verb == Some(Verb::Watch))
    );
    for request in &event_reads {
        assert_eq!(
            request.path,
            "/apis/events.k8s.io/v1/namespaces/prod/events"
        );
    }
    center.server.abort();
    api.shutdown().await;
}
