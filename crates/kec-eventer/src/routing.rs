//! Routing and filters: the pipeline stage between the source and the sinks (sinks never
//! filter). A [`RouteConfig`] tree decides which sinks get each Event:
//!
//! - a route whose `drop` rules match any of them stops there: neither it nor its children
//!   send the Event anywhere;
//! - a route with `match` rules is entered only when one of them matches (no rules: always);
//! - an entered route sends to its `sinks` and then tries every child route;
//! - a sink reached by several routes gets the Event once.
//!
//! A rule matches when all the fields it names match. A field's patterns are alternatives; a
//! pattern is an exact string, or a regular expression between slashes (`/^Back-?[Oo]ff$/`,
//! unanchored unless anchored). Labels are the involved object's, from enrichment.

use std::collections::{BTreeMap, BTreeSet};

use kec_model::EventRecord;
use regex::Regex;
use serde::{Deserialize, Serialize};

/// One or more patterns: `reason: BackOff` or `reason: [BackOff, /^Failed/]`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(from = "OneOrMany", into = "OneOrMany")]
pub struct Patterns(pub Vec<String>);

#[derive(Serialize, Deserialize)]
#[serde(untagged)]
enum OneOrMany {
    One(String),
    Many(Vec<String>),
}

impl From<OneOrMany> for Patterns {
    fn from(value: OneOrMany) -> Patterns {
        match value {
            OneOrMany::One(one) => Patterns(vec![one]),
            OneOrMany::Many(many) => Patterns(many),
        }
    }
}

impl From<Patterns> for OneOrMany {
    fn from(value: Patterns) -> OneOrMany {
        OneOrMany::Many(value.0)
    }
}

impl Patterns {
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

/// Conditions on an Event; all that are given must hold.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RuleConfig {
    /// `Normal` or `Warning`.
    #[serde(rename = "type", skip_serializing_if = "Patterns::is_empty")]
    pub event_type: Patterns,
    #[serde(skip_serializing_if = "Patterns::is_empty")]
    pub namespace: Patterns,
    /// The involved object's kind.
    #[serde(skip_serializing_if = "Patterns::is_empty")]
    pub kind: Patterns,
    /// The involved object's name.
    #[serde(skip_serializing_if = "Patterns::is_empty")]
    pub name: Patterns,
    #[serde(skip_serializing_if = "Patterns::is_empty")]
    pub reason: Patterns,
    #[serde(skip_serializing_if = "Patterns::is_empty")]
    pub message: Patterns,
    /// `source.component`, or `reportingController` when that is empty.
    #[serde(skip_serializing_if = "Patterns::is_empty")]
    pub source_component: Patterns,
    /// `source.host`, or `reportingInstance` when that is empty.
    #[serde(skip_serializing_if = "Patterns::is_empty")]
    pub source_host: Patterns,
    /// kec's category (`oom`, `crash_loop`, `image_pull`, ...).
    #[serde(skip_serializing_if = "Patterns::is_empty")]
    pub category: Patterns,
    /// Labels of the involved object (from enrichment): every key listed must match.
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub labels: BTreeMap<String, Patterns>,
    /// The Event's count must be at least this.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub min_count: Option<i64>,
}

/// A node of the route tree (see the module documentation).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RouteConfig {
    /// Enter this route only when one of these matches (none: always).
    #[serde(rename = "match", skip_serializing_if = "Vec::is_empty")]
    pub match_rules: Vec<RuleConfig>,
    /// Stop here (this route and its children) when one of these matches.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub drop: Vec<RuleConfig>,
    /// Names of the sinks this route sends to.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub sinks: Vec<String>,
    /// Child routes, each tried when this one is entered.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub routes: Vec<RouteConfig>,
}

impl RouteConfig {
    /// The route used when the config has none: every sink gets every Event.
    pub fn everything_to(sinks: impl IntoIterator<Item = String>) -> RouteConfig {
        RouteConfig {
            sinks: sinks.into_iter().collect(),
            ..RouteConfig::default()
        }
    }

    /// Every problem of the tree: unknown sink names and bad regular expressions.
    pub fn problems(&self, field: &str, sink_names: &BTreeSet<String>) -> Vec<String> {
        match Route::compile(self, field, sink_names) {
            Ok(_) => Vec::new(),
            Err(problems) => problems,
        }
    }
}

