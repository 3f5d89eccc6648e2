//! Saved queries in the UI: `GET /queries` lists them (name, query, owner, visualisation, last
//! run), `POST /queries` saves the details view it is sent from, `GET /queries/{id}` opens one
//! as it was saved (the details table, or a chart of occurrences over time by type and its top
//! reasons; `?as=table|chart` overrides) and notes the run, `POST /queries/{id}/duplicate`
//! copies it, `POST /queries/{id}/delete` deletes.
//!
//! The owner is the user an authenticating proxy in front of kec names in a request header
//! ([`OWNER_HEADERS`]); kec has no accounts of its own, so without a proxy it stays empty.

use askama::Template;
use axum::Form;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode, Uri};
use axum::response::{IntoResponse, Redirect, Response};
use kec_model::time::now_ms;
use kec_store::{Field, Grouping};
use serde::Deserialize;

use crate::AppState;
use crate::api;
use crate::error::ApiError;
use crate::saved::{SavedQuery, Visualisation};
use crate::ui::assets::AssetUrls;
use crate::ui::details::{self, DetailsSearch};
use crate::ui::format;
use crate::ui::query::UiQuery;
use crate::ui::scope::Params;
use crate::ui::view::{self, HistogramView, NavItem};
use crate::ui::{PageError, render};

/// Request headers that name the user, as authenticating proxies set them (oauth2-proxy,
/// Apache and nginx auth modules), in the order they are trusted.
pub(crate) const OWNER_HEADERS: [&str; 4] = [
    "x-forwarded-user",
    "x-auth-request-user",
    "x-remote-user",
    "remote-user",
];

/// The user the proxy names, or empty.
pub(crate) fn owner_of(headers: &HeaderMap) -> String {
    OWNER_HEADERS
        .iter()
        .filter_map(|name| headers.get(*name))
        .filter_map(|value| value.to_str().ok())
        .map(str::trim)
        .find(|value| !value.is_empty())
        .map(|value| value.chars().take(120).collect())
        .unwrap_or_default()
}

/// A saved query as the list shows it.
pub(crate) struct SavedView {
    pub id: i64,
    pub name: String,
    pub query: String,
    pub visualisation: &'static str,
    pub open_url: String,
    pub chart_url: String,
    pub details_url: String,
    pub created: String,
    pub owner: String,
    pub last_run: String,
    pub last_run_title: String,
}

fn view_of(saved: SavedQuery) -> SavedView {
    let query = UiQuery::from_pairs(parse_pairs(&saved.query));
    let now = now_ms();
    SavedView {
        id: saved.id,
        open_url: format!("/queries/{}", saved.id),
        chart_url: format!("/queries/{}?as=chart", saved.id),
        details_url: query.page_url(),
        owner: if saved.owner.is_empty() {
            "—".into()
        } else {
            saved.owner.clone()
        },
        last_run: saved
            .last_run_ms
            .map(|ms| format::relative(ms, now))
            .unwrap_or_else(|| "never".into()),
        last_run_title: saved
            .last_run_ms
            .map(format::absolute)
            .unwrap_or_else(|| "not opened since it was saved".into()),
        query: if saved.query.is_empty() {
            "(everything)".into()
        } else {
            saved.query
        },
        visualisation: saved.visualisation.as_str(),
        created: format::absolute(saved.created_ms),
        name: saved.name,
    }
}

fn parse_pairs(query: &str) -> Vec<(String, String)> {
    let uri: axum::http::Uri = match format!("/?{query}").parse() {
        Ok(uri) => uri,
        Err(_) => return Vec::new(),
    };
    axum::extract::Query::<Vec<(String, String)>>::try_from_uri(&uri)
        .map(|axum::extract::Query(pairs)| pairs)
        .unwrap_or_default()
}

#[derive(Template)]
#[template(path = "queries.html")]
struct QueriesPage {
    nav: Vec<NavItem>,
    assets: AssetUrls,
    saved: Vec<SavedView>,
    error: Option<PageError>,
}

/// `GET /queries`
pub(crate) async fn list(State(state): State<AppState>) -> Response {
    let listed = state.blocking(|state| state.saved.list()).await;
    list_page(listed, None)
}

