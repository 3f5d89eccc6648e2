//! `GET /api/v1/query` driven through `app(state)` with `oneshot`: rows, series, limits and
//! errors that point at the column.

use std::sync::Arc;

use axum::body::Body;
use axum::http::{Request, StatusCode};
use kec_server::{AppState, app};
use kec_store::{EmbeddedStore, StoreConfig};
use serde_json::{Value, json};
use tower::ServiceExt;

fn event(
    name: &str,
    namespace: &str,
    reason: &str,
    event_type: &str,
    count: i64,
    minutes_ago: i64,
) -> Value {
    let time = jiff::Timestamp::now() - jiff::SignedDuration::from_mins(minutes_ago);
    json!({
        "apiVersion": "v1", "kind": "Event",
        "metadata": {"name": name, "namespace": namespace, "uid": format!("uid-{name}"), "resourceVersion": "1"},
        "involvedObject": {"kind": "Pod", "namespace": namespace, "name": format!("pod-{name}"), "uid": format!("pod-{name}")},
        "reason": reason, "message": format!("{reason}: dial tcp 10.0.0.7:5432: connection refused"),
        "type": event_type, "count": count, "source": {"component": "kubelet", "host": "node-1"},
        "firstTimestamp": time.to_string(), "lastTimestamp": time.to_string(),
    })
}

async fn send(state: &AppState, request: Request<Body>) -> (StatusCode, Value) {
    let response = app(state.clone()).oneshot(request).await.unwrap();
    let status = response.status();
    let bytes = axum::body::to_bytes(response.into_body(), usize::MAX)
        .await
        .unwrap();
    (
        status,
        serde_json::from_slice(&bytes).unwrap_or(Value::Null),
    )
}

/// GET with `q` percent-encoded.
async fn query(state: &AppState, q: &str, extra: &str) -> (StatusCode, Value) {
    let encoded: String = q
        .bytes()
        .map(|byte| match byte {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                (byte as char).to_string()
            }
            _ => format!("%{byte:02X}"),
        })
        .collect();
    let uri = format!("/api/v1/query?q={encoded}{extra}");
    send(state, Request::get(uri).body(Body::empty()).unwrap()).await
}

async fn loaded() -> (tempfile::TempDir, AppState) {
    let dir = tempfile::tempdir().unwrap();
    let state = AppState::new(Arc::new(
        EmbeddedStore::open(StoreConfig::new(dir.path())).unwrap(),
    ));
    let body: String = [
        event("a", "shop", "BackOff", "Warning", 3, 30),
        event("b", "shop", "Unhealthy", "Warning", 2, 20),
        event("c", "pay", "BackOff", "Warning", 5, 10),
        event("d", "pay", "Pulled", "Normal", 1, 5),
    ]
    .iter()
    .map(|line| line.to_string() + "\n")
    .collect();
    let request = Request::post("/api/v1/clusters/prod/events")
        .body(Body::from(body))
        .unwrap();
    let (status, answer) = send(&state, request).await;
    assert_eq!(status, StatusCode::OK, "{answer}");
    state.store.commit(kec_model::time::now_ms()).unwrap();
    (dir, state)
}

#[tokio::test]
async fn stats_answer_rows_with_typed_columns() {
    let (_dir, state) = loaded().await;
    let (status, answer) = query(
        &state,
        "type:Warning | stats sum(occurrences) as n, count by namespace | sort -n, -count",
        "&from=now-1h",
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{answer}");
    assert_eq!(
        answer["output"],
        json!({
            "type": "rows",
            "columns": [
                {"name": "namespace", "kind": "string"},
                {"name": "n", "kind": "integer"},
                {"name": "count", "kind": "integer"},
            ],
            "rows": [["shop", 5, 2], ["pay", 5, 1]],
        })
    );
    assert_eq!(answer["matched"], 3);
    assert_eq!(answer["scan_limited"], false);
    assert_eq!(
        answer["query"],
        "type:Warning | stats sum(occurrences) as n, count by namespace | sort -n, -count"
    );
    assert_eq!(
        answer["ast"]["search"],
        json!({"type": "term", "field": "type", "value": "Warning"})
    );
}

#[tokio::test]
async fn timechart_answers_series_over_the_window() {
    let (_dir, state) = loaded().await;
    let (status, answer) = query(
        &state,
        "* | timechart span=1h sum(occurrences) by type",
        "&from=now-1h",
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{answer}");
    let output = &answer["output"];
    assert_eq!(output["type"], "series");
    assert_eq!(output["span_ms"], 3_600_000);
    let total = |name: &str| -> i64 {
        output["series"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|line| line["name"] == name)
            .flat_map(|line| {
                line["values"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .map(|v| v.as_i64().unwrap())
            })
            .sum()
    };
    assert_eq!((total("Warning"), total("Normal")), (10, 1));
    // The window is one hour: the buckets that cover it, no more.
    let buckets = output["buckets"].as_array().unwrap().len();
    assert!((1..=2).contains(&buckets), "{buckets}");
}

#[tokio::test]
async fn rows_are_limited_and_say_so() {
    let (_dir, state) = loaded().await;
    let (status, answer) = query(&state, "connection refused | sort name", "&limit=2").await;
    assert_eq!(status, StatusCode::OK, "{answer}");
    assert_eq!(answer["output"]["rows"].as_array().unwrap().len(), 2);
    assert_eq!(answer["rows_limited"], true);
    let (_, narrow) = query(&state, "* | fields name", "&from=now-15m").await;
    assert_eq!(narrow["output"]["rows"], json!([["pod-d"], ["pod-c"]]));
}

#[tokio::test]
async fn a_bad_query_points_at_its_column() {
    let (_dir, state) = loaded().await;
    let (status, answer) = query(&state, "type:Warning nope:x", "").await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    let error = &answer["error"];
    assert_eq!(error["code"], "bad_query");
    assert_eq!(
        (error["line"].as_u64(), error["column"].as_u64()),
        (Some(1), Some(14))
    );
    assert_eq!(error["excerpt"], "type:Warning nope:x\n             ^");
    assert!(
        error["message"]
            .as_str()
            .unwrap()
            .starts_with("unknown field `nope`")
    );
    assert_eq!(error["retryable"], false);
    let (status, answer) = query(&state, "*", "&from=now&to=now-1h").await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(answer["error"]["code"], "bad_request");
    assert!(answer["error"].get("column").is_none());
    let (status, answer) = query(&state, "* | timechart span=1s count", "&from=now-7d").await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{answer}");
    assert!(
        answer["error"]["message"]
            .as_str()
            .unwrap()
            .contains("buckets")
    );
}
