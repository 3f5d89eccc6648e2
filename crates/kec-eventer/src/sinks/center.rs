//! The `center` sink: NDJSON batches of the original Event objects, POSTed to
//! `{endpoint}/api/v1/clusters/{cluster}/events`, through a disk spool.
//!
//! Two tasks per sink:
//! - the **batcher** takes records from the sink's bounded channel, cuts a batch (by count,
//!   bytes or age), appends it to the [`Spool`] (fsync) and wakes the sender. When the spool
//!   holds more than `spool_max_bytes` it waits (backpressure reaches the source; counted).
//! - the **sender** delivers spooled batches strictly in order: `2xx` removes the file;
//!   network errors, `408`, `429` and `5xx` retry the same batch with backoff and jitter
//!   (honouring `Retry-After`); any other `4xx` is final for that batch, which moves to
//!   `rejected/` with the reason (logged, counted, never silently dropped).
//!
//! On start the sender first resends what an earlier run left in the spool. The center
//! deduplicates, so a batch delivered twice (acknowledged, then killed before the file was
//! removed) adds nothing.

use std::io::Write;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use kec_model::EventRecord;
use serde::{Deserialize, Serialize};
use tokio::sync::{Notify, mpsc};
use tokio_util::sync::CancellationToken;

use crate::metrics::SinkStats;
use crate::pipeline::EventerStats;
use crate::retry::{Backoff, BackoffConfig, parse_retry_after};
use crate::spool::{Spool, SpoolEntry, SpoolWriter};
use crate::{Error, Result};

/// Delivers to a kec center (`kec server`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CenterSinkConfig {
    /// Base URL of the center, e.g. `https://kec.example` or `http://kec-center:8080`.
    pub endpoint: String,
    /// Cluster name the events are stored under (a DNS-1123 label).
    pub cluster: String,
    /// Most Events in one batch.
    #[serde(default = "default_batch_max_events")]
    pub batch_max_events: usize,
    /// Most bytes (uncompressed) in one batch.
    #[serde(default = "default_batch_max_bytes")]
    pub batch_max_bytes: usize,
    /// Longest a batch waits for more Events before it is spooled, in milliseconds.
    #[serde(default = "default_batch_max_wait_ms")]
    pub batch_max_wait_ms: u64,
    /// Compress request bodies with gzip.
    #[serde(default)]
    pub gzip: bool,
    /// Timeout of one ingest request, in milliseconds.
    #[serde(default = "default_request_timeout_ms")]
    pub request_timeout_ms: u64,
    /// Above this many spooled bytes the batcher waits (backpressure) instead of spooling more.
    #[serde(default = "default_spool_max_bytes")]
    pub spool_max_bytes: u64,
    /// Backoff between delivery attempts of one batch.
    #[serde(default)]
    pub backoff: BackoffConfig,
    /// A file holding the cluster's ingest token (e.g. the mounted `token` key of the
    /// eventer's Secret). Without it the token comes from the `KEC_CENTER_TOKEN` environment
    /// variable, if set; without either, requests carry no token.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub token_file: Option<std::path::PathBuf>,
}

/// The environment variable a center sink reads its token from when no `token_file` is set.
pub const TOKEN_ENV: &str = "KEC_CENTER_TOKEN";

// A relist sends thousands of Events at once: big batches mean few fsyncs on both sides.
fn default_batch_max_events() -> usize {
    5_000
}
fn default_batch_max_bytes() -> usize {
    4 * 1024 * 1024
}
fn default_batch_max_wait_ms() -> u64 {
    200
}
fn default_request_timeout_ms() -> u64 {
    10_000
}
fn default_spool_max_bytes() -> u64 {
    256 * 1024 * 1024
}

impl CenterSinkConfig {
    /// A config with every default but the two required fields.
    pub fn new(endpoint: &str, cluster: &str) -> CenterSinkConfig {
        CenterSinkConfig {
            endpoint: endpoint.to_string(),
            cluster: cluster.to_string(),
            batch_max_events: default_batch_max_events(),
            batch_max_bytes: default_batch_max_bytes(),
            batch_max_wait_ms: default_batch_max_wait_ms(),
            gzip: false,
            request_timeout_ms: default_request_timeout_ms(),
            spool_max_bytes: default_spool_max_bytes(),
            backoff: BackoffConfig::default(),
            token_file: None,
        }
    }

