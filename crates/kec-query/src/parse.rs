//! The parser: hand-written recursive descent over the characters of the query (the search part
//! is context-sensitive: after `count:` a `[` opens a range, after `name:` it is a character),
//! then [`crate::columns::check`] on the result. Every error carries the column it is about.
//!
//! ```text
//! query      = [or] { "|" pipe }
//! or         = and { "OR" and }
//! and        = unary { ["AND"] unary }
//! unary      = ("NOT" | "-") unary | primary
//! primary    = "(" or ")" | field ":" value | "\"phrase\"" | word | "*"
//! value      = "(" values ")" | "\"text\"" | word | (">" | ">=" | "<" | "<=") point
//!            | ("[" | "{") point "TO" point ("]" | "}")
//! ```

use crate::ast::{Aggregation, Bound, Expr, Function, Pipe, Query, SortKey, TimePoint};
use crate::columns::check;
use crate::error::ParseError;
use crate::field::SearchField;

/// Deepest nesting of parentheses and negations accepted (keeps recursion bounded).
const MAX_DEPTH: usize = 64;
/// `top` and `head` without a number.
pub const DEFAULT_LIMIT: u64 = 10;

/// Parses and checks a query.
pub fn parse(text: &str) -> Result<Query, ParseError> {
    let mut parser = Parser {
        text,
        chars: text.chars().collect(),
        position: 0,
        depth: 0,
        pipe_starts: Vec::new(),
        pipe_names: Vec::new(),
    };
    let query = parser.query()?;
    if let Err(error) = check(&query) {
        let position = parser
            .pipe_names
            .get(error.pipe)
            .and_then(|names| {
                let wanted = error.name.as_deref()?;
                // The last mention: for a name given twice, the second is the offending one.
                names
                    .iter()
                    .rev()
                    .find(|(name, _)| name == wanted)
                    .map(|(_, position)| *position)
            })
            .or_else(|| parser.pipe_starts.get(error.pipe).copied())
            .unwrap_or_default();
        return Err(ParseError::at(text, position, error.message));
    }
    Ok(query)
}

struct Parser<'a> {
    text: &'a str,
    chars: Vec<char>,
    position: usize,
    depth: usize,
    /// Where each pipe's command word starts.
    pipe_starts: Vec<usize>,
    /// The names each pipe mentions, with where: check errors point at them.
    pipe_names: Vec<Vec<(String, usize)>>,
}

type Parsed<T> = Result<T, ParseError>;

/// Characters that end a bare word.
fn ends_word(character: char) -> bool {
    character.is_whitespace() || matches!(character, '(' | ')' | '"' | '|')
}

fn is_ident_start(character: char) -> bool {
    character.is_ascii_alphabetic() || character == '_'
}

fn is_ident(character: char) -> bool {
    character.is_ascii_alphanumeric() || character == '_'
}

fn shown(character: Option<char>) -> String {
    match character {
        Some(character) => format!("`{character}`"),
        None => "the end of the query".to_string(),
    }
}

