//! NPD's log rule engine: a ring buffer of the last `bufferSize` lines; each rule's regex is
//! anchored at the end of the newest line (`pattern + "\z"`) and matched against the buffer
//! joined with `\n`, so a rule can span lines. Temporary rules report an Event; permanent rules
//! set their condition True (with a condition-change Event when the status or reason changes).
//!
//! Like NPD, a rule that can never match a newline and has no start anchor only needs the
//! newest line, so the joined buffer is built only for real multi-line rules.

use regex::Regex;
use regex_syntax::ast::Ast;
use regex_syntax::hir::{Class, Hir, HirKind, Look};

use crate::config::RuleKind;
use crate::config::system_log::{LogRule, SystemLogConfig};
use crate::monitor::conditions::{condition_change_event, initial_conditions};
use crate::types::{Condition, ConditionStatus, Event, Severity, Status};

/// One log line as a watcher delivers it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LogLine {
    /// When it was logged (milliseconds since the Unix epoch).
    pub timestamp_ms: i64,
    /// The message, trimmed as NPD trims it.
    pub message: String,
}

/// A rule's regex anchored at the end of the buffer.
#[derive(Debug, Clone)]
pub struct CompiledPattern {
    regex: Regex,
    last_line_only: bool,
}

impl CompiledPattern {
    /// Compiles a rule pattern (Go RE2 syntax; the regex crate speaks the same dialect).
    pub fn compile(pattern: &str) -> Result<CompiledPattern, String> {
        // Compile the pattern alone first so an error cites it as written.
        Regex::new(pattern).map_err(|error| format!("invalid regex: {error}"))?;
        let go_pattern = super::goregex::translate_or_original(pattern);
        let regex = Regex::new(&format!("{go_pattern}\\z"))
            .map_err(|error| format!("invalid regex: {error}"))?;
        // `a|b\z` binds the anchor to the last branch only (as in NPD); such a rule must
        // see the whole buffer.
        let top_level_alternation = matches!(
            regex_syntax::ast::parse::Parser::new().parse(pattern),
            Ok(Ast::Alternation(_))
        );
        let last_line_only = !top_level_alternation
            && regex_syntax::Parser::new()
                .parse(&go_pattern)
                .is_ok_and(|hir| is_last_line_only(&hir));
        Ok(CompiledPattern {
            regex,
            last_line_only,
        })
    }

    /// Whether only the newest line can match.
    pub fn last_line_only(&self) -> bool {
        self.last_line_only
    }
}

/// Whether a regex cannot match a newline and has no start-of-text or line anchor.
fn is_last_line_only(hir: &Hir) -> bool {
    match hir.kind() {
        HirKind::Empty => true,
        HirKind::Literal(literal) => !literal.0.contains(&b'\n'),
        HirKind::Class(Class::Unicode(class)) => class
            .ranges()
            .iter()
            .all(|range| !(range.start() <= '\n' && '\n' <= range.end())),
        HirKind::Class(Class::Bytes(class)) => class
            .ranges()
            .iter()
            .all(|range| !(range.start() <= b'\n' && b'\n' <= range.end())),
        HirKind::Look(look) => !matches!(
            look,
            Look::Start | Look::StartLF | Look::StartCRLF | Look::EndLF | Look::EndCRLF
        ),
        HirKind::Repetition(repetition) => is_last_line_only(&repetition.sub),
        HirKind::Capture(capture) => is_last_line_only(&capture.sub),
        HirKind::Concat(subs) | HirKind::Alternation(subs) => subs.iter().all(is_last_line_only),
    }
}

/// The last `max` lines; unfilled slots join as empty lines, as in NPD.
#[derive(Debug)]
pub struct LogBuffer {
    lines: Vec<Option<LogLine>>,
    current: usize,
    joined: Option<String>,
}

impl LogBuffer {
    /// A buffer of `max` lines (at least 1).
    pub fn new(max: usize) -> LogBuffer {
        LogBuffer {
            lines: vec![None; max.max(1)],
            current: 0,
            joined: None,
        }
    }

    fn max(&self) -> usize {
        self.lines.len()
    }

