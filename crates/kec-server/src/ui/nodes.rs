//! `GET /nodes?c=..&name=..&page=..`: nodes with problems, aggregated on the server.
//!
//! - A nodes × conditions grid from one grouped query over the Events about Nodes (first and
//!   last time and occurrences per node and reason): kubelet's conditions (Ready, memory, disk
//!   and PID pressure) from their transition Events, every node-problem-detector problem seen as
//!   a column of its own; problem nodes first, paged.
//! - A node × time heatmap of problem events (one `timechart` query, the busiest nodes).
//! - For the chosen node: its condition timeline (state spans per condition), its story
//!   swimlanes and events table (as the lifecycle page draws them), and the Warnings of the pods
//!   on it in the same window.

use std::collections::BTreeMap;

use askama::Template;
use axum::extract::State;
use axum::http::{StatusCode, Uri};
use axum::response::Response;
use kec_model::time::now_ms;
use kec_model::{Category, EventRecord};
use kec_store::{AggregateRequest, EmbeddedStore, Field, Output, QueryRequest, QueryResult, Value};
use serde_json::json;

use crate::AppState;
use crate::api;
use crate::error::ApiError;
use crate::ui::assets::AssetUrls;
use crate::ui::format;
use crate::ui::lanes::{self, Timeline};
use crate::ui::lifecycle::{self, Wanted};
use crate::ui::scope::{Params, Scope, ScopeView};
use crate::ui::view::{self, NavItem};
use crate::ui::{PageError, render};

/// Nodes per page of the grid.
pub(crate) const NODES_PER_PAGE: usize = 50;
/// Time buckets of the heatmap, at most.
const HEATMAP_BUCKETS: i64 = 60;
/// Pods listed with their Warnings on the chosen node.
const POD_WARNINGS: usize = 20;
/// Kubelet's conditions, always shown.
const KUBELET_CONDITIONS: [&str; 4] = ["Ready", "MemoryPressure", "DiskPressure", "PIDPressure"];
/// Per node and reason: when first and last seen, and how often (the grid's only read).
const GRID_QUERY: &str = "kind:Node | stats min(time) as first, max(time) as last, \
     sum(occurrences) as n by cluster, name, reason, category, type";
/// Problem events about Nodes: Warnings, NotReady transitions and node-problem-detector's.
const PROBLEM_SEARCH: &str = "kind:Node (type:Warning OR category:(NodeProblem OR NodeNotReady))";

/// What an Event's reason says about a condition: (condition, bad).
pub(crate) fn condition_of(reason: &str, category: Category) -> Option<(String, bool)> {
    let known = match reason {
        "NodeReady" => ("Ready", false),
        "NodeNotReady" => ("Ready", true),
        "NodeHasInsufficientMemory" => ("MemoryPressure", true),
        "NodeHasSufficientMemory" => ("MemoryPressure", false),
        "NodeHasDiskPressure" => ("DiskPressure", true),
        "NodeHasNoDiskPressure" => ("DiskPressure", false),
        "NodeHasInsufficientPID" => ("PIDPressure", true),
        "NodeHasSufficientPID" => ("PIDPressure", false),
        _ if category == Category::NodeProblem => return Some((reason.to_string(), true)),
        _ => return None,
    };
    Some((known.0.to_string(), known.1))
}

/// One (node, reason) line of the grid's query.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ReasonTotal {
    pub cluster: String,
    pub node: String,
    pub reason: String,
    pub category: Category,
    pub warning: bool,
    pub first_ms: i64,
    pub last_ms: i64,
    pub occurrences: i64,
}

