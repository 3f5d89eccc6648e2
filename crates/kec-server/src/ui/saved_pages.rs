//! Saved queries in the UI: `GET /queries` lists them, `POST /queries` saves the details view
//! it is sent from, `GET /queries/{id}` opens one (as the details table, or as a chart of
//! occurrences over time by type and its top reasons), `POST /queries/{id}/delete` deletes.

use askama::Template;
use axum::Form;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use kec_model::time::now_ms;
use kec_store::{AggregateRequest, Field};
use serde::Deserialize;

use crate::AppState;
use crate::api;
use crate::error::ApiError;
use crate::saved::{SavedQuery, Visualisation};
use crate::tail::split_exclusions;
use crate::ui::assets::AssetUrls;
use crate::ui::format;
use crate::ui::query::UiQuery;
use crate::ui::view::{self, HistogramView, NavItem, Range};
use crate::ui::{PageError, render};

/// A saved query as the list shows it.
pub(crate) struct SavedView {
    pub id: i64,
    pub name: String,
    pub query: String,
    pub visualisation: &'static str,
    pub open_url: String,
    pub details_url: String,
    pub created: String,
}

fn view_of(saved: SavedQuery) -> SavedView {
    let query = UiQuery::from_pairs(parse_pairs(&saved.query));
    SavedView {
        id: saved.id,
        open_url: format!("/queries/{}", saved.id),
        details_url: query.page_url(),
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
pub(crate) async fn save(State(state): State<AppState>, Form(form): Form<SaveForm>) -> Response {
    let visualisation = Visualisation::parse(&form.visualisation).unwrap_or(Visualisation::Table);
    // Only what the details page understands is kept, in its canonical order.
    let query = UiQuery::from_pairs(parse_pairs(&form.query))
        .without("cursor")
        .encode();
    let name = form.name.clone();
    let saved = state
        .blocking(move |state| state.saved.save(&name, &query, visualisation, now_ms()))
        .await;
    match saved {
        Ok(id) => Redirect::to(&format!("/queries/{id}")).into_response(),
        Err(error) => {
            let listed = state.blocking(|state| state.saved.list()).await;
            list_page(listed, Some(PageError::of(&error, "/queries")))
        }
    }
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
pub(crate) async fn open(State(state): State<AppState>, Path(id): Path<i64>) -> Response {
    let found = state.blocking(move |state| state.saved.get(id)).await;
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
    if saved.visualisation == Visualisation::Table {
        return Redirect::to(&view.details_url).into_response();
    }
    let now = now_ms();
    let query = UiQuery::from_pairs(parse_pairs(&saved.query));
    let prepared = query
        .event_query()
        .map_err(ApiError::BadRequest)
        .and_then(|event_query| Ok((event_query.filter(now)?, event_query)));
    let mut page = ChartPage {
        nav: view::nav("Queries"),
        assets: AssetUrls::new(),
        saved: view,
        histogram: None,
        reasons: Vec::new(),
        totals: String::new(),
        error: None,
    };
    let (mut filter, event_query) = match prepared {
        Ok(prepared) => prepared,
        Err(error) => {
            let (page_error, status) = PageError::of(&error, &format!("/queries/{id}"));
            page.error = Some(page_error);
            return render(status, &page, None);
        }
    };
    split_exclusions(&mut filter);
    let range = Range::of(&event_query, &filter, now);
    let bucket_ms = api::bucket_for(range.span_ms(), view::MAX_BUCKETS);
    let read_filter = filter.clone();
    let loaded = state
        .with_store(move |store| {
            let histogram = store.aggregate(&AggregateRequest {
                filter: read_filter.clone(),
                group_by: Some(Field::Type),
                bucket_ms: Some(bucket_ms),
                limit: 0,
            })?;
            let reasons = store.aggregate(&AggregateRequest {
                filter: read_filter,
                group_by: Some(Field::Reason),
                bucket_ms: None,
                limit: 10,
            })?;
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
                        url: query.with("reason", &reason).page_url(),
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
