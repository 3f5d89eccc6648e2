//! The printer: AST -> canonical query text. `parse(&query.to_string())` yields a query that
//! prints the same (the round-trip property test holds it to that).

use std::fmt::{self, Display, Formatter, Write};

use crate::ast::{Aggregation, Bound, Expr, Pipe, Query, SortKey, TimePoint};

/// Binding strength of an expression: a child weaker than its context gets parentheses.
const OR: u8 = 1;
const AND: u8 = 2;
const UNARY: u8 = 3;

impl Display for Query {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.search)?;
        for pipe in &self.pipes {
            write!(f, " | {pipe}")?;
        }
        Ok(())
    }
}

impl Display for Expr {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        write_expr(self, f, OR)
    }
}

/// A value that can be written without quotes and reads back as the same value.
fn is_bare(text: &str) -> bool {
    !text.is_empty()
        && !matches!(text, "AND" | "OR" | "NOT" | "TO")
        && !text.starts_with(['-', '+'])
        && !text.contains(|c: char| {
            c.is_whitespace()
                || matches!(
                    c,
                    '(' | ')'
                        | '"'
                        | '|'
                        | '\\'
                        | ':'
                        | '*'
                        | '?'
                        | '['
                        | ']'
                        | '{'
                        | '}'
                        | '<'
                        | '>'
                        | '='
                )
        })
}

fn write_quoted(text: &str, f: &mut impl Write) -> fmt::Result {
    f.write_char('"')?;
    for character in text.chars() {
        if matches!(character, '"' | '\\') {
            f.write_char('\\')?;
        }
        f.write_char(character)?;
    }
    f.write_char('"')
}

fn write_value(text: &str, f: &mut impl Write) -> fmt::Result {
    if is_bare(text) {
        f.write_str(text)
    } else {
        write_quoted(text, f)
    }
}

/// `5m`, `1h`, `90s`, `250ms`: the largest unit that divides exactly.
pub fn format_duration(ms: i64) -> String {
    const UNITS: [(i64, &str); 4] = [
        (86_400_000, "d"),
        (3_600_000, "h"),
        (60_000, "m"),
        (1_000, "s"),
    ];
    for (unit_ms, unit) in UNITS {
        if ms != 0 && ms % unit_ms == 0 {
            return format!("{}{unit}", ms / unit_ms);
        }
    }
    format!("{ms}ms")
}

impl Display for TimePoint {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        match *self {
            TimePoint::Now { offset_ms: 0 } => f.write_str("now"),
            TimePoint::Now { offset_ms } if offset_ms < 0 => {
                write!(
                    f,
                    "now-{}",
                    format_duration(offset_ms.unsigned_abs().min(i64::MAX as u64) as i64)
                )
            }
            TimePoint::Now { offset_ms } => write!(f, "now+{}", format_duration(offset_ms)),
            TimePoint::Absolute { ms } => match jiff::Timestamp::from_millisecond(ms) {
                Ok(timestamp) => write!(f, "{timestamp}"),
                Err(_) => write!(f, "{ms}"),
            },
        }
    }
}

fn write_range<T: Display>(
    name: &str,
    lower: &Option<Bound<T>>,
    upper: &Option<Bound<T>>,
    f: &mut Formatter<'_>,
) -> fmt::Result {
    write!(f, "{name}:")?;
    match (lower, upper) {
        (Some(lower), None) => {
            write!(
                f,
                ">{}{}",
                if lower.inclusive { "=" } else { "" },
                lower.value
            )
        }
        (None, Some(upper)) => {
            write!(
                f,
                "<{}{}",
                if upper.inclusive { "=" } else { "" },
                upper.value
            )
        }
        _ => {
            let open = match lower {
                Some(bound) if !bound.inclusive => '{',
                _ => '[',
            };
            let close = match upper {
                Some(bound) if !bound.inclusive => '}',
                _ => ']',
            };
            f.write_char(open)?;
            match lower {
                Some(bound) => write!(f, "{}", bound.value)?,
                None => f.write_char('*')?,
            }
            f.write_str(" TO ")?;
            match upper {
                Some(bound) => write!(f, "{}", bound.value)?,
                None => f.write_char('*')?,
            }
            f.write_char(close)
        }
    }
}

/// `field:(a OR b*)` when every clause is a value of the same string field.
fn same_field_values(clauses: &[Expr]) -> Option<&'static str> {
    let field_of = |clause: &Expr| match clause {
        Expr::Term { field, .. } => Some(*field),
        Expr::Wildcard {
            field: Some(field), ..
        } => Some(*field),
        _ => None,
    };
    let first = field_of(clauses.first()?)?;
    clauses
        .iter()
        .all(|clause| field_of(clause) == Some(first))
        .then(|| first.as_str())
}

