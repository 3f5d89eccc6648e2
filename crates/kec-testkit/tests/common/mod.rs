//! Helpers shared by the integration tests: a started server with a frozen clock, a plain HTTP
//! client, and a reader of NDJSON watch streams.

#![allow(dead_code)]

use std::time::Duration;

use jiff::Timestamp;
use kec_testkit::{ClockMode, FakeApiServer, FakeApiServerConfig};
use serde_json::{Value, json};

/// A frozen clock start, so timestamps and TTL are deterministic.
pub fn start_time() -> Timestamp {
    "2026-11-25T10:00:00Z"
        .parse()
        .unwrap_or(Timestamp::UNIX_EPOCH)
}

/// Test defaults: manual clock, no startup Events (so totals start at zero), short timeouts.
pub fn test_config() -> FakeApiServerConfig {
    FakeApiServerConfig {
        clock: ClockMode::Manual {
            start: start_time(),
        },
        startup_events: false,
        bookmark_interval: Duration::from_millis(200),
        shutdown_grace: Duration::from_millis(300),
        ..FakeApiServerConfig::default()
    }
}

pub async fn start(config: FakeApiServerConfig) -> FakeApiServer {
    FakeApiServer::start(config)
        .await
        .expect("fake api server starts")
}

pub fn client() -> reqwest::Client {
    // reqwest is built with rustls and no default crypto provider (the workspace picks ring).
    let _ = rustls::crypto::ring::default_provider().install_default();
    reqwest::Client::builder()
        .no_proxy()
        .build()
        .expect("http client builds")
}

/// A core/v1 Event about a Pod, as client-go's recorder POSTs it.
pub fn pod_event(namespace: &str, name: &str, pod: &str, count: u64) -> Value {
    json!({
        "apiVersion": "v1", "kind": "Event",
        "metadata": {"name": name, "namespace": namespace},
        "involvedObject": {"kind": "Pod", "namespace": namespace, "name": pod, "apiVersion": "v1"},
        "reason": "BackOff", "message": "Back-off restarting failed container",
        "type": "Warning", "source": {"component": "kubelet", "host": "node-1"},
        "firstTimestamp": "2026-11-25T10:00:00Z", "lastTimestamp": "2026-11-25T10:00:00Z",
        "count": count
    })
}

pub async fn post_event(base: &str, namespace: &str, event: &Value) -> reqwest::Response {
    client()
        .post(format!("{base}/api/v1/namespaces/{namespace}/events"))
        .json(event)
        .send()
        .await
        .expect("POST is answered")
}

pub async fn get_json(url: &str) -> (u16, Value) {
    let response = client().get(url).send().await.expect("GET is answered");
    let status = response.status().as_u16();
    let body = response.json::<Value>().await.unwrap_or(Value::Null);
    (status, body)
}

pub fn resource_version(object: &Value) -> u64 {
    object["metadata"]["resourceVersion"]
        .as_str()
        .and_then(|text| text.parse().ok())
        .unwrap_or(0)
}

pub fn names(items: &Value) -> Vec<String> {
    items
        .as_array()
        .map(|items| {
            items
                .iter()
                .map(|item| item["metadata"]["name"].as_str().unwrap_or("").to_string())
                .collect()
        })
        .unwrap_or_default()
}

/// What reading a watch stream produced next.
#[derive(Debug)]
pub enum WatchRead {
    Frame(Value),
    /// The body ended cleanly (terminating chunk).
    End,
    /// The body failed (reset, cut); `partial` holds bytes of an unfinished frame.
    Failed {
        partial: Vec<u8>,
    },
    /// Nothing within the time given.
    Silent,
}

pub struct WatchStream {
    pub status: u16,
    pub headers: reqwest::header::HeaderMap,
    response: reqwest::Response,
    buffer: Vec<u8>,
}

impl WatchStream {
    pub async fn open(url: &str) -> WatchStream {
        let response = client().get(url).send().await.expect("watch is answered");
        WatchStream {
            status: response.status().as_u16(),
            headers: response.headers().clone(),
            response,
            buffer: Vec::new(),
        }
    }

    pub async fn next(&mut self, within: Duration) -> WatchRead {
        let deadline = tokio::time::Instant::now() + within;
        loop {
            if let Some(end) = self.buffer.iter().position(|byte| *byte == b'\n') {
                let line = self.buffer.drain(..=end).collect::<Vec<_>>();
                return match serde_json::from_slice(&line) {
                    Ok(frame) => WatchRead::Frame(frame),
                    Err(_) => WatchRead::Failed { partial: line },
                };
            }
            match tokio::time::timeout_at(deadline, self.response.chunk()).await {
                Err(_) => return WatchRead::Silent,
                Ok(Ok(Some(bytes))) => self.buffer.extend_from_slice(&bytes),
                Ok(Ok(None)) => {
                    if self.buffer.is_empty() {
                        return WatchRead::End;
                    }
                    return WatchRead::Failed {
                        partial: std::mem::take(&mut self.buffer),
                    };
                }
                Ok(Err(_)) => {
                    return WatchRead::Failed {
                        partial: std::mem::take(&mut self.buffer),
                    };
                }
            }
        }
    }

    /// The next frame; panics with what came instead.
    pub async fn frame(&mut self) -> Value {
        match self.next(Duration::from_secs(5)).await {
            WatchRead::Frame(frame) => frame,
            other => panic!("expected a watch frame, got {other:?}"),
        }
    }

    /// Reads frames until the stream ends or stays silent for `quiet`.
    pub async fn drain(&mut self, quiet: Duration) -> (Vec<Value>, WatchRead) {
        let mut frames = Vec::new();
        loop {
            match self.next(quiet).await {
                WatchRead::Frame(frame) => frames.push(frame),
                other => return (frames, other),
            }
        }
    }
}
