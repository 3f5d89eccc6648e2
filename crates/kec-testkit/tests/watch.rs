//! WATCH: from a resourceVersion, the initial burst, stale and future resourceVersions,
//! bookmarks, timeouts, selectors and the events.k8s.io/v1 view.

mod common;

use std::time::Duration;

use common::{WatchRead, WatchStream, pod_event, resource_version, start, test_config};
use kec_testkit::{FakeApiServerConfig, ResourceKind};
use serde_json::json;

const QUIET: Duration = Duration::from_millis(300);

#[tokio::test]
async fn a_watch_from_a_resource_version_delivers_exactly_the_later_changes() {
    let server = start(test_config()).await;
    let handle = server.handle();
    handle
        .create_event(pod_event("prod", "before", "web", 1))
        .unwrap();
    let from = handle.resource_version();
    handle
        .create_event(pod_event("prod", "after", "web", 1))
        .unwrap();
    handle
        .create_event(pod_event("other", "elsewhere", "db", 1))
        .unwrap();
    handle.burn_resource_versions(17);
    handle
        .delete_object(ResourceKind::Event, "prod", "before")
        .unwrap();

    let mut watch = WatchStream::open(&format!(
        "{}/api/v1/namespaces/prod/events?watch=1&resourceVersion={from}&timeoutSeconds=1",
        server.url()
    ))
    .await;
    assert_eq!(watch.status, 200);
    assert_eq!(watch.headers["content-type"], "application/json");
    let added = watch.frame().await;
    assert_eq!(added["type"], "ADDED");
    assert_eq!(added["object"]["metadata"]["name"], "after");
    assert_eq!(added["object"]["kind"], "Event");
    assert_eq!(added["object"]["apiVersion"], "v1");
    let deleted = watch.frame().await;
    assert_eq!(deleted["type"], "DELETED");
    assert_eq!(deleted["object"]["metadata"]["name"], "before");
    assert!(resource_version(&deleted["object"]) > resource_version(&added["object"]) + 17);

    // Live changes follow, then the timeout ends the stream cleanly.
    handle
        .create_event(pod_event("prod", "live", "web", 1))
        .unwrap();
    assert_eq!(watch.frame().await["object"]["metadata"]["name"], "live");
    let (rest, end) = watch.drain(Duration::from_secs(3)).await;
    assert!(rest.is_empty());
    assert!(matches!(end, WatchRead::End), "{end:?}");
    server.shutdown().await;
}

#[tokio::test]
async fn a_watch_without_resource_version_starts_with_added_frames_in_key_order_not_rv_order() {
    let server = start(test_config()).await;
    let handle = server.handle();
    for name in ["zeta", "alpha", "mike"] {
        handle
            .create_event(pod_event("prod", name, "web", 1))
            .unwrap();
    }
    let mut watch = WatchStream::open(&format!(
        "{}/api/v1/events?watch=true&allowWatchBookmarks=true&timeoutSeconds=5",
        server.url()
    ))
    .await;
    let burst = [
        watch.frame().await,
        watch.frame().await,
        watch.frame().await,
    ];
    let burst_names = burst
        .iter()
        .map(|frame| {
            frame["object"]["metadata"]["name"]
                .as_str()
                .unwrap()
                .to_string()
        })
        .collect::<Vec<_>>();
    assert_eq!(burst_names, ["alpha", "mike", "zeta"]);
    assert!(burst.iter().all(|frame| frame["type"] == "ADDED"));
    let revisions = burst
        .iter()
        .map(|frame| resource_version(&frame["object"]))
        .collect::<Vec<_>>();
    assert!(
        !revisions.is_sorted(),
        "the burst is not in resourceVersion order"
    );

    handle
        .create_event(pod_event("prod", "new", "web", 1))
        .unwrap();
    assert_eq!(watch.frame().await["object"]["metadata"]["name"], "new");
    // Events bypass the watch cache: no bookmarks even when asked for.
    handle.send_bookmarks();
    assert!(matches!(
        watch.next(Duration::from_millis(600)).await,
        WatchRead::Silent
    ));
    server.shutdown().await;
}

#[tokio::test]
async fn a_watch_from_a_compacted_resource_version_gets_one_410_error_frame_then_ends() {
    let server = start(test_config()).await;
    let handle = server.handle();
    let old = handle.resource_version();
    handle
        .create_event(pod_event("prod", "a", "web", 1))
        .unwrap();
    handle
        .create_event(pod_event("prod", "b", "web", 1))
        .unwrap();
    handle.compact();
    let compaction_point = handle.compaction_point();
    assert!(old + 1 < compaction_point);

    let mut watch = WatchStream::open(&format!(
        "{}/api/v1/events?watch=1&resourceVersion={old}",
        server.url()
    ))
    .await;
    assert_eq!(watch.status, 200);
    let error = watch.frame().await;
    assert_eq!(
        error,
        json!({"type": "ERROR", "object": {"kind": "Status", "apiVersion": "v1", "metadata": {},
            "status": "Failure", "message": "The resourceVersion for the provided watch is too old.",
            "reason": "Expired", "code": 410}})
    );
    assert!(matches!(
        watch.next(Duration::from_secs(2)).await,
        WatchRead::End
    ));

    // Exactly one revision below the compaction point: an internal error instead.
    let mut one_below = WatchStream::open(&format!(
        "{}/api/v1/events?watch=1&resourceVersion={}",
        server.url(),
        compaction_point - 1
    ))
    .await;
    let error = one_below.frame().await;
    assert_eq!(error["type"], "ERROR");
    assert_eq!(error["object"]["code"], 500);
    assert_eq!(error["object"]["reason"], "InternalError");
    assert!(matches!(
        one_below.next(Duration::from_secs(2)).await,
        WatchRead::End
    ));

    // At the compaction point itself the watch works.
    let mut fine = WatchStream::open(&format!(
        "{}/api/v1/events?watch=1&resourceVersion={compaction_point}&timeoutSeconds=1",
        server.url()
    ))
    .await;
    assert!(matches!(
        fine.next(Duration::from_secs(3)).await,
        WatchRead::End
    ));
    server.shutdown().await;
}

