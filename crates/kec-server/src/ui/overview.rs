//! `GET /overview?c=..&from=..&to=..`: what is going wrong, at a glance. KPIs with their change
//! against the previous period, occurrences over time by type, the top Warning reasons (with
//! sparklines), namespaces and objects, category tiles that open the details pre-filtered, a
//! namespace × time heatmap of Warnings, for all clusters one small chart per cluster and, last,
//! the latest Warnings grouped by reason and object ([`latest`]).
//!
//! The whole page is one round trip: [`read`] runs every panel in one blocking call, each but
//! the last a [`kec_store::RollupQuery`]: per-minute and per-hour sums kept at ingest, with the
//! ragged edges of the range read from the index, so the figures are exact and no document is
//! read. The latest Warnings read one bounded page of the newest Warning records.

mod latest;

use askama::Template;
use axum::extract::State;
use axum::http::{StatusCode, Uri};
use axum::response::Response;
use kec_model::time::now_ms;
use kec_store::rollup::HOUR_MS;
use kec_store::{AggregateRow, Dimension, EmbeddedStore, RollupQuery};
use serde_json::json;

use crate::AppState;
use crate::api;
use crate::error::ApiError;
use crate::ui::assets::AssetUrls;
use crate::ui::format;
use crate::ui::scope::{Params, Scope, ScopeView};
use crate::ui::view::{self, HistogramView, NavItem, Range};
use crate::ui::{PageError, render};

/// Rows of each top list.
const TOP: usize = 10;
/// Bars of a sparkline, at most (about).
const SPARK_BUCKETS: i64 = 24;
/// Columns of the heatmap, at most (about).
const HEAT_BUCKETS: i64 = 48;

/// The category tiles: (label, categories, what they mean).
pub(crate) const TILES: [(&str, &[&str], &str); 6] = [
    (
        "Crash loops",
        &["PodCrash"],
        "containers restarting in back-off",
    ),
    ("OOM kills", &["OOM"], "containers killed for memory"),
    (
        "Image pull failures",
        &["ImagePullBackOff"],
        "images that could not be pulled",
    ),
    (
        "Scheduling failures",
        &["FailedScheduling"],
        "pods no node could take",
    ),
    ("Evictions", &["Evicted"], "pods evicted from their node"),
    (
        "Node problems",
        &["NodeNotReady", "NodeProblem"],
        "nodes not ready or reporting problems",
    ),
];

/// Bucket widths of the panels of a range.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Buckets {
    /// The histogram's.
    pub histogram_ms: i64,
    /// Sparklines' (reasons, clusters): whole hours, so the hour rollups answer them.
    pub spark_ms: i64,
    /// The heatmap's columns: whole hours.
    pub heat_ms: i64,
}

impl Buckets {
    pub(crate) fn of(span_ms: i64) -> Buckets {
        Buckets {
            histogram_ms: api::bucket_for(span_ms, view::MAX_BUCKETS),
            spark_ms: api::bucket_for(span_ms, SPARK_BUCKETS).max(HOUR_MS),
            heat_ms: api::bucket_for(span_ms, HEAT_BUCKETS).max(HOUR_MS),
        }
    }
}

/// Every panel's data.
pub(crate) struct OverviewData {
    /// Occurrences by type per histogram bucket.
    pub histogram: Vec<AggregateRow>,
    pub previous_by_type: Vec<AggregateRow>,
    pub categories: Vec<AggregateRow>,
    pub previous_categories: Vec<AggregateRow>,
    /// The top Warning reasons per sparkline bucket.
    pub reasons: Vec<AggregateRow>,
    /// The top namespaces of Warnings per heatmap bucket.
    pub namespaces: Vec<AggregateRow>,
    /// The object names with the most Warnings.
    pub objects: Vec<AggregateRow>,
    /// Object names with Warnings (the KPI).
    pub object_count: usize,
    pub previous_objects: usize,
    /// Nodes with events of a node-problem category.
    pub problem_nodes: usize,
    pub previous_problem_nodes: usize,
    /// With all clusters: occurrences per cluster, and its Warnings per sparkline bucket.
    pub cluster_totals: Vec<AggregateRow>,
    pub cluster_warnings: Vec<AggregateRow>,
    pub clusters: Vec<kec_store::ClusterInfo>,
    pub buckets: Buckets,
    /// The newest Warning records of the range (at most [`latest::SAMPLE`]), newest first.
    pub latest: Vec<kec_model::EventRecord>,
}

