//! Faults on demand, request recording and shutdown.

mod common;

use std::time::Duration;

use common::{WatchRead, WatchStream, client, get_json, pod_event, post_event, start, test_config};
use kec_testkit::{Fault, FaultRule, Verb};
use serde_json::Value;

async fn server_with_events(count: usize) -> (kec_testkit::FakeApiServer, u64) {
    let server = start(test_config()).await;
    let from = server.handle().resource_version();
    server.handle().generate_events("prod", count).unwrap();
    (server, from)
}

fn watch_url(server: &kec_testkit::FakeApiServer, from: u64) -> String {
    format!(
        "{}/api/v1/events?watch=1&resourceVersion={from}&timeoutSeconds=5",
        server.url()
    )
}

#[tokio::test]
async fn a_watch_closed_cleanly_after_k_frames() {
    let (server, from) = server_with_events(5).await;
    server
        .handle()
        .inject_fault(FaultRule::new(Fault::WatchCloseAfter { frames: 2 }).times(1));
    let mut watch = WatchStream::open(&watch_url(&server, from)).await;
    let (frames, end) = watch.drain(Duration::from_secs(2)).await;
    assert_eq!(frames.len(), 2);
    assert!(matches!(end, WatchRead::End), "{end:?}");
    // Used up: the next watch is whole.
    let mut next = WatchStream::open(&watch_url(&server, from)).await;
    let (frames, _) = next.drain(Duration::from_millis(300)).await;
    assert_eq!(frames.len(), 5);
    server.shutdown().await;
}

#[tokio::test]
async fn a_watch_reset_after_k_frames_fails_without_a_clean_end() {
    let (server, from) = server_with_events(5).await;
    server
        .handle()
        .inject_fault(FaultRule::new(Fault::WatchResetAfter { frames: 3 }).times(1));
    let mut watch = WatchStream::open(&watch_url(&server, from)).await;
    let (frames, end) = watch.drain(Duration::from_secs(2)).await;
    assert_eq!(frames.len(), 3);
    assert!(matches!(end, WatchRead::Failed { .. }), "{end:?}");
    server.shutdown().await;
}

#[tokio::test]
async fn a_watch_cut_in_the_middle_of_a_frame_leaves_half_a_line() {
    let (server, from) = server_with_events(5).await;
    server
        .handle()
        .inject_fault(FaultRule::new(Fault::WatchCutMidFrameAfter { frames: 1 }).times(1));
    let mut watch = WatchStream::open(&watch_url(&server, from)).await;
    let (frames, end) = watch.drain(Duration::from_secs(2)).await;
    assert_eq!(frames.len(), 1);
    let WatchRead::Failed { partial } = end else {
        panic!("expected a failed body, got {end:?}");
    };
    assert!(partial.starts_with(b"{\"type\":\"ADDED\""));
    assert!(serde_json::from_slice::<Value>(&partial).is_err());
    server.shutdown().await;
}

#[tokio::test]
async fn a_watch_can_get_an_empty_200_and_a_close() {
    let (server, from) = server_with_events(2).await;
    server
        .handle()
        .inject_fault(FaultRule::new(Fault::WatchEmptyResponse).times(1));
    let mut watch = WatchStream::open(&watch_url(&server, from)).await;
    assert_eq!(watch.status, 200);
    assert_eq!(watch.headers["connection"], "close");
    assert!(matches!(
        watch.next(Duration::from_secs(2)).await,
        WatchRead::End
    ));
    server.shutdown().await;
}

#[tokio::test]
async fn a_watch_start_and_a_continue_token_can_get_410() {
    let (server, from) = server_with_events(4).await;
    let handle = server.handle();
    handle.inject_fault(FaultRule::new(Fault::WatchGone).times(1));
    let response = client().get(watch_url(&server, from)).send().await.unwrap();
    assert_eq!(response.status().as_u16(), 410);
    let status: Value = response.json().await.unwrap();
    assert_eq!(status["reason"], "Expired");

    let (_, first) = get_json(&format!("{}/api/v1/events?limit=2", server.url())).await;
    let token = first["metadata"]["continue"].as_str().unwrap().to_string();
    handle.inject_fault(FaultRule::new(Fault::ContinueGone).times(1));
    // A list without a token is not hit.
    let (plain, _) = get_json(&format!("{}/api/v1/events?limit=2", server.url())).await;
    assert_eq!(plain, 200);
    let (gone, status) = get_json(&format!(
        "{}/api/v1/events?limit=2&continue={token}",
        server.url()
    ))
    .await;
    assert_eq!(gone, 410);
    let fresh = status["metadata"]["continue"].as_str().unwrap();
    let (ok, rest) = get_json(&format!(
        "{}/api/v1/events?limit=2&continue={fresh}",
        server.url()
    ))
    .await;
    assert_eq!(ok, 200);
    assert_eq!(rest["items"].as_array().unwrap().len(), 2);
    server.shutdown().await;
}

