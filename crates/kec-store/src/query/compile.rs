//! The search part of a query compiled to a tantivy query over the day-partition schema.
//! [`crate::Filter`] compiles through here too (as [`crate::Filter::to_expr`]), so every search
//! the store runs takes one path.

use std::ops::Bound as RangeBound;

use kec_query::{Bound, Expr, TimePoint};
use tantivy::Term;
use tantivy::query::{
    AllQuery, BooleanQuery, EmptyQuery, Occur, PhraseQuery, Query, RangeQuery, RegexQuery,
    TermQuery,
};
use tantivy::schema::{Field as IndexField, IndexRecordOption};
use tantivy::tokenizer::{TextAnalyzer, TokenizerManager};

use crate::schema::EventSchema;
use crate::{Error, Result};

/// Compiles `expr` for the schema; relative times resolve against `now_ms`.
pub(crate) fn compile(expr: &Expr, schema: &EventSchema, now_ms: i64) -> Result<Box<dyn Query>> {
    let mut compiler = Compiler {
        schema,
        now_ms,
        analyzer: TokenizerManager::default()
            .get("default")
            .ok_or_else(|| Error::Corrupt("the default tokenizer is missing".into()))?,
    };
    compiler.expr(expr)
}

struct Compiler<'a> {
    schema: &'a EventSchema,
    now_ms: i64,
    analyzer: TextAnalyzer,
}

/// `*` -> any run, `?` -> any character, everything else literal.
pub(crate) fn wildcard_regex(pattern: &str) -> String {
    let mut regex = String::with_capacity(pattern.len() * 2);
    for character in pattern.chars() {
        match character {
            '*' => regex.push_str(".*"),
            '?' => regex.push('.'),
            '\\' | '.' | '+' | '(' | ')' | '|' | '[' | ']' | '{' | '}' | '^' | '$' | '#' | '&'
            | '-' | '~' => {
                regex.push('\\');
                regex.push(character);
            }
            _ => regex.push(character),
        }
    }
    regex
}

fn negated(query: Box<dyn Query>) -> Box<dyn Query> {
    Box::new(BooleanQuery::new(vec![
        (Occur::Must, Box::new(AllQuery) as Box<dyn Query>),
        (Occur::MustNot, query),
    ]))
}

impl Compiler<'_> {
    fn expr(&mut self, expr: &Expr) -> Result<Box<dyn Query>> {
        Ok(match expr {
            Expr::All => Box::new(AllQuery),
            Expr::Term { field, value } => Box::new(TermQuery::new(
                Term::from_field_text(self.schema.string_field(*field), value),
                IndexRecordOption::Basic,
            )),
            Expr::Wildcard { field, pattern } => {
                let (index_field, pattern) = match field {
                    Some(field) => (self.schema.string_field(*field), pattern.clone()),
                    // Message words are indexed lowercased.
                    None => (self.schema.message, pattern.to_lowercase()),
                };
                self.regex(index_field, &pattern)?
            }
            Expr::Text { text } | Expr::Phrase { text } => self.words(text),
            Expr::NumberRange {
                field,
                lower,
                upper,
            } => {
                let index_field = match field {
                    kec_query::NumberField::Occurrences => self.schema.occurrences,
                    kec_query::NumberField::Count => self.schema.count,
                };
                self.range(
                    index_field,
                    lower.map(|b| (b.value, b.inclusive)),
                    upper.map(|b| (b.value, b.inclusive)),
                )
            }
            Expr::TimeRange { lower, upper } => {
                let resolve = |bound: &Option<Bound<TimePoint>>| {
                    bound.map(|bound| (bound.value.resolve(self.now_ms), bound.inclusive))
                };
                self.range(self.schema.time_ms, resolve(lower), resolve(upper))
            }
            Expr::And { clauses } => {
                if clauses.is_empty() {
                    return Ok(Box::new(AllQuery));
                }
                let mut parts: Vec<(Occur, Box<dyn Query>)> = Vec::with_capacity(clauses.len());
                for clause in clauses {
                    match clause {
                        // `a -b` is "a and not b": no need for an all-docs scan per negation.
                        Expr::Not { clause } => parts.push((Occur::MustNot, self.expr(clause)?)),
                        _ => parts.push((Occur::Must, self.expr(clause)?)),
                    }
                }
                if parts.iter().all(|(occur, _)| *occur == Occur::MustNot) {
                    parts.push((Occur::Must, Box::new(AllQuery)));
                }
                Box::new(BooleanQuery::new(parts))
            }
            Expr::Or { clauses } => {
                if clauses.is_empty() {
                    return Ok(Box::new(EmptyQuery));
                }
                let mut parts: Vec<(Occur, Box<dyn Query>)> = Vec::with_capacity(clauses.len());
                for clause in clauses {
                    parts.push((Occur::Should, self.expr(clause)?));
                }
                Box::new(BooleanQuery::new(parts))
            }
            Expr::Not { clause } => negated(self.expr(clause)?),
        })
    }

    fn regex(&self, field: IndexField, pattern: &str) -> Result<Box<dyn Query>> {
        let regex = wildcard_regex(pattern);
        RegexQuery::from_pattern(&regex, field)
            .map(|query| Box::new(query) as Box<dyn Query>)
            .map_err(|error| {
                Error::InvalidRequest(format!(
                    "the pattern {pattern:?} cannot be searched: {error}"
                ))
            })
    }

    /// Message words: one word is a term, several (`10.0.0.7`, a phrase) must be adjacent.
    fn words(&mut self, text: &str) -> Box<dyn Query> {
        let mut terms = Vec::new();
        let mut stream = self.analyzer.token_stream(text);
        while let Some(token) = stream.next() {
            terms.push(Term::from_field_text(self.schema.message, &token.text));
        }
        match terms.len() {
            0 => Box::new(AllQuery),
            1 => Box::new(TermQuery::new(terms.remove(0), IndexRecordOption::Basic)),
            _ => Box::new(PhraseQuery::new(terms)),
        }
    }

    fn range(
        &self,
        field: IndexField,
        lower: Option<(i64, bool)>,
        upper: Option<(i64, bool)>,
    ) -> Box<dyn Query> {
        let bound = |end: Option<(i64, bool)>| match end {
            None => RangeBound::Unbounded,
            Some((value, true)) => RangeBound::Included(Term::from_field_i64(field, value)),
            Some((value, false)) => RangeBound::Excluded(Term::from_field_i64(field, value)),
        };
        if lower.is_none() && upper.is_none() {
            return Box::new(AllQuery);
        }
        Box::new(RangeQuery::new(bound(lower), bound(upper)))
    }
}

