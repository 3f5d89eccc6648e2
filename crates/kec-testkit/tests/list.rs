//! Paged LIST: consistent snapshots, continue tokens, resourceVersion semantics, item shape.

mod common;

use common::{
    client, get_json, names, pod_event, post_event, resource_version, start, test_config,
};
use kec_testkit::{FakeApiServerConfig, ResourceKind};
use serde_json::{Value, json};

#[tokio::test]
async fn paging_with_continue_keeps_the_first_pages_snapshot_across_concurrent_writes() {
    let server = start(test_config()).await;
    let handle = server.handle();
    let base = server.url();
    for index in 0..10 {
        let response = post_event(
            &base,
            "prod",
            &pod_event("prod", &format!("e{index:02}"), "web", 1),
        )
        .await;
        assert_eq!(response.status().as_u16(), 201);
    }
    let (status, first) = get_json(&format!("{base}/api/v1/namespaces/prod/events?limit=4")).await;
    assert_eq!(status, 200);
    let snapshot = first["metadata"]["resourceVersion"]
        .as_str()
        .unwrap()
        .to_string();
    assert_eq!(names(&first["items"]), ["e00", "e01", "e02", "e03"]);
    assert_eq!(first["metadata"]["remainingItemCount"], 6);

    // Writes between pages: a delete, a modification, a new item before and after the cursor.
    handle
        .delete_object(ResourceKind::Event, "prod", "e05")
        .unwrap();
    handle
        .create_event(pod_event("prod", "e04a", "web", 1))
        .unwrap();
    handle
        .create_event(pod_event("prod", "e99", "web", 1))
        .unwrap();
    let patch = client()
        .patch(format!("{base}/api/v1/namespaces/prod/events/e06"))
        .header("content-type", "application/strategic-merge-patch+json")
        .body(r#"{"count": 7}"#)
        .send()
        .await
        .unwrap();
    assert_eq!(patch.status().as_u16(), 200);

    let mut all = names(&first["items"]);
    let mut token = first["metadata"]["continue"].as_str().unwrap().to_string();
    loop {
        let (status, page) = get_json(&format!(
            "{base}/api/v1/namespaces/prod/events?limit=4&continue={token}"
        ))
        .await;
        assert_eq!(status, 200);
        assert_eq!(
            page["metadata"]["resourceVersion"].as_str().unwrap(),
            snapshot
        );
        for item in page["items"].as_array().unwrap() {
            if item["metadata"]["name"] == "e06" {
                assert_eq!(item["count"], 1, "the snapshot shows e06 before the patch");
            }
        }
        all.extend(names(&page["items"]));
        match page["metadata"]["continue"].as_str() {
            Some(next) => token = next.to_string(),
            None => break,
        }
    }
    let expected = (0..10)
        .map(|index| format!("e{index:02}"))
        .collect::<Vec<_>>();
    assert_eq!(all, expected);
    server.shutdown().await;
}

#[tokio::test]
async fn list_items_have_no_type_meta_but_events_always_carry_the_go_zero_fields() {
    let server = start(test_config()).await;
    let base = server.url();
    post_event(&base, "prod", &pod_event("prod", "e1", "web", 1)).await;
    let (_, list) = get_json(&format!("{base}/api/v1/events")).await;
    assert_eq!(list["kind"], "EventList");
    assert_eq!(list["apiVersion"], "v1");
    let item = &list["items"][0];
    assert!(item.get("kind").is_none() && item.get("apiVersion").is_none());
    assert_eq!(item["eventTime"], Value::Null);
    assert!(item.as_object().unwrap().contains_key("eventTime"));
    assert_eq!(item["reportingComponent"], "");
    assert_eq!(item["reportingInstance"], "");
    assert!(item["metadata"]["uid"].as_str().is_some());
    assert_eq!(
        item["metadata"]["creationTimestamp"],
        "2026-11-25T10:00:00Z"
    );

    // The typed client model accepts it.
    let typed: k8s_openapi::api::core::v1::Event = serde_json::from_value(item.clone()).unwrap();
    assert_eq!(typed.count, Some(1));

    // GET carries type meta.
    let (_, event) = get_json(&format!("{base}/api/v1/namespaces/prod/events/e1")).await;
    assert_eq!(event["kind"], "Event");
    assert_eq!(event["apiVersion"], "v1");
    server.shutdown().await;
}

#[tokio::test]
async fn resource_version_zero_pages_events_but_not_cached_kinds() {
    let server = start(test_config()).await;
    let handle = server.handle();
    let base = server.url();
    handle.generate_events("bulk", 5).unwrap();
    for index in 0..5 {
        handle
            .apply_object(
                ResourceKind::Pod,
                json!({"metadata": {"namespace": "bulk", "name": format!("p{index}")}, "spec": {}}),
            )
            .unwrap();
    }
    let (_, events) = get_json(&format!(
        "{base}/api/v1/namespaces/bulk/events?resourceVersion=0&limit=2"
    ))
    .await;
    assert_eq!(events["items"].as_array().unwrap().len(), 2);
    assert!(events["metadata"]["continue"].is_string());
    let (_, pods) = get_json(&format!(
        "{base}/api/v1/namespaces/bulk/pods?resourceVersion=0&limit=2"
    ))
    .await;
    assert_eq!(pods["items"].as_array().unwrap().len(), 5);
    assert!(pods["metadata"].get("continue").is_none());
    server.shutdown().await;
}

#[tokio::test]
async fn a_list_from_a_future_resource_version_is_a_504() {
    let server = start(test_config()).await;
    let current = server.handle().resource_version();
    let response = client()
        .get(format!(
            "{}/api/v1/events?resourceVersion={}",
            server.url(),
            current + 100
        ))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status().as_u16(), 504);
    assert_eq!(response.headers()["retry-after"], "1");
    let status: Value = response.json().await.unwrap();
    assert_eq!(status["reason"], "Timeout");
    assert!(
        status["message"]
            .as_str()
            .unwrap()
            .contains("Too large resource version")
    );
    server.shutdown().await;
}

