//! The agent's HTTP endpoints, as NPD serves them: `/healthz` and `/conditions` on
//! `--address:--port`, `/metrics` on `--prometheus-address:--prometheus-port`.

use std::net::SocketAddr;

use axum::Router;
use axum::extract::State;
use axum::http::header;
use axum::response::IntoResponse;
use axum::routing::get;
use kec_npd::types::Condition;
use serde::Serialize;
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;

use crate::k8s::{SharedBook, lock_book};
use crate::metrics::NpdMetrics;
use crate::time::from_millis;
use crate::{Error, Result};

/// One condition as NPD's `/conditions` shows it (NPD's `types.Condition` JSON).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ConditionView {
    #[serde(rename = "type")]
    pub condition_type: String,
    pub status: String,
    /// RFC 3339.
    pub transition: String,
    pub reason: String,
    pub message: String,
}

impl From<&Condition> for ConditionView {
    fn from(condition: &Condition) -> ConditionView {
        ConditionView {
            condition_type: condition.condition_type.clone(),
            status: condition.status.as_str().to_string(),
            transition: from_millis(condition.transition_ms).to_string(),
            reason: condition.reason.clone(),
            message: condition.message.clone(),
        }
    }
}

async fn healthz() -> &'static str {
    "ok"
}

async fn conditions(State(book): State<SharedBook>) -> impl IntoResponse {
    let views: Vec<ConditionView> = lock_book(&book)
        .conditions()
        .iter()
        .map(ConditionView::from)
        .collect();
    axum::Json(views)
}

/// `/healthz` and `/conditions`.
pub fn app(book: SharedBook) -> Router {
    Router::new()
        .route("/healthz", get(healthz))
        .route("/conditions", get(conditions))
        .with_state(book)
}

async fn metrics_text(State(metrics): State<NpdMetrics>) -> impl IntoResponse {
    (
        [(
            header::CONTENT_TYPE,
            "application/openmetrics-text; version=1.0.0; charset=utf-8",
        )],
        metrics.encode(),
    )
}

/// `/metrics`.
pub fn metrics_app(metrics: NpdMetrics) -> Router {
    Router::new()
        .route("/metrics", get(metrics_text))
        .with_state(metrics)
}

/// Binds `address`; the error names what could not be bound.
pub async fn bind(what: &'static str, address: SocketAddr) -> Result<TcpListener> {
    TcpListener::bind(address)
        .await
        .map_err(|source| Error::Listen {
            what,
            address: address.to_string(),
            source,
        })
}

/// Serves `router` until `shutdown` is cancelled.
pub async fn serve(
    what: &'static str,
    listener: TcpListener,
    router: Router,
    shutdown: CancellationToken,
) -> Result<()> {
    let address = listener
        .local_addr()
        .map(|address| address.to_string())
        .unwrap_or_default();
    axum::serve(listener, router)
        .with_graceful_shutdown(shutdown.cancelled_owned())
        .await
        .map_err(|source| Error::Listen {
            what,
            address,
            source,
        })
}

#[cfg(test)]
mod tests {
    use std::sync::{Arc, Mutex};

    use axum::body::Body;
    use axum::http::{Request, StatusCode};
    use kec_npd::types::{ConditionStatus, Status};
    use tower::ServiceExt;

    use super::*;
    use crate::conditions::{ConditionBook, ConditionSemantics};

    async fn get_text(router: Router, path: &str) -> (StatusCode, String) {
        let response = router
            .oneshot(Request::get(path).body(Body::empty()).unwrap())
            .await
            .unwrap();
        let status = response.status();
        let bytes = axum::body::to_bytes(response.into_body(), 1 << 20)
            .await
            .unwrap();
        (status, String::from_utf8(bytes.to_vec()).unwrap())
    }

    #[tokio::test]
    async fn healthz_and_conditions_answer_like_npd() {
        let book: SharedBook = Arc::new(Mutex::new(ConditionBook::new(None)));
        let router = app(book.clone());
        assert_eq!(
            get_text(router.clone(), "/healthz").await,
            (StatusCode::OK, "ok".into())
        );
        assert_eq!(get_text(router.clone(), "/conditions").await.1, "[]");
        lock_book(&book).apply(
            &Status {
                source: "kernel-monitor".into(),
                events: Vec::new(),
                conditions: vec![Condition {
                    condition_type: "KernelDeadlock".into(),
                    status: ConditionStatus::False,
                    transition_ms: 1_764_064_800_000,
                    reason: "KernelHasNoDeadlock".into(),
                    message: "kernel has no deadlock".into(),
                }],
            },
            ConditionSemantics::Latched,
            tokio::time::Instant::now(),
            0,
        );
        let (status, body) = get_text(router, "/conditions").await;
        assert_eq!(status, StatusCode::OK);
        let json: serde_json::Value = serde_json::from_str(&body).unwrap();
        assert_eq!(
            json,
            serde_json::json!([{"type": "KernelDeadlock", "status": "False",
                "transition": "2025-11-25T10:00:00Z", "reason": "KernelHasNoDeadlock",
                "message": "kernel has no deadlock"}])
        );
    }

    #[tokio::test]
    async fn metrics_are_served_in_the_openmetrics_format() {
        let metrics = NpdMetrics::new();
        metrics.declare_problem(Some("KernelDeadlock"), "DockerHung");
        let (status, body) = get_text(metrics_app(metrics), "/metrics").await;
        assert_eq!(status, StatusCode::OK);
        assert!(
            body.contains("problem_gauge{type=\"KernelDeadlock\",reason=\"DockerHung\"} 0"),
            "{body}"
        );
        assert!(body.ends_with("# EOF\n"));
    }
}