fn list_page(
    listed: Result<Vec<SavedQuery>, ApiError>,
    error: Option<(PageError, StatusCode)>,
) -> Response {
    let (saved, error) = match (listed, error) {
        (Ok(saved), error) => (saved, error),
        (Err(list_error), _) => (Vec::new(), Some(PageError::of(&list_error, "/queries"))),
    };
    let status = error
        .as_ref()
        .map(|(_, status)| *status)
        .unwrap_or(StatusCode::OK);
    let page = QueriesPage {
        nav: view::nav("Queries"),
        assets: AssetUrls::new(),
        saved: saved.into_iter().map(view_of).collect(),
        error: error.map(|(error, _)| error),
    };
    render(status, &page, None)
}

/// The save form.
#[derive(Debug, Deserialize)]
pub(crate) struct SaveForm {
    pub name: String,
    #[serde(default)]
    pub query: String,
    #[serde(default)]
    pub visualisation: String,
}

/// `POST /queries`
pub(crate) async fn save(
    State(state): State<AppState>,
    headers: HeaderMap,
    Form(form): Form<SaveForm>,
) -> Response {
    let owner = owner_of(&headers);
    let visualisation = Visualisation::parse(&form.visualisation).unwrap_or(Visualisation::Table);
    // Only what the details page understands is kept, in its canonical order.
    let query = UiQuery::from_pairs(parse_pairs(&form.query))
        .without("cursor")
        .encode();
    let name = form.name.clone();
    let saved = state
        .blocking(move |state| {
            state
                .saved
                .save(&name, &query, visualisation, &owner, now_ms())
        })
        .await;
    match saved {
        Ok(id) => Redirect::to(&format!("/queries/{id}")).into_response(),
        Err(error) => {
            let listed = state.blocking(|state| state.saved.list()).await;
            list_page(listed, Some(PageError::of(&error, "/queries")))
        }
    }
}

/// `POST /queries/{id}/duplicate`: a copy named `<name> (copy)`, owned by whoever copies it.
pub(crate) async fn duplicate(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(id): Path<i64>,
) -> Response {
    let owner = owner_of(&headers);
    let copied = state
        .blocking(move |state| state.saved.duplicate(id, &owner, now_ms()))
        .await;
    let error = match copied {
        Ok(Some(_)) => return Redirect::to("/queries").into_response(),
        Ok(None) => ApiError::NotFound(format!(
            "there is no saved query {id}; it may have been deleted"
        )),
        Err(error) => error,
    };
    let listed = state.blocking(|state| state.saved.list()).await;
    list_page(listed, Some(PageError::of(&error, "/queries")))
}

/// `POST /queries/{id}/delete`
pub(crate) async fn delete(State(state): State<AppState>, Path(id): Path<i64>) -> Response {
    match state.blocking(move |state| state.saved.delete(id)).await {
        Ok(_) => Redirect::to("/queries").into_response(),
        Err(error) => {
            let listed = state.blocking(|state| state.saved.list()).await;
            list_page(listed, Some(PageError::of(&error, "/queries")))
        }
    }
}

/// A top-reason bar of the chart view.
pub(crate) struct ReasonBar {
    pub reason: String,
    pub count: String,
    pub share: i64,
    pub url: String,
}

#[derive(Template)]
#[template(path = "saved_chart.html")]
struct ChartPage {
    nav: Vec<NavItem>,
    assets: AssetUrls,
    saved: SavedView,
    histogram: Option<HistogramView>,
    reasons: Vec<ReasonBar>,
    totals: String,
    error: Option<PageError>,
}

