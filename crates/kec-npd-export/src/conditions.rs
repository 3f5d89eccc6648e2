//! [`ConditionBook`]: the node conditions the agent publishes, merged from every monitor's
//! [`Status`], with the two rules NPD lacks:
//!
//! - **Restarts keep sick nodes sick (NPD #304).** A condition that is `True` on the Node when
//!   the agent starts stays `True` (with the Node's reason, message and transition time) until
//!   its monitor says otherwise. A log monitor ([`ConditionSemantics::Latched`]) says otherwise
//!   only when it reports that condition different from its default (its first report); a
//!   plugin or stats monitor ([`ConditionSemantics::Evaluated`]) says otherwise with its first
//!   report after the default one, because every report is a fresh check. The same holds
//!   when a log monitor restarts inside the agent and reports its default again.
//! - **Log-based conditions may clear (NPD #215, #673).** With a quiet period, a latched
//!   condition that nothing re-affirmed for that long goes back to its default (`False`, the
//!   default reason and message). A report affirms a `True` condition when it changed it, or
//!   when it carries no events: NPD's log monitor sends a permanent rule's repeat match as a
//!   status without events, while a temporary rule's match always carries its event. Off by
//!   default, like NPD.

use std::collections::HashMap;
use std::time::Duration;

use kec_npd::types::{Condition, ConditionStatus, Status};
use tokio::time::Instant;

/// How a monitor's conditions change over time.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ConditionSemantics {
    /// Conditions change only when a log line matches (system log monitors): a condition stays
    /// as it is until the next match.
    #[default]
    Latched,
    /// Every report is a fresh check (custom plugin and system stats monitors).
    Evaluated,
}

/// Why the book publishes something other than the monitor's latest report.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum HoldReason {
    /// `True` on the Node at start; the monitor has not spoken yet.
    FromNode,
    /// Cleared after the quiet period.
    QuietCleared,
    /// Raised again by a match after a quiet clear (with a fresh transition time).
    Reraised,
}

#[derive(Debug, Clone)]
struct Hold {
    reason: HoldReason,
    condition: Condition,
}

#[derive(Debug, Clone)]
struct Entry {
    semantics: ConditionSemantics,
    /// The monitor's first report: its default condition.
    initial: Condition,
    /// The monitor's latest report.
    monitor: Condition,
    reports: u64,
    hold: Option<Hold>,
    /// The last time a report (or the Node at start) affirmed a `True` condition.
    last_affirmed: Instant,
}

impl Entry {
    fn effective(&self) -> &Condition {
        self.hold
            .as_ref()
            .map(|hold| &hold.condition)
            .unwrap_or(&self.monitor)
    }
}

fn same_content(left: &Condition, right: &Condition) -> bool {
    left.status == right.status && left.reason == right.reason && left.message == right.message
}

/// See the module documentation.
#[derive(Debug, Clone, Default)]
pub struct ConditionBook {
    quiet_period: Option<Duration>,
    /// Condition types in the order they were first reported.
    order: Vec<String>,
    entries: HashMap<String, Entry>,
    /// Conditions that were `True` on the Node at start, by type.
    true_on_node: HashMap<String, Condition>,
    node_observed_at: Option<Instant>,
}

impl ConditionBook {
    /// A book; `quiet_period` clears latched conditions nothing re-affirmed for that long.
    pub fn new(quiet_period: Option<Duration>) -> ConditionBook {
        ConditionBook {
            quiet_period,
            ..ConditionBook::default()
        }
    }

    /// Takes the Node's conditions as read at start: each `True` one of a type a monitor
    /// reports is kept until that monitor says otherwise (types no monitor reports are never
    /// touched).
    pub fn observe_node(&mut self, node_conditions: &[Condition], now: Instant) {
        self.node_observed_at = Some(now);
        self.true_on_node = node_conditions
            .iter()
            .filter(|condition| condition.status == ConditionStatus::True)
            .map(|condition| (condition.condition_type.clone(), condition.clone()))
            .collect();
        let types: Vec<String> = self.entries.keys().cloned().collect();
        for condition_type in types {
            self.hold_from_node(&condition_type, now);
        }
    }

