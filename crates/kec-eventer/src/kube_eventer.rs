//! kube-eventer's `--sink=<kind>:<url>?<params>` flags, mapped onto the same configuration a
//! YAML file gives: each flag becomes one named sink plus, when it has filter parameters
//! (`level`, `namespaces`, `kinds`, `reason`), one route that sends it only what they allow.
//!
//! Like kube-eventer, the kind is what comes before the first `:`; the rest is a URL whose
//! query holds the parameters. Unknown parameters are problems (a typo must not silently
//! turn a filter off).

use std::collections::BTreeMap;

use crate::config::free_name;
use crate::routing::{Patterns, RouteConfig, RuleConfig};
use crate::sinks::SinkConfig;
use crate::sinks::center::CenterSinkConfig;
use crate::sinks::stdout::StdoutSinkConfig;

/// One `--sink` value taken apart.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SinkUri {
    /// The whole flag value (for problems; may hold secrets, so never logged).
    pub text: String,
    /// Before the first `:`.
    pub kind: String,
    /// After the first `:` and before `?`.
    pub target: String,
    /// The query parameters in order (keys may repeat, e.g. `header`).
    pub params: Vec<(String, String)>,
}

impl SinkUri {
    pub fn parse(text: &str) -> SinkUri {
        // `stdout?level=Warning` has no `:`: the kind ends at whichever comes first.
        let kind_end = text.find([':', '?']).unwrap_or(text.len());
        let kind = &text[..kind_end];
        let rest = text[kind_end..]
            .strip_prefix(':')
            .unwrap_or(&text[kind_end..]);
        let (target, query) = rest.split_once('?').unwrap_or((rest, ""));
        let params = reqwest::Url::parse(&format!("http://query.invalid/?{query}"))
            .map(|url| {
                url.query_pairs()
                    .map(|(key, value)| (key.into_owned(), value.into_owned()))
                    .collect()
            })
            .unwrap_or_default();
        SinkUri {
            text: text.to_string(),
            kind: kind.to_string(),
            target: target.to_string(),
            params,
        }
    }

    /// The first value of a parameter.
    pub fn param(&self, key: &str) -> Option<&str> {
        self.params
            .iter()
            .find(|(name, _)| name == key)
            .map(|(_, value)| value.as_str())
    }

    /// Every value of a parameter, in order.
    pub fn param_values(&self, key: &str) -> Vec<&str> {
        self.params
            .iter()
            .filter(|(name, _)| name == key)
            .map(|(_, value)| value.as_str())
            .collect()
    }

    /// A comma-separated parameter as a list (empty items dropped).
    pub fn param_list(&self, key: &str) -> Vec<String> {
        self.param(key)
            .map(|value| {
                value
                    .split(',')
                    .map(str::trim)
                    .filter(|item| !item.is_empty())
                    .map(str::to_string)
                    .collect()
            })
            .unwrap_or_default()
    }

    /// A boolean parameter (`true`/`false`/`1`/`0`), `default` when absent.
    pub fn param_bool(&self, key: &str, default: bool, problems: &mut Vec<String>) -> bool {
        match self.param(key) {
            None => default,
            Some("true" | "1") => true,
            Some("false" | "0") => false,
            Some(other) => {
                problems.push(format!(
                    "--sink {}: {key}={other:?} is not true or false",
                    self.kind
                ));
                default
            }
        }
    }

    /// One problem per parameter not in `known` (the filter parameters are always known).
    pub fn unknown_params(&self, known: &[&str]) -> Vec<String> {
        self.params
            .iter()
            .filter(|(key, _)| {
                !known.contains(&key.as_str()) && !FILTER_PARAMS.contains(&key.as_str())
            })
            .map(|(key, _)| {
                format!(
                    "--sink {}: unknown parameter {key:?} (known: {})",
                    self.kind,
                    known
                        .iter()
                        .chain(FILTER_PARAMS)
                        .copied()
                        .collect::<Vec<_>>()
                        .join(", ")
                )
            })
            .collect()
    }
}

/// kube-eventer's filter parameters, the same for every sink.
const FILTER_PARAMS: &[&str] = &["level", "namespaces", "kinds", "reason"];

/// kube-eventer's `level`: `Warning` lets only Warnings through, `Normal` lets everything.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Level {
    Normal,
    Warning,
}

/// What a sink's `from_kube_eventer` gives: the sink and its default level, or every problem.
pub type SinkFromFlag = Result<(SinkConfig, Level), Vec<String>>;