/// One compiled pattern.
#[derive(Debug, Clone)]
enum Pattern {
    Exact(String),
    Regex(Regex),
}

impl Pattern {
    fn compile(text: &str, field: &str) -> Result<Pattern, String> {
        match text
            .strip_prefix('/')
            .and_then(|rest| rest.strip_suffix('/'))
        {
            Some(expression) if text.len() >= 2 => {
                Regex::new(expression).map(Pattern::Regex).map_err(|error| {
                    format!("{field}: {text:?} is not a valid regular expression: {error}")
                })
            }
            _ => Ok(Pattern::Exact(text.to_string())),
        }
    }

    fn matches(&self, value: &str) -> bool {
        match self {
            Pattern::Exact(exact) => exact == value,
            Pattern::Regex(regex) => regex.is_match(value),
        }
    }
}

/// Compiled alternatives of one field; empty matches anything.
#[derive(Debug, Clone, Default)]
struct Alternatives(Vec<Pattern>);

impl Alternatives {
    fn compile(patterns: &Patterns, field: &str, problems: &mut Vec<String>) -> Alternatives {
        let mut compiled = Vec::new();
        for text in &patterns.0 {
            match Pattern::compile(text, field) {
                Ok(pattern) => compiled.push(pattern),
                Err(problem) => problems.push(problem),
            }
        }
        Alternatives(compiled)
    }

    fn matches(&self, value: &str) -> bool {
        self.0.is_empty() || self.0.iter().any(|pattern| pattern.matches(value))
    }
}

/// A compiled [`RuleConfig`].
#[derive(Debug, Clone)]
pub struct Rule {
    event_type: Alternatives,
    namespace: Alternatives,
    kind: Alternatives,
    name: Alternatives,
    reason: Alternatives,
    message: Alternatives,
    source_component: Alternatives,
    source_host: Alternatives,
    category: Alternatives,
    labels: Vec<(String, Alternatives)>,
    min_count: Option<i64>,
}

/// What routing knows about an Event beyond the record (from enrichment).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Context {
    /// The involved object's labels.
    pub labels: BTreeMap<String, String>,
}

impl Rule {
    /// Compiles a rule; problems are appended, prefixed with `field`.
    pub fn compile(config: &RuleConfig, field: &str, problems: &mut Vec<String>) -> Rule {
        let mut alternatives = |patterns: &Patterns, name: &str| {
            Alternatives::compile(patterns, &format!("{field}.{name}"), problems)
        };
        let event_type = alternatives(&config.event_type, "type");
        let namespace = alternatives(&config.namespace, "namespace");
        let kind = alternatives(&config.kind, "kind");
        let name = alternatives(&config.name, "name");
        let reason = alternatives(&config.reason, "reason");
        let message = alternatives(&config.message, "message");
        let source_component = alternatives(&config.source_component, "source_component");
        let source_host = alternatives(&config.source_host, "source_host");
        let category = alternatives(&config.category, "category");
        let labels = config
            .labels
            .iter()
            .map(|(key, patterns)| {
                (
                    key.clone(),
                    alternatives(patterns, &format!("labels.{key}")),
                )
            })
            .collect();
        Rule {
            event_type,
            namespace,
            kind,
            name,
            reason,
            message,
            source_component,
            source_host,
            category,
            labels,
            min_count: config.min_count,
        }
    }

    /// Whether the Event matches every condition.
    pub fn matches(&self, record: &EventRecord, context: &Context) -> bool {
        let component = if record.source_component.is_empty() {
            &record.reporting_controller
        } else {
            &record.source_component
        };
        let host = if record.source_host.is_empty() {
            &record.reporting_instance
        } else {
            &record.source_host
        };
        self.event_type.matches(&record.event_type)
            && self.namespace.matches(&record.namespace)
            && self.kind.matches(&record.object.kind)
            && self.name.matches(&record.object.name)
            && self.reason.matches(&record.reason)
            && self.message.matches(&record.message)
            && self.source_component.matches(component)
            && self.source_host.matches(host)
            && self.category.matches(record.category.as_str())
            && self.min_count.is_none_or(|minimum| record.count >= minimum)
            && self.labels.iter().all(|(key, alternatives)| {
                context
                    .labels
                    .get(key)
                    .is_some_and(|value| alternatives.matches(value))
            })
    }
}

