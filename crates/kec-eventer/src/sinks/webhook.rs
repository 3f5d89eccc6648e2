//! `webhook`: one HTTP request per Event to any endpoint, with a configurable method, headers
//! and body. The body is kube-eventer's default body template, a Go text/template of the
//! user's (inline, or read at start from a ConfigMap's `content` key as kube-eventer's
//! `custom_body_configmap` does), or the Event object as JSON. Templates render as
//! kube-eventer renders them: see [`crate::gotemplate`].
//!
//! kube-eventer flags (`--sink=webhook:<url>?...`) keep their meaning: `method` (default GET,
//! kube-eventer's), repeatable `header=Name=Value`, `custom_body_configmap` and
//! `custom_body_configmap_namespace` (default `default`), and the common filters. Like
//! kube-eventer, the request goes to the whole flag URL, its parameters included, and
//! without `level` nothing is filtered by type (kube-eventer adds its level filter only when
//! `level` is given, whatever its docs say about a Warning default).

use std::collections::BTreeMap;
use std::sync::Arc;

use kec_model::EventRecord;
use serde::{Deserialize, Serialize};

use crate::config::EventerConfig;
use crate::gotemplate::{GoTemplate, KUBE_EVENTER_DEFAULT_BODY, event_value};
use crate::kube_eventer::{Level, SinkFromFlag, SinkUri, flag_sink};
use crate::ratelimit::RateLimitConfig;
use crate::sinks::http::{DeliveryConfig, Format, HttpRequest, url_problem};
use crate::sinks::{HttpSinkConfig, SinkConfig};

/// A generic webhook.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WebhookSinkConfig {
    /// Where requests go: an http(s) URL. It may carry a token: never logged (logs show its
    /// host only).
    pub url: String,
    /// The HTTP method: `POST` (default), `PUT`, `GET`, ...
    #[serde(default = "default_method")]
    pub method: String,
    /// Request headers, name to value (e.g. `Content-Type: application/json`,
    /// `Authorization: Bearer ...`). Values are never logged.
    #[serde(default)]
    pub headers: BTreeMap<String, String>,
    /// The body of each request (one per Event): `kube_eventer_default` (default),
    /// `event_json`, `{template: "<Go template>"}` or
    /// `{configmap: {name: <name>, namespace: <namespace>}}`.
    #[serde(default)]
    pub body: WebhookBody,
    /// Queue, timeout, retries.
    #[serde(default)]
    pub delivery: DeliveryConfig,
    /// Requests per second and per object (unlimited by default).
    #[serde(default)]
    pub rate_limit: RateLimitConfig,
    /// The ConfigMap template's text, once read at start.
    #[serde(skip)]
    pub(crate) loaded_template: Option<String>,
}

/// What a webhook request carries.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", deny_unknown_fields)]
pub enum WebhookBody {
    /// kube-eventer's default body: `{"EventType": ..., "EventKind": ..., "EventReason": ...,
    /// "EventTime": ..., "EventMessage": ...}` rendered from its Go template, byte for byte.
    #[default]
    KubeEventerDefault,
    /// The Event object as the API server holds it (JSON; `Content-Type: application/json`
    /// unless `headers` says otherwise).
    EventJson,
    /// A Go text/template over the core/v1 Event with Go field names (`{{ .Type }}`,
    /// `{{ .InvolvedObject.Kind }}`, `{{ .LastTimestamp }}`, ...), as kube-eventer renders it.
    Template(String),
    /// A Go template read once at start from a ConfigMap's `content` key (kube-eventer's
    /// `custom_body_configmap`). The eventer needs `get` on that ConfigMap; a missing
    /// ConfigMap or key stops the start (kube-eventer would fall back to its default body).
    Configmap(ConfigMapRef),
}

/// A ConfigMap holding a body template under `content`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ConfigMapRef {
    pub name: String,
    /// Default `default`, as kube-eventer's.
    #[serde(default = "default_namespace")]
    pub namespace: String,
}

fn default_method() -> String {
    "POST".to_string()
}

fn default_namespace() -> String {
    "default".to_string()
}

impl WebhookSinkConfig {
    /// A POST of kube-eventer's default body to `url`.
    pub fn new(url: impl Into<String>) -> WebhookSinkConfig {
        WebhookSinkConfig {
            url: url.into(),
            method: default_method(),
            headers: BTreeMap::new(),
            body: WebhookBody::default(),
            delivery: DeliveryConfig::default(),
            rate_limit: RateLimitConfig::default(),
            loaded_template: None,
        }
    }

    /// The template text the body renders, if the body is a template.
    fn template_source(&self) -> Option<&str> {
        match &self.body {
            WebhookBody::KubeEventerDefault => Some(KUBE_EVENTER_DEFAULT_BODY),
            WebhookBody::EventJson => None,
            WebhookBody::Template(source) => Some(source),
            WebhookBody::Configmap(_) => self.loaded_template.as_deref(),
        }
    }

