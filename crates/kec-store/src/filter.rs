//! Filters shared by searches and aggregations: exact values on string fields, free text on the
//! message, and a time range. A filter is a special case of a query's search
//! ([`Filter::to_expr`]): the store compiles both through one path.

use kec_query::{Bound, Expr, TimePoint};
use serde::{Deserialize, Serialize};

pub use kec_query::Field;

/// `field` is one of `values` (or, with `negate`, none of them).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TermFilter {
    pub field: Field,
    pub values: Vec<String>,
    #[serde(default)]
    pub negate: bool,
}

/// Conditions a record must meet (all of them).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Filter {
    #[serde(default)]
    pub terms: Vec<TermFilter>,
    /// Words (or "quoted phrases") that must all appear in the message.
    #[serde(default)]
    pub text: Option<String>,
    /// Inclusive lower bound on the event time.
    #[serde(default)]
    pub from_ms: Option<i64>,
    /// Exclusive upper bound on the event time.
    #[serde(default)]
    pub to_ms: Option<i64>,
}

impl Filter {
    /// Adds `field = value`.
    pub fn with(mut self, field: Field, value: impl Into<String>) -> Filter {
        self.terms.push(TermFilter {
            field,
            values: vec![value.into()],
            negate: false,
        });
        self
    }

    pub fn between(mut self, from_ms: i64, to_ms: i64) -> Filter {
        self.from_ms = Some(from_ms);
        self.to_ms = Some(to_ms);
        self
    }
}

/// Splits free text into words and `"quoted phrases"`; a leading `-` excludes a word or phrase.
fn message_clauses(text: &str) -> Vec<Expr> {
    let mut clauses = Vec::new();
    let mut rest = text.trim_start();
    while !rest.is_empty() {
        let (negate, body) = match rest.strip_prefix('-') {
            Some(body) if !body.is_empty() && !body.starts_with(char::is_whitespace) => {
                (true, body)
            }
            _ => (false, rest),
        };
        let (clause, remaining) = if let Some(quoted) = body.strip_prefix('"') {
            let end = quoted.find('"').unwrap_or(quoted.len());
            let phrase = &quoted[..end];
            let remaining = quoted.get(end + 1..).unwrap_or_default();
            (
                Expr::Phrase {
                    text: phrase.to_string(),
                },
                remaining,
            )
        } else {
            let end = body.find(char::is_whitespace).unwrap_or(body.len());
            (
                Expr::Text {
                    text: body[..end].to_string(),
                },
                &body[end..],
            )
        };
        clauses.push(if negate {
            Expr::Not {
                clause: Box::new(clause),
            }
        } else {
            clause
        });
        rest = remaining.trim_start();
    }
    clauses
}

impl Filter {
    /// The search this filter means: every term filter, every word or phrase of the text and
    /// the time range must hold.
    pub fn to_expr(&self) -> Expr {
        let mut clauses = Vec::new();
        for term_filter in &self.terms {
            let mut alternatives: Vec<Expr> = term_filter
                .values
                .iter()
                .map(|value| Expr::Term {
                    field: term_filter.field,
                    value: value.clone(),
                })
                .collect();
            let matches = if alternatives.len() == 1 {
                alternatives.remove(0)
            } else {
                Expr::Or {
                    clauses: alternatives,
                }
            };
            clauses.push(if term_filter.negate {
                Expr::Not {
                    clause: Box::new(matches),
                }
            } else {
                matches
            });
        }
        if let Some(text) = &self.text {
            clauses.extend(message_clauses(text));
        }
        if self.from_ms.is_some() || self.to_ms.is_some() {
            clauses.push(Expr::TimeRange {
                lower: self.from_ms.map(|ms| Bound {
                    value: TimePoint::Absolute { ms },
                    inclusive: true,
                }),
                upper: self.to_ms.map(|ms| Bound {
                    value: TimePoint::Absolute { ms },
                    inclusive: false,
                }),
            });
        }
        match clauses.len() {
            0 => Expr::All,
            1 => clauses.remove(0),
            _ => Expr::And { clauses },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_filter_is_a_search() {
        let filter = Filter {
            terms: vec![
                TermFilter {
                    field: Field::Namespace,
                    values: vec!["shop".into(), "pay".into()],
                    negate: false,
                },
                TermFilter {
                    field: Field::Kind,
                    values: vec!["Node".into()],
                    negate: true,
                },
            ],
            text: Some(r#" refused "back-off restarting" -probe "#.into()),
            from_ms: Some(1_000),
            to_ms: Some(2_000),
        };
        assert_eq!(
            filter.to_expr().to_string(),
            r#"namespace:(shop OR pay) -kind:Node refused "back-off restarting" -probe time:[1970-01-01T00:00:01Z TO 1970-01-01T00:00:02Z}"#
        );
        assert_eq!(Filter::default().to_expr(), Expr::All);
        assert_eq!(
            Filter {
                text: Some("\"unclosed".into()),
                ..Filter::default()
            }
            .to_expr(),
            Expr::Phrase {
                text: "unclosed".into()
            }
        );
    }
}
