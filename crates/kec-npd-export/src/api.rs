//! [`NodeApi`]: the four requests the exporter makes (GET the Node, PATCH its status, POST and
//! PATCH Events), sent raw through `kube::Client` so the bodies are exactly what NPD sends and
//! `Retry-After` is visible.

use std::time::Duration;

use http::{Method, Request, header};
use serde_json::Value;

use crate::{Error, Result};

/// `Retry-After` values above this are capped (a server asking for an hour is not obeyed).
const MAX_RETRY_AFTER: Duration = Duration::from_secs(300);

const STRATEGIC_MERGE: &str = "application/strategic-merge-patch+json";

/// Requests about one Node and its Events.
#[derive(Clone)]
pub struct NodeApi {
    client: kube::Client,
    node_name: String,
}

impl std::fmt::Debug for NodeApi {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        formatter
            .debug_struct("NodeApi")
            .field("node_name", &self.node_name)
            .finish_non_exhaustive()
    }
}

fn verb_name(method: &Method) -> &'static str {
    match *method {
        Method::GET => "GET",
        Method::POST => "POST",
        Method::PATCH => "PATCH",
        Method::PUT => "PUT",
        _ => "request",
    }
}

/// Percent-encodes a path segment (names are DNS subdomains; this guards against the rest).
fn segment(text: &str) -> String {
    url::form_urlencoded::byte_serialize(text.as_bytes()).collect()
}

impl NodeApi {
    pub fn new(client: kube::Client, node_name: &str) -> NodeApi {
        NodeApi {
            client,
            node_name: node_name.to_string(),
        }
    }

    pub fn node_name(&self) -> &str {
        &self.node_name
    }

    /// The Node, from the API server's cache (`resourceVersion=0`, as NPD reads it).
    pub async fn get_node(&self) -> Result<Value> {
        let path = format!(
            "/api/v1/nodes/{}?resourceVersion=0",
            segment(&self.node_name)
        );
        self.send(Method::GET, path, None, None).await
    }

    /// Strategic-merge PATCH of `/api/v1/nodes/{name}/status`; answers the Node.
    pub async fn patch_node_status(&self, body: &Value) -> Result<Value> {
        let path = format!("/api/v1/nodes/{}/status", segment(&self.node_name));
        self.send(Method::PATCH, path, Some(body), Some(STRATEGIC_MERGE))
            .await
    }

    /// POST an Event.
    pub async fn create_event(&self, namespace: &str, event: &Value) -> Result<Value> {
        let path = format!("/api/v1/namespaces/{}/events", segment(namespace));
        self.send(Method::POST, path, Some(event), Some("application/json"))
            .await
    }

    /// Strategic-merge PATCH of an Event.
    pub async fn patch_event(&self, namespace: &str, name: &str, body: &Value) -> Result<Value> {
        let path = format!(
            "/api/v1/namespaces/{}/events/{}",
            segment(namespace),
            segment(name)
        );
        self.send(Method::PATCH, path, Some(body), Some(STRATEGIC_MERGE))
            .await
    }

    async fn send(
        &self,
        method: Method,
        path: String,
        body: Option<&Value>,
        content_type: Option<&str>,
    ) -> Result<Value> {
        let verb = verb_name(&method);
        let bytes = match body {
            Some(body) => serde_json::to_vec(body).map_err(|error| Error::Decode {
                verb,
                path: path.clone(),
                reason: format!("cannot encode the body: {error}"),
            })?,
            None => Vec::new(),
        };
        let mut builder = Request::builder()
            .method(method)
            .uri(path.as_str())
            .header(header::ACCEPT, "application/json");
        if let Some(content_type) = content_type {
            builder = builder.header(header::CONTENT_TYPE, content_type);
        }
        let request = builder
            .body(kube::client::Body::from(bytes))
            .map_err(|error| Error::Decode {
                verb,
                path: path.clone(),
                reason: format!("cannot build the request: {error}"),
            })?;
        let response = self
            .client
            .send(request)
            .await
            .map_err(|source| Error::Transport {
                verb,
                path: path.clone(),
                source,
            })?;
        let status = response.status().as_u16();
        let retry_after = response
            .headers()
            .get(header::RETRY_AFTER)
            .and_then(|value| value.to_str().ok())
            .and_then(|value| value.trim().parse::<u64>().ok())
            .map(|seconds| Duration::from_secs(seconds).min(MAX_RETRY_AFTER));
        let body = response
            .into_body()
            .collect_bytes()
            .await
            .map_err(|source| Error::Transport {
                verb,
                path: path.clone(),
                source,
            })?;
        let parsed: Option<Value> = serde_json::from_slice(&body).ok();
        if !(200..300).contains(&status) {
            let message = parsed
                .as_ref()
                .and_then(|status| status.get("message"))
                .and_then(Value::as_str)
                .map(str::to_string)
                .unwrap_or_else(|| String::from_utf8_lossy(&body).chars().take(200).collect());
            return Err(Error::Api {
                verb,
                path,
                status,
                message,
                retry_after,
            });
        }
        match parsed {
            Some(value @ Value::Object(_)) => Ok(value),
            _ => Err(Error::Decode {
                verb,
                path,
                reason: "the answer is not a JSON object".to_string(),
            }),
        }
    }
}
