//! `eventbridge`: Alibaba Cloud EventBridge PutEvents (`POST /openapi/putEvents`), a batch of
//! CloudEvents 1.0 in structured mode (`application/cloudevents-batch+json`), signed the way
//! the official EventBridge SDKs sign (`Authorization: acs:<AccessKeyId>:<signature>`, an
//! HMAC-SHA1 over the verb, Content-MD5, Content-Type, Date, the `x-acs-*` headers and the
//! resource).
//!
//! Each Event becomes the CloudEvent kube-eventer sends: source `acs.cs`, type
//! `cs:k8s:<Kind>RelatedEvent`, subject `acs:cs:<region>:<account>:<cluster>/apis/<apiVersion>/
//! namespaces/<namespace>/<resource>/<name>`, time (RFC 3339, seconds), the Event object as
//! `data` and the extension `aliyuneventbusname`. Unlike kube-eventer (a random UUID per send),
//! the id is derived from the Event (uid and resourceVersion), so a retried batch carries the
//! same ids and consumers can drop duplicates.

use std::sync::Arc;

use kec_model::EventRecord;
use serde::{Deserialize, Serialize};
use serde_json::json;

use super::HttpSinkConfig;
use super::SinkConfig;
use super::alibaba::{AccessKey, AccessKeyConfig, endpoint_host, hmac_sha1_base64, http_date};
use super::http::{DeliveryConfig, Format, HttpRequest, Verdict, excerpt, url_problem};
use crate::kube_eventer::{Level, SinkFromFlag, SinkUri, flag_sink};
use crate::ratelimit::RateLimitConfig;

/// Events per PutEvents request: kube-eventer's batch size.
pub const EVENTBRIDGE_MAX_BATCH: usize = 4;

/// The `eventbridge` sink's settings.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EventBridgeSinkConfig {
    /// The Alibaba Cloud account id that owns the event bus (kube-eventer's `OwnerAccountId`).
    pub account_id: String,
    /// The region, e.g. `cn-hangzhou`.
    pub region_id: String,
    /// The cluster id, part of every event's subject.
    pub cluster_id: String,
    /// The event bus.
    #[serde(default = "default_bus")]
    pub event_bus: String,
    /// Use the VPC endpoint (`<account>.eventbridge.<region>-vpc.aliyuncs.com`), as kube-eventer
    /// does by default; false for the public one.
    #[serde(default = "default_true")]
    pub internal: bool,
    /// Overrides the endpoint URL derived from `account_id`, `region_id` and `internal`
    /// (e.g. a proxy). An IP address or `localhost` is called with
    /// `Host: <account>.eventbridge.<region>.aliyuncs.com`.
    #[serde(default)]
    pub endpoint: Option<String>,
    /// The AccessKey that signs the requests.
    #[serde(default)]
    pub access_key: AccessKeyConfig,
    #[serde(default)]
    pub delivery: DeliveryConfig,
    #[serde(default)]
    pub rate_limit: RateLimitConfig,
}

fn default_bus() -> String {
    "default".to_string()
}

fn default_true() -> bool {
    true
}

impl EventBridgeSinkConfig {
    /// A config with the defaults for everything but the account, region and cluster.
    pub fn new(account_id: &str, region_id: &str, cluster_id: &str) -> EventBridgeSinkConfig {
        EventBridgeSinkConfig {
            account_id: account_id.to_string(),
            region_id: region_id.to_string(),
            cluster_id: cluster_id.to_string(),
            event_bus: default_bus(),
            internal: true,
            endpoint: None,
            access_key: AccessKeyConfig::default(),
            delivery: DeliveryConfig::default(),
            rate_limit: RateLimitConfig::default(),
        }
    }

    /// The endpoint's host name as EventBridge documents it.
    fn service_host(&self) -> String {
        let region = if self.internal {
            format!("{}-vpc", self.region_id)
        } else {
            self.region_id.clone()
        };
        format!("{}.eventbridge.{region}.aliyuncs.com", self.account_id)
    }

