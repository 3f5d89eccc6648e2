//! The details page's facets: exact occurrence and event counts per value of type, reason,
//! namespace, kind, node, category (and cluster, when the view spans all of them) over the
//! whole result, never a sample, read in one pass ([`kec_store::EmbeddedStore::facet_events`]).
//! A value's link adds `field:value` to the query box; its exclude link (and Alt-click) adds
//! `-field:value`.

use kec_store::{AggregateRow, Field};

use crate::ui::details::{has_clause, term_clause, with_clause};
use crate::ui::format;
use crate::ui::query::UiQuery;

/// The facet fields, in display order.
pub(crate) const FACET_FIELDS: [(Field, &str); 6] = [
    (Field::Type, "Type"),
    (Field::Reason, "Reason"),
    (Field::Namespace, "Namespace"),
    (Field::Kind, "Kind"),
    (Field::Node, "Node"),
    (Field::Category, "Category"),
];

/// Values listed per facet.
pub(crate) const FACET_VALUES: usize = 8;

/// The facets a view shows: [`FACET_FIELDS`], and the cluster when the view has none.
pub(crate) fn fields_of(query: &UiQuery) -> Vec<(Field, &'static str)> {
    let mut fields = FACET_FIELDS.to_vec();
    if query.get("cluster").is_none() {
        fields.push((Field::Cluster, "Cluster"));
    }
    fields
}

/// One value of a facet.
pub(crate) struct FacetValue {
    pub value: String,
    pub count: String,
    pub title: String,
    pub include_url: String,
    pub exclude_url: String,
    /// The view already filters on it.
    pub active: bool,
}

/// One facet.
pub(crate) struct FacetView {
    pub label: &'static str,
    pub field: &'static str,
    pub values: Vec<FacetValue>,
}

pub(crate) fn views(
    query: &UiQuery,
    fields: &[(Field, &'static str)],
    facets: &[Vec<AggregateRow>],
) -> Vec<FacetView> {
    fields
        .iter()
        .zip(facets)
        .map(|((field, label), rows)| {
            let name = field.as_str();
            let mut rows: Vec<&AggregateRow> = rows.iter().collect();
            rows.sort_by(|a, b| {
                b.occurrences
                    .cmp(&a.occurrences)
                    .then(a.group.cmp(&b.group))
            });
            let values = rows
                .into_iter()
                .map(|row| {
                    let value = row.group.clone().unwrap_or_default();
                    let clause = term_clause(*field, &value);
                    let shown = if value.is_empty() {
                        "(none)".to_string()
                    } else {
                        value.clone()
                    };
                    FacetValue {
                        count: format::compact(row.occurrences),
                        title: format!(
                            "{} occurrences in {} events; click to filter, Alt-click to exclude",
                            format::count(row.occurrences),
                            format::count(i64::try_from(row.records).unwrap_or(i64::MAX))
                        ),
                        include_url: with_clause(query, &clause).page_url(),
                        exclude_url: with_clause(query, &format!("-{clause}")).page_url(),
                        active: has_clause(query, &clause)
                            || query
                                .get(name)
                                .is_some_and(|values| values.split(',').any(|v| v.trim() == value)),
                        value: shown,
                    }
                })
                .collect();
            FacetView {
                label,
                field: name,
                values,
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A value the box already filters on is marked active.
    fn views_of_active() -> bool {
        let query = query("q=reason%3ABackOff");
        let rows = vec![AggregateRow {
            bucket_ms: None,
            group: Some("BackOff".into()),
            records: 1,
            occurrences: 1,
        }];
        let views = views(&query, &FACET_FIELDS[1..2], &[rows]);
        views[0].values[0].active
    }

    fn query(text: &str) -> UiQuery {
        UiQuery::from_uri(&format!("/events?{text}").parse().expect("uri"))
    }

    #[test]
    fn values_filter_and_exclude() {
        let row = |group: &str, occurrences| AggregateRow {
            bucket_ms: None,
            group: Some(group.into()),
            records: 2,
            occurrences,
        };
        let mut facets: Vec<Vec<AggregateRow>> = vec![Vec::new(); FACET_FIELDS.len()];
        facets[1] = vec![row("Pulled", 3), row("BackOff", 9)];
        let query = query("q=-reason%3AKilling&from=now-1h");
        let fields = fields_of(&query);
        assert_eq!(fields.last().map(|(field, _)| *field), Some(Field::Cluster));
        let views = views(&query, &fields, &facets);
        let reasons = &views[1];
        assert_eq!(reasons.field, "reason");
        assert_eq!(reasons.values[0].value, "BackOff", "most occurrences first");
        assert_eq!(
            reasons.values[0].include_url,
            "/events?q=-reason:Killing%20reason:BackOff&from=now-1h"
        );
        assert_eq!(
            reasons.values[0].exclude_url,
            "/events?q=-reason:Killing%20-reason:BackOff&from=now-1h"
        );
        assert!(
            reasons.values[0]
                .title
                .contains("9 occurrences in 2 events")
        );
        assert!(!reasons.values[0].active);
        assert!(views[1].values[1].value == "Pulled");
        let filtered = views_of_active();
        assert!(filtered);
    }
}
