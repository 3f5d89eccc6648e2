//! `GET /query?q=..&from=..&to=..`: the query language in the UI. The box takes a search and
//! pipes (`type:Warning | stats count by reason`); the result shows as a table, or for
//! `timechart` as a chart with its table. A query that does not parse shows the message with
//! the offending line and column marked. The details page links here with its filters.

use askama::Template;
use axum::extract::State;
use axum::http::{StatusCode, Uri};
use axum::response::Response;
use kec_model::time::now_ms;
use kec_store::{Output, QueryRequest};
use serde_json::json;

use crate::AppState;
use crate::error::ApiError;
use crate::ui::assets::AssetUrls;
use crate::ui::format;
use crate::ui::scope::{Params, Scope, ScopeView};
use crate::ui::view::{self, NavItem};
use crate::ui::{PageError, render};

/// Rows a result shows.
const MAX_ROWS: usize = 500;

/// Example queries offered when the box is empty.
const EXAMPLES: [&str; 4] = [
    "type:Warning | stats count by reason | sort -count | head 10",
    "reason:BackOff namespace:shop",
    "type:Warning | timechart span=10m count by namespace",
    "kind:Node | top reason",
];

/// A parse error, placed.
pub(crate) struct QueryError {
    pub message: String,
    pub line: usize,
    pub column: usize,
    pub excerpt: String,
}

/// What ran and what came back.
pub(crate) struct ResultView {
    pub canonical: String,
    pub columns: Vec<String>,
    pub rows: Vec<Vec<String>>,
    /// Chart data for a series result: `{buckets, series: [{name, values}]}`.
    pub series_json: Option<String>,
    pub notes: Vec<String>,
}

#[derive(Template)]
#[template(path = "ql.html")]
struct QueryPage {
    nav: Vec<NavItem>,
    assets: AssetUrls,
    scope: ScopeView,
    q: String,
    examples: Vec<(String, String)>,
    query_error: Option<QueryError>,
    result: Option<ResultView>,
    error: Option<PageError>,
}

fn result_view(result: &kec_store::QueryResult) -> ResultView {
    let (columns, rows) = result.table();
    let shown_rows = rows
        .iter()
        .take(MAX_ROWS)
        .map(|row| {
            row.iter()
                .zip(&columns)
                .map(|(value, column)| value.display(column.kind))
                .collect()
        })
        .collect();
    let series_json = match &result.output {
        Output::Series {
            buckets, series, ..
        } => Some(
            json!({
                "buckets": buckets,
                "series": series.iter().map(|line| json!({
                    "name": line.name,
                    "values": line.values.iter().map(|value| value.as_f64()).collect::<Vec<_>>(),
                })).collect::<Vec<_>>(),
            })
            .to_string(),
        ),
        Output::Rows { .. } => None,
    };
    let mut notes = Vec::new();
    if let Some(matched) = result.matched {
        notes.push(format!(
            "{} records matched",
            format::count(i64::try_from(matched).unwrap_or(i64::MAX))
        ));
    }
    if result.scan_limited {
        notes.push(format!(
            "only the newest {} records were read: narrow the search or the range for an exact result",
            format::count(i64::try_from(result.scanned).unwrap_or(i64::MAX))
        ));
    }
    if result.rows_limited || rows.len() > MAX_ROWS {
        notes.push(format!(
            "the first {MAX_ROWS} rows are shown: add `| head N` or narrow the query"
        ));
    }
    ResultView {
        canonical: result.query.clone(),
        columns: columns.into_iter().map(|column| column.name).collect(),
        rows: shown_rows,
        series_json,
        notes,
    }
}

/// `GET /query`
pub(crate) async fn page(State(state): State<AppState>, uri: Uri) -> Response {
    let params = Params::from_uri(&uri);
    let now = now_ms();
    let q = params.get("q").unwrap_or_default().to_string();
    let names = crate::ui::cluster_names(&state).await;
    let scope = Scope::read(&params, now);
    let hidden = vec![("q".to_string(), q.clone())];
    let mut page = QueryPage {
        nav: view::nav("Query"),
        assets: AssetUrls::new(),
        scope: ScopeView::new(
            "/query",
            scope.as_ref().unwrap_or(&crate::ui::default_scope(now)),
            &names,
            hidden,
            now,
        ),
        q: q.clone(),
        examples: Vec::new(),
        query_error: None,
        result: None,
        error: None,
    };
    let scope = match scope {
        Ok(scope) => scope,
        Err(error) => {
            let (page_error, status) = PageError::of(&error, "/query");
            page.error = Some(page_error);
            return render(status, &page, None);
        }
    };
    page.examples = EXAMPLES
        .iter()
        .map(|example| (example.to_string(), scope.url("/query", &[("q", example)])))
        .collect();
    if q.trim().is_empty() {
        return render(StatusCode::OK, &page, None);
    }
    let mut ast = match kec_query::parse(&q) {
        Ok(ast) => ast,
        Err(error) => {
            page.query_error = Some(QueryError {
                message: error.message,
                line: error.line,
                column: error.column,
                excerpt: error.excerpt,
            });
            return render(StatusCode::BAD_REQUEST, &page, None);
        }
    };
    // The cluster picker narrows the search as a `cluster:` term would.
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
    let request = QueryRequest {
        query: ast,
        from_ms: scope.from_ms,
        to_ms: scope.to_ms,
        now_ms: now,
        max_rows: MAX_ROWS + 1,
    };
    let started = std::time::Instant::now();
    let ran = state.with_store(move |store| store.query(&request)).await;
    state.metrics.observe_query("ui_query", started.elapsed());
    match ran {
        Ok(result) => {
            page.result = Some(result_view(&result));
            render(StatusCode::OK, &page, None)
        }
        Err(error) => {
            let status = error.code().1;
            if let ApiError::Store(source) = &error
                && source.is_client_error()
            {
                page.query_error = Some(QueryError {
                    message: source.to_string(),
                    line: 0,
                    column: 0,
                    excerpt: String::new(),
                });
            } else {
                page.error = Some(PageError::of(&error, &uri.to_string()).0);
            }
            render(status, &page, None)
        }
    }
}
