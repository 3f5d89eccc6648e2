//! Conditions at their default and NPD's condition-change Event (`util.GenerateConditionChangeEvent`).

use crate::config::ConditionConfig;
use crate::types::{Condition, ConditionStatus, Event, Severity};

/// Every configured condition at its default: False, with its configured reason and message.
pub fn initial_conditions(defaults: &[ConditionConfig], now_ms: i64) -> Vec<Condition> {
    defaults
        .iter()
        .map(|default| Condition {
            condition_type: default.condition_type.clone(),
            status: ConditionStatus::False,
            transition_ms: now_ms,
            reason: default.reason.clone(),
            message: default.message.clone(),
        })
        .collect()
}

/// The Event NPD reports when a condition changes: Warning when it becomes True, else Normal.
pub fn condition_change_event(
    condition_type: &str,
    status: ConditionStatus,
    reason: &str,
    message: &str,
    timestamp_ms: i64,
) -> Event {
    let severity = if status == ConditionStatus::True {
        Severity::Warn
    } else {
        Severity::Info
    };
    Event {
        severity,
        timestamp_ms,
        reason: reason.to_string(),
        message: format!(
            "Node condition {condition_type} is now: {}, reason: {reason}, message: {}",
            status.as_str(),
            go_quote(message)
        ),
    }
}

/// Go's `%q` of a string: double-quoted with Go escapes, printable Unicode kept.
pub fn go_quote(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + 2);
    out.push('"');
    for c in text.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\u{7}' => out.push_str("\\a"),
            '\u{8}' => out.push_str("\\b"),
            '\u{c}' => out.push_str("\\f"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '\u{b}' => out.push_str("\\v"),
            c if (c as u32) < 0x20 || c as u32 == 0x7f => {
                out.push_str(&format!("\\x{:02x}", c as u32));
            }
            c if c.is_control() => {
                let code = c as u32;
                if code <= 0xffff {
                    out.push_str(&format!("\\u{code:04x}"));
                } else {
                    out.push_str(&format!("\\U{code:08x}"));
                }
            }
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn change_event_reads_like_npds() {
        let event = condition_change_event(
            "KernelDeadlock",
            ConditionStatus::True,
            "DockerHung",
            "task docker:20744 blocked for more than 120 seconds.",
            7,
        );
        assert_eq!(event.severity, Severity::Warn);
        assert_eq!(
            event.message,
            "Node condition KernelDeadlock is now: True, reason: DockerHung, message: \"task docker:20744 blocked for more than 120 seconds.\""
        );
        let cleared = condition_change_event(
            "NTPProblem",
            ConditionStatus::False,
            "NTPIsUp",
            "a\nb\"c",
            7,
        );
        assert_eq!(cleared.severity, Severity::Info);
        assert!(cleared.message.ends_with("message: \"a\\nb\\\"c\""));
    }

    #[test]
    fn go_quote_escapes_control_bytes() {
        assert_eq!(go_quote("\u{1}é\t"), "\"\\x01é\\t\"");
    }
}
