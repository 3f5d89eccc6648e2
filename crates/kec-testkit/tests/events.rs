//! Event writes: POST and PATCH as client-go sends them, the no-op PATCH, 404 then re-POST
//! under a new uid, the Node-Event namespace rule, TTL expiry, events.k8s.io/v1 writes, the
//! recorder, loading kec-sim frames, and the ground truth.

mod common;

use std::time::Duration;

use common::{
    WatchRead, WatchStream, client, pod_event, post_event, resource_version, start, test_config,
};
use kec_testkit::{FakeApiServerConfig, InvolvedObject, Recorded, ResourceKind};
use serde_json::{Value, json};

const STRATEGIC: &str = "application/strategic-merge-patch+json";

async fn patch_event(base: &str, namespace: &str, name: &str, body: &Value) -> reqwest::Response {
    client()
        .patch(format!(
            "{base}/api/v1/namespaces/{namespace}/events/{name}"
        ))
        .header("content-type", STRATEGIC)
        .body(body.to_string())
        .send()
        .await
        .unwrap()
}

#[tokio::test]
async fn client_go_repeat_patch_bumps_the_count_and_a_no_op_patch_writes_nothing() {
    let server = start(test_config()).await;
    let handle = server.handle();
    let base = server.url();
    let created: Value = post_event(&base, "prod", &pod_event("prod", "web.1", "web", 1))
        .await
        .json()
        .await
        .unwrap();
    let from = resource_version(&created);
    let mut watch = WatchStream::open(&format!(
        "{base}/api/v1/namespaces/prod/events?watch=1&resourceVersion={from}&timeoutSeconds=5"
    ))
    .await;

    let repeat = json!({"count": 2, "lastTimestamp": "2026-11-25T10:00:30Z", "message": "Back-off restarting failed container"});
    let patched = patch_event(&base, "prod", "web.1", &repeat).await;
    assert_eq!(patched.status().as_u16(), 200);
    let patched: Value = patched.json().await.unwrap();
    assert_eq!(patched["count"], 2);
    assert_eq!(patched["reason"], "BackOff");
    let modified = watch.frame().await;
    assert_eq!(modified["type"], "MODIFIED");
    assert_eq!(modified["object"]["count"], 2);

    // The same PATCH again changes nothing: same resourceVersion, no frame.
    let revision_before = handle.resource_version();
    let again: Value = patch_event(&base, "prod", "web.1", &repeat)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(resource_version(&again), resource_version(&patched));
    assert_eq!(handle.resource_version(), revision_before);
    assert!(matches!(
        watch.next(Duration::from_millis(400)).await,
        WatchRead::Silent
    ));
    assert_eq!(handle.occurrences("prod", "web.1"), 2);
    server.shutdown().await;
}

#[tokio::test]
async fn a_patch_of_an_expired_event_is_a_404_and_the_re_post_gets_a_new_uid() {
    let server = start(test_config()).await;
    let handle = server.handle();
    let base = server.url();
    let first: Value = post_event(&base, "prod", &pod_event("prod", "web.1", "web", 1))
        .await
        .json()
        .await
        .unwrap();
    patch_event(&base, "prod", "web.1", &json!({"count": 3})).await;
    assert!(handle.expire_event("prod", "web.1"));

    let missing = patch_event(&base, "prod", "web.1", &json!({"count": 4})).await;
    assert_eq!(missing.status().as_u16(), 404);
    let status: Value = missing.json().await.unwrap();
    assert_eq!(status["reason"], "NotFound");
    assert_eq!(status["message"], "events \"web.1\" not found");

    let again: Value = post_event(&base, "prod", &pod_event("prod", "web.1", "web", 4))
        .await
        .json()
        .await
        .unwrap();
    assert_ne!(again["metadata"]["uid"], first["metadata"]["uid"]);
    assert_eq!(again["count"], 4);
    // 1 + 2 (patch to 3) + 1 (re-POST at 4): never 3 + 4.
    assert_eq!(handle.occurrences("prod", "web.1"), 4);
    assert_eq!(handle.total_occurrences(), 4);
    let truth = &handle.event_ground_truth()[&("prod".to_string(), "web.1".to_string())];
    assert_eq!(truth.uids.len(), 2);

    // A POST of a live name is a conflict.
    let duplicate = post_event(&base, "prod", &pod_event("prod", "web.1", "web", 5)).await;
    assert_eq!(duplicate.status().as_u16(), 409);
    server.shutdown().await;
}