    fn hold_from_node(&mut self, condition_type: &str, now: Instant) {
        let Some(on_node) = self.true_on_node.get(condition_type) else {
            return;
        };
        let Some(entry) = self.entries.get_mut(condition_type) else {
            return;
        };
        let spoken = match entry.semantics {
            ConditionSemantics::Latched => !same_content(&entry.monitor, &entry.initial),
            ConditionSemantics::Evaluated => entry.reports > 1,
        };
        if spoken || entry.monitor.status == ConditionStatus::True {
            return;
        }
        entry.hold = Some(Hold {
            reason: HoldReason::FromNode,
            condition: on_node.clone(),
        });
        entry.last_affirmed = now;
    }

    /// Applies one monitor report. `wall_ms` is "now" for transitions the book makes itself.
    pub fn apply(
        &mut self,
        status: &Status,
        semantics: ConditionSemantics,
        now: Instant,
        wall_ms: i64,
    ) {
        for reported in &status.conditions {
            let condition_type = reported.condition_type.clone();
            let Some(entry) = self.entries.get_mut(&condition_type) else {
                self.order.push(condition_type.clone());
                self.entries.insert(
                    condition_type.clone(),
                    Entry {
                        semantics,
                        initial: reported.clone(),
                        monitor: reported.clone(),
                        reports: 1,
                        hold: None,
                        last_affirmed: now,
                    },
                );
                if self.node_observed_at.is_some() {
                    self.hold_from_node(&condition_type, now);
                }
                continue;
            };
            entry.reports += 1;
            entry.semantics = semantics;
            let changed = !same_content(reported, &entry.monitor);
            let spoken = match semantics {
                ConditionSemantics::Latched => !same_content(reported, &entry.initial),
                ConditionSemantics::Evaluated => true,
            };
            let affirmed =
                reported.status == ConditionStatus::True && (changed || status.events.is_empty());
            if affirmed {
                entry.last_affirmed = now;
            }
            // A log monitor never clears a condition itself: its default coming back after
            // `True` is a restarted monitor, which must not heal the node either.
            let restarted = semantics == ConditionSemantics::Latched
                && entry.monitor.status == ConditionStatus::True
                && reported.status != ConditionStatus::True
                && same_content(reported, &entry.initial);
            if restarted {
                let kept = entry.effective().clone();
                entry.hold = Some(Hold {
                    reason: HoldReason::FromNode,
                    condition: kept,
                });
                entry.monitor = reported.clone();
                continue;
            }
            entry.hold = match entry.hold.take() {
                Some(hold) if hold.reason == HoldReason::FromNode && spoken => None,
                Some(hold) if hold.reason == HoldReason::QuietCleared && affirmed => Some(Hold {
                    reason: HoldReason::Reraised,
                    condition: Condition {
                        transition_ms: wall_ms,
                        ..reported.clone()
                    },
                }),
                Some(hold) if hold.reason != HoldReason::FromNode && changed => None,
                other => other,
            };
            entry.monitor = reported.clone();
        }
    }

    /// Clears latched `True` conditions that nothing affirmed for the quiet period; `true`
    /// when something changed.
    pub fn expire_quiet(&mut self, now: Instant, wall_ms: i64) -> bool {
        let Some(quiet_period) = self.quiet_period else {
            return false;
        };
        let mut changed = false;
        for entry in self.entries.values_mut() {
            if entry.semantics != ConditionSemantics::Latched
                || entry.effective().status != ConditionStatus::True
                || now.saturating_duration_since(entry.last_affirmed) < quiet_period
            {
                continue;
            }
            entry.hold = Some(Hold {
                reason: HoldReason::QuietCleared,
                condition: Condition {
                    condition_type: entry.initial.condition_type.clone(),
                    status: ConditionStatus::False,
                    transition_ms: wall_ms,
                    reason: entry.initial.reason.clone(),
                    message: entry.initial.message.clone(),
                },
            });
            changed = true;
        }
        changed
    }

