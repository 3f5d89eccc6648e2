//! The web UI: server-rendered HTML (askama templates in `templates/`), htmx for partial
//! updates, ECharts for charts; every file embedded in the binary, no build step.
//!
//! - [`routes`]: the UI's addresses, merged into the app at the root.
//! - `query`: the page state as a short query string (the API's parameters, read the same way).
//! - `view`: records, aggregations and the state turned into what templates print.
//! - `format`: how numbers, times and durations read.
//! - `assets`: the embedded static files (`assets/`), with content types and long caching.
//!
//! Responses are gzipped for clients that accept it by tower-http's `CompressionLayer` on the
//! UI's router (pages repeat their markup, ECharts is 1.1 MB): the API's answers go without.
//!
//! Pages (each one round trip; the URL carries the whole state):
//! - `GET /clusters` (and `/`): every cluster that sends events, its rates and collector status.
//! - `GET /overview`: KPIs, occurrences over time by type, top lists, category tiles.
//! - `GET /events`: the details: search box, filters, facets, histogram, table, live tail.
//! - `GET /events/results`: the results part of the same page for the same query string, which
//!   the page polls and its form replaces (htmx); with a `cursor`, only the next rows. It holds
//!   the table (the first result, alone); `GET /events/facets` and `GET /events/histogram`
//!   are its panels, each loaded after it in one round trip; `GET /events/record` is one
//!   row's fields and raw Event, read when the row opens.
//! - `GET /events/export`: the details result as CSV or NDJSON.
//! - `GET /lifecycle`: one object's Events as swimlanes; the objects with the most trouble.
//! - `GET /nodes`: nodes × conditions, and one node's timeline.
//! - `GET /query`: the query language (search and pipes), as a table or a chart.
//! - `GET|POST /queries`, `GET /queries/{id}`: saved queries.
//!
//! Modules: `scope` (cluster and range of the non-details pages), `details` (the details
//! page's query-language search), `clusters`, `overview`,
//! `facets`, `export`, `lanes` (swimlanes from Events), `lifecycle`, `nodes`, `saved_pages`.

mod assets;
mod clusters;
mod details;
mod export;
mod facets;
mod format;
mod lanes;
mod lifecycle;
mod nodes;
mod overview;
mod ql;
mod query;
mod saved_pages;
mod scope;
mod view;

use std::time::Instant;

use askama::Template;
use axum::Router;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, StatusCode, Uri, header};
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::routing::get;
use kec_model::EventRecord;
use kec_model::time::now_ms;
use kec_store::{
    ClusterInfo, EmbeddedStore, EventPageRequest, EventSearch, Field, Grouping, SearchPage,
};
use tower_http::compression::{CompressionLayer, CompressionLevel};

use crate::AppState;
use crate::api;
use crate::error::ApiError;
use assets::AssetUrls;
use details::DetailsSearch;
use query::UiQuery;
use view::{
    DetailView, EmptyView, ErrorView, FormView, HistogramView, NavItem, RangeView, ResultsView,
    RowView,
};

/// Rows per page when the URL does not say (`limit`); rows fetch their raw Event when opened.
const PAGE_SIZE: usize = 50;

/// The UI's routes (pages above and `/assets/{*path}`), gzipped when the client accepts it.
pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/", get(|| async { Redirect::to("/clusters") }))
        .route("/clusters", get(clusters::page))
        .route("/overview", get(overview::page))
        .route("/events", get(events_page))
        .route("/events/results", get(events_results))
        .route("/events/facets", get(events_facets))
        .route("/events/histogram", get(events_histogram))
        .route("/events/record", get(event_record))
        .route("/events/export", get(export::export))
        .route("/lifecycle", get(lifecycle::page))
        .route("/query", get(ql::page))
        .route("/nodes", get(nodes::page))
        .route("/queries", get(saved_pages::list).post(saved_pages::save))
        .route("/queries/{id}", get(saved_pages::open))
        .route(
            "/queries/{id}/delete",
            axum::routing::post(saved_pages::delete),
        )
        .route(
            "/queries/{id}/duplicate",
            axum::routing::post(saved_pages::duplicate),
        )
        .route("/assets/{*path}", get(assets::serve))
        // A page of rows with their raw Events is ~300 kB, polled every 10 s: the fastest
        // level already shrinks it about tenfold, for little CPU.
        .layer(CompressionLayer::new().quality(CompressionLevel::Fastest))
}

#[derive(Template)]
#[template(path = "events.html")]
struct EventsPage {
    nav: Vec<NavItem>,
    assets: AssetUrls,
    form: FormView,
    results: ResultsView,
}

/// The `#results` section alone.
#[derive(Template)]
#[template(path = "events_results.html")]
struct ResultsPartial {
    results: ResultsView,
}

/// The rows of a next page, and the button for the one after.
#[derive(Template)]
#[template(path = "events_rows.html")]
struct RowsPartial {
    results: ResultsView,
}

/// `GET /events`
async fn events_page(State(state): State<AppState>, uri: Uri) -> Response {
    let started = Instant::now();
    let query = UiQuery::from_uri(&uri);
    let loaded = load(&state, &query, now_ms()).await;
    state.metrics.observe_query("ui_events", started.elapsed());
    let page = EventsPage {
        nav: view::nav("Events"),
        assets: AssetUrls::new(),
        form: FormView::new(&query, &loaded.clusters),
        results: loaded.results,
    };
    render(loaded.status, &page, None)
}

/// Answers one GET of the UI exactly as a browser's request is answered (router, handler,
/// store, template, no compression): the body's status and size. `kec bench ui` times pages
/// through it.
pub async fn get_page(state: &AppState, uri: &str) -> Result<(StatusCode, usize), ApiError> {
    use tower::ServiceExt;

    let request = axum::http::Request::builder()
        .uri(uri)
        .body(axum::body::Body::empty())
        .map_err(|error| ApiError::BadRequest(format!("not a request: {error}")))?;
    let response = crate::app(state.clone())
        .oneshot(request)
        .await
        .map_err(|error| ApiError::Internal(format!("{error:?}")))?;
    let status = response.status();
    let body = axum::body::to_bytes(response.into_body(), usize::MAX)
        .await
        .map_err(|error| ApiError::Internal(format!("reading the page failed: {error}")))?;
    Ok((status, body.len()))
}