#[tokio::test]
async fn an_event_about_a_node_is_accepted_only_in_default() {
    let server = start(test_config()).await;
    let base = server.url();
    let node_event = |namespace: &str| {
        json!({"metadata": {"name": "n1.1", "namespace": namespace},
            "involvedObject": {"kind": "Node", "name": "n1", "uid": "n1"},
            "reason": "NodeNotReady", "type": "Normal", "count": 1})
    };
    let rejected = post_event(&base, "kube-system", &node_event("kube-system")).await;
    assert_eq!(rejected.status().as_u16(), 422);
    let status: Value = rejected.json().await.unwrap();
    assert_eq!(status["reason"], "Invalid");
    assert_eq!(
        status["details"]["causes"][0]["field"],
        "involvedObject.namespace"
    );
    let accepted = post_event(&base, "default", &node_event("default")).await;
    assert_eq!(accepted.status().as_u16(), 201);

    // An Event whose involved object has no namespace is treated as cluster-scoped; a pod's
    // Event must be sent to the pod's namespace.
    let mismatched = post_event(&base, "other", &pod_event("", "p.1", "web", 1)).await;
    assert_eq!(mismatched.status().as_u16(), 422);
    let wrong_url = post_event(&base, "other", &pod_event("prod", "p.1", "web", 1)).await;
    assert_eq!(wrong_url.status().as_u16(), 400);
    server.shutdown().await;
}

#[tokio::test]
async fn ttl_expiry_counts_from_the_last_write_and_sends_deleted_with_the_deletions_resource_version()
 {
    let server = start(test_config()).await;
    let handle = server.handle();
    let base = server.url();
    let recorder = handle.event_recorder("kubelet", "node-1");
    let pod = InvolvedObject::pod("prod", "web-1");
    recorder
        .record(&pod, "Warning", "BackOff", "restarting")
        .unwrap();
    handle
        .create_event(pod_event("prod", "lonely.1", "lonely", 1))
        .unwrap();
    handle.advance_clock(Duration::from_secs(40 * 60));
    // A repeat at minute 40 is a write: the TTL starts again from here.
    let Recorded::Patched { name, .. } = recorder
        .record(&pod, "Warning", "BackOff", "restarting")
        .unwrap()
    else {
        panic!("second occurrence must be a PATCH");
    };
    let last_state = handle
        .get_object(ResourceKind::Event, "prod", &name)
        .unwrap();
    let from = handle.resource_version();
    let mut watch = WatchStream::open(&format!(
        "{base}/api/v1/namespaces/prod/events?watch=1&resourceVersion={from}&timeoutSeconds=5"
    ))
    .await;

    handle.advance_clock(Duration::from_secs(30 * 60));
    assert_eq!(
        handle.expire_due_events(),
        1,
        "only the Event not written for 70 minutes"
    );
    assert!(
        handle
            .get_object(ResourceKind::Event, "prod", &name)
            .is_some()
    );
    handle.advance_clock(Duration::from_secs(30 * 60));
    assert_eq!(handle.expire_due_events(), 1);

    let lonely = watch.frame().await;
    assert_eq!(lonely["type"], "DELETED");
    assert_eq!(lonely["object"]["metadata"]["name"], "lonely.1");
    let deleted = watch.frame().await;
    assert_eq!(deleted["type"], "DELETED");
    assert_eq!(deleted["object"]["metadata"]["name"], name.as_str());
    assert_eq!(deleted["object"]["count"], last_state["count"]);
    assert_eq!(
        deleted["object"]["metadata"]["uid"],
        last_state["metadata"]["uid"]
    );
    assert!(resource_version(&deleted["object"]) > resource_version(&last_state));
    assert_eq!(
        resource_version(&deleted["object"]),
        handle.resource_version()
    );
    server.shutdown().await;
}

#[tokio::test]
async fn the_background_sweeper_expires_events_by_the_server_clock() {
    let server = start(FakeApiServerConfig {
        ttl_sweep_interval: Duration::from_millis(20),
        event_ttl: Duration::from_secs(60),
        ..test_config()
    })
    .await;
    let handle = server.handle();
    handle
        .create_event(pod_event("prod", "a", "web", 1))
        .unwrap();
    tokio::time::sleep(Duration::from_millis(100)).await;
    assert_eq!(
        handle.object_count(ResourceKind::Event),
        1,
        "the manual clock has not moved"
    );
    handle.advance_clock(Duration::from_secs(61));
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert_eq!(handle.object_count(ResourceKind::Event), 0);
    server.shutdown().await;
}

#[tokio::test]
async fn the_recorder_creates_patches_and_re_posts_like_client_go() {
    let server = start(test_config()).await;
    let handle = server.handle();
    let recorder = handle.event_recorder("kubelet", "node-1");
    let pod = InvolvedObject::pod("prod", "web-1").with_field_path("spec.containers{app}");
    let Recorded::Created { name, .. } = recorder
        .record(&pod, "Warning", "BackOff", "restarting")
        .unwrap()
    else {
        panic!("first occurrence is a POST");
    };
    assert!(name.starts_with("web-1."));
    recorder
        .record(&pod, "Warning", "BackOff", "restarting")
        .unwrap();
    recorder
        .record(&pod, "Warning", "BackOff", "restarting")
        .unwrap();
    let stored = handle
        .get_object(ResourceKind::Event, "prod", &name)
        .unwrap();
    assert_eq!(stored["count"], 3);
    assert_eq!(
        stored["source"],
        json!({"component": "kubelet", "host": "node-1"})
    );
    handle.expire_event("prod", &name);
    let recreated = recorder
        .record(&pod, "Warning", "BackOff", "restarting")
        .unwrap();
    assert_eq!(
        recreated,
        Recorded::Recreated {
            namespace: "prod".into(),
            name: name.clone(),
            count: 4
        }
    );
    recorder
        .record(
            &InvolvedObject::node("node-1"),
            "Normal",
            "Rebooted",
            "rebooted",
        )
        .unwrap();
    assert_eq!(handle.occurrences("prod", &name), 4);
    assert_eq!(handle.total_occurrences(), 5);
    assert_eq!(handle.total_occurrences_in("default"), 1);
    server.shutdown().await;
}

