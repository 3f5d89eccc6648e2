//! The HTTP API driven through `app(state)` with `oneshot`: ingest of good, bad and partial
//! batches, gzip, limits, search, timeline, health and metrics.

use std::io::Write;
use std::sync::Arc;

use axum::body::Body;
use axum::http::{Request, StatusCode};
use kec_server::{AppState, app};
use kec_store::{EmbeddedStore, StoreConfig};
use serde_json::{Value, json};
use tower::ServiceExt;

fn state(dir: &std::path::Path) -> AppState {
    AppState::new(Arc::new(
        EmbeddedStore::open(StoreConfig::new(dir)).unwrap(),
    ))
}

/// A hand-made core/v1 Event, as the API server would serve it.
fn event(name: &str, pod: &str, reason: &str, event_type: &str, count: i64) -> Value {
    json!({
        "apiVersion": "v1", "kind": "Event",
        "metadata": {"name": name, "namespace": "shop", "uid": format!("uid-{name}"), "resourceVersion": "1"},
        "involvedObject": {"kind": "Pod", "namespace": "shop", "name": pod, "uid": format!("pod-{pod}")},
        "reason": reason, "message": format!("{reason} for {pod}: dial tcp 10.0.0.7:5432: connection refused"),
        "type": event_type, "count": count, "source": {"component": "kubelet", "host": "node-2"},
        "firstTimestamp": jiff::Timestamp::now().to_string(),
        "lastTimestamp": jiff::Timestamp::now().to_string(),
    })
}

fn ndjson(lines: &[Value]) -> String {
    lines.iter().map(|line| line.to_string() + "\n").collect()
}

async fn send(state: &AppState, request: Request<Body>) -> (StatusCode, Value) {
    let response = app(state.clone()).oneshot(request).await.unwrap();
    let status = response.status();
    let bytes = axum::body::to_bytes(response.into_body(), usize::MAX)
        .await
        .unwrap();
    let value = serde_json::from_slice(&bytes)
        .unwrap_or_else(|_| Value::String(String::from_utf8_lossy(&bytes).into()));
    (status, value)
}

async fn post(state: &AppState, cluster: &str, body: impl Into<Body>) -> (StatusCode, Value) {
    let request = Request::post(format!("/api/v1/clusters/{cluster}/events"))
        .body(body.into())
        .unwrap();
    send(state, request).await
}

async fn get(state: &AppState, uri: &str) -> (StatusCode, Value) {
    send(state, Request::get(uri).body(Body::empty()).unwrap()).await
}

fn commit(state: &AppState) {
    state.store.commit(kec_model::time::now_ms()).unwrap();
}

#[tokio::test]
async fn good_batch_is_accepted_and_replay_is_duplicate() {
    let dir = tempfile::tempdir().unwrap();
    let state = state(dir.path());
    let body = ndjson(&[
        event("a.1", "web-1", "BackOff", "Warning", 2),
        event("b.1", "web-2", "Started", "Normal", 1),
    ]);
    let (status, answer) = post(&state, "prod", body.clone()).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        answer,
        json!({"accepted": 2, "duplicates": 0, "ignored": 0, "occurrences": 3, "rejected": []})
    );
    let (_, again) = post(&state, "prod", body).await;
    assert_eq!(
        (again["accepted"].as_u64(), again["duplicates"].as_u64()),
        (Some(0), Some(2))
    );
}

#[tokio::test]
async fn partial_batch_keeps_the_good_lines() {
    let dir = tempfile::tempdir().unwrap();
    let state = state(dir.path());
    let good = event("a.1", "web-1", "BackOff", "Warning", 1);
    let body = format!(
        "{good}\n{{not json\n{}\n{{\"type\":\"DELETED\",\"object\":{good}}}\n{{\"kind\":\"Pod\",\"metadata\":{{}}}}\n",
        json!({"type": "MODIFIED", "object": event("a.1", "web-1", "BackOff", "Warning", 4)})
    );
    let (status, answer) = post(&state, "prod", body).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(answer["accepted"], 2);
    assert_eq!(answer["occurrences"], 4);
    assert_eq!(answer["ignored"], 1);
    let rejected = answer["rejected"].as_array().unwrap();
    assert_eq!(rejected.len(), 2);
    assert_eq!(rejected[0]["line"], 2);
    assert!(
        rejected[0]["reason"]
            .as_str()
            .unwrap()
            .contains("invalid JSON")
    );
    assert_eq!(rejected[1]["line"], 5);
    assert!(rejected[1]["reason"].as_str().unwrap().contains("Pod"));
}

#[tokio::test]
async fn gzip_bodies_and_limits() {
    let dir = tempfile::tempdir().unwrap();
    let mut state = state(dir.path());
    let body = ndjson(&[event("a.1", "web-1", "BackOff", "Warning", 1)]);
    let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    encoder.write_all(body.as_bytes()).unwrap();
    let gzipped = encoder.finish().unwrap();
    let request = Request::post("/api/v1/clusters/prod/events")
        .header("content-encoding", "gzip")
        .body(Body::from(gzipped.clone()))
        .unwrap();
    let (status, answer) = send(&state, request).await;
    assert_eq!(
        (status, answer["accepted"].as_u64()),
        (StatusCode::OK, Some(1))
    );
    let request = Request::post("/api/v1/clusters/prod/events")
        .header("content-encoding", "gzip")
        .body(Body::from(b"definitely not gzip".to_vec()))
        .unwrap();
    let (status, answer) = send(&state, request).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(answer["error"]["code"], "bad_request");
    let request = Request::post("/api/v1/clusters/prod/events")
        .header("content-encoding", "br")
        .body(Body::from(body.clone()))
        .unwrap();
    assert_eq!(
        send(&state, request).await.0,
        StatusCode::UNSUPPORTED_MEDIA_TYPE
    );
    state.max_body_bytes = 100;
    let (status, answer) = post(&state, "prod", body.clone()).await;
    assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE);
    assert!(
        answer["error"]["message"]
            .as_str()
            .unwrap()
            .contains("smaller batches")
    );
    // A small gzip body that inflates past the limit is refused too.
    let request = Request::post("/api/v1/clusters/prod/events")
        .header("content-encoding", "gzip")
        .body(Body::from(gzipped))
        .unwrap();
    assert_eq!(send(&state, request).await.0, StatusCode::PAYLOAD_TOO_LARGE);
}

