//! Nodes (GET, LIST, status PATCH), Leases (GET, POST, PUT with conflicts), ConfigMaps,
//! Secrets and the enrichment kinds, plus discovery.

mod common;

use common::{client, get_json, names, start, test_config};
use kec_testkit::{CONTROL_PLANE_NODE, ResourceKind};
use serde_json::{Value, json};

#[tokio::test]
async fn node_status_patch_inserts_new_condition_types_first_and_merges_by_type() {
    let server = start(test_config()).await;
    let base = server.url();
    let url = format!("{base}/api/v1/nodes/{CONTROL_PLANE_NODE}/status");
    let patch = json!({"status": {"conditions": [
        {"type": "KernelDeadlock", "status": "True", "reason": "DockerHung",
         "message": "task docker:7 blocked for more than 120 seconds.",
         "lastHeartbeatTime": "2026-11-25T10:05:00Z", "lastTransitionTime": "2026-11-25T10:05:00Z"},
        {"type": "Ready", "status": "Unknown", "reason": "anything goes: not validated"}
    ]}, "spec": {"unschedulable": true}});
    let response = client()
        .patch(&url)
        .header("content-type", "application/strategic-merge-patch+json")
        .body(patch.to_string())
        .send()
        .await
        .unwrap();
    assert_eq!(response.status().as_u16(), 200);
    let node: Value = response.json().await.unwrap();
    let types = node["status"]["conditions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|condition| condition["type"].as_str().unwrap().to_string())
        .collect::<Vec<_>>();
    // New types first; existing ones keep their place (apimachinery's mergeSortedSlice).
    assert_eq!(
        types,
        [
            "KernelDeadlock",
            "MemoryPressure",
            "DiskPressure",
            "PIDPressure",
            "Ready"
        ]
    );
    let ready = &node["status"]["conditions"][4];
    assert_eq!(ready["status"], "Unknown");
    assert_eq!(
        ready["message"], "kubelet is posting ready status",
        "merged, not replaced"
    );
    assert!(
        node["spec"].get("unschedulable").is_none(),
        "the status subresource ignores spec"
    );

    let (status, fetched) = get_json(&format!("{base}/api/v1/nodes/{CONTROL_PLANE_NODE}")).await;
    assert_eq!(status, 200);
    assert_eq!(fetched["status"]["conditions"][0]["type"], "KernelDeadlock");
    let (_, list) = get_json(&format!("{base}/api/v1/nodes")).await;
    assert_eq!(list["kind"], "NodeList");
    assert_eq!(names(&list["items"]), [CONTROL_PLANE_NODE]);
    let (missing, _) = get_json(&format!("{base}/api/v1/nodes/nope")).await;
    assert_eq!(missing, 404);
    server.shutdown().await;
}

#[tokio::test]
async fn leases_are_created_read_and_updated_with_resource_version_conflicts() {
    let server = start(test_config()).await;
    let base = server.url();
    let url = format!("{base}/apis/coordination.k8s.io/v1/namespaces/kube-system/leases");
    let lease = json!({"apiVersion": "coordination.k8s.io/v1", "kind": "Lease",
        "metadata": {"name": "kec-eventer"},
        "spec": {"holderIdentity": "a", "leaseDurationSeconds": 15}});
    let (missing, status) = get_json(&format!("{url}/kec-eventer")).await;
    assert_eq!(missing, 404);
    assert_eq!(
        status["message"],
        "leases.coordination.k8s.io \"kec-eventer\" not found"
    );

    let created = client().post(&url).json(&lease).send().await.unwrap();
    assert_eq!(created.status().as_u16(), 201);
    let created: Value = created.json().await.unwrap();
    assert_eq!(created["metadata"]["namespace"], "kube-system");

    let mut renewed = created.clone();
    renewed["spec"]["holderIdentity"] = json!("a");
    renewed["spec"]["renewTime"] = json!("2026-11-25T10:00:10.000000Z");
    let ok = client()
        .put(format!("{url}/kec-eventer"))
        .json(&renewed)
        .send()
        .await
        .unwrap();
    assert_eq!(ok.status().as_u16(), 200);

    // A second candidate with the stale resourceVersion loses.
    let mut stale = created.clone();
    stale["spec"]["holderIdentity"] = json!("b");
    let conflict = client()
        .put(format!("{url}/kec-eventer"))
        .json(&stale)
        .send()
        .await
        .unwrap();
    assert_eq!(conflict.status().as_u16(), 409);
    let status: Value = conflict.json().await.unwrap();
    assert_eq!(status["reason"], "Conflict");

    // Leases do not allow unconditional updates.
    let mut unconditional = stale.clone();
    unconditional["metadata"]
        .as_object_mut()
        .unwrap()
        .remove("resourceVersion");
    let invalid = client()
        .put(format!("{url}/kec-eventer"))
        .json(&unconditional)
        .send()
        .await
        .unwrap();
    assert_eq!(invalid.status().as_u16(), 422);

    let duplicate = client().post(&url).json(&lease).send().await.unwrap();
    assert_eq!(duplicate.status().as_u16(), 409);
    let (_, current) = get_json(&format!("{url}/kec-eventer")).await;
    assert_eq!(current["spec"]["holderIdentity"], "a");
    server.shutdown().await;
}

#[tokio::test]
async fn enrichment_kinds_config_maps_and_secrets_are_served() {
    let server = start(test_config()).await;
    let handle = server.handle();
    let base = server.url();
    handle
        .apply_object(ResourceKind::Pod, json!({"metadata": {"namespace": "prod", "name": "web-1",
            "labels": {"app": "web"}, "ownerReferences": [{"kind": "ReplicaSet", "name": "web-7d4", "uid": "rs", "controller": true}]},
            "spec": {"nodeName": "node-1"}}))
        .unwrap();
    handle
        .apply_object(ResourceKind::ReplicaSet, json!({"metadata": {"namespace": "prod", "name": "web-7d4",
            "ownerReferences": [{"kind": "Deployment", "name": "web", "uid": "d", "controller": true}]}}))
        .unwrap();
    handle
        .apply_object(
            ResourceKind::Deployment,
            json!({"metadata": {"namespace": "prod", "name": "web"}}),
        )
        .unwrap();
    handle
        .apply_object(
            ResourceKind::CronJob,
            json!({"metadata": {"namespace": "batch", "name": "report"}}),
        )
        .unwrap();
    handle
        .apply_object(
            ResourceKind::Job,
            json!({"metadata": {"namespace": "batch", "name": "report-29"}}),
        )
        .unwrap();
    handle
        .apply_object(
            ResourceKind::ConfigMap,
            json!({"metadata": {"namespace": "kube-system", "name": "eventer-template"},
            "data": {"content": "{{ .Message }}"}}),
        )
        .unwrap();
    handle
        .apply_object(
            ResourceKind::Secret,
            json!({"metadata": {"namespace": "kube-system", "name": "alibaba-addon-secret"},
            "data": {"access-key-id": "aWQ="}, "type": "Opaque"}),
        )
        .unwrap();

    let (_, pods) = get_json(&format!(
        "{base}/api/v1/pods?fieldSelector=spec.nodeName%3Dnode-1&labelSelector=app%3Dweb"
    ))
    .await;
    assert_eq!(names(&pods["items"]), ["web-1"]);
    let (_, replica_sets) =
        get_json(&format!("{base}/apis/apps/v1/namespaces/prod/replicasets")).await;
    assert_eq!(replica_sets["kind"], "ReplicaSetList");
    assert_eq!(replica_sets["apiVersion"], "apps/v1");
    let (status, deployment) = get_json(&format!(
        "{base}/apis/apps/v1/namespaces/prod/deployments/web"
    ))
    .await;
    assert_eq!(status, 200);
    assert_eq!(deployment["kind"], "Deployment");
    let (_, jobs) = get_json(&format!("{base}/apis/batch/v1/jobs")).await;
    assert_eq!(names(&jobs["items"]), ["report-29"]);
    let (_, cron_jobs) = get_json(&format!("{base}/apis/batch/v1/namespaces/batch/cronjobs")).await;
    assert_eq!(names(&cron_jobs["items"]), ["report"]);
    let (_, config_map) = get_json(&format!(
        "{base}/api/v1/namespaces/kube-system/configmaps/eventer-template"
    ))
    .await;
    assert_eq!(config_map["data"]["content"], "{{ .Message }}");
    let (_, secret) = get_json(&format!(
        "{base}/api/v1/namespaces/kube-system/secrets/alibaba-addon-secret"
    ))
    .await;
    assert_eq!(secret["data"]["access-key-id"], "aWQ=");
    server.shutdown().await;
}

#[tokio::test]
async fn discovery_and_unknown_paths_answer_like_kube_apiserver() {
    let server = start(test_config()).await;
    let base = server.url();
    let (_, version) = get_json(&format!("{base}/version")).await;
    assert_eq!(version["gitVersion"], "v1.36.0");
    let (_, groups) = get_json(&format!("{base}/apis")).await;
    assert!(
        groups["groups"]
            .as_array()
            .unwrap()
            .iter()
            .any(|group| group["name"] == "events.k8s.io")
    );
    let (_, core) = get_json(&format!("{base}/api/v1")).await;
    assert!(
        core["resources"]
            .as_array()
            .unwrap()
            .iter()
            .any(|resource| resource["name"] == "nodes/status")
    );
    let response = client()
        .get(format!("{base}/apis/metrics.k8s.io/v1beta1/nodes"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status().as_u16(), 404);
    assert_eq!(response.text().await.unwrap(), "404 page not found\n");
    server.shutdown().await;
}