    /// The ingest token: `token_file`'s content (trimmed), else `KEC_CENTER_TOKEN`. The error
    /// names the file, never the token.
    pub fn token(&self) -> Result<Option<String>> {
        let token = match &self.token_file {
            Some(path) => Some(std::fs::read_to_string(path).map_err(|error| {
                Error::InvalidConfig(vec![format!(
                    "cannot read the center token file {}: {error}",
                    path.display()
                )])
            })?),
            None => std::env::var(TOKEN_ENV).ok(),
        };
        Ok(token
            .map(|token| token.trim().to_string())
            .filter(|token| !token.is_empty()))
    }

    /// Every problem with these settings; `field` prefixes each.
    pub fn problems(&self, field: &str) -> Vec<String> {
        let mut problems = Vec::new();
        match reqwest::Url::parse(&self.endpoint) {
            Ok(url) if matches!(url.scheme(), "http" | "https") && url.host().is_some() => {
                if url.query().is_some() || url.fragment().is_some() {
                    problems.push(format!(
                        "{field}.endpoint must not have a query or fragment"
                    ));
                }
            }
            _ => problems.push(format!(
                "{field}.endpoint: {:?} is not an http(s) URL",
                self.endpoint
            )),
        }
        if !crate::is_dns1123_label(&self.cluster) {
            problems.push(format!(
                "{field}.cluster: {:?} is not a DNS-1123 label (lowercase letters, digits, '-', at most 63)",
                self.cluster
            ));
        }
        if self.batch_max_events == 0 {
            problems.push(format!("{field}.batch_max_events must be at least 1"));
        }
        if self.batch_max_bytes < 1024 {
            problems.push(format!("{field}.batch_max_bytes must be at least 1024"));
        }
        if self.request_timeout_ms == 0 {
            problems.push(format!("{field}.request_timeout_ms must be at least 1"));
        }
        problems.extend(self.backoff.problems(&format!("{field}.backoff")));
        if let Some(path) = &self.token_file
            && !path.is_file()
        {
            problems.push(format!(
                "{field}.token_file: {} is not a readable file",
                path.display()
            ));
        }
        problems
    }

    /// Directory name of this sink's spool inside the state directory.
    pub fn spool_name(&self) -> String {
        format!("spool-center-{}", self.cluster)
    }

    /// The ingest URL.
    pub fn ingest_url(&self) -> String {
        format!(
            "{}/api/v1/clusters/{}/events",
            self.endpoint.trim_end_matches('/'),
            self.cluster
        )
    }

    /// Starts the batcher and the sender.
    pub(crate) fn start(
        &self,
        spool: Arc<Spool>,
        events_rx: mpsc::Receiver<Arc<EventRecord>>,
        stats: Arc<EventerStats>,
        sink_stats: Arc<SinkStats>,
        cancel: CancellationToken,
        failed: CancellationToken,
    ) -> Result<CenterSinkTasks> {
        let client = crate::sinks::http::client(Duration::from_millis(self.request_timeout_ms))?;
        let token = self.token()?;
        let wake = Arc::new(Notify::new());
        let batcher_done = Arc::new(AtomicBool::new(false));
        let batcher = Batcher {
            config: self.clone(),
            spool: spool.clone(),
            stats: stats.clone(),
            wake: wake.clone(),
            done: batcher_done.clone(),
            cancel: cancel.clone(),
            failed,
        };
        let sender = Sender {
            config: self.clone(),
            url: self.ingest_url(),
            client,
            token,
            spool,
            stats,
            sink_stats,
            wake,
            batcher_done,
            cancel,
        };
        Ok(CenterSinkTasks {
            batcher: tokio::spawn(batcher.run(events_rx)),
            sender: tokio::spawn(sender.run()),
        })
    }
}

/// The two tasks of a running center sink.
pub(crate) struct CenterSinkTasks {
    pub batcher: tokio::task::JoinHandle<()>,
    pub sender: tokio::task::JoinHandle<()>,
}

