//! `GET /lifecycle?c=..&ns=..&kind=Pod&name=..`: one object's life from its Events as swimlanes,
//! found by a name prefix; beside it, the objects with the most Warnings in the range to start
//! from. Works for any kind (Nodes get condition lanes).

use askama::Template;
use axum::extract::State;
use axum::http::{StatusCode, Uri};
use axum::response::Response;
use kec_model::EventRecord;
use kec_model::time::now_ms;
use kec_store::{AggregateRequest, AggregateRow, EmbeddedStore, Field, Filter, SearchRequest};

use crate::AppState;
use crate::error::ApiError;
use crate::ui::assets::AssetUrls;
use crate::ui::format;
use crate::ui::lanes::{self, Timeline};
use crate::ui::scope::{Params, Scope, ScopeView};
use crate::ui::view::{self, NavItem};
use crate::ui::{PageError, render};

/// Most observations of one object drawn (the newest are kept when there are more).
pub(crate) const MAX_OBSERVATIONS: usize = 2_000;
/// Most name matches listed for a prefix.
const MAX_MATCHES: usize = 50;
/// Objects in the "most trouble" list.
const TROUBLE: usize = 15;

/// What the user asked for.
#[derive(Debug, Clone, Default)]
pub(crate) struct Wanted {
    pub namespace: Option<String>,
    pub kind: Option<String>,
    pub name: Option<String>,
}

impl Wanted {
    fn read(params: &Params) -> Wanted {
        let get = |key| params.get(key).map(str::to_string);
        Wanted {
            namespace: get("ns"),
            kind: get("kind"),
            name: get("name"),
        }
    }

    fn filter(&self, scope: &Scope) -> Filter {
        let mut filter = scope.filter();
        if let Some(namespace) = &self.namespace {
            filter = filter.with(Field::Namespace, namespace.clone());
        }
        if let Some(kind) = &self.kind {
            filter = filter.with(Field::Kind, kind.clone());
        }
        filter
    }
}

/// The object shown.
pub(crate) struct Object {
    pub cluster: String,
    pub namespace: String,
    pub kind: String,
    pub name: String,
    pub uid: String,
    pub node: String,
}

/// What the page reads, in one blocking call.
pub(crate) struct LifecycleData {
    pub trouble: Vec<AggregateRow>,
    /// Names starting with the prefix, when no single object was found.
    pub matches: Vec<AggregateRow>,
    pub object: Option<Object>,
    pub records: Vec<EventRecord>,
    pub truncated: bool,
    pub clusters: Vec<String>,
}

/// Finds the object and reads its records (also used by the node page).
pub(crate) fn read(
    store: &EmbeddedStore,
    scope: &Scope,
    wanted: &Wanted,
) -> kec_store::Result<LifecycleData> {
    let base = wanted.filter(scope);
    let trouble = store.aggregate(&AggregateRequest {
        filter: base.clone().with(Field::Type, "Warning"),
        group_by: Some(Field::Name),
        bucket_ms: None,
        limit: TROUBLE,
    })?;
    let clusters = store.clusters()?.into_iter().map(|c| c.name).collect();
    let mut data = LifecycleData {
        trouble,
        matches: Vec::new(),
        object: None,
        records: Vec::new(),
        truncated: false,
        clusters,
    };
    let Some(prefix) = wanted.name.as_deref() else {
        return Ok(data);
    };
    // The store matches names exactly; a prefix is resolved here from the names in range.
    let exact = store.search(&SearchRequest::newest(
        base.clone().with(Field::Name, prefix),
        1,
    ))?;
    let chosen = match exact.records.into_iter().next() {
        Some(record) => Some(record),
        None => {
            let mut names: Vec<AggregateRow> = store
                .aggregate(&AggregateRequest {
                    filter: base.clone(),
                    group_by: Some(Field::Name),
                    bucket_ms: None,
                    limit: 0,
                })?
                .into_iter()
                .filter(|row| {
                    row.group
                        .as_deref()
                        .is_some_and(|name| name.starts_with(prefix))
                })
                .collect();
            names.sort_by_key(|row| std::cmp::Reverse(row.occurrences));
            names.truncate(MAX_MATCHES);
            if let [only] = names.as_slice()
                && let Some(name) = &only.group
            {
                store
                    .search(&SearchRequest::newest(
                        base.clone().with(Field::Name, name.clone()),
                        1,
                    ))?
                    .records
                    .into_iter()
                    .next()
            } else {
                data.matches = names;
                None
            }
        }
    };
    let Some(newest) = chosen else {
        return Ok(data);
    };
    let namespace = Field::Namespace.value_of(&newest).to_string();
    let mut filter = Filter::default()
        .between(scope.from_ms, scope.to_ms)
        .with(Field::Cluster, newest.cluster.clone())
        .with(Field::Kind, newest.object.kind.clone())
        .with(Field::Name, newest.object.name.clone());
    if !namespace.is_empty() {
        filter = filter.with(Field::Namespace, namespace.clone());
    }
    let page = store.search(&SearchRequest::newest(filter, MAX_OBSERVATIONS))?;
    data.truncated = page.next_cursor.is_some();
    data.records = page.records;
    data.object = Some(Object {
        cluster: newest.cluster.clone(),
        namespace,
        kind: newest.object.kind.clone(),
        name: newest.object.name.clone(),
        uid: newest.object.uid.clone(),
        node: newest.node.clone(),
    });
    Ok(data)
}