/// The element that submits the query form (htmx names it `tag#id` in `HX-Source`).
const QUERY_FORM: &str = "form#query";

/// `GET /events/results`
async fn events_results(State(state): State<AppState>, headers: HeaderMap, uri: Uri) -> Response {
    let started = Instant::now();
    let query = UiQuery::from_uri(&uri);
    let next_page = query.get("cursor").is_some();
    let loaded = load(&state, &query, now_ms()).await;
    state.metrics.observe_query("ui_results", started.elapsed());
    if next_page {
        let rows = RowsPartial {
            results: loaded.results,
        };
        return render(loaded.status, &rows, None);
    }
    // A new query from the form is a new view: the address bar shows its page, and Back
    // returns to the previous one. Polls and other refreshes leave history alone.
    let submitted = headers
        .get("hx-source")
        .is_some_and(|source| source.as_bytes() == QUERY_FORM.as_bytes());
    let push_url = submitted.then(|| query.page_url());
    let partial = ResultsPartial {
        results: loaded.results,
    };
    render(loaded.status, &partial, push_url)
}

/// A page or partial as HTML, never cached without asking; `push_url` for htmx's history.
fn render(status: StatusCode, template: &impl Template, push_url: Option<String>) -> Response {
    match template.render() {
        Ok(html) => {
            let mut response = (status, Html(html)).into_response();
            let headers = response.headers_mut();
            headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
            if let Some(value) = push_url.and_then(|url| HeaderValue::from_str(&url).ok()) {
                headers.insert("hx-push-url", value);
            }
            response
        }
        Err(error) => {
            tracing::error!(%error, "rendering a page failed");
            (
                StatusCode::INTERNAL_SERVER_ERROR,
                "internal error: the page could not be rendered",
            )
                .into_response()
        }
    }
}

/// An error in place of a page's panels: what went wrong and a link to try again.
pub(crate) struct PageError {
    pub status: u16,
    pub message: String,
    pub retry_url: String,
}

impl PageError {
    pub(crate) fn of(error: &ApiError, retry_url: &str) -> (PageError, StatusCode) {
        let status = error.code().1;
        let message = match error {
            ApiError::Store(source) if source.is_client_error() => source.to_string(),
            other => other.to_string(),
        };
        if status.is_server_error() {
            tracing::error!(error = %message, "loading a UI page failed");
        }
        (
            PageError {
                status: status.as_u16(),
                message,
                retry_url: retry_url.to_string(),
            },
            status,
        )
    }
}

/// The default scope (all clusters, the last 6 hours), for pages whose own did not parse.
pub(crate) fn default_scope(now_ms: i64) -> scope::Scope {
    scope::Scope {
        cluster: None,
        from: api::DEFAULT_RANGE.into(),
        to: None,
        from_ms: now_ms - 6 * 3_600_000,
        to_ms: now_ms,
    }
}

/// Cluster names for a picker; none when the store cannot say.
pub(crate) async fn cluster_names(state: &AppState) -> Vec<String> {
    state
        .with_store(|store| store.clusters())
        .await
        .map(|clusters| names(&clusters))
        .unwrap_or_default()
}

/// One row of the events table, with its detail row (what the live tail prepends).
#[derive(Template)]
#[template(path = "tail_row.html")]
struct TailRow {
    row: RowView,
    results: TailColumns,
}

struct TailColumns {
    columns: usize,
}

/// The events table's row for `record`, as HTML (the live tail sends it to the page).
pub(crate) fn tail_row_html(record: &EventRecord) -> String {
    let row = TailRow {
        row: RowView::new(record, &UiQuery::default(), now_ms()),
        results: TailColumns {
            columns: view::TABLE_COLUMNS,
        },
    };
    row.render().unwrap_or_default()
}

/// What the table of a view needs from the store, read in one blocking call.
struct Found {
    page: SearchPage,
    /// The newest match before the range, when the range holds none.
    nearest: Option<EventRecord>,
}

fn find(
    store: &EmbeddedStore,
    request: &EventPageRequest,
    nearest: Option<EventSearch>,
) -> kec_store::Result<Found> {
    let page = store.search_events(request)?;
    let nearest = match nearest {
        Some(search) if page.records.is_empty() => store
            .search_events(&EventPageRequest {
                search,
                limit: 1,
                cursor: None,
                with_totals: false,
            })?
            .records
            .into_iter()
            .next(),
        _ => None,
    };
    Ok(Found { page, nearest })
}

/// A view, loaded: the cluster names for the picker, the results and the HTTP status.
struct Loaded {
    clusters: Vec<String>,
    results: ResultsView,
    status: StatusCode,
}

impl Loaded {
    fn failed(
        mut results: ResultsView,
        clusters: Vec<String>,
        error: &ApiError,
        query: &UiQuery,
    ) -> Loaded {
        let status = error.code().1;
        let (message, excerpt) = match error {
            // The store's words are the clearer ones for a request it refused.
            ApiError::Store(source) if source.is_client_error() => (source.to_string(), None),
            ApiError::Query(parse) => (parse.to_string(), Some(parse.excerpt.clone())),
            other => (other.to_string(), None),
        };
        if status.is_server_error() {
            tracing::error!(error = %message, "loading events for the UI failed");
        }
        results.poll = false;
        results.poll_off = "off until the query works";
        results.error = Some(ErrorView {
            status: status.as_u16(),
            message,
            excerpt,
            retry_url: query.page_url(),
            reset_url: query.without("cursor").page_url(),
        });
        Loaded {
            clusters,
            results,
            status,
        }
    }
}

fn names(clusters: &[ClusterInfo]) -> Vec<String> {
    clusters
        .iter()
        .map(|cluster| cluster.name.clone())
        .collect()
}

/// The query page's address for the view's query box, cluster and range.
fn query_page_url(query: &UiQuery) -> String {
    let mut url = format!("/query?q={}", scope::encode(&query.query_language()));
    for (param, key) in [("c", "cluster"), ("from", "from"), ("to", "to")] {
        if let Some(value) = query.get(key) {
            url.push_str(&format!("&{param}={}", scope::encode(value)));
        }
    }
    url
}

