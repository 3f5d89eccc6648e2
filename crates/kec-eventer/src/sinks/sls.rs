//! `sls`: Alibaba Cloud Log Service, through its PutLogs API
//! (`POST /logstores/<logstore>/shards/lb` on `<project>.<endpoint>`): many Events per request,
//! as one protobuf `LogGroup`, lz4-compressed, signed with SLS's HMAC-SHA1 scheme (v1).
//!
//! Each Event becomes one log with the contents kube-eventer writes: `eventId` (the Event
//! object as indented JSON), `hostname` (`source.host`), `level` (the Event's type), for Pods
//! `pod_id` and `pod_name`, then the configured labels. The log's time is the Event's.

use std::collections::BTreeMap;
use std::sync::Arc;

use kec_model::EventRecord;
use md5::{Digest, Md5};
use serde::{Deserialize, Serialize};

use super::HttpSinkConfig;
use super::SinkConfig;
use super::alibaba::{AccessKey, AccessKeyConfig, endpoint_host, hmac_sha1_base64, http_date};
use super::http::{DeliveryConfig, Format, HttpRequest, Verdict, excerpt, url_problem};
use crate::kube_eventer::{Level, SinkFromFlag, SinkUri, flag_sink};
use crate::ratelimit::RateLimitConfig;

/// Logs in one PutLogs request (SLS takes up to 4096 logs or 5 MB per LogGroup; Events
/// with their full JSON are a few KiB each).
pub const SLS_MAX_BATCH: usize = 256;

/// The `sls` sink's settings.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SlsSinkConfig {
    /// The region's SLS endpoint, e.g. `https://cn-hangzhou.log.aliyuncs.com` (or
    /// `https://cn-hangzhou-intranet.log.aliyuncs.com` inside the VPC). Requests go to
    /// `<project>.<endpoint host>`; an endpoint that is an IP address or `localhost` (a proxy)
    /// is called as is, with `Host: <project>.<endpoint host>`.
    pub endpoint: String,
    /// The SLS project.
    pub project: String,
    /// The Logstore in the project.
    pub logstore: String,
    /// The topic of every log group (kube-eventer's `topic`); empty by default.
    #[serde(default)]
    pub topic: String,
    /// The source of every log group; empty by default.
    #[serde(default)]
    pub source: String,
    /// Extra contents added to every log (kube-eventer's `label=key,value`), e.g. the cluster id.
    #[serde(default)]
    pub labels: BTreeMap<String, String>,
    /// Compress the body with lz4 (`x-log-compresstype: lz4`), as the SLS SDKs do.
    #[serde(default = "default_true")]
    pub compress: bool,
    /// The AccessKey that signs the requests.
    #[serde(default)]
    pub access_key: AccessKeyConfig,
    #[serde(default)]
    pub delivery: DeliveryConfig,
    #[serde(default)]
    pub rate_limit: RateLimitConfig,
}

fn default_true() -> bool {
    true
}

impl SlsSinkConfig {
    /// A config with the defaults for everything but where the logs go.
    pub fn new(endpoint: &str, project: &str, logstore: &str) -> SlsSinkConfig {
        SlsSinkConfig {
            endpoint: endpoint.to_string(),
            project: project.to_string(),
            logstore: logstore.to_string(),
            topic: String::new(),
            source: String::new(),
            labels: BTreeMap::new(),
            compress: true,
            access_key: AccessKeyConfig::default(),
            delivery: DeliveryConfig::default(),
            rate_limit: RateLimitConfig::default(),
        }
    }

    /// The format with the AccessKey resolved through `env` (the process environment outside
    /// tests).
    pub fn format_with_env(
        &self,
        env: impl Fn(&str) -> Option<String>,
    ) -> crate::Result<SlsFormat> {
        let invalid = |problem: String| crate::Error::InvalidConfig(vec![problem]);
        let key = self
            .access_key
            .resolve("sls.access_key", env)
            .map_err(invalid)?;
        let endpoint = reqwest::Url::parse(&self.endpoint)
            .map_err(|_| invalid(format!("sls.endpoint {:?} is not a URL", self.endpoint)))?;
        let (host, literal) = endpoint_host(&endpoint)
            .ok_or_else(|| invalid(format!("sls.endpoint {:?} has no host", self.endpoint)))?;
        let host_header = format!("{}.{host}", self.project);
        let authority = if literal { host } else { host_header.clone() };
        let path = format!("/logstores/{}/shards/lb", self.logstore);
        Ok(SlsFormat {
            url: format!("{}://{authority}{path}", endpoint.scheme()),
            host_header,
            path,
            topic: self.topic.clone(),
            source: self.source.clone(),
            labels: self.labels.clone(),
            compress: self.compress,
            key,
        })
    }
}

