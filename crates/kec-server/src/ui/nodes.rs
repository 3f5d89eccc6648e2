//! `GET /nodes?c=..&name=..`: nodes with problems. A nodes × conditions grid inferred from the
//! Events about each Node (kubelet's condition transitions, the node lifecycle controller,
//! node-problem-detector's problem events), problem nodes first; for the chosen node, its
//! timeline (the lifecycle swimlanes with condition and problem lanes).

use std::collections::BTreeMap;

use askama::Template;
use axum::extract::State;
use axum::http::{StatusCode, Uri};
use axum::response::Response;
use kec_model::time::now_ms;
use kec_model::{Category, EventRecord};
use kec_store::{EmbeddedStore, Field, SearchRequest};

use crate::AppState;
use crate::error::ApiError;
use crate::ui::assets::AssetUrls;
use crate::ui::format;
use crate::ui::lanes::{self, Timeline};
use crate::ui::lifecycle::{self, Wanted};
use crate::ui::scope::{Params, Scope, ScopeView};
use crate::ui::view::{self, NavItem};
use crate::ui::{PageError, render};

/// Most Node observations read for the grid (newest first); the page says when it is reached.
const MAX_NODE_RECORDS: usize = 10_000;
/// Kubelet's conditions, always shown.
const KUBELET_CONDITIONS: [&str; 4] = ["Ready", "MemoryPressure", "DiskPressure", "PIDPressure"];

/// What an Event says about a condition: (condition, bad).
pub(crate) fn condition_of(record: &EventRecord) -> Option<(String, bool)> {
    let known = match record.reason.as_str() {
        "NodeReady" => ("Ready", false),
        "NodeNotReady" => ("Ready", true),
        "NodeHasInsufficientMemory" => ("MemoryPressure", true),
        "NodeHasSufficientMemory" => ("MemoryPressure", false),
        "NodeHasDiskPressure" => ("DiskPressure", true),
        "NodeHasNoDiskPressure" => ("DiskPressure", false),
        "NodeHasInsufficientPID" => ("PIDPressure", true),
        "NodeHasSufficientPID" => ("PIDPressure", false),
        _ if record.category == Category::NodeProblem => {
            return Some((record.reason.clone(), true));
        }
        _ => return None,
    };
    Some((known.0.to_string(), known.1))
}

/// One cell of the grid.
pub(crate) struct Cell {
    /// `bad`, `ok` or `unknown`.
    pub state: &'static str,
    pub text: String,
    pub title: String,
}

/// One node's line.
pub(crate) struct NodeRow {
    pub name: String,
    pub cluster: String,
    pub url: String,
    pub cells: Vec<Cell>,
    pub problems: i64,
    pub warnings: String,
    pub last_seen: String,
}

struct NodeState {
    cluster: String,
    /// condition -> (bad, since_ms, last_ms)
    conditions: BTreeMap<String, (bool, i64, i64)>,
    problems: i64,
    warnings: i64,
    last_ms: i64,
}

/// The grid: columns (conditions) and rows (nodes, problem nodes first), from Node records
/// given newest first.
pub(crate) fn grid(
    records: &[EventRecord],
    scope: &Scope,
    now_ms: i64,
) -> (Vec<String>, Vec<NodeRow>) {
    let mut nodes: BTreeMap<(String, String), NodeState> = BTreeMap::new();
    let mut extra_columns: Vec<String> = Vec::new();
    // Oldest first, so each transition updates the state in order.
    for record in records.iter().rev() {
        let node = nodes
            .entry((record.cluster.clone(), record.object.name.clone()))
            .or_insert_with(|| NodeState {
                cluster: record.cluster.clone(),
                conditions: BTreeMap::new(),
                problems: 0,
                warnings: 0,
                last_ms: record.time_ms,
            });
        node.last_ms = node.last_ms.max(record.time_ms);
        if record.is_warning() {
            node.warnings += record.occurrences;
        }
        if matches!(
            record.category,
            Category::NodeProblem | Category::NodeNotReady
        ) {
            node.problems += record.occurrences;
        }
        if let Some((condition, bad)) = condition_of(record) {
            if !KUBELET_CONDITIONS.contains(&condition.as_str())
                && !extra_columns.contains(&condition)
            {
                extra_columns.push(condition.clone());
            }
            let entry =
                node.conditions
                    .entry(condition)
                    .or_insert((bad, record.time_ms, record.time_ms));
            if entry.0 != bad {
                *entry = (bad, record.time_ms, record.time_ms);
            } else {
                entry.2 = record.time_ms;
            }
        }
    }
    extra_columns.sort();
    let columns: Vec<String> = KUBELET_CONDITIONS
        .iter()
        .map(|name| name.to_string())
        .chain(extra_columns)
        .collect();
    let mut rows: Vec<(bool, NodeRow)> = nodes
        .into_iter()
        .map(|((_, name), state)| {
            let cells: Vec<Cell> = columns
                .iter()
                .map(|column| match state.conditions.get(column) {
                    Some((bad, since, last)) => {
                        let label = match (column.as_str(), bad) {
                            ("Ready", true) => "NotReady".to_string(),
                            ("Ready", false) => "Ready".to_string(),
                            (_, true) if KUBELET_CONDITIONS.contains(&column.as_str()) => {
                                "True".to_string()
                            }
                            (_, true) => "problem".to_string(),
                            (_, false) => "OK".to_string(),
                        };
                        Cell {
                            state: if *bad { "bad" } else { "ok" },
                            text: format!("{label} {}", format::span(now_ms - since)),
                            title: format!(
                                "{column}: {label} since {} (last reported {})",
                                format::absolute(*since),
                                format::absolute(*last)
                            ),
                        }
                    }
                    None => Cell {
                        state: "unknown",
                        text: "—".into(),
                        title: format!("{column}: no Event about it in this range"),
                    },
                })
                .collect();
            let bad = cells.iter().any(|cell| cell.state == "bad");
            let url = scope.url("/nodes", &[("name", &name)]);
            (
                bad,
                NodeRow {
                    cluster: state.cluster,
                    url,
                    cells,
                    problems: state.problems,
                    warnings: format::compact(state.warnings),
                    last_seen: format::relative(state.last_ms, now_ms),
                    name,
                },
            )
        })
        .collect();
    rows.sort_by(|(a_bad, a), (b_bad, b)| {
        b_bad
            .cmp(a_bad)
            .then(b.problems.cmp(&a.problems))
            .then(a.name.cmp(&b.name))
    });
    (columns, rows.into_iter().map(|(_, row)| row).collect())
}