    /// Adds the newest line, dropping the oldest when full.
    pub fn push(&mut self, line: LogLine) {
        let slot = self.current % self.max();
        self.lines[slot] = Some(line);
        self.current += 1;
        self.joined = None;
    }

    fn newest(&self) -> Option<&LogLine> {
        let max = self.max();
        self.lines[(self.current + max - 1) % max].as_ref()
    }

    fn joined(&mut self) -> &str {
        if self.joined.is_none() {
            let max = self.max();
            let head = self.current % max;
            let mut text = String::new();
            for offset in 0..max {
                if offset > 0 {
                    text.push('\n');
                }
                if let Some(line) = &self.lines[(head + offset) % max] {
                    text.push_str(&line.message);
                }
            }
            self.joined = Some(text);
        }
        self.joined.as_deref().unwrap_or_default()
    }

    /// The lines a pattern matched, oldest first; empty when it did not match.
    pub fn matches(&mut self, pattern: &CompiledPattern) -> Vec<&LogLine> {
        if pattern.last_line_only {
            return match self.newest() {
                Some(line) if pattern.regex.is_match(&line.message) => vec![line],
                _ => Vec::new(),
            };
        }
        let (start, total_len) = {
            let joined = self.joined();
            match pattern.regex.find(joined) {
                Some(found) => (found.start(), joined.len()),
                None => return Vec::new(),
            }
        };
        // Walk back from the newest line until the lines cover the match start (NPD's walk).
        let reach = total_len - start - 1;
        let max = self.max();
        let mut covered = 0;
        let mut matched = Vec::new();
        for back in 0..max {
            let index = (self.current + max - 1 - back) % max;
            let Some(line) = self.lines[index].as_ref() else {
                break;
            };
            matched.push(line);
            covered += line.message.len() + 1;
            if covered > reach {
                break;
            }
        }
        matched.reverse();
        matched
    }
}

/// Rules, buffer and conditions of one system log monitor.
#[derive(Debug)]
pub struct RuleEngine {
    source: String,
    rules: Vec<(LogRule, CompiledPattern)>,
    buffer: LogBuffer,
    conditions: Vec<Condition>,
    skip_list: Vec<String>,
}

impl RuleEngine {
    /// Builds the engine with every condition at its default; `skip_messages` drops messages
    /// containing any of these strings before matching.
    pub fn new(
        config: &SystemLogConfig,
        skip_messages: Vec<String>,
        now_ms: i64,
    ) -> Result<RuleEngine, String> {
        let mut rules = Vec::with_capacity(config.rules.len());
        for rule in &config.rules {
            rules.push((rule.clone(), CompiledPattern::compile(&rule.pattern)?));
        }
        Ok(RuleEngine {
            source: config.source.clone(),
            rules,
            buffer: LogBuffer::new(config.buffer_size),
            conditions: initial_conditions(&config.conditions, now_ms),
            skip_list: skip_messages,
        })
    }

    /// The current status without events.
    pub fn status(&self) -> Status {
        Status {
            source: self.source.clone(),
            events: Vec::new(),
            conditions: self.conditions.clone(),
        }
    }

    /// Current conditions.
    pub fn conditions(&self) -> &[Condition] {
        &self.conditions
    }