    /// Reads the ConfigMap template (if the body is one) through the Kubernetes API.
    pub async fn load_template(
        &mut self,
        client: &kube::Client,
        field: &str,
    ) -> Result<(), String> {
        let WebhookBody::Configmap(reference) = &self.body else {
            return Ok(());
        };
        let api = kube::Api::<k8s_openapi::api::core::v1::ConfigMap>::namespaced(
            client.clone(),
            &reference.namespace,
        );
        let configmap = api.get(&reference.name).await.map_err(|error| {
            format!(
                "{field}.body: cannot read ConfigMap {}/{}: {error}",
                reference.namespace, reference.name
            )
        })?;
        let content = configmap
            .data
            .and_then(|mut data| data.remove("content"))
            .ok_or_else(|| {
                format!(
                    "{field}.body: ConfigMap {}/{} has no `content` key",
                    reference.namespace, reference.name
                )
            })?;
        GoTemplate::parse(&content).map_err(|error| {
            format!(
                "{field}.body: the template of ConfigMap {}/{} is {error}",
                reference.namespace, reference.name
            )
        })?;
        self.loaded_template = Some(content);
        Ok(())
    }
}

/// Reads the ConfigMap body templates of every webhook sink (at start, before the sinks run);
/// every problem is listed.
pub(crate) async fn load_body_templates(
    mut config: EventerConfig,
    client: &kube::Client,
) -> crate::Result<EventerConfig> {
    let mut problems = Vec::new();
    for (name, sink) in &mut config.sinks {
        if let SinkConfig::Webhook(webhook) = sink
            && let Err(problem) = webhook
                .load_template(client, &format!("sinks.{name}"))
                .await
        {
            problems.push(problem);
        }
    }
    if problems.is_empty() {
        Ok(config)
    } else {
        Err(crate::Error::InvalidConfig(problems))
    }
}

/// `scheme://host[:port]` of a URL, for logs (its path and query may hold tokens).
fn url_origin(url: &str) -> String {
    reqwest::Url::parse(url)
        .map(|parsed| parsed.origin().ascii_serialization())
        .unwrap_or_else(|_| "an invalid URL".to_string())
}

impl HttpSinkConfig for WebhookSinkConfig {
    fn kind(&self) -> &'static str {
        "webhook"
    }

    fn describe(&self) -> String {
        let body = match &self.body {
            WebhookBody::KubeEventerDefault => "kube-eventer's default body".to_string(),
            WebhookBody::EventJson => "the Event as JSON".to_string(),
            WebhookBody::Template(_) => "a body template".to_string(),
            WebhookBody::Configmap(reference) => format!(
                "the body template of ConfigMap {}/{}",
                reference.namespace, reference.name
            ),
        };
        format!("webhook {} {} ({body})", self.method, url_origin(&self.url))
    }

    fn problems(&self, field: &str) -> Vec<String> {
        let mut problems = Vec::new();
        // Not url_problem's message: it would print the URL and its token.
        if url_problem("", &self.url).is_some() {
            problems.push(format!("{field}.url is not an http(s) URL"));
        }
        if reqwest::Method::from_bytes(self.method.as_bytes()).is_err() {
            problems.push(format!(
                "{field}.method {:?} is not an HTTP method",
                self.method
            ));
        }
        for (name, value) in &self.headers {
            if reqwest::header::HeaderName::from_bytes(name.as_bytes()).is_err() {
                problems.push(format!("{field}.headers: {name:?} is not a header name"));
            } else if reqwest::header::HeaderValue::from_str(value).is_err() {
                problems.push(format!(
                    "{field}.headers.{name} is not a valid header value"
                ));
            }
        }
        match &self.body {
            WebhookBody::Template(source) => {
                if let Err(error) = GoTemplate::parse(source) {
                    problems.push(format!("{field}.body.template is {error}"));
                }
            }
            WebhookBody::Configmap(reference) => {
                if !crate::is_dns1123_label(&reference.namespace) {
                    problems.push(format!(
                        "{field}.body.configmap.namespace {:?} is not a namespace name",
                        reference.namespace
                    ));
                }
                if reference.name.is_empty() {
                    problems.push(format!("{field}.body.configmap.name is empty"));
                }
            }
            WebhookBody::KubeEventerDefault | WebhookBody::EventJson => {}
        }
        problems
    }

    fn format(&self) -> crate::Result<Arc<dyn Format>> {
        let invalid = |problem: String| crate::Error::InvalidConfig(vec![problem]);
        let method = reqwest::Method::from_bytes(self.method.as_bytes()).map_err(|_| {
            invalid(format!(
                "webhook method {:?} is not an HTTP method",
                self.method
            ))
        })?;
        let template = match (&self.body, self.template_source()) {
            (WebhookBody::EventJson, _) => None,
            (_, Some(source)) => Some(
                GoTemplate::parse(source)
                    .map_err(|error| invalid(format!("webhook body template is {error}")))?,
            ),
            (_, None) => {
                return Err(invalid(
                    "webhook body: the ConfigMap template was not read".to_string(),
                ));
            }
        };
        let mut headers: Vec<(String, String)> = self
            .headers
            .iter()
            .map(|(name, value)| (name.clone(), value.clone()))
            .collect();
        let has_content_type = headers
            .iter()
            .any(|(name, _)| name.eq_ignore_ascii_case("content-type"));
        if template.is_none() && !has_content_type {
            headers.push(("Content-Type".to_string(), "application/json".to_string()));
        }
        Ok(Arc::new(WebhookFormat {
            url: self.url.clone(),
            method,
            headers,
            template,
        }))
    }

    fn delivery(&self) -> &DeliveryConfig {
        &self.delivery
    }

    fn rate_limit(&self) -> &RateLimitConfig {
        &self.rate_limit
    }
}