/// The grid query's rows as [`ReasonTotal`]s (rows missing a column are skipped).
pub(crate) fn reason_totals(result: &QueryResult) -> Vec<ReasonTotal> {
    let Output::Rows { columns, rows } = &result.output else {
        return Vec::new();
    };
    let index = |name: &str| columns.iter().position(|column| column.name == name);
    let text = |row: &[Value], at: Option<usize>| match at.and_then(|at| row.get(at)) {
        Some(Value::Str(text)) => Some(text.clone()),
        _ => None,
    };
    let number = |row: &[Value], at: Option<usize>| match at.and_then(|at| row.get(at)) {
        Some(Value::Int(number)) => Some(*number),
        Some(Value::Float(number)) => Some(*number as i64),
        _ => None,
    };
    let at = [
        "cluster", "name", "reason", "category", "type", "first", "last", "n",
    ]
    .map(index);
    rows.iter()
        .filter_map(|row| {
            Some(ReasonTotal {
                cluster: text(row, at[0])?,
                node: text(row, at[1])?,
                reason: text(row, at[2]).unwrap_or_default(),
                category: text(row, at[3])
                    .and_then(|name| Category::parse(&name))
                    .unwrap_or(Category::Other),
                warning: text(row, at[4]).is_some_and(|kind| kind == "Warning"),
                first_ms: number(row, at[5])?,
                last_ms: number(row, at[6])?,
                occurrences: number(row, at[7]).unwrap_or_default(),
            })
        })
        .collect()
}

/// One cell of the grid.
pub(crate) struct Cell {
    /// `bad`, `ok` or `unknown`.
    pub state: &'static str,
    pub text: String,
    pub since: String,
    pub title: String,
}

/// One node's line.
pub(crate) struct NodeRow {
    pub name: String,
    pub cluster: String,
    pub url: String,
    pub cells: Vec<Cell>,
    pub bad: bool,
    pub problems: i64,
    pub warnings: String,
    pub last_seen: String,
}

/// A condition's Events on one node: last seen bad and good, first seen bad and good.
#[derive(Default, Clone, Copy)]
struct ConditionSeen {
    bad_first: Option<i64>,
    bad_last: Option<i64>,
    good_first: Option<i64>,
    good_last: Option<i64>,
    occurrences: i64,
}

#[derive(Default)]
struct NodeState {
    cluster: String,
    conditions: BTreeMap<String, ConditionSeen>,
    problems: i64,
    warnings: i64,
    last_ms: i64,
}

fn cell(column: &str, seen: Option<&ConditionSeen>, now_ms: i64) -> Cell {
    let Some(seen) = seen else {
        return Cell {
            state: "unknown",
            text: "—".into(),
            since: String::new(),
            title: format!("{column}: no Event about it in this range"),
        };
    };
    let kubelet = KUBELET_CONDITIONS.contains(&column);
    if !kubelet {
        // A node-problem-detector problem: reported in the range, how often and how lately.
        let last = seen.bad_last.unwrap_or_default();
        return Cell {
            state: "bad",
            text: format!("×{}", format::compact(seen.occurrences)),
            since: format::relative(last, now_ms),
            title: format!(
                "{column}: {} occurrences, first {}, last {}",
                format::count(seen.occurrences),
                format::absolute(seen.bad_first.unwrap_or(last)),
                format::absolute(last)
            ),
        };
    }
    let bad = seen.bad_last.unwrap_or(i64::MIN) > seen.good_last.unwrap_or(i64::MIN);
    // The state began after the last Event of the other state: at its own first Event after
    // that, which is the first of the range or, when it flapped, no earlier than the other's last.
    let (first, last, other_last) = if bad {
        (seen.bad_first, seen.bad_last, seen.good_last)
    } else {
        (seen.good_first, seen.good_last, seen.bad_last)
    };
    let first = first.unwrap_or_default();
    let since = match other_last {
        Some(other) if other > first => other,
        _ => first,
    };
    let label = match (column, bad) {
        ("Ready", true) => "NotReady",
        ("Ready", false) => "Ready",
        (_, true) => "True",
        (_, false) => "False",
    };
    Cell {
        state: if bad { "bad" } else { "ok" },
        text: label.to_string(),
        since: format::span(now_ms - since),
        title: format!(
            "{column}: {label} since about {} (last reported {})",
            format::absolute(since),
            format::absolute(last.unwrap_or(since))
        ),
    }
}