impl HttpSinkConfig for SlsSinkConfig {
    fn kind(&self) -> &'static str {
        "sls"
    }

    fn describe(&self) -> String {
        format!(
            "sls {} project {} logstore {}",
            self.endpoint, self.project, self.logstore
        )
    }

    fn problems(&self, field: &str) -> Vec<String> {
        let mut problems: Vec<String> = url_problem(&format!("{field}.endpoint"), &self.endpoint)
            .into_iter()
            .collect();
        // SLS names: lowercase letters, digits and hyphens (projects); logstores also `_`.
        if !valid_name(&self.project, false) {
            problems.push(format!(
                "{field}.project {:?} is not an SLS project name (3-63 of a-z, 0-9, -)",
                self.project
            ));
        }
        if !valid_name(&self.logstore, true) {
            problems.push(format!(
                "{field}.logstore {:?} is not an SLS Logstore name (2-63 of a-z, 0-9, -, _)",
                self.logstore
            ));
        }
        for key in self.labels.keys() {
            if key.is_empty() || RESERVED_KEYS.contains(&key.as_str()) {
                problems.push(format!(
                    "{field}.labels: {key:?} is empty or one of the keys every log has ({})",
                    RESERVED_KEYS.join(", ")
                ));
            }
        }
        problems.extend(self.access_key.problems(&format!("{field}.access_key")));
        problems
    }

    fn format(&self) -> crate::Result<Arc<dyn Format>> {
        Ok(Arc::new(self.format_with_env(super::alibaba::process_env)?))
    }

    fn delivery(&self) -> &DeliveryConfig {
        &self.delivery
    }

    fn rate_limit(&self) -> &RateLimitConfig {
        &self.rate_limit
    }
}

/// Content keys every log has (labels may not reuse them).
const RESERVED_KEYS: &[&str] = &["eventId", "hostname", "level", "pod_id", "pod_name"];

fn valid_name(name: &str, underscore: bool) -> bool {
    let min = if underscore { 2 } else { 3 };
    (min..=63).contains(&name.len())
        && name.bytes().all(|byte| {
            byte.is_ascii_lowercase()
                || byte.is_ascii_digit()
                || byte == b'-'
                || (underscore && byte == b'_')
        })
        && name
            .bytes()
            .next()
            .is_some_and(|byte| byte.is_ascii_alphanumeric())
        && name
            .bytes()
            .last()
            .is_some_and(|byte| byte.is_ascii_alphanumeric())
}

/// SLS's `LogGroup` (log.proto of the SLS SDKs), the body of PutLogs.
#[derive(Clone, PartialEq, prost::Message)]
pub struct LogGroup {
    #[prost(message, repeated, tag = "1")]
    pub logs: Vec<Log>,
    #[prost(string, optional, tag = "2")]
    pub category: Option<String>,
    #[prost(string, optional, tag = "3")]
    pub topic: Option<String>,
    #[prost(string, optional, tag = "4")]
    pub source: Option<String>,
    #[prost(string, optional, tag = "5")]
    pub machine_uuid: Option<String>,
    #[prost(message, repeated, tag = "6")]
    pub log_tags: Vec<LogTag>,
}

/// One log: a time (epoch seconds) and key/value contents.
#[derive(Clone, PartialEq, prost::Message)]
pub struct Log {
    #[prost(uint32, required, tag = "1")]
    pub time: u32,
    #[prost(message, repeated, tag = "2")]
    pub contents: Vec<LogContent>,
    #[prost(fixed32, optional, tag = "4")]
    pub time_ns: Option<u32>,
}

/// One key/value of a log.
#[derive(Clone, PartialEq, prost::Message)]
pub struct LogContent {
    #[prost(string, required, tag = "1")]
    pub key: String,
    #[prost(string, required, tag = "2")]
    pub value: String,
}

/// A tag of a log group.
#[derive(Clone, PartialEq, prost::Message)]
pub struct LogTag {
    #[prost(string, required, tag = "1")]
    pub key: String,
    #[prost(string, required, tag = "2")]
    pub value: String,
}

