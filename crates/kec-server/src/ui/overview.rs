//! `GET /overview?c=..&from=..&to=..`: what is going wrong, at a glance. KPIs with their change
//! against the previous period, occurrences over time by type, the top Warning reasons,
//! namespaces and objects, and category tiles that open the details pre-filtered.
//!
//! The whole page is one round trip: [`read`] runs every panel's aggregation in one blocking
//! call (seven grouped sums over fast-field columns; no stored document is read).

use askama::Template;
use axum::extract::State;
use axum::http::{StatusCode, Uri};
use axum::response::Response;
use kec_model::time::now_ms;
use kec_store::{AggregateRequest, AggregateRow, EmbeddedStore, Field, Filter};

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

/// Every panel's data.
pub(crate) struct OverviewData {
    pub histogram: Vec<AggregateRow>,
    pub previous_by_type: Vec<AggregateRow>,
    pub categories: Vec<AggregateRow>,
    pub previous_categories: Vec<AggregateRow>,
    pub reasons: Vec<AggregateRow>,
    pub namespaces: Vec<AggregateRow>,
    /// Every object name with Warnings (the KPI counts them; the list shows the top).
    pub objects: Vec<AggregateRow>,
    pub clusters: Vec<kec_store::ClusterInfo>,
}

/// Reads every panel of the overview of `scope` (also what `kec bench ui` times).
pub(crate) fn read(
    store: &EmbeddedStore,
    scope: &Scope,
    bucket_ms: i64,
) -> kec_store::Result<OverviewData> {
    let filter = scope.filter();
    let (previous_from, previous_to) = scope.previous();
    let previous = Filter {
        from_ms: Some(previous_from),
        to_ms: Some(previous_to),
        ..filter.clone()
    };
    let warnings = filter.clone().with(Field::Type, "Warning");
    let grouped = |filter: &Filter, group_by, bucket_ms, limit| {
        store.aggregate(&AggregateRequest {
            filter: filter.clone(),
            group_by: Some(group_by),
            bucket_ms,
            limit,
        })
    };
    Ok(OverviewData {
        histogram: grouped(&filter, Field::Type, Some(bucket_ms), 0)?,
        previous_by_type: grouped(&previous, Field::Type, None, 0)?,
        categories: grouped(&filter, Field::Category, None, 0)?,
        previous_categories: grouped(&previous, Field::Category, None, 0)?,
        reasons: grouped(&warnings, Field::Reason, None, TOP)?,
        namespaces: grouped(&warnings, Field::Namespace, None, TOP)?,
        objects: grouped(&warnings, Field::Name, None, 0)?,
        clusters: store.clusters()?,
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

/// One line of a top list.
pub(crate) struct TopRow {
    pub value: String,
    pub count: String,
    pub exact: String,
    /// Width of its bar, percent of the first line.
    pub share: i64,
    pub url: String,
    pub exclude_url: String,
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
                value,
            }
        })
        .collect()
}

#[derive(Template)]
#[template(path = "overview.html")]
struct OverviewPage {
    nav: Vec<NavItem>,
    assets: AssetUrls,
    scope: ScopeView,
    title: String,
    kpis: Vec<Figure>,
    tiles: Vec<Figure>,
    histogram: Option<HistogramView>,
    reasons: Vec<TopRow>,
    namespaces: Vec<TopRow>,
    objects: Vec<TopRow>,
    last_event: String,
    no_data: bool,
    quiet: bool,
    error: Option<PageError>,
    previous_label: String,
}

/// Turns the data into the page's figures.
fn figures(data: &OverviewData, scope: &Scope) -> (Vec<Figure>, Vec<Figure>) {
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
    ];
    let objects = i64::try_from(data.objects.len()).unwrap_or(i64::MAX);
    kpis.push(Figure {
        label: "Objects with Warnings",
        value: format::count(objects),
        change: String::new(),
        trend: "same",
        title: "distinct object names with at least one Warning in the range".into(),
        url: scope.details_url(&[("type", "Warning")]),
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
    let bucket_ms = api::bucket_for(scope.span_ms(), view::MAX_BUCKETS);
    let read_scope = scope.clone();
    let started = std::time::Instant::now();
    let loaded = state
        .with_store(move |store| read(store, &read_scope, bucket_ms))
        .await;
    state
        .metrics
        .observe_query("ui_overview", started.elapsed());
    let data = match loaded {
        Ok(data) => data,
        Err(error) => return error_page(&state, &params, error, now).await,
    };
    let names: Vec<String> = data.clusters.iter().map(|c| c.name.clone()).collect();
    let (kpis, tiles) = figures(&data, &scope);
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
        .max();
    let reasons = top_rows(
        &data.reasons,
        TOP,
        |value| scope.details_url(&[("type", "Warning"), ("reason", value)]),
        |value| scope.details_url(&[("type", "Warning"), ("reason", &format!("!{value}"))]),
    );
    let namespaces = top_rows(
        &data.namespaces,
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
    let page = OverviewPage {
        nav: view::nav("Overview"),
        assets: AssetUrls::new(),
        scope: ScopeView::new("/overview", &scope, &names, Vec::new(), now),
        title: match &scope.cluster {
            Some(cluster) => format!("Overview of {cluster}"),
            None => "Overview of all clusters".into(),
        },
        kpis,
        tiles,
        histogram: (total > 0).then(|| HistogramView::new(&data.histogram, range, bucket_ms)),
        reasons,
        namespaces,
        objects,
        last_event: last_event
            .map(|ms| format::relative(ms, now))
            .unwrap_or_else(|| "never".into()),
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
        scope: ScopeView::new("/overview", &fallback, &names, Vec::new(), now),
        title: "Overview".into(),
        kpis: Vec::new(),
        tiles: Vec::new(),
        histogram: None,
        reasons: Vec::new(),
        namespaces: Vec::new(),
        objects: Vec::new(),
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