#[tokio::test]
async fn an_expired_continue_token_is_a_410_with_a_fresh_token_that_finishes_the_list() {
    let server = start(test_config()).await;
    let handle = server.handle();
    let base = server.url();
    handle.generate_events("prod", 6).unwrap();
    let (_, first) = get_json(&format!("{base}/api/v1/namespaces/prod/events?limit=2")).await;
    let token = first["metadata"]["continue"].as_str().unwrap().to_string();
    handle
        .create_event(pod_event("prod", "zz-late", "web", 1))
        .unwrap();
    handle.compact();

    let response = client()
        .get(format!(
            "{base}/api/v1/namespaces/prod/events?limit=2&continue={token}"
        ))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status().as_u16(), 410);
    let status: Value = response.json().await.unwrap();
    assert_eq!(status["reason"], "Expired");
    assert_eq!(status["code"], 410);
    let fresh = status["metadata"]["continue"].as_str().unwrap().to_string();

    // The fresh token continues after the same key, at the newest revision (inconsistently).
    let mut rest = Vec::new();
    let mut token = fresh;
    loop {
        let (status, page) = get_json(&format!(
            "{base}/api/v1/namespaces/prod/events?limit=2&continue={token}"
        ))
        .await;
        assert_eq!(status, 200);
        rest.extend(names(&page["items"]));
        match page["metadata"]["continue"].as_str() {
            Some(next) => token = next.to_string(),
            None => break,
        }
    }
    assert_eq!(
        rest.len(),
        5,
        "4 remaining generated Events and the late one: {rest:?}"
    );
    assert!(rest.contains(&"zz-late".to_string()));
    server.shutdown().await;
}

#[tokio::test]
async fn exact_lists_read_the_past_and_fail_once_it_is_compacted() {
    let server = start(test_config()).await;
    let handle = server.handle();
    let base = server.url();
    let before = handle.resource_version();
    handle
        .create_event(pod_event("prod", "later", "web", 1))
        .unwrap();
    let (status, past) = get_json(&format!(
        "{base}/api/v1/events?resourceVersion={before}&resourceVersionMatch=Exact"
    ))
    .await;
    assert_eq!(status, 200);
    assert_eq!(past["items"].as_array().unwrap().len(), 0);
    assert_eq!(resource_version(&past), before);
    handle.compact();
    let (status, gone) = get_json(&format!(
        "{base}/api/v1/events?resourceVersion={}&resourceVersionMatch=Exact",
        before - 1
    ))
    .await;
    assert_eq!(status, 410);
    assert_eq!(gone["reason"], "Expired");
    server.shutdown().await;
}

#[tokio::test]
async fn resource_versions_are_one_global_counter_that_can_jump() {
    let server = start(test_config()).await;
    let handle = server.handle();
    let node = handle
        .get_object(ResourceKind::Node, "", kec_testkit::CONTROL_PLANE_NODE)
        .unwrap();
    let first = handle
        .create_event(pod_event("prod", "a", "web", 1))
        .unwrap();
    assert_eq!(resource_version(&first), resource_version(&node) + 1);
    handle.burn_resource_versions(250);
    let second = handle
        .create_event(pod_event("prod", "b", "web", 1))
        .unwrap();
    assert_eq!(resource_version(&second), resource_version(&first) + 251);
    let (_, list) = get_json(&format!("{}/api/v1/events", server.url())).await;
    assert_eq!(resource_version(&list), resource_version(&second));
    server.shutdown().await;
}

#[tokio::test]
async fn selectors_filter_lists_and_lists_of_many_events_page_through() {
    let server = start(FakeApiServerConfig {
        watch_history_size: 100,
        ..test_config()
    })
    .await;
    let handle = server.handle();
    let base = server.url();
    handle.generate_events("bulk", 2_500).unwrap();
    let mut seen = 0;
    let mut url = format!("{base}/api/v1/events?limit=500");
    loop {
        let (status, page) = get_json(&url).await;
        assert_eq!(status, 200);
        seen += page["items"].as_array().unwrap().len();
        match page["metadata"]["continue"].as_str() {
            Some(token) => url = format!("{base}/api/v1/events?limit=500&continue={token}"),
            None => break,
        }
    }
    assert_eq!(seen, 2_500);
    let (_, selected) = get_json(&format!(
        "{base}/api/v1/events?fieldSelector=involvedObject.name%3Dbulk-000042"
    ))
    .await;
    assert_eq!(selected["items"].as_array().unwrap().len(), 1);
    server.shutdown().await;
}