/// The PutLogs wire format.
#[derive(Debug)]
pub struct SlsFormat {
    url: String,
    host_header: String,
    path: String,
    topic: String,
    source: String,
    labels: BTreeMap<String, String>,
    compress: bool,
    key: AccessKey,
}

impl SlsFormat {
    /// The log group of a batch, as kube-eventer builds it.
    pub fn log_group(&self, batch: &[Arc<EventRecord>]) -> LogGroup {
        LogGroup {
            logs: batch.iter().map(|record| self.log(record)).collect(),
            category: None,
            topic: Some(self.topic.clone()),
            source: Some(self.source.clone()),
            machine_uuid: None,
            log_tags: Vec::new(),
        }
    }

    fn log(&self, record: &EventRecord) -> Log {
        let content = |key: &str, value: &str| LogContent {
            key: key.to_string(),
            value: value.to_string(),
        };
        let mut contents = vec![
            content("eventId", &go_indent_json(record.raw.get())),
            content("hostname", &record.source_host),
            content("level", &record.event_type),
        ];
        if record.object.kind == "Pod" {
            contents.push(content("pod_id", &record.object.uid));
            contents.push(content("pod_name", &record.object.name));
        }
        contents.extend(self.labels.iter().map(|(key, value)| content(key, value)));
        Log {
            time: u32::try_from(record.time_ms.div_euclid(1000)).unwrap_or(0),
            contents,
            time_ns: None,
        }
    }
}

impl Format for SlsFormat {
    fn max_batch(&self) -> usize {
        SLS_MAX_BATCH
    }

    fn request(&self, batch: &[Arc<EventRecord>], now_ms: i64) -> Result<HttpRequest, String> {
        let raw = prost::Message::encode_to_vec(&self.log_group(batch));
        let raw_size = raw.len();
        let body = if self.compress {
            lz4_flex::block::compress(&raw)
        } else {
            raw
        };
        let content_md5 = upper_hex(&Md5::digest(&body));
        let content_type = "application/x-protobuf";
        let date = http_date(now_ms);
        // Every x-log-/x-acs- header is signed: name them all here, lowercase.
        let mut signed_headers: Vec<(String, String)> = vec![
            ("x-log-apiversion".into(), "0.6.0".into()),
            ("x-log-bodyrawsize".into(), raw_size.to_string()),
            ("x-log-signaturemethod".into(), "hmac-sha1".into()),
        ];
        if self.compress {
            signed_headers.push(("x-log-compresstype".into(), "lz4".into()));
        }
        if let Some(token) = &self.key.security_token {
            signed_headers.push(("x-acs-security-token".into(), token.expose().to_string()));
        }
        signed_headers.sort();
        let string_to_sign = sls_string_to_sign(
            "POST",
            &content_md5,
            content_type,
            &date,
            &signed_headers,
            &self.path,
        );
        let signature = hmac_sha1_base64(self.key.secret.expose(), &string_to_sign);
        let mut headers = vec![
            ("Host".to_string(), self.host_header.clone()),
            ("Date".to_string(), date),
            ("Content-Type".to_string(), content_type.to_string()),
            ("Content-MD5".to_string(), content_md5),
            (
                "Authorization".to_string(),
                format!("LOG {}:{signature}", self.key.id.expose()),
            ),
            ("User-Agent".to_string(), "kec-eventer".to_string()),
        ];
        headers.extend(signed_headers);
        Ok(HttpRequest {
            method: reqwest::Method::POST,
            url: self.url.clone(),
            headers,
            body,
        })
    }

    fn verdict(&self, status: u16, body: &[u8]) -> Verdict {
        sls_verdict(status, body)
    }
}

/// SLS's string to sign (v1): verb, Content-MD5, Content-Type, Date, the `x-log-`/`x-acs-`
/// headers as sorted `name:value` lines, and the resource (path, then sorted query).
pub fn sls_string_to_sign(
    method: &str,
    content_md5: &str,
    content_type: &str,
    date: &str,
    sorted_headers: &[(String, String)],
    resource: &str,
) -> String {
    let mut text = format!("{method}\n{content_md5}\n{content_type}\n{date}\n");
    for (name, value) in sorted_headers {
        text.push_str(name);
        text.push(':');
        text.push_str(value);
        text.push('\n');
    }
    text.push_str(resource);
    text
}

/// SLS error codes that mean "later": quotas and a busy or failing server.
const SLS_RETRY_CODES: &[&str] = &[
    "WriteQuotaExceed",
    "ShardWriteQuotaExceed",
    "ProjectQuotaExceed",
    "ServerBusy",
    "InternalServerError",
    "RequestTimeout",
];