/// Reads the table of the view of `query`: the first page (with exact totals) or the page
/// after its cursor. Never fails: an error becomes the view's message. Facets and the
/// histogram are panels of their own, loaded after it.
async fn load(state: &AppState, query: &UiQuery, now_ms: i64) -> Loaded {
    let mut results = ResultsView {
        page_url: query.page_url(),
        results_url: query.results_url(),
        chips: view::chips(query),
        columns: view::TABLE_COLUMNS,
        ..ResultsView::default()
    };
    let details = match DetailsSearch::of(query, now_ms) {
        Ok(details) => details,
        Err(error) => {
            let clusters = cluster_names(state).await;
            return Loaded::failed(results, clusters, &error, query);
        }
    };
    let range = details.range;
    results.range = Some(RangeView::new(query, range, now_ms));
    results.poll = range.live;
    if !range.live {
        results.poll_off = "off: the range ends at a fixed time";
    }
    let limit = match details.event_query.limit {
        Some(_) => details.event_query.limit(),
        None => PAGE_SIZE,
    };
    let cursor = details.event_query.cursor.clone();
    let first_page = cursor.is_none();
    let nearest = first_page.then(|| EventSearch {
        from_ms: 0,
        to_ms: details.search.from_ms,
        ..details.search.clone()
    });
    let request = EventPageRequest {
        search: details.search,
        limit,
        cursor,
        with_totals: first_page,
    };
    let fetched = state
        .with_store(move |store| {
            let clusters = store.clusters()?;
            let nearest = nearest.filter(|search| !clusters.is_empty() && search.to_ms > 0);
            let found = find(store, &request, nearest);
            Ok((clusters, found))
        })
        .await;
    let (clusters, found) = match fetched {
        Ok(fetched) => fetched,
        Err(error) => return Loaded::failed(results, Vec::new(), &error, query),
    };
    let cluster_names = names(&clusters);
    let found = match found {
        Ok(found) => found,
        Err(error) => return Loaded::failed(results, cluster_names, &error.into(), query),
    };
    results.no_data = clusters.is_empty();
    results.rows = found
        .page
        .records
        .iter()
        .map(|record| RowView::new(record, query, now_ms))
        .collect();
    results.more = found.page.next_cursor.as_deref().map(|cursor| {
        let next = query.at_cursor(cursor);
        (next.results_url(), next.page_url())
    });
    if let (Some(occurrences), Some(records)) =
        (found.page.total_occurrences, found.page.total_records)
    {
        results.totals = Some(view::totals(occurrences, records));
    }
    let base = query.without("cursor").without("limit");
    results.histogram_url = base.url_for("/events/histogram");
    results.facets_url = base.url_for("/events/facets");
    results.export_csv_url = base.with_format_url("/events/export", "csv");
    results.export_ndjson_url = base.with_format_url("/events/export", "ndjson");
    results.saved_query = base.encode();
    results.query_language_url = query_page_url(&base);
    results.pipes_url = details
        .has_pipes
        .then(|| results.query_language_url.clone());
    results.tail_url = base.without("from").without("to").url_for("/api/v1/tail");
    results.export_cap = format::count(export::EXPORT_CAP as i64);
    if results.rows.is_empty() && first_page && !results.no_data {
        // An empty chart and "0 in 0" say nothing the notice does not.
        results.totals = None;
        results.empty = Some(EmptyView::new(query, range, found.nearest.as_ref(), now_ms));
    }
    Loaded {
        clusters: cluster_names,
        results,
        status: StatusCode::OK,
    }
}

/// The live tail's test of a query (its field parameters and its `q` in the query language).
pub(crate) fn tail_matcher(
    event_query: &crate::api::EventQuery,
) -> Result<kec_store::RecordMatcher, ApiError> {
    details::tail_matcher(event_query)
}

/// The facets panel.
#[derive(Template)]
#[template(path = "events_facets.html")]
struct FacetsPartial {
    facets: Vec<facets::FacetView>,
    error: Option<String>,
}

/// The histogram panel.
#[derive(Template)]
#[template(path = "events_histogram.html")]
struct HistogramPartial {
    histogram: Option<HistogramView>,
    error: Option<String>,
}

/// An expanded row's content.
#[derive(Template)]
#[template(path = "event_detail.html")]
struct DetailPartial {
    detail: Option<DetailView>,
    error: Option<String>,
}

/// A panel's error in a sentence (the table shows the full one).
fn panel_error(error: &ApiError) -> String {
    match error {
        ApiError::Store(source) if source.is_client_error() => source.to_string(),
        other => other.to_string(),
    }
}

/// `GET /events/facets`: exact counts per value of each facet field over the whole result.
async fn events_facets(State(state): State<AppState>, uri: Uri) -> Response {
    let started = Instant::now();
    let query = UiQuery::from_uri(&uri).without("cursor");
    let fields = facets::fields_of(&query);
    let facet_fields: Vec<Field> = fields.iter().map(|(field, _)| *field).collect();
    let read = match DetailsSearch::of(&query, now_ms()) {
        Ok(details) => {
            state
                .with_store(move |store| {
                    store.facet_events(&details.search, &facet_fields, facets::FACET_VALUES)
                })
                .await
        }
        Err(error) => Err(error),
    };
    state.metrics.observe_query("ui_facets", started.elapsed());
    let partial = match read {
        Ok(rows) => FacetsPartial {
            facets: facets::views(&query, &fields, &rows),
            error: None,
        },
        Err(error) => FacetsPartial {
            facets: Vec::new(),
            error: Some(panel_error(&error)),
        },
    };
    render(StatusCode::OK, &partial, None)
}