struct WebhookFormat {
    url: String,
    method: reqwest::Method,
    headers: Vec<(String, String)>,
    /// `None`: the Event as JSON.
    template: Option<GoTemplate>,
}

impl WebhookFormat {
    /// The body of one Event's request.
    pub fn body(&self, record: &EventRecord, now_ms: i64) -> Result<Vec<u8>, String> {
        match &self.template {
            None => Ok(record.raw.get().as_bytes().to_vec()),
            Some(template) => {
                let value = event_value(record.raw.get(), now_ms)?;
                Ok(template.render(&value)?.into_bytes())
            }
        }
    }
}

impl Format for WebhookFormat {
    fn request(&self, batch: &[Arc<EventRecord>], now_ms: i64) -> Result<HttpRequest, String> {
        let record = batch.first().ok_or("empty batch")?;
        Ok(HttpRequest {
            method: self.method.clone(),
            url: self.url.clone(),
            headers: self.headers.clone(),
            body: self.body(record, now_ms)?,
        })
    }
}

/// The sink of a kube-eventer `--sink=webhook:<url>?...` flag, and its default level
/// ([`Level::Normal`]: kube-eventer filters by type only when `level` is given).
pub fn from_kube_eventer(uri: &SinkUri) -> SinkFromFlag {
    // No unknown-parameter check: the endpoint's own parameters (`access_token`, `key`, ...)
    // share the query with kube-eventer's, and kube-eventer sends them all on.
    let mut problems = Vec::new();
    // kube-eventer sends to the whole URL it was given, filter parameters and all.
    let url = uri
        .text
        .split_once(':')
        .map_or("", |(_, url)| url)
        .to_string();
    let mut config = WebhookSinkConfig::new(url);
    config.method = uri.param("method").unwrap_or("GET").to_string();
    for header in uri.param_values("header") {
        // kube-eventer keeps `Name=Value` and silently skips anything else; kec says so.
        match header.split('=').collect::<Vec<_>>().as_slice() {
            [name, value] => {
                config
                    .headers
                    .insert((*name).to_string(), (*value).to_string());
            }
            _ => problems.push(format!(
                "--sink webhook: header={header:?} is not Name=Value"
            )),
        }
    }
    if let Some(name) = uri.param("custom_body_configmap") {
        config.body = WebhookBody::Configmap(ConfigMapRef {
            name: name.to_string(),
            namespace: uri
                .param("custom_body_configmap_namespace")
                .unwrap_or("default")
                .to_string(),
        });
    } else if uri.param("custom_body_configmap_namespace").is_some() {
        problems.push(
            "--sink webhook: custom_body_configmap_namespace without custom_body_configmap"
                .to_string(),
        );
    }
    problems.extend(
        config
            .problems("--sink webhook")
            .into_iter()
            .map(|problem| problem.replace("--sink webhook.", "--sink webhook: ")),
    );
    flag_sink(problems, SinkConfig::Webhook(config), Level::Normal)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record(event: serde_json::Value) -> Arc<EventRecord> {
        match kec_model::parse_line(event.to_string().as_bytes(), "c", 0) {
            Ok(kec_model::ParsedLine::Observation(observation)) => Arc::new(observation.record),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn kube_eventer_flags_keep_their_meaning() {
        let text = "webhook:https://hook.example/send?access_token=t&level=Warning&kinds=Pod\
                    &header=Content-Type=application/json&header=X-Team=infra\
                    &custom_body_configmap=custom-body&custom_body_configmap_namespace=kube-system\
                    &method=POST";
        let (sink, level) = from_kube_eventer(&SinkUri::parse(text)).unwrap();
        assert_eq!(level, Level::Normal);
        let SinkConfig::Webhook(config) = sink else {
            panic!("{sink:?}")
        };
        assert_eq!(config.url, &text["webhook:".len()..]);
        assert_eq!(config.method, "POST");
        assert_eq!(
            config.headers.get("Content-Type").map(String::as_str),
            Some("application/json")
        );
        assert_eq!(
            config.headers.get("X-Team").map(String::as_str),
            Some("infra")
        );
        assert_eq!(
            config.body,
            WebhookBody::Configmap(ConfigMapRef {
                name: "custom-body".to_string(),
                namespace: "kube-system".to_string()
            })
        );
        assert!(
            !config.describe().contains("access_token"),
            "{}",
            config.describe()
        );

        let (sink, _) = from_kube_eventer(&SinkUri::parse("webhook:http://hook:8080/x")).unwrap();
        let SinkConfig::Webhook(config) = sink else {
            panic!("{sink:?}")
        };
        assert_eq!(config.method, "GET", "kube-eventer's default method");
        assert_eq!(config.body, WebhookBody::KubeEventerDefault);
        let namespace_default = from_kube_eventer(&SinkUri::parse(
            "webhook:http://hook/x?custom_body_configmap=b",
        ))
        .unwrap();
        assert!(matches!(
            namespace_default.0,
            SinkConfig::Webhook(WebhookSinkConfig { body: WebhookBody::Configmap(ref r), .. })
                if r.namespace == "default"
        ));
    }

    #[test]
    fn bad_flags_list_every_problem_without_the_token() {
        let problems = from_kube_eventer(&SinkUri::parse(
            "webhook:hook.example/send?access_token=secret-token&header=broken&method=GE%20T",
        ))
        .unwrap_err();
        assert_eq!(problems.len(), 3, "{problems:?}");
        assert!(
            problems
                .iter()
                .all(|problem| !problem.contains("secret-token")),
            "{problems:?}"
        );
    }

    #[test]
    fn yaml_config_reads_with_defaults_and_refuses_bad_templates() {
        let config: WebhookSinkConfig = serde_json::from_value(serde_json::json!({
            "url": "http://hook/x", "body": {"template": "{{ .Reason }}"},
            "headers": {"Authorization": "Bearer x"}
        }))
        .unwrap();
        assert_eq!(config.method, "POST");
        assert!(config.problems("sinks.hook").is_empty());
        let config: WebhookSinkConfig = serde_json::from_value(serde_json::json!({
            "url": "http://hook/x", "body": "event_json"
        }))
        .unwrap();
        assert_eq!(config.body, WebhookBody::EventJson);
        let config: WebhookSinkConfig = serde_json::from_value(serde_json::json!({
            "url": "http://hook/x", "body": {"configmap": {"name": "b"}}
        }))
        .unwrap();
        assert!(matches!(&config.body, WebhookBody::Configmap(r) if r.namespace == "default"));
        assert!(config.format().is_err(), "the ConfigMap was not read yet");
        let mut bad = WebhookSinkConfig::new("http://hook/x");
        bad.body = WebhookBody::Template("{{ .Reason ".to_string());
        bad.headers.insert("Bad Name".to_string(), "v".to_string());
        assert_eq!(
            bad.problems("sinks.hook").len(),
            2,
            "{:?}",
            bad.problems("sinks.hook")
        );
        assert!(
            serde_json::from_value::<WebhookSinkConfig>(
                serde_json::json!({"url": "http://h/", "colour": 1})
            )
            .is_err()
        );
    }

    #[test]
    fn event_json_bodies_are_the_original_event_with_a_json_content_type() {
        let event = serde_json::json!({"metadata": {"name": "e", "namespace": "d"}, "reason": "R"});
        let mut config = WebhookSinkConfig::new("http://hook/x");
        config.body = WebhookBody::EventJson;
        let format = config.format().unwrap();
        let request = format.request(&[record(event.clone())], 0).unwrap();
        assert_eq!(request.method, reqwest::Method::POST);
        let sent: serde_json::Value = serde_json::from_slice(&request.body).unwrap();
        assert_eq!(sent, event);
        assert_eq!(
            request.headers,
            vec![("Content-Type".to_string(), "application/json".to_string())]
        );
    }

    #[test]
    fn a_template_that_fails_on_an_event_is_an_error_for_that_batch() {
        let mut config = WebhookSinkConfig::new("http://hook/x");
        config.body = WebhookBody::Template("{{ .Series.Count }}".to_string());
        let format = config.format().unwrap();
        let event = serde_json::json!({"metadata": {"name": "e", "namespace": "d"}});
        assert!(format.request(&[record(event)], 0).is_err());
    }
}