/// The time window `[from, to)` a search cannot leave (from its top-level time ranges), to
/// skip day partitions outside it.
pub(crate) fn time_window(expr: &Expr, now_ms: i64) -> (Option<i64>, Option<i64>) {
    match expr {
        Expr::TimeRange { lower, upper } => (
            lower.map(|bound| {
                let ms = bound.value.resolve(now_ms);
                if bound.inclusive {
                    ms
                } else {
                    ms.saturating_add(1)
                }
            }),
            upper.map(|bound| {
                let ms = bound.value.resolve(now_ms);
                if bound.inclusive {
                    ms.saturating_add(1)
                } else {
                    ms
                }
            }),
        ),
        Expr::And { clauses } => {
            let mut window = (None, None);
            for clause in clauses {
                let (from, to) = time_window(clause, now_ms);
                window.0 = match (window.0, from) {
                    (Some(a), Some(b)) => Some(i64::max(a, b)),
                    (a, b) => a.or(b),
                };
                window.1 = match (window.1, to) {
                    (Some(a), Some(b)) => Some(i64::min(a, b)),
                    (a, b) => a.or(b),
                };
            }
            window
        }
        _ => (None, None),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wildcards_escape_regex_characters() {
        assert_eq!(wildcard_regex("prod-*"), "prod\\-.*");
        assert_eq!(wildcard_regex("a.b?"), "a\\.b.");
        assert_eq!(wildcard_regex("(x)|[y]"), "\\(x\\)\\|\\[y\\]");
        for pattern in ["prod-*", "a.b?", "(x)|[y]", "{}^$#&~+\\", "日本*"] {
            let schema = EventSchema::new();
            assert!(
                RegexQuery::from_pattern(&wildcard_regex(pattern), schema.message).is_ok(),
                "{pattern}"
            );
        }
    }

    #[test]
    fn time_window_intersects_top_level_ranges() {
        let query = kec_query::parse("time:>=now-1h a time:<1000000 (time:<5 OR b)").unwrap();
        assert_eq!(
            time_window(&query.search, 2_000_000),
            (Some(2_000_000 - 3_600_000), Some(1_000_000))
        );
        let query = kec_query::parse("time:[10 TO 20] -time:<15").unwrap();
        assert_eq!(time_window(&query.search, 0), (Some(10), Some(21)));
        assert_eq!(
            time_window(&kec_query::parse("a").unwrap().search, 0),
            (None, None)
        );
    }
}