#[tokio::test]
async fn events_v1_writes_convert_and_validate_like_kube_rs_sends_them() {
    let server = start(test_config()).await;
    let handle = server.handle();
    let base = server.url();
    let url = format!("{base}/apis/events.k8s.io/v1/namespaces/prod/events");
    let event = json!({
        "apiVersion": "events.k8s.io/v1", "kind": "Event",
        "metadata": {"name": "web-1.abc", "namespace": "prod"},
        "eventTime": "2026-11-25T10:00:00.000000Z", "action": "Scheduling", "reason": "FailedScheduling",
        "regarding": {"kind": "Pod", "namespace": "prod", "name": "web-1"},
        "note": "0/3 nodes are available", "type": "Warning",
        "reportingController": "default-scheduler", "reportingInstance": "default-scheduler-cp"
    });
    let created = client().post(&url).json(&event).send().await.unwrap();
    assert_eq!(created.status().as_u16(), 201);
    let created: Value = created.json().await.unwrap();
    assert_eq!(created["apiVersion"], "events.k8s.io/v1");
    // Stored as core/v1, served both ways.
    let core = handle
        .get_object(ResourceKind::Event, "prod", "web-1.abc")
        .unwrap();
    assert_eq!(core["message"], "0/3 nodes are available");
    assert_eq!(core["reportingComponent"], "default-scheduler");
    assert_eq!(core["involvedObject"]["name"], "web-1");

    // kube-rs repeats with a merge patch carrying series.
    let series_patch =
        json!({"series": {"count": 2, "lastObservedTime": "2026-11-25T10:01:00.000000Z"}});
    let patched = client()
        .patch(format!("{url}/web-1.abc"))
        .header("content-type", "application/merge-patch+json")
        .body(series_patch.to_string())
        .send()
        .await
        .unwrap();
    assert_eq!(patched.status().as_u16(), 200);
    assert_eq!(handle.occurrences("prod", "web-1.abc"), 2);

    // Events may be created by PUT, in either API version.
    let mut put_created = event.clone();
    put_created["metadata"]["name"] = json!("web-1.put");
    let response = client()
        .put(format!("{url}/web-1.put"))
        .json(&put_created)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status().as_u16(), 200);
    let stored = handle
        .get_object(ResourceKind::Event, "prod", "web-1.put")
        .unwrap();
    assert_eq!(stored["message"], "0/3 nodes are available");
    assert_eq!(stored["involvedObject"]["name"], "web-1");

    // The strict rules of events.k8s.io/v1.
    let mut invalid = event.clone();
    invalid["metadata"]["name"] = json!("web-1.def");
    invalid["deprecatedCount"] = json!(5);
    invalid["series"] = json!({"count": 1});
    let rejected = client().post(&url).json(&invalid).send().await.unwrap();
    assert_eq!(rejected.status().as_u16(), 422);
    let status: Value = rejected.json().await.unwrap();
    let fields = status["details"]["causes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|cause| cause["field"].as_str().unwrap().to_string())
        .collect::<Vec<_>>();
    assert!(fields.contains(&"count".to_string()));
    assert!(fields.contains(&"series.count".to_string()));
    server.shutdown().await;
}

#[tokio::test]
async fn loaded_kec_sim_frames_are_served_with_server_resource_versions_and_exact_truth() {
    let server = start(test_config()).await;
    let handle = server.handle();
    let start_ms = common::start_time().as_millisecond();
    let mut cluster = kec_sim::DemoCluster::new(7, start_ms);
    let frames = cluster.advance_to(start_ms + 20 * 60 * 1_000);
    assert!(frames.len() > 20);
    let loaded = handle.load_watch_frames(&frames).unwrap();
    assert!(loaded.created > 0);
    assert_eq!(handle.total_occurrences(), cluster.occurrences_produced());
    let (_, list) = common::get_json(&format!("{}/api/v1/events?limit=5", server.url())).await;
    assert_eq!(list["items"].as_array().unwrap().len(), 5);
    assert!(resource_version(&list) <= handle.resource_version());
    server.shutdown().await;
}

#[tokio::test]
async fn a_fresh_server_writes_its_own_events_in_default() {
    let server = start(FakeApiServerConfig {
        startup_events: true,
        ..test_config()
    })
    .await;
    let handle = server.handle();
    let events = handle.list_objects(ResourceKind::Event, Some("default"));
    assert!(events.len() >= 3);
    assert!(
        events
            .iter()
            .all(|event| event["involvedObject"]["kind"] == "Node")
    );
    assert_eq!(handle.object_count(ResourceKind::Event), events.len());
    assert_eq!(handle.total_occurrences_in("default"), events.len() as u64);
    server.shutdown().await;
}
