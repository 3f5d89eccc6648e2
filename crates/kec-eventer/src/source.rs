//! The Kubernetes source: LIST then WATCH Events, per namespace or cluster-wide, with the
//! relist rules that make "every occurrence the API server holds is delivered once" true.
//!
//! The source reads core/v1 Events (`/api/v1/events`, what kube-eventer reads) or, when
//! [`KubernetesSourceConfig::api`] says so, events.k8s.io/v1 Events
//! (`/apis/events.k8s.io/v1/events`). Both are views of the same stored objects (same names,
//! uids and resourceVersions); the loop below is generic over the two types and kec_model reads
//! either shape (`count` or `series.count` / `deprecatedCount`).
//!
//! kube-rs's `watcher` re-watches from the same resourceVersion after a non-410 error and
//! after a watch that ends with nothing; for Events both loop forever (a real API server
//! answers a watch from a stale resourceVersion with `200` and an empty body, and one revision
//! below the compaction point with an ERROR frame of code 500). This loop is written on kube's
//! client instead (LIST pages as text, WATCH streams as lines; each Event's text is parsed once,
//! by kec-model), with these rules:
//!
//! | what happens | what the loop does |
//! |---|---|
//! | watch frame ADDED / MODIFIED | convert, send, remember its resourceVersion |
//! | watch frame DELETED / BOOKMARK | remember its resourceVersion (DELETED is not an event) |
//! | ANY watch ERROR frame (410, 500, ...) | relist |
//! | `410` on watch start, or on a LIST continue token | relist (restart the LIST) |
//! | a watch that ends with no frame before half its timeout (empty 200) | relist |
//! | a watch that ends after frames, or at its timeout, or is reset / cut mid-frame | re-watch from the last resourceVersion received whole |
//! | other errors on watch start (429, 500, 503, connection refused) | back off (honouring `retryAfterSeconds`), re-watch from the same resourceVersion; after `max_watch_start_failures` in a row, relist |
//! | LIST errors | back off, relist |
//!
//! A relist replays every live Event; the center's occurrence ledger makes replays harmless.

use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use futures_util::future::BoxFuture;
use futures_util::{AsyncBufReadExt, StreamExt};
use k8s_openapi::NamespaceResourceScope;
use kec_model::{EventRecord, ParsedLine};
use kube::api::{ListParams, WatchParams};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

use crate::pipeline::EventerStats;
use crate::retry::{Backoff, BackoffConfig};
use crate::{Error, Result};

/// How to reach the API server.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case", deny_unknown_fields)]
pub enum KubeConnection {
    /// `KUBECONFIG` or `~/.kube/config` (current context), else the in-cluster service account.
    #[default]
    Infer,
    /// The in-cluster service account; `server_url` overrides the API server address.
    InCluster {
        #[serde(default)]
        server_url: Option<String>,
    },
    /// A kubeconfig file (default: `KUBECONFIG` or `~/.kube/config`) and context (default: the
    /// current one); `server_url` overrides the API server address.
    Kubeconfig {
        #[serde(default)]
        path: Option<PathBuf>,
        #[serde(default)]
        context: Option<String>,
        #[serde(default)]
        server_url: Option<String>,
    },
    /// A plain URL without credentials (`kubectl proxy`, tests).
    Url { server_url: String },
}

/// Which Event API the source lists and watches.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum EventsApi {
    /// core/v1 Events (`/api/v1/events`), as kube-eventer reads them.
    #[default]
    CoreV1,
    /// events.k8s.io/v1 Events (`/apis/events.k8s.io/v1/events`): the same objects in the
    /// newer shape (`regarding`, `note`, `series`, `deprecatedCount`, ...). Needs `list` and
    /// `watch` on `events.events.k8s.io` instead of `events`.
    EventsV1,
}

impl EventsApi {
    /// How the API is written on the command line: `core/v1` or `events.k8s.io/v1`.
    pub fn as_flag(self) -> &'static str {
        match self {
            EventsApi::CoreV1 => "core/v1",
            EventsApi::EventsV1 => "events.k8s.io/v1",
        }
    }
}