struct Batcher {
    config: CenterSinkConfig,
    spool: Arc<Spool>,
    stats: Arc<EventerStats>,
    wake: Arc<Notify>,
    done: Arc<AtomicBool>,
    cancel: CancellationToken,
    /// Cancelled when this sink gives up (the eventer then stops; see [`Batcher::run`]).
    failed: CancellationToken,
}

impl Batcher {
    /// Runs until the channel closes (after spooling the last partial batch), or until a
    /// batch cannot be written: then it stops, so the eventer fails loudly (its Events were
    /// taken from the channel but never spooled; the relist after a restart brings them back).
    async fn run(self, mut events_rx: mpsc::Receiver<Arc<EventRecord>>) {
        let max_wait = Duration::from_millis(self.config.batch_max_wait_ms);
        let max_bytes = self.config.batch_max_bytes as u64;
        let mut closed = false;
        while !closed {
            let Some(first) = events_rx.recv().await else {
                break;
            };
            self.wait_for_spool_room().await;
            let Some(mut batch) = self.begin().await else {
                break;
            };
            if let Err(error) = write_line(&mut batch, &first) {
                self.give_up(&error);
                return;
            }
            drop(first);
            let mut events = 1;
            let deadline = tokio::time::Instant::now() + max_wait;
            while events < self.config.batch_max_events && batch.bytes() < max_bytes {
                match tokio::time::timeout_at(deadline, events_rx.recv()).await {
                    Ok(Some(record)) => {
                        if let Err(error) = write_line(&mut batch, &record) {
                            self.give_up(&error);
                            return;
                        }
                        events += 1;
                    }
                    Ok(None) => {
                        closed = true;
                        break;
                    }
                    Err(_) => break,
                }
            }
            match batch.finish() {
                Ok(entry) => {
                    tracing::debug!(
                        seq = entry.seq,
                        bytes = entry.bytes,
                        events,
                        "batch spooled"
                    );
                    self.stats.batches_spooled.fetch_add(1, Ordering::Relaxed);
                    self.wake.notify_one();
                }
                Err(error) => {
                    self.give_up(&error);
                    return;
                }
            }
        }
        self.done.store(true, Ordering::SeqCst);
        self.wake.notify_one();
    }

    /// A batch could not be spooled: its Events are gone from memory, so the sink stops and
    /// the eventer fails (see [`Batcher::run`]).
    fn give_up(&self, error: &Error) {
        tracing::error!(%error, "cannot spool a batch; the center sink stops");
        self.done.store(true, Ordering::SeqCst);
        self.wake.notify_one();
        // At once, not at the next Event the fan-out would fail to hand on.
        self.failed.cancel();
    }

    /// Backpressure: while the spool is over its limit, wait (unless shutting down, when the
    /// last batches are spooled anyway rather than lost).
    async fn wait_for_spool_room(&self) {
        let mut counted = false;
        while self.spool.pending_bytes() > self.config.spool_max_bytes
            && !self.cancel.is_cancelled()
        {
            if !counted {
                self.stats.spool_full_waits.fetch_add(1, Ordering::Relaxed);
                counted = true;
            }
            tokio::select! {
                () = self.cancel.cancelled() => {}
                () = tokio::time::sleep(Duration::from_millis(100)) => {}
            }
        }
    }

    /// Starts a batch file, retrying with backoff; `None` when cancelled first (the Event in
    /// hand was never spooled, so nobody acknowledged it: the relist after a restart brings
    /// it back).
    async fn begin(&self) -> Option<SpoolWriter<'_>> {
        let mut backoff = Backoff::new(self.config.backoff);
        loop {
            match self.spool.begin() {
                Ok(batch) => return Some(batch),
                Err(error) => {
                    tracing::error!(%error, "cannot start a spool batch; retrying");
                    if self.cancel.is_cancelled() {
                        return None;
                    }
                    tokio::time::sleep(backoff.next_delay()).await;
                }
            }
        }
    }
}

fn write_line(batch: &mut SpoolWriter<'_>, record: &EventRecord) -> Result<()> {
    batch.write(record.raw.get().as_bytes())?;
    batch.write(b"\n")
}