/// The grid: columns (conditions) and rows (nodes, problem nodes first).
pub(crate) fn grid(
    totals: &[ReasonTotal],
    scope: &Scope,
    now_ms: i64,
) -> (Vec<String>, Vec<NodeRow>) {
    let mut nodes: BTreeMap<(String, String), NodeState> = BTreeMap::new();
    let mut extra_columns: Vec<String> = Vec::new();
    for total in totals {
        let node = nodes
            .entry((total.cluster.clone(), total.node.clone()))
            .or_default();
        node.cluster = total.cluster.clone();
        node.last_ms = node.last_ms.max(total.last_ms);
        if total.warning {
            node.warnings += total.occurrences;
        }
        if matches!(
            total.category,
            Category::NodeProblem | Category::NodeNotReady
        ) {
            node.problems += total.occurrences;
        }
        let Some((condition, bad)) = condition_of(&total.reason, total.category) else {
            continue;
        };
        if !KUBELET_CONDITIONS.contains(&condition.as_str()) && !extra_columns.contains(&condition)
        {
            extra_columns.push(condition.clone());
        }
        let seen = node.conditions.entry(condition).or_default();
        let (first, last) = if bad {
            (&mut seen.bad_first, &mut seen.bad_last)
        } else {
            (&mut seen.good_first, &mut seen.good_last)
        };
        *first = Some(first.map_or(total.first_ms, |known| known.min(total.first_ms)));
        *last = Some(last.map_or(total.last_ms, |known| known.max(total.last_ms)));
        seen.occurrences += total.occurrences;
    }
    extra_columns.sort();
    let columns: Vec<String> = KUBELET_CONDITIONS
        .iter()
        .map(|name| name.to_string())
        .chain(extra_columns)
        .collect();
    let mut rows: Vec<NodeRow> = nodes
        .into_iter()
        .map(|((_, name), state)| {
            let cells: Vec<Cell> = columns
                .iter()
                .map(|column| cell(column, state.conditions.get(column), now_ms))
                .collect();
            let bad = cells.iter().any(|cell| cell.state == "bad");
            let url = scope.url("/nodes", &[("name", &name)]);
            NodeRow {
                cluster: state.cluster,
                url,
                cells,
                bad,
                problems: state.problems,
                warnings: format::compact(state.warnings),
                last_seen: format::relative(state.last_ms, now_ms),
                name,
            }
        })
        .collect();
    rows.sort_by(|a, b| {
        b.bad
            .cmp(&a.bad)
            .then(b.problems.cmp(&a.problems))
            .then(a.name.cmp(&b.name))
    });
    (columns, rows)
}