    /// Feeds one line; appends one Status per matching rule, as NPD does.
    pub fn process(&mut self, line: LogLine, out: &mut Vec<Status>) {
        if self
            .skip_list
            .iter()
            .any(|skip| line.message.contains(skip.as_str()))
        {
            return;
        }
        self.buffer.push(line);
        for index in 0..self.rules.len() {
            let (rule, pattern) = &self.rules[index];
            let matched = self.buffer.matches(pattern);
            if matched.is_empty() {
                continue;
            }
            let timestamp_ms = matched[0].timestamp_ms;
            let mut message = matched
                .iter()
                .map(|line| line.message.as_str())
                .collect::<Vec<_>>()
                .join("\n");
            if !rule.pattern_generated_message_suffix.is_empty() {
                message.push_str("; ");
                message.push_str(&rule.pattern_generated_message_suffix);
            }
            let mut events = Vec::new();
            match rule.kind {
                RuleKind::Temporary => events.push(Event {
                    severity: Severity::Warn,
                    timestamp_ms,
                    reason: rule.reason.clone(),
                    message,
                }),
                RuleKind::Permanent => {
                    if let Some(condition) = self
                        .conditions
                        .iter_mut()
                        .find(|c| c.condition_type == rule.condition)
                    {
                        // Changed only when the status or the reason changes (NPD).
                        if condition.status == ConditionStatus::False
                            || condition.reason != rule.reason
                        {
                            condition.transition_ms = timestamp_ms;
                            events.push(condition_change_event(
                                &condition.condition_type,
                                ConditionStatus::True,
                                &rule.reason,
                                &message,
                                timestamp_ms,
                            ));
                            condition.message = message;
                        }
                        condition.status = ConditionStatus::True;
                        condition.reason.clone_from(&rule.reason);
                    }
                }
            }
            out.push(Status {
                source: self.source.clone(),
                events,
                conditions: self.conditions.clone(),
            });
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn line(message: &str) -> LogLine {
        LogLine {
            timestamp_ms: 0,
            message: message.to_string(),
        }
    }

    fn messages(lines: Vec<&LogLine>) -> Vec<String> {
        lines.into_iter().map(|l| l.message.clone()).collect()
    }

    #[test]
    fn single_line_rules_use_the_newest_line_only() {
        let pattern =
            CompiledPattern::compile(r"task [\S ]+:\w+ blocked for more than \w+ seconds\.")
                .unwrap_or_else(|e| panic!("{e}"));
        assert!(pattern.last_line_only());
        let mut buffer = LogBuffer::new(3);
        buffer.push(line(
            "INFO: task docker:20744 blocked for more than 120 seconds.",
        ));
        assert_eq!(buffer.matches(&pattern).len(), 1);
        // The match must reach the end of the newest line.
        buffer.push(line("      Tainted: G         C    3.16.0-4-amd64 #1"));
        assert!(buffer.matches(&pattern).is_empty());
    }

    #[test]
    fn multi_line_rules_report_every_covered_line() {
        let pattern =
            CompiledPattern::compile(r"first\nsecond \d+").unwrap_or_else(|e| panic!("{e}"));
        assert!(!pattern.last_line_only());
        let mut buffer = LogBuffer::new(3);
        buffer.push(line("zero"));
        buffer.push(line("first"));
        buffer.push(line("second 2"));
        assert_eq!(
            messages(buffer.matches(&pattern)),
            vec!["first", "second 2"]
        );
        // Once "first" leaves the ring, the rule no longer matches.
        buffer.push(line("x"));
        buffer.push(line("second 3"));
        assert!(buffer.matches(&pattern).is_empty());
    }

    #[test]
    fn dotall_and_anchors_disable_the_last_line_shortcut() {
        for pattern in ["(?s)a.b", "^foo", "(?m)foo$", "a|b", "[^x]"] {
            let compiled = CompiledPattern::compile(pattern).unwrap_or_else(|e| panic!("{e}"));
            assert!(!compiled.last_line_only(), "{pattern}");
        }
        for pattern in [
            r"EXT4-fs error .*",
            r".*\[Hardware Error\]: event severity: fatal$",
            r"(a|b)c",
        ] {
            let compiled = CompiledPattern::compile(pattern).unwrap_or_else(|e| panic!("{e}"));
            assert!(compiled.last_line_only(), "{pattern}");
        }
    }

    #[test]
    fn top_level_alternation_anchors_only_its_last_branch_like_npd() {
        let pattern = CompiledPattern::compile("alpha|omega").unwrap_or_else(|e| panic!("{e}"));
        let mut buffer = LogBuffer::new(3);
        buffer.push(line("alpha here"));
        buffer.push(line("later"));
        // `alpha` is unanchored, so it still matches two lines back; the lines from the
        // match start to the newest are reported.
        assert_eq!(
            messages(buffer.matches(&pattern)),
            vec!["alpha here", "later"]
        );
    }

    #[test]
    fn invalid_patterns_are_errors() {
        assert!(CompiledPattern::compile("(unclosed").is_err());
    }
}