/// PutLogs answers 200 with an empty body; errors carry `{"errorCode", "errorMessage"}`.
/// Throttling comes as 403 with a quota code, so the code decides before the status.
pub fn sls_verdict(status: u16, body: &[u8]) -> Verdict {
    if (200..300).contains(&status) {
        return Verdict::Delivered;
    }
    let code = serde_json::from_slice::<serde_json::Value>(body)
        .ok()
        .and_then(|value| value.get("errorCode")?.as_str().map(str::to_string))
        .unwrap_or_default();
    let reason = format!("answered {status} {code}: {}", excerpt(body));
    if SLS_RETRY_CODES.contains(&code.as_str()) || matches!(status, 408 | 429 | 500..=599) {
        Verdict::Retry(reason)
    } else {
        Verdict::Reject(reason)
    }
}

fn upper_hex(bytes: &[u8]) -> String {
    bytes.iter().map(|byte| format!("{byte:02X}")).collect()
}

/// Re-indents JSON text the way Go's `json.MarshalIndent(v, "", " ")` writes it (one space per
/// level, `"key": value`, `<`, `>`, `&`, U+2028 and U+2029 escaped), keeping the key order of
/// the text. The text is valid JSON (a record's `raw`).
pub fn go_indent_json(text: &str) -> String {
    let mut out = String::with_capacity(text.len() * 2);
    let mut depth = 0usize;
    let mut in_string = false;
    let mut escaped = false;
    let mut chars = text.chars().peekable();
    let newline = |out: &mut String, depth: usize| {
        out.push('\n');
        out.extend(std::iter::repeat_n(' ', depth));
    };
    while let Some(character) = chars.next() {
        if in_string {
            match character {
                _ if escaped => {
                    escaped = false;
                    out.push(character);
                }
                '\\' => {
                    escaped = true;
                    out.push(character);
                }
                '"' => {
                    in_string = false;
                    out.push(character);
                }
                '<' => out.push_str("\\u003c"),
                '>' => out.push_str("\\u003e"),
                '&' => out.push_str("\\u0026"),
                '\u{2028}' => out.push_str("\\u2028"),
                '\u{2029}' => out.push_str("\\u2029"),
                _ => out.push(character),
            }
            continue;
        }
        match character {
            '"' => {
                in_string = true;
                out.push(character);
            }
            '{' | '[' => {
                out.push(character);
                while chars.peek().is_some_and(|next| next.is_ascii_whitespace()) {
                    chars.next();
                }
                if chars.peek().is_some_and(|next| matches!(next, '}' | ']')) {
                    // Empty: `{}` / `[]` on one line, as Go writes them.
                    if let Some(close) = chars.next() {
                        out.push(close);
                    }
                } else {
                    depth += 1;
                    newline(&mut out, depth);
                }
            }
            '}' | ']' => {
                depth = depth.saturating_sub(1);
                newline(&mut out, depth);
                out.push(character);
            }
            ',' => {
                out.push(',');
                newline(&mut out, depth);
            }
            ':' => out.push_str(": "),
            _ if character.is_ascii_whitespace() => {}
            _ => out.push(character),
        }
    }
    out
}

/// kube-eventer's `--sink=sls:<endpoint>?project=..&logStore=..&topic=..&label=key,value
/// &accessKeyId=..&accessKeySecret=..&regionId=..&internal=..`. Without an endpoint, the one of
/// `regionId` (or `$RegionId`) is used (`-intranet` unless `internal=false`), or `$SLS_ENDPOINT`.
/// Without `accessKeyId`, the key comes from `$AccessKeyId` / `$AccessKeySecret` at start.
/// kube-eventer's sls sink has no level filter: it takes every Event (level `Normal`).
pub fn from_kube_eventer(uri: &SinkUri) -> SinkFromFlag {
    from_kube_eventer_with_env(uri, super::alibaba::process_env)
}