/// Reads every panel of the overview of `scope` (also what `kec bench ui` times).
pub(crate) fn read(
    store: &EmbeddedStore,
    scope: &Scope,
    buckets: Buckets,
) -> kec_store::Result<OverviewData> {
    let (previous_from, previous_to) = scope.previous();
    // Each range's ragged edges are read from the index once, for all its queries.
    let current = store.rollup_view(scope.from_ms, scope.to_ms)?;
    let previous = store.rollup_view(previous_from, previous_to)?;
    let ask = |query: RollupQuery| {
        let view = if query.from_ms == scope.from_ms {
            &current
        } else {
            &previous
        };
        view.query(&query)
    };
    let now = |dimension| RollupQuery {
        cluster: scope.cluster.clone(),
        ..RollupQuery::new(dimension, scope.from_ms, scope.to_ms)
    };
    let before = |dimension| RollupQuery {
        cluster: scope.cluster.clone(),
        ..RollupQuery::new(dimension, previous_from, previous_to)
    };
    let warnings = |dimension, bucket_ms, limit| RollupQuery {
        event_type: Some("Warning".into()),
        bucket_ms,
        limit,
        ..now(dimension)
    };
    let all_clusters = scope.cluster.is_none();
    // Distinct groups only: one row is named, the rest only counted.
    let count =
        |query: RollupQuery| ask(RollupQuery { limit: 1, ..query }).map(|answer| answer.groups);
    let objects = ask(RollupQuery {
        limit: TOP,
        ..now(Dimension::WarningObject)
    })?;
    Ok(OverviewData {
        histogram: ask(RollupQuery {
            bucket_ms: Some(buckets.histogram_ms),
            ..now(Dimension::Type)
        })?
        .rows,
        previous_by_type: ask(before(Dimension::Type))?.rows,
        categories: ask(now(Dimension::Category))?.rows,
        previous_categories: ask(before(Dimension::Category))?.rows,
        reasons: ask(warnings(Dimension::Reason, Some(buckets.spark_ms), TOP))?.rows,
        namespaces: ask(warnings(Dimension::Namespace, Some(buckets.heat_ms), TOP))?.rows,
        objects: objects.rows,
        object_count: objects.groups,
        previous_objects: count(before(Dimension::WarningObject))?,
        problem_nodes: count(now(Dimension::ProblemNode))?,
        previous_problem_nodes: count(before(Dimension::ProblemNode))?,
        cluster_totals: if all_clusters {
            ask(now(Dimension::Cluster))?.rows
        } else {
            Vec::new()
        },
        cluster_warnings: if all_clusters {
            ask(warnings(Dimension::Cluster, Some(buckets.spark_ms), 0))?.rows
        } else {
            Vec::new()
        },
        clusters: store.clusters()?,
        buckets,
        latest: latest::read(store, scope)?,
    })
}

/// A KPI or tile figure with its change.
pub(crate) struct Figure {
    pub label: &'static str,
    pub value: String,
    pub change: String,
    /// `up`, `down` or `same`: the arrow's direction (more trouble is "up").
    pub trend: &'static str,
    pub title: String,
    pub url: String,
    pub alarming: bool,
}

/// `+25%`, `−40%`, `new`, `no change` against the previous period.
pub(crate) fn change(now: i64, before: i64) -> (String, &'static str) {
    if now == before {
        return ("no change".into(), "same");
    }
    if before == 0 {
        return ("new".into(), "up");
    }
    let percent = ((now - before) as f64 / before as f64 * 100.0).round() as i64;
    if percent > 0 {
        (format!("+{percent}%"), "up")
    } else if percent < 0 {
        (format!("−{}%", -percent), "down")
    } else {
        ("about the same".into(), "same")
    }
}