impl std::fmt::Display for EventsApi {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        formatter.write_str(self.as_flag())
    }
}

impl std::str::FromStr for EventsApi {
    type Err = String;

    /// `core/v1` (or `v1`, `core_v1`) and `events.k8s.io/v1` (or `events_v1`).
    fn from_str(text: &str) -> std::result::Result<EventsApi, String> {
        match text {
            "core/v1" | "v1" | "core_v1" => Ok(EventsApi::CoreV1),
            "events.k8s.io/v1" | "events_v1" => Ok(EventsApi::EventsV1),
            other => Err(format!(
                "{other:?} is not an Event API (core/v1 or events.k8s.io/v1)"
            )),
        }
    }
}

/// The watch of Events.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct KubernetesSourceConfig {
    /// How to reach the API server.
    pub connection: KubeConnection,
    /// Which Event API to read: `core_v1` (default) or `events_v1`.
    pub api: EventsApi,
    /// Namespaces to watch; empty watches all namespaces with one cluster-wide watch.
    pub namespaces: Vec<String>,
    /// Server-side timeout of one watch request (`timeoutSeconds`, 1..=290); the loop then
    /// re-watches from where it was.
    pub watch_timeout_secs: u32,
    /// Items per LIST page.
    pub page_size: u32,
    /// Watch starts that may fail in a row (not 410) before the loop relists.
    pub max_watch_start_failures: u32,
    /// Backoff between failed LIST / WATCH attempts.
    pub backoff: BackoffConfig,
}

impl Default for KubernetesSourceConfig {
    fn default() -> KubernetesSourceConfig {
        KubernetesSourceConfig {
            connection: KubeConnection::Infer,
            api: EventsApi::CoreV1,
            namespaces: Vec::new(),
            watch_timeout_secs: 290,
            page_size: 500,
            max_watch_start_failures: 5,
            backoff: BackoffConfig::default(),
        }
    }
}

fn parse_server_url(url: &str) -> Result<http::Uri> {
    url.parse::<http::Uri>()
        .map_err(|error| Error::KubeConfig(format!("invalid API server URL {url:?}: {error}")))
}

fn server_url_problem(field: &str, url: &str) -> Option<String> {
    match url.parse::<http::Uri>() {
        Ok(uri) if matches!(uri.scheme_str(), Some("http" | "https")) && uri.host().is_some() => {
            None
        }
        _ => Some(format!(
            "{field}: {url:?} is not an http(s) URL of an API server"
        )),
    }
}

impl KubernetesSourceConfig {
    /// Every problem with these settings.
    pub fn problems(&self) -> Vec<String> {
        let mut problems = Vec::new();
        if !(1..=290).contains(&self.watch_timeout_secs) {
            problems.push("source.watch_timeout_secs must be within 1..=290".to_string());
        }
        if self.page_size == 0 {
            problems.push("source.page_size must be at least 1".to_string());
        }
        if self.max_watch_start_failures == 0 {
            problems.push("source.max_watch_start_failures must be at least 1".to_string());
        }
        for namespace in &self.namespaces {
            if !crate::is_dns1123_label(namespace) {
                problems.push(format!(
                    "source.namespaces: {namespace:?} is not a valid namespace name"
                ));
            }
        }
        problems.extend(self.backoff.problems("source.backoff"));
        let server_url = match &self.connection {
            KubeConnection::Infer => None,
            KubeConnection::InCluster { server_url } => server_url.as_deref(),
            KubeConnection::Kubeconfig { server_url, .. } => server_url.as_deref(),
            KubeConnection::Url { server_url } => Some(server_url.as_str()),
        };
        if let Some(url) = server_url {
            problems.extend(server_url_problem("source.connection.server_url", url));
        }
        if let KubeConnection::Kubeconfig {
            path: Some(path), ..
        } = &self.connection
            && !path.is_file()
        {
            problems.push(format!(
                "source.connection.path: kubeconfig {} does not exist",
                path.display()
            ));
        }
        problems
    }