/// [`from_kube_eventer`] with the environment injected (for tests).
pub fn from_kube_eventer_with_env(
    uri: &SinkUri,
    env: impl Fn(&str) -> Option<String>,
) -> SinkFromFlag {
    let mut problems = uri.unknown_params(&[
        "project",
        "logStore",
        "topic",
        "regionId",
        "label",
        "accessKeyId",
        "accessKeySecret",
        "internal",
    ]);
    let internal = uri.param_bool("internal", true, &mut problems);
    let region = uri
        .param("regionId")
        .map(str::to_string)
        .or_else(|| env("RegionId"));
    let endpoint = if !uri.target.is_empty() {
        uri.target.clone()
    } else if let Some(endpoint) = env("SLS_ENDPOINT").filter(|value| !value.is_empty()) {
        if endpoint.contains("://") {
            endpoint
        } else {
            format!("https://{endpoint}")
        }
    } else if let Some(region) = region {
        let suffix = if internal { "-intranet" } else { "" };
        format!("https://{region}{suffix}.log.aliyuncs.com")
    } else {
        problems.push("--sink sls needs an endpoint URL or ?regionId=<region>".to_string());
        String::new()
    };
    let required = |name: &str, problems: &mut Vec<String>| match uri.param(name) {
        Some(value) if !value.is_empty() => value.to_string(),
        _ => {
            problems.push(format!("--sink sls needs ?{name}=<name>"));
            String::new()
        }
    };
    let project = required("project", &mut problems);
    let logstore = required("logStore", &mut problems);
    let mut config = SlsSinkConfig::new(&endpoint, &project, &logstore);
    config.topic = uri.param("topic").unwrap_or_default().to_string();
    for label in uri.param_values("label") {
        match label.split(',').collect::<Vec<_>>().as_slice() {
            [key, value] => {
                config.labels.insert(key.to_string(), value.to_string());
            }
            _ => problems.push(format!("--sink sls: label={label:?} is not key,value")),
        }
    }
    if let Some(access_key) = AccessKeyConfig::from_flag(uri, &mut problems) {
        config.access_key = access_key;
    }
    if problems.is_empty() {
        problems.extend(config.problems("--sink sls"));
    }
    flag_sink(problems, SinkConfig::Sls(config), Level::Normal)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_is_indented_like_go_marshal_indent() {
        assert_eq!(
            go_indent_json(r#"{"a":{"b":[1, 2],"e":{},"f":[]},"c":"x, y: {<&>}"}"#),
            "{\n \"a\": {\n  \"b\": [\n   1,\n   2\n  ],\n  \"e\": {},\n  \"f\": []\n },\n \"c\": \"x, y: {\\u003c\\u0026\\u003e}\"\n}"
        );
        assert_eq!(go_indent_json(r#""a\"b,""#), r#""a\"b,""#);
    }

    #[test]
    fn errors_are_retried_only_when_they_pass() {
        let body = |code: &str| format!(r#"{{"errorCode":"{code}","errorMessage":"m"}}"#);
        assert_eq!(sls_verdict(200, b""), Verdict::Delivered);
        for (status, code) in [
            (403, "WriteQuotaExceed"),
            (403, "ShardWriteQuotaExceed"),
            (500, "InternalServerError"),
            (503, "ServerBusy"),
        ] {
            assert!(
                matches!(
                    sls_verdict(status, body(code).as_bytes()),
                    Verdict::Retry(_)
                ),
                "{code}"
            );
        }
        for (status, code) in [
            (401, "Unauthorized"),
            (401, "SignatureNotMatch"),
            (401, "InvalidAccessKeyId"),
            (404, "LogStoreNotExist"),
            (400, "PostBodyInvalid"),
        ] {
            assert!(
                matches!(
                    sls_verdict(status, body(code).as_bytes()),
                    Verdict::Reject(_)
                ),
                "{code}"
            );
        }
    }

    #[test]
    fn names_are_checked() {
        let mut config = SlsSinkConfig::new(
            "https://cn-hangzhou.log.aliyuncs.com",
            "k8s-log",
            "k8s_event",
        );
        assert!(
            config.problems("s").is_empty(),
            "{:?}",
            config.problems("s")
        );
        config.project = "Bad_Project".into();
        config.logstore = "-".into();
        config.endpoint = "cn-hangzhou.log.aliyuncs.com".into();
        config.labels.insert("level".into(), "x".into());
        assert_eq!(config.problems("s").len(), 4, "{:?}", config.problems("s"));
    }

    #[test]
    fn describe_names_no_secret() {
        let mut config =
            SlsSinkConfig::new("https://cn-hangzhou.log.aliyuncs.com", "proj", "store");
        config.access_key = AccessKeyConfig::inline("LTAIsecretid", "topsecret");
        let text = format!("{} {:?}", config.describe(), config);
        assert!(
            !text.contains("LTAIsecretid") && !text.contains("topsecret"),
            "{text}"
        );
    }
}