/// `GET /events/histogram`: occurrences per time bucket and type over the whole result.
async fn events_histogram(State(state): State<AppState>, uri: Uri) -> Response {
    let started = Instant::now();
    let query = UiQuery::from_uri(&uri).without("cursor");
    let read = match DetailsSearch::of(&query, now_ms()) {
        Ok(details) => {
            let range = details.range;
            let bucket_ms = api::bucket_for(range.span_ms(), view::MAX_BUCKETS);
            let grouping = Grouping {
                group_by: Some(Field::Type),
                bucket_ms: Some(bucket_ms),
                limit: 0,
            };
            state
                .with_store(move |store| store.group_events(&details.search, &[grouping]))
                .await
                .map(|mut rows| {
                    HistogramView::new(&rows.pop().unwrap_or_default(), range, bucket_ms)
                })
        }
        Err(error) => Err(error),
    };
    state
        .metrics
        .observe_query("ui_histogram", started.elapsed());
    let partial = match read {
        Ok(histogram) => HistogramPartial {
            histogram: Some(histogram),
            error: None,
        },
        Err(error) => HistogramPartial {
            histogram: None,
            error: Some(panel_error(&error)),
        },
    };
    render(StatusCode::OK, &partial, None)
}

/// `GET /events/record?t=<time_ms>&seq=<seq>&<view>`: one record's fields and raw Event, for
/// its expanded row (rows do not carry them).
async fn event_record(State(state): State<AppState>, uri: Uri) -> Response {
    let params = scope::Params::from_uri(&uri);
    let query = UiQuery::from_uri(&uri);
    let time_ms = params.get("t").and_then(|t| t.parse::<i64>().ok());
    let seq = params.get("seq").and_then(|seq| seq.parse::<u64>().ok());
    let (Some(time_ms), Some(seq)) = (time_ms, seq) else {
        let partial = DetailPartial {
            detail: None,
            error: Some("t (epoch milliseconds) and seq (a number) name the record".into()),
        };
        return render(StatusCode::BAD_REQUEST, &partial, None);
    };
    let found = state
        .with_store(move |store| store.record_at(time_ms, seq))
        .await;
    let (status, partial) = match found {
        Ok(Some(record)) => (
            StatusCode::OK,
            DetailPartial {
                detail: Some(DetailView::new(&record, &query, now_ms())),
                error: None,
            },
        ),
        Ok(None) => (
            StatusCode::NOT_FOUND,
            DetailPartial {
                detail: None,
                error: Some("this record is no longer stored (retention dropped its day)".into()),
            },
        ),
        Err(error) => (
            error.code().1,
            DetailPartial {
                detail: None,
                error: Some(panel_error(&error)),
            },
        ),
    };
    render(status, &partial, None)
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use axum::body::Body;
    use axum::http::Request;
    use kec_model::convert::{ParsedLine, parse_value};
    use kec_store::StoreConfig;
    use serde_json::json;
    use tower::ServiceExt;

    use super::*;

    const MINUTE_MS: i64 = 60_000;

    fn rfc3339(ms: i64) -> String {
        format::iso(ms)
    }

    /// A core/v1 Event as the API server serves it.
    fn event(
        uid: &str,
        object: &str,
        reason: &str,
        event_type: &str,
        message: &str,
        count: i64,
        time_ms: Option<i64>,
    ) -> serde_json::Value {
        let (kind, name) = object.split_once('/').expect("kind/name");
        let mut value = json!({
            "apiVersion": "v1",
            "kind": "Event",
            "metadata": {"name": format!("{name}.{uid}"), "namespace": "shop", "uid": uid, "resourceVersion": "10"},
            "involvedObject": {"kind": kind, "namespace": "shop", "name": name, "uid": format!("obj-{uid}"), "apiVersion": "v1"},
            "reason": reason,
            "message": message,
            "type": event_type,
            "count": count,
            "source": {"component": "kubelet", "host": "node-a"},
        });
        if let Some(time_ms) = time_ms {
            value["firstTimestamp"] = json!(rfc3339(time_ms - 10 * MINUTE_MS));
            value["lastTimestamp"] = json!(rfc3339(time_ms));
        }
        value
    }

    fn store_with(events: Vec<serde_json::Value>) -> (tempfile::TempDir, AppState) {
        let dir = tempfile::tempdir().expect("tempdir");
        let store = EmbeddedStore::open(StoreConfig::new(dir.path())).expect("store opens");
        let now = now_ms();
        let records: Vec<EventRecord> = events
            .into_iter()
            .map(
                |value| match parse_value(value, "prod", now).expect("an Event") {
                    ParsedLine::Observation(observation) => observation.record,
                    ParsedLine::Ignored(what) => panic!("ignored: {what}"),
                },
            )
            .collect();
        if !records.is_empty() {
            let outcome = store.ingest(records, now).expect("ingest");
            assert!(outcome.rejected.is_empty(), "{:?}", outcome.rejected);
            store.commit(now).expect("commit");
        }
        (dir, AppState::new(Arc::new(store)))
    }

    fn sample_store() -> (tempfile::TempDir, AppState) {
        let now = now_ms();
        store_with(vec![
            event(
                "u1",
                "Pod/web-1",
                "BackOff",
                "Warning",
                "Back-off restarting failed container web in pod web-1",
                5,
                Some(now - 20 * MINUTE_MS),
            ),
            event(
                "u2",
                "Pod/api-7",
                "Pulling",
                "Normal",
                "Pulling image \"registry.example/api:1.2\"",
                1,
                Some(now - 40 * MINUTE_MS),
            ),
            event(
                "u3",
                "Pod/cron-3",
                "Scheduled",
                "Normal",
                "Successfully assigned shop/cron-3 to node-a",
                1,
                None,
            ),
        ])
    }

    async fn get(
        state: &AppState,
        uri: &str,
        headers: &[(&str, &str)],
    ) -> (StatusCode, HeaderMap, String) {
        let (status, headers, bytes) = get_bytes(state, uri, headers).await;
        (
            status,
            headers,
            String::from_utf8_lossy(&bytes).into_owned(),
        )
    }

    /// The response to a GET through the UI's router, its body as sent (maybe gzipped).
    async fn get_bytes(
        state: &AppState,
        uri: &str,
        headers: &[(&str, &str)],
    ) -> (StatusCode, HeaderMap, axum::body::Bytes) {
        let mut request = Request::builder().uri(uri);
        for (name, value) in headers {
            request = request.header(*name, *value);
        }
        let response = routes()
            .with_state(state.clone())
            .oneshot(request.body(Body::empty()).expect("request"))
            .await
            .expect("infallible");
        let status = response.status();
        let headers = response.headers().clone();
        let bytes = axum::body::to_bytes(response.into_body(), usize::MAX)
            .await
            .expect("body");
        (status, headers, bytes)
    }

    #[tokio::test]
    async fn root_redirects_to_clusters() {
        let (_dir, state) = store_with(Vec::new());
        let (status, headers, _) = get(&state, "/", &[]).await;
        assert!(status.is_redirection(), "{status}");
        assert_eq!(headers[header::LOCATION], "/clusters");
    }

    #[tokio::test]
    async fn events_page_shows_search_box_and_records() {
        let (_dir, state) = sample_store();
        let (status, headers, body) = get(&state, "/events", &[]).await;
        assert_eq!(status, StatusCode::OK, "{body}");
        assert!(
            headers[header::CONTENT_TYPE]
                .to_str()
                .unwrap_or_default()
                .starts_with("text/html")
        );
        assert!(
            body.contains(r#"<input id="q" name="q" type="search""#),
            "no search box"
        );
        assert!(body.contains("BackOff"));
        assert!(body.contains("Pulling"));
        assert!(body.contains("▲"), "warnings carry the triangle");
        assert!(
            body.contains(r#"<option value="prod">prod</option>"#),
            "cluster picker"
        );
        // The table is the first result; the histogram and facets are panels loaded after it.
        assert!(
            !body.contains("data-histogram="),
            "the histogram is its own panel"
        );
        assert!(
            body.contains(r#"hx-get="/events/histogram""#),
            "histogram panel"
        );
        assert!(body.contains(r#"hx-get="/events/facets""#), "facets panel");
        let (status, _, histogram) = get(&state, "/events/histogram", &[]).await;
        assert_eq!(status, StatusCode::OK, "{histogram}");
        assert!(histogram.contains("data-histogram="), "histogram data");
        assert!(
            histogram.contains("7 Normal") || histogram.contains("Warning"),
            "{histogram}"
        );
        let totals = body.find("class=\"totals\"").map(|at| &body[at..at + 80]);
        assert!(
            body.contains("7 occurrences in 3 events"),
            "totals footer: {totals:?}"
        );
        // The Event without any time is shown as such, never as a made-up age.
        assert!(body.contains(">unknown</span>"));
        // Click-to-filter links; the raw Event is read when a row opens, not shipped with it.
        assert!(
            body.contains("/events?q=reason:BackOff"),
            "a reason adds its term"
        );
        assert!(
            body.contains(r#"data-exclude="/events?q=-reason:BackOff""#),
            "Alt-click excludes it"
        );
        assert!(
            body.contains("/events?q=kind:Pod%20name:web-1%20namespace:shop"),
            "an object adds its three terms"
        );
        assert!(!body.contains("&#34;involvedObject&#34;"));
        let at = body
            .find("data-detail-url=\"")
            .expect("rows name their detail")
            + 17;
        let end = at + body[at..].find('"').expect("closed attribute");
        let detail_url = body[at..end].replace("&#38;", "&");
        assert!(detail_url.starts_with("/events/record?"), "{detail_url}");
        let (status, _, detail) = get(&state, &detail_url, &[]).await;
        assert_eq!(status, StatusCode::OK, "{detail}");
        assert!(detail.contains("&#34;involvedObject&#34;"), "{detail}");
        assert!(detail.contains("Copy JSON"));
        assert!(detail.contains("Filter out"), "fields filter for and out");
        let (status, _, missing) = get(&state, "/events/record?t=1&seq=999999", &[]).await;
        assert_eq!(status, StatusCode::NOT_FOUND, "{missing}");
        let (status, _, _) = get(&state, "/events/record?t=x", &[]).await;
        assert_eq!(status, StatusCode::BAD_REQUEST);
        // Pages not built yet are not links.
        assert!(
            body.contains(r#"aria-disabled="true" title="Alerts: not built yet">Alerts</span>"#)
        );
        assert!(!body.contains("src=\"http"), "no external scripts");
    }

    #[tokio::test]
    async fn results_partial_filters_by_text_and_type() {
        let (_dir, state) = sample_store();
        let (status, _, body) = get(&state, "/events/results?q=registry.example", &[]).await;
        assert_eq!(status, StatusCode::OK, "{body}");
        assert!(
            body.starts_with("<section id=\"results\""),
            "a partial, not a page"
        );
        assert!(!body.contains("<html"));
        assert!(
            body.contains("Pulling") && !body.contains("BackOff"),
            "{body}"
        );

        let (status, _, body) = get(&state, "/events/results?type=Warning", &[]).await;
        assert_eq!(status, StatusCode::OK);
        assert!(
            body.contains("BackOff") && !body.contains("Pulling"),
            "{body}"
        );
        assert!(body.contains("5 occurrences in 1 event"), "{body}");
        assert!(
            body.contains("every 10s"),
            "the partial keeps polling itself"
        );
    }

    #[tokio::test]
    async fn submitting_the_form_pushes_the_page_url() {
        let (_dir, state) = sample_store();
        let uri = "/events/results?q=&type=Warning&namespace=&from=now-1h&to=";
        let (_, headers, _) = get(
            &state,
            uri,
            &[("hx-request", "true"), ("hx-source", "form#query")],
        )
        .await;
        assert_eq!(headers["hx-push-url"], "/events?type=Warning&from=now-1h");
        let (_, headers, _) = get(
            &state,
            uri,
            &[("hx-request", "true"), ("hx-source", "section#results")],
        )
        .await;
        assert!(
            headers.get("hx-push-url").is_none(),
            "polls leave history alone"
        );
    }

    #[tokio::test]
    async fn pages_and_assets_are_gzipped_when_accepted() {
        use std::io::Read;

        let (_dir, state) = sample_store();
        for uri in [assets::url("app.js"), "/events".to_string()] {
            let (status, plain_headers, plain) = get_bytes(&state, &uri, &[]).await;
            assert_eq!(status, StatusCode::OK, "{uri}");
            assert!(
                plain_headers.get(header::CONTENT_ENCODING).is_none(),
                "{uri}: not asked for gzip"
            );

            let (status, headers, gzipped) =
                get_bytes(&state, &uri, &[("accept-encoding", "gzip, deflate, br")]).await;
            assert_eq!(status, StatusCode::OK, "{uri}");
            assert_eq!(headers[header::CONTENT_ENCODING], "gzip", "{uri}");
            assert_eq!(
                headers[header::CONTENT_TYPE],
                plain_headers[header::CONTENT_TYPE],
                "{uri}"
            );
            assert_eq!(headers[header::VARY], "accept-encoding", "{uri}");
            assert!(gzipped.len() < plain.len(), "{uri}: compressed");
            let mut body = Vec::new();
            flate2::read::GzDecoder::new(&gzipped[..])
                .read_to_end(&mut body)
                .expect("valid gzip");
            if uri.starts_with("/assets/") {
                assert_eq!(body, plain, "{uri}: the same file");
            } else {
                assert!(String::from_utf8_lossy(&body).contains("BackOff"));
            }
        }
    }

    #[tokio::test]
    async fn load_more_pages_through_rows() {
        let (_dir, state) = sample_store();
        let (_, _, body) = get(&state, "/events/results?limit=1", &[]).await;
        let start = body
            .find("/events/results?limit=1&#38;cursor=")
            .unwrap_or_else(|| panic!("a next page: {body}"));
        let end = start + body[start..].find('"').expect("end of url");
        let next = body[start..end].replace("&#38;", "&");
        let (status, _, rows) = get(&state, &next, &[]).await;
        assert_eq!(status, StatusCode::OK, "{rows}");
        assert!(
            rows.trim_start().starts_with("<tbody class=\"rows\">"),
            "{rows}"
        );
        // Newest first: the Event without a time was received now, then BackOff (20 min ago).
        assert!(body.contains("Scheduled"));
        assert!(
            rows.contains("BackOff") && !rows.contains("Scheduled"),
            "second newest: {rows}"
        );
        assert!(!rows.contains("data-histogram"));
    }

    #[tokio::test]
    async fn empty_store_explains_how_to_get_data() {
        let (_dir, state) = store_with(Vec::new());
        let (status, _, body) = get(&state, "/events", &[]).await;
        assert_eq!(status, StatusCode::OK);
        assert!(body.contains("No events yet"));
        assert!(body.contains("kec demo"));
        assert!(body.contains("/api/v1/clusters/{cluster}/events"));
    }

    #[tokio::test]
    async fn filters_excluding_everything_offer_a_way_out() {
        let (_dir, state) = sample_store();
        let (status, _, body) = get(&state, "/events?reason=Nope&from=now-5m", &[]).await;
        assert_eq!(status, StatusCode::OK);
        assert!(body.contains("No events match"), "{body}");
        assert!(
            body.contains(r#"href="/events?from=now-5m">Clear filters"#),
            "{body}"
        );
        assert!(body.contains("Widen to the last 24 hours"));

        // A range that misses a match points at it.
        let (_, _, body) = get(&state, "/events/results?reason=BackOff&from=now-5m", &[]).await;
        assert!(body.contains("The nearest earlier match"), "{body}");
    }

    #[tokio::test]
    async fn bad_input_renders_a_message() {
        let (_dir, state) = sample_store();
        let (status, _, body) = get(&state, "/events?cursor=bogus", &[]).await;
        assert_eq!(status, StatusCode::BAD_REQUEST);
        assert!(body.contains("not one this server issued"), "{body}");
        assert!(
            body.contains("<form id=\"query\""),
            "the page around it still renders"
        );

        let (status, _, body) = get(&state, "/events/results?cursor=bogus", &[]).await;
        assert_eq!(status, StatusCode::BAD_REQUEST);
        assert!(body.contains("not one this server issued"), "{body}");

        let (status, _, body) = get(&state, "/events/results?from=yesterday", &[]).await;
        assert_eq!(status, StatusCode::BAD_REQUEST);
        assert!(body.contains("is not a time"), "{body}");

        let (status, _, body) = get(&state, "/events?limit=lots", &[]).await;
        assert_eq!(status, StatusCode::BAD_REQUEST);
        assert!(body.contains("limit"), "{body}");
    }

    #[tokio::test]
    async fn assets_are_served_with_types_and_caching() {
        let (_dir, state) = store_with(Vec::new());
        for (path, content_type) in [
            ("/assets/app.css", "text/css; charset=utf-8"),
            ("/assets/app.js", "text/javascript; charset=utf-8"),
            (
                "/assets/vendor/htmx/htmx.min.js",
                "text/javascript; charset=utf-8",
            ),
            (
                "/assets/vendor/echarts/echarts.min.js",
                "text/javascript; charset=utf-8",
            ),
            (
                "/assets/vendor/echarts/LICENSE",
                "text/plain; charset=utf-8",
            ),
            ("/assets/favicon.svg", "image/svg+xml"),
        ] {
            let (status, headers, body) = get(&state, path, &[]).await;
            assert_eq!(status, StatusCode::OK, "{path}");
            assert_eq!(headers[header::CONTENT_TYPE], content_type, "{path}");
            assert!(
                headers[header::CACHE_CONTROL]
                    .to_str()
                    .unwrap_or_default()
                    .contains("max-age=31536000")
            );
            assert!(!body.is_empty());
        }
        let (status, headers, _) = get(&state, "/assets/app.js", &[]).await;
        assert_eq!(status, StatusCode::OK);
        let etag = headers[header::ETAG]
            .to_str()
            .unwrap_or_default()
            .to_string();
        let (status, _, _) = get(&state, "/assets/app.js", &[("if-none-match", &etag)]).await;
        assert_eq!(status, StatusCode::NOT_MODIFIED);
        let (status, _, _) = get(&state, "/assets/../Cargo.toml", &[]).await;
        assert_eq!(status, StatusCode::NOT_FOUND);
        let (status, _, _) = get(&state, "/assets/nope.js", &[]).await;
        assert_eq!(status, StatusCode::NOT_FOUND);
    }

    #[tokio::test]
    async fn page_links_assets_by_version() {
        let (_dir, state) = store_with(Vec::new());
        let (_, _, body) = get(&state, "/events", &[]).await;
        for path in [
            "app.css",
            "app.js",
            "vendor/htmx/htmx.min.js",
            "vendor/echarts/echarts.min.js",
        ] {
            assert!(body.contains(&assets::url(path)), "{path}");
        }
    }

    #[tokio::test]
    async fn clusters_page_lists_clusters_with_status_and_links() {
        let (_dir, state) = sample_store();
        let (status, _, body) = get(&state, "/clusters", &[]).await;
        assert_eq!(status, StatusCode::OK, "{body}");
        assert!(body.contains(r#"data-cluster="prod""#), "{body}");
        assert!(body.contains("receiving"), "just ingested");
        assert!(body.contains(r#"href="/overview?c=prod""#));
        assert!(body.contains("All clusters"));
        assert!(body.contains("data-sparkline=\"["));
        let (_, _, empty) = get(&store_with(Vec::new()).1, "/clusters", &[]).await;
        assert!(empty.contains("No events yet") && empty.contains("kec demo"));
    }

    #[tokio::test]
    async fn overview_counts_and_links_to_details() {
        let (_dir, state) = sample_store();
        let (status, _, body) = get(&state, "/overview?c=prod&from=now-6h", &[]).await;
        assert_eq!(status, StatusCode::OK, "{body}");
        assert!(body.contains("Overview of prod"));
        // 5 Warning occurrences (BackOff ×5) of 7 in all; nothing in the period before.
        assert!(body.contains("Warning occurrences"), "{body}");
        assert!(
            body.contains(r#"<span class="kpi-value num">5</span>"#),
            "{body}"
        );
        assert!(
            body.contains(r#"<span class="kpi-value num">7</span>"#),
            "{body}"
        );
        assert!(
            body.contains("new"),
            "change against an empty previous period"
        );
        assert!(
            body.contains("/events?cluster=prod&#38;category=PodCrash&#38;from=now-6h"),
            "{body}"
        );
        assert!(body.contains("data-histogram="));
        assert!(
            body.contains("BackOff") && body.contains("web-1"),
            "top lists"
        );
        let (status, _, body) = get(&state, "/overview?from=soon", &[]).await;
        assert_eq!(status, StatusCode::BAD_REQUEST);
        assert!(body.contains("is not a time"), "{body}");
    }

    #[tokio::test]
    async fn details_facets_count_the_whole_result_and_exclude() {
        let (_dir, state) = sample_store();
        let (status, _, body) = get(&state, "/events/facets", &[]).await;
        assert_eq!(status, StatusCode::OK, "{body}");
        assert!(body.contains(r#"data-facet="reason""#), "{body}");
        assert!(
            body.contains(r#"data-facet="cluster""#),
            "all clusters: a cluster facet"
        );
        assert!(
            body.contains("/events?q=reason:BackOff"),
            "include adds a term"
        );
        assert!(
            body.contains("/events?q=-reason:BackOff"),
            "exclude adds -field:value"
        );
        let (_, _, one_cluster) = get(&state, "/events/facets?cluster=prod", &[]).await;
        assert!(!one_cluster.contains(r#"data-facet="cluster""#));
        // The facet's exclude link, followed: the query language filters the table.
        let (status, _, body) = get(&state, "/events/results?q=-reason%3ABackOff", &[]).await;
        assert_eq!(status, StatusCode::OK, "{body}");
        assert!(body.contains("Pulling") && body.contains("Scheduled"));
        assert!(body.contains("2 occurrences in 2 events"), "{body}");
        assert!(
            body.contains("/events/export?q=-reason:BackOff&#38;format=csv"),
            "{body}"
        );
        let (_, _, facets) = get(&state, "/events/facets?q=-reason%3ABackOff", &[]).await;
        assert!(
            !facets.contains(">BackOff<"),
            "facets count the same result: {facets}"
        );
        // Field parameters (older links) still filter, together with the box.
        let (_, _, body) = get(&state, "/events/results?reason=!BackOff&q=assigned", &[]).await;
        assert!(body.contains("1 occurrence in 1 event"), "{body}");
    }

    #[tokio::test]
    async fn the_details_box_speaks_the_query_language() {
        let (_dir, state) = sample_store();
        let (status, _, body) = get(
            &state,
            "/events/results?q=type%3AWarning%20namspace%3Ashop",
            &[],
        )
        .await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
        assert!(body.contains("line 1, column 14"), "{body}");
        assert!(body.contains("class=\"query-excerpt mono\""), "{body}");
        let (status, _, body) = get(
            &state,
            "/events/results?q=reason%3A(BackOff%20OR%20Pulling)%20-kind%3ANode",
            &[],
        )
        .await;
        assert_eq!(status, StatusCode::OK, "{body}");
        assert!(body.contains("BackOff") && body.contains("Pulling"));
        assert!(!body.contains(">Scheduled<"), "{body}");
        let (status, _, body) = get(
            &state,
            "/events/results?q=type%3AWarning%20%7C%20stats%20count%20by%20reason",
            &[],
        )
        .await;
        assert_eq!(status, StatusCode::OK, "{body}");
        assert!(body.contains("Open in Query"), "{body}");
        assert!(
            body.contains("/query?q=type:Warning%20%7C%20stats"),
            "{body}"
        );
    }

    #[tokio::test]
    async fn export_writes_csv_and_ndjson_of_the_result() {
        let (_dir, state) = sample_store();
        let (status, headers, body) =
            get(&state, "/events/export?type=Warning&format=csv", &[]).await;
        assert_eq!(status, StatusCode::OK, "{body}");
        assert_eq!(headers[header::CONTENT_TYPE], "text/csv; charset=utf-8");
        let lines: Vec<&str> = body.lines().collect();
        assert_eq!(lines.len(), 2, "{body}");
        assert!(lines[0].starts_with("last_seen,first_seen,cluster,type,reason"));
        assert!(
            lines[1].contains(",Warning,BackOff,PodCrash,Pod,shop,web-1,"),
            "{body}"
        );
        let (_, _, body) = get(&state, "/events/export?format=ndjson", &[]).await;
        let values: Vec<serde_json::Value> = body
            .lines()
            .map(|line| serde_json::from_str(line).expect("json line"))
            .collect();
        assert_eq!(values.len(), 3);
        assert!(
            values
                .iter()
                .any(|value| value["event"]["reason"] == "Pulling")
        );
        let (status, _, body) = get(&state, "/events/export?format=xml", &[]).await;
        assert_eq!(status, StatusCode::BAD_REQUEST);
        assert!(body.contains("csv or ndjson"), "{body}");
    }

    #[tokio::test]
    async fn lifecycle_finds_by_prefix_and_draws_lanes() {
        let (_dir, state) = sample_store();
        let (status, _, body) = get(&state, "/lifecycle", &[]).await;
        assert_eq!(status, StatusCode::OK, "{body}");
        assert!(body.contains("Pick an object"));
        assert!(
            body.contains(r#"href="/lifecycle?name=web-1""#),
            "most trouble: {body}"
        );
        let (status, _, body) = get(&state, "/lifecycle?name=web", &[]).await;
        assert_eq!(status, StatusCode::OK, "{body}");
        assert!(body.contains("data-timeline="), "{body}");
        assert!(body.contains("shop/web-1"));
        assert!(body.contains("restarts <strong>5</strong>"), "{body}");
        let (_, _, body) = get(&state, "/lifecycle?name=zzz", &[]).await;
        assert!(body.contains("No object named"), "{body}");
    }

    #[tokio::test]
    async fn nodes_page_without_node_events_says_so() {
        let (_dir, state) = sample_store();
        let (status, _, body) = get(&state, "/nodes", &[]).await;
        assert_eq!(status, StatusCode::OK, "{body}");
        assert!(body.contains("No Node events in this range"), "{body}");
    }

    #[tokio::test]
    async fn saved_queries_save_list_open_and_delete() {
        let (_dir, state) = sample_store();
        let post = |uri: &str, body: &str| {
            Request::builder()
                .method("POST")
                .uri(uri)
                .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
                .body(Body::from(body.to_string()))
                .expect("request")
        };
        let response = routes()
            .with_state(state.clone())
            .oneshot(post(
                "/queries",
                "name=Back-offs&query=reason%3DBackOff%26bogus%3D1&visualisation=table",
            ))
            .await
            .expect("infallible");
        assert!(response.status().is_redirection());
        let location = response.headers()[header::LOCATION]
            .to_str()
            .unwrap_or_default()
            .to_string();
        let (_, _, list) = get(&state, "/queries", &[]).await;
        assert!(
            list.contains("Back-offs") && list.contains("reason=BackOff"),
            "{list}"
        );
        assert!(!list.contains("bogus"), "unknown parameters are not kept");
        let (status, headers, _) = get(&state, &location, &[]).await;
        assert!(status.is_redirection());
        assert_eq!(headers[header::LOCATION], "/events?reason=BackOff");
        let response = routes()
            .with_state(state.clone())
            .oneshot(post(
                "/queries",
                "name=Chart&query=type%3DWarning&visualisation=chart",
            ))
            .await
            .expect("infallible");
        let chart = response.headers()[header::LOCATION]
            .to_str()
            .unwrap_or_default()
            .to_string();
        let (status, _, body) = get(&state, &chart, &[]).await;
        assert_eq!(status, StatusCode::OK, "{body}");
        assert!(
            body.contains("data-histogram=") && body.contains("BackOff"),
            "{body}"
        );
        let response = routes()
            .with_state(state.clone())
            .oneshot(post(&format!("{location}/delete"), ""))
            .await
            .expect("infallible");
        assert!(response.status().is_redirection());
        let (_, _, list) = get(&state, "/queries", &[]).await;
        assert!(!list.contains("Back-offs"));
        let (status, _, body) = get(&state, "/queries/999", &[]).await;
        assert_eq!(status, StatusCode::NOT_FOUND);
        assert!(body.contains("no saved query 999"), "{body}");
        let response = routes()
            .with_state(state.clone())
            .oneshot(post("/queries", "name=&query=type%3DWarning"))
            .await
            .expect("infallible");
        assert_eq!(response.status(), StatusCode::BAD_REQUEST);
    }

    #[tokio::test]
    async fn ingest_publishes_to_the_tail_with_the_row_html() {
        let (_dir, state) = sample_store();
        let mut receiver = state.tail.subscribe();
        let line = event(
            "u9",
            "Pod/web-9",
            "OOMKilling",
            "Warning",
            "Memory cgroup out of memory",
            1,
            Some(now_ms()),
        );
        let response = crate::app(state.clone())
            .oneshot(
                Request::builder()
                    .method("POST")
                    .uri("/api/v1/clusters/prod/events")
                    .body(Body::from(line.to_string()))
                    .expect("request"),
            )
            .await
            .expect("infallible");
        assert_eq!(response.status(), StatusCode::OK);
        let record = receiver.try_recv().expect("published");
        assert_eq!(record.reason, "OOMKilling");
        let html = tail_row_html(&record);
        assert!(html.contains(r#"<tr class="ev warning""#), "{html}");
        assert!(html.contains("web-9"));
    }

    #[tokio::test]
    async fn query_page_runs_the_language_and_points_at_errors() {
        let (_dir, state) = sample_store();
        let (status, _, body) = get(&state, "/query", &[]).await;
        assert_eq!(status, StatusCode::OK, "{body}");
        assert!(body.contains("Ask anything"));
        let (status, _, body) = get(
            &state,
            "/query?q=type%3AWarning%20%7C%20stats%20count%20by%20reason&c=prod",
            &[],
        )
        .await;
        assert_eq!(status, StatusCode::OK, "{body}");
        assert!(body.contains("<td class=\"mono\">BackOff</td>"), "{body}");
        let (status, _, body) = get(&state, "/query?q=reason%3ABackOff%20%7C%20bogus", &[]).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
        assert!(body.contains("line 1, column"), "{body}");
        assert!(body.contains("^"), "a caret under the spot: {body}");
        let (_, _, details) = get(&state, "/events?reason=BackOff", &[]).await;
        assert!(
            details.contains("/query?q=reason:%22BackOff%22"),
            "{details}"
        );
    }
}
