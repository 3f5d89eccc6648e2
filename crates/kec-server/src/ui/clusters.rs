//! `GET /clusters` (and `/`): every cluster that sends events, with its rates, last event and
//! collector status; each opens its overview, and "All clusters" opens the overview of all.

use askama::Template;
use axum::extract::State;
use axum::http::{StatusCode, Uri};
use axum::response::Response;
use kec_model::time::now_ms;
use kec_store::{AggregateRequest, AggregateRow, ClusterInfo, EmbeddedStore, Field, Filter};

use crate::AppState;
use crate::ui::assets::AssetUrls;
use crate::ui::format;
use crate::ui::scope::{Params, Scope};
use crate::ui::view::{self, NavItem};
use crate::ui::{PageError, render};

/// A collector whose last batch is older than this is stale (collectors send at least every
/// few seconds while their cluster has events, and their heartbeat batches otherwise).
pub(crate) const STALE_AFTER_MS: i64 = 5 * 60_000;
const HOUR_MS: i64 = 3_600_000;

/// One cluster's line.
pub(crate) struct ClusterRow {
    pub name: String,
    pub receiving: bool,
    pub status: String,
    pub status_title: String,
    pub last_event: String,
    pub last_event_iso: String,
    pub events_per_hour: String,
    pub warnings_per_hour: String,
    pub total: String,
    /// Hourly Warning occurrences over 24 h, for the sparkline (`[n, n, …]`).
    pub sparkline: String,
    pub sparkline_label: String,
    pub overview_url: String,
    pub details_url: String,
}

#[derive(Template)]
#[template(path = "clusters.html")]
struct ClustersPage {
    nav: Vec<NavItem>,
    assets: AssetUrls,
    rows: Vec<ClusterRow>,
    all_url: String,
    all_events_per_hour: String,
    all_warnings_per_hour: String,
    error: Option<PageError>,
}

/// What the page reads from the store, in one blocking call.
pub(crate) struct ClustersData {
    pub clusters: Vec<ClusterInfo>,
    pub last_hour: Vec<AggregateRow>,
    pub warnings_24h: Vec<AggregateRow>,
}

/// Reads the clusters page's data (also what `kec bench ui` times).
pub(crate) fn read(store: &EmbeddedStore, now_ms: i64) -> kec_store::Result<ClustersData> {
    let clusters = store.clusters()?;
    let last_hour = store.aggregate(&AggregateRequest {
        filter: Filter::default().between(now_ms - HOUR_MS, now_ms),
        group_by: Some(Field::Cluster),
        bucket_ms: None,
        limit: 0,
    })?;
    let warnings_24h = store.aggregate(&AggregateRequest {
        filter: Filter::default()
            .with(Field::Type, "Warning")
            .between(now_ms - 24 * HOUR_MS, now_ms),
        group_by: Some(Field::Cluster),
        bucket_ms: Some(HOUR_MS),
        limit: 0,
    })?;
    // Warning counts of the last hour come from the sparkline's data.
    Ok(ClustersData {
        clusters,
        last_hour,
        warnings_24h,
    })
}

fn occurrences_of(rows: &[AggregateRow], cluster: &str, since_ms: Option<i64>) -> i64 {
    rows.iter()
        .filter(|row| row.group.as_deref() == Some(cluster))
        .filter(|row| since_ms.is_none_or(|since| row.bucket_ms.unwrap_or(i64::MIN) >= since))
        .map(|row| row.occurrences)
        .sum()
}

