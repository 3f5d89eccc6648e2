//! The overview's last panel, "Latest Warnings, grouped": the newest Warning records of the
//! range (one page of [`EmbeddedStore::search_events`], at most [`SAMPLE`] records) folded in
//! memory into one row per (reason, object), the newest group first.
//!
//! It is a sample of the newest records, not a count over the range (the rollups answer those):
//! the panel header says how many records it grouped, and each row's details link finds all of
//! that group's Warnings.

use std::collections::HashMap;

use kec_model::EventRecord;
use kec_query::{Expr, Field};
use kec_store::{EmbeddedStore, EventPageRequest, EventSearch};

use crate::ui::details::term_clause;
use crate::ui::format;
use crate::ui::scope::Scope;

/// Warning records read, at most: one page of the newest, so the panel costs one bounded read.
pub(crate) const SAMPLE: usize = 200;
/// Groups shown, at most.
pub(crate) const GROUPS: usize = 15;

/// The newest Warning records of `scope` (at most [`SAMPLE`]), newest first.
pub(crate) fn read(store: &EmbeddedStore, scope: &Scope) -> kec_store::Result<Vec<EventRecord>> {
    let search = EventSearch {
        search: Expr::Term {
            field: Field::Type,
            value: "Warning".into(),
        },
        cluster: scope.cluster.clone(),
        from_ms: scope.from_ms,
        to_ms: scope.to_ms,
        now_ms: scope.to_ms,
    };
    let page = store.search_events(&EventPageRequest {
        search,
        limit: SAMPLE,
        cursor: None,
        with_totals: false,
    })?;
    Ok(page.records)
}

/// The records of one (cluster, object, reason), as far as the sample holds them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct WarningGroup {
    pub cluster: String,
    pub namespace: String,
    pub kind: String,
    pub name: String,
    pub reason: String,
    /// The newest record's message.
    pub message: String,
    /// The newest record's time.
    pub last_ms: i64,
    /// The newest record carried no time of its own (`last_ms` is when kec received it).
    pub time_is_receipt: bool,
    /// Occurrences of the group's records in the sample.
    pub occurrences: i64,
    /// Records of the group in the sample.
    pub records: usize,
}

/// Folds `records` into groups by cluster, object and reason, the newest group first (ties in
/// the order the records came, which for [`read`] is newest sequence number first).
pub(crate) fn group(records: &[EventRecord]) -> Vec<WarningGroup> {
    let mut groups: Vec<WarningGroup> = Vec::new();
    let mut positions: HashMap<[&str; 5], usize> = HashMap::new();
    for record in records {
        let key = [
            record.cluster.as_str(),
            record.object.namespace.as_str(),
            record.object.kind.as_str(),
            record.object.name.as_str(),
            record.reason.as_str(),
        ];
        let position = *positions.entry(key).or_insert_with(|| {
            groups.push(WarningGroup {
                cluster: record.cluster.clone(),
                namespace: record.object.namespace.clone(),
                kind: record.object.kind.clone(),
                name: record.object.name.clone(),
                reason: record.reason.clone(),
                message: record.message.clone(),
                last_ms: record.time_ms,
                time_is_receipt: record.time_is_receipt,
                occurrences: 0,
                records: 0,
            });
            groups.len() - 1
        });
        if let Some(group) = groups.get_mut(position) {
            if record.time_ms > group.last_ms {
                group.message.clone_from(&record.message);
                group.last_ms = record.time_ms;
                group.time_is_receipt = record.time_is_receipt;
            }
            group.occurrences += record.occurrences;
            group.records += 1;
        }
    }
    // Stable: equal times keep the order the records came in.
    groups.sort_by_key(|group| std::cmp::Reverse(group.last_ms));
    groups
}

/// One row of the panel.
pub(crate) struct LatestRow {
    /// `namespace/Kind/name` (`Kind/name` when cluster-scoped).
    pub object: String,
    /// The cluster, shown only when the overview covers all clusters.
    pub cluster: String,
    pub lifecycle_url: String,
    pub reason: String,
    /// Details with this group's Warnings (`q=type:Warning reason:.. kind:.. name:..`).
    pub details_url: String,
    pub message: String,
    /// `×1.2k`-style, the exact figure in `occurrences_title`.
    pub occurrences: String,
    pub occurrences_title: String,
    pub last_iso: String,
    pub last_relative: String,
    pub last_title: String,
}

