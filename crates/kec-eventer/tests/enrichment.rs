//! Enrichment against the fake API server: the eventer's watch caches of Pods, ReplicaSets and
//! Jobs add the node, the owner workload and selected labels to an Event before routing, and
//! the center reads the node back.

mod support;

use kec_eventer::EventsApi;
use kec_store::{Filter, SearchRequest};
use kec_testkit::{InvolvedObject, ResourceKind};
use serde_json::json;
use support::{start_api, start_center, wait_for_occurrences, wait_until};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_scheduler_event_about_a_pod_gets_its_node_deployment_and_labels() {
    let api = start_api().await;
    let handle = api.handle();
    handle
        .create_object(
            ResourceKind::ReplicaSet,
            json!({"apiVersion": "apps/v1", "kind": "ReplicaSet",
                   "metadata": {"name": "web-5d9", "namespace": "prod",
                                "ownerReferences": [{"apiVersion": "apps/v1", "kind": "Deployment",
                                                     "name": "web", "uid": "d-1", "controller": true}]}}),
        )
        .unwrap();
    handle
        .create_object(
            ResourceKind::Pod,
            json!({"apiVersion": "v1", "kind": "Pod",
                   "metadata": {"name": "web-5d9-x1", "namespace": "prod",
                                "labels": {"app": "web", "pod-template-hash": "5d9"},
                                "ownerReferences": [{"apiVersion": "apps/v1", "kind": "ReplicaSet",
                                                     "name": "web-5d9", "uid": "rs-1", "controller": true}]},
                   "spec": {"nodeName": "node-7", "containers": [{"name": "web", "image": "nginx"}]}}),
        )
        .unwrap();
    let center = start_center().await;
    let state_dir = tempfile::tempdir().unwrap();
    let config =
        support::eventer_config(&api.url(), EventsApi::CoreV1, &center.url, state_dir.path());
    assert!(config.enrichment.enabled, "on by default");
    let eventer = config.build().await.unwrap();
    let stats = eventer.stats();
    // The caches fill from their watches; only then can an Event be enriched.
    wait_until("the pod cache is filled", || {
        handle
            .requests()
            .iter()
            .any(|request| request.path.ends_with("/pods"))
    })
    .await;
    tokio::time::sleep(std::time::Duration::from_millis(500)).await;
    let recorder = handle.event_recorder("default-scheduler", "");
    recorder
        .record(
            &InvolvedObject::new("Pod", "prod", "web-5d9-x1"),
            "Normal",
            "Scheduled",
            "Successfully assigned prod/web-5d9-x1 to node-7",
        )
        .unwrap();
    // The fake API server writes Events of its own at start, like a real one.
    let truth = handle.total_occurrences();
    assert_eq!(
        wait_for_occurrences(&center.store, truth).await,
        truth as i64
    );
    eventer.shutdown().await;
    assert_eq!(
        kec_eventer::EventerStats::value(&stats.enriched),
        1,
        "only the pod's Event was enriched"
    );
    let page = center
        .store
        .search(&SearchRequest::newest(Filter::default(), 10))
        .unwrap();
    let record = page
        .records
        .iter()
        .find(|record| record.object.name == "web-5d9-x1")
        .expect("the Event is stored");
    assert_eq!(
        record.node, "node-7",
        "the center took the node from the enrichment"
    );
    let added = &record.raw.to_value()[kec_model::enrichment::ENRICHMENT_KEY];
    assert_eq!(
        added["workload"],
        json!({"kind": "Deployment", "name": "web"})
    );
    assert_eq!(added["labels"], json!({"app": "web"}));
    center.server.abort();
    api.shutdown().await;
}
