//! Go `text/template` bodies over a core/v1 Event, rendered the way kube-eventer's webhook sink
//! renders them, so that kube-eventer users keep their body templates.
//!
//! kube-eventer executes the template on a Go `*v1.Event`. [`event_value`] builds the same
//! value tree with the Go field names (`.Type`, `.InvolvedObject.Kind`, `.ObjectMeta.UID`, and
//! the fields of the embedded `ObjectMeta` promoted: `.Name`, `.Namespace`, ...), and applies
//! kube-eventer's two changes before rendering: every `"` is removed from `.Message`, and
//! `.LastTimestamp` is the last time the Event happened (`lastTimestamp`, else `eventTime`,
//! else now). The engine is the `gtmpl` crate (Go's syntax: fields, pipelines, `if`, `range`,
//! `with`, variables, `printf`, `eq`, `index`, `len`, ...).
//!
//! Values print as Go prints them for the fields templates use: strings verbatim (no
//! escaping: text/template escapes nothing), integers in decimal, `metav1.Time` like Go's
//! `time.Time.String()` (`2006-01-02 15:04:05.999999999 -0700 MST`, in UTC: kube-eventer's
//! container runs in UTC), absent strings as the empty string, absent integers as 0.
//! Known differences, all in fields templates rarely print whole: a nil pointer (`.Series`,
//! `.Related`, `.DeletionTimestamp` when absent) prints `nil` instead of `<nil>`, a map or
//! list printed whole (`{{ .Labels }}`) does not look like Go's `map[k:v]` (its entries,
//! `{{ .Labels.app }}`, do), `.ManagedFields` is always empty, `.Kind` and `.APIVersion` are
//! empty (client-go's typed objects carry no TypeMeta either), methods of Go values
//! (`{{ .LastTimestamp.Unix }}`) are not available, and `printf` follows gtmpl's
//! implementation, which pads `%05d` with spaces.

use std::collections::{BTreeMap, HashMap};

use gtmpl::{Context, Template, Value};
use jiff::Timestamp;
use k8s_openapi::api::core::v1::{Event, EventSeries, EventSource, ObjectReference};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{ObjectMeta, OwnerReference};

/// kube-eventer's default webhook body (`defaultBodyTemplate` in its sinks/webhook), byte for
/// byte, the leading newline included.
pub const KUBE_EVENTER_DEFAULT_BODY: &str = "\n{\n\t\"EventType\": \"{{ .Type }}\",\n\t\"EventKind\": \"{{ .InvolvedObject.Kind }}\",\n\t\"EventReason\": \"{{ .Reason }}\",\n\t\"EventTime\": \"{{ .LastTimestamp }}\",\n\t\"EventMessage\": \"{{ .Message }}\"\n}";

/// A parsed Go template.
pub struct GoTemplate {
    template: Template,
}

impl std::fmt::Debug for GoTemplate {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        formatter.debug_struct("GoTemplate").finish_non_exhaustive()
    }
}

impl GoTemplate {
    /// Parses a template; the error says what and where.
    pub fn parse(source: &str) -> Result<GoTemplate, String> {
        check_actions_closed(source).map_err(|error| format!("not a Go template: {error}"))?;
        let mut template = Template::default();
        // gtmpl panics on a few malformed inputs (a lone `\` in a quoted string): bad input
        // must be an error, never a crash.
        std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            template
                .parse(source)
                .map_err(|error| format!("not a Go template: {error}"))
        }))
        .map_err(|_| "not a Go template: the template parser failed on it".to_string())??;
        Ok(GoTemplate { template })
    }

    /// Renders the template on a value (see [`event_value`]).
    pub fn render(&self, value: &Value) -> Result<String, String> {
        let context = Context::from(value.clone());
        std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            self.template
                .render(&context)
                .map_err(|error| format!("the body template failed on this Event: {error}"))
        }))
        .map_err(|_| "the body template failed on this Event (template engine)".to_string())?
    }
}