impl Parser<'_> {
    fn error<T>(&self, position: usize, message: impl Into<String>) -> Parsed<T> {
        Err(ParseError::at(self.text, position, message))
    }

    fn peek(&self) -> Option<char> {
        self.chars.get(self.position).copied()
    }

    fn peek_at(&self, offset: usize) -> Option<char> {
        self.chars.get(self.position + offset).copied()
    }

    fn skip_whitespace(&mut self) {
        while self.peek().is_some_and(char::is_whitespace) {
            self.position += 1;
        }
    }

    /// At `keyword` (exact case) standing alone as a word.
    fn at_keyword(&self, keyword: &str) -> bool {
        let length = keyword.chars().count();
        let matches = keyword
            .chars()
            .enumerate()
            .all(|(offset, character)| self.peek_at(offset) == Some(character));
        matches && self.peek_at(length).is_none_or(ends_word)
    }

    fn eat_keyword(&mut self, keyword: &str) -> bool {
        self.skip_whitespace();
        if self.at_keyword(keyword) {
            self.position += keyword.chars().count();
            true
        } else {
            false
        }
    }

    fn enter(&mut self) -> Parsed<()> {
        self.depth += 1;
        if self.depth > MAX_DEPTH {
            return self.error(
                self.position,
                format!("the query nests deeper than {MAX_DEPTH} levels"),
            );
        }
        Ok(())
    }

    fn query(&mut self) -> Parsed<Query> {
        self.skip_whitespace();
        let search = match self.peek() {
            None | Some('|') => Expr::All,
            _ => self.or(None)?,
        };
        self.skip_whitespace();
        let mut pipes = Vec::new();
        loop {
            match self.peek() {
                None => break,
                Some('|') => {
                    self.position += 1;
                    pipes.push(self.pipe()?);
                    self.skip_whitespace();
                }
                Some(')') => {
                    return self.error(self.position, "unexpected `)`: there is no `(` to close");
                }
                other => {
                    return self.error(
                        self.position,
                        format!("unexpected {}: expected `|` or the end", shown(other)),
                    );
                }
            }
        }
        Ok(Query { search, pipes })
    }

    // ---- search ----

    fn or(&mut self, field: Option<SearchField>) -> Parsed<Expr> {
        let mut clauses = vec![self.and(field)?];
        while self.eat_keyword("OR") {
            clauses.push(self.and(field)?);
        }
        Ok(if clauses.len() == 1 {
            clauses.remove(0)
        } else {
            Expr::Or { clauses }
        })
    }

    fn and(&mut self, field: Option<SearchField>) -> Parsed<Expr> {
        let mut clauses = Vec::new();
        loop {
            self.skip_whitespace();
            match self.peek() {
                None | Some(')') | Some('|') => break,
                _ if self.at_keyword("OR") => break,
                _ => {}
            }
            if self.at_keyword("AND") {
                let at = self.position;
                if clauses.is_empty() {
                    return self.error(at, "`AND` needs a term before it");
                }
                self.position += 3;
                self.skip_whitespace();
                if matches!(self.peek(), None | Some(')') | Some('|')) || self.at_keyword("OR") {
                    return self.error(self.position, "`AND` needs a term after it");
                }
                continue;
            }
            clauses.push(self.unary(field)?);
        }
        match clauses.len() {
            0 => {
                let message = match self.peek() {
                    Some(_) if self.at_keyword("OR") => "`OR` needs a term before it".to_string(),
                    other => format!("expected a search term, found {}", shown(other)),
                };
                self.error(self.position, message)
            }
            1 => Ok(clauses.remove(0)),
            _ => Ok(Expr::And { clauses }),
        }
    }

    fn unary(&mut self, field: Option<SearchField>) -> Parsed<Expr> {
        self.skip_whitespace();
        let negated = if self.at_keyword("NOT") {
            self.position += 3;
            true
        } else if self.peek() == Some('-')
            && self
                .peek_at(1)
                .is_some_and(|next| !ends_word(next) || next == '(' || next == '"')
        {
            self.position += 1;
            true
        } else {
            false
        };
        if negated {
            self.enter()?;
            self.skip_whitespace();
            if matches!(self.peek(), None | Some(')') | Some('|')) {
                return self.error(self.position, "expected a term to negate");
            }
            let clause = self.unary(field)?;
            self.depth -= 1;
            return Ok(Expr::Not {
                clause: Box::new(clause),
            });
        }
        self.primary(field)
    }

    fn group(&mut self, field: Option<SearchField>) -> Parsed<Expr> {
        let open = self.position;
        self.position += 1; // the `(`
        self.enter()?;
        self.skip_whitespace();
        let expr = self.or(field)?;
        self.skip_whitespace();
        if self.peek() != Some(')') {
            return self.error(
                self.position,
                format!(
                    "expected `)` to close the `(` at column {}, found {}",
                    ParseError::at(self.text, open, "").column,
                    shown(self.peek())
                ),
            );
        }
        self.position += 1;
        self.depth -= 1;
        Ok(expr)
    }

    fn primary(&mut self, field: Option<SearchField>) -> Parsed<Expr> {
        self.skip_whitespace();
        let start = self.position;
        match self.peek() {
            Some('(') => return self.group(field),
            Some('"') if field.is_none() => {
                let text = self.quoted()?;
                return Ok(Expr::Phrase { text });
            }
            None | Some(')') | Some('|') => {
                return self.error(
                    start,
                    format!("expected a search term, found {}", shown(self.peek())),
                );
            }
            _ => {}
        }
        if let Some(field) = field {
            return self.field_value(field, start);
        }
        // `name:` where name is made of identifier characters: a field.
        let mut end = self.position;
        while self
            .chars
            .get(end)
            .is_some_and(|c| c.is_alphanumeric() || matches!(c, '_' | '.' | '-'))
        {
            end += 1;
        }
        if end > start && self.chars.get(end) == Some(&':') {
            let name: String = self
                .chars
                .get(start..end)
                .unwrap_or_default()
                .iter()
                .collect();
            let Some(field) = SearchField::parse(&name) else {
                return self.error(
                    start,
                    format!(
                        "unknown field `{name}`: fields are {} (put text with a colon in quotes to search the message for it)",
                        SearchField::names().join(", ")
                    ),
                );
            };
            self.position = end + 1;
            return match self.peek() {
                Some('(') => self.group(Some(field)),
                None | Some(')') | Some('|') => {
                    self.error(self.position, format!("expected a value after `{name}:`"))
                }
                Some(c) if c.is_whitespace() => self.error(
                    self.position,
                    format!("expected a value after `{name}:`, found a space"),
                ),
                _ => self.field_value(field, self.position),
            };
        }
        let word = self.word(ends_word);
        if word == "*" {
            return Ok(Expr::All);
        }
        if word.contains(['*', '?']) {
            return Ok(Expr::Wildcard {
                field: None,
                pattern: word,
            });
        }
        Ok(Expr::Text { text: word })
    }

    /// Reads characters up to one that `ends` (or the end).
    fn word(&mut self, ends: fn(char) -> bool) -> String {
        let mut word = String::new();
        while let Some(character) = self.peek().filter(|c| !ends(*c)) {
            word.push(character);
            self.position += 1;
        }
        word
    }

    /// A `"..."` string with `\"` and `\\` escapes, starting at the quote.
    fn quoted(&mut self) -> Parsed<String> {
        let start = self.position;
        self.position += 1;
        let mut text = String::new();
        loop {
            match self.peek() {
                None => return self.error(start, "this quote is never closed"),
                Some('"') => {
                    self.position += 1;
                    return Ok(text);
                }
                Some('\\') => {
                    match self.peek_at(1) {
                        Some(escaped) => text.push(escaped),
                        None => return self.error(start, "this quote is never closed"),
                    }
                    self.position += 2;
                }
                Some(character) => {
                    text.push(character);
                    self.position += 1;
                }
            }
        }
    }

    fn field_value(&mut self, field: SearchField, start: usize) -> Parsed<Expr> {
        match field {
            SearchField::String(field) => {
                if self.peek() == Some('"') {
                    let value = self.quoted()?;
                    return Ok(Expr::Term { field, value });
                }
                if matches!(self.peek(), Some('>' | '<' | '[' | '{')) {
                    return self.error(
                        start,
                        format!(
                            "`{}` is a string: ranges apply to occurrences, count and time",
                            field.as_str()
                        ),
                    );
                }
                let value = self.word(ends_word);
                if value.contains(['*', '?']) {
                    Ok(Expr::Wildcard {
                        field: Some(field),
                        pattern: value,
                    })
                } else {
                    Ok(Expr::Term { field, value })
                }
            }
            SearchField::Message => {
                if self.peek() == Some('"') {
                    let text = self.quoted()?;
                    return Ok(Expr::Phrase { text });
                }
                let text = self.word(ends_word);
                if text.contains(['*', '?']) {
                    Ok(Expr::Wildcard {
                        field: None,
                        pattern: text,
                    })
                } else {
                    Ok(Expr::Text { text })
                }
            }
            SearchField::Number(field) => {
                let (lower, upper) =
                    self.range(start, field.as_str(), |parser, at| parser.number(at))?;
                Ok(Expr::NumberRange {
                    field,
                    lower,
                    upper,
                })
            }
            SearchField::Time => {
                let (lower, upper) =
                    self.range(start, "time", |parser, at| parser.time_point(at))?;
                Ok(Expr::TimeRange { lower, upper })
            }
        }
    }

    /// A comparison (`>5`), a bracketed range (`[2 TO 10}`) or, for numbers, one value.
    #[allow(clippy::type_complexity)]
    fn range<T: Copy>(
        &mut self,
        start: usize,
        name: &str,
        value: fn(&mut Self, usize) -> Parsed<T>,
    ) -> Parsed<(Option<Bound<T>>, Option<Bound<T>>)> {
        let comparison = match (self.peek(), self.peek_at(1)) {
            (Some('>'), Some('=')) => Some((true, true, 2)),
            (Some('>'), _) => Some((true, false, 1)),
            (Some('<'), Some('=')) => Some((false, true, 2)),
            (Some('<'), _) => Some((false, false, 1)),
            _ => None,
        };
        if let Some((is_lower, inclusive, length)) = comparison {
            self.position += length;
            let at = self.position;
            let bound = Bound {
                value: value(self, at)?,
                inclusive,
            };
            return Ok(if is_lower {
                (Some(bound), None)
            } else {
                (None, Some(bound))
            });
        }
        let lower_inclusive = match self.peek() {
            Some('[') => true,
            Some('{') => false,
            _ if name == "time" => {
                return self.error(
                    start,
                    "time takes a range: time:>now-1h, time:<2026-11-25T10:00:00Z or time:[A TO B]",
                );
            }
            _ => {
                let at = self.position;
                let number = value(self, at)?;
                let bound = Bound {
                    value: number,
                    inclusive: true,
                };
                return Ok((Some(bound), Some(bound)));
            }
        };
        self.position += 1;
        self.skip_whitespace();
        let lower = self.range_end(value, lower_inclusive)?;
        self.skip_whitespace();
        if !self.at_range_keyword() {
            return self.error(
                self.position,
                format!("expected `TO` in the range, found {}", shown(self.peek())),
            );
        }
        self.position += 2;
        self.skip_whitespace();
        // The upper end's inclusivity is known only at its closing bracket.
        let upper = self.range_end(value, true)?;
        self.skip_whitespace();
        let upper_inclusive = match self.peek() {
            Some(']') => true,
            Some('}') => false,
            other => {
                return self.error(
                    self.position,
                    format!(
                        "expected `]` or `}}` to close the range, found {}",
                        shown(other)
                    ),
                );
            }
        };
        self.position += 1;
        Ok((
            lower,
            upper.map(|bound| Bound {
                value: bound.value,
                inclusive: upper_inclusive,
            }),
        ))
    }

    fn at_range_keyword(&self) -> bool {
        self.peek() == Some('T')
            && self.peek_at(1) == Some('O')
            && self.peek_at(2).is_none_or(char::is_whitespace)
    }

    /// One end of a bracketed range: `*` (open) or a value.
    fn range_end<T>(
        &mut self,
        value: fn(&mut Self, usize) -> Parsed<T>,
        inclusive: bool,
    ) -> Parsed<Option<Bound<T>>> {
        if self.peek() == Some('*')
            && self
                .peek_at(1)
                .is_none_or(|c| c.is_whitespace() || matches!(c, ']' | '}'))
        {
            self.position += 1;
            return Ok(None);
        }
        let at = self.position;
        Ok(Some(Bound {
            value: value(self, at)?,
            inclusive,
        }))
    }

    fn value_word(&mut self) -> String {
        self.word(|c| ends_word(c) || matches!(c, ']' | '}'))
    }

    fn number(&mut self, at: usize) -> Parsed<i64> {
        let word = self.value_word();
        match word.parse::<i64>() {
            Ok(number) => Ok(number),
            Err(_) if word.is_empty() => self.error(at, "expected a number"),
            Err(_) => self.error(at, format!("`{word}` is not a whole number")),
        }
    }

    fn time_point(&mut self, at: usize) -> Parsed<TimePoint> {
        let word = self.value_word();
        if word.is_empty() {
            return self.error(
                at,
                "expected a time: now, now-1h, RFC 3339 or epoch milliseconds",
            );
        }
        if let Some(rest) = word.strip_prefix("now") {
            if rest.is_empty() {
                return Ok(TimePoint::Now { offset_ms: 0 });
            }
            let (sign, amount) = match rest.split_at(1) {
                ("-", amount) => (-1, amount),
                ("+", amount) => (1, amount),
                _ => return self.error(at + 3, "expected `-` or `+` after now, e.g. now-1h"),
            };
            let Some(ms) = duration_ms(amount) else {
                return self.error(
                    at + 4,
                    format!("`{amount}` is not a duration: use a number and ms, s, m, h or d"),
                );
            };
            return Ok(TimePoint::Now {
                offset_ms: sign * ms,
            });
        }
        if let Ok(ms) = word.parse::<i64>() {
            return Ok(TimePoint::Absolute { ms });
        }
        match word.parse::<jiff::Timestamp>() {
            Ok(timestamp) => Ok(TimePoint::Absolute {
                ms: timestamp.as_millisecond(),
            }),
            Err(_) => self.error(
                at,
                format!("`{word}` is not a time: use now, now-1h, RFC 3339 (2026-11-25T10:00:00Z) or epoch milliseconds"),
            ),
        }
    }

    // ---- pipes ----

    fn pipe(&mut self) -> Parsed<Pipe> {
        self.skip_whitespace();
        let start = self.position;
        self.pipe_starts.push(start);
        self.pipe_names.push(Vec::new());
        let Some(command) = self.ident() else {
            return self.error(
                start,
                format!("expected a command after `|` (stats, timechart, top, sort, head, fields, dedup), found {}", shown(self.peek())),
            );
        };
        let pipe = match command.to_ascii_lowercase().as_str() {
            "stats" => self.stats()?,
            "timechart" => self.timechart()?,
            "top" => {
                let limit = self.optional_count()?.unwrap_or(DEFAULT_LIMIT);
                let field = self.column_ref()?;
                Pipe::Top { limit, field }
            }
            "sort" => {
                let mut keys = Vec::new();
                loop {
                    self.skip_whitespace();
                    let descending = match self.peek() {
                        Some('-') => {
                            self.position += 1;
                            true
                        }
                        Some('+') => {
                            self.position += 1;
                            false
                        }
                        _ => false,
                    };
                    let column = self.column_ref()?;
                    keys.push(SortKey { column, descending });
                    if !self.list_continues() {
                        break;
                    }
                }
                Pipe::Sort { keys }
            }
            "head" => Pipe::Head {
                limit: self.optional_count()?.unwrap_or(DEFAULT_LIMIT),
            },
            "fields" => Pipe::Fields {
                fields: self.column_list()?,
            },
            "dedup" => Pipe::Dedup {
                fields: self.column_list()?,
            },
            _ => {
                return self.error(
                    start,
                    format!("unknown command `{command}`: use stats, timechart, top, sort, head, fields or dedup"),
                );
            }
        };
        self.skip_whitespace();
        match self.peek() {
            None | Some('|') => Ok(pipe),
            other => self.error(
                self.position,
                format!(
                    "unexpected {} in `{}`",
                    shown(other),
                    command.to_ascii_lowercase()
                ),
            ),
        }
    }

    fn ident(&mut self) -> Option<String> {
        self.skip_whitespace();
        if !self.peek().is_some_and(is_ident_start) {
            return None;
        }
        Some(self.word(|c| !is_ident(c)))
    }

    /// A column name: `name` or `function(name)` (an aggregation's default name).
    fn column_ref(&mut self) -> Parsed<String> {
        self.skip_whitespace();
        let start = self.position;
        let Some(mut name) = self.ident() else {
            return self.error(
                start,
                format!("expected a column name, found {}", shown(self.peek())),
            );
        };
        if self.peek() == Some('(') {
            self.position += 1;
            let inner = self.ident().unwrap_or_default();
            self.skip_whitespace();
            if self.peek() != Some(')') {
                return self.error(
                    self.position,
                    format!("expected `)`, found {}", shown(self.peek())),
                );
            }
            self.position += 1;
            name = format!("{name}({inner})");
        }
        if let Some(names) = self.pipe_names.last_mut() {
            names.push((name.clone(), start));
        }
        Ok(name)
    }

    /// After a list item: true when a `,` or another name follows.
    fn list_continues(&mut self) -> bool {
        self.skip_whitespace();
        if self.peek() == Some(',') {
            self.position += 1;
            return true;
        }
        matches!(self.peek(), Some(c) if is_ident_start(c) || c == '-' || c == '+')
    }

    fn column_list(&mut self) -> Parsed<Vec<String>> {
        let mut columns = vec![self.column_ref()?];
        while self.list_continues() {
            columns.push(self.column_ref()?);
        }
        Ok(columns)
    }

    fn optional_count(&mut self) -> Parsed<Option<u64>> {
        self.skip_whitespace();
        if !self.peek().is_some_and(|c| c.is_ascii_digit()) {
            return Ok(None);
        }
        let start = self.position;
        let word = self.word(|c| !c.is_ascii_digit());
        match word.parse::<u64>() {
            Ok(0) => self.error(start, "the limit must be at least 1"),
            Ok(count) => Ok(Some(count)),
            Err(_) => self.error(start, format!("`{word}` is too large")),
        }
    }

    fn at_word(&self, word: &str) -> bool {
        let length = word.len();
        word.chars().enumerate().all(|(offset, c)| {
            self.peek_at(offset)
                .is_some_and(|p| p.eq_ignore_ascii_case(&c))
        }) && !self.peek_at(length).is_some_and(is_ident)
    }

    fn eat_word(&mut self, word: &str) -> bool {
        self.skip_whitespace();
        if self.at_word(word) {
            self.position += word.len();
            true
        } else {
            false
        }
    }

    fn aggregation(&mut self) -> Parsed<Aggregation> {
        self.skip_whitespace();
        let start = self.position;
        let Some(name) = self.ident() else {
            return self.error(
                start,
                format!(
                    "expected an aggregation (count, sum, min, max, avg, dc), found {}",
                    shown(self.peek())
                ),
            );
        };
        let Some(function) = Function::parse(&name) else {
            return self.error(
                start,
                format!("unknown aggregation `{name}`: use count, sum, min, max, avg or dc"),
            );
        };
        let mut field = None;
        if self.peek() == Some('(') {
            self.position += 1;
            self.skip_whitespace();
            if self.peek() != Some(')') {
                field = Some(self.column_ref()?);
                self.skip_whitespace();
            }
            if self.peek() != Some(')') {
                return self.error(
                    self.position,
                    format!("expected `)`, found {}", shown(self.peek())),
                );
            }
            self.position += 1;
        } else if function != Function::Count {
            return self.error(
                self.position,
                format!(
                    "{} needs a column in parentheses, e.g. {}(occurrences)",
                    function.as_str(),
                    function.as_str()
                ),
            );
        }
        let mut alias = None;
        if self.eat_word("as") {
            self.skip_whitespace();
            let at = self.position;
            match self.ident() {
                Some(name)
                    if !name.eq_ignore_ascii_case("by") && !name.eq_ignore_ascii_case("as") =>
                {
                    if let Some(names) = self.pipe_names.last_mut() {
                        names.push((name.clone(), at));
                    }
                    alias = Some(name);
                }
                _ => return self.error(at, "expected a name after `as`"),
            }
        }
        Ok(Aggregation {
            function,
            field,
            alias,
        })
    }

    fn stats(&mut self) -> Parsed<Pipe> {
        let mut aggregations = vec![self.aggregation()?];
        loop {
            self.skip_whitespace();
            if self.peek() == Some(',') {
                self.position += 1;
                aggregations.push(self.aggregation()?);
                continue;
            }
            if self.at_word("by") || matches!(self.peek(), None | Some('|')) {
                break;
            }
            if self.peek().is_some_and(is_ident_start) {
                aggregations.push(self.aggregation()?);
                continue;
            }
            break;
        }
        let by = if self.eat_word("by") {
            self.column_list()?
        } else {
            Vec::new()
        };
        Ok(Pipe::Stats { aggregations, by })
    }

    fn timechart(&mut self) -> Parsed<Pipe> {
        self.skip_whitespace();
        let start = self.position;
        if !self.eat_word("span") {
            return self.error(
                start,
                "timechart needs a span first, e.g. timechart span=5m count",
            );
        }
        self.skip_whitespace();
        if self.peek() != Some('=') {
            return self.error(self.position, "expected `=` after span, e.g. span=5m");
        }
        self.position += 1;
        self.skip_whitespace();
        let at = self.position;
        let word = self.word(|c| c.is_whitespace() || c == '|');
        let span_ms = match duration_ms(&word) {
            Some(ms) if ms > 0 => ms,
            _ => {
                return self.error(
                    at,
                    format!("`{word}` is not a span: use a number and ms, s, m, h or d, e.g. 5m"),
                );
            }
        };
        let aggregation = self.aggregation()?;
        let by = if self.eat_word("by") {
            Some(self.column_ref()?)
        } else {
            None
        };
        Ok(Pipe::Timechart {
            span_ms,
            aggregation,
            by,
        })
    }
}