/// A compiled route tree; sinks are indexes into the eventer's sink list.
#[derive(Debug, Clone)]
pub struct Route {
    match_rules: Vec<Rule>,
    drop: Vec<Rule>,
    sinks: Vec<usize>,
    routes: Vec<Route>,
}

impl Route {
    /// Compiles the tree against the sinks' names (their order gives the indexes); every
    /// problem is listed.
    pub fn compile(
        config: &RouteConfig,
        field: &str,
        sink_names: &BTreeSet<String>,
    ) -> Result<Route, Vec<String>> {
        let names: Vec<&String> = sink_names.iter().collect();
        let mut problems = Vec::new();
        let route = Route::compile_into(config, field, &names, &mut problems);
        if problems.is_empty() {
            Ok(route)
        } else {
            Err(problems)
        }
    }

    fn compile_into(
        config: &RouteConfig,
        field: &str,
        names: &[&String],
        problems: &mut Vec<String>,
    ) -> Route {
        let rules = |rules: &[RuleConfig], kind: &str, problems: &mut Vec<String>| {
            rules
                .iter()
                .enumerate()
                .map(|(index, rule)| {
                    Rule::compile(rule, &format!("{field}.{kind}[{index}]"), problems)
                })
                .collect()
        };
        let match_rules = rules(&config.match_rules, "match", problems);
        let drop = rules(&config.drop, "drop", problems);
        let mut sinks = Vec::new();
        for name in &config.sinks {
            match names.iter().position(|known| *known == name) {
                Some(index) => sinks.push(index),
                None => problems.push(format!(
                    "{field}.sinks: no sink is named {name:?} (sinks: {})",
                    names
                        .iter()
                        .map(|name| name.as_str())
                        .collect::<Vec<_>>()
                        .join(", ")
                )),
            }
        }
        let routes = config
            .routes
            .iter()
            .enumerate()
            .map(|(index, child)| {
                Route::compile_into(child, &format!("{field}.routes[{index}]"), names, problems)
            })
            .collect();
        Route {
            match_rules,
            drop,
            sinks,
            routes,
        }
    }

    /// Marks in `targets` (one flag per sink) the sinks this Event goes to.
    pub fn route(&self, record: &EventRecord, context: &Context, targets: &mut [bool]) {
        if self.drop.iter().any(|rule| rule.matches(record, context)) {
            return;
        }
        if !self.match_rules.is_empty()
            && !self
                .match_rules
                .iter()
                .any(|rule| rule.matches(record, context))
        {
            return;
        }
        for sink in &self.sinks {
            if let Some(target) = targets.get_mut(*sink) {
                *target = true;
            }
        }
        for child in &self.routes {
            child.route(record, context, targets);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record(json: &str) -> EventRecord {
        match kec_model::parse_line(json.as_bytes(), "c", 0) {
            Ok(kec_model::ParsedLine::Observation(observation)) => observation.record,
            other => panic!("{other:?}"),
        }
    }

    fn warning_backoff() -> EventRecord {
        record(
            r#"{"metadata":{"name":"web.1","namespace":"prod"},"type":"Warning","reason":"BackOff","count":7,
                "message":"Back-off restarting failed container","source":{"component":"kubelet","host":"node-1"},
                "involvedObject":{"kind":"Pod","name":"web-1","namespace":"prod"}}"#,
        )
    }

    fn normal_pulled() -> EventRecord {
        record(
            r#"{"metadata":{"name":"web.2","namespace":"dev"},"type":"Normal","reason":"Pulled",
                "involvedObject":{"kind":"Pod","name":"web-2","namespace":"dev"}}"#,
        )
    }

    fn names(list: &[&str]) -> BTreeSet<String> {
        list.iter().map(|name| name.to_string()).collect()
    }