/// The panel: its rows and what they were grouped from.
pub(crate) struct LatestPanel {
    pub rows: Vec<LatestRow>,
    /// What the header says the rows group, e.g. "by reason and object, from the newest 400
    /// Warning records".
    pub summary: String,
    /// Details with every Warning of the range (the empty state's way on).
    pub details_url: String,
}

impl LatestPanel {
    /// The panel of `records` (newest first, as [`read`] returns them) in `scope` at `now_ms`.
    pub(crate) fn new(records: &[EventRecord], scope: &Scope, now_ms: i64) -> LatestPanel {
        let groups = group(records);
        let shown = groups.len().min(GROUPS);
        let sampled = if records.len() >= SAMPLE {
            format!("the newest {SAMPLE} Warning records")
        } else {
            format!(
                "all {} Warning records of the range",
                format::count(i64::try_from(records.len()).unwrap_or(i64::MAX))
            )
        };
        let summary = if groups.len() > shown {
            format!(
                "by reason and object, from {sampled}; the newest {shown} of {} groups",
                groups.len()
            )
        } else {
            format!("by reason and object, from {sampled}")
        };
        let all_clusters = scope.cluster.is_none();
        LatestPanel {
            rows: groups
                .iter()
                .take(GROUPS)
                .map(|group| row(group, scope, all_clusters, now_ms))
                .collect(),
            summary,
            details_url: scope.details_url(&[("type", "Warning")]),
        }
    }
}

