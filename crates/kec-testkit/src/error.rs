//! The crate's error type and the Kubernetes `Status` errors the fake API server answers with.

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::{Map, Value, json};

/// What can go wrong when starting, driving or stopping the fake API server.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The listening socket could not be bound.
    #[error("cannot bind the fake api server to {address}")]
    Bind {
        address: String,
        #[source]
        source: std::io::Error,
    },
    /// The bound socket has no readable local address.
    #[error("cannot read the local address of the fake api server")]
    LocalAddress(#[source] std::io::Error),
    /// The API server refused a write made through the handle, exactly as it would refuse it over
    /// HTTP (the `Status` says why).
    #[error("the api server refused the request: {0}")]
    Api(#[from] ApiStatus),
    /// An object handed to the handle is not a JSON object with `metadata.name`.
    #[error("invalid object: {reason}")]
    InvalidObject { reason: String },
}

/// `Result` with this crate's [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// A Kubernetes `Status` failure: the HTTP code, the machine-readable reason and the message, as
/// kube-apiserver writes them (`{"kind":"Status","apiVersion":"v1","metadata":{},"status":"Failure",...}`).
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("{code} {reason}: {message}")]
pub struct ApiStatus {
    /// HTTP status code, repeated in the body as `code`.
    pub code: u16,
    /// `StatusReason`, e.g. `NotFound`, `AlreadyExists`, `Conflict`, `Expired`.
    pub reason: &'static str,
    /// Human-readable message, worded as kube-apiserver words it.
    pub message: String,
    /// `details` (name, group, kind, causes, retryAfterSeconds) when the API server sets them.
    pub details: Option<Box<Value>>,
    /// `metadata` of the Status; only an expired continue token fills it (with a fresh token).
    pub list_metadata: Option<Box<Value>>,
    /// Sent as the `Retry-After` header too (429 and 503 answers).
    pub retry_after_seconds: Option<u32>,
}

impl ApiStatus {
    pub fn new(code: u16, reason: &'static str, message: impl Into<String>) -> ApiStatus {
        ApiStatus {
            code,
            reason,
            message: message.into(),
            details: None,
            list_metadata: None,
            retry_after_seconds: None,
        }
    }

    /// `<plural>[.<group>] "<name>" not found`, as a GET, PATCH or PUT of a missing object gets.
    pub fn not_found(plural: &str, group: &str, name: &str) -> ApiStatus {
        let mut status = ApiStatus::new(
            404,
            "NotFound",
            format!("{} \"{name}\" not found", qualified_resource(plural, group)),
        );
        status.details = Some(Box::new(name_details(plural, group, name)));
        status
    }

    /// `<plural> "<name>" already exists` (409), as a POST of an existing name gets.
    pub fn already_exists(plural: &str, group: &str, name: &str) -> ApiStatus {
        let mut status = ApiStatus::new(
            409,
            "AlreadyExists",
            format!(
                "{} \"{name}\" already exists",
                qualified_resource(plural, group)
            ),
        );
        status.details = Some(Box::new(name_details(plural, group, name)));
        status
    }

    /// The optimistic-concurrency conflict (409) of a write with a stale `metadata.resourceVersion`.
    pub fn conflict(plural: &str, group: &str, name: &str) -> ApiStatus {
        let mut status = ApiStatus::new(
            409,
            "Conflict",
            format!(
                "Operation cannot be fulfilled on {} \"{name}\": the object has been modified; \
                 please apply your changes to the latest version and try again",
                qualified_resource(plural, group)
            ),
        );
        status.details = Some(Box::new(name_details(plural, group, name)));
        status
    }

    /// 400 BadRequest.
    pub fn bad_request(message: impl Into<String>) -> ApiStatus {
        ApiStatus::new(400, "BadRequest", message)
    }

    /// 422 Invalid with one cause per field error, worded like `field.ErrorList`.
    pub fn invalid(kind: &str, group: &str, name: &str, causes: &[FieldError]) -> ApiStatus {
        let summary = causes
            .iter()
            .map(FieldError::to_message)
            .collect::<Vec<_>>();
        let joined = if summary.len() == 1 {
            summary.join("")
        } else {
            format!("[{}]", summary.join(", "))
        };
        let mut status = ApiStatus::new(
            422,
            "Invalid",
            format!("{kind} \"{name}\" is invalid: {joined}"),
        );
        let causes_json = causes
            .iter()
            .map(|cause| {
                json!({
                    "reason": cause.reason,
                    "message": cause.detail_message(),
                    "field": cause.field,
                })
            })
            .collect::<Vec<_>>();
        let mut details = Map::new();
        details.insert("name".into(), Value::from(name));
        if !group.is_empty() {
            details.insert("group".into(), Value::from(group));
        }
        details.insert("kind".into(), Value::from(kind));
        details.insert("causes".into(), Value::from(causes_json));
        status.details = Some(Box::new(Value::Object(details)));
        status
    }