/// Checks that every action of a Go template is closed, the way Go's lexer reads them
/// (quoted strings, raw strings, character constants and comments included). gtmpl's lexer
/// loops forever when the input ends inside an action, so this runs before it.
fn check_actions_closed(source: &str) -> Result<(), String> {
    let mut rest = source;
    while let Some(start) = rest.find("{{") {
        let line = source[..source.len() - rest.len() + start]
            .matches('\n')
            .count()
            + 1;
        let unclosed = || format!("line {line}: unclosed action (no matching }}}})");
        let mut action = &rest[start + 2..];
        if let Some(after_trim) = action.strip_prefix("- ") {
            action = after_trim;
        } else if action.starts_with("-\t")
            || action.starts_with("-\n")
            || action.starts_with("-\r")
        {
            action = &action[1..];
        }
        if let Some(comment) = action.strip_prefix("/*") {
            let end = comment
                .find("*/")
                .ok_or_else(|| format!("line {line}: unclosed comment"))?;
            let after = &comment[end + 2..];
            let after = after.strip_prefix(" -").unwrap_or(after);
            rest = after
                .strip_prefix("}}")
                .ok_or_else(|| format!("line {line}: comment ends before }}}}"))?;
            continue;
        }
        let mut chars = action.char_indices();
        let mut end = None;
        while let Some((index, c)) = chars.next() {
            if action[index..].starts_with("}}") {
                end = Some(index + 2);
                break;
            }
            let quote = match c {
                '"' | '\'' | '`' => c,
                _ => continue,
            };
            let mut closed = false;
            while let Some((_, inner)) = chars.next() {
                if inner == quote {
                    closed = true;
                    break;
                }
                if inner == '\\' && quote != '`' {
                    chars.next();
                }
            }
            if !closed {
                return Err(format!(
                    "line {line}: unterminated quoted text in an action"
                ));
            }
        }
        let end = end.ok_or_else(unclosed)?;
        rest = &action[end..];
    }
    Ok(())
}

/// The Go `*v1.Event` value kube-eventer renders, from the Event's JSON; `now_ms` stands in
/// for `.LastTimestamp` when the Event has neither `lastTimestamp` nor `eventTime`.
pub fn event_value(event_json: &str, now_ms: i64) -> Result<Value, String> {
    let event: Event = serde_json::from_str(event_json)
        .map_err(|error| format!("the Event cannot be read as a core/v1 Event: {error}"))?;
    Ok(event_to_value(&event, now_ms))
}

fn event_to_value(event: &Event, now_ms: i64) -> Value {
    // kube-eventer's RenderBodyTemplate: `strings.Replace(event.Message, `"`, ``, -1)` and
    // `LastTimestamp = util.GetLastEventTimestamp(event)`.
    let message = event
        .message
        .as_deref()
        .unwrap_or_default()
        .replace('"', "");
    let last = event
        .last_timestamp
        .as_ref()
        .map(|time| time.0)
        .or_else(|| event.event_time.as_ref().map(|time| time.0))
        .unwrap_or_else(|| Timestamp::from_millisecond(now_ms).unwrap_or(Timestamp::UNIX_EPOCH));

    let type_meta = object([("Kind", string(None)), ("APIVersion", string(None))]);
    let object_meta = object_meta_fields(&event.metadata);
    let mut fields: HashMap<String, Value> = object_meta.clone();
    fields.insert("ObjectMeta".to_string(), Value::Object(object_meta));
    fields.insert("TypeMeta".to_string(), type_meta);
    fields.insert("Kind".to_string(), string(None));
    fields.insert("APIVersion".to_string(), string(None));
    let event_fields = [
        ("InvolvedObject", object_reference(&event.involved_object)),
        ("Reason", string(event.reason.as_deref())),
        ("Message", Value::String(message)),
        ("Source", event_source(event.source.as_ref())),
        (
            "FirstTimestamp",
            Value::String(go_time_string(event.first_timestamp.as_ref().map(|t| t.0))),
        ),
        ("LastTimestamp", Value::String(go_time_string(Some(last)))),
        ("Count", Value::from(i64::from(event.count.unwrap_or(0)))),
        ("Type", string(event.type_.as_deref())),
        (
            "EventTime",
            Value::String(go_time_string(event.event_time.as_ref().map(|t| t.0))),
        ),
        (
            "Series",
            event.series.as_ref().map_or(Value::Nil, event_series),
        ),
        ("Action", string(event.action.as_deref())),
        (
            "Related",
            event.related.as_ref().map_or(Value::Nil, object_reference),
        ),
        (
            "ReportingController",
            string(event.reporting_component.as_deref()),
        ),
        (
            "ReportingInstance",
            string(event.reporting_instance.as_deref()),
        ),
    ];
    for (name, value) in event_fields {
        fields.insert(name.to_string(), value);
    }
    Value::Object(fields)
}