    /// A Kubernetes client for [`Self::connection`].
    pub async fn client(&self) -> Result<kube::Client> {
        let config_error = |error: &dyn std::fmt::Display| Error::KubeConfig(error.to_string());
        let (mut config, server_url) = match &self.connection {
            KubeConnection::Infer => (
                kube::Config::infer()
                    .await
                    .map_err(|error| config_error(&error))?,
                None,
            ),
            KubeConnection::InCluster { server_url } => (
                kube::Config::incluster().map_err(|error| config_error(&error))?,
                server_url.clone(),
            ),
            KubeConnection::Kubeconfig {
                path,
                context,
                server_url,
            } => {
                let options = kube::config::KubeConfigOptions {
                    context: context.clone(),
                    ..Default::default()
                };
                let config = match path {
                    Some(path) => {
                        let kubeconfig = kube::config::Kubeconfig::read_from(path)
                            .map_err(|error| config_error(&error))?;
                        kube::Config::from_custom_kubeconfig(kubeconfig, &options)
                            .await
                            .map_err(|error| config_error(&error))?
                    }
                    None => kube::Config::from_kubeconfig(&options)
                        .await
                        .map_err(|error| config_error(&error))?,
                };
                (config, server_url.clone())
            }
            KubeConnection::Url { server_url } => {
                (kube::Config::new(parse_server_url(server_url)?), None)
            }
        };
        if let Some(url) = server_url {
            config.cluster_url = parse_server_url(&url)?;
        }
        kube::Client::try_from(config).map_err(Error::KubeClient)
    }
}

/// An Event type the source can list and watch: core/v1 or events.k8s.io/v1 `Event`.
pub(crate) trait WatchedEvent:
    kube::Resource<DynamicType = (), Scope = NamespaceResourceScope>
    + Clone
    + std::fmt::Debug
    + DeserializeOwned
    + Serialize
    + Send
    + Sync
    + 'static
{
}

impl<K> WatchedEvent for K where
    K: kube::Resource<DynamicType = (), Scope = NamespaceResourceScope>
        + Clone
        + std::fmt::Debug
        + DeserializeOwned
        + Serialize
        + Send
        + Sync
        + 'static
{
}

/// What every source loop of one eventer shares; [`Sources::loops`] makes the loops, so they
/// can be started again (leader election stops them when leadership is lost).
#[derive(Clone)]
pub(crate) struct Sources {
    pub config: KubernetesSourceConfig,
    pub client: kube::Client,
    pub cluster: String,
    pub events_tx: mpsc::Sender<Arc<EventRecord>>,
    pub stats: Arc<EventerStats>,
}

impl Sources {
    /// One list+watch loop per namespace (or one cluster-wide), each running until `cancel`
    /// or until the pipeline is gone.
    pub fn loops(&self, cancel: &CancellationToken) -> Vec<BoxFuture<'static, ()>> {
        let scopes: Vec<Option<String>> = if self.config.namespaces.is_empty() {
            vec![None]
        } else {
            self.config.namespaces.iter().cloned().map(Some).collect()
        };
        scopes
            .into_iter()
            .map(|namespace| match self.config.api {
                EventsApi::CoreV1 => self
                    .source_loop::<k8s_openapi::api::core::v1::Event>(namespace, cancel)
                    .run(),
                EventsApi::EventsV1 => self
                    .source_loop::<k8s_openapi::api::events::v1::Event>(namespace, cancel)
                    .run(),
            })
            .collect()
    }

    fn source_loop<K: WatchedEvent>(
        &self,
        namespace: Option<String>,
        cancel: &CancellationToken,
    ) -> SourceLoop<K> {
        let api = match &namespace {
            Some(namespace) => kube::Api::<K>::namespaced(self.client.clone(), namespace),
            None => kube::Api::<K>::all(self.client.clone()),
        };
        SourceLoop {
            api,
            scope: namespace.unwrap_or_else(|| "*".to_string()),
            config: self.config.clone(),
            cluster: self.cluster.clone(),
            events_tx: self.events_tx.clone(),
            stats: self.stats.clone(),
            cancel: cancel.clone(),
        }
    }
}