    /// Adds `details.retryAfterSeconds` and the `Retry-After` header, as kube-apiserver does
    /// whenever a Status carries a retry delay.
    pub fn with_retry_after(mut self, seconds: u32) -> ApiStatus {
        let mut details = match self.details.take().map(|details| *details) {
            Some(Value::Object(details)) => details,
            _ => Map::new(),
        };
        details.insert("retryAfterSeconds".into(), Value::from(seconds));
        self.details = Some(Box::new(Value::Object(details)));
        self.retry_after_seconds = Some(seconds);
        self
    }

    /// The `Status` object as JSON, the body of the HTTP answer or of an `ERROR` watch frame.
    pub fn to_json(&self) -> Value {
        let mut status = Map::new();
        status.insert("kind".into(), Value::from("Status"));
        status.insert("apiVersion".into(), Value::from("v1"));
        status.insert(
            "metadata".into(),
            self.list_metadata
                .as_deref()
                .cloned()
                .unwrap_or_else(|| Value::Object(Map::new())),
        );
        status.insert("status".into(), Value::from("Failure"));
        status.insert("message".into(), Value::from(self.message.as_str()));
        status.insert("reason".into(), Value::from(self.reason));
        if let Some(details) = &self.details {
            status.insert("details".into(), (**details).clone());
        }
        status.insert("code".into(), Value::from(self.code));
        Value::Object(status)
    }
}

impl IntoResponse for ApiStatus {
    fn into_response(self) -> Response {
        let code = StatusCode::from_u16(self.code).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        let body = serde_json::to_vec(&self.to_json()).unwrap_or_default();
        let mut response = (code, body).into_response();
        let headers = response.headers_mut();
        headers.insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/json"),
        );
        if let Some(seconds) = self.retry_after_seconds {
            headers.insert(header::RETRY_AFTER, HeaderValue::from(seconds));
        }
        response
    }
}

/// One entry of a validation `field.ErrorList`.
#[derive(Debug, Clone, PartialEq)]
pub struct FieldError {
    /// `FieldValueInvalid`, `FieldValueRequired`, ...
    pub reason: &'static str,
    /// Dotted field path, e.g. `involvedObject.namespace`.
    pub field: String,
    /// The rejected value as Go's `%q`/`%v` prints it (`Invalid` errors only).
    pub value: Option<String>,
    /// What is wrong with it.
    pub detail: String,
}

impl FieldError {
    pub fn invalid(field: &str, value: &str, detail: impl Into<String>) -> FieldError {
        FieldError {
            reason: "FieldValueInvalid",
            field: field.to_string(),
            value: Some(format!("{value:?}")),
            detail: detail.into(),
        }
    }

    pub fn required(field: &str) -> FieldError {
        FieldError {
            reason: "FieldValueRequired",
            field: field.to_string(),
            value: None,
            detail: String::new(),
        }
    }

    fn detail_message(&self) -> String {
        match (&self.value, self.reason) {
            (Some(value), _) => format!("Invalid value: {value}: {}", self.detail),
            (None, "FieldValueRequired") => "Required value".to_string(),
            (None, _) => self.detail.clone(),
        }
    }

    fn to_message(&self) -> String {
        format!("{}: {}", self.field, self.detail_message())
    }
}

/// `events` or `leases.coordination.k8s.io`: how the API server names a resource in messages.
fn qualified_resource(plural: &str, group: &str) -> String {
    if group.is_empty() {
        plural.to_string()
    } else {
        format!("{plural}.{group}")
    }
}

fn name_details(plural: &str, group: &str, name: &str) -> Value {
    let mut details = Map::new();
    details.insert("name".into(), Value::from(name));
    if !group.is_empty() {
        details.insert("group".into(), Value::from(group));
    }
    details.insert("kind".into(), Value::from(plural));
    Value::Object(details)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn not_found_status_is_worded_like_kube_apiserver() {
        let status = ApiStatus::not_found("events", "", "web.17a");
        assert_eq!(
            status.to_json(),
            json!({
                "kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
                "message": "events \"web.17a\" not found", "reason": "NotFound",
                "details": {"name": "web.17a", "kind": "events"}, "code": 404
            })
        );
    }

    #[test]
    fn invalid_status_lists_the_field_errors() {
        let status = ApiStatus::invalid(
            "Event",
            "",
            "node-1.17a",
            &[FieldError::invalid(
                "involvedObject.namespace",
                "",
                "does not match event.namespace",
            )],
        );
        assert_eq!(status.code, 422);
        assert_eq!(
            status.message,
            "Event \"node-1.17a\" is invalid: involvedObject.namespace: Invalid value: \"\": \
             does not match event.namespace"
        );
    }
}