struct NodesData {
    records: Vec<EventRecord>,
    truncated: bool,
    chosen: Option<lifecycle::LifecycleData>,
    clusters: Vec<String>,
}

fn read(
    store: &EmbeddedStore,
    scope: &Scope,
    name: Option<String>,
) -> kec_store::Result<NodesData> {
    let filter = scope.filter().with(Field::Kind, "Node");
    let page = store.search(&SearchRequest::newest(filter, MAX_NODE_RECORDS))?;
    let chosen = match name {
        Some(name) => Some(lifecycle::read(
            store,
            scope,
            &Wanted {
                namespace: None,
                kind: Some("Node".into()),
                name: Some(name),
                uid: None,
            },
        )?),
        None => None,
    };
    Ok(NodesData {
        truncated: page.next_cursor.is_some(),
        records: page.records,
        chosen,
        clusters: store.clusters()?.into_iter().map(|c| c.name).collect(),
    })
}

#[derive(Template)]
#[template(path = "nodes.html")]
struct NodesPage {
    nav: Vec<NavItem>,
    assets: AssetUrls,
    scope: ScopeView,
    columns: Vec<String>,
    rows: Vec<NodeRow>,
    truncated: bool,
    name: String,
    timeline: Option<Timeline>,
    details_url: String,
    problems_url: String,
    error: Option<PageError>,
}

/// `GET /nodes`
pub(crate) async fn page(State(state): State<AppState>, uri: Uri) -> Response {
    let params = Params::from_uri(&uri);
    let now = now_ms();
    let name = params.get("name").map(str::to_string);
    let scope = Scope::read(&params, now);
    let loaded = match &scope {
        Ok(scope) => {
            let (scope, name) = (scope.clone(), name.clone());
            state
                .with_store(move |store| read(store, &scope, name))
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
        truncated: false,
        name: name.clone().unwrap_or_default(),
        timeline: None,
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
    let (columns, rows) = grid(&data.records, &scope, now);
    page.columns = columns;
    page.rows = rows;
    page.truncated = data.truncated;
    if let Some(chosen) = data.chosen
        && let Some(object) = &chosen.object
    {
        page.timeline = Some(lanes::timeline(
            &chosen.records,
            scope.from_ms,
            scope.to_ms,
            now,
        ));
        page.details_url = scope.details_url(&[("kind", "Node"), ("name", &object.name)]);
    }
    render(StatusCode::OK, &page, None)
}

#[cfg(test)]
mod tests {
    use kec_model::convert::{ParsedLine, parse_value};

    use super::*;

    fn node_event(node: &str, reason: &str, event_type: &str, minute: i64) -> EventRecord {
        let time = jiff::Timestamp::from_second(1_800_000_000 + minute * 60)
            .map(|ts| ts.to_string())
            .unwrap_or_default();
        let value = serde_json::json!({
            "apiVersion": "v1", "kind": "Event",
            "metadata": {"name": format!("{node}.{reason}{minute}"), "namespace": "default", "uid": format!("{node}{reason}{minute}"), "resourceVersion": "1"},
            "involvedObject": {"kind": "Node", "name": node, "uid": node},
            "reason": reason, "message": format!("Node {node} status is now: {reason}"),
            "type": event_type, "count": 1, "lastTimestamp": time,
            "source": {"component": if reason == "KernelOops" { "kernel-monitor" } else { "kubelet" }},
        });
        match parse_value(value, "prod", 1_000) {
            Ok(ParsedLine::Observation(observation)) => observation.record,
            other => panic!("not an observation: {other:?}"),
        }
    }

    #[test]
    fn the_grid_follows_transitions_and_puts_problem_nodes_first() {
        // Newest first, as the store returns them.
        let records = vec![
            node_event("node-b", "KernelOops", "Warning", 30),
            node_event("node-a", "NodeReady", "Normal", 20),
            node_event("node-a", "NodeNotReady", "Normal", 10),
            node_event("node-b", "NodeNotReady", "Normal", 5),
            node_event("node-c", "NodeHasSufficientMemory", "Normal", 1),
        ];
        let now = (1_800_000_000 + 40 * 60) * 1000;
        let scope = Scope {
            cluster: None,
            from: "now-6h".into(),
            to: None,
            from_ms: now - 6 * 3_600_000,
            to_ms: now,
        };
        let (columns, rows) = grid(&records, &scope, now);
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
        assert!(
            rows[0].cells[0].text.starts_with("NotReady 35m"),
            "{}",
            rows[0].cells[0].text
        );
        assert_eq!(rows[0].cells[4].state, "bad", "kernel problem reported");
        assert_eq!(rows[1].cells[0].state, "ok", "node-a recovered");
        assert_eq!(rows[2].cells[1].state, "ok");
        assert_eq!(rows[2].cells[0].state, "unknown");
        assert_eq!(rows[0].url, "/nodes?name=node-b");
    }
}
