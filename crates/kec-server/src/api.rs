//! The read API.
//!
//! - `GET /api/v1/events`: records matching filters, newest first, with a cursor for the next page;
//! - `GET /api/v1/events/histogram`: occurrences per time bucket and type for the same filters;
//! - `GET /api/v1/clusters/{cluster}/objects/{namespace}/{kind}/{name}/timeline`: every record of
//!   one object, oldest first (`-` as namespace for cluster-scoped objects such as Nodes);
//! - `GET /api/v1/clusters`: clusters that sent events.

use axum::Json;
use axum::extract::{Path, Query, State};
use kec_model::time::{DAY_MS, now_ms, parse_time};
use kec_store::{AggregateRequest, Field, Filter, SearchRequest, TermFilter};
use serde::{Deserialize, Serialize};

use crate::error::ApiError;
use crate::state::AppState;

/// Default page size of searches.
pub const DEFAULT_LIMIT: usize = 100;
/// Largest page a client may ask for.
pub const MAX_LIMIT: usize = 1000;
/// Default look-back when a query gives no `from`.
pub const DEFAULT_RANGE: &str = "now-6h";

/// Filters as query-string parameters, shared by the API and the UI so their URLs read alike.
/// Each field parameter takes one value or several separated by commas (any of them matches).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct EventQuery {
    pub cluster: Option<String>,
    pub namespace: Option<String>,
    pub kind: Option<String>,
    pub name: Option<String>,
    #[serde(rename = "type")]
    pub event_type: Option<String>,
    pub reason: Option<String>,
    pub category: Option<String>,
    pub node: Option<String>,
    pub source: Option<String>,
    /// Free text: words (or "quoted phrases") that must all appear in the message.
    pub q: Option<String>,
    /// Start of the range: RFC 3339, epoch milliseconds, `now` or `now-<N><s|m|h|d>`.
    pub from: Option<String>,
    /// End of the range (exclusive), same forms as `from`; default now.
    pub to: Option<String>,
    pub limit: Option<usize>,
    pub cursor: Option<String>,
}

/// Parses `now`, `now-15m`, `now-6h`, `now-7d`, RFC 3339 or epoch milliseconds.
pub fn parse_time_param(name: &str, text: &str, now_ms: i64) -> Result<i64, ApiError> {
    let text = text.trim();
    let bad = || {
        ApiError::BadRequest(format!(
            "{name}={text:?} is not a time: use RFC 3339 (2026-11-25T10:00:00Z), epoch \
             milliseconds, or now-15m / now-6h / now-7d"
        ))
    };
    if let Some(rest) = text.strip_prefix("now") {
        if rest.is_empty() {
            return Ok(now_ms);
        }
        let amount = rest.strip_prefix('-').ok_or_else(bad)?;
        let (number, unit) = amount.split_at(amount.len().saturating_sub(1));
        let number: i64 = number.parse().map_err(|_| bad())?;
        let unit_ms = match unit {
            "s" => 1_000,
            "m" => 60_000,
            "h" => 3_600_000,
            "d" => DAY_MS,
            _ => return Err(bad()),
        };
        return number
            .checked_mul(unit_ms)
            .and_then(|offset| now_ms.checked_sub(offset))
            .ok_or_else(bad);
    }
    parse_time(text).ok_or_else(bad)
}

fn values(text: &Option<String>) -> Vec<String> {
    text.as_deref()
        .unwrap_or_default()
        .split(',')
        .map(str::trim)
        .filter(|value| !value.is_empty())
        .map(str::to_string)
        .collect()
}

