//! Faults on demand: a [`FaultRule`] says what goes wrong ([`Fault`]), for which requests
//! ([`RequestMatcher`]) and how many times. Rules are consulted in the order they were added.

use std::time::Duration;

/// The Kubernetes verb of a request.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Verb {
    Get,
    List,
    Watch,
    Create,
    Update,
    Patch,
    Delete,
}

/// What goes wrong.
#[derive(Debug, Clone, PartialEq)]
pub enum Fault {
    /// WATCH: after `frames` frames the response ends cleanly (like a watch timeout).
    WatchCloseAfter { frames: usize },
    /// WATCH: after `frames` frames the TCP connection is reset (RST, no clean end).
    WatchResetAfter { frames: usize },
    /// WATCH: after `frames` whole frames, half of the next frame is written and the
    /// connection is cut (no terminating chunk).
    WatchCutMidFrameAfter { frames: usize },
    /// WATCH: `200 OK` with an empty body and an immediate close: the Event-specific answer to
    /// a watch from a stale resourceVersion. A client that simply re-watches from the same
    /// resourceVersion spins; it must relist.
    WatchEmptyResponse,
    /// WATCH: `410 Gone` (Status `Expired`) instead of starting the stream.
    WatchGone,
    /// LIST with `continue`: `410 Gone` with a fresh, inconsistent continue token in the Status.
    ContinueGone,
    /// `429 Too Many Requests` (API Priority and Fairness) with `Retry-After`.
    TooManyRequests { retry_after_seconds: u32 },
    /// `503 Service Unavailable` with `Retry-After`.
    ServiceUnavailable { retry_after_seconds: u32 },
    /// `500 Internal Server Error`.
    InternalError,
    /// `403 Forbidden` (RBAC).
    Forbidden,
    /// WATCH: every frame is written in `pieces` chunks with `delay` between them.
    SlowSplitFrames { pieces: usize, delay: Duration },
}

impl Fault {
    fn applies_to(&self, verb: Verb, has_continue: bool) -> bool {
        match self {
            Fault::WatchCloseAfter { .. }
            | Fault::WatchResetAfter { .. }
            | Fault::WatchCutMidFrameAfter { .. }
            | Fault::WatchEmptyResponse
            | Fault::WatchGone
            | Fault::SlowSplitFrames { .. } => verb == Verb::Watch,
            Fault::ContinueGone => verb == Verb::List && has_continue,
            Fault::TooManyRequests { .. }
            | Fault::ServiceUnavailable { .. }
            | Fault::InternalError
            | Fault::Forbidden => true,
        }
    }

    /// Faults that replace the whole answer (as opposed to shaping or ending a watch stream).
    fn is_immediate(&self) -> bool {
        !matches!(
            self,
            Fault::WatchCloseAfter { .. }
                | Fault::WatchResetAfter { .. }
                | Fault::WatchCutMidFrameAfter { .. }
                | Fault::SlowSplitFrames { .. }
        )
    }
}

/// Which requests a rule applies to; every `None` matches anything.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct RequestMatcher {
    pub verb: Option<Verb>,
    /// Resource plural, e.g. `events`, `leases`.
    pub resource: Option<String>,
    /// API group: `""` for core, `events.k8s.io`, ...
    pub group: Option<String>,
    pub namespace: Option<String>,
}

/// A fault, the requests it hits, and for how many of them.
#[derive(Debug, Clone, PartialEq)]
pub struct FaultRule {
    pub fault: Fault,
    pub matcher: RequestMatcher,
    /// Matching requests left to hit; `None` until cleared.
    pub remaining: Option<u64>,
}

impl FaultRule {
    /// Hits every request the fault applies to, until cleared.
    pub fn new(fault: Fault) -> FaultRule {
        FaultRule {
            fault,
            matcher: RequestMatcher::default(),
            remaining: None,
        }
    }

    /// Hits only the next `count` matching requests.
    pub fn times(mut self, count: u64) -> FaultRule {
        self.remaining = Some(count);
        self
    }

    pub fn verb(mut self, verb: Verb) -> FaultRule {
        self.matcher.verb = Some(verb);
        self
    }

    pub fn resource(mut self, plural: &str) -> FaultRule {
        self.matcher.resource = Some(plural.to_string());
        self
    }

    pub fn group(mut self, group: &str) -> FaultRule {
        self.matcher.group = Some(group.to_string());
        self
    }

    pub fn namespace(mut self, namespace: &str) -> FaultRule {
        self.matcher.namespace = Some(namespace.to_string());
        self
    }
}

/// Identifies an injected rule, to clear it alone.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct FaultId(pub u64);

/// What the server knows about a request when it consults the rules.
#[derive(Debug, Clone)]
pub struct RequestFacts<'a> {
    pub verb: Verb,
    pub resource: &'a str,
    pub group: &'a str,
    pub namespace: Option<&'a str>,
    pub has_continue: bool,
}