fn sum(rows: &[AggregateRow], groups: &[&str]) -> i64 {
    rows.iter()
        .filter(|row| {
            row.group
                .as_deref()
                .is_some_and(|group| groups.contains(&group))
        })
        .map(|row| row.occurrences)
        .sum()
}

/// Bucketed rows summed per group (bucket dropped), most occurrences first.
fn per_group(rows: &[AggregateRow]) -> Vec<AggregateRow> {
    let mut totals: std::collections::HashMap<&str, (u64, i64)> = Default::default();
    for row in rows {
        let entry = totals
            .entry(row.group.as_deref().unwrap_or_default())
            .or_default();
        entry.0 += row.records;
        entry.1 += row.occurrences;
    }
    let mut grouped: Vec<AggregateRow> = totals
        .into_iter()
        .map(|(group, (records, occurrences))| AggregateRow {
            bucket_ms: None,
            group: Some(group.to_string()),
            records,
            occurrences,
        })
        .collect();
    grouped.sort_by(|a, b| {
        b.occurrences
            .cmp(&a.occurrences)
            .then(a.group.cmp(&b.group))
    });
    grouped
}

/// The bucket starts covering `[from_ms, to_ms)`.
fn bucket_starts(from_ms: i64, to_ms: i64, bucket_ms: i64) -> Vec<i64> {
    let bucket_ms = bucket_ms.max(1);
    let mut start = from_ms.div_euclid(bucket_ms) * bucket_ms;
    let mut starts = Vec::new();
    while start < to_ms && starts.len() < 10_000 {
        starts.push(start);
        start += bucket_ms;
    }
    starts
}

/// Occurrences of `group` per bucket of `starts`, as a JSON array (a sparkline's data).
fn series(rows: &[AggregateRow], group: &str, starts: &[i64]) -> Vec<i64> {
    let mut values = vec![0; starts.len()];
    for row in rows
        .iter()
        .filter(|row| row.group.as_deref() == Some(group))
    {
        if let Some(bucket) = row.bucket_ms
            && let Ok(index) = starts.binary_search(&bucket)
            && let Some(value) = values.get_mut(index)
        {
            *value += row.occurrences;
        }
    }
    values
}

/// One line of a top list.
pub(crate) struct TopRow {
    pub value: String,
    pub count: String,
    pub exact: String,
    /// Width of its bar, percent of the first line.
    pub share: i64,
    pub url: String,
    pub exclude_url: String,
    /// Sparkline data (a JSON array of occurrences per bucket), empty for none.
    pub spark: String,
}

fn top_rows(
    rows: &[AggregateRow],
    limit: usize,
    url: impl Fn(&str) -> String,
    exclude_url: impl Fn(&str) -> String,
) -> Vec<TopRow> {
    let mut sorted: Vec<&AggregateRow> = rows.iter().filter(|row| row.group.is_some()).collect();
    sorted.sort_by(|a, b| {
        b.occurrences
            .cmp(&a.occurrences)
            .then(a.group.cmp(&b.group))
    });
    let largest = sorted
        .first()
        .map(|row| row.occurrences)
        .unwrap_or(1)
        .max(1);
    sorted
        .into_iter()
        .take(limit)
        .map(|row| {
            let value = row.group.clone().unwrap_or_default();
            TopRow {
                count: format::compact(row.occurrences),
                exact: format!(
                    "{} occurrences in {} events",
                    format::count(row.occurrences),
                    format::count(i64::try_from(row.records).unwrap_or(i64::MAX))
                ),
                share: (row.occurrences * 100 / largest).clamp(1, 100),
                url: url(&value),
                exclude_url: exclude_url(&value),
                spark: String::new(),
                value,
            }
        })
        .collect()
}