/// A node's condition timeline in the swimlane format (`states`: red spans are bad): one lane
/// per condition, a span per stretch in one state, node-problem-detector problems as bars.
pub(crate) fn condition_timeline(records: &[EventRecord], to_ms: i64) -> Option<String> {
    let mut sorted: Vec<&EventRecord> = records
        .iter()
        .filter(|record| condition_of(&record.reason, record.category).is_some())
        .collect();
    if sorted.is_empty() {
        return None;
    }
    sorted.sort_by_key(|record| (record.time_ms, record.seq));
    let mut lanes: Vec<String> = Vec::new();
    // lane -> (bad, since, reason, message) of the open span
    let mut open: BTreeMap<usize, (bool, i64, String, String)> = BTreeMap::new();
    let mut items = Vec::new();
    let mut from_ms = to_ms;
    for record in sorted {
        let Some((condition, bad)) = condition_of(&record.reason, record.category) else {
            continue;
        };
        let lane = match lanes.iter().position(|known| *known == condition) {
            Some(lane) => lane,
            None => {
                lanes.push(condition.clone());
                lanes.len() - 1
            }
        };
        let first = record.first_ms.min(record.time_ms);
        from_ms = from_ms.min(first);
        if !KUBELET_CONDITIONS.contains(&condition.as_str()) {
            items.push(json!([
                lane,
                first,
                record.time_ms,
                1,
                format!("{} ×{}", record.reason, format::compact(record.count)),
                record.message,
            ]));
            continue;
        }
        match open.get(&lane) {
            Some((open_bad, _, _, _)) if *open_bad == bad => {}
            _ => {
                if let Some((was_bad, since, reason, message)) = open.remove(&lane) {
                    items.push(json!([
                        lane,
                        since,
                        record.time_ms,
                        u8::from(was_bad),
                        reason,
                        message
                    ]));
                }
                open.insert(
                    lane,
                    (
                        bad,
                        record.time_ms,
                        record.reason.clone(),
                        record.message.clone(),
                    ),
                );
            }
        }
    }
    for (lane, (bad, since, reason, message)) in open {
        items.push(json!([
            lane,
            since,
            to_ms.max(since),
            u8::from(bad),
            reason,
            message
        ]));
    }
    Some(
        json!({
            "from": from_ms,
            "to": to_ms,
            "lanes": lanes,
            "items": items,
            "ticks": [],
            "markers": [],
            "states": true,
        })
        .to_string(),
    )
}

/// Node × time heatmap data for `lanes.js`.
fn heatmap_json(result: &QueryResult) -> Option<String> {
    let Output::Series {
        span_ms,
        buckets,
        series,
        ..
    } = &result.output
    else {
        return None;
    };
    let mut values = Vec::new();
    let mut max = 0;
    let mut nodes = Vec::new();
    for line in series {
        let row = nodes.len();
        let mut any = false;
        for (bucket, value) in line.values.iter().enumerate() {
            let count = value.as_f64().unwrap_or_default() as i64;
            if count > 0 {
                any = true;
                max = max.max(count);
                values.push(json!([bucket, row, count]));
            }
        }
        if any {
            nodes.push(line.name.clone());
        }
    }
    if nodes.is_empty() {
        return None;
    }
    Some(
        json!({"nodes": nodes, "buckets": buckets, "bucket": span_ms, "values": values, "max": max})
            .to_string(),
    )
}

/// `text` parsed, narrowed to the scope's cluster as the query page's picker does.
fn query(text: &str, scope: &Scope) -> kec_store::Result<kec_query::Query> {
    let mut ast =
        kec_query::parse(text).map_err(|error| kec_store::Error::InvalidRequest(error.message))?;
    if let Some(cluster) = &scope.cluster {
        ast.search = kec_query::Expr::And {
            clauses: vec![
                kec_query::Expr::Term {
                    field: kec_query::Field::Cluster,
                    value: cluster.clone(),
                },
                ast.search,
            ],
        };
    }
    Ok(ast)
}

fn run(
    store: &EmbeddedStore,
    text: &str,
    scope: &Scope,
    now: i64,
) -> kec_store::Result<QueryResult> {
    store.query(&QueryRequest {
        query: query(text, scope)?,
        from_ms: scope.from_ms,
        to_ms: scope.to_ms,
        now_ms: now,
        max_rows: kec_store::query::MAX_ROWS,
    })
}

struct NodesData {
    totals: Vec<ReasonTotal>,
    rows_limited: bool,
    heatmap: Option<String>,
    chosen: Option<lifecycle::LifecycleData>,
    pod_warnings: Vec<kec_store::AggregateRow>,
    clusters: Vec<String>,
}