/// The end of a sink's `from_kube_eventer`: the sink when its flag had no problems.
pub fn flag_sink(problems: Vec<String>, sink: SinkConfig, default_level: Level) -> SinkFromFlag {
    if problems.is_empty() {
        Ok((sink, default_level))
    } else {
        Err(problems)
    }
}

/// The route rule of kube-eventer's filter parameters, `None` when they let everything through.
/// `default_level` is the sink's own default when `level` is absent.
pub fn filter_rule(
    uri: &SinkUri,
    default_level: Level,
    problems: &mut Vec<String>,
) -> Option<RuleConfig> {
    let level = match uri.param("level") {
        None => default_level,
        Some(level) if level.eq_ignore_ascii_case("warning") => Level::Warning,
        Some(level) if level.eq_ignore_ascii_case("normal") => Level::Normal,
        Some(other) => {
            problems.push(format!(
                "--sink {}: level={other:?} is neither Normal nor Warning",
                uri.kind
            ));
            default_level
        }
    };
    let mut rule = RuleConfig::default();
    if level == Level::Warning {
        rule.event_type = Patterns(vec!["Warning".to_string()]);
    }
    rule.namespace = Patterns(uri.param_list("namespaces"));
    rule.kind = Patterns(uri.param_list("kinds"));
    if let Some(reason) = uri.param("reason") {
        // kube-eventer matches `reason` as a regular expression.
        rule.reason = Patterns(vec![format!("/{reason}/")]);
    }
    (rule != RuleConfig::default()).then_some(rule)
}

/// What one `--sink` flag configures.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FlagSink {
    pub sink: SinkConfig,
    /// The filter its parameters ask for, if any.
    pub rule: Option<RuleConfig>,
}

/// Reads one `--sink` value; every problem is listed.
pub fn parse_sink_flag(text: &str) -> Result<FlagSink, Vec<String>> {
    let uri = SinkUri::parse(text);
    let mut problems = Vec::new();
    // Each kind's own default `level` (kube-eventer's chat sinks: Warning).
    let mut default_level = Level::Normal;
    let sink = match uri.kind.as_str() {
        kind @ ("dingtalk" | "wechat") => {
            let parsed = if kind == "dingtalk" {
                crate::sinks::dingtalk::from_kube_eventer(&uri)
            } else {
                crate::sinks::wechat::from_kube_eventer(&uri)
            };
            match parsed {
                Ok((sink, level)) => {
                    default_level = level;
                    Some(sink)
                }
                Err(found) => {
                    problems.extend(found);
                    None
                }
            }
        }
        "webhook" => match crate::sinks::webhook::from_kube_eventer(&uri) {
            Ok((sink, level)) => {
                default_level = level;
                Some(sink)
            }
            Err(found) => {
                problems.extend(found);
                None
            }
        },
        "kec" => center_from_uri(&uri, &mut problems),
        "stdout" => {
            problems.extend(uri.unknown_params(&[]));
            if !uri.target.is_empty() {
                problems.push("--sink stdout takes no URL".to_string());
            }
            Some(SinkConfig::Stdout(StdoutSinkConfig::default()))
        }
        // Both take every Event by default (Level::Normal, as below).
        "sls" => match crate::sinks::sls::from_kube_eventer(&uri) {
            Ok((sink, _level)) => Some(sink),
            Err(found) => {
                problems.extend(found);
                None
            }
        },
        "eventbridge" => match crate::sinks::eventbridge::from_kube_eventer(&uri) {
            Ok((sink, _level)) => Some(sink),
            Err(found) => {
                problems.extend(found);
                None
            }
        },
        other => {
            problems.push(format!(
                "--sink {other:?}: unknown sink kind (known: {})",
                SINK_KINDS.join(", ")
            ));
            None
        }
    };
    // kube-eventer's sinks default to Warning; kec's own (center, stdout) take everything.
    let rule = filter_rule(&uri, default_level, &mut problems);
    match sink {
        Some(sink) if problems.is_empty() => Ok(FlagSink { sink, rule }),
        _ => Err(problems),
    }
}

/// The named sinks of the flags, in flag order, and the route their filters ask for: one child
/// route per flag.
pub fn sinks_and_route(flags: Vec<FlagSink>) -> (BTreeMap<String, SinkConfig>, RouteConfig) {
    let mut sinks = BTreeMap::new();
    let mut route = RouteConfig::default();
    for flag in flags {
        let name = free_name(flag.sink.kind(), &sinks);
        route.routes.push(RouteConfig {
            match_rules: flag.rule.into_iter().collect(),
            sinks: vec![name.clone()],
            ..RouteConfig::default()
        });
        sinks.insert(name, flag.sink);
    }
    (sinks, route)
}