/// Namespace × time heatmap data for `overview.js`: `{namespaces, urls, buckets, bucket,
/// values: [[bucket index, namespace index, occurrences]], max}`, or `None` without Warnings.
fn heatmap_json(
    rows: &[AggregateRow],
    starts: &[i64],
    bucket_ms: i64,
    url: impl Fn(&str) -> String,
) -> Option<String> {
    let namespaces = per_group(rows);
    if namespaces.is_empty() {
        return None;
    }
    let mut values = Vec::new();
    let mut max = 0;
    for (row_index, namespace) in namespaces.iter().enumerate() {
        let name = namespace.group.as_deref().unwrap_or_default();
        for (bucket_index, count) in series(rows, name, starts).into_iter().enumerate() {
            if count > 0 {
                max = max.max(count);
                values.push(json!([bucket_index, row_index, count]));
            }
        }
    }
    let labels: Vec<&str> = namespaces
        .iter()
        .map(|row| match row.group.as_deref() {
            Some("") | None => "(cluster-scoped)",
            Some(name) => name,
        })
        .collect();
    let urls: Vec<String> = namespaces
        .iter()
        .map(|row| url(row.group.as_deref().unwrap_or_default()))
        .collect();
    Some(
        json!({
            "namespaces": labels,
            "urls": urls,
            "buckets": starts,
            "bucket": bucket_ms,
            "values": values,
            "max": max,
        })
        .to_string(),
    )
}

/// One cluster's small multiple (all clusters only).
pub(crate) struct ClusterCard {
    pub name: String,
    pub url: String,
    pub total: String,
    pub warnings: String,
    pub title: String,
    /// Warnings per sparkline bucket, a JSON array.
    pub spark: String,
    pub spark_label: String,
}

fn cluster_cards(data: &OverviewData, scope: &Scope) -> Vec<ClusterCard> {
    if scope.cluster.is_some() || data.cluster_totals.len() < 2 {
        return Vec::new();
    }
    let starts = bucket_starts(scope.from_ms, scope.to_ms, data.buckets.spark_ms);
    let warnings = per_group(&data.cluster_warnings);
    per_group(&data.cluster_totals)
        .into_iter()
        .map(|row| {
            let name = row.group.unwrap_or_default();
            let warning_total = warnings
                .iter()
                .find(|warning| warning.group.as_deref() == Some(name.as_str()))
                .map_or(0, |warning| warning.occurrences);
            let cluster_scope = Scope {
                cluster: Some(name.clone()),
                ..scope.clone()
            };
            ClusterCard {
                url: cluster_scope.url("/overview", &[]),
                total: format::compact(row.occurrences),
                warnings: format::compact(warning_total),
                title: format!(
                    "{}: {} occurrences, {} of them Warnings",
                    name,
                    format::count(row.occurrences),
                    format::count(warning_total)
                ),
                spark: json!(series(&data.cluster_warnings, &name, &starts)).to_string(),
                spark_label: format!(
                    "Warning occurrences of {name} per {}",
                    format::span(data.buckets.spark_ms)
                ),
                name,
            }
        })
        .collect()
}

#[derive(Template)]
#[template(path = "overview.html")]
struct OverviewPage {
    nav: Vec<NavItem>,
    assets: AssetUrls,
    overview_js: String,
    scope: ScopeView,
    title: String,
    kpis: Vec<Figure>,
    tiles: Vec<Figure>,
    histogram: Option<HistogramView>,
    reasons: Vec<TopRow>,
    namespaces: Vec<TopRow>,
    objects: Vec<TopRow>,
    heatmap: Option<String>,
    heat_label: String,
    spark_label: String,
    clusters: Vec<ClusterCard>,
    /// `None` on the error page.
    latest: Option<latest::LatestPanel>,
    last_event: String,
    no_data: bool,
    quiet: bool,
    error: Option<PageError>,
    previous_label: String,
}