/// A LIST answer: its metadata, and its items as the text they arrived in (each then read
/// once by kec-model), from one pass over the page.
#[derive(Deserialize)]
struct ListEnvelope<'a> {
    #[serde(default)]
    metadata: ListMetadata,
    #[serde(borrow, default)]
    items: Vec<&'a serde_json::value::RawValue>,
}

#[derive(Default, Deserialize)]
struct ListMetadata {
    #[serde(rename = "resourceVersion", default)]
    resource_version: Option<String>,
    #[serde(rename = "continue", default)]
    continue_token: Option<String>,
}

/// One LIST page turned into records.
struct ListPage {
    records: Vec<EventRecord>,
    continue_token: Option<String>,
    resource_version: Option<String>,
}

/// Why a watch stopped.
enum WatchEnd {
    /// Re-watch from the (possibly advanced) resourceVersion.
    Rewatch,
    /// Relist.
    Relist(&'static str),
    /// The watch could not start (not 410); back off and retry.
    StartFailed(Option<Duration>),
    /// Shutdown, or the pipeline is gone.
    Stop,
}

/// One list+watch loop over one namespace (or all).
pub(crate) struct SourceLoop<K> {
    pub api: kube::Api<K>,
    pub scope: String,
    pub config: KubernetesSourceConfig,
    pub cluster: String,
    pub events_tx: mpsc::Sender<Arc<EventRecord>>,
    pub stats: Arc<EventerStats>,
    pub cancel: CancellationToken,
}

fn retry_after_of(error: &kube::Error) -> Option<Duration> {
    match error {
        kube::Error::Api(status) => status
            .details
            .as_ref()
            .map(|details| details.retry_after_seconds)
            .filter(|seconds| *seconds > 0)
            .map(|seconds| {
                Duration::from_secs(u64::from(seconds)).min(crate::retry::MAX_RETRY_AFTER)
            }),
        _ => None,
    }
}

fn is_gone(error: &kube::Error) -> bool {
    matches!(error, kube::Error::Api(status) if status.code == 410)
}

impl<K: WatchedEvent> SourceLoop<K> {
    /// Runs until cancelled or until the pipeline is gone.
    pub fn run(self) -> BoxFuture<'static, ()> {
        Box::pin(self.run_loop())
    }