fn object_meta_fields(meta: &ObjectMeta) -> HashMap<String, Value> {
    let fields = [
        ("Name", string(meta.name.as_deref())),
        ("GenerateName", string(meta.generate_name.as_deref())),
        ("Namespace", string(meta.namespace.as_deref())),
        ("SelfLink", string(meta.self_link.as_deref())),
        ("UID", string(meta.uid.as_deref())),
        ("ResourceVersion", string(meta.resource_version.as_deref())),
        ("Generation", Value::from(meta.generation.unwrap_or(0))),
        (
            "CreationTimestamp",
            Value::String(go_time_string(
                meta.creation_timestamp.as_ref().map(|t| t.0),
            )),
        ),
        (
            "DeletionTimestamp",
            meta.deletion_timestamp.as_ref().map_or(Value::Nil, |time| {
                Value::String(go_time_string(Some(time.0)))
            }),
        ),
        (
            "DeletionGracePeriodSeconds",
            meta.deletion_grace_period_seconds
                .map_or(Value::Nil, Value::from),
        ),
        ("Labels", string_map(meta.labels.as_ref())),
        ("Annotations", string_map(meta.annotations.as_ref())),
        (
            "OwnerReferences",
            Value::Array(
                meta.owner_references
                    .iter()
                    .flatten()
                    .map(owner_reference)
                    .collect(),
            ),
        ),
        (
            "Finalizers",
            Value::Array(
                meta.finalizers
                    .iter()
                    .flatten()
                    .map(|finalizer| Value::String(finalizer.clone()))
                    .collect(),
            ),
        ),
        ("ManagedFields", Value::Array(Vec::new())),
    ];
    fields
        .into_iter()
        .map(|(name, value)| (name.to_string(), value))
        .collect()
}

fn object_reference(reference: &ObjectReference) -> Value {
    object([
        ("Kind", string(reference.kind.as_deref())),
        ("Namespace", string(reference.namespace.as_deref())),
        ("Name", string(reference.name.as_deref())),
        ("UID", string(reference.uid.as_deref())),
        ("APIVersion", string(reference.api_version.as_deref())),
        (
            "ResourceVersion",
            string(reference.resource_version.as_deref()),
        ),
        ("FieldPath", string(reference.field_path.as_deref())),
    ])
}

fn owner_reference(reference: &OwnerReference) -> Value {
    object([
        ("APIVersion", Value::String(reference.api_version.clone())),
        ("Kind", Value::String(reference.kind.clone())),
        ("Name", Value::String(reference.name.clone())),
        ("UID", Value::String(reference.uid.clone())),
        (
            "Controller",
            reference.controller.map_or(Value::Nil, Value::Bool),
        ),
        (
            "BlockOwnerDeletion",
            reference
                .block_owner_deletion
                .map_or(Value::Nil, Value::Bool),
        ),
    ])
}

fn event_source(source: Option<&EventSource>) -> Value {
    object([
        (
            "Component",
            string(source.and_then(|source| source.component.as_deref())),
        ),
        (
            "Host",
            string(source.and_then(|source| source.host.as_deref())),
        ),
    ])
}

fn event_series(series: &EventSeries) -> Value {
    object([
        ("Count", Value::from(i64::from(series.count.unwrap_or(0)))),
        (
            "LastObservedTime",
            Value::String(go_time_string(
                series.last_observed_time.as_ref().map(|t| t.0),
            )),
        ),
    ])
}