/// Turns the data into the page's figures: the KPI strip and the category tiles.
fn figures(data: &OverviewData, scope: &Scope, last_event: &str) -> (Vec<Figure>, Vec<Figure>) {
    let total: i64 = data.histogram.iter().map(|row| row.occurrences).sum();
    let previous_total: i64 = data
        .previous_by_type
        .iter()
        .map(|row| row.occurrences)
        .sum();
    let warnings = sum(&data.histogram, &["Warning"]);
    let previous_warnings = sum(&data.previous_by_type, &["Warning"]);
    let figure = |label, now: i64, before: i64, url: String, title: String| {
        let (change, trend) = change(now, before);
        Figure {
            label,
            value: format::compact(now),
            change,
            trend,
            title: format!(
                "{title}: {} now, {} in the previous period",
                format::count(now),
                format::count(before)
            ),
            url,
            alarming: false,
        }
    };
    let count = |value: usize| i64::try_from(value).unwrap_or(i64::MAX);
    let category = |label, categories: &[&str], title: &str| {
        let mut kpi = figure(
            label,
            sum(&data.categories, categories),
            sum(&data.previous_categories, categories),
            scope.details_url(&[("category", &categories.join(","))]),
            title.to_string(),
        );
        kpi.alarming = sum(&data.categories, categories) > 0;
        kpi
    };
    let mut kpis = vec![
        figure(
            "Warning occurrences",
            warnings,
            previous_warnings,
            scope.details_url(&[("type", "Warning")]),
            "Warning occurrences".into(),
        ),
        figure(
            "All occurrences",
            total,
            previous_total,
            scope.details_url(&[]),
            "occurrences of every type".into(),
        ),
        figure(
            "Objects with Warnings",
            count(data.object_count),
            count(data.previous_objects),
            scope.details_url(&[("type", "Warning")]),
            "distinct object names with at least one Warning".into(),
        ),
        category("OOM kills", &["OOM"], "containers killed for memory"),
        category(
            "Crash-loop back-offs",
            &["PodCrash"],
            "containers restarting in back-off",
        ),
        category(
            "Failed scheduling",
            &["FailedScheduling"],
            "pods no node could take",
        ),
    ];
    let mut nodes = figure(
        "Nodes with problems",
        count(data.problem_nodes),
        count(data.previous_problem_nodes),
        scope.details_url(&[("kind", "Node"), ("category", "NodeNotReady,NodeProblem")]),
        "Nodes with NotReady or node-problem-detector events".into(),
    );
    nodes.alarming = data.problem_nodes > 0;
    kpis.push(nodes);
    kpis.push(Figure {
        label: "Last event received",
        value: last_event.to_string(),
        change: String::new(),
        trend: "same",
        title: "the newest event time any collector sent (the newest events open)".into(),
        url: scope.details_url(&[]),
        alarming: false,
    });
    let tiles = TILES
        .iter()
        .map(|(label, categories, meaning)| {
            let now = sum(&data.categories, categories);
            let before = sum(&data.previous_categories, categories);
            let mut tile = figure(
                label,
                now,
                before,
                scope.details_url(&[("category", &categories.join(","))]),
                (*meaning).to_string(),
            );
            tile.alarming = now > 0;
            tile
        })
        .collect();
    (kpis, tiles)
}