    async fn run_loop(self) {
        let mut backoff = Backoff::new(self.config.backoff);
        'relist: loop {
            if self.cancel.is_cancelled() {
                return;
            }
            self.stats.lists.fetch_add(1, Ordering::Relaxed);
            let mut resource_version = match self.list_all().await {
                Ok(Some(resource_version)) => resource_version,
                Ok(None) => return,
                Err(error) => {
                    let delay = retry_after_of(&error).unwrap_or_else(|| backoff.next_delay());
                    tracing::warn!(scope = %self.scope, %error, ?delay, "event LIST failed; retrying");
                    if !self.pause(delay).await {
                        return;
                    }
                    continue 'relist;
                }
            };
            backoff.reset();
            let mut start_failures = 0;
            loop {
                match self.watch_once(&mut resource_version).await {
                    WatchEnd::Rewatch => {
                        start_failures = 0;
                        backoff.reset();
                        self.stats.watch_restarts.fetch_add(1, Ordering::Relaxed);
                    }
                    WatchEnd::Relist(why) => {
                        self.stats.forced_relists.fetch_add(1, Ordering::Relaxed);
                        tracing::info!(scope = %self.scope, %resource_version, why, "relisting events");
                        continue 'relist;
                    }
                    WatchEnd::StartFailed(retry_after) => {
                        start_failures += 1;
                        if start_failures >= self.config.max_watch_start_failures {
                            self.stats.forced_relists.fetch_add(1, Ordering::Relaxed);
                            continue 'relist;
                        }
                        let delay = retry_after.unwrap_or_else(|| backoff.next_delay());
                        if !self.pause(delay).await {
                            return;
                        }
                    }
                    WatchEnd::Stop => return,
                }
            }
        }
    }

    /// Sleeps unless cancelled; false when cancelled.
    async fn pause(&self, delay: Duration) -> bool {
        tokio::select! {
            () = self.cancel.cancelled() => false,
            () = tokio::time::sleep(delay) => true,
        }
    }

    /// Sends one record; false when the pipeline is gone or shutdown began.
    async fn send(&self, record: EventRecord) -> bool {
        self.stats.received.fetch_add(1, Ordering::Relaxed);
        tokio::select! {
            () = self.cancel.cancelled() => false,
            sent = self.events_tx.send(Arc::new(record)) => sent.is_ok(),
        }
    }

    /// Lists every live Event, page by page, sending each; returns the list's resourceVersion
    /// (`None` on shutdown). A `410` on a continue token restarts the LIST from the start.
    async fn list_all(&self) -> kube::Result<Option<String>> {
        let mut continue_token: Option<String> = None;
        loop {
            let mut params = ListParams::default().limit(self.config.page_size);
            if let Some(token) = &continue_token {
                params = params.continue_token(token);
            }
            let page = match self.list_page(&params).await {
                Ok(page) => page,
                Err(error) if continue_token.is_some() && is_gone(&error) => {
                    tracing::info!(scope = %self.scope, "continue token expired; restarting the LIST");
                    continue_token = None;
                    continue;
                }
                Err(error) => return Err(error),
            };
            for record in page.records {
                if !self.send(record).await {
                    return Ok(None);
                }
            }
            continue_token = page.continue_token.filter(|token| !token.is_empty());
            if continue_token.is_none() {
                return Ok(Some(page.resource_version.unwrap_or_default()));
            }
        }
    }

    /// One LIST page, read as text and parsed once by kec-model (the LIST is where a relist
    /// spends its time; kube's typed `list` would decode every Event into k8s-openapi's types
    /// only for the eventer to write them out as text again).
    async fn list_page(&self, params: &ListParams) -> kube::Result<ListPage> {
        let request = kube::core::Request::new(self.api.resource_url())
            .list(params)
            .map_err(kube::Error::BuildRequest)?;
        let text = self.api.clone().into_client().request_text(request).await?;
        let list: ListEnvelope<'_> =
            serde_json::from_str(&text).map_err(kube::Error::SerdeError)?;
        let mut records = Vec::with_capacity(list.items.len());
        let receipt_ms = kec_model::time::now_ms();
        for item in list.items {
            match kec_model::parse_line(item.get().as_bytes(), &self.cluster, receipt_ms) {
                Ok(ParsedLine::Observation(observation)) => records.push(observation.record),
                Ok(ParsedLine::Ignored(_)) => {}
                Err(error) => {
                    self.stats.unparsable.fetch_add(1, Ordering::Relaxed);
                    tracing::warn!(%error, scope = %self.scope, "skipping a listed Event kec cannot read");
                }
            }
        }
        Ok(ListPage {
            records,
            continue_token: list.metadata.continue_token,
            resource_version: list.metadata.resource_version,
        })
    }

    /// One WATCH request from `resource_version`, which advances with every frame. Frames are
    /// read as text lines: an Event's object goes to kec-model as the text it arrived in
    /// (kube's typed watch would decode it into k8s-openapi's types, only for the eventer to
    /// write it out as text and parse it again).
    async fn watch_once(&self, resource_version: &mut String) -> WatchEnd {
        let params = WatchParams::default().timeout(self.config.watch_timeout_secs);
        let started = Instant::now();
        let request = match kube::core::Request::new(self.api.resource_url())
            .watch(&params, resource_version)
        {
            Ok(mut request) => {
                // One JSON frame per line, uncompressed (as kube's own watch asks).
                request.headers_mut().insert(
                    http::header::ACCEPT_ENCODING,
                    http::HeaderValue::from_static("identity"),
                );
                request
            }
            Err(error) => {
                tracing::warn!(scope = %self.scope, %error, "cannot build the event WATCH request");
                return WatchEnd::StartFailed(None);
            }
        };
        let client = self.api.clone().into_client();
        let reader = tokio::select! {
            () = self.cancel.cancelled() => return WatchEnd::Stop,
            started = client.request_stream(request) => started,
        };
        let reader = match reader {
            Ok(reader) => reader,
            Err(error) if is_gone(&error) => return WatchEnd::Relist("watch start answered 410"),
            Err(error) => {
                tracing::warn!(scope = %self.scope, %error, "event WATCH did not start");
                return WatchEnd::StartFailed(retry_after_of(&error));
            }
        };
        let mut lines = std::pin::pin!(reader.lines());
        let mut frames = 0_u64;
        // A line that is not a frame: the last, cut-off line of a broken stream, or garbage.
        let mut unreadable: Option<String> = None;
        loop {
            let next = tokio::select! {
                () = self.cancel.cancelled() => return WatchEnd::Stop,
                next = lines.next() => next,
            };
            let line = match next {
                Some(Ok(line)) => line,
                Some(Err(error)) => {
                    tracing::info!(scope = %self.scope, %error, frames, "event WATCH broke; re-watching");
                    // A watch that breaks before any frame made no progress: back off like
                    // a failed start, so a broken server is not hammered.
                    return if frames == 0 {
                        WatchEnd::StartFailed(None)
                    } else {
                        WatchEnd::Rewatch
                    };
                }
                None => {
                    if let Some(error) = unreadable {
                        tracing::info!(scope = %self.scope, %error, frames, "event WATCH ended in a cut-off frame");
                    }
                    let early = started.elapsed()
                        < Duration::from_secs(u64::from(self.config.watch_timeout_secs)) / 2;
                    if frames == 0 && early {
                        return WatchEnd::Relist("watch ended at once with no frame (empty 200)");
                    }
                    return WatchEnd::Rewatch;
                }
            };
            if let Some(error) = unreadable.take() {
                // More followed a line that was not a frame: the stream is not to be trusted
                // past it. The resourceVersion has not moved past it, so nothing is lost.
                tracing::warn!(scope = %self.scope, %error, "unreadable WATCH frame; re-watching");
                return WatchEnd::Rewatch;
            }
            if line.trim().is_empty() {
                continue;
            }
            let frame = match serde_json::from_str::<WatchFrame<'_>>(&line) {
                Ok(frame) => frame,
                Err(error) => {
                    unreadable = Some(error.to_string());
                    continue;
                }
            };
            frames += 1;
            match frame.frame_type.as_ref() {
                "ADDED" | "MODIFIED" => {
                    let (record, frame_version) = self.read_frame_object(frame.object);
                    if let Some(record) = record
                        && !self.send(record).await
                    {
                        return WatchEnd::Stop;
                    }
                    // Advance only once the frame is handed on: a stop above re-reads it.
                    if let Some(frame_version) = frame_version {
                        *resource_version = frame_version;
                    }
                }
                "DELETED" | "BOOKMARK" => {
                    if let Some(frame_version) = object_version(frame.object) {
                        *resource_version = frame_version;
                    }
                }
                "ERROR" => {
                    let status: kube::core::Status =
                        serde_json::from_str(frame.object.get()).unwrap_or_default();
                    tracing::info!(scope = %self.scope, code = status.code, reason = %status.reason,
                        message = %status.message, "watch ERROR frame");
                    return WatchEnd::Relist("watch ERROR frame");
                }
                other => {
                    tracing::warn!(scope = %self.scope, frame_type = other, "unknown WATCH frame type; re-watching");
                    return WatchEnd::Rewatch;
                }
            }
        }
    }

    /// The record of an ADDED / MODIFIED frame's object (`None`, counted, when kec cannot read
    /// it as an Event), and the object's resourceVersion.
    fn read_frame_object(
        &self,
        object: &serde_json::value::RawValue,
    ) -> (Option<EventRecord>, Option<String>) {
        let text = object.get().as_bytes();
        match kec_model::parse_line(text, &self.cluster, kec_model::time::now_ms()) {
            Ok(ParsedLine::Observation(observation)) => {
                let version = Some(observation.record.resource_version.clone())
                    .filter(|version| !version.is_empty());
                (Some(observation.record), version)
            }
            Ok(ParsedLine::Ignored(_)) => (None, object_version(object)),
            Err(error) => {
                self.stats.unparsable.fetch_add(1, Ordering::Relaxed);
                tracing::warn!(%error, scope = %self.scope, "skipping a watched Event kec cannot read");
                (None, object_version(object))
            }
        }
    }
}