/// Milliseconds in `5m`, `90s`, `1h`, `7d`, `250ms` (`None` when malformed or out of range).
pub fn duration_ms(text: &str) -> Option<i64> {
    let digits_end = text.find(|c: char| !c.is_ascii_digit())?;
    let (number, unit) = text.split_at(digits_end);
    let number: i64 = number.parse().ok()?;
    let unit_ms = match unit {
        "ms" => 1,
        "s" => 1_000,
        "m" => 60_000,
        "h" => 3_600_000,
        "d" => 86_400_000,
        _ => return None,
    };
    number.checked_mul(unit_ms)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::field::{Field, NumberField};

    fn term(field: Field, value: &str) -> Expr {
        Expr::Term {
            field,
            value: value.into(),
        }
    }

    fn error_of(text: &str) -> ParseError {
        match parse(text) {
            Ok(query) => panic!("{text:?} parsed as {query:?}"),
            Err(error) => error,
        }
    }

    #[test]
    fn the_issue_search_parses_into_the_expected_tree() {
        let query = parse(
            r#"type:Warning reason:(BackOff OR Unhealthy) namespace:prod-* "connection refused" -kind:Node"#,
        )
        .unwrap();
        assert_eq!(
            query.search,
            Expr::And {
                clauses: vec![
                    term(Field::Type, "Warning"),
                    Expr::Or {
                        clauses: vec![
                            term(Field::Reason, "BackOff"),
                            term(Field::Reason, "Unhealthy")
                        ]
                    },
                    Expr::Wildcard {
                        field: Some(Field::Namespace),
                        pattern: "prod-*".into()
                    },
                    Expr::Phrase {
                        text: "connection refused".into()
                    },
                    Expr::Not {
                        clause: Box::new(term(Field::Kind, "Node"))
                    },
                ]
            }
        );
        assert!(query.pipes.is_empty());
    }

    #[test]
    fn the_issue_pipes_parse() {
        let query = parse(
            "type:Warning | stats sum(occurrences) as n by namespace, reason | sort -n | head 10",
        )
        .unwrap();
        assert_eq!(
            query.pipes,
            vec![
                Pipe::Stats {
                    aggregations: vec![Aggregation {
                        function: Function::Sum,
                        field: Some("occurrences".into()),
                        alias: Some("n".into()),
                    }],
                    by: vec!["namespace".into(), "reason".into()],
                },
                Pipe::Sort {
                    keys: vec![SortKey {
                        column: "n".into(),
                        descending: true
                    }]
                },
                Pipe::Head { limit: 10 },
            ]
        );
        let chart = parse("* | timechart span=5m sum(occurrences) by type").unwrap();
        assert_eq!(
            chart.pipes,
            vec![Pipe::Timechart {
                span_ms: 300_000,
                aggregation: Aggregation {
                    function: Function::Sum,
                    field: Some("occurrences".into()),
                    alias: None
                },
                by: Some("type".into()),
            }]
        );
    }

    #[test]
    fn the_issue_example_as_one_query_points_at_timechart() {
        let text = "type:Warning | stats sum(occurrences) as n by namespace, reason | sort -n | head 10\n| timechart span=5m sum(occurrences) by type";
        let error = error_of(text);
        assert_eq!((error.line, error.column), (2, 3));
        assert!(
            error.message.contains("timechart needs the event time"),
            "{error}"
        );
    }

    #[test]
    fn precedence_or_binds_weaker_than_and() {
        let query = parse("a b OR c NOT d").unwrap();
        let text = |t: &str| Expr::Text { text: t.into() };
        assert_eq!(
            query.search,
            Expr::Or {
                clauses: vec![
                    Expr::And {
                        clauses: vec![text("a"), text("b")]
                    },
                    Expr::And {
                        clauses: vec![
                            text("c"),
                            Expr::Not {
                                clause: Box::new(text("d"))
                            }
                        ]
                    },
                ]
            }
        );
        assert_eq!(parse("a AND b").unwrap(), parse("a b").unwrap());
        assert_eq!(parse("NOT a").unwrap(), parse("-a").unwrap());
    }

    #[test]
    fn ranges_on_numbers_and_times() {
        let count = |text: &str| parse(text).unwrap().search;
        assert_eq!(
            count("occurrences:>5"),
            Expr::NumberRange {
                field: NumberField::Occurrences,
                lower: Some(Bound {
                    value: 5,
                    inclusive: false
                }),
                upper: None
            }
        );
        assert_eq!(
            count("count:[2 TO 10}"),
            Expr::NumberRange {
                field: NumberField::Count,
                lower: Some(Bound {
                    value: 2,
                    inclusive: true
                }),
                upper: Some(Bound {
                    value: 10,
                    inclusive: false
                })
            }
        );
        assert_eq!(
            count("count:7"),
            Expr::NumberRange {
                field: NumberField::Count,
                lower: Some(Bound {
                    value: 7,
                    inclusive: true
                }),
                upper: Some(Bound {
                    value: 7,
                    inclusive: true
                })
            }
        );
        assert_eq!(
            count("count:<=-3"),
            Expr::NumberRange {
                field: NumberField::Count,
                lower: None,
                upper: Some(Bound {
                    value: -3,
                    inclusive: true
                })
            }
        );
        assert_eq!(
            count("time:>now-1h"),
            Expr::TimeRange {
                lower: Some(Bound {
                    value: TimePoint::Now {
                        offset_ms: -3_600_000
                    },
                    inclusive: false
                }),
                upper: None
            }
        );
        assert_eq!(
            count("time:[2026-11-25T10:00:00Z TO *]"),
            Expr::TimeRange {
                lower: Some(Bound {
                    value: TimePoint::Absolute {
                        ms: 1_795_600_800_000
                    },
                    inclusive: true
                }),
                upper: None
            }
        );
        assert_eq!(
            count("time:<1000"),
            Expr::TimeRange {
                lower: None,
                upper: Some(Bound {
                    value: TimePoint::Absolute { ms: 1000 },
                    inclusive: false
                })
            }
        );
    }

    #[test]
    fn quoted_values_escape_and_disable_wildcards() {
        assert_eq!(
            parse(r#"name:"web-*" reason:"a \"b\" \\""#).unwrap().search,
            Expr::And {
                clauses: vec![
                    term(Field::Name, "web-*"),
                    term(Field::Reason, r#"a "b" \"#)
                ]
            }
        );
        assert_eq!(parse(r#"node:"""#).unwrap().search, term(Field::Node, ""));
        assert_eq!(
            parse("message:oom*").unwrap().search,
            Expr::Wildcard {
                field: None,
                pattern: "oom*".into()
            }
        );
        assert_eq!(parse("*").unwrap().search, Expr::All);
        assert_eq!(parse("").unwrap(), Query::search(Expr::All));
        assert_eq!(
            parse("  | head").unwrap().pipes,
            vec![Pipe::Head { limit: 10 }]
        );
    }

    #[test]
    fn errors_point_at_the_column() {
        let cases = [
            ("type:Warning namspace:prod", 14, "unknown field `namspace`"),
            ("reason:(BackOff OR Unhealthy", 29, "expected `)`"),
            ("\"connection refused", 1, "never closed"),
            ("count:>abc", 8, "not a whole number"),
            ("time:>yesterday", 7, "not a time"),
            ("time:now", 6, "time takes a range"),
            ("namespace:>a", 11, "is a string"),
            ("count:[1 10]", 10, "expected `TO`"),
            ("a | stats sum(occurrences) by message", 31, "free text"),
            ("a | stats avg(reason)", 15, "needs a number column"),
            ("a | stats count by nope", 20, "no column `nope`"),
            ("a | sort -n", 11, "no column `n`"),
            ("a | frobnicate", 5, "unknown command"),
            ("a | head 0", 10, "at least 1"),
            ("a | timechart sum(occurrences)", 15, "needs a span"),
            ("a | timechart span=5x count", 20, "not a span"),
            (
                "a | stats count as n, sum(count) as n",
                37,
                "two columns would be called `n`",
            ),
            ("a )", 3, "no `(` to close"),
            ("a OR", 5, "expected a search term"),
            ("AND a", 1, "needs a term before it"),
            ("a | stats median(count)", 11, "unknown aggregation"),
            (
                "a | fields time, namespace | top reason",
                34,
                "no column `reason`",
            ),
            ("a | head 10 x", 13, "unexpected `x`"),
            ("type:", 6, "expected a value"),
            ("10.0.0.7:5432", 1, "unknown field `10.0.0.7`"),
        ];
        for (text, column, needle) in cases {
            let error = error_of(text);
            assert_eq!(error.line, 1, "{text}");
            assert_eq!(error.column, column, "{text}: {error}");
            assert!(error.message.contains(needle), "{text}: {error}");
        }
    }

    #[test]
    fn nesting_is_bounded() {
        let deep = "(".repeat(10_000) + "a" + &")".repeat(10_000);
        assert!(error_of(&deep).message.contains("nests deeper"));
        let negations = "-".repeat(10_000) + "a";
        assert!(error_of(&negations).message.contains("nests deeper"));
        let fine = "(".repeat(20) + "a" + &")".repeat(20);
        assert!(parse(&fine).is_ok());
    }

    #[test]
    fn pipes_accept_commas_or_spaces_and_any_case() {
        let spaced = parse("* | STATS count sum(occurrences) by namespace reason | SORT -count +namespace | fields namespace count | dedup namespace").unwrap();
        let commas = parse("* | stats count, sum(occurrences) by namespace, reason | sort -count, namespace | fields namespace, count | dedup namespace").unwrap();
        assert_eq!(spaced, commas);
        assert_eq!(
            parse("* | top 3 reason").unwrap().pipes,
            vec![Pipe::Top {
                limit: 3,
                field: "reason".into()
            }]
        );
        assert_eq!(
            parse("* | stats dc(name) | sort -dc(name)").unwrap().pipes[1],
            Pipe::Sort {
                keys: vec![SortKey {
                    column: "dc(name)".into(),
                    descending: true
                }]
            }
        );
        assert_eq!(
            parse("* | stats distinct_count(name) as pods")
                .unwrap()
                .pipes[0],
            Pipe::Stats {
                aggregations: vec![Aggregation {
                    function: Function::Dc,
                    field: Some("name".into()),
                    alias: Some("pods".into())
                }],
                by: vec![]
            }
        );
    }

    #[test]
    fn durations() {
        assert_eq!(duration_ms("5m"), Some(300_000));
        assert_eq!(duration_ms("250ms"), Some(250));
        assert_eq!(duration_ms("2d"), Some(172_800_000));
        assert_eq!(duration_ms("m"), None);
        assert_eq!(duration_ms("5"), None);
        assert_eq!(duration_ms("5y"), None);
        assert_eq!(duration_ms("99999999999999999d"), None);
    }
}