#[tokio::test]
async fn cluster_names_must_be_dns1123_labels() {
    let dir = tempfile::tempdir().unwrap();
    let state = state(dir.path());
    for bad in ["Prod", "a_b", "-x", "x-"] {
        let (status, answer) = post(&state, bad, "").await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{bad}");
        assert!(
            answer["error"]["message"]
                .as_str()
                .unwrap()
                .contains("DNS-1123")
        );
    }
}

#[tokio::test]
async fn search_and_timeline() {
    let dir = tempfile::tempdir().unwrap();
    let state = state(dir.path());
    post(
        &state,
        "prod",
        ndjson(&[
            event("a.1", "web-1", "Scheduled", "Normal", 1),
            event("b.1", "web-1", "BackOff", "Warning", 3),
            event("c.1", "web-2", "Unhealthy", "Warning", 1),
        ]),
    )
    .await;
    post(
        &state,
        "staging",
        ndjson(&[event("d.1", "web-1", "BackOff", "Warning", 1)]),
    )
    .await;
    commit(&state);
    let (status, page) = get(&state, "/api/v1/events?type=Warning&cluster=prod").await;
    assert_eq!(status, StatusCode::OK);
    let reasons: Vec<&str> = page["records"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["reason"].as_str().unwrap())
        .collect();
    assert_eq!(reasons.len(), 2);
    assert_eq!(page["total_occurrences"], 4);
    let (_, page) = get(&state, "/api/v1/events?q=connection%20refused&name=web-2").await;
    assert_eq!(page["records"].as_array().unwrap().len(), 1);
    let (_, page) = get(&state, "/api/v1/events?limit=1").await;
    assert!(page["next_cursor"].is_string());
    let (status, answer) = get(&state, "/api/v1/events?from=yesterday").await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(
        answer["error"]["message"]
            .as_str()
            .unwrap()
            .contains("now-6h")
    );
    let (status, _) = get(&state, "/api/v1/events?cursor=zzz").await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    let (status, timeline) = get(
        &state,
        "/api/v1/clusters/prod/objects/shop/Pod/web-1/timeline",
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    let reasons: Vec<&str> = timeline
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["reason"].as_str().unwrap())
        .collect();
    assert_eq!(reasons, ["Scheduled", "BackOff"]);
    let (status, points) = get(
        &state,
        "/api/v1/clusters/prod/objects/shop/Pod/web-1/timeline?view=points",
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    let points: Vec<(&str, i64)> = points
        .as_array()
        .unwrap()
        .iter()
        .map(|p| {
            (
                p["reason"].as_str().unwrap(),
                p["occurrences"].as_i64().unwrap(),
            )
        })
        .collect();
    assert_eq!(points, [("Scheduled", 1), ("BackOff", 3)]);
    let (status, _) = get(
        &state,
        "/api/v1/clusters/prod/objects/shop/Pod/web-1/timeline?view=gantt",
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    let (_, histogram) = get(&state, "/api/v1/events/histogram?from=now-1h").await;
    let total: i64 = histogram["buckets"]
        .as_array()
        .unwrap()
        .iter()
        .map(|b| b["occurrences"].as_i64().unwrap())
        .sum();
    assert_eq!(total, 6);
    let (_, clusters) = get(&state, "/api/v1/clusters").await;
    let names: Vec<&str> = clusters
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["prod", "staging"]);
}

#[tokio::test]
async fn health_metrics_and_unknown_paths() {
    let dir = tempfile::tempdir().unwrap();
    let state = state(dir.path());
    post(
        &state,
        "prod",
        ndjson(&[event("a.1", "web-1", "BackOff", "Warning", 2)]),
    )
    .await;
    post(&state, "prod", "garbage\n").await;
    commit(&state);
    assert_eq!(get(&state, "/healthz").await.0, StatusCode::OK);
    assert_eq!(get(&state, "/readyz").await.0, StatusCode::OK);
    let (status, metrics) = get(&state, "/metrics").await;
    assert_eq!(status, StatusCode::OK);
    let text = metrics.as_str().unwrap();
    assert!(
        text.contains("kec_ingest_lines_total{result=\"accepted\"} 1"),
        "{text}"
    );
    assert!(text.contains("kec_ingest_lines_total{result=\"rejected\"} 1"));
    assert!(text.contains("kec_ingest_occurrences_total 2"));
    assert!(text.contains("kec_store_records 1"));
    // Both POSTs were answered 200 (the garbage line is rejected inside a good batch).
    assert!(
        text.contains("kec_ingest_requests_total{status=\"200\"} 2"),
        "{text}"
    );
    assert!(
        text.contains("kec_ingest_duration_seconds_count 2"),
        "{text}"
    );
    let (status, answer) = get(&state, "/api/v2/nothing").await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_eq!(answer["error"]["code"], "not_found");
}
