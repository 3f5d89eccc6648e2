//! Delivery shared by every sink that sends Events to an HTTP endpoint (webhook, chat robots,
//! cloud APIs): a [`Format`] turns a batch of records into one request and reads the answer;
//! [`run`] does the rest the same way for all of them:
//!
//! - a bounded queue per sink (`queue_capacity`). These sinks do not spool: when a remote is
//!   down long enough to fill the queue, new records are dropped and counted instead of
//!   stalling the source, so a chat outage never delays the center sink;
//! - rate limits (per sink and per (reason, object)), see [`crate::ratelimit`];
//! - batching up to [`Format::max_batch`] records or `batch_max_wait_ms`;
//! - a timeout per request, retries with backoff and jitter on network errors, 408, 429 and
//!   5xx (honouring `Retry-After`), at most `max_attempts` tries; then the batch is dropped,
//!   counted and logged. Any other answer the format calls final drops the batch the same way.

use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;

use kec_model::EventRecord;
use serde::{Deserialize, Serialize};
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

use crate::metrics::SinkStats;
use crate::ratelimit::{RateLimitConfig, RateLimiter};
use crate::retry::{Backoff, BackoffConfig, parse_retry_after};
use crate::{Error, Result};

/// One request a [`Format`] built.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HttpRequest {
    pub method: reqwest::Method,
    pub url: String,
    /// Extra headers (name, value); `Content-Type` belongs here too.
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl HttpRequest {
    /// A POST of a JSON body.
    pub fn post_json(url: impl Into<String>, body: &serde_json::Value) -> HttpRequest {
        HttpRequest {
            method: reqwest::Method::POST,
            url: url.into(),
            headers: vec![("Content-Type".to_string(), "application/json".to_string())],
            body: body.to_string().into_bytes(),
        }
    }
}

/// What an answer means.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    Delivered,
    /// Try the same request again later.
    Retry(String),
    /// Never going to work: drop the batch (counted, logged).
    Reject(String),
}

/// The HTTP answer codes' usual meaning: 2xx delivered; 408, 429 and 5xx retry; the rest final.
pub fn status_verdict(status: u16, body: &[u8]) -> Verdict {
    match status {
        200..=299 => Verdict::Delivered,
        408 | 429 | 500..=599 => Verdict::Retry(format!("answered {status}")),
        _ => Verdict::Reject(format!("answered {status}: {}", excerpt(body))),
    }
}

/// The first 300 characters of an answer body, for logs.
pub fn excerpt(body: &[u8]) -> String {
    String::from_utf8_lossy(body).chars().take(300).collect()
}

/// A sink's wire format: how records become a request and what the answer means.
pub trait Format: Send + Sync + 'static {
    /// Most records in one request (1 for chat messages).
    fn max_batch(&self) -> usize {
        1
    }

    /// Builds the request for a batch (oldest first, never empty). `now_ms` is the send time
    /// (signatures carry it). An error drops the batch (counted, logged).
    fn request(&self, batch: &[Arc<EventRecord>], now_ms: i64) -> Result<HttpRequest, String>;

    /// Reads the answer. Remotes that answer 200 with an error code in the body override this.
    fn verdict(&self, status: u16, body: &[u8]) -> Verdict {
        status_verdict(status, body)
    }
}

/// Delivery settings every HTTP sink has (`delivery:` in its config).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct DeliveryConfig {
    /// Records waiting for this sink; beyond it new records are dropped (counted).
    pub queue_capacity: usize,
    /// Timeout of one request, in milliseconds.
    pub timeout_ms: u64,
    /// Tries per batch before it is dropped (counted, logged).
    pub max_attempts: u32,
    /// Longest a batch waits for more records, in milliseconds (sinks that batch).
    pub batch_max_wait_ms: u64,
    /// Backoff between tries.
    pub backoff: BackoffConfig,
}

impl Default for DeliveryConfig {
    fn default() -> DeliveryConfig {
        DeliveryConfig {
            queue_capacity: 1_000,
            timeout_ms: 10_000,
            max_attempts: 8,
            batch_max_wait_ms: 1_000,
            backoff: BackoffConfig::default(),
        }
    }
}