/// One line of a WATCH stream. Read as a plain struct, so `object` may come before `type`.
#[derive(Deserialize)]
struct WatchFrame<'a> {
    #[serde(rename = "type", borrow)]
    frame_type: std::borrow::Cow<'a, str>,
    #[serde(borrow)]
    object: &'a serde_json::value::RawValue,
}

/// Just the resourceVersion of an object.
#[derive(Deserialize)]
struct VersionOnly {
    #[serde(default)]
    metadata: ListMetadata,
}

fn object_version(object: &serde_json::value::RawValue) -> Option<String> {
    serde_json::from_str::<VersionOnly>(object.get())
        .ok()?
        .metadata
        .resource_version
        .filter(|version| !version.is_empty())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn watch_frames_are_read_in_either_field_order_with_their_resource_version() {
        for line in [
            r#"{"type":"DELETED","object":{"kind":"Event","metadata":{"name":"e","resourceVersion":"7"}}}"#,
            r#"{"object":{"metadata":{"resourceVersion":"7"}},"type":"DELETED"}"#,
        ] {
            let frame: WatchFrame<'_> = serde_json::from_str(line).unwrap();
            assert_eq!(frame.frame_type, "DELETED");
            assert_eq!(object_version(frame.object).as_deref(), Some("7"));
        }
        let bookmark: WatchFrame<'_> = serde_json::from_str(
            r#"{"type":"BOOKMARK","object":{"kind":"Event","apiVersion":"v1","metadata":{"resourceVersion":"12"}}}"#,
        )
        .unwrap();
        assert_eq!(object_version(bookmark.object).as_deref(), Some("12"));
        let no_version: WatchFrame<'_> =
            serde_json::from_str(r#"{"type":"ADDED","object":{"metadata":{}}}"#).unwrap();
        assert_eq!(object_version(no_version.object), None);
        // A frame cut off mid-way is not a frame.
        assert!(
            serde_json::from_str::<WatchFrame<'_>>(r#"{"type":"ADDED","object":{"meta"#).is_err()
        );
    }

    #[test]
    fn the_event_api_reads_from_flags_and_yaml_names() {
        for (text, api) in [
            ("core/v1", EventsApi::CoreV1),
            ("v1", EventsApi::CoreV1),
            ("core_v1", EventsApi::CoreV1),
            ("events.k8s.io/v1", EventsApi::EventsV1),
            ("events_v1", EventsApi::EventsV1),
        ] {
            assert_eq!(text.parse::<EventsApi>(), Ok(api), "{text}");
        }
        assert!("events.k8s.io/v1beta1".parse::<EventsApi>().is_err());
        assert_eq!(EventsApi::EventsV1.to_string(), "events.k8s.io/v1");
        let config: KubernetesSourceConfig =
            serde_json::from_str(r#"{"api": "events_v1"}"#).unwrap();
        assert_eq!(config.api, EventsApi::EventsV1);
        assert_eq!(KubernetesSourceConfig::default().api, EventsApi::CoreV1);
        assert!(serde_json::from_str::<KubernetesSourceConfig>(r#"{"api": "v2"}"#).is_err());
    }
}