/// `GET /overview`
pub(crate) async fn page(State(state): State<AppState>, uri: Uri) -> Response {
    let params = Params::from_uri(&uri);
    let now = now_ms();
    let scope = match Scope::read(&params, now) {
        Ok(scope) => scope,
        Err(error) => return error_page(&state, &params, error, now).await,
    };
    let buckets = Buckets::of(scope.span_ms());
    let read_scope = scope.clone();
    let started = std::time::Instant::now();
    let loaded = state
        .with_store(move |store| read(store, &read_scope, buckets))
        .await;
    state
        .metrics
        .observe_query("ui_overview", started.elapsed());
    let data = match loaded {
        Ok(data) => data,
        Err(error) => return error_page(&state, &params, error, now).await,
    };
    let names: Vec<String> = data.clusters.iter().map(|c| c.name.clone()).collect();
    let range = Range {
        from_ms: scope.from_ms,
        to_ms: scope.to_ms,
        live: scope.to.is_none(),
    };
    let total: i64 = data.histogram.iter().map(|row| row.occurrences).sum();
    let last_event = data
        .clusters
        .iter()
        .filter(|cluster| {
            scope
                .cluster
                .as_ref()
                .is_none_or(|name| *name == cluster.name)
        })
        .map(|cluster| cluster.last_event_ms)
        .max()
        .map(|ms| format::relative(ms, now))
        .unwrap_or_else(|| "never".into());
    let (kpis, tiles) = figures(&data, &scope, &last_event);
    let spark_starts = bucket_starts(scope.from_ms, scope.to_ms, buckets.spark_ms);
    let mut reasons = top_rows(
        &per_group(&data.reasons),
        TOP,
        |value| scope.details_url(&[("type", "Warning"), ("reason", value)]),
        |value| scope.details_url(&[("type", "Warning"), ("reason", &format!("!{value}"))]),
    );
    for reason in &mut reasons {
        reason.spark = json!(series(&data.reasons, &reason.value, &spark_starts)).to_string();
    }
    let namespaces = top_rows(
        &per_group(&data.namespaces),
        TOP,
        |value| scope.details_url(&[("type", "Warning"), ("namespace", value)]),
        |value| scope.details_url(&[("type", "Warning"), ("namespace", &format!("!{value}"))]),
    );
    let objects = top_rows(
        &data.objects,
        TOP,
        |value| scope.url("/lifecycle", &[("name", value)]),
        |value| scope.details_url(&[("type", "Warning"), ("name", &format!("!{value}"))]),
    );
    let heatmap = heatmap_json(
        &data.namespaces,
        &bucket_starts(scope.from_ms, scope.to_ms, buckets.heat_ms),
        buckets.heat_ms,
        |namespace| {
            if namespace.is_empty() {
                scope.details_url(&[("type", "Warning")])
            } else {
                scope.details_url(&[("type", "Warning"), ("namespace", namespace)])
            }
        },
    );
    let clusters = cluster_cards(&data, &scope);
    let page = OverviewPage {
        nav: view::nav("Overview"),
        assets: AssetUrls::new(),
        overview_js: crate::ui::assets::url("overview.js"),
        scope: ScopeView::new("/overview", &scope, &names, Vec::new(), now),
        title: match &scope.cluster {
            Some(cluster) => format!("Overview of {cluster}"),
            None => "Overview of all clusters".into(),
        },
        kpis,
        tiles,
        histogram: (total > 0)
            .then(|| HistogramView::new(&data.histogram, range, buckets.histogram_ms)),
        reasons,
        namespaces,
        objects,
        heatmap,
        heat_label: format::span(buckets.heat_ms),
        spark_label: format::span(buckets.spark_ms),
        clusters,
        latest: Some(latest::LatestPanel::new(&data.latest, &scope, now)),
        last_event,
        no_data: data.clusters.is_empty(),
        quiet: total == 0,
        error: None,
        previous_label: format!("vs the previous {}", format::span(scope.span_ms())),
    };
    render(StatusCode::OK, &page, None)
}

