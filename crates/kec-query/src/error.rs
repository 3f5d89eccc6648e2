//! Parse errors that point at the offending column.

use serde::{Deserialize, Serialize};

/// Widest excerpt shown around an error, in characters.
const EXCERPT_WIDTH: usize = 72;

/// A query that could not be parsed or checked, with where.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, thiserror::Error)]
#[error("{message} (line {line}, column {column})")]
pub struct ParseError {
    /// What is wrong, lowercase, no trailing period.
    pub message: String,
    /// 1-based line of the offending character.
    pub line: usize,
    /// 1-based column (in characters) of the offending character on its line.
    pub column: usize,
    /// The offending line (shortened around the column when long) and a caret line under it.
    pub excerpt: String,
}

impl ParseError {
    /// An error at character index `position` of `text` (clamped to its end).
    pub fn at(text: &str, position: usize, message: impl Into<String>) -> ParseError {
        let mut line = 1;
        let mut line_start = 0;
        let chars: Vec<char> = text.chars().collect();
        let position = position.min(chars.len());
        for (index, character) in chars.iter().enumerate().take(position) {
            if *character == '\n' {
                line += 1;
                line_start = index + 1;
            }
        }
        let line_end = chars
            .iter()
            .skip(line_start)
            .position(|character| *character == '\n')
            .map_or(chars.len(), |offset| line_start + offset);
        let column = position - line_start + 1;
        // Show at most EXCERPT_WIDTH characters, the caret about two thirds in.
        let window_start = line_start.max(position.saturating_sub(EXCERPT_WIDTH * 2 / 3));
        let window_end = line_end.min(window_start + EXCERPT_WIDTH);
        let mut excerpt = String::new();
        if window_start > line_start {
            excerpt.push('…');
        }
        let shown: String = chars
            .get(window_start..window_end)
            .unwrap_or_default()
            .iter()
            .map(|character| if *character == '\t' { ' ' } else { *character })
            .collect();
        excerpt.push_str(&shown);
        if window_end < line_end {
            excerpt.push('…');
        }
        let caret_offset = position - window_start + usize::from(window_start > line_start);
        excerpt.push('\n');
        excerpt.push_str(&" ".repeat(caret_offset));
        excerpt.push('^');
        ParseError {
            message: message.into(),
            line,
            column,
            excerpt,
        }
    }

    /// The message, then the excerpt with its caret: what a terminal shows.
    pub fn pretty(&self) -> String {
        format!("{self}\n{}", self.excerpt)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn caret_sits_under_the_column() {
        let error = ParseError::at("type:Warning nope:x", 13, "unknown field `nope`");
        assert_eq!(error.line, 1);
        assert_eq!(error.column, 14);
        assert_eq!(error.excerpt, "type:Warning nope:x\n             ^");
        assert_eq!(
            error.to_string(),
            "unknown field `nope` (line 1, column 14)"
        );
    }

    #[test]
    fn second_line_and_end_of_text() {
        let error = ParseError::at("type:Warning\n| head x", 20, "bad");
        assert_eq!((error.line, error.column), (2, 8));
        assert_eq!(error.excerpt, "| head x\n       ^");
        let end = ParseError::at("(a", 99, "missing )");
        assert_eq!((end.line, end.column), (1, 3));
        assert_eq!(end.excerpt, "(a\n  ^");
    }

    #[test]
    fn long_lines_are_shortened_around_the_column() {
        let text = format!("{} bad {}", "a".repeat(200), "b".repeat(200));
        let error = ParseError::at(&text, 201, "bad");
        let mut lines = error.excerpt.lines();
        let shown = lines.next().unwrap_or_default();
        let caret = lines.next().unwrap_or_default();
        assert!(shown.chars().count() <= EXCERPT_WIDTH + 2);
        assert!(shown.starts_with('…') && shown.ends_with('…'));
        let caret_at = caret.chars().count() - 1;
        assert_eq!(shown.chars().nth(caret_at), Some('b'));
        assert_eq!(shown.chars().nth(caret_at + 1), Some('a'));
        assert_eq!(error.column, 202);
    }
}