    /// The endpoint URL requests go to.
    pub fn endpoint_url(&self) -> String {
        self.endpoint
            .clone()
            .unwrap_or_else(|| format!("https://{}", self.service_host()))
    }

    /// The format with the AccessKey resolved through `env` (the process environment outside
    /// tests).
    pub fn format_with_env(
        &self,
        env: impl Fn(&str) -> Option<String>,
    ) -> crate::Result<EventBridgeFormat> {
        let invalid = |problem: String| crate::Error::InvalidConfig(vec![problem]);
        let key = self
            .access_key
            .resolve("eventbridge.access_key", env)
            .map_err(invalid)?;
        let endpoint_text = self.endpoint_url();
        let endpoint = reqwest::Url::parse(&endpoint_text).map_err(|_| {
            invalid(format!(
                "eventbridge.endpoint {endpoint_text:?} is not a URL"
            ))
        })?;
        let (host, literal) = endpoint_host(&endpoint).ok_or_else(|| {
            invalid(format!(
                "eventbridge.endpoint {endpoint_text:?} has no host"
            ))
        })?;
        let host_header = if literal {
            self.service_host()
        } else {
            host.clone()
        };
        Ok(EventBridgeFormat {
            url: format!("{}://{host}{PUT_EVENTS_PATH}", endpoint.scheme()),
            host_header,
            subject_prefix: format!(
                "acs:cs:{}:{}:{}",
                self.region_id, self.account_id, self.cluster_id
            ),
            event_bus: self.event_bus.clone(),
            key,
        })
    }
}

