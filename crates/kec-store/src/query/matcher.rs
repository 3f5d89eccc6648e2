//! A search evaluated on one record in memory, with the index's meaning: what the live tail
//! applies to records as they arrive (before they are searchable). Message words are split
//! and lowercased by the same tokenizer the index uses.

use kec_model::EventRecord;
use kec_query::{Bound, Expr, NumberField};
use tantivy::tokenizer::{TextAnalyzer, TokenizerManager};

use crate::{Error, Result};

/// A search ready to test records one at a time.
pub struct RecordMatcher {
    expr: Expr,
    now_ms: i64,
    analyzer: TextAnalyzer,
}

impl std::fmt::Debug for RecordMatcher {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        formatter
            .debug_struct("RecordMatcher")
            .field("expr", &self.expr)
            .field("now_ms", &self.now_ms)
            .finish_non_exhaustive()
    }
}

/// `text` matches `pattern`, where `*` is any run of characters and `?` any one character.
fn wildcard_matches(pattern: &str, text: &str) -> bool {
    let pattern: Vec<char> = pattern.chars().collect();
    let text: Vec<char> = text.chars().collect();
    let (mut p, mut t) = (0, 0);
    // The last `*` seen and the text position it was tried at, to backtrack to.
    let mut star: Option<(usize, usize)> = None;
    while t < text.len() {
        match pattern.get(p) {
            Some('*') => {
                star = Some((p, t));
                p += 1;
            }
            Some(character) if *character == '?' || Some(character) == text.get(t) => {
                p += 1;
                t += 1;
            }
            _ => match star {
                Some((star_p, star_t)) => {
                    p = star_p + 1;
                    t = star_t + 1;
                    star = Some((star_p, star_t + 1));
                }
                None => return false,
            },
        }
    }
    pattern
        .get(p..)
        .is_some_and(|rest| rest.iter().all(|c| *c == '*'))
}

fn within<T: PartialOrd + Copy>(
    value: T,
    lower: Option<Bound<T>>,
    upper: Option<Bound<T>>,
) -> bool {
    let above = lower.is_none_or(|bound| {
        if bound.inclusive {
            value >= bound.value
        } else {
            value > bound.value
        }
    });
    let below = upper.is_none_or(|bound| {
        if bound.inclusive {
            value <= bound.value
        } else {
            value < bound.value
        }
    });
    above && below
}

impl RecordMatcher {
    /// A matcher of `expr`; relative times resolve against `now_ms`.
    pub fn new(expr: Expr, now_ms: i64) -> Result<RecordMatcher> {
        let analyzer = TokenizerManager::default()
            .get("default")
            .ok_or_else(|| Error::Corrupt("the default tokenizer is missing".into()))?;
        Ok(RecordMatcher {
            expr,
            now_ms,
            analyzer,
        })
    }

    /// The search this matcher tests.
    pub fn expr(&self) -> &Expr {
        &self.expr
    }

    fn words(&mut self, text: &str) -> Vec<String> {
        let mut words = Vec::new();
        let mut stream = self.analyzer.token_stream(text);
        while let Some(token) = stream.next() {
            words.push(token.text.clone());
        }
        words
    }

    /// Whether `record` meets the search.
    pub fn matches(&mut self, record: &EventRecord) -> bool {
        let expr = self.expr.clone();
        let mut message_words = None;
        self.eval(&expr, record, &mut message_words)
    }

    fn eval(
        &mut self,
        expr: &Expr,
        record: &EventRecord,
        message_words: &mut Option<Vec<String>>,
    ) -> bool {
        match expr {
            Expr::All => true,
            Expr::Term { field, value } => field.value_of(record) == value,
            Expr::Wildcard {
                field: Some(field),
                pattern,
            } => wildcard_matches(pattern, field.value_of(record)),
            Expr::Wildcard {
                field: None,
                pattern,
            } => {
                let pattern = pattern.to_lowercase();
                self.message_words(record, message_words)
                    .iter()
                    .any(|word| wildcard_matches(&pattern, word))
            }
            Expr::Text { text } | Expr::Phrase { text } => {
                let wanted = self.words(text);
                if wanted.is_empty() {
                    return true;
                }
                let words = self.message_words(record, message_words);
                words
                    .windows(wanted.len())
                    .any(|window| window == wanted.as_slice())
            }
            Expr::NumberRange {
                field,
                lower,
                upper,
            } => {
                let value = match field {
                    NumberField::Occurrences => record.occurrences,
                    NumberField::Count => record.count,
                };
                within(value, *lower, *upper)
            }
            Expr::TimeRange { lower, upper } => {
                let resolve = |bound: &Option<Bound<kec_query::TimePoint>>| {
                    bound.map(|bound| Bound {
                        value: bound.value.resolve(self.now_ms),
                        inclusive: bound.inclusive,
                    })
                };
                within(record.time_ms, resolve(lower), resolve(upper))
            }
            Expr::And { clauses } => clauses
                .iter()
                .all(|clause| self.eval(clause, record, message_words)),
            Expr::Or { clauses } => clauses
                .iter()
                .any(|clause| self.eval(clause, record, message_words)),
            Expr::Not { clause } => !self.eval(clause, record, message_words),
        }
    }

    fn message_words<'a>(
        &mut self,
        record: &EventRecord,
        message_words: &'a mut Option<Vec<String>>,
    ) -> &'a [String] {
        if message_words.is_none() {
            *message_words = Some(self.words(&record.message));
        }
        message_words.as_deref().unwrap_or_default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wildcards_match_like_the_index() {
        assert!(wildcard_matches("prod-*", "prod-eu"));
        assert!(wildcard_matches("prod-*", "prod-"));
        assert!(!wildcard_matches("prod-*", "staging"));
        assert!(wildcard_matches("web-?", "web-1"));
        assert!(!wildcard_matches("web-?", "web-12"));
        assert!(wildcard_matches("*a*b", "xxaxxb"));
        assert!(!wildcard_matches("*a*b", "xxaxxbc"));
        assert!(wildcard_matches("日*", "日本"));
    }
}