/// The kinds `--sink` knows.
pub const SINK_KINDS: &[&str] = &[
    "kec",
    "stdout",
    "sls",
    "eventbridge",
    "dingtalk",
    "wechat",
    "webhook",
];

fn center_from_uri(uri: &SinkUri, problems: &mut Vec<String>) -> Option<SinkConfig> {
    problems.extend(uri.unknown_params(&["cluster", "gzip", "token_file"]));
    let mut config = CenterSinkConfig::new(&uri.target, "");
    config.gzip = uri.param_bool("gzip", false, problems);
    config.token_file = uri.param("token_file").map(std::path::PathBuf::from);
    match uri.param("cluster") {
        Some(cluster) => config.cluster = cluster.to_string(),
        None => {
            problems.push("--sink kec needs ?cluster=<name>".to_string());
            return None;
        }
    }
    Some(SinkConfig::Center(config))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_sink_flag_comes_apart_like_kube_eventer_takes_it() {
        let uri = SinkUri::parse(
            "webhook:http://hook.example/x?level=Warning&header=A=1&header=B=2&namespaces=a,,b",
        );
        assert_eq!(uri.kind, "webhook");
        assert_eq!(uri.target, "http://hook.example/x");
        assert_eq!(uri.param_values("header"), vec!["A=1", "B=2"]);
        assert_eq!(uri.param_list("namespaces"), vec!["a", "b"]);
        assert_eq!(uri.unknown_params(&["header"]), Vec::<String>::new());
        assert_eq!(uri.unknown_params(&[]).len(), 2);
    }

    #[test]
    fn filter_parameters_become_one_rule() {
        let mut problems = Vec::new();
        let uri = SinkUri::parse("x:y?level=Warning&namespaces=prod,stage&kinds=Pod&reason=^Back");
        let rule = filter_rule(&uri, Level::Normal, &mut problems).unwrap();
        assert!(problems.is_empty());
        assert_eq!(rule.event_type, Patterns(vec!["Warning".into()]));
        assert_eq!(
            rule.namespace,
            Patterns(vec!["prod".into(), "stage".into()])
        );
        assert_eq!(rule.kind, Patterns(vec!["Pod".into()]));
        assert_eq!(rule.reason, Patterns(vec!["/^Back/".into()]));
        assert_eq!(
            filter_rule(
                &SinkUri::parse("x:y?level=Normal"),
                Level::Warning,
                &mut problems
            ),
            None
        );
        assert!(filter_rule(&SinkUri::parse("x:y"), Level::Warning, &mut problems).is_some());
        filter_rule(
            &SinkUri::parse("x:y?level=loud"),
            Level::Warning,
            &mut problems,
        );
        assert_eq!(problems.len(), 1);
    }

    #[test]
    fn center_and_stdout_flags() {
        let flag = parse_sink_flag("kec:http://center:8080?cluster=prod&gzip=true").unwrap();
        let SinkConfig::Center(center) = &flag.sink else {
            panic!("{flag:?}")
        };
        assert!(center.gzip);
        assert_eq!(center.cluster, "prod");
        assert_eq!(flag.rule, None);
        let problems = parse_sink_flag("kec:http://center:8080?gzip=maybe&colour=red").unwrap_err();
        assert_eq!(problems.len(), 3, "{problems:?}");
        assert!(parse_sink_flag("stdout").is_ok());
        assert!(parse_sink_flag("pigeon:coop").is_err());
    }

    #[test]
    fn each_flag_gets_a_name_and_a_route_of_its_own() {
        let flags = ["stdout?level=Warning", "kec:http://a:1?cluster=a", "stdout"]
            .into_iter()
            .map(|text| parse_sink_flag(text).unwrap())
            .collect();
        let (sinks, route) = sinks_and_route(flags);
        assert_eq!(
            sinks.keys().collect::<Vec<_>>(),
            vec!["center", "stdout", "stdout-2"]
        );
        assert_eq!(route.routes.len(), 3);
        assert_eq!(route.routes[0].sinks, vec!["stdout"]);
        assert_eq!(
            route.routes[0].match_rules.len(),
            1,
            "level=Warning filters"
        );
        assert_eq!(route.routes[1].sinks, vec!["center"]);
        assert!(route.routes[2].match_rules.is_empty());
    }
}