impl HttpSinkConfig for EventBridgeSinkConfig {
    fn kind(&self) -> &'static str {
        "eventbridge"
    }

    fn describe(&self) -> String {
        format!(
            "eventbridge {} bus {} (cluster {})",
            self.endpoint_url(),
            self.event_bus,
            self.cluster_id
        )
    }

    fn problems(&self, field: &str) -> Vec<String> {
        let mut problems = Vec::new();
        if self.account_id.is_empty() || !self.account_id.bytes().all(|b| b.is_ascii_digit()) {
            problems.push(format!(
                "{field}.account_id {:?} is not an Alibaba Cloud account id (digits)",
                self.account_id
            ));
        }
        for (name, value) in [
            ("region_id", &self.region_id),
            ("cluster_id", &self.cluster_id),
            ("event_bus", &self.event_bus),
        ] {
            if value.trim().is_empty() {
                problems.push(format!("{field}.{name} is empty"));
            }
        }
        if !self
            .region_id
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        {
            problems.push(format!(
                "{field}.region_id {:?} is not a region id (like cn-hangzhou)",
                self.region_id
            ));
        }
        if let Some(endpoint) = &self.endpoint {
            problems.extend(url_problem(&format!("{field}.endpoint"), endpoint));
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

/// The PutEvents resource.
pub const PUT_EVENTS_PATH: &str = "/openapi/putEvents";
/// The Content-Type of a PutEvents batch.
pub const CLOUDEVENTS_BATCH: &str = "application/cloudevents-batch+json; charset=utf-8";

/// The PutEvents wire format.
#[derive(Debug)]
pub struct EventBridgeFormat {
    url: String,
    host_header: String,
    subject_prefix: String,
    event_bus: String,
    key: AccessKey,
}

impl EventBridgeFormat {
    /// The CloudEvent kube-eventer sends for one Event.
    pub fn cloud_event(&self, record: &EventRecord) -> serde_json::Value {
        let event_type = if record.object.kind.is_empty() {
            "cs:k8s:UnknownTypeEvent".to_string()
        } else {
            format!("cs:k8s:{}RelatedEvent", record.object.kind)
        };
        let time = jiff::Timestamp::from_second(record.time_ms.div_euclid(1000))
            .map(|time| time.to_string())
            .unwrap_or_default();
        json!({
            "id": format!("{}-{}", record.uid, record.resource_version),
            "source": "acs.cs",
            "specversion": "1.0",
            "type": event_type,
            "datacontenttype": "application/json",
            "subject": self.subject(record),
            "time": time,
            "data": record.raw.to_value(),
            "aliyuneventbusname": self.event_bus,
        })
    }

    /// `acs:cs:<region>:<account>:<cluster>/apis/<version>/namespaces/<ns>/<resource>/<name>`,
    /// kube-eventer's subject (a selfLink-like path; the resource is guessed from the kind).
    fn subject(&self, record: &EventRecord) -> String {
        let object = &record.object;
        let mut version = object.api_version.clone();
        // kube-eventer's hack: a group without a version gets `/versionUnknown`.
        if version.contains('.') && !version.contains('/') {
            version.push_str("/versionUnknown");
        }
        format!(
            "{}/apis/{version}/namespaces/{}/{}/{}",
            self.subject_prefix,
            object.namespace,
            guess_resource(&object.kind),
            object.name
        )
    }
}

/// The plural resource of a kind, guessed like Kubernetes' `UnsafeGuessKindToResource`.
pub fn guess_resource(kind: &str) -> String {
    let singular = kind.to_lowercase();
    if singular.is_empty() || singular.ends_with("endpoints") {
        return singular;
    }
    if singular.ends_with('s') {
        format!("{singular}es")
    } else if let Some(stem) = singular.strip_suffix('y') {
        format!("{stem}ies")
    } else {
        format!("{singular}s")
    }
}

impl Format for EventBridgeFormat {
    fn max_batch(&self) -> usize {
        EVENTBRIDGE_MAX_BATCH
    }

    fn request(&self, batch: &[Arc<EventRecord>], now_ms: i64) -> Result<HttpRequest, String> {
        let events: Vec<serde_json::Value> = batch
            .iter()
            .map(|record| self.cloud_event(record))
            .collect();
        let body = serde_json::Value::Array(events).to_string().into_bytes();
        let date = http_date(now_ms);
        let nonce = nonce();
        let mut signed_headers: Vec<(String, String)> = vec![
            ("x-acs-signature-method".into(), "HMAC-SHA1".into()),
            ("x-acs-signature-nonce".into(), nonce),
            ("x-acs-signature-version".into(), "1.0".into()),
        ];
        if let Some(token) = &self.key.security_token {
            signed_headers.push(("x-acs-accesskey-id".into(), self.key.id.expose().into()));
            signed_headers.push(("x-acs-security-token".into(), token.expose().into()));
        }
        signed_headers.sort();
        let string_to_sign = eventbridge_string_to_sign(
            "POST",
            "",
            CLOUDEVENTS_BATCH,
            &date,
            &signed_headers,
            PUT_EVENTS_PATH,
        );
        let signature = hmac_sha1_base64(self.key.secret.expose(), &string_to_sign);
        let mut headers = vec![
            ("Host".to_string(), self.host_header.clone()),
            ("Date".to_string(), date),
            ("Accept".to_string(), "application/json".to_string()),
            ("Content-Type".to_string(), CLOUDEVENTS_BATCH.to_string()),
            (
                "x-eventbridge-version".to_string(),
                "2015-06-06".to_string(),
            ),
            ("User-Agent".to_string(), "kec-eventer".to_string()),
            (
                "Authorization".to_string(),
                format!("acs:{}:{signature}", self.key.id.expose()),
            ),
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
        eventbridge_verdict(status, body)
    }
}

/// EventBridge's string to sign: verb, Content-MD5, Content-Type, Date, the `x-acs-` headers as
/// sorted `name:value` lines, and the resource.
pub fn eventbridge_string_to_sign(
    method: &str,
    content_md5: &str,
    content_type: &str,
    date: &str,
    sorted_headers: &[(String, String)],
    resource: &str,
) -> String {
    let mut text = format!("{method}\n{content_md5}\n{content_type}\n{date}\n");
    for (name, value) in sorted_headers {
        text.push_str(&format!("{name}:{value}\n"));
    }
    text.push_str(resource);
    text
}

/// A fresh `x-acs-signature-nonce` (a random UUID, as the SDKs send).
fn nonce() -> String {
    let bytes: [u8; 16] = rand::random();
    let hex: String = bytes.iter().map(|byte| format!("{byte:02x}")).collect();
    format!(
        "{}-{}-{}-{}-{}",
        &hex[0..8],
        &hex[8..12],
        &hex[12..16],
        &hex[16..20],
        &hex[20..32]
    )
}

/// Error codes (of the answer or of failed entries) that mean "later".
fn retryable_code(code: &str) -> bool {
    [
        "TooManyRequests",
        "Throttl",
        "InternalError",
        "ServiceUnavailable",
        "Busy",
        "Timeout",
    ]
    .iter()
    .any(|part| code.contains(part))
}

/// 2xx with `FailedEntryCount` 0 is delivered. Failed entries are retried (the whole batch:
/// the ids repeat, so consumers can drop duplicates) when their code is a throttling or
/// internal one, otherwise the batch is dropped. Errors: 429, 5xx and throttling codes retry;
/// authentication and other 4xx errors are final.
pub fn eventbridge_verdict(status: u16, body: &[u8]) -> Verdict {
    let answer = serde_json::from_slice::<serde_json::Value>(body).unwrap_or_default();
    if (200..300).contains(&status) {
        let failed = answer
            .get("FailedEntryCount")
            .and_then(serde_json::Value::as_u64)
            .unwrap_or(0);
        if failed == 0 {
            return Verdict::Delivered;
        }
        let codes: Vec<&str> = answer
            .get("EntryList")
            .and_then(serde_json::Value::as_array)
            .map(|entries| {
                entries
                    .iter()
                    .filter_map(|entry| entry.get("ErrorCode")?.as_str())
                    .filter(|code| !code.is_empty())
                    .collect()
            })
            .unwrap_or_default();
        let reason = format!("{failed} events failed: {}", codes.join(", "));
        return if codes.iter().any(|code| retryable_code(code)) {
            Verdict::Retry(reason)
        } else {
            Verdict::Reject(reason)
        };
    }
    let code = answer
        .get("code")
        .or_else(|| answer.get("Code"))
        .and_then(serde_json::Value::as_str)
        .unwrap_or_default();
    let reason = format!("answered {status} {code}: {}", excerpt(body));
    if matches!(status, 408 | 429 | 500..=599) || retryable_code(code) {
        Verdict::Retry(reason)
    } else {
        Verdict::Reject(reason)
    }
}

/// kube-eventer's `--sink=eventbridge:?clusterId=..&regionId=..&accessKeyId=..
/// &accessKeySecret=..&eventBusName=..&internal=..`, each falling back to kube-eventer's
/// environment variable (`ClusterId`, `RegionId`, `AccessKeyId`/`AccessKeySecret` at start,
/// `EventBusName`). kube-eventer reads the account id from the ECS metadata service; kec takes
/// `?accountId=` or `$OwnerAccountId` instead. The sink has no level filter (level `Normal`).
pub fn from_kube_eventer(uri: &SinkUri) -> SinkFromFlag {
    from_kube_eventer_with_env(uri, super::alibaba::process_env)
}

/// [`from_kube_eventer`] with the environment injected (for tests).
pub fn from_kube_eventer_with_env(
    uri: &SinkUri,
    env: impl Fn(&str) -> Option<String>,
) -> SinkFromFlag {
    let mut problems = uri.unknown_params(&[
        "clusterId",
        "regionId",
        "accessKeyId",
        "accessKeySecret",
        "eventBusName",
        "internal",
        "accountId",
    ]);
    // Like kube-eventer, any URL before `?` is ignored: the endpoint follows from the account
    // and the region.
    let value = |param: &str, variable: &str| {
        uri.param(param)
            .map(str::to_string)
            .or_else(|| env(variable))
            .filter(|value| !value.is_empty())
    };
    let mut required = |param: &str, variable: &str| {
        value(param, variable).unwrap_or_else(|| {
            problems.push(format!("--sink eventbridge needs ?{param}= or ${variable}"));
            String::new()
        })
    };
    let cluster = required("clusterId", "ClusterId");
    let region = required("regionId", "RegionId");
    let account = required("accountId", "OwnerAccountId");
    let mut config = EventBridgeSinkConfig::new(&account, &region, &cluster);
    if let Some(bus) = value("eventBusName", "EventBusName") {
        config.event_bus = bus;
    }
    config.internal = uri.param_bool("internal", true, &mut problems);
    if let Some(access_key) = AccessKeyConfig::from_flag(uri, &mut problems) {
        config.access_key = access_key;
    }
    if problems.is_empty() {
        problems.extend(config.problems("--sink eventbridge"));
    }
    flag_sink(problems, SinkConfig::EventBridge(config), Level::Normal)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn resources_are_guessed_like_kubernetes() {
        assert_eq!(guess_resource("Pod"), "pods");
        assert_eq!(guess_resource("Ingress"), "ingresses");
        assert_eq!(guess_resource("NetworkPolicy"), "networkpolicies");
        assert_eq!(guess_resource("Endpoints"), "endpoints");
        assert_eq!(guess_resource(""), "");
    }

    #[test]
    fn answers_are_judged_by_status_code_and_entries() {
        assert_eq!(
            eventbridge_verdict(
                200,
                br#"{"RequestId":"r","FailedEntryCount":0,"EntryList":[]}"#
            ),
            Verdict::Delivered
        );
        assert!(matches!(
            eventbridge_verdict(
                200,
                br#"{"FailedEntryCount":1,"EntryList":[{"EventId":"a"},{"ErrorCode":"Throttling.User"}]}"#
            ),
            Verdict::Retry(_)
        ));
        assert!(matches!(
            eventbridge_verdict(
                200,
                br#"{"FailedEntryCount":1,"EntryList":[{"ErrorCode":"EventBusNotExist"}]}"#
            ),
            Verdict::Reject(_)
        ));
        assert!(matches!(
            eventbridge_verdict(429, br#"{"code":"TooManyRequests"}"#),
            Verdict::Retry(_)
        ));
        assert!(matches!(
            eventbridge_verdict(503, b"busy"),
            Verdict::Retry(_)
        ));
        for code in [
            "SignatureDoesNotMatch",
            "InvalidAccessKeyId",
            "AccessDenied",
        ] {
            let body = format!(r#"{{"code":"{code}","message":"m","requestId":"r"}}"#);
            assert!(
                matches!(
                    eventbridge_verdict(403, body.as_bytes()),
                    Verdict::Reject(_)
                ),
                "{code}"
            );
        }
    }

    #[test]
    fn endpoints_follow_the_account_region_and_network() {
        let mut config = EventBridgeSinkConfig::new("1234567890", "cn-hangzhou", "c1");
        assert_eq!(
            config.endpoint_url(),
            "https://1234567890.eventbridge.cn-hangzhou-vpc.aliyuncs.com"
        );
        config.internal = false;
        assert_eq!(
            config.endpoint_url(),
            "https://1234567890.eventbridge.cn-hangzhou.aliyuncs.com"
        );
        assert!(
            config.problems("e").is_empty(),
            "{:?}",
            config.problems("e")
        );
        config.account_id = "acct".into();
        config.region_id = "CN".into();
        config.endpoint = Some("ftp://x".into());
        assert_eq!(config.problems("e").len(), 3, "{:?}", config.problems("e"));
    }

    #[test]
    fn nonces_are_uuids_and_differ() {
        let (a, b) = (nonce(), nonce());
        assert_ne!(a, b);
        assert_eq!(a.len(), 36);
        assert_eq!(a.matches('-').count(), 4);
    }
}