/// The last non-empty line of a batch (for the delivery lag metric).
fn last_line(body: &[u8]) -> &[u8] {
    body.split(|byte| *byte == b'\n')
        .rev()
        .find(|line| !line.is_empty())
        .unwrap_or_default()
}

/// What one delivery attempt came to.
#[derive(Debug, PartialEq)]
enum Outcome {
    Delivered {
        rejected_lines: u64,
    },
    Retry {
        after: Option<Duration>,
        reason: String,
    },
    Permanent(String),
}

/// Classifies an HTTP answer: 2xx delivered; 408, 429, 5xx retry; other 4xx final.
fn classify(status: reqwest::StatusCode) -> Option<bool> {
    if status.is_success() {
        None
    } else {
        Some(
            status == reqwest::StatusCode::REQUEST_TIMEOUT
                || status == reqwest::StatusCode::TOO_MANY_REQUESTS
                || status.is_server_error(),
        )
    }
}

struct Sender {
    config: CenterSinkConfig,
    url: String,
    client: reqwest::Client,
    /// The ingest token, sent as `Authorization: Bearer`.
    token: Option<String>,
    spool: Arc<Spool>,
    stats: Arc<EventerStats>,
    sink_stats: Arc<SinkStats>,
    wake: Arc<Notify>,
    batcher_done: Arc<AtomicBool>,
    cancel: CancellationToken,
}

impl Sender {
    /// Runs until the batcher is done and the spool is empty, or until cancelled.
    async fn run(self) {
        let mut backoff = Backoff::new(self.config.backoff);
        loop {
            let pending = match self.spool.pending() {
                Ok(pending) => pending,
                Err(error) => {
                    tracing::error!(%error, "cannot read the spool; retrying");
                    if !self.pause(backoff.next_delay()).await {
                        return;
                    }
                    continue;
                }
            };
            if pending.is_empty() {
                if self.batcher_done.load(Ordering::SeqCst) {
                    return;
                }
                tokio::select! {
                    () = self.cancel.cancelled() => return,
                    () = self.wake.notified() => {}
                }
                continue;
            }
            for entry in pending {
                if !self.deliver(&entry).await {
                    return;
                }
            }
        }
    }

    async fn pause(&self, delay: Duration) -> bool {
        tokio::select! {
            () = self.cancel.cancelled() => false,
            () = tokio::time::sleep(delay) => true,
        }
    }

    /// Delivers one batch until it is acknowledged or refused for good; false when cancelled.
    /// The batch is read from its file for each attempt and handed to the request without a
    /// copy, so one batch in flight is held in memory once.
    async fn deliver(&self, entry: &SpoolEntry) -> bool {
        let mut backoff = Backoff::new(self.config.backoff);
        loop {
            if self.cancel.is_cancelled() {
                return false;
            }
            let body = match self.spool.read(entry) {
                Ok(body) => body,
                Err(error) => {
                    tracing::error!(%error, seq = entry.seq, "cannot read a spooled batch");
                    return self.pause(Duration::from_secs(1)).await;
                }
            };
            let lines = body.iter().filter(|byte| **byte == b'\n').count() as u64;
            let last = last_line(&body).to_vec();
            match self.post(body).await {
                Outcome::Delivered { rejected_lines } => {
                    if rejected_lines > 0 {
                        self.stats
                            .lines_rejected_by_center
                            .fetch_add(rejected_lines, Ordering::Relaxed);
                        tracing::warn!(
                            seq = entry.seq,
                            rejected_lines,
                            "the center refused some lines of a batch"
                        );
                    }
                    if let Err(error) = self.spool.remove(entry) {
                        tracing::error!(%error, seq = entry.seq, "cannot remove a delivered batch");
                    }
                    self.stats.batches_delivered.fetch_add(1, Ordering::Relaxed);
                    self.stats
                        .events_delivered
                        .fetch_add(lines, Ordering::Relaxed);
                    self.sink_stats.requests.fetch_add(1, Ordering::Relaxed);
                    self.sink_stats
                        .delivered
                        .fetch_add(lines, Ordering::Relaxed);
                    self.sink_stats.note_delivery(&last);
                    return true;
                }
                Outcome::Permanent(reason) => {
                    tracing::error!(seq = entry.seq, %reason, dir = %self.spool.rejected_dir().display(),
                        "the center refused a batch for good; moved to rejected");
                    self.stats.batches_rejected.fetch_add(1, Ordering::Relaxed);
                    self.sink_stats.dropped.fetch_add(lines, Ordering::Relaxed);
                    if let Err(error) = self.spool.reject(entry, &reason) {
                        tracing::error!(%error, seq = entry.seq, "cannot move a refused batch");
                        return self.pause(Duration::from_secs(1)).await;
                    }
                    return true;
                }
                Outcome::Retry { after, reason } => {
                    self.stats.delivery_retries.fetch_add(1, Ordering::Relaxed);
                    self.sink_stats.retries.fetch_add(1, Ordering::Relaxed);
                    let delay = after.unwrap_or_else(|| backoff.next_delay());
                    tracing::warn!(seq = entry.seq, %reason, ?delay, "batch not delivered; retrying");
                    if !self.pause(delay).await {
                        return false;
                    }
                }
            }
        }
    }

