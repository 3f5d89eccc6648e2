//! What a details view searches: its query box read as the query language (the syntax of
//! `/query` and `kec query`), AND the field parameters that links still carry
//! (`reason=BackOff`, `namespace=!kube-system`), over the view's range. The table, facets,
//! histogram, export and live tail all run this one search.

use kec_model::time::now_ms;
use kec_query::{Expr, Field, ParseError};
use kec_store::{EventSearch, Filter, RecordMatcher};

use crate::api::EventQuery;
use crate::error::ApiError;
use crate::tail::split_exclusions;
use crate::ui::query::UiQuery;
use crate::ui::view::Range;

/// A details view's search, resolved.
pub(crate) struct DetailsSearch {
    pub event_query: EventQuery,
    pub range: Range,
    /// The store's search: range, field parameters and the query box.
    pub search: EventSearch,
    /// The query box has pipes: the details page shows records, the query page runs them.
    pub has_pipes: bool,
}

/// The query box of a view, parsed (`*` when empty).
pub(crate) fn parse_box(query: &UiQuery) -> Result<kec_query::Query, ParseError> {
    kec_query::parse(query.get("q").unwrap_or_default())
}

/// The field parameters of `event_query` (not its text, not its range) as a search.
fn field_terms(event_query: &EventQuery, now_ms: i64) -> Result<Expr, ApiError> {
    let mut filter = EventQuery {
        q: None,
        ..event_query.clone()
    }
    .filter(now_ms)?;
    split_exclusions(&mut filter);
    Ok(Filter {
        from_ms: None,
        to_ms: None,
        ..filter
    }
    .to_expr())
}

/// Both searches, as one.
fn both(fields: Expr, boxed: Expr) -> Expr {
    match (fields, boxed) {
        (Expr::All, other) | (other, Expr::All) => other,
        (fields, boxed) => Expr::And {
            clauses: vec![fields, boxed],
        },
    }
}

impl DetailsSearch {
    /// The search of a view at `now_ms`; a query box that does not parse is
    /// [`ApiError::Query`], with its line and column.
    pub(crate) fn of(query: &UiQuery, now_ms: i64) -> Result<DetailsSearch, ApiError> {
        let event_query = query.event_query().map_err(ApiError::BadRequest)?;
        let parsed = parse_box(query).map_err(ApiError::Query)?;
        let window = EventQuery {
            q: None,
            ..event_query.clone()
        }
        .filter(now_ms)?;
        let range = Range::of(&event_query, &window, now_ms);
        let search = EventSearch {
            search: both(field_terms(&event_query, now_ms)?, parsed.search),
            cluster: None,
            from_ms: window.from_ms.unwrap_or(range.from_ms),
            to_ms: window.to_ms.unwrap_or(range.to_ms),
            now_ms,
        };
        Ok(DetailsSearch {
            event_query,
            range,
            search,
            has_pipes: !parsed.pipes.is_empty(),
        })
    }
}

/// The live tail's test of an [`EventQuery`]: its field parameters and its `q` read as the
/// query language (times in the query resolve when the tail starts).
pub(crate) fn tail_matcher(event_query: &EventQuery) -> Result<RecordMatcher, ApiError> {
    let now = now_ms();
    let parsed =
        kec_query::parse(event_query.q.as_deref().unwrap_or_default()).map_err(ApiError::Query)?;
    let expr = both(field_terms(event_query, now)?, parsed.search);
    RecordMatcher::new(expr, now).map_err(ApiError::Store)
}

/// `query` with `clause` (`reason:BackOff`, `-namespace:x`) added to its query box, pipes kept
/// after it. A box that does not parse gets the clause appended as text.
pub(crate) fn with_clause(query: &UiQuery, clause: &str) -> UiQuery {
    let current = query.get("q").unwrap_or_default().trim();
    let text = match kec_query::parse(current) {
        Ok(parsed) if parsed.search == Expr::All && parsed.pipes.is_empty() => clause.to_string(),
        Ok(parsed) if !parsed.pipes.is_empty() => {
            let search = parsed.search.to_string();
            let pipes = kec_query::Query {
                search: Expr::All,
                pipes: parsed.pipes,
            }
            .to_string();
            let pipes = pipes.trim_start_matches('*').trim_start();
            if parsed.search == Expr::All {
                format!("{clause} {pipes}")
            } else {
                format!("{search} {clause} {pipes}")
            }
        }
        _ => format!("{current} {clause}"),
    };
    query.with("q", &text)
}

/// `field:value` in the query language (quoted when it must be).
pub(crate) fn term_clause(field: Field, value: &str) -> String {
    Expr::Term {
        field,
        value: value.to_string(),
    }
    .to_string()
}

/// Whether the query box already holds `clause` as a whole word.
pub(crate) fn has_clause(query: &UiQuery, clause: &str) -> bool {
    query
        .get("q")
        .unwrap_or_default()
        .split_whitespace()
        .any(|word| word == clause)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn query(text: &str) -> UiQuery {
        UiQuery::from_uri(&format!("/events?{text}").parse().expect("uri"))
    }

    #[test]
    fn the_box_and_the_field_parameters_make_one_search() {
        let now = 1_000 * 86_400_000;
        let details = DetailsSearch::of(
            &query(
                "q=type%3AWarning%20-reason%3APulled%20refused&namespace=!kube-system&from=now-1h",
            ),
            now,
        )
        .expect("valid");
        assert_eq!(
            details.search.search.to_string(),
            "-namespace:kube-system type:Warning -reason:Pulled refused"
        );
        assert_eq!(details.search.from_ms, now - 3_600_000);
        assert!(!details.has_pipes);
        let piped =
            DetailsSearch::of(&query("q=reason%3AX%20%7C%20top%20namespace"), now).expect("valid");
        assert!(piped.has_pipes);
    }

    #[test]
    fn a_bad_box_points_at_the_column() {
        match DetailsSearch::of(&query("q=type%3AWarning%20namspace%3Ax"), 0) {
            Err(ApiError::Query(error)) => {
                assert_eq!((error.line, error.column), (1, 14), "{error}");
            }
            Err(other) => panic!("expected a query error, got {other}"),
            Ok(_) => panic!("expected a query error"),
        }
    }

    #[test]
    fn clauses_are_added_before_the_pipes() {
        assert_eq!(
            with_clause(&query("from=now-1h"), "reason:BackOff").get("q"),
            Some("reason:BackOff")
        );
        assert_eq!(
            with_clause(&query("q=type%3AWarning"), "-namespace:shop").get("q"),
            Some("type:Warning -namespace:shop")
        );
        let piped = with_clause(&query("q=type%3AWarning%20%7C%20top%20reason"), "kind:Pod");
        let text = piped.get("q").expect("q");
        assert!(text.starts_with("type:Warning kind:Pod |"), "{text}");
        kec_query::parse(text).expect("still parses");
        assert_eq!(
            term_clause(Field::Reason, "Back Off"),
            "reason:\"Back Off\""
        );
        assert!(has_clause(&query("q=a%20reason%3AX"), "reason:X"));
    }
}