async fn error_page(state: &AppState, params: &Params, error: ApiError, now: i64) -> Response {
    let retry = format!("/overview?c={}", params.get("c").unwrap_or_default());
    let (page_error, status) = PageError::of(&error, &retry);
    let names = crate::ui::cluster_names(state).await;
    let fallback = Scope::read(&Params::default(), now).unwrap_or(Scope {
        cluster: None,
        from: api::DEFAULT_RANGE.into(),
        to: None,
        from_ms: now - 1,
        to_ms: now,
    });
    let page = OverviewPage {
        nav: view::nav("Overview"),
        assets: AssetUrls::new(),
        overview_js: crate::ui::assets::url("overview.js"),
        scope: ScopeView::new("/overview", &fallback, &names, Vec::new(), now),
        title: "Overview".into(),
        kpis: Vec::new(),
        tiles: Vec::new(),
        histogram: None,
        reasons: Vec::new(),
        namespaces: Vec::new(),
        objects: Vec::new(),
        heatmap: None,
        heat_label: String::new(),
        spark_label: String::new(),
        clusters: Vec::new(),
        latest: None,
        last_event: String::new(),
        no_data: false,
        quiet: false,
        error: Some(page_error),
        previous_label: String::new(),
    };
    render(status, &page, None)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn changes_read_as_percentages() {
        assert_eq!(change(150, 100), ("+50%".to_string(), "up"));
        assert_eq!(change(50, 100), ("−50%".to_string(), "down"));
        assert_eq!(change(3, 0), ("new".to_string(), "up"));
        assert_eq!(change(0, 0), ("no change".to_string(), "same"));
    }

    fn bucketed(bucket_ms: i64, group: &str, occurrences: i64) -> AggregateRow {
        AggregateRow {
            bucket_ms: Some(bucket_ms),
            group: Some(group.into()),
            records: 1,
            occurrences,
        }
    }

    #[test]
    fn panel_buckets_are_whole_hours_for_the_hour_rollups() {
        for span in [
            HOUR_MS,
            6 * HOUR_MS,
            24 * HOUR_MS,
            7 * 24 * HOUR_MS,
            30 * 24 * HOUR_MS,
        ] {
            let buckets = Buckets::of(span);
            assert_eq!(buckets.spark_ms % HOUR_MS, 0, "{span}");
            assert_eq!(buckets.heat_ms % HOUR_MS, 0, "{span}");
            assert!(span / buckets.heat_ms <= HEAT_BUCKETS, "{span}");
        }
        // From 6 hours up, histogram buckets are whole minutes: the minute rollups answer.
        for span in [6 * HOUR_MS, 24 * HOUR_MS, 7 * 24 * HOUR_MS] {
            assert_eq!(Buckets::of(span).histogram_ms % 60_000, 0, "{span}");
        }
    }

    #[test]
    fn series_and_groups_sum_bucketed_rows() {
        let starts = bucket_starts(HOUR_MS / 2, 3 * HOUR_MS, HOUR_MS);
        assert_eq!(starts, vec![0, HOUR_MS, 2 * HOUR_MS]);
        let rows = [
            bucketed(0, "a", 2),
            bucketed(2 * HOUR_MS, "a", 3),
            bucketed(HOUR_MS, "b", 9),
            bucketed(99 * HOUR_MS, "a", 100), // outside the range: ignored by the series
        ];
        assert_eq!(series(&rows, "a", &starts), vec![2, 0, 3]);
        let groups = per_group(&rows);
        assert_eq!(groups[0].group.as_deref(), Some("a"));
        assert_eq!((groups[0].records, groups[0].occurrences), (3, 105));
        assert_eq!(groups[1].occurrences, 9);
    }

    #[test]
    fn heatmap_has_one_row_per_namespace_and_cells_where_warnings_are() {
        let starts = bucket_starts(0, 2 * HOUR_MS, HOUR_MS);
        let rows = [
            bucketed(0, "shop", 4),
            bucketed(HOUR_MS, "shop", 6),
            bucketed(HOUR_MS, "", 1),
        ];
        let json = heatmap_json(&rows, &starts, HOUR_MS, |ns| {
            format!("/events?namespace={ns}")
        })
        .expect("a heatmap");
        let value: serde_json::Value = serde_json::from_str(&json).expect("json");
        assert_eq!(value["namespaces"], json!(["shop", "(cluster-scoped)"]));
        assert_eq!(value["urls"][0], "/events?namespace=shop");
        assert_eq!(value["values"], json!([[0, 0, 4], [1, 0, 6], [1, 1, 1]]));
        assert_eq!(value["max"], 6);
        assert_eq!(value["bucket"], HOUR_MS);
        assert!(heatmap_json(&[], &starts, HOUR_MS, |_| String::new()).is_none());
    }

    /// The panels read with rollups equal the same questions asked of the index, and with all
    /// clusters each cluster gets its card.
    #[test]
    fn overview_panels_from_rollups_match_the_index() {
        use kec_model::{ParsedLine, parse_value};
        let dir = tempfile::tempdir().expect("tempdir");
        let store = EmbeddedStore::open(kec_store::StoreConfig::new(dir.path())).expect("opens");
        let now = now_ms();
        let mut records = Vec::new();
        for (index, cluster) in ["prod", "staging", "prod", "prod", "staging"]
            .iter()
            .enumerate()
        {
            let minutes = i64::try_from(index).unwrap_or_default() * 37 + 5;
            let time = format::iso(now - minutes * 60_000);
            let event = json!({
                "metadata": {"name": format!("web-{index}.1"), "namespace": "shop", "uid": format!("u{index}")},
                "involvedObject": {"kind": "Pod", "namespace": if index % 2 == 0 { "shop" } else { "db" }, "name": format!("web-{index}")},
                "reason": if index == 3 { "OOMKilling" } else { "BackOff" },
                "message": "Back-off restarting failed container",
                "type": if index == 4 { "Normal" } else { "Warning" },
                "count": index + 1,
                "lastTimestamp": time,
            });
            match parse_value(event, cluster, now).expect("an Event") {
                ParsedLine::Observation(observation) => records.push(observation.record),
                ParsedLine::Ignored(what) => panic!("ignored: {what}"),
            }
        }
        store.ingest(records, now).expect("ingest");
        store.commit(now).expect("commit");
        let scope = Scope::read(&Params::default(), now).expect("default scope");
        let buckets = Buckets::of(scope.span_ms());
        let data = read(&store, &scope, buckets).expect("read");
        let index = |group_by, event_type: Option<&str>, bucket_ms| {
            let mut filter = kec_store::Filter::default().between(scope.from_ms, scope.to_ms);
            if let Some(event_type) = event_type {
                filter = filter.with(kec_store::Field::Type, event_type);
            }
            store
                .aggregate(&kec_store::AggregateRequest {
                    filter,
                    group_by: Some(group_by),
                    bucket_ms,
                    limit: 0,
                })
                .expect("aggregate")
        };
        assert_eq!(
            data.histogram,
            index(kec_store::Field::Type, None, Some(buckets.histogram_ms))
        );
        assert_eq!(
            data.categories,
            index(kec_store::Field::Category, None, None)
        );
        assert_eq!(
            data.namespaces,
            index(
                kec_store::Field::Namespace,
                Some("Warning"),
                Some(buckets.heat_ms)
            )
        );
        assert_eq!(
            data.objects,
            index(kec_store::Field::Name, Some("Warning"), None)
        );
        assert_eq!((data.objects.len(), data.object_count), (4, 4));
        let cards = cluster_cards(&data, &scope);
        assert_eq!(cards.len(), 2);
        assert_eq!(cards[0].name, "prod");
        assert!(cards[0].url.contains("c=prod"), "{}", cards[0].url);
        let (kpis, _) = figures(&data, &scope, "just now");
        let objects = kpis.iter().find(|kpi| kpi.label == "Objects with Warnings");
        assert_eq!(objects.map(|kpi| kpi.value.as_str()), Some("4"));
        let warnings = kpis.iter().find(|kpi| kpi.label == "Warning occurrences");
        assert_eq!(warnings.map(|kpi| kpi.change.as_str()), Some("new"));
    }

    #[test]
    fn top_rows_are_sorted_and_scaled() {
        let row = |group: &str, occurrences| AggregateRow {
            bucket_ms: None,
            group: Some(group.into()),
            records: 1,
            occurrences,
        };
        let rows = [row("b", 5), row("a", 20), row("c", 1)];
        let top = top_rows(&rows, 2, |v| format!("/in/{v}"), |v| format!("/out/{v}"));
        assert_eq!(top.len(), 2);
        assert_eq!(top[0].value, "a");
        assert_eq!(top[0].share, 100);
        assert_eq!(top[1].share, 25);
        assert_eq!(top[1].url, "/in/b");
        assert_eq!(top[1].exclude_url, "/out/b");
    }
}