/// A line of the "most trouble" or "matches" lists.
pub(crate) struct ObjectLink {
    pub name: String,
    pub count: String,
    pub title: String,
    pub url: String,
}

fn links(rows: &[AggregateRow], scope: &Scope, wanted: &Wanted, path: &str) -> Vec<ObjectLink> {
    rows.iter()
        .filter_map(|row| {
            let name = row.group.clone()?;
            let mut extra = vec![("name", name.as_str())];
            if let Some(namespace) = &wanted.namespace {
                extra.push(("ns", namespace));
            }
            if let Some(kind) = &wanted.kind {
                extra.push(("kind", kind));
            }
            Some(ObjectLink {
                url: scope.url(path, &extra),
                count: format::compact(row.occurrences),
                title: format!("{} occurrences", format::count(row.occurrences)),
                name,
            })
        })
        .collect()
}

#[derive(Template)]
#[template(path = "lifecycle.html")]
struct LifecyclePage {
    nav: Vec<NavItem>,
    assets: AssetUrls,
    scope: ScopeView,
    name: String,
    namespace: String,
    kind: String,
    object: Option<Object>,
    timeline: Option<Timeline>,
    truncated: bool,
    trouble: Vec<ObjectLink>,
    matches: Vec<ObjectLink>,
    searched: bool,
    details_url: String,
    node_url: String,
    error: Option<PageError>,
}

/// `GET /lifecycle`
pub(crate) async fn page(State(state): State<AppState>, uri: Uri) -> Response {
    let params = Params::from_uri(&uri);
    let now = now_ms();
    let wanted = Wanted::read(&params);
    let scope = Scope::read(&params, now);
    let loaded = match &scope {
        Ok(scope) => {
            let (scope, wanted) = (scope.clone(), wanted.clone());
            state
                .with_store(move |store| read(store, &scope, &wanted))
                .await
        }
        Err(error) => Err(ApiError::BadRequest(error.to_string())),
    };
    let scope = scope.unwrap_or_else(|_| crate::ui::default_scope(now));
    let hidden = vec![
        (
            "ns".to_string(),
            wanted.namespace.clone().unwrap_or_default(),
        ),
        ("kind".to_string(), wanted.kind.clone().unwrap_or_default()),
        ("name".to_string(), wanted.name.clone().unwrap_or_default()),
    ];
    let mut page = LifecyclePage {
        nav: view::nav("Lifecycle"),
        assets: AssetUrls::new(),
        scope: ScopeView::new("/lifecycle", &scope, &[], hidden, now),
        name: wanted.name.clone().unwrap_or_default(),
        namespace: wanted.namespace.clone().unwrap_or_default(),
        kind: wanted.kind.clone().unwrap_or_default(),
        object: None,
        timeline: None,
        truncated: false,
        trouble: Vec::new(),
        matches: Vec::new(),
        searched: wanted.name.is_some(),
        details_url: String::new(),
        node_url: String::new(),
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
    page.scope = ScopeView::new(
        "/lifecycle",
        &scope,
        &data.clusters,
        vec![
            ("ns".into(), page.namespace.clone()),
            ("kind".into(), page.kind.clone()),
            ("name".into(), page.name.clone()),
        ],
        now,
    );
    page.trouble = links(&data.trouble, &scope, &wanted, "/lifecycle");
    page.matches = links(&data.matches, &scope, &wanted, "/lifecycle");
    page.truncated = data.truncated;
    if let Some(object) = data.object {
        page.timeline = Some(lanes::timeline(
            &data.records,
            scope.from_ms,
            scope.to_ms,
            now,
        ));
        let mut filters = vec![
            ("kind", object.kind.as_str()),
            ("name", object.name.as_str()),
        ];
        if !object.namespace.is_empty() {
            filters.push(("namespace", object.namespace.as_str()));
        }
        page.details_url = scope.details_url(&filters);
        if !object.node.is_empty() {
            page.node_url = scope.url("/nodes", &[("name", &object.node)]);
        }
        page.object = Some(object);
    }
    render(StatusCode::OK, &page, None)
}