fn read(
    store: &EmbeddedStore,
    scope: &Scope,
    name: Option<String>,
    now: i64,
) -> kec_store::Result<NodesData> {
    let bucket_ms = api::bucket_for(scope.span_ms(), HEATMAP_BUCKETS);
    let heatmap_query =
        format!("{PROBLEM_SEARCH} | timechart span={bucket_ms}ms sum(occurrences) by name");
    // The two grouped queries each resolve every node's name from the column dictionary (most
    // of the page's time with thousands of nodes): they run side by side.
    let (grid, heatmap) = std::thread::scope(|threads| {
        let heatmap = threads.spawn(|| run(store, &heatmap_query, scope, now));
        let grid = run(store, GRID_QUERY, scope, now);
        // A panic there is passed on as it would be without the thread.
        let heatmap = heatmap
            .join()
            .unwrap_or_else(|payload| std::panic::resume_unwind(payload));
        (grid, heatmap)
    });
    let (grid, heatmap) = (grid?, heatmap?);
    let (chosen, pod_warnings) = match name {
        Some(name) => {
            let pods = store.aggregate(&AggregateRequest {
                filter: scope
                    .filter()
                    .with(Field::Node, name.clone())
                    .with(Field::Kind, "Pod")
                    .with(Field::Type, "Warning"),
                group_by: Some(Field::Name),
                bucket_ms: None,
                limit: POD_WARNINGS,
            })?;
            let chosen = lifecycle::read(
                store,
                scope,
                &Wanted {
                    namespace: None,
                    kind: Some("Node".into()),
                    name: Some(name),
                    uid: None,
                },
            )?;
            (Some(chosen), pods)
        }
        None => (None, Vec::new()),
    };
    Ok(NodesData {
        totals: reason_totals(&grid),
        rows_limited: grid.rows_limited,
        heatmap: heatmap_json(&heatmap),
        chosen,
        pod_warnings,
        clusters: store.clusters()?.into_iter().map(|c| c.name).collect(),
    })
}

/// A pod with Warnings on the chosen node.
pub(crate) struct PodWarnings {
    pub name: String,
    pub count: String,
    pub title: String,
    pub url: String,
}

#[derive(Template)]
#[template(path = "nodes.html")]
struct NodesPage {
    nav: Vec<NavItem>,
    assets: AssetUrls,
    scope: ScopeView,
    columns: Vec<String>,
    rows: Vec<NodeRow>,
    nodes_total: usize,
    problem_nodes: usize,
    page_label: String,
    previous_url: String,
    next_url: String,
    truncated: bool,
    heatmap: Option<String>,
    name: String,
    timeline: Option<Timeline>,
    conditions: Option<String>,
    conditions_lanes: usize,
    pod_warnings: Vec<PodWarnings>,
    pods_url: String,
    details_url: String,
    problems_url: String,
    error: Option<PageError>,
}

