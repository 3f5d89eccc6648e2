//! `GET /api/v1/query?q=..&from=..&to=..&limit=..`: runs a query-language query and answers
//! its rows or series as JSON, with the canonical query text and the AST it ran.
//! A query that does not parse answers 400 with `code: "bad_query"` and the line, column and
//! a caret excerpt of the offending spot.

use axum::Json;
use axum::extract::{Query, State};
use kec_model::time::now_ms;
use kec_store::{QueryRequest, QueryResult};
use serde::{Deserialize, Serialize};

use crate::api::{DEFAULT_RANGE, parse_time_param};
use crate::error::ApiError;
use crate::state::AppState;

/// Rows returned when `limit` is not given.
pub const DEFAULT_ROWS: usize = 1000;

/// Parameters of `GET /api/v1/query`.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct QueryParams {
    /// The query text (empty: every event).
    pub q: Option<String>,
    /// Start of the event-time window: RFC 3339, epoch milliseconds or `now-6h` (default).
    pub from: Option<String>,
    /// End of the window (exclusive), same forms; default now.
    pub to: Option<String>,
    /// Most rows returned (default 1000, at most 10000).
    pub limit: Option<usize>,
}

/// The answer: the result, plus what ran and over which window.
#[derive(Debug, Serialize)]
pub struct QueryAnswer {
    #[serde(flatten)]
    pub result: QueryResult,
    /// The AST the store executed.
    pub ast: kec_query::Query,
    pub from_ms: i64,
    pub to_ms: i64,
    /// Time spent in the store, in milliseconds.
    pub took_ms: u64,
}

/// `GET /api/v1/query`
pub async fn query(
    State(state): State<AppState>,
    Query(params): Query<QueryParams>,
) -> Result<Json<QueryAnswer>, ApiError> {
    let started = std::time::Instant::now();
    let now = now_ms();
    let text = params.q.unwrap_or_default();
    let ast = kec_query::parse(&text).map_err(ApiError::Query)?;
    let from_ms = parse_time_param("from", params.from.as_deref().unwrap_or(DEFAULT_RANGE), now)?;
    let to_ms = match params.to.as_deref().filter(|to| !to.trim().is_empty()) {
        Some(to) => parse_time_param("to", to, now)?,
        None => now,
    };
    if from_ms >= to_ms {
        return Err(ApiError::BadRequest(format!(
            "the range is empty: from ({from_ms}) must be before to ({to_ms})"
        )));
    }
    let request = QueryRequest {
        query: ast.clone(),
        from_ms,
        to_ms,
        now_ms: now,
        max_rows: params.limit.unwrap_or(DEFAULT_ROWS),
    };
    let result = state.with_store(move |store| store.query(&request)).await?;
    let elapsed = started.elapsed();
    state.metrics.observe_query("query", elapsed);
    Ok(Json(QueryAnswer {
        result,
        ast,
        from_ms,
        to_ms,
        took_ms: u64::try_from(elapsed.as_millis()).unwrap_or(u64::MAX),
    }))
}