/// `GET /queries/{id}`
pub(crate) async fn open(State(state): State<AppState>, Path(id): Path<i64>, uri: Uri) -> Response {
    // `?as=table|chart` overrides how it was saved to be shown.
    let shown_as = Params::from_uri(&uri)
        .get("as")
        .and_then(Visualisation::parse);
    let found = state
        .blocking(move |state| {
            let found = state.saved.get(id)?;
            if found.is_some() {
                state.saved.mark_run(id, now_ms())?;
            }
            Ok(found)
        })
        .await;
    let saved = match found {
        Ok(Some(saved)) => saved,
        Ok(None) => {
            let error = ApiError::NotFound(format!(
                "there is no saved query {id}; it may have been deleted"
            ));
            let listed = state.blocking(|state| state.saved.list()).await;
            return list_page(listed, Some(PageError::of(&error, "/queries")));
        }
        Err(error) => return list_page(Err(error), None),
    };
    let view = view_of(saved.clone());
    if shown_as.unwrap_or(saved.visualisation) == Visualisation::Table {
        return Redirect::to(&view.details_url).into_response();
    }
    let query = UiQuery::from_pairs(parse_pairs(&saved.query));
    let mut page = ChartPage {
        nav: view::nav("Queries"),
        assets: AssetUrls::new(),
        saved: view,
        histogram: None,
        reasons: Vec::new(),
        totals: String::new(),
        error: None,
    };
    // The same search the details page runs: the query box in the query language and the
    // field parameters of the saved view.
    let details = match DetailsSearch::of(&query, now_ms()) {
        Ok(details) => details,
        Err(error) => {
            let (page_error, status) = PageError::of(&error, &format!("/queries/{id}"));
            page.error = Some(page_error);
            return render(status, &page, None);
        }
    };
    let range = details.range;
    let bucket_ms = api::bucket_for(range.span_ms(), view::MAX_BUCKETS);
    let groupings = [
        Grouping {
            group_by: Some(Field::Type),
            bucket_ms: Some(bucket_ms),
            limit: 0,
        },
        Grouping {
            group_by: Some(Field::Reason),
            bucket_ms: None,
            limit: 10,
        },
    ];
    let loaded = state
        .with_store(move |store| {
            let mut rows = store.group_events(&details.search, &groupings)?.into_iter();
            let histogram = rows.next().unwrap_or_default();
            let reasons = rows.next().unwrap_or_default();
            Ok((histogram, reasons))
        })
        .await;
    match loaded {
        Ok((histogram, mut reasons)) => {
            let occurrences: i64 = histogram.iter().map(|row| row.occurrences).sum();
            let records: u64 = histogram.iter().map(|row| row.records).sum();
            page.totals = view::totals(occurrences, records);
            page.histogram = Some(HistogramView::new(&histogram, range, bucket_ms));
            reasons.sort_by_key(|row| std::cmp::Reverse(row.occurrences));
            let largest = reasons
                .first()
                .map(|row| row.occurrences)
                .unwrap_or(1)
                .max(1);
            page.reasons = reasons
                .into_iter()
                .map(|row| {
                    let reason = row.group.unwrap_or_default();
                    ReasonBar {
                        count: format::compact(row.occurrences),
                        share: (row.occurrences * 100 / largest).clamp(1, 100),
                        url: details::with_clause(
                            &query,
                            &details::term_clause(Field::Reason, &reason),
                        )
                        .page_url(),
                        reason,
                    }
                })
                .collect();
            render(StatusCode::OK, &page, None)
        }
        Err(error) => {
            let (page_error, status) = PageError::of(&error, &format!("/queries/{id}"));
            page.error = Some(page_error);
            render(status, &page, None)
        }
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use axum::body::Body;
    use axum::http::{Request, header};
    use kec_store::{EmbeddedStore, StoreConfig};
    use tower::ServiceExt;

    use super::*;

    async fn send(state: &AppState, request: Request<Body>) -> (StatusCode, HeaderMap, String) {
        let response = crate::ui::routes()
            .with_state(state.clone())
            .oneshot(request)
            .await
            .expect("infallible");
        let (status, headers) = (response.status(), response.headers().clone());
        let bytes = axum::body::to_bytes(response.into_body(), usize::MAX)
            .await
            .expect("body");
        (
            status,
            headers,
            String::from_utf8_lossy(&bytes).into_owned(),
        )
    }

    fn post(uri: &str, body: &str, user: Option<&str>) -> Request<Body> {
        let mut request = Request::builder()
            .method("POST")
            .uri(uri)
            .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded");
        if let Some(user) = user {
            request = request.header("X-Forwarded-User", user);
        }
        request.body(Body::from(body.to_string())).expect("request")
    }

    fn get(uri: &str) -> Request<Body> {
        Request::builder()
            .uri(uri)
            .body(Body::empty())
            .expect("request")
    }

    #[test]
    fn the_owner_comes_from_the_proxy_header() {
        let mut headers = HeaderMap::new();
        assert_eq!(owner_of(&headers), "");
        headers.insert("remote-user", "bo".parse().expect("value"));
        assert_eq!(owner_of(&headers), "bo");
        headers.insert("x-forwarded-user", " ana ".parse().expect("value"));
        assert_eq!(owner_of(&headers), "ana", "trusted first, trimmed");
    }

    #[tokio::test]
    async fn saved_queries_show_owner_and_last_run_duplicate_and_open_as_a_chart() {
        let dir = tempfile::tempdir().expect("tempdir");
        let store = EmbeddedStore::open(StoreConfig::new(dir.path())).expect("store");
        let state = AppState::new(Arc::new(store));
        let (status, headers, _) = send(
            &state,
            post(
                "/queries",
                "name=Back-offs&query=reason%3DBackOff&visualisation=table",
                Some("ana"),
            ),
        )
        .await;
        assert!(status.is_redirection());
        let location = headers[header::LOCATION]
            .to_str()
            .unwrap_or_default()
            .to_string();
        let (_, _, list) = send(&state, get("/queries")).await;
        assert!(list.contains("<td>ana</td>"), "{list}");
        assert!(list.contains(">never<"), "not run yet: {list}");
        assert!(list.contains("?as=chart") && list.contains("/duplicate"));

        // Opened as saved (the details table), then as a chart: both count as runs.
        let (status, headers, _) = send(&state, get(&location)).await;
        assert!(status.is_redirection());
        assert_eq!(headers[header::LOCATION], "/events?reason=BackOff");
        let (status, _, chart) = send(&state, get(&format!("{location}?as=chart"))).await;
        assert_eq!(status, StatusCode::OK, "{chart}");
        assert!(
            chart.contains("Top reasons") && chart.contains("saved by ana"),
            "{chart}"
        );
        let (_, _, list) = send(&state, get("/queries")).await;
        assert!(!list.contains(">never<"), "last run noted: {list}");

        let id = location.trim_start_matches("/queries/");
        let (status, _, _) = send(
            &state,
            post(&format!("/queries/{id}/duplicate"), "", Some("bo")),
        )
        .await;
        assert!(status.is_redirection());
        let (_, _, list) = send(&state, get("/queries")).await;
        assert!(
            list.contains("Back-offs (copy)") && list.contains("<td>bo</td>"),
            "{list}"
        );
        let (status, _, missing) = send(&state, post("/queries/999/duplicate", "", None)).await;
        assert_eq!(status, StatusCode::NOT_FOUND, "{missing}");
        assert!(missing.contains("no saved query 999"));
    }

    fn record(reason: &str, uid: &str, count: i64, now: i64) -> kec_model::EventRecord {
        let value = serde_json::json!({
            "apiVersion": "v1", "kind": "Event",
            "metadata": {"name": uid, "namespace": "shop", "uid": uid, "resourceVersion": "1"},
            "involvedObject": {"kind": "Pod", "namespace": "shop", "name": "web-1"},
            "reason": reason, "message": "m", "type": "Warning", "count": count,
            "lastTimestamp": kec_model::time::format_ms(now - 60_000).expect("time"),
        });
        match kec_model::convert::parse_value(value, "prod", now) {
            Ok(kec_model::convert::ParsedLine::Observation(observation)) => observation.record,
            other => panic!("not an observation: {other:?}"),
        }
    }

    #[tokio::test]
    async fn a_saved_chart_runs_its_query_box_as_the_query_language() {
        let dir = tempfile::tempdir().expect("tempdir");
        let store = EmbeddedStore::open(StoreConfig::new(dir.path())).expect("store");
        let now = now_ms();
        let records = vec![
            record("BackOff", "u1", 3, now),
            record("Pulled", "u2", 5, now),
        ];
        store.ingest(records, now).expect("ingest");
        store.commit(now).expect("commit");
        let state = AppState::new(Arc::new(store));
        let (status, headers, _) = send(
            &state,
            post(
                "/queries",
                "name=Back-offs&query=q%3Dreason%253ABackOff%26from%3Dnow-1h&visualisation=chart",
                None,
            ),
        )
        .await;
        assert!(status.is_redirection());
        let location = headers[header::LOCATION]
            .to_str()
            .unwrap_or_default()
            .to_string();
        let (status, _, chart) = send(&state, get(&location)).await;
        assert_eq!(status, StatusCode::OK, "{chart}");
        // Only the BackOff Event (3 occurrences), not the Pulled one (5).
        assert!(chart.contains("3 occurrences in 1 event"), "{chart}");
        assert!(!chart.contains(">Pulled<"), "{chart}");
    }
}