    fn targets(tree: &RouteConfig, sinks: &[&str], record: &EventRecord) -> Vec<String> {
        let sink_names = names(sinks);
        let route = Route::compile(tree, "route", &sink_names).unwrap();
        let mut flags = vec![false; sink_names.len()];
        route.route(record, &Context::default(), &mut flags);
        sink_names
            .iter()
            .zip(flags)
            .filter(|(_, flag)| *flag)
            .map(|(name, _)| name.clone())
            .collect()
    }

    fn tree() -> RouteConfig {
        serde_json::from_str(
            r#"{
                "drop": [{"namespace": "kube-system", "reason": "/^Pulled$/"}],
                "sinks": ["center"],
                "routes": [
                    {"match": [{"type": "Warning", "namespace": ["prod", "/^stage-/"]}], "sinks": ["chat"],
                     "routes": [{"match": [{"reason": "/Back-?[Oo]ff/", "min_count": 5}], "sinks": ["pager", "chat"]}]},
                    {"match": [{"source_component": "kubelet", "source_host": "/^node-/"}], "sinks": ["kubelet-log"]}
                ]
            }"#,
        )
        .unwrap()
    }

    #[test]
    fn a_warning_in_prod_goes_down_every_matching_branch_once() {
        let sinks = ["center", "chat", "kubelet-log", "pager"];
        assert_eq!(
            targets(&tree(), &sinks, &warning_backoff()),
            vec!["center", "chat", "kubelet-log", "pager"]
        );
        assert_eq!(targets(&tree(), &sinks, &normal_pulled()), vec!["center"]);
    }

    #[test]
    fn drop_rules_stop_the_route_and_its_children() {
        let dropped = record(
            r#"{"metadata":{"name":"x","namespace":"kube-system"},"reason":"Pulled","type":"Warning"}"#,
        );
        assert!(
            targets(
                &tree(),
                &["center", "chat", "kubelet-log", "pager"],
                &dropped
            )
            .is_empty()
        );
        let kept =
            record(r#"{"metadata":{"name":"x","namespace":"kube-system"},"reason":"Pulling"}"#);
        assert_eq!(
            targets(&tree(), &["center", "chat", "kubelet-log", "pager"], &kept),
            vec!["center"]
        );
    }

    #[test]
    fn min_count_and_labels_must_hold() {
        let sinks = names(&["a"]);
        let config: RouteConfig = serde_json::from_str(
            r#"{"routes": [{"match": [{"labels": {"team": ["/^pay/"]}, "min_count": 8}], "sinks": ["a"]}]}"#,
        )
        .unwrap();
        let route = Route::compile(&config, "route", &sinks).unwrap();
        let mut context = Context::default();
        context.labels.insert("team".into(), "payments".into());
        let mut flags = [false];
        route.route(&warning_backoff(), &context, &mut flags);
        assert_eq!(flags, [false], "count 7 is below 8");
        let mut busier = warning_backoff();
        busier.count = 8;
        route.route(&busier, &context, &mut flags);
        assert_eq!(flags, [true]);
        let mut flags = [false];
        route.route(&busier, &Context::default(), &mut flags);
        assert_eq!(flags, [false], "no labels known");
    }

    #[test]
    fn unknown_sinks_and_bad_regexes_are_all_reported() {
        let config: RouteConfig = serde_json::from_str(
            r#"{"sinks": ["nope"], "routes": [{"match": [{"reason": "/(/", "message": "/[/"}], "sinks": ["a", "b"]}]}"#,
        )
        .unwrap();
        let problems = config.problems("route", &names(&["a"]));
        assert_eq!(problems.len(), 4, "{problems:?}");
        assert!(problems[0].starts_with("route.sinks: no sink is named \"nope\""));
        assert!(
            problems
                .iter()
                .any(|problem| problem.starts_with("route.routes[0].match[0].reason"))
        );
    }

    #[test]
    fn a_single_slash_is_an_exact_pattern() {
        let mut problems = Vec::new();
        let rule = Rule::compile(
            &RuleConfig {
                reason: Patterns(vec!["/".into()]),
                ..RuleConfig::default()
            },
            "r",
            &mut problems,
        );
        assert!(problems.is_empty());
        let mut slash = normal_pulled();
        slash.reason = "/".into();
        assert!(rule.matches(&slash, &Context::default()));
        assert!(!rule.matches(&normal_pulled(), &Context::default()));
    }
}