#[tokio::test]
async fn throttling_unavailability_internal_errors_and_rbac_answer_with_their_status() {
    let server = start(test_config()).await;
    let handle = server.handle();
    let url = format!("{}/api/v1/events", server.url());
    handle.inject_fault(
        FaultRule::new(Fault::TooManyRequests {
            retry_after_seconds: 2,
        })
        .times(1),
    );
    handle.inject_fault(
        FaultRule::new(Fault::ServiceUnavailable {
            retry_after_seconds: 3,
        })
        .times(1),
    );
    handle.inject_fault(FaultRule::new(Fault::InternalError).times(1));
    handle.inject_fault(FaultRule::new(Fault::Forbidden).times(1));

    let throttled = client().get(&url).send().await.unwrap();
    assert_eq!(throttled.status().as_u16(), 429);
    assert_eq!(throttled.headers()["retry-after"], "2");
    let body: Value = throttled.json().await.unwrap();
    assert_eq!(body["details"]["retryAfterSeconds"], 2);
    let unavailable = client().get(&url).send().await.unwrap();
    assert_eq!(unavailable.status().as_u16(), 503);
    assert_eq!(unavailable.headers()["retry-after"], "3");
    let (internal, body) = get_json(&url).await;
    assert_eq!(
        (internal, body["reason"].as_str()),
        (500, Some("InternalError"))
    );
    let (forbidden, body) = get_json(&url).await;
    assert_eq!(forbidden, 403);
    assert!(
        body["message"]
            .as_str()
            .unwrap()
            .contains("cannot list resource \"events\"")
    );
    let (fine, _) = get_json(&url).await;
    assert_eq!(fine, 200);
    assert!(handle.active_faults().is_empty());

    // A rule until cleared, for one verb and resource only.
    let id = handle.inject_fault(
        FaultRule::new(Fault::InternalError)
            .verb(Verb::Create)
            .resource("events"),
    );
    for _ in 0..3 {
        let response = post_event(&server.url(), "prod", &pod_event("prod", "x", "web", 1)).await;
        assert_eq!(response.status().as_u16(), 500);
    }
    assert_eq!(get_json(&url).await.0, 200);
    handle.clear_fault(id);
    let response = post_event(&server.url(), "prod", &pod_event("prod", "x", "web", 1)).await;
    assert_eq!(response.status().as_u16(), 201);
    server.shutdown().await;
}

#[tokio::test]
async fn slow_split_frames_arrive_in_pieces_and_still_parse() {
    let (server, from) = server_with_events(2).await;
    server.handle().inject_fault(
        FaultRule::new(Fault::SlowSplitFrames {
            pieces: 4,
            delay: Duration::from_millis(30),
        })
        .times(1),
    );
    let started = tokio::time::Instant::now();
    let mut response = client().get(watch_url(&server, from)).send().await.unwrap();
    let mut chunks = Vec::new();
    let mut bytes = Vec::new();
    while bytes.iter().filter(|byte| **byte == b'\n').count() < 2 {
        let chunk = tokio::time::timeout(Duration::from_secs(2), response.chunk())
            .await
            .unwrap()
            .unwrap()
            .unwrap();
        chunks.push(chunk.len());
        bytes.extend_from_slice(&chunk);
    }
    assert!(chunks.len() >= 6, "frames came in pieces: {chunks:?}");
    assert!(started.elapsed() >= Duration::from_millis(150));
    for line in bytes
        .split(|byte| *byte == b'\n')
        .filter(|line| !line.is_empty())
    {
        let frame: Value = serde_json::from_slice(line).unwrap();
        assert_eq!(frame["type"], "ADDED");
    }
    server.shutdown().await;
}

#[tokio::test]
async fn every_request_is_recorded_with_what_the_client_sent() {
    let server = start(test_config()).await;
    let handle = server.handle();
    let base = server.url();
    client()
        .get(format!("{base}/api/v1/events?limit=500&resourceVersion=0"))
        .header("user-agent", "kec-eventer/0.1")
        .send()
        .await
        .unwrap();
    client()
        .patch(format!("{base}/api/v1/namespaces/prod/events/missing"))
        .header("content-type", "application/strategic-merge-patch+json")
        .body(r#"{"count":2}"#)
        .send()
        .await
        .unwrap();
    let requests = handle.requests();
    assert_eq!(requests.len(), 2);
    let list = &requests[0];
    assert_eq!(list.method, "GET");
    assert_eq!(list.path, "/api/v1/events");
    assert_eq!(list.verb, Some(Verb::List));
    assert_eq!(list.query_param("limit"), Some("500"));
    assert_eq!(list.header("User-Agent"), Some("kec-eventer/0.1"));
    assert_eq!(list.status, 200);
    let patch = &requests[1];
    assert_eq!(patch.verb, Some(Verb::Patch));
    assert_eq!(
        patch.header("content-type"),
        Some("application/strategic-merge-patch+json")
    );
    assert_eq!(patch.body_json().unwrap()["count"], 2);
    assert_eq!(patch.status, 404);
    handle.clear_requests();
    assert!(handle.requests().is_empty());
    server.shutdown().await;
}

#[tokio::test]
async fn shutdown_refuses_new_connections_at_once_and_ends_open_watches_cleanly_after_the_grace() {
    let server = start(test_config()).await;
    let handle = server.handle();
    let base = server.url();
    let from = handle.resource_version();
    let mut watch = WatchStream::open(&format!(
        "{base}/api/v1/events?watch=1&resourceVersion={from}"
    ))
    .await;
    assert_eq!(handle.open_watches(), 1);
    let started = tokio::time::Instant::now();
    let shutdown = tokio::spawn(server.shutdown());
    tokio::time::sleep(Duration::from_millis(50)).await;
    // Not accepting any more.
    let refused = client().get(format!("{base}/version")).send().await;
    assert!(refused.is_err());
    // The open watch still streams during the grace period...
    handle
        .create_event(pod_event("prod", "during-grace", "web", 1))
        .unwrap();
    assert_eq!(
        watch.frame().await["object"]["metadata"]["name"],
        "during-grace"
    );
    // ...then ends cleanly.
    assert!(matches!(
        watch.next(Duration::from_secs(3)).await,
        WatchRead::End
    ));
    assert!(started.elapsed() >= Duration::from_millis(250));
    shutdown.await.unwrap();
    assert_eq!(handle.open_watches(), 0);
}