impl DeliveryConfig {
    /// Every problem with these settings, prefixed with `field`.
    pub fn problems(&self, field: &str) -> Vec<String> {
        let mut problems = self.backoff.problems(&format!("{field}.backoff"));
        if self.queue_capacity == 0 {
            problems.push(format!("{field}.queue_capacity must be at least 1"));
        }
        if self.timeout_ms == 0 {
            problems.push(format!("{field}.timeout_ms must be at least 1"));
        }
        if self.max_attempts == 0 {
            problems.push(format!("{field}.max_attempts must be at least 1"));
        }
        problems
    }
}

/// Checks that `url` is an absolute http(s) URL; the problem names `field`.
pub fn url_problem(field: &str, url: &str) -> Option<String> {
    match reqwest::Url::parse(url) {
        Ok(parsed) if matches!(parsed.scheme(), "http" | "https") && parsed.host().is_some() => {
            None
        }
        _ => Some(format!("{field}: {url:?} is not an http(s) URL")),
    }
}

/// The HTTP client of the sinks: rustls with the ring provider and the system's roots.
pub fn client(timeout: Duration) -> Result<reqwest::Client> {
    // kube's client already uses rustls with ring; reqwest uses whichever provider is the
    // process default. Installing it twice is harmless (the second call is refused).
    let _ = rustls::crypto::ring::default_provider().install_default();
    reqwest::Client::builder()
        .timeout(timeout)
        .build()
        .map_err(Error::HttpClient)
}

/// A running HTTP sink's parts, handed to [`run`].
pub(crate) struct HttpSink {
    pub format: Arc<dyn Format>,
    pub delivery: DeliveryConfig,
    pub rate_limit: RateLimitConfig,
    pub stats: Arc<SinkStats>,
    pub client: reqwest::Client,
    pub cancel: CancellationToken,
}

/// The sink's queue: the fan-out never waits on it (see the module documentation).
pub(crate) fn queue(delivery: &DeliveryConfig) -> (QueueSender, mpsc::Receiver<Arc<EventRecord>>) {
    let (sender, receiver) = mpsc::channel(delivery.queue_capacity);
    (QueueSender { sender }, receiver)
}

/// The fan-out's end of an HTTP sink's queue.
#[derive(Debug, Clone)]
pub(crate) struct QueueSender {
    sender: mpsc::Sender<Arc<EventRecord>>,
}

impl QueueSender {
    /// Queues a record; false when the queue is full (the caller counts the drop).
    pub fn offer(&self, record: Arc<EventRecord>) -> std::result::Result<bool, ()> {
        match self.sender.try_send(record) {
            Ok(()) => Ok(true),
            Err(mpsc::error::TrySendError::Full(_)) => Ok(false),
            Err(mpsc::error::TrySendError::Closed(_)) => Err(()),
        }
    }
}

impl HttpSink {
    /// Runs until the queue closes and is drained, or until cancelled.
    pub async fn run(self, mut events_rx: mpsc::Receiver<Arc<EventRecord>>) {
        let mut limiter = RateLimiter::new(&self.rate_limit);
        let max_batch = self.format.max_batch().max(1);
        let max_wait = Duration::from_millis(self.delivery.batch_max_wait_ms);
        let mut closed = false;
        while !closed {
            let first = tokio::select! {
                () = self.cancel.cancelled() => return,
                record = events_rx.recv() => record,
            };
            let Some(first) = first else { break };
            let mut batch = Vec::with_capacity(max_batch);
            if self.admit(&mut limiter, &first) {
                batch.push(first);
            }
            if max_batch > 1 {
                let deadline = tokio::time::Instant::now() + max_wait;
                while batch.len() < max_batch {
                    match tokio::time::timeout_at(deadline, events_rx.recv()).await {
                        Ok(Some(record)) => {
                            if self.admit(&mut limiter, &record) {
                                batch.push(record);
                            }
                        }
                        Ok(None) => {
                            closed = true;
                            break;
                        }
                        Err(_) => break,
                    }
                }
            }
            if !batch.is_empty() && !self.deliver(&batch).await {
                return;
            }
        }
    }