    async fn post(&self, body: Vec<u8>) -> Outcome {
        let mut request = self
            .client
            .post(&self.url)
            .header(reqwest::header::CONTENT_TYPE, "application/x-ndjson");
        if let Some(token) = &self.token {
            request = request.bearer_auth(token);
        }
        if self.config.gzip {
            let mut encoder =
                flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
            let compressed = encoder.write_all(&body).and_then(|()| encoder.finish());
            drop(body);
            match compressed {
                Ok(compressed) => {
                    request = request
                        .header(reqwest::header::CONTENT_ENCODING, "gzip")
                        .body(compressed);
                }
                Err(error) => {
                    return Outcome::Retry {
                        after: None,
                        reason: format!("gzip failed: {error}"),
                    };
                }
            }
        } else {
            request = request.body(body);
        }
        let response = match request.send().await {
            Ok(response) => response,
            Err(error) => {
                return Outcome::Retry {
                    after: None,
                    reason: format!("request failed: {error}"),
                };
            }
        };
        let status = response.status();
        let retry_after = response
            .headers()
            .get(reqwest::header::RETRY_AFTER)
            .and_then(|value| value.to_str().ok())
            .and_then(parse_retry_after);
        match classify(status) {
            None => {
                // The 2xx means durable; a body that fails to arrive changes nothing.
                let rejected_lines = response
                    .json::<serde_json::Value>()
                    .await
                    .ok()
                    .and_then(|answer| answer.get("rejected")?.as_array().map(Vec::len))
                    .unwrap_or(0) as u64;
                Outcome::Delivered { rejected_lines }
            }
            Some(true) => Outcome::Retry {
                after: retry_after,
                reason: format!("center answered {status}"),
            },
            Some(false) => {
                let text = response.text().await.unwrap_or_default();
                let text: String = text.chars().take(500).collect();
                Outcome::Permanent(format!("center answered {status}: {text}"))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn answers_are_classified_as_delivered_retryable_or_final() {
        use reqwest::StatusCode;
        assert_eq!(classify(StatusCode::OK), None);
        for retryable in [408, 429, 500, 502, 503, 504] {
            assert_eq!(
                classify(StatusCode::from_u16(retryable).unwrap()),
                Some(true)
            );
        }
        for refused in [400, 401, 403, 404, 413, 422] {
            assert_eq!(
                classify(StatusCode::from_u16(refused).unwrap()),
                Some(false)
            );
        }
    }

    #[test]
    fn every_problem_is_reported() {
        let mut config = CenterSinkConfig::new("ftp://x", "Bad_Name");
        config.batch_max_events = 0;
        let problems = config.problems("sinks[0]");
        assert_eq!(problems.len(), 3, "{problems:?}");
        assert!(
            CenterSinkConfig::new("http://center:8080/", "prod")
                .problems("s")
                .is_empty()
        );
        assert_eq!(
            CenterSinkConfig::new("http://center:8080/", "prod").ingest_url(),
            "http://center:8080/api/v1/clusters/prod/events"
        );
    }
}