/// `GET /nodes`
pub(crate) async fn page(State(state): State<AppState>, uri: Uri) -> Response {
    let params = Params::from_uri(&uri);
    let now = now_ms();
    let name = params.get("name").map(str::to_string);
    let page_number: usize = params
        .get("page")
        .and_then(|page| page.parse().ok())
        .unwrap_or(1)
        .max(1);
    let scope = Scope::read(&params, now);
    let loaded = match &scope {
        Ok(scope) => {
            let (scope, name) = (scope.clone(), name.clone());
            state
                .with_store(move |store| read(store, &scope, name, now))
                .await
        }
        Err(error) => Err(ApiError::BadRequest(error.to_string())),
    };
    let scope = scope.unwrap_or_else(|_| crate::ui::default_scope(now));
    let hidden = vec![("name".to_string(), name.clone().unwrap_or_default())];
    let mut page = NodesPage {
        nav: view::nav("Nodes"),
        assets: AssetUrls::new(),
        scope: ScopeView::new("/nodes", &scope, &[], hidden.clone(), now),
        columns: Vec::new(),
        rows: Vec::new(),
        nodes_total: 0,
        problem_nodes: 0,
        page_label: String::new(),
        previous_url: String::new(),
        next_url: String::new(),
        truncated: false,
        heatmap: None,
        name: name.clone().unwrap_or_default(),
        timeline: None,
        conditions: None,
        conditions_lanes: 0,
        pod_warnings: Vec::new(),
        pods_url: String::new(),
        details_url: String::new(),
        problems_url: scope
            .details_url(&[("kind", "Node"), ("category", "NodeNotReady,NodeProblem")]),
        error: None,
    };
    let data = match loaded {
        Ok(data) => data,
        Err(error) => {
            let (page_error, status) = PageError::of(&error, &uri.to_string());
            page.error = Some(page_error);
            return render(status, &page, None);
        }
    };
    page.scope = ScopeView::new("/nodes", &scope, &data.clusters, hidden, now);
    let (columns, rows) = grid(&data.totals, &scope, now);
    page.columns = columns;
    page.nodes_total = rows.len();
    page.problem_nodes = rows.iter().filter(|row| row.bad).count();
    let pages = rows.len().div_ceil(NODES_PER_PAGE).max(1);
    let page_number = page_number.min(pages);
    let page_url = |number: usize| {
        let number = number.to_string();
        let mut extra = vec![("page", number.as_str())];
        if let Some(name) = &name {
            extra.insert(0, ("name", name.as_str()));
        }
        scope.url("/nodes", &extra)
    };
    if page_number > 1 {
        page.previous_url = page_url(page_number - 1);
    }
    if page_number < pages {
        page.next_url = page_url(page_number + 1);
    }
    page.page_label = format!("page {page_number} of {pages}");
    page.rows = rows
        .into_iter()
        .skip((page_number - 1) * NODES_PER_PAGE)
        .take(NODES_PER_PAGE)
        .collect();
    page.truncated = data.rows_limited;
    page.heatmap = data.heatmap;
    if let Some(chosen) = data.chosen
        && let Some(object) = &chosen.object
    {
        page.timeline = Some(lanes::timeline(
            &chosen.records,
            scope.from_ms,
            scope.to_ms,
            now,
        ));
        page.conditions = condition_timeline(&chosen.records, scope.to_ms);
        page.conditions_lanes = chosen
            .records
            .iter()
            .filter_map(|record| condition_of(&record.reason, record.category))
            .map(|(condition, _)| condition)
            .collect::<std::collections::BTreeSet<_>>()
            .len();
        page.details_url = scope.details_url(&[("kind", "Node"), ("name", &object.name)]);
        page.pods_url =
            scope.details_url(&[("node", &object.name), ("kind", "Pod"), ("type", "Warning")]);
    }
    page.pod_warnings = data
        .pod_warnings
        .iter()
        .filter_map(|row| {
            let pod = row.group.clone()?;
            Some(PodWarnings {
                url: scope.url("/lifecycle", &[("kind", "Pod"), ("name", &pod)]),
                count: format::compact(row.occurrences),
                title: format!("{} Warning occurrences", format::count(row.occurrences)),
                name: pod,
            })
        })
        .collect();
    render(StatusCode::OK, &page, None)
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use axum::body::Body;
    use axum::http::Request;
    use kec_model::convert::{ParsedLine, parse_value};
    use kec_store::StoreConfig;
    use tower::ServiceExt;

    use super::*;

    const BASE_S: i64 = 1_800_000_000;

    fn minute(m: i64) -> i64 {
        (BASE_S + m * 60) * 1000
    }

    fn event(kind: &str, name: &str, reason: &str, event_type: &str, at: i64) -> EventRecord {
        let time = jiff::Timestamp::from_second(BASE_S + at * 60)
            .map(|ts| ts.to_string())
            .unwrap_or_default();
        let value = serde_json::json!({
            "apiVersion": "v1", "kind": "Event",
            "metadata": {"name": format!("{name}.{reason}{at}"), "namespace": "default", "uid": format!("{name}{reason}{at}"), "resourceVersion": "1"},
            "involvedObject": {"kind": kind, "name": name, "uid": name, "namespace": if kind == "Pod" { "shop" } else { "" }},
            "reason": reason, "message": format!("{name} status is now: {reason}"),
            "type": event_type, "count": 1, "lastTimestamp": time,
            "source": {"component": if reason == "KernelOops" { "kernel-monitor" } else { "kubelet" }, "host": "node-b"},
        });
        match parse_value(value, "prod", 1_000) {
            Ok(ParsedLine::Observation(observation)) => observation.record,
            other => panic!("not an observation: {other:?}"),
        }
    }

    fn node_events() -> Vec<EventRecord> {
        vec![
            event("Node", "node-b", "KernelOops", "Warning", 30),
            event("Node", "node-a", "NodeReady", "Normal", 20),
            event("Node", "node-a", "NodeNotReady", "Normal", 10),
            event("Node", "node-b", "NodeNotReady", "Normal", 5),
            event("Node", "node-c", "NodeHasSufficientMemory", "Normal", 1),
            event("Pod", "web-1", "BackOff", "Warning", 31),
        ]
    }

    fn store_with(records: Vec<EventRecord>) -> (tempfile::TempDir, Arc<EmbeddedStore>) {
        let dir = tempfile::tempdir().expect("tempdir");
        let store = EmbeddedStore::open(StoreConfig::new(dir.path())).expect("store");
        store.ingest(records, minute(40)).expect("ingest");
        store.commit(minute(40)).expect("commit");
        (dir, Arc::new(store))
    }

    fn scope() -> Scope {
        Scope {
            cluster: None,
            from: "now-6h".into(),
            to: None,
            from_ms: minute(40) - 6 * 3_600_000,
            to_ms: minute(40),
        }
    }

    #[test]
    fn the_grid_is_aggregated_in_the_store_and_puts_problem_nodes_first() {
        let (_dir, store) = store_with(node_events());
        let data = read(&store, &scope(), None, minute(40)).expect("read");
        assert_eq!(data.totals.len(), 5, "one line per node and reason");
        let (columns, rows) = grid(&data.totals, &scope(), minute(40));
        assert_eq!(
            columns,
            [
                "Ready",
                "MemoryPressure",
                "DiskPressure",
                "PIDPressure",
                "KernelOops"
            ]
        );
        let names: Vec<&str> = rows.iter().map(|row| row.name.as_str()).collect();
        assert_eq!(names, ["node-b", "node-a", "node-c"]);
        assert_eq!(rows[0].cells[0].state, "bad", "node-b is NotReady");
        assert_eq!(rows[0].cells[0].text, "NotReady");
        assert_eq!(rows[0].cells[0].since, "35m", "NotReady since minute 5");
        assert_eq!(rows[0].cells[4].state, "bad", "kernel problem reported");
        assert_eq!(rows[0].cells[4].text, "×1");
        assert_eq!(rows[1].cells[0].state, "ok", "node-a recovered");
        assert_eq!(rows[1].cells[0].since, "20m", "Ready since minute 20");
        assert_eq!(rows[2].cells[1].state, "ok");
        assert_eq!(rows[2].cells[0].state, "unknown");
        assert_eq!(rows[0].url, "/nodes?name=node-b");
        let heatmap: serde_json::Value =
            serde_json::from_str(&data.heatmap.expect("problem events")).expect("json");
        let nodes = heatmap["nodes"].as_array().expect("nodes");
        assert!(nodes.contains(&"node-b".into()) && nodes.contains(&"node-a".into()));
        assert!(!nodes.contains(&"node-c".into()), "no problem, no row");
    }

    #[test]
    fn a_flapping_condition_counts_from_its_last_change() {
        let totals = vec![
            ReasonTotal {
                cluster: "prod".into(),
                node: "n".into(),
                reason: "NodeNotReady".into(),
                category: Category::NodeNotReady,
                warning: false,
                first_ms: minute(0),
                last_ms: minute(30),
                occurrences: 2,
            },
            ReasonTotal {
                cluster: "prod".into(),
                node: "n".into(),
                reason: "NodeReady".into(),
                category: Category::Other,
                warning: false,
                first_ms: minute(10),
                last_ms: minute(10),
                occurrences: 1,
            },
        ];
        let (_, rows) = grid(&totals, &scope(), minute(40));
        assert_eq!(rows[0].cells[0].state, "bad");
        assert_eq!(
            rows[0].cells[0].since, "30m",
            "NotReady again after minute 10"
        );
    }

    #[test]
    fn the_condition_timeline_has_a_span_per_state() {
        let records = node_events();
        let node_a: Vec<EventRecord> = records
            .into_iter()
            .filter(|record| record.object.name == "node-a")
            .collect();
        let json = condition_timeline(&node_a, minute(40)).expect("conditions");
        let value: serde_json::Value = serde_json::from_str(&json).expect("json");
        assert_eq!(value["lanes"], serde_json::json!(["Ready"]));
        let items = value["items"].as_array().expect("items");
        assert_eq!(items.len(), 2);
        assert_eq!(items[0][1], minute(10));
        assert_eq!(items[0][2], minute(20));
        assert_eq!(items[0][3], 1, "NotReady is bad");
        assert_eq!(items[1][1], minute(20));
        assert_eq!(items[1][2], minute(40));
        assert_eq!(items[1][3], 0);
        assert!(condition_timeline(&[], minute(40)).is_none());
    }

    async fn get(state: &AppState, uri: &str) -> (StatusCode, String) {
        let response = crate::ui::routes()
            .with_state(state.clone())
            .oneshot(
                Request::builder()
                    .uri(uri)
                    .body(Body::empty())
                    .expect("request"),
            )
            .await
            .expect("infallible");
        let status = response.status();
        let bytes = axum::body::to_bytes(response.into_body(), usize::MAX)
            .await
            .expect("body");
        (status, String::from_utf8_lossy(&bytes).into_owned())
    }

    #[tokio::test]
    async fn the_node_page_pages_the_grid_and_adds_its_pods_warnings() {
        let mut records = node_events();
        for index in 0..(NODES_PER_PAGE + 5) {
            records.push(event(
                "Node",
                &format!("quiet-{index:03}"),
                "NodeReady",
                "Normal",
                2,
            ));
        }
        let (_dir, store) = store_with(records);
        let state = AppState::new(store);
        let range = format!(
            "from={}&to={}",
            format::iso(minute(0) - 60_000),
            format::iso(minute(40))
        );
        let (status, body) = get(&state, &format!("/nodes?{range}")).await;
        assert_eq!(status, StatusCode::OK, "{body}");
        assert!(body.contains("of 58 nodes with a problem"), "{body}");
        assert!(body.contains("page 1 of 2"));
        assert!(body.contains("rel=\"next\""));
        assert!(body.contains("data-heatmap="));
        assert!(
            body.find("node-b")
                .is_some_and(|b| body.find("quiet-000").is_some_and(|q| b < q))
        );
        assert!(!body.contains("quiet-054"), "second page");
        let (_, second) = get(&state, &format!("/nodes?{range}&page=2")).await;
        assert!(second.contains("quiet-054") && second.contains("rel=\"prev\""));
        let (status, node) = get(&state, &format!("/nodes?name=node-b&{range}")).await;
        assert_eq!(status, StatusCode::OK, "{node}");
        assert!(node.contains("data-conditions="), "{node}");
        assert!(node.contains("Warnings of its pods"));
        assert!(
            node.contains("/lifecycle?kind=Pod&amp;name=web-1") || node.contains("name=web-1"),
            "{node}"
        );
        let (status, bad) = get(&state, "/nodes?from=yesterday").await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{bad}");
    }
}