impl EventQuery {
    /// The store filter this query means, at `now_ms`.
    pub fn filter(&self, now_ms: i64) -> Result<Filter, ApiError> {
        let from_ms = parse_time_param(
            "from",
            self.from.as_deref().unwrap_or(DEFAULT_RANGE),
            now_ms,
        )?;
        let to_ms = match self.to.as_deref().filter(|to| !to.trim().is_empty()) {
            Some(to) => parse_time_param("to", to, now_ms)?,
            // Up to a day ahead: events from nodes with skewed clocks still show.
            None => now_ms.saturating_add(DAY_MS),
        };
        if from_ms >= to_ms {
            return Err(ApiError::BadRequest(format!(
                "the range is empty: from ({from_ms}) must be before to ({to_ms})"
            )));
        }
        let mut filter = Filter {
            from_ms: Some(from_ms),
            to_ms: Some(to_ms),
            ..Filter::default()
        };
        let fields = [
            (Field::Cluster, &self.cluster),
            (Field::Namespace, &self.namespace),
            (Field::Kind, &self.kind),
            (Field::Name, &self.name),
            (Field::Type, &self.event_type),
            (Field::Reason, &self.reason),
            (Field::Category, &self.category),
            (Field::Node, &self.node),
            (Field::Source, &self.source),
        ];
        for (field, text) in fields {
            let values = values(text);
            if !values.is_empty() {
                filter.terms.push(TermFilter {
                    field,
                    values,
                    negate: false,
                });
            }
        }
        filter.text = self.q.clone().filter(|text| !text.trim().is_empty());
        Ok(filter)
    }

    /// The page size asked for, within bounds.
    pub fn limit(&self) -> usize {
        self.limit.unwrap_or(DEFAULT_LIMIT).clamp(1, MAX_LIMIT)
    }
}

/// `GET /api/v1/events`
pub async fn search_events(
    State(state): State<AppState>,
    Query(query): Query<EventQuery>,
) -> Result<Json<kec_store::SearchPage>, ApiError> {
    let started = std::time::Instant::now();
    let request = SearchRequest {
        filter: query.filter(now_ms())?,
        limit: query.limit(),
        cursor: query.cursor.clone().filter(|cursor| !cursor.is_empty()),
        ascending: false,
        with_totals: query.cursor.is_none(),
    };
    let page = state
        .with_store(move |store| store.search(&request))
        .await?;
    state.metrics.observe_query("events", started.elapsed());
    Ok(Json(page))
}

/// Parameters of the histogram beyond the filters.
#[derive(Debug, Deserialize)]
pub struct HistogramParams {
    /// Bucket width in seconds; default: the range split in about 100 buckets.
    pub bucket_seconds: Option<i64>,
}

/// A bucketed count for charts.
#[derive(Debug, Serialize)]
pub struct Histogram {
    pub bucket_ms: i64,
    pub from_ms: i64,
    pub to_ms: i64,
    pub buckets: Vec<kec_store::AggregateRow>,
}

/// A bucket width giving at most about `max_buckets` buckets, rounded to a readable step.
pub fn bucket_for(range_ms: i64, max_buckets: i64) -> i64 {
    const STEPS: [i64; 14] = [
        1_000,
        5_000,
        10_000,
        30_000,
        60_000,
        300_000,
        600_000,
        1_800_000,
        3_600_000,
        10_800_000,
        21_600_000,
        43_200_000,
        DAY_MS,
        7 * DAY_MS,
    ];
    let wanted = range_ms / max_buckets.max(1);
    STEPS
        .into_iter()
        .find(|step| *step >= wanted)
        .unwrap_or(7 * DAY_MS)
}

/// `GET /api/v1/events/histogram`
pub async fn histogram(
    State(state): State<AppState>,
    Query(query): Query<EventQuery>,
    Query(params): Query<HistogramParams>,
) -> Result<Json<Histogram>, ApiError> {
    let started = std::time::Instant::now();
    let filter = query.filter(now_ms())?;
    let from_ms = filter.from_ms.unwrap_or_default();
    let to_ms = filter.to_ms.unwrap_or_default().min(now_ms());
    let bucket_ms = match params.bucket_seconds {
        Some(seconds) if seconds > 0 => seconds.saturating_mul(1000),
        Some(_) => {
            return Err(ApiError::BadRequest(
                "bucket_seconds must be positive".into(),
            ));
        }
        None => bucket_for(to_ms - from_ms, 100),
    };
    if (to_ms - from_ms) / bucket_ms > 2000 {
        return Err(ApiError::BadRequest(format!(
            "{} buckets is too many: choose a larger bucket_seconds or a shorter range",
            (to_ms - from_ms) / bucket_ms
        )));
    }
    let request = AggregateRequest {
        filter,
        group_by: Some(Field::Type),
        bucket_ms: Some(bucket_ms),
        limit: 0,
    };
    let buckets = state
        .with_store(move |store| store.aggregate(&request))
        .await?;
    state.metrics.observe_query("histogram", started.elapsed());
    Ok(Json(Histogram {
        bucket_ms,
        from_ms,
        to_ms,
        buckets,
    }))
}

