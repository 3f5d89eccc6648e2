//! `GET /lifecycle?c=..&ns=..&kind=Pod&name=..`: one object's life from its Events as swimlanes,
//! found by a name prefix; beside it, the objects with the most Warnings in the range to start
//! from. Works for any kind (Nodes get condition lanes). The header names the object's earlier
//! incarnations (same name, other uid) as tabs, its owner (from the controller's
//! `SuccessfulCreate` Event, since Events carry no owner references), restarts and the last
//! termination.

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
    /// One incarnation of the object (its uid), when it had several.
    pub uid: Option<String>,
}

impl Wanted {
    fn read(params: &Params) -> Wanted {
        let get = |key| params.get(key).map(str::to_string);
        Wanted {
            namespace: get("ns"),
            kind: get("kind"),
            name: get("name"),
            uid: get("uid"),
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

/// One incarnation of an object: a uid seen with its name, and when.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Incarnation {
    pub uid: String,
    pub first_ms: i64,
    pub last_ms: i64,
}

/// The object that created another, as its controller's Event names it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Owner {
    pub kind: String,
    pub name: String,
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
    /// Uids seen with the object's name, newest first (one when it never was recreated).
    pub incarnations: Vec<Incarnation>,
    /// Its owner chain, nearest first (ReplicaSet, then Deployment).
    pub owners: Vec<Owner>,
    /// For a workload: the records of its pods (the workload view), and how many pods.
    pub workload: Vec<EventRecord>,
    pub workload_pods: usize,
}

/// Kinds whose pods the workload view draws.
const WORKLOAD_KINDS: [&str; 5] = [
    "Deployment",
    "ReplicaSet",
    "StatefulSet",
    "DaemonSet",
    "Job",
];
/// Most pods in the workload view (the busiest).
const MAX_WORKLOAD_PODS: usize = 30;

/// Whether `pod` is named as `kind`'s controller names its pods: `<deployment>-<hash>-<id>`,
/// `<replicaset>-<id>`, `<statefulset>-<ordinal>`, `<daemonset|job>-<id>`. Events carry no
/// owner references, so names are what ties pods to a workload in the store.
pub(crate) fn pod_of(kind: &str, workload: &str, pod: &str) -> bool {
    let Some(rest) = pod
        .strip_prefix(workload)
        .and_then(|rest| rest.strip_prefix('-'))
    else {
        return false;
    };
    let parts: Vec<&str> = rest.split('-').collect();
    let word = |part: &&str| !part.is_empty() && part.chars().all(|c| c.is_ascii_alphanumeric());
    match kind {
        "Deployment" => parts.len() == 2 && parts.iter().all(word),
        "StatefulSet" => parts.len() == 1 && parts.iter().all(|part| part.parse::<u32>().is_ok()),
        _ => parts.len() == 1 && parts.iter().all(word),
    }
}

/// The records of a workload's pods in the scope (the busiest [`MAX_WORKLOAD_PODS`]).
fn workload_records(
    store: &EmbeddedStore,
    scope: &Scope,
    cluster: &str,
    namespace: &str,
    kind: &str,
    name: &str,
) -> kec_store::Result<(Vec<EventRecord>, usize)> {
    let mut filter = Filter::default()
        .between(scope.from_ms, scope.to_ms)
        .with(Field::Cluster, cluster.to_string())
        .with(Field::Kind, "Pod");
    if !namespace.is_empty() {
        filter = filter.with(Field::Namespace, namespace.to_string());
    }
    let mut pods: Vec<AggregateRow> = store
        .aggregate(&AggregateRequest {
            filter: filter.clone(),
            group_by: Some(Field::Name),
            bucket_ms: None,
            limit: 0,
        })?
        .into_iter()
        .filter(|row| {
            row.group
                .as_deref()
                .is_some_and(|pod| pod_of(kind, name, pod))
        })
        .collect();
    let count = pods.len();
    if pods.is_empty() {
        return Ok((Vec::new(), 0));
    }
    pods.sort_by_key(|row| std::cmp::Reverse(row.occurrences));
    pods.truncate(MAX_WORKLOAD_PODS);
    filter.terms.push(kec_store::TermFilter {
        field: Field::Name,
        values: pods.into_iter().filter_map(|row| row.group).collect(),
        negate: false,
    });
    let page = store.search(&SearchRequest::newest(filter, MAX_OBSERVATIONS))?;
    Ok((page.records, count))
}

/// How far before the range an owner's `SuccessfulCreate` Event is looked for.
const OWNER_LOOKBACK_MS: i64 = 7 * kec_model::time::DAY_MS;

/// Uids among `records`, newest first.
pub(crate) fn incarnations(records: &[EventRecord]) -> Vec<Incarnation> {
    let mut seen: Vec<Incarnation> = Vec::new();
    for record in records {
        if record.object.uid.is_empty() {
            continue;
        }
        let first = record.first_ms.min(record.time_ms);
        match seen.iter_mut().find(|known| known.uid == record.object.uid) {
            Some(known) => {
                known.first_ms = known.first_ms.min(first);
                known.last_ms = known.last_ms.max(record.time_ms);
            }
            None => seen.push(Incarnation {
                uid: record.object.uid.clone(),
                first_ms: first,
                last_ms: record.time_ms,
            }),
        }
    }
    seen.sort_by_key(|incarnation| std::cmp::Reverse(incarnation.last_ms));
    seen
}

/// Whether `message` names `name` as a whole word (`web-1` is not `web-10`).
fn names(message: &str, name: &str) -> bool {
    message.match_indices(name).any(|(at, _)| {
        let before = message[..at].chars().next_back();
        let after = message[at + name.len()..].chars().next();
        let boundary = |c: Option<char>| {
            c.is_none_or(|c| !(c.is_ascii_alphanumeric() || c == '-' || c == '.' || c == '_'))
        };
        boundary(before) && boundary(after)
    })
}

/// The object whose controller reported creating `name` (`Created pod: web-1`, `create Pod
/// web-0 in StatefulSet web successful`, `Scaled up replica set web-7f9c to 3`).
fn owner_of(
    store: &EmbeddedStore,
    cluster: &str,
    namespace: &str,
    name: &str,
    reason: &str,
    from_ms: i64,
    to_ms: i64,
) -> kec_store::Result<Option<Owner>> {
    let mut filter = Filter::default()
        .between(from_ms, to_ms)
        .with(Field::Cluster, cluster.to_string())
        .with(Field::Reason, reason.to_string());
    if !namespace.is_empty() {
        filter = filter.with(Field::Namespace, namespace.to_string());
    }
    filter.text = Some(format!("\"{}\"", name.replace('"', "")));
    let found = store.search(&SearchRequest::newest(filter, 10))?;
    Ok(found
        .records
        .into_iter()
        .find(|record| names(&record.message, name))
        .map(|record| Owner {
            kind: record.object.kind,
            name: record.object.name,
        }))
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
        incarnations: Vec::new(),
        owners: Vec::new(),
        workload: Vec::new(),
        workload_pods: 0,
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
    data.incarnations = incarnations(&page.records);
    // The wanted incarnation, else the newest; the others become tabs.
    let uid = wanted
        .uid
        .as_deref()
        .filter(|uid| data.incarnations.iter().any(|known| known.uid == *uid))
        .map(str::to_string)
        .or_else(|| data.incarnations.first().map(|known| known.uid.clone()))
        .unwrap_or_else(|| newest.object.uid.clone());
    data.records = page.records;
    if data.incarnations.len() > 1 {
        data.records.retain(|record| record.object.uid == uid);
    }
    let node = data
        .records
        .iter()
        .map(|record| record.node.as_str())
        .find(|node| !node.is_empty())
        .unwrap_or(&newest.node)
        .to_string();
    let owner_from = scope.from_ms.saturating_sub(OWNER_LOOKBACK_MS);
    let mut owned = newest.object.name.clone();
    // A Pod's controller, then a ReplicaSet's Deployment.
    for reason in ["SuccessfulCreate", "ScalingReplicaSet"] {
        let wanted_kind = if reason == "SuccessfulCreate" {
            newest.object.kind == "Pod"
        } else {
            data.owners
                .last()
                .map_or(newest.object.kind == "ReplicaSet", |owner| {
                    owner.kind == "ReplicaSet"
                })
        };
        if !wanted_kind {
            continue;
        }
        match owner_of(
            store,
            &newest.cluster,
            &namespace,
            &owned,
            reason,
            owner_from,
            scope.to_ms,
        )? {
            Some(owner) => {
                owned = owner.name.clone();
                data.owners.push(owner);
            }
            None => break,
        }
    }
    if WORKLOAD_KINDS.contains(&newest.object.kind.as_str()) {
        (data.workload, data.workload_pods) = workload_records(
            store,
            scope,
            &newest.cluster,
            &namespace,
            &newest.object.kind,
            &newest.object.name,
        )?;
    }
    data.object = Some(Object {
        cluster: newest.cluster.clone(),
        namespace,
        kind: newest.object.kind.clone(),
        name: newest.object.name.clone(),
        uid,
        node,
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

/// A tab of one incarnation, or a link to an owner.
pub(crate) struct HeaderLink {
    pub label: String,
    pub title: String,
    pub url: String,
    pub current: bool,
}

/// The last Event that ended or restarted a container: `OOMKilling: … (12m ago)`.
pub(crate) fn last_termination(records: &[EventRecord], now_ms: i64) -> Option<String> {
    records
        .iter()
        .filter(|record| {
            matches!(
                record.category,
                kec_model::Category::Oom | kec_model::Category::PodCrash
            ) || matches!(
                record.reason.as_str(),
                "Killing" | "OOMKilling" | "Evicted" | "Preempted" | "TaintManagerEviction"
            )
        })
        .max_by_key(|record| (record.time_ms, record.seq))
        .map(|record| {
            let message: String = record.message.chars().take(120).collect();
            format!(
                "{}: {message} ({})",
                record.reason,
                format::relative(record.time_ms, now_ms)
            )
        })
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
    incarnations: Vec<HeaderLink>,
    owners: Vec<HeaderLink>,
    last_termination: String,
    workload: Option<Timeline>,
    workload_pods: usize,
    /// A pod's lifecycle link without its name (the workload chart appends it).
    pod_url: String,
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
        incarnations: Vec::new(),
        owners: Vec::new(),
        last_termination: String::new(),
        workload: None,
        workload_pods: 0,
        pod_url: String::new(),
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
        if data.incarnations.len() > 1 {
            page.incarnations = data
                .incarnations
                .iter()
                .map(|incarnation| HeaderLink {
                    label: format!("{}…", incarnation.uid.chars().take(8).collect::<String>()),
                    title: format!(
                        "uid {}: {} to {}",
                        incarnation.uid,
                        format::absolute(incarnation.first_ms),
                        format::absolute(incarnation.last_ms)
                    ),
                    url: scope.url(
                        "/lifecycle",
                        &[
                            ("ns", object.namespace.as_str()),
                            ("kind", object.kind.as_str()),
                            ("name", object.name.as_str()),
                            ("uid", incarnation.uid.as_str()),
                        ],
                    ),
                    current: incarnation.uid == object.uid,
                })
                .collect();
        }
        page.owners = data
            .owners
            .iter()
            .map(|owner| HeaderLink {
                label: format!("{} {}", owner.kind, owner.name),
                title: format!("the {} that created it", owner.kind),
                url: scope.url(
                    "/lifecycle",
                    &[
                        ("ns", object.namespace.as_str()),
                        ("kind", owner.kind.as_str()),
                        ("name", owner.name.as_str()),
                    ],
                ),
                current: false,
            })
            .collect();
        page.last_termination = last_termination(&data.records, now).unwrap_or_default();
        if !data.workload.is_empty() {
            page.workload = Some(lanes::workload_timeline(
                &data.workload,
                scope.from_ms,
                scope.to_ms,
                now,
            ));
            page.workload_pods = data.workload_pods;
            let mut pod_url = scope.url(
                "/lifecycle",
                &[("kind", "Pod"), ("ns", object.namespace.as_str())],
            );
            pod_url.push(if pod_url.contains('?') { '&' } else { '?' });
            pod_url.push_str("name=");
            page.pod_url = pod_url;
        }
        page.object = Some(object);
    }
    render(StatusCode::OK, &page, None)
}

#[cfg(test)]
mod tests {
    use kec_model::convert::{ParsedLine, parse_value};
    use kec_store::StoreConfig;

    use super::*;

    const BASE_S: i64 = 1_800_000_000;

    fn minute(m: i64) -> i64 {
        (BASE_S + m * 60) * 1000
    }

    fn event(
        kind: &str,
        name: &str,
        object_uid: &str,
        reason: &str,
        message: &str,
        at: i64,
    ) -> EventRecord {
        let time = jiff::Timestamp::from_second(BASE_S + at * 60)
            .map(|ts| ts.to_string())
            .unwrap_or_default();
        let value = serde_json::json!({
            "apiVersion": "v1", "kind": "Event",
            "metadata": {"name": format!("{name}.{reason}{at}"), "namespace": "shop", "uid": format!("{object_uid}{reason}{at}"), "resourceVersion": "1"},
            "involvedObject": {"kind": kind, "name": name, "uid": object_uid, "namespace": "shop"},
            "reason": reason, "message": message, "type": "Normal", "count": 1, "lastTimestamp": time,
            "source": {"component": "kubelet", "host": "node-1"},
        });
        match parse_value(value, "prod", 1_000) {
            Ok(ParsedLine::Observation(observation)) => observation.record,
            other => panic!("not an observation: {other:?}"),
        }
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

    fn wanted(kind: &str, name: &str, uid: Option<&str>) -> Wanted {
        Wanted {
            namespace: Some("shop".into()),
            kind: Some(kind.into()),
            name: Some(name.into()),
            uid: uid.map(str::to_string),
        }
    }

    #[test]
    fn the_header_names_incarnations_owners_and_the_last_termination() {
        let pod = "web-7f9c-abcde";
        let records = vec![
            event(
                "Pod",
                pod,
                "old",
                "Scheduled",
                "assigned shop/web-7f9c-abcde to node-1",
                0,
            ),
            event("Pod", pod, "old", "Killing", "Stopping container web", 5),
            event(
                "Deployment",
                "web",
                "d",
                "ScalingReplicaSet",
                "Scaled up replica set web-7f9c to 1",
                18,
            ),
            event(
                "ReplicaSet",
                "web-7f9c",
                "rs",
                "SuccessfulCreate",
                "Created pod: web-7f9c-abcdef",
                17,
            ),
            event(
                "ReplicaSet",
                "web-7f9c",
                "rs",
                "SuccessfulCreate",
                "Created pod: web-7f9c-abcde",
                19,
            ),
            event("Pod", pod, "new", "Started", "Started container web", 20),
            event(
                "Pod",
                pod,
                "new",
                "OOMKilling",
                "Memory cgroup out of memory: Killed process 42",
                25,
            ),
        ];
        let dir = tempfile::tempdir().expect("tempdir");
        let store = EmbeddedStore::open(StoreConfig::new(dir.path())).expect("store");
        store.ingest(records, minute(40)).expect("ingest");
        store.commit(minute(40)).expect("commit");

        let data = read(&store, &scope(), &wanted("Pod", pod, None)).expect("read");
        let uids: Vec<&str> = data
            .incarnations
            .iter()
            .map(|known| known.uid.as_str())
            .collect();
        assert_eq!(uids, ["new", "old"], "newest incarnation first");
        assert_eq!(
            data.object.as_ref().map(|object| object.uid.as_str()),
            Some("new")
        );
        assert!(data.records.iter().all(|record| record.object.uid == "new"));
        assert_eq!(
            data.owners,
            [
                Owner {
                    kind: "ReplicaSet".into(),
                    name: "web-7f9c".into()
                },
                Owner {
                    kind: "Deployment".into(),
                    name: "web".into()
                },
            ]
        );
        let last = last_termination(&data.records, minute(40)).expect("a termination");
        assert!(last.starts_with("OOMKilling: Memory cgroup"), "{last}");

        // The earlier incarnation, asked for by uid.
        let old = read(&store, &scope(), &wanted("Pod", pod, Some("old"))).expect("read");
        assert!(old.records.iter().all(|record| record.object.uid == "old"));
        assert_eq!(old.records.len(), 2);
        let last = last_termination(&old.records, minute(40)).expect("a termination");
        assert!(
            last.starts_with("Killing: Stopping container web"),
            "{last}"
        );

        // The Deployment's workload view draws its pod, one lane per pod.
        let deployment = read(&store, &scope(), &wanted("Deployment", "web", None)).expect("read");
        assert_eq!(deployment.workload_pods, 1);
        assert_eq!(deployment.workload.len(), 4, "both incarnations' records");
        let view =
            lanes::workload_timeline(&deployment.workload, minute(0), minute(40), minute(40));
        let value: serde_json::Value = serde_json::from_str(&view.json).expect("json");
        assert_eq!(value["lanes"], serde_json::json!([pod]));
        assert!(value["phases"].as_array().is_some_and(Vec::is_empty));

        // A ReplicaSet's owner is its Deployment; a pod nobody reported creating has none.
        let replica_set =
            read(&store, &scope(), &wanted("ReplicaSet", "web-7f9c", None)).expect("read");
        assert_eq!(
            replica_set.owners,
            [Owner {
                kind: "Deployment".into(),
                name: "web".into()
            }]
        );
    }

    #[test]
    fn pods_belong_to_a_workload_by_their_generated_names() {
        assert!(pod_of("Deployment", "web", "web-7f9c-abcde"));
        assert!(
            !pod_of("Deployment", "web", "web-api-7f9c-abcde"),
            "another Deployment's pod"
        );
        assert!(!pod_of("Deployment", "web", "web-abcde"));
        assert!(pod_of("ReplicaSet", "web-7f9c", "web-7f9c-abcde"));
        assert!(pod_of("StatefulSet", "db", "db-0"));
        assert!(!pod_of("StatefulSet", "db", "db-x"));
        assert!(pod_of("DaemonSet", "agent", "agent-x9k2p"));
        assert!(!pod_of("Job", "backup", "backups-1"));
        assert!(!pod_of("Job", "backup", "backup"));
    }

    #[test]
    fn a_name_is_matched_as_a_whole_word() {
        assert!(names("Created pod: web-1", "web-1"));
        assert!(names(
            "create Pod web-1 in StatefulSet web successful",
            "web-1"
        ));
        assert!(!names("Created pod: web-10", "web-1"));
        assert!(!names("Created pod: aweb-1", "web-1"));
        assert!(!names("", "web-1"));
    }
}