#[tokio::test]
async fn cached_kinds_word_the_410_like_the_watch_cache() {
    let server = start(test_config()).await;
    let handle = server.handle();
    let old = handle.resource_version();
    handle
        .apply_object(
            ResourceKind::Pod,
            json!({"metadata": {"namespace": "a", "name": "p"}}),
        )
        .unwrap();
    handle
        .apply_object(
            ResourceKind::Pod,
            json!({"metadata": {"namespace": "a", "name": "q"}}),
        )
        .unwrap();
    handle.compact();
    let mut watch = WatchStream::open(&format!(
        "{}/api/v1/pods?watch=1&resourceVersion={old}",
        server.url()
    ))
    .await;
    let error = watch.frame().await;
    assert_eq!(error["object"]["code"], 410);
    assert!(
        error["object"]["message"]
            .as_str()
            .unwrap()
            .starts_with("too old resource version")
    );
    server.shutdown().await;
}

#[tokio::test]
async fn a_watch_from_a_future_resource_version_stays_silent_until_its_timeout() {
    let server = start(test_config()).await;
    let future = server.handle().resource_version() + 1_000;
    let started = tokio::time::Instant::now();
    let mut watch = WatchStream::open(&format!(
        "{}/api/v1/events?watch=1&resourceVersion={future}&timeoutSeconds=1",
        server.url()
    ))
    .await;
    assert_eq!(watch.status, 200);
    server
        .handle()
        .create_event(pod_event("prod", "a", "web", 1))
        .unwrap();
    let (frames, end) = watch.drain(Duration::from_secs(3)).await;
    assert!(frames.is_empty());
    assert!(matches!(end, WatchRead::End));
    assert!(started.elapsed() >= Duration::from_millis(900));
    server.shutdown().await;
}

#[tokio::test]
async fn cached_kinds_get_bookmarks_when_they_ask() {
    let server = start(test_config()).await;
    let handle = server.handle();
    let from = handle.resource_version();
    let mut with = WatchStream::open(&format!(
        "{}/api/v1/pods?watch=1&resourceVersion={from}&allowWatchBookmarks=true&timeoutSeconds=5",
        server.url()
    ))
    .await;
    let mut without = WatchStream::open(&format!(
        "{}/api/v1/pods?watch=1&resourceVersion={from}&timeoutSeconds=5",
        server.url()
    ))
    .await;
    handle.burn_resource_versions(5);
    handle.send_bookmarks();
    let bookmark = with.frame().await;
    assert_eq!(bookmark["type"], "BOOKMARK");
    assert_eq!(bookmark["object"]["kind"], "Pod");
    assert_eq!(resource_version(&bookmark["object"]), from + 5);
    assert!(matches!(without.next(QUIET).await, WatchRead::Silent));
    server.shutdown().await;
}

#[tokio::test]
async fn selectors_and_the_events_v1_view_apply_to_watches() {
    let server = start(test_config()).await;
    let handle = server.handle();
    let from = handle.resource_version();
    let mut nodes_only = WatchStream::open(&format!(
        "{}/api/v1/events?watch=1&resourceVersion={from}&fieldSelector=involvedObject.kind%3DNode&timeoutSeconds=5",
        server.url()
    ))
    .await;
    let mut events_v1 = WatchStream::open(&format!(
        "{}/apis/events.k8s.io/v1/namespaces/prod/events?watch=1&resourceVersion={from}&timeoutSeconds=5",
        server.url()
    ))
    .await;
    handle
        .create_event(pod_event("prod", "pod-event", "web", 3))
        .unwrap();
    handle
        .create_event(
            json!({"metadata": {"name": "node-event", "namespace": "default"},
            "involvedObject": {"kind": "Node", "name": "n1"}, "reason": "Rebooted", "count": 1}),
        )
        .unwrap();
    let node_frame = nodes_only.frame().await;
    assert_eq!(node_frame["object"]["metadata"]["name"], "node-event");
    let converted = events_v1.frame().await;
    assert_eq!(converted["object"]["apiVersion"], "events.k8s.io/v1");
    assert_eq!(converted["object"]["regarding"]["name"], "web");
    assert_eq!(
        converted["object"]["note"],
        "Back-off restarting failed container"
    );
    assert_eq!(converted["object"]["deprecatedCount"], 3);
    assert_eq!(
        converted["object"]["deprecatedSource"]["component"],
        "kubelet"
    );
    assert!(converted["object"].get("message").is_none());
    server.shutdown().await;
}

#[tokio::test]
async fn a_watcher_that_falls_behind_the_history_gets_a_410() {
    let server = start(FakeApiServerConfig {
        watch_history_size: 5,
        ..test_config()
    })
    .await;
    let handle = server.handle();
    let from = handle.resource_version();
    handle.generate_events("prod", 3).unwrap();
    let mut watch = WatchStream::open(&format!(
        "{}/api/v1/events?watch=1&resourceVersion={from}&timeoutSeconds=5",
        server.url()
    ))
    .await;
    assert_eq!(watch.frame().await["type"], "ADDED");
    // More changes than the history holds, while the client is not reading.
    handle.generate_events("prod-burst", 200).unwrap();
    let (frames, _) = watch.drain(Duration::from_secs(1)).await;
    let last = frames.last().unwrap();
    assert_eq!(last["type"], "ERROR");
    assert_eq!(last["object"]["code"], 410);
    server.shutdown().await;
}