pub(crate) fn rows(data: &ClustersData, now_ms: i64) -> Vec<ClusterRow> {
    let first_hour = (now_ms - 24 * HOUR_MS).div_euclid(HOUR_MS) * HOUR_MS;
    let last_bucket = (now_ms - HOUR_MS).div_euclid(HOUR_MS) * HOUR_MS;
    let mut rows: Vec<ClusterRow> = data
        .clusters
        .iter()
        .map(|cluster| {
            let receiving = now_ms - cluster.last_ingest_ms <= STALE_AFTER_MS;
            let status = if receiving {
                "receiving".to_string()
            } else {
                format!(
                    "stale since {}",
                    format::short_absolute(cluster.last_ingest_ms, now_ms)
                )
            };
            let hourly: Vec<i64> = (0..25)
                .map(|hour| {
                    let bucket = first_hour + hour * HOUR_MS;
                    data.warnings_24h
                        .iter()
                        .filter(|row| {
                            row.group.as_deref() == Some(cluster.name.as_str())
                                && row.bucket_ms == Some(bucket)
                        })
                        .map(|row| row.occurrences)
                        .sum()
                })
                .collect();
            let warnings_24h: i64 = hourly.iter().sum();
            let scope = Scope {
                cluster: Some(cluster.name.clone()),
                from: crate::api::DEFAULT_RANGE.into(),
                to: None,
                from_ms: 0,
                to_ms: 0,
            };
            ClusterRow {
                name: cluster.name.clone(),
                receiving,
                status,
                status_title: format!(
                    "last batch received {}",
                    format::absolute(cluster.last_ingest_ms)
                ),
                last_event: format::relative(cluster.last_event_ms, now_ms),
                last_event_iso: format::iso(cluster.last_event_ms),
                events_per_hour: format::count(occurrences_of(
                    &data.last_hour,
                    &cluster.name,
                    None,
                )),
                warnings_per_hour: format::count(occurrences_of(
                    &data.warnings_24h,
                    &cluster.name,
                    Some(last_bucket),
                )),
                total: format::count(cluster.occurrences),
                sparkline: serde_json::to_string(&hourly).unwrap_or_default(),
                sparkline_label: format!(
                    "{} Warning occurrences in the last 24 hours, per hour",
                    format::count(warnings_24h)
                ),
                overview_url: scope.url("/overview", &[]),
                details_url: scope.details_url(&[]),
            }
        })
        .collect();
    // Clusters that stopped sending come first: they are what needs looking at.
    rows.sort_by(|a, b| a.receiving.cmp(&b.receiving).then(a.name.cmp(&b.name)));
    rows
}

/// `GET /clusters`
pub(crate) async fn page(State(state): State<AppState>, uri: Uri) -> Response {
    let _params = Params::from_uri(&uri);
    let now = now_ms();
    let loaded = state.with_store(move |store| read(store, now)).await;
    let (rows, all_events, all_warnings, error, status) = match loaded {
        Ok(data) => {
            let all_events: i64 = data.last_hour.iter().map(|row| row.occurrences).sum();
            let last_bucket = (now - HOUR_MS).div_euclid(HOUR_MS) * HOUR_MS;
            let all_warnings: i64 = data
                .warnings_24h
                .iter()
                .filter(|row| row.bucket_ms.unwrap_or(i64::MIN) >= last_bucket)
                .map(|row| row.occurrences)
                .sum();
            (
                rows(&data, now),
                all_events,
                all_warnings,
                None,
                StatusCode::OK,
            )
        }
        Err(error) => {
            let (page_error, status) = PageError::of(&error, "/clusters");
            (Vec::new(), 0, 0, Some(page_error), status)
        }
    };
    let page = ClustersPage {
        nav: view::nav("Clusters"),
        assets: AssetUrls::new(),
        rows,
        all_url: "/overview".into(),
        all_events_per_hour: format::count(all_events),
        all_warnings_per_hour: format::count(all_warnings),
        error,
    };
    render(status, &page, None)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stale_clusters_come_first_with_their_rates() {
        let now = 1_000 * HOUR_MS + 30 * 60_000;
        let info = |name: &str, last_ingest_ms| ClusterInfo {
            name: name.into(),
            first_ingest_ms: 0,
            last_ingest_ms,
            last_event_ms: last_ingest_ms,
            records: 10,
            occurrences: 12,
            warning_occurrences: 3,
        };
        let row = |group: &str, bucket: Option<i64>, occurrences| AggregateRow {
            bucket_ms: bucket,
            group: Some(group.into()),
            records: 1,
            occurrences,
        };
        let data = ClustersData {
            clusters: vec![info("alpha", now - 1_000), info("beta", now - 3 * HOUR_MS)],
            last_hour: vec![row("alpha", None, 40)],
            warnings_24h: vec![
                row("alpha", Some(1_000 * HOUR_MS), 4),
                row("alpha", Some(990 * HOUR_MS), 9),
            ],
        };
        let rows = rows(&data, now);
        assert_eq!(rows[0].name, "beta");
        assert!(!rows[0].receiving);
        assert!(
            rows[0].status.starts_with("stale since"),
            "{}",
            rows[0].status
        );
        assert_eq!(rows[1].status, "receiving");
        assert_eq!(rows[1].events_per_hour, "40");
        assert_eq!(rows[1].warnings_per_hour, "4", "only the last hour");
        let hourly: Vec<i64> = serde_json::from_str(&rows[1].sparkline).expect("json");
        assert_eq!(hourly.len(), 25);
        assert_eq!(hourly.iter().sum::<i64>(), 13);
        assert_eq!(rows[1].overview_url, "/overview?c=alpha");
    }
}