fn object<const N: usize>(fields: [(&str, Value); N]) -> Value {
    Value::Object(
        fields
            .into_iter()
            .map(|(name, value)| (name.to_string(), value))
            .collect(),
    )
}

fn string(value: Option<&str>) -> Value {
    Value::String(value.unwrap_or_default().to_string())
}

fn string_map(map: Option<&BTreeMap<String, String>>) -> Value {
    Value::Map(
        map.into_iter()
            .flatten()
            .map(|(key, value)| (key.clone(), Value::String(value.clone())))
            .collect(),
    )
}

/// Go's `time.Time.String()` of a UTC time (`"2006-01-02 15:04:05.999999999 -0700 MST"`);
/// `None` is Go's zero time, `0001-01-01 00:00:00 +0000 UTC`.
pub fn go_time_string(time: Option<Timestamp>) -> String {
    let Some(time) = time else {
        return "0001-01-01 00:00:00 +0000 UTC".to_string();
    };
    let utc = time.to_zoned(jiff::tz::TimeZone::UTC).datetime();
    let mut text = format!(
        "{:04}-{:02}-{:02} {:02}:{:02}:{:02}",
        utc.year(),
        utc.month(),
        utc.day(),
        utc.hour(),
        utc.minute(),
        utc.second()
    );
    // `.999999999`: the fraction with its trailing zeros cut, no dot when it is zero.
    let nanos = utc.subsec_nanosecond();
    if nanos != 0 {
        let fraction = format!("{nanos:09}");
        text.push('.');
        text.push_str(fraction.trim_end_matches('0'));
    }
    text.push_str(" +0000 UTC");
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    fn render(source: &str, event: &serde_json::Value) -> String {
        let value = event_value(&event.to_string(), 0).unwrap();
        GoTemplate::parse(source).unwrap().render(&value).unwrap()
    }

    fn event() -> serde_json::Value {
        serde_json::json!({
            "metadata": {"name": "web-1.17f", "namespace": "prod", "uid": "u-1",
                         "labels": {"app": "web"}},
            "involvedObject": {"kind": "Pod", "namespace": "prod", "name": "web-1", "uid": "p-1"},
            "reason": "BackOff",
            "message": "Back-off restarting \"app\"",
            "source": {"component": "kubelet", "host": "node-1"},
            "firstTimestamp": "2024-03-05T07:08:09Z",
            "lastTimestamp": "2024-03-05T08:09:10Z",
            "count": 3,
            "type": "Warning"
        })
    }

    #[test]
    fn go_time_strings_follow_go() {
        let time = |text: &str| Some(text.parse::<Timestamp>().unwrap());
        assert_eq!(
            go_time_string(time("2024-03-05T08:09:10Z")),
            "2024-03-05 08:09:10 +0000 UTC"
        );
        assert_eq!(
            go_time_string(time("2024-03-05T08:09:10.120000Z")),
            "2024-03-05 08:09:10.12 +0000 UTC"
        );
        assert_eq!(
            go_time_string(time("2024-03-05T10:09:10.000001+02:00")),
            "2024-03-05 08:09:10.000001 +0000 UTC"
        );
        assert_eq!(go_time_string(None), "0001-01-01 00:00:00 +0000 UTC");
    }

    #[test]
    fn go_field_names_and_promoted_object_meta_fields_render() {
        let source = "{{ .ObjectMeta.Name }} {{ .Name }} {{ .Namespace }} {{ .ObjectMeta.UID }} \
                      {{ .InvolvedObject.Kind }}/{{ .InvolvedObject.Name }} {{ .Count }} \
                      {{ .Source.Host }} {{ .Source.Component }} {{ .Labels.app }} \
                      {{ .FirstTimestamp }}|{{ .EventTime }}|{{ .Kind }}|{{ .Action }}";
        assert_eq!(
            render(source, &event()),
            "web-1.17f web-1.17f prod u-1 Pod/web-1 3 node-1 kubelet web \
             2024-03-05 07:08:09 +0000 UTC|0001-01-01 00:00:00 +0000 UTC||"
        );
    }

    #[test]
    fn quotes_are_cut_from_the_message_and_nothing_is_escaped() {
        let mut event = event();
        event["message"] = serde_json::json!("pod \"demo-1rare3\" <OOMKilled> & 'x'\\");
        // kube-eventer's own TestRenderMessageWithDoubleQuote, plus text/template escaping
        // nothing.
        assert_eq!(
            render(r#"{"EventMessage": "{{ .Message }}"}"#, &event),
            r#"{"EventMessage": "pod demo-1rare3 <OOMKilled> & 'x'\"}"#
        );
    }

    #[test]
    fn last_timestamp_falls_back_to_event_time_then_now() {
        let mut event = event();
        event.as_object_mut().unwrap().remove("lastTimestamp");
        event["eventTime"] = serde_json::json!("2024-03-05T08:09:10.123456Z");
        assert_eq!(
            render("{{ .LastTimestamp }}", &event),
            "2024-03-05 08:09:10.123456 +0000 UTC"
        );
        event.as_object_mut().unwrap().remove("eventTime");
        let value = event_value(&event.to_string(), 1_709_626_150_500).unwrap();
        let rendered = GoTemplate::parse("{{ .LastTimestamp }}")
            .unwrap()
            .render(&value)
            .unwrap();
        assert_eq!(rendered, "2024-03-05 08:09:10.5 +0000 UTC");
    }

    #[test]
    fn conditions_ranges_pipelines_and_printf_work() {
        let source = "{{ if eq .Type \"Warning\" }}W{{ else }}N{{ end }} \
                      {{ range $key, $value := .Labels }}{{ $key }}={{ $value }}{{ end }} \
                      {{ .Reason | printf \"<%s>\" }} {{ printf \"%d/%s\" .Count .Type }} \
                      {{ with .InvolvedObject }}{{ .Namespace }}{{ end }} \
                      {{ if .Series }}series{{ else }}single{{ end }}";
        assert_eq!(
            render(source, &event()),
            "W app=web <BackOff> 3/Warning prod single"
        );
    }

    #[test]
    fn kube_eventer_default_body_renders_like_go() {
        assert_eq!(
            render(KUBE_EVENTER_DEFAULT_BODY, &event()),
            "\n{\n\t\"EventType\": \"Warning\",\n\t\"EventKind\": \"Pod\",\n\t\"EventReason\": \
             \"BackOff\",\n\t\"EventTime\": \"2024-03-05 08:09:10 +0000 UTC\",\n\t\
             \"EventMessage\": \"Back-off restarting app\"\n}"
        );
    }

    #[test]
    fn templates_ending_inside_an_action_are_errors_not_hangs() {
        // Each of these makes gtmpl's lexer loop forever; the check refuses them first.
        for source in [
            "{{ .Reason ",
            "{{-",
            "{{ ",
            "x {{ .A, -",
            "{{ \"}}",
            "{{ `a",
            "{{/* x",
        ] {
            assert!(GoTemplate::parse(source).is_err(), "{source:?}");
        }
        for source in [
            "{{ \"}}\" }}",
            "{{- .Reason -}} ",
            "{{/* c */}}x",
            "{{ '}' }}",
            "a}}b",
        ] {
            assert!(check_actions_closed(source).is_ok(), "{source:?}");
        }
        assert!(GoTemplate::parse("{{ 'ab' }}").is_err());
    }

    #[test]
    fn bad_templates_and_bad_events_are_errors_not_panics() {
        assert!(GoTemplate::parse("{{ .Type").is_err());
        assert!(GoTemplate::parse("{{ nosuchfunc .Type }}").is_err());
        let template = GoTemplate::parse("{{ .NoSuchField }}").unwrap();
        let value = event_value(&event().to_string(), 0).unwrap();
        assert!(template.render(&value).is_err());
        assert!(
            GoTemplate::parse("{{ .Series.Count }}")
                .unwrap()
                .render(&value)
                .is_err()
        );
        assert!(event_value("{\"count\": \"many\"}", 0).is_err());
        assert!(event_value("not json", 0).is_err());
    }
}
