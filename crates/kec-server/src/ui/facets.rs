//! The details page's facets: exact occurrence and event counts per value of type, reason,
//! namespace, kind, node and category over the whole result (never a sample), each value a link
//! that filters on it and one that excludes it (`!value`; Alt-click on the value does the same).

use kec_store::{AggregateRequest, AggregateRow, EmbeddedStore, Field, Filter};

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

/// Reads every facet of `filter`.
pub(crate) fn read(
    store: &EmbeddedStore,
    filter: &Filter,
) -> kec_store::Result<Vec<Vec<AggregateRow>>> {
    FACET_FIELDS
        .iter()
        .map(|(field, _)| {
            store.aggregate(&AggregateRequest {
                filter: filter.clone(),
                group_by: Some(*field),
                bucket_ms: None,
                limit: FACET_VALUES,
            })
        })
        .collect()
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

/// The link that excludes `value` of `field`, keeping the field's other exclusions.
fn exclude(query: &UiQuery, field: &str, value: &str) -> String {
    let excluded = format!("!{value}");
    let combined = match query.get(field) {
        Some(existing) if existing.split(',').all(|part| part.trim().starts_with('!')) => {
            format!("{existing},{excluded}")
        }
        _ => excluded,
    };
    query.with(field, &combined).page_url()
}

pub(crate) fn views(query: &UiQuery, facets: &[Vec<AggregateRow>]) -> Vec<FacetView> {
    FACET_FIELDS
        .iter()
        .zip(facets)
        .map(|((field, label), rows)| {
            let name = field.as_str();
            let current: Vec<&str> = query
                .get(name)
                .map(|value| value.split(',').map(str::trim).collect())
                .unwrap_or_default();
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
                        include_url: query.with(name, &value).page_url(),
                        exclude_url: exclude(query, name, &value),
                        active: current.contains(&value.as_str()),
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
        let views = views(&query("reason=!Killing&from=now-1h"), &facets);
        let reasons = &views[1];
        assert_eq!(reasons.field, "reason");
        assert_eq!(reasons.values[0].value, "BackOff", "most occurrences first");
        assert_eq!(
            reasons.values[0].include_url,
            "/events?reason=BackOff&from=now-1h"
        );
        assert_eq!(
            reasons.values[0].exclude_url,
            "/events?reason=%21Killing,%21BackOff&from=now-1h"
        );
        assert!(
            reasons.values[0]
                .title
                .contains("9 occurrences in 2 events")
        );
        assert!(!reasons.values[0].active);
    }
}