fn row(group: &WarningGroup, scope: &Scope, all_clusters: bool, now_ms: i64) -> LatestRow {
    let in_cluster = Scope {
        cluster: Some(group.cluster.clone()),
        ..scope.clone()
    };
    let mut clauses = vec![
        term_clause(Field::Type, "Warning"),
        term_clause(Field::Reason, &group.reason),
    ];
    if !group.kind.is_empty() {
        clauses.push(term_clause(Field::Kind, &group.kind));
    }
    if !group.name.is_empty() {
        clauses.push(term_clause(Field::Name, &group.name));
    }
    if !group.namespace.is_empty() {
        clauses.push(term_clause(Field::Namespace, &group.namespace));
    }
    let object = [&group.namespace, &group.kind, &group.name]
        .into_iter()
        .filter(|part| !part.is_empty())
        .map(String::as_str)
        .collect::<Vec<_>>()
        .join("/");
    let records = i64::try_from(group.records).unwrap_or(i64::MAX);
    LatestRow {
        object,
        cluster: if all_clusters {
            group.cluster.clone()
        } else {
            String::new()
        },
        lifecycle_url: in_cluster.url(
            "/lifecycle",
            &[
                ("kind", &group.kind),
                ("name", &group.name),
                ("ns", &group.namespace),
            ],
        ),
        reason: group.reason.clone(),
        details_url: in_cluster.details_url(&[("q", &clauses.join(" "))]),
        message: group.message.clone(),
        occurrences: format::compact(group.occurrences),
        occurrences_title: format!(
            "{} occurrences in {} records of the sample; the link opens them all",
            format::count(group.occurrences),
            format::count(records)
        ),
        last_iso: format::iso(group.last_ms),
        last_relative: format::relative(group.last_ms, now_ms),
        last_title: if group.time_is_receipt {
            format!(
                "the Event carries no time; kec received it {}",
                format::absolute(group.last_ms)
            )
        } else {
            format::absolute(group.last_ms)
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ui::query::UiQuery;
    use crate::ui::scope::Params;
    use kec_model::time::now_ms;
    use kec_model::{ParsedLine, parse_value};
    use serde_json::json;

    /// One Event observation: (cluster, uid, type, namespace, name, reason, count, minutes ago,
    /// message).
    type Spec<'a> = (
        &'a str,
        &'a str,
        &'a str,
        &'a str,
        &'a str,
        &'a str,
        i64,
        i64,
        &'a str,
    );

    fn record(spec: Spec, now: i64) -> EventRecord {
        let (cluster, uid, event_type, namespace, name, reason, count, minutes_ago, message) = spec;
        let event = json!({
            "metadata": {"name": format!("{name}.{uid}"), "namespace": namespace, "uid": uid},
            "involvedObject": {"kind": "Pod", "namespace": namespace, "name": name},
            "reason": reason,
            "message": message,
            "type": event_type,
            "count": count,
            "lastTimestamp": format::iso(now - minutes_ago * 60_000),
        });
        match parse_value(event, cluster, now).expect("an Event") {
            ParsedLine::Observation(observation) => observation.record,
            ParsedLine::Ignored(what) => panic!("ignored: {what}"),
        }
    }

    /// Through a real store: only the range's Warnings are read, one group per (cluster,
    /// object, reason) with the newest message, summed occurrences, newest group first.
    #[test]
    fn latest_warnings_group_by_object_and_reason_newest_first() {
        let dir = tempfile::tempdir().expect("tempdir");
        let store = EmbeddedStore::open(kec_store::StoreConfig::new(dir.path())).expect("opens");
        let now = now_ms();
        let specs: [Spec; 7] = [
            (
                "prod",
                "u1",
                "Warning",
                "shop",
                "web-1",
                "BackOff",
                1,
                50,
                "old back-off",
            ),
            (
                "prod",
                "u1",
                "Warning",
                "shop",
                "web-1",
                "BackOff",
                4,
                10,
                "new back-off",
            ),
            (
                "prod",
                "u2",
                "Warning",
                "shop",
                "web-1",
                "Unhealthy",
                2,
                20,
                "probe failed",
            ),
            (
                "prod",
                "u3",
                "Warning",
                "db",
                "web-1",
                "BackOff",
                1,
                5,
                "db back-off",
            ),
            (
                "prod", "u4", "Normal", "shop", "web-1", "Pulled", 1, 1, "pulled",
            ),
            (
                "staging", "u5", "Warning", "shop", "web-1", "BackOff", 3, 30, "staging",
            ),
            // Older than the default range (6 h): not in the panel.
            (
                "prod",
                "u6",
                "Warning",
                "shop",
                "web-9",
                "BackOff",
                1,
                8 * 60,
                "too old",
            ),
        ];
        let records = specs.into_iter().map(|spec| record(spec, now)).collect();
        store.ingest(records, now).expect("ingest");
        store.commit(now).expect("commit");
        let scope = Scope::read(&Params::default(), now).expect("default scope");

        let read = read(&store, &scope).expect("read");
        assert_eq!(read.len(), 5, "the range's Warning records");
        let groups = group(&read);
        let summary: Vec<(&str, &str, &str, &str, i64, usize, &str)> = groups
            .iter()
            .map(|group| {
                (
                    group.cluster.as_str(),
                    group.namespace.as_str(),
                    group.name.as_str(),
                    group.reason.as_str(),
                    group.occurrences,
                    group.records,
                    group.message.as_str(),
                )
            })
            .collect();
        assert_eq!(
            summary,
            vec![
                ("prod", "db", "web-1", "BackOff", 1, 1, "db back-off"),
                ("prod", "shop", "web-1", "BackOff", 4, 2, "new back-off"),
                ("prod", "shop", "web-1", "Unhealthy", 2, 1, "probe failed"),
                ("staging", "shop", "web-1", "BackOff", 3, 1, "staging"),
            ]
        );
        assert_eq!(groups[1].last_ms, read[1].time_ms);

        let panel = LatestPanel::new(&read, &scope, now);
        assert_eq!(panel.rows.len(), 4);
        assert_eq!(
            panel.summary,
            "by reason and object, from all 5 Warning records of the range"
        );
        let shop = &panel.rows[1];
        assert_eq!(shop.object, "shop/Pod/web-1");
        assert_eq!(shop.cluster, "prod", "all clusters: rows name theirs");
        assert_eq!(shop.occurrences, "4");
        let lifecycle = Params::from_uri(&shop.lifecycle_url.parse().expect("a uri"));
        assert!(
            shop.lifecycle_url.starts_with("/lifecycle?"),
            "{}",
            shop.lifecycle_url
        );
        assert_eq!(
            [
                lifecycle.get("c"),
                lifecycle.get("kind"),
                lifecycle.get("name"),
                lifecycle.get("ns")
            ],
            [Some("prod"), Some("Pod"), Some("web-1"), Some("shop")]
        );
        let details = UiQuery::from_uri(&shop.details_url.parse().expect("a uri"));
        assert!(
            shop.details_url.starts_with("/events?"),
            "{}",
            shop.details_url
        );
        assert_eq!(details.get("cluster"), Some("prod"));
        assert_eq!(
            details.get("q"),
            Some("type:Warning reason:BackOff kind:Pod name:web-1 namespace:shop")
        );
        assert_eq!(shop.last_iso, format::iso(now - 10 * 60_000));
    }

    /// The panel is on the rendered page, last, with its rows' links.
    #[tokio::test]
    async fn the_overview_page_ends_with_the_grouped_warnings() {
        use tower::ServiceExt;
        let dir = tempfile::tempdir().expect("tempdir");
        let store = EmbeddedStore::open(kec_store::StoreConfig::new(dir.path())).expect("opens");
        let now = now_ms();
        let spec = (
            "prod",
            "u1",
            "Warning",
            "shop",
            "web-1",
            "BackOff",
            3,
            2,
            "back-off restarting",
        );
        store.ingest(vec![record(spec, now)], now).expect("ingest");
        store.commit(now).expect("commit");
        let state = crate::AppState::new(std::sync::Arc::new(store));
        let request = axum::http::Request::builder()
            .uri("/overview?c=prod")
            .body(axum::body::Body::empty())
            .expect("a request");
        let response = crate::app(state)
            .oneshot(request)
            .await
            .expect("a response");
        assert_eq!(response.status(), axum::http::StatusCode::OK);
        let body = axum::body::to_bytes(response.into_body(), usize::MAX)
            .await
            .expect("a body");
        let body = String::from_utf8_lossy(&body);
        let panel = body
            .find("Latest Warnings, grouped")
            .unwrap_or_else(|| panic!("the panel: {body}"));
        assert!(
            body.find("top-reasons").is_some_and(|top| top < panel),
            "it comes last"
        );
        assert!(
            body.contains("from all 1 Warning records of the range"),
            "{body}"
        );
        assert!(
            body.contains("back-off restarting") && body.contains("×3"),
            "{body}"
        );
        assert!(
            body.contains("/lifecycle?c=prod&#38;kind=Pod&#38;name=web-1&#38;ns=shop"),
            "{body}"
        );
        assert!(
            body.contains(
                "q=type:Warning%20reason:BackOff%20kind:Pod%20name:web-1%20namespace:shop"
            ),
            "{body}"
        );
    }

    #[test]
    fn the_panel_shows_the_newest_groups_and_says_how_many_there_were() {
        let now = now_ms();
        let records: Vec<EventRecord> = (0..20)
            .map(|index| {
                let name = format!("pod-{index}");
                let uid = format!("u{index}");
                let spec = (
                    "prod",
                    uid.as_str(),
                    "Warning",
                    "shop",
                    name.as_str(),
                    "Failed",
                    1,
                    index,
                    "x",
                );
                record(spec, now)
            })
            .collect();
        let scope = Scope {
            cluster: Some("prod".into()),
            ..Scope::read(&Params::default(), now).expect("default scope")
        };
        let panel = LatestPanel::new(&records, &scope, now);
        assert_eq!(panel.rows.len(), GROUPS);
        assert_eq!(panel.rows[0].object, "shop/Pod/pod-0");
        assert_eq!(panel.rows[GROUPS - 1].object, "shop/Pod/pod-14");
        assert!(
            panel.rows[0].cluster.is_empty(),
            "one cluster: not repeated per row"
        );
        assert_eq!(
            panel.summary,
            "by reason and object, from all 20 Warning records of the range; the newest 15 of 20 groups"
        );
        let empty = LatestPanel::new(&[], &scope, now);
        assert!(empty.rows.is_empty());
        assert!(
            empty.details_url.contains("type=Warning"),
            "{}",
            empty.details_url
        );
    }
}