/// The faults that hit one request.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct HitFaults {
    /// Replaces the answer.
    pub immediate: Option<Fault>,
    /// Ends the watch stream early.
    pub watch_ending: Option<Fault>,
    /// Slows and splits the watch frames.
    pub watch_shaping: Option<Fault>,
}

/// The injected rules.
#[derive(Debug, Default)]
pub struct FaultBook {
    rules: Vec<(FaultId, FaultRule)>,
    next_id: u64,
}

impl FaultBook {
    pub fn inject(&mut self, rule: FaultRule) -> FaultId {
        self.next_id += 1;
        let id = FaultId(self.next_id);
        self.rules.push((id, rule));
        id
    }

    pub fn clear(&mut self, id: FaultId) {
        self.rules.retain(|(rule_id, _)| *rule_id != id);
    }

    pub fn clear_all(&mut self) {
        self.rules.clear();
    }

    pub fn active(&self) -> Vec<FaultRule> {
        self.rules.iter().map(|(_, rule)| rule.clone()).collect()
    }

    /// Consumes the rules that hit this request: the first immediate fault alone if there is
    /// one (an answer that replaces the stream leaves stream faults for a later request),
    /// otherwise at most one stream ending and one stream shaping.
    pub fn take(&mut self, facts: &RequestFacts<'_>) -> HitFaults {
        let applies = |rule: &FaultRule| {
            matcher_matches(&rule.matcher, facts)
                && rule.fault.applies_to(facts.verb, facts.has_continue)
        };
        let mut hit = HitFaults::default();
        let immediate_position = self
            .rules
            .iter()
            .position(|(_, rule)| rule.fault.is_immediate() && applies(rule));
        let mut consumed = Vec::new();
        if let Some(position) = immediate_position {
            hit.immediate = Some(self.rules[position].1.fault.clone());
            consumed.push(position);
        } else {
            for (position, (_, rule)) in self.rules.iter().enumerate() {
                if !applies(rule) {
                    continue;
                }
                let slot = if matches!(rule.fault, Fault::SlowSplitFrames { .. }) {
                    &mut hit.watch_shaping
                } else {
                    &mut hit.watch_ending
                };
                if slot.is_none() {
                    *slot = Some(rule.fault.clone());
                    consumed.push(position);
                }
            }
        }
        for position in consumed {
            if let Some(remaining) = &mut self.rules[position].1.remaining {
                *remaining = remaining.saturating_sub(1);
            }
        }
        self.rules
            .retain(|(_, rule)| rule.remaining.is_none_or(|remaining| remaining > 0));
        hit
    }
}

fn matcher_matches(matcher: &RequestMatcher, facts: &RequestFacts<'_>) -> bool {
    matcher.verb.is_none_or(|verb| verb == facts.verb)
        && matcher
            .resource
            .as_deref()
            .is_none_or(|resource| resource == facts.resource)
        && matcher
            .group
            .as_deref()
            .is_none_or(|group| group == facts.group)
        && matcher
            .namespace
            .as_deref()
            .is_none_or(|namespace| Some(namespace) == facts.namespace)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn facts(verb: Verb) -> RequestFacts<'static> {
        RequestFacts {
            verb,
            resource: "events",
            group: "",
            namespace: None,
            has_continue: false,
        }
    }

    #[test]
    fn counted_rules_run_out_and_unmatched_requests_pass() {
        let mut book = FaultBook::default();
        book.inject(
            FaultRule::new(Fault::InternalError)
                .times(2)
                .verb(Verb::List),
        );
        assert_eq!(book.take(&facts(Verb::Watch)), HitFaults::default());
        assert_eq!(
            book.take(&facts(Verb::List)).immediate,
            Some(Fault::InternalError)
        );
        assert_eq!(
            book.take(&facts(Verb::List)).immediate,
            Some(Fault::InternalError)
        );
        assert_eq!(book.take(&facts(Verb::List)), HitFaults::default());
        assert!(book.active().is_empty());
    }

    #[test]
    fn watch_faults_combine_an_ending_and_a_shaping() {
        let mut book = FaultBook::default();
        book.inject(FaultRule::new(Fault::WatchResetAfter { frames: 2 }));
        let id = book.inject(FaultRule::new(Fault::SlowSplitFrames {
            pieces: 3,
            delay: Duration::from_millis(1),
        }));
        let hit = book.take(&facts(Verb::Watch));
        assert_eq!(hit.watch_ending, Some(Fault::WatchResetAfter { frames: 2 }));
        assert!(hit.watch_shaping.is_some());
        assert_eq!(book.take(&facts(Verb::List)), HitFaults::default());
        book.clear(id);
        assert!(book.take(&facts(Verb::Watch)).watch_shaping.is_none());
    }

    #[test]
    fn continue_gone_hits_only_lists_with_a_token() {
        let mut book = FaultBook::default();
        book.inject(FaultRule::new(Fault::ContinueGone).times(1));
        assert_eq!(book.take(&facts(Verb::List)), HitFaults::default());
        let with_token = RequestFacts {
            has_continue: true,
            ..facts(Verb::List)
        };
        assert_eq!(book.take(&with_token).immediate, Some(Fault::ContinueGone));
    }
}