    fn admit(&self, limiter: &mut RateLimiter, record: &EventRecord) -> bool {
        if limiter.admit(record) {
            true
        } else {
            self.stats.rate_limited.fetch_add(1, Ordering::Relaxed);
            false
        }
    }

    /// Delivers one batch (or gives up on it); false when cancelled.
    async fn deliver(&self, batch: &[Arc<EventRecord>]) -> bool {
        let count = batch.len() as u64;
        let mut backoff = Backoff::new(self.delivery.backoff);
        let mut attempt = 0;
        loop {
            attempt += 1;
            let request = match self.format.request(batch, kec_model::time::now_ms()) {
                Ok(request) => request,
                Err(reason) => {
                    self.drop_batch(count, &reason);
                    return true;
                }
            };
            let (verdict, retry_after) = self.send(request).await;
            let reason = match verdict {
                Verdict::Delivered => {
                    self.stats.delivered.fetch_add(count, Ordering::Relaxed);
                    self.stats.requests.fetch_add(1, Ordering::Relaxed);
                    self.stats.note_records(batch);
                    return true;
                }
                Verdict::Reject(reason) => {
                    self.drop_batch(count, &reason);
                    return true;
                }
                Verdict::Retry(reason) => reason,
            };
            if attempt >= self.delivery.max_attempts {
                self.drop_batch(count, &format!("{reason} (gave up after {attempt} tries)"));
                return true;
            }
            self.stats.retries.fetch_add(1, Ordering::Relaxed);
            let delay = retry_after.unwrap_or_else(|| backoff.next_delay());
            tracing::warn!(sink = %self.stats.name, %reason, ?delay, "not delivered; retrying");
            tokio::select! {
                () = self.cancel.cancelled() => return false,
                () = tokio::time::sleep(delay) => {}
            }
        }
    }

    fn drop_batch(&self, count: u64, reason: &str) {
        self.stats.dropped.fetch_add(count, Ordering::Relaxed);
        tracing::error!(sink = %self.stats.name, events = count, %reason, "events dropped");
    }

    async fn send(&self, request: HttpRequest) -> (Verdict, Option<Duration>) {
        let mut builder = self.client.request(request.method, &request.url);
        for (name, value) in &request.headers {
            builder = builder.header(name, value);
        }
        let response = match builder.body(request.body).send().await {
            Ok(response) => response,
            // Without the URL: it can carry a robot's access token.
            Err(error) => {
                return (
                    Verdict::Retry(format!("request failed: {}", error.without_url())),
                    None,
                );
            }
        };
        let status = response.status().as_u16();
        let retry_after = response
            .headers()
            .get(reqwest::header::RETRY_AFTER)
            .and_then(|value| value.to_str().ok())
            .and_then(parse_retry_after);
        let body = response.bytes().await.unwrap_or_default();
        (self.format.verdict(status, &body), retry_after)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn status_codes_have_their_usual_meaning() {
        assert_eq!(status_verdict(204, b""), Verdict::Delivered);
        for retry in [408, 429, 500, 503] {
            assert!(matches!(status_verdict(retry, b""), Verdict::Retry(_)));
        }
        assert_eq!(
            status_verdict(400, b"bad token"),
            Verdict::Reject("answered 400: bad token".to_string())
        );
    }

    #[test]
    fn delivery_problems_are_listed() {
        let config = DeliveryConfig {
            queue_capacity: 0,
            timeout_ms: 0,
            max_attempts: 0,
            ..DeliveryConfig::default()
        };
        assert_eq!(config.problems("sinks[1].delivery").len(), 3);
        assert!(DeliveryConfig::default().problems("d").is_empty());
        assert!(url_problem("u", "https://oapi.dingtalk.com/robot/send?access_token=x").is_none());
        assert!(url_problem("u", "oapi.dingtalk.com").is_some());
    }
}