fn write_expr(expr: &Expr, f: &mut Formatter<'_>, context: u8) -> fmt::Result {
    match expr {
        Expr::All => f.write_char('*'),
        Expr::Term { field, value } => {
            write!(f, "{}:", field.as_str())?;
            write_value(value, f)
        }
        Expr::Wildcard { field, pattern } => {
            match field {
                Some(field) => write!(f, "{}:", field.as_str())?,
                // `x:y*` or `-y*` alone would read as a field or a negation.
                None if pattern.contains(':') || pattern.starts_with(['-', '+']) => {
                    f.write_str("message:")?
                }
                None => {}
            }
            f.write_str(pattern)
        }
        Expr::Text { text } => write_value(text, f),
        Expr::Phrase { text } => write_quoted(text, f),
        Expr::NumberRange {
            field,
            lower,
            upper,
        } => write_range(field.as_str(), lower, upper, f),
        Expr::TimeRange { lower, upper } => write_range("time", lower, upper, f),
        Expr::And { clauses } => match clauses.as_slice() {
            [] => f.write_char('*'),
            [only] => write_expr(only, f, context),
            _ => {
                let wrap = context > AND;
                if wrap {
                    f.write_char('(')?;
                }
                for (index, clause) in clauses.iter().enumerate() {
                    if index > 0 {
                        f.write_char(' ')?;
                    }
                    write_expr(clause, f, AND)?;
                }
                if wrap {
                    f.write_char(')')?;
                }
                Ok(())
            }
        },
        Expr::Or { clauses } => match clauses.as_slice() {
            [] => f.write_str("-*"),
            [only] => write_expr(only, f, context),
            _ => {
                if let Some(field) = same_field_values(clauses) {
                    write!(f, "{field}:(")?;
                    for (index, clause) in clauses.iter().enumerate() {
                        if index > 0 {
                            f.write_str(" OR ")?;
                        }
                        match clause {
                            Expr::Term { value, .. } => write_value(value, f)?,
                            Expr::Wildcard { pattern, .. } => f.write_str(pattern)?,
                            _ => {}
                        }
                    }
                    return f.write_char(')');
                }
                let wrap = context > OR;
                if wrap {
                    f.write_char('(')?;
                }
                for (index, clause) in clauses.iter().enumerate() {
                    if index > 0 {
                        f.write_str(" OR ")?;
                    }
                    write_expr(clause, f, AND)?;
                }
                if wrap {
                    f.write_char(')')?;
                }
                Ok(())
            }
        },
        Expr::Not { clause } => {
            f.write_char('-')?;
            write_expr(clause, f, UNARY)
        }
    }
}

impl Display for Aggregation {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        f.write_str(self.function.as_str())?;
        if let Some(field) = &self.field {
            write!(f, "({field})")?;
        }
        if let Some(alias) = &self.alias {
            write!(f, " as {alias}")?;
        }
        Ok(())
    }
}

impl Display for SortKey {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        if self.descending {
            f.write_char('-')?;
        }
        f.write_str(&self.column)
    }
}

fn write_list<T: Display>(items: &[T], f: &mut Formatter<'_>) -> fmt::Result {
    for (index, item) in items.iter().enumerate() {
        if index > 0 {
            f.write_str(", ")?;
        }
        write!(f, "{item}")?;
    }
    Ok(())
}

impl Display for Pipe {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        match self {
            Pipe::Stats { aggregations, by } => {
                f.write_str("stats ")?;
                write_list(aggregations, f)?;
                if !by.is_empty() {
                    f.write_str(" by ")?;
                    write_list(by, f)?;
                }
                Ok(())
            }
            Pipe::Timechart {
                span_ms,
                aggregation,
                by,
            } => {
                write!(
                    f,
                    "timechart span={} {aggregation}",
                    format_duration(*span_ms)
                )?;
                if let Some(by) = by {
                    write!(f, " by {by}")?;
                }
                Ok(())
            }
            Pipe::Top { limit, field } => write!(f, "top {limit} {field}"),
            Pipe::Sort { keys } => {
                f.write_str("sort ")?;
                write_list(keys, f)
            }
            Pipe::Head { limit } => write!(f, "head {limit}"),
            Pipe::Fields { fields } => {
                f.write_str("fields ")?;
                write_list(fields, f)
            }
            Pipe::Dedup { fields } => {
                f.write_str("dedup ")?;
                write_list(fields, f)
            }
        }
    }
}