    /// The conditions to publish, in the order their types were first reported.
    pub fn conditions(&self) -> Vec<Condition> {
        self.order
            .iter()
            .filter_map(|condition_type| self.entries.get(condition_type))
            .map(|entry| entry.effective().clone())
            .collect()
    }

    /// Whether no monitor has reported yet.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use kec_npd::types::{Event, Severity};

    use super::*;

    fn condition(condition_type: &str, status: ConditionStatus, reason: &str) -> Condition {
        Condition {
            condition_type: condition_type.into(),
            status,
            transition_ms: 1_000,
            reason: reason.into(),
            message: format!("{reason} message"),
        }
    }

    fn status(conditions: Vec<Condition>, events: usize) -> Status {
        Status {
            source: "kernel-monitor".into(),
            events: (0..events)
                .map(|index| Event {
                    severity: Severity::Warn,
                    timestamp_ms: 2_000,
                    reason: format!("Temp{index}"),
                    message: "m".into(),
                })
                .collect(),
            conditions,
        }
    }

    fn default_kernel() -> Condition {
        condition(
            "KernelDeadlock",
            ConditionStatus::False,
            "KernelHasNoDeadlock",
        )
    }

    fn deadlock() -> Condition {
        condition("KernelDeadlock", ConditionStatus::True, "DockerHung")
    }

    #[test]
    fn npd_304_true_on_node_stays_true_until_the_log_monitor_changes_it() {
        let now = Instant::now();
        let mut book = ConditionBook::new(None);
        let on_node = Condition {
            transition_ms: 500,
            ..deadlock()
        };
        book.observe_node(
            &[
                on_node.clone(),
                condition("Ready", ConditionStatus::True, "KubeletReady"),
            ],
            now,
        );
        book.apply(
            &status(vec![default_kernel()], 0),
            ConditionSemantics::Latched,
            now,
            9,
        );
        assert_eq!(
            book.conditions(),
            std::slice::from_ref(&on_node),
            "Ready is not ours"
        );
        // A temporary rule's match re-sends the default: still held.
        book.apply(
            &status(vec![default_kernel()], 1),
            ConditionSemantics::Latched,
            now,
            9,
        );
        assert_eq!(book.conditions(), [on_node]);
        let mut other = deadlock();
        other.reason = "AUFSUmountHung".into();
        book.apply(
            &status(vec![other.clone()], 1),
            ConditionSemantics::Latched,
            now,
            9,
        );
        assert_eq!(book.conditions(), [other]);
    }

    #[test]
    fn a_restarted_log_monitor_does_not_clear_its_conditions() {
        let now = Instant::now();
        let mut book = ConditionBook::new(None);
        book.apply(
            &status(vec![default_kernel()], 0),
            ConditionSemantics::Latched,
            now,
            9,
        );
        book.apply(
            &status(vec![deadlock()], 1),
            ConditionSemantics::Latched,
            now,
            9,
        );
        // The monitor restarts and sends its initial status again.
        book.apply(
            &status(vec![default_kernel()], 0),
            ConditionSemantics::Latched,
            now,
            9,
        );
        assert_eq!(book.conditions(), std::slice::from_ref(&deadlock()));
        let mut other = deadlock();
        other.reason = "AUFSUmountHung".into();
        book.apply(
            &status(vec![other.clone()], 1),
            ConditionSemantics::Latched,
            now,
            9,
        );
        assert_eq!(book.conditions(), [other]);
    }

    #[test]
    fn node_read_after_the_first_report_still_holds() {
        let now = Instant::now();
        let mut book = ConditionBook::new(None);
        book.apply(
            &status(vec![default_kernel()], 0),
            ConditionSemantics::Latched,
            now,
            9,
        );
        book.observe_node(&[deadlock()], now);
        assert_eq!(book.conditions(), [deadlock()]);
    }