/// Parameters of a timeline.
#[derive(Debug, Deserialize)]
pub struct TimelineParams {
    pub limit: Option<usize>,
    /// `records` (default): full records with the original Event; `points`: time, reason,
    /// type, category, occurrences and count only, read from columns (much faster).
    pub view: Option<String>,
}

/// `GET /api/v1/clusters/{cluster}/objects/{namespace}/{kind}/{name}/timeline`
pub async fn timeline(
    State(state): State<AppState>,
    Path((cluster, namespace, kind, name)): Path<(String, String, String, String)>,
    Query(params): Query<TimelineParams>,
) -> Result<axum::response::Response, ApiError> {
    use axum::response::IntoResponse;
    let started = std::time::Instant::now();
    let limit = params.limit.unwrap_or(10_000).clamp(1, 10_000);
    let response = match params.view.as_deref().unwrap_or("records") {
        "records" => {
            let records = state
                .with_store(move |store| store.timeline(&cluster, &namespace, &kind, &name, limit))
                .await?;
            Json(records).into_response()
        }
        "points" => {
            let points = state
                .with_store(move |store| {
                    store.timeline_points(&cluster, &namespace, &kind, &name, limit)
                })
                .await?;
            Json(points).into_response()
        }
        other => {
            return Err(ApiError::BadRequest(format!(
                "view={other:?} is not a timeline view: use records or points"
            )));
        }
    };
    state.metrics.observe_query("timeline", started.elapsed());
    Ok(response)
}

/// `GET /api/v1/clusters`
pub async fn clusters(
    State(state): State<AppState>,
) -> Result<Json<Vec<kec_store::ClusterInfo>>, ApiError> {
    Ok(Json(state.with_store(|store| store.clusters()).await?))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn time_params() {
        let now = 10 * DAY_MS;
        assert_eq!(parse_time_param("from", "now", now).unwrap(), now);
        assert_eq!(
            parse_time_param("from", "now-6h", now).unwrap(),
            now - 6 * 3_600_000
        );
        assert_eq!(
            parse_time_param("from", "now-15m", now).unwrap(),
            now - 900_000
        );
        assert_eq!(
            parse_time_param("from", "now-7d", now).unwrap(),
            now - 7 * DAY_MS
        );
        assert_eq!(parse_time_param("from", "1500", now).unwrap(), 1500);
        for bad in [
            "now-",
            "now+1h",
            "now-xh",
            "now-1y",
            "soon",
            "now-99999999999999999d",
        ] {
            assert!(parse_time_param("from", bad, now).is_err(), "{bad}");
        }
    }

    #[test]
    fn query_to_filter() {
        let query = EventQuery {
            namespace: Some("shop, pay".into()),
            event_type: Some("Warning".into()),
            q: Some("  ".into()),
            ..EventQuery::default()
        };
        let filter = query.filter(DAY_MS).unwrap();
        assert_eq!(filter.terms.len(), 2);
        assert_eq!(filter.terms[0].values, ["shop", "pay"]);
        assert_eq!(filter.text, None);
        assert_eq!(filter.from_ms, Some(DAY_MS - 6 * 3_600_000));
        let empty = EventQuery {
            from: Some("now".into()),
            to: Some("now-1h".into()),
            ..EventQuery::default()
        };
        assert!(empty.filter(DAY_MS).is_err());
    }

    #[test]
    fn buckets_are_readable_and_bounded() {
        assert_eq!(bucket_for(6 * 3_600_000, 100), 300_000);
        assert_eq!(bucket_for(24 * 3_600_000, 100), 1_800_000);
        assert_eq!(bucket_for(60_000, 100), 1_000);
    }
}