    #[test]
    fn an_evaluated_monitor_ends_the_hold_with_its_first_check() {
        let now = Instant::now();
        let mut book = ConditionBook::new(None);
        let problem = condition("NTPProblem", ConditionStatus::True, "NTPIsDown");
        let healthy = condition("NTPProblem", ConditionStatus::False, "NTPIsUp");
        book.observe_node(std::slice::from_ref(&problem), now);
        book.apply(
            &status(vec![healthy.clone()], 0),
            ConditionSemantics::Evaluated,
            now,
            9,
        );
        assert_eq!(book.conditions(), [problem]);
        book.apply(
            &status(vec![healthy.clone()], 0),
            ConditionSemantics::Evaluated,
            now,
            9,
        );
        assert_eq!(book.conditions(), [healthy]);
    }

    #[test]
    fn false_on_node_is_not_held() {
        let now = Instant::now();
        let mut book = ConditionBook::new(None);
        book.observe_node(
            &[condition("KernelDeadlock", ConditionStatus::False, "Old")],
            now,
        );
        book.apply(
            &status(vec![default_kernel()], 0),
            ConditionSemantics::Latched,
            now,
            9,
        );
        assert_eq!(book.conditions(), [default_kernel()]);
    }

    #[test]
    fn quiet_period_clears_latched_conditions_and_a_repeat_match_raises_them_again() {
        let start = Instant::now();
        let quiet = Duration::from_secs(600);
        let mut book = ConditionBook::new(Some(quiet));
        book.apply(
            &status(vec![default_kernel()], 0),
            ConditionSemantics::Latched,
            start,
            1,
        );
        book.apply(
            &status(vec![deadlock()], 1),
            ConditionSemantics::Latched,
            start,
            1,
        );
        assert!(!book.expire_quiet(start + Duration::from_secs(599), 2));
        // A temporary rule's event does not affirm the condition.
        book.apply(
            &status(vec![deadlock()], 1),
            ConditionSemantics::Latched,
            start + Duration::from_secs(300),
            3,
        );
        assert!(book.expire_quiet(start + quiet, 4));
        let cleared = &book.conditions()[0];
        assert_eq!(cleared.status, ConditionStatus::False);
        assert_eq!(cleared.reason, "KernelHasNoDeadlock");
        assert_eq!(cleared.transition_ms, 4);
        assert!(!book.expire_quiet(start + quiet * 2, 5), "already clear");
        // The permanent rule matches again: a status without events.
        book.apply(
            &status(vec![deadlock()], 0),
            ConditionSemantics::Latched,
            start + quiet * 2,
            6,
        );
        let raised = &book.conditions()[0];
        assert_eq!(raised.status, ConditionStatus::True);
        assert_eq!(raised.transition_ms, 6);
    }

    #[test]
    fn without_a_quiet_period_nothing_clears() {
        let start = Instant::now();
        let mut book = ConditionBook::new(None);
        book.apply(
            &status(vec![deadlock()], 0),
            ConditionSemantics::Latched,
            start,
            1,
        );
        assert!(!book.expire_quiet(start + Duration::from_secs(86_400), 2));
        assert_eq!(book.conditions(), [deadlock()]);
    }

    #[test]
    fn evaluated_conditions_never_clear_by_quiet_period() {
        let start = Instant::now();
        let mut book = ConditionBook::new(Some(Duration::from_secs(1)));
        let problem = condition("NTPProblem", ConditionStatus::True, "NTPIsDown");
        book.apply(
            &status(vec![problem.clone()], 0),
            ConditionSemantics::Evaluated,
            start,
            1,
        );
        assert!(!book.expire_quiet(start + Duration::from_secs(10), 2));
        assert_eq!(book.conditions(), [problem]);
    }
}
