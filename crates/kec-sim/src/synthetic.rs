//! Synthetic load for the storage benchmark: millions of [`EventRecord`]s with the skew of a
//! real fleet, generated fast and in bounded memory.
//!
//! Shape of the load (hand-made, modelled on kubelet, scheduler and controller messages; not
//! recorded from a real cluster):
//! - ~50 namespaces, Zipf-distributed (a few namespaces hold most objects and Events);
//! - ~`objects` involved objects: 90 % Pods, 5 % ReplicaSets, 4 % Deployments, 1 % Nodes, with
//!   a hot set of Pods that get more Events, and one very busy crash-looping Pod;
//! - ~40 reasons with realistic messages, ~15 % Warning;
//! - ~30 % of observations repeat a recent Event object (same name and uid, `count + 1`);
//! - times spread over `days` days ending at `end_ms`, non-decreasing, busier around noon UTC.
//!
//! Objects are not stored: everything about object `i` (kind, namespace, names, uid) is derived
//! from a hash of `i`, so memory stays flat whatever `objects` and `events` are. Only a ring of
//! recent Event objects (the candidates for repeats) is kept.
//!
//! Each record is built directly, together with the full core/v1 Event JSON kept in `raw`,
//! rather than by serializing JSON and parsing it back: that would cost more than the store
//! being measured. A test holds the two equal: every record is exactly what
//! [`kec_model::convert::parse_value`] makes of its `raw`.

use kec_model::EventRecord;
use kec_model::category::classify;
use kec_model::record::ObjectRef;
use rand::rngs::SmallRng;
use rand::{Rng, SeedableRng};
use serde_json::{Map, Value};

use crate::render;

const DAY_MS: i64 = 86_400_000;
const CLUSTER_NAME: &str = "bench";

/// Recent Event objects that repeats are drawn from. At the default rate (1M observations in a
/// week) this is about the last hour, the API server's Event TTL: real repeats, too, only bump
/// Events that still exist.
const RING_CAPACITY: usize = 4_096;
/// Share of observations that repeat an existing Event object.
const REPEAT_PROBABILITY: f64 = 0.3;
/// Share of new Event objects about the busy Pod.
const BUSY_POD_PROBABILITY: f64 = 0.003;
/// Share of Pod Events that go to the hot 2 % of Pods.
const HOT_POD_PROBABILITY: f64 = 0.3;
/// Relative swing of the Event rate over a day (0 = flat; must stay below 1).
const DIURNAL_AMPLITUDE: f64 = 0.5;
const ZIPF_EXPONENT: f64 = 1.07;
const RARE_WORD: &str = "quota";

/// Namespaces, most active first (rank 1 of the Zipf distribution first).
const NAMESPACES: [&str; 50] = [
    "shop",
    "payments",
    "search",
    "data",
    "batch-jobs",
    "ml-training",
    "kube-system",
    "monitoring",
    "checkout",
    "catalog",
    "orders",
    "inventory",
    "ingress-nginx",
    "recommendations",
    "identity",
    "notifications",
    "shipping",
    "billing",
    "analytics",
    "ml-serving",
    "kafka",
    "logging",
    "media",
    "reviews",
    "staging",
    "feature-store",
    "redis",
    "postgres",
    "elasticsearch",
    "tracing",
    "cert-manager",
    "argocd",
    "istio-system",
    "auth",
    "team-alpha",
    "team-bravo",
    "team-charlie",
    "team-delta",
    "qa",
    "sandbox",
    "reporting",
    "partner-api",
    "cdn-edge",
    "vault",
    "keda",
    "velero",
    "flux-system",
    "linkerd",
    "gatekeeper-system",
    "default",
];

const APPS: [&str; 40] = [
    "api",
    "web",
    "worker",
    "gateway",
    "frontend",
    "backend",
    "scheduler",
    "consumer",
    "producer",
    "indexer",
    "cache",
    "proxy",
    "auth-service",
    "cart",
    "checkout",
    "catalog",
    "inventory",
    "orders",
    "ledger",
    "fraud-scorer",
    "search-api",
    "recommender",
    "notifier",
    "mailer",
    "uploader",
    "thumbnailer",
    "transcoder",
    "etl",
    "reporter",
    "exporter",
    "collector",
    "sync",
    "reconciler",
    "webhook",
    "operator",
    "controller",
    "agent",
    "importer",
    "crawler",
    "feature-server",
];

const DEPLOYMENT_SUFFIXES: [&str; 8] = [
    "",
    "",
    "",
    "-internal",
    "-canary",
    "-v2",
    "-worker",
    "-blue",
];

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Pod,
    ReplicaSet,
    Deployment,
    Node,
}

impl Kind {
    /// Object `i` has the kind of `i % 100`: residues `first..first + width`.
    const fn residues(self) -> (u64, u64) {
        match self {
            Kind::Pod => (0, 90),
            Kind::ReplicaSet => (90, 5),
            Kind::Deployment => (95, 4),
            Kind::Node => (99, 1),
        }
    }

    fn of_index(index: u64) -> Kind {
        match index % 100 {
            99 => Kind::Node,
            95..=98 => Kind::Deployment,
            90..=94 => Kind::ReplicaSet,
            _ => Kind::Pod,
        }
    }
}

/// Who writes the Event (all through client-go's core/v1 recorder here).
#[derive(Debug, Clone, Copy)]
enum Reporter {
    /// The kubelet of the pod's node (or of the Node itself).
    Kubelet,
    /// A control-plane component without a host.
    Controller(&'static str),
    /// A node-problem-detector monitor on the Node.
    NodeMonitor(&'static str),
}

/// The message of a template, rendered from the object and a little randomness.
#[derive(Debug, Clone, Copy)]
enum Message {
    Scheduled,
    PullingImage,
    PulledNew,
    PulledCached,
    CreatedContainer,
    StartedContainer,
    StoppingContainer,
    SandboxChanged,
    CrashBackOff,
    LivenessFailed,
    ReadinessTimeout,
    ProbeKilling,
    PullNotFound,
    ErrImagePull,
    ImageBackOff,
    ImagePullBackOff,
    InsufficientCpu,
    ConfigMapMissing,
    MountTimeout,
    SandboxFailed,
    EvictedMemory,
    NodeIsNotReady,
    MarkedForDeletion,
    PreemptedBy,
    NetworkNotReady,
    GracePeriodExceeded,
    CreatedPod,
    DeletedPod,
    QuotaExceeded,
    ScaledUp,
    ScaledDown,
    Rescaled,
    MetricsMissing,
    NodeStatus(&'static str),
    KubeletStarting,
    AllocatableEnforced,
    InvalidDiskCapacity,
    ReclaimEphemeralStorage,
    ImageGcFailed,
    KernelOomKill,
    HungTask,
    NullPointer,
    NodeRebooted,
    RegisteredNode,
    DockerHungCondition,
}

/// One kind of Event: its reason, object kind, type, reporter, message, and how common it is.
#[derive(Debug, Clone, Copy)]
struct Template {
    reason: &'static str,
    kind: Kind,
    warning: bool,
    reporter: Reporter,
    message: Message,
    /// Whether the Event names a container (`fieldPath: spec.containers{..}`).
    about_container: bool,
    /// Relative frequency among new Event objects.
    weight: u32,
}

const fn template(
    reason: &'static str,
    kind: Kind,
    warning: bool,
    reporter: Reporter,
    message: Message,
    about_container: bool,
    weight: u32,
) -> Template {
    Template {
        reason,
        kind,
        warning,
        reporter,
        message,
        about_container,
        weight,
    }
}

const SCHEDULER: Reporter = Reporter::Controller("default-scheduler");
const REPLICA_SET_CONTROLLER: Reporter = Reporter::Controller("replicaset-controller");
const DEPLOYMENT_CONTROLLER: Reporter = Reporter::Controller("deployment-controller");
const HPA_CONTROLLER: Reporter = Reporter::Controller("horizontal-pod-autoscaler");
const NODE_CONTROLLER: Reporter = Reporter::Controller("node-controller");
const KERNEL_MONITOR: Reporter = Reporter::NodeMonitor("kernel-monitor");

/// The reasons of the load. Weights give ~16 % Warning and ~1 % `quota` (FailedCreate).
const TEMPLATES: &[Template] = &[
    template(
        "Scheduled",
        Kind::Pod,
        false,
        SCHEDULER,
        Message::Scheduled,
        false,
        80,
    ),
    template(
        "Pulling",
        Kind::Pod,
        false,
        Reporter::Kubelet,
        Message::PullingImage,
        true,
        45,
    ),
    template(
        "Pulled",
        Kind::Pod,
        false,
        Reporter::Kubelet,
        Message::PulledNew,
        true,
        35,
    ),
    template(
        "Pulled",
        Kind::Pod,
        false,
        Reporter::Kubelet,
        Message::PulledCached,
        true,
        45,
    ),
    template(
        "Created",
        Kind::Pod,
        false,
        Reporter::Kubelet,
        Message::CreatedContainer,
        true,
        90,
    ),
    template(
        "Started",
        Kind::Pod,
        false,
        Reporter::Kubelet,
        Message::StartedContainer,
        true,
        90,
    ),
    template(
        "Killing",
        Kind::Pod,
        false,
        Reporter::Kubelet,
        Message::StoppingContainer,
        true,
        60,
    ),
    template(
        "SandboxChanged",
        Kind::Pod,
        false,
        Reporter::Kubelet,
        Message::SandboxChanged,
        false,
        8,
    ),
    template(
        "BackOff",
        Kind::Pod,
        true,
        Reporter::Kubelet,
        Message::CrashBackOff,
        true,
        24,
    ),
    template(
        "Unhealthy",
        Kind::Pod,
        true,
        Reporter::Kubelet,
        Message::LivenessFailed,
        true,
        8,
    ),
    template(
        "Unhealthy",
        Kind::Pod,
        true,
        Reporter::Kubelet,
        Message::ReadinessTimeout,
        true,
        14,
    ),
    template(
        "Killing",
        Kind::Pod,
        false,
        Reporter::Kubelet,
        Message::ProbeKilling,
        true,
        6,
    ),
    template(
        "Failed",
        Kind::Pod,
        true,
        Reporter::Kubelet,
        Message::PullNotFound,
        true,
        6,
    ),
    template(
        "Failed",
        Kind::Pod,
        true,
        Reporter::Kubelet,
        Message::ErrImagePull,
        true,
        5,
    ),
    template(
        "BackOff",
        Kind::Pod,
        false,
        Reporter::Kubelet,
        Message::ImageBackOff,
        true,
        6,
    ),
    template(
        "Failed",
        Kind::Pod,
        true,
        Reporter::Kubelet,
        Message::ImagePullBackOff,
        true,
        6,
    ),
    template(
        "FailedScheduling",
        Kind::Pod,
        true,
        SCHEDULER,
        Message::InsufficientCpu,
        false,
        8,
    ),
    template(
        "FailedMount",
        Kind::Pod,
        true,
        Reporter::Kubelet,
        Message::ConfigMapMissing,
        false,
        7,
    ),
    template(
        "FailedMount",
        Kind::Pod,
        true,
        Reporter::Kubelet,
        Message::MountTimeout,
        false,
        3,
    ),
    template(
        "FailedCreatePodSandBox",
        Kind::Pod,
        true,
        Reporter::Kubelet,
        Message::SandboxFailed,
        false,
        3,
    ),
    template(
        "Evicted",
        Kind::Pod,
        true,
        Reporter::Kubelet,
        Message::EvictedMemory,
        false,
        3,
    ),
    template(
        "NodeNotReady",
        Kind::Pod,
        true,
        NODE_CONTROLLER,
        Message::NodeIsNotReady,
        false,
        3,
    ),
    template(
        "TaintManagerEviction",
        Kind::Pod,
        false,
        Reporter::Controller("taint-eviction-controller"),
        Message::MarkedForDeletion,
        false,
        3,
    ),
    template(
        "Preempted",
        Kind::Pod,
        false,
        SCHEDULER,
        Message::PreemptedBy,
        false,
        2,
    ),
    template(
        "NetworkNotReady",
        Kind::Pod,
        true,
        Reporter::Kubelet,
        Message::NetworkNotReady,
        false,
        2,
    ),
    template(
        "ExceededGracePeriod",
        Kind::Pod,
        true,
        Reporter::Kubelet,
        Message::GracePeriodExceeded,
        false,
        1,
    ),
    template(
        "SuccessfulCreate",
        Kind::ReplicaSet,
        false,
        REPLICA_SET_CONTROLLER,
        Message::CreatedPod,
        false,
        40,
    ),
    template(
        "SuccessfulDelete",
        Kind::ReplicaSet,
        false,
        REPLICA_SET_CONTROLLER,
        Message::DeletedPod,
        false,
        25,
    ),
    template(
        "FailedCreate",
        Kind::ReplicaSet,
        true,
        REPLICA_SET_CONTROLLER,
        Message::QuotaExceeded,
        false,
        7,
    ),
    template(
        "ScalingReplicaSet",
        Kind::Deployment,
        false,
        DEPLOYMENT_CONTROLLER,
        Message::ScaledUp,
        false,
        25,
    ),
    template(
        "ScalingReplicaSet",
        Kind::Deployment,
        false,
        DEPLOYMENT_CONTROLLER,
        Message::ScaledDown,
        false,
        15,
    ),
    template(
        "SuccessfulRescale",
        Kind::Deployment,
        false,
        HPA_CONTROLLER,
        Message::Rescaled,
        false,
        8,
    ),
    template(
        "FailedGetResourceMetric",
        Kind::Deployment,
        true,
        HPA_CONTROLLER,
        Message::MetricsMissing,
        false,
        4,
    ),
    template(
        "NodeNotReady",
        Kind::Node,
        false,
        NODE_CONTROLLER,
        Message::NodeStatus("NodeNotReady"),
        false,
        3,
    ),
    template(
        "NodeReady",
        Kind::Node,
        false,
        Reporter::Kubelet,
        Message::NodeStatus("NodeReady"),
        false,
        3,
    ),
    template(
        "Starting",
        Kind::Node,
        false,
        Reporter::Kubelet,
        Message::KubeletStarting,
        false,
        2,
    ),
    template(
        "NodeHasSufficientMemory",
        Kind::Node,
        false,
        Reporter::Kubelet,
        Message::NodeStatus("NodeHasSufficientMemory"),
        false,
        2,
    ),
    template(
        "NodeHasDiskPressure",
        Kind::Node,
        false,
        Reporter::Kubelet,
        Message::NodeStatus("NodeHasDiskPressure"),
        false,
        1,
    ),
    template(
        "NodeHasNoDiskPressure",
        Kind::Node,
        false,
        Reporter::Kubelet,
        Message::NodeStatus("NodeHasNoDiskPressure"),
        false,
        1,
    ),
    template(
        "NodeAllocatableEnforced",
        Kind::Node,
        false,
        Reporter::Kubelet,
        Message::AllocatableEnforced,
        false,
        1,
    ),
    template(
        "InvalidDiskCapacity",
        Kind::Node,
        true,
        Reporter::Kubelet,
        Message::InvalidDiskCapacity,
        false,
        1,
    ),
    template(
        "EvictionThresholdMet",
        Kind::Node,
        true,
        Reporter::Kubelet,
        Message::ReclaimEphemeralStorage,
        false,
        2,
    ),
    template(
        "FreeDiskSpaceFailed",
        Kind::Node,
        true,
        Reporter::Kubelet,
        Message::ImageGcFailed,
        false,
        1,
    ),
    template(
        "OOMKilling",
        Kind::Node,
        true,
        KERNEL_MONITOR,
        Message::KernelOomKill,
        false,
        3,
    ),
    template(
        "TaskHung",
        Kind::Node,
        true,
        KERNEL_MONITOR,
        Message::HungTask,
        false,
        1,
    ),
    template(
        "KernelOops",
        Kind::Node,
        true,
        KERNEL_MONITOR,
        Message::NullPointer,
        false,
        1,
    ),
    template(
        "DockerHung",
        Kind::Node,
        true,
        KERNEL_MONITOR,
        Message::DockerHungCondition,
        false,
        1,
    ),
    template(
        "Rebooted",
        Kind::Node,
        true,
        Reporter::Kubelet,
        Message::NodeRebooted,
        false,
        1,
    ),
    template(
        "RegisteredNode",
        Kind::Node,
        false,
        NODE_CONTROLLER,
        Message::RegisteredNode,
        false,
        2,
    ),
];

/// Templates of the busy crash-looping Pod, by index into [`TEMPLATES`].
const BUSY_POD_TEMPLATES: [usize; 6] = [8, 8, 8, 3, 4, 5];

/// What to generate.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SyntheticConfig {
    /// Observations (records) to produce in total.
    pub events: u64,
    /// Distinct involved objects (approximately: kind-specific references add a few).
    pub objects: u64,
    /// Days the times spread over.
    pub days: u32,
    /// Epoch milliseconds the load ends at (exclusive).
    pub end_ms: i64,
    pub seed: u64,
}

impl Default for SyntheticConfig {
    fn default() -> Self {
        SyntheticConfig {
            events: 1_000_000,
            objects: 200_000,
            days: 7,
            // 2026-11-25T00:00:00Z
            end_ms: 1_795_564_800_000,
            seed: 1,
        }
    }
}

/// Everything about one involved object, derived from its index.
struct ObjectIdentity {
    /// Empty for Nodes.
    namespace: &'static str,
    name: String,
    uid: String,
    resource_version: u64,
    app: &'static str,
    container: &'static str,
    /// `(major, minor, patch)` of the object's image.
    version: (u64, u64, u64),
    /// Name of the Node the object is (Node) or runs on (Pod).
    node_name: String,
    /// Per-object bits for stable details (IPs, sizes).
    bits: u64,
}

/// An Event object that may be repeated.
struct RingEvent {
    object_index: u64,
    template: usize,
    name: String,
    uid: String,
    message: String,
    first_ms: i64,
    count: i64,
}

/// A generator of synthetic observations, consumed batch by batch.
pub struct SyntheticLoad {
    config: SyntheticConfig,
    rng: SmallRng,
    produced: u64,
    last_time_ms: i64,
    resource_version: u64,
    ring: Vec<RingEvent>,
    ring_next: usize,
    /// Cumulative Zipf weights of [`NAMESPACES`], normalized to 1.
    namespace_cdf: Vec<f64>,
    /// Cumulative weights of [`TEMPLATES`].
    template_cdf: Vec<u32>,
    node_count: u64,
}

impl SyntheticLoad {
    pub fn new(config: SyntheticConfig) -> SyntheticLoad {
        let rng = SmallRng::seed_from_u64(config.seed);
        let mut namespace_cdf = Vec::with_capacity(NAMESPACES.len());
        let mut total = 0.0;
        for rank in 1..=NAMESPACES.len() {
            total += 1.0 / (rank as f64).powf(ZIPF_EXPONENT);
            namespace_cdf.push(total);
        }
        for cumulative in &mut namespace_cdf {
            *cumulative /= total;
        }
        let mut template_cdf = Vec::with_capacity(TEMPLATES.len());
        let mut weight_sum = 0;
        for template in TEMPLATES {
            weight_sum += template.weight;
            template_cdf.push(weight_sum);
        }
        let objects = config.objects.max(1);
        let node_count = count_of_kind(objects, Kind::Node).max(1);
        let start_ms = config.end_ms - DAY_MS * i64::from(config.days);
        SyntheticLoad {
            rng,
            produced: 0,
            last_time_ms: start_ms,
            resource_version: 40_000_000 + config.seed % 1_000_000,
            ring: Vec::with_capacity(
                RING_CAPACITY.min(usize::try_from(config.events).unwrap_or(RING_CAPACITY)),
            ),
            ring_next: 0,
            namespace_cdf,
            template_cdf,
            node_count,
            config,
        }
    }

    /// Next batch of up to `max` observations, in non-decreasing time order across the whole
    /// run; `None` once `events` have been produced. `max == 0` gives an empty batch.
    pub fn next_batch(&mut self, max: usize) -> Option<Vec<EventRecord>> {
        let remaining = self.config.events.saturating_sub(self.produced);
        if remaining == 0 {
            return None;
        }
        let size = usize::try_from(remaining).map_or(max, |remaining| remaining.min(max));
        let mut batch = Vec::with_capacity(size);
        for _ in 0..size {
            batch.push(self.next_record());
        }
        Some(batch)
    }

    /// A (namespace, kind, name) of a pod that has many events, for timeline queries.
    pub fn busy_object(&self) -> (String, String, String) {
        let identity = self.identity(0);
        (
            identity.namespace.to_string(),
            "Pod".to_string(),
            identity.name,
        )
    }

    /// A word that appears in messages of about 1 % of events, for text search.
    pub fn rare_message_word(&self) -> &'static str {
        RARE_WORD
    }

    fn objects(&self) -> u64 {
        self.config.objects.max(1)
    }

    /// The time of observation number `produced`: uniform, warped so that the rate follows
    /// the day (busier at noon UTC), never going back.
    fn next_time_ms(&mut self) -> i64 {
        let span_ms = DAY_MS * i64::from(self.config.days);
        let start_ms = self.config.end_ms - span_ms;
        let events = self.config.events.max(1) as f64;
        let fraction = self.produced as f64 / events;
        let cycles = f64::from(self.config.days.max(1)) * std::f64::consts::TAU;
        // The integral of a rate `1 - a cos(2 pi days x)`: strictly increasing for a < 1.
        let warped = fraction - DIURNAL_AMPLITUDE * (cycles * fraction).sin() / cycles;
        let offset = (warped * span_ms as f64) as i64;
        let time_ms = (start_ms + offset).clamp(start_ms, (self.config.end_ms - 1).max(start_ms));
        self.last_time_ms = self.last_time_ms.max(time_ms);
        self.last_time_ms
    }

    fn next_resource_version(&mut self) -> u64 {
        self.resource_version += self.rng.random_range(1..=12_u64);
        self.resource_version
    }

    fn next_record(&mut self) -> EventRecord {
        let now_ms = self.next_time_ms();
        self.produced += 1;
        let repeat = !self.ring.is_empty() && self.rng.random_bool(REPEAT_PROBABILITY);
        let slot = if repeat {
            let slot = self.rng.random_range(0..self.ring.len());
            if let Some(event) = self.ring.get_mut(slot) {
                event.count += 1;
            }
            slot
        } else {
            self.new_event(now_ms)
        };
        let resource_version = self.next_resource_version();
        match self.ring.get(slot) {
            Some(event) => self.build_record(event, now_ms, resource_version),
            // Unreachable: `slot` always indexes the ring. Fall back to a fresh event rather
            // than panic.
            None => {
                let slot = self.new_event(now_ms);
                match self.ring.get(slot) {
                    Some(event) => self.build_record(event, now_ms, resource_version),
                    None => self.build_record(
                        &RingEvent {
                            object_index: 0,
                            template: 0,
                            name: String::new(),
                            uid: String::new(),
                            message: String::new(),
                            first_ms: now_ms,
                            count: 1,
                        },
                        now_ms,
                        resource_version,
                    ),
                }
            }
        }
    }

    /// Creates a new Event object in the ring and returns its slot.
    fn new_event(&mut self, now_ms: i64) -> usize {
        let (template, object_index) = if self.rng.random_bool(BUSY_POD_PROBABILITY) {
            let pick = self.rng.random_range(0..BUSY_POD_TEMPLATES.len());
            (BUSY_POD_TEMPLATES[pick], 0)
        } else {
            let draw = self
                .rng
                .random_range(0..self.template_cdf.last().copied().unwrap_or(1));
            let template = self
                .template_cdf
                .partition_point(|cumulative| *cumulative <= draw);
            let template = template.min(TEMPLATES.len() - 1);
            match self.pick_object(TEMPLATES[template].kind) {
                Some(object_index) => (template, object_index),
                // No object of that kind at this size: a Pod Event instead (Pods always exist).
                None => (4, self.pick_object(Kind::Pod).unwrap_or(0)),
            }
        };
        let identity = self.identity(object_index);
        let message = self.render_message(TEMPLATES[template].message, &identity);
        let extra_nanos = self.rng.random_range(0..1_000_000_i64);
        let event = RingEvent {
            object_index,
            template,
            name: render::event_name(
                &identity.name,
                now_ms.saturating_mul(1_000_000).saturating_add(extra_nanos),
            ),
            uid: render::uuid(&mut self.rng),
            message,
            first_ms: now_ms,
            count: 1,
        };
        if self.ring.len() < RING_CAPACITY {
            self.ring.push(event);
            self.ring.len() - 1
        } else {
            let slot = self.ring_next;
            self.ring_next = (self.ring_next + 1) % RING_CAPACITY;
            if let Some(old) = self.ring.get_mut(slot) {
                *old = event;
            }
            slot
        }
    }

    /// An object of `kind`: Pods are skewed towards a hot set; `None` when none exists.
    fn pick_object(&mut self, kind: Kind) -> Option<u64> {
        let count = count_of_kind(self.objects(), kind);
        if count == 0 {
            return None;
        }
        let hot = (count / 50).max(1);
        let ordinal = if kind == Kind::Pod && self.rng.random_bool(HOT_POD_PROBABILITY) {
            self.rng.random_range(0..hot)
        } else {
            self.rng.random_range(0..count)
        };
        Some(index_of_kind(kind, ordinal))
    }

    fn namespace_of(&self, bits: u64) -> &'static str {
        let uniform = (bits >> 11) as f64 / (1_u64 << 53) as f64;
        let rank = self
            .namespace_cdf
            .partition_point(|cumulative| *cumulative <= uniform);
        NAMESPACES[rank.min(NAMESPACES.len() - 1)]
    }

    fn identity(&self, index: u64) -> ObjectIdentity {
        let kind = Kind::of_index(index);
        let bits = render::mix64(index ^ self.config.seed.rotate_left(32));
        let more_bits = render::mix64(bits);
        let app = APPS[(more_bits % APPS.len() as u64) as usize];
        let container = if (more_bits >> 8) & 1 == 0 {
            "app"
        } else {
            app
        };
        let version = (1 + (bits >> 40) % 6, (bits >> 44) % 20, (bits >> 50) % 15);
        let uid = render::uuid_from_bits(render::mix64(more_bits), render::mix64(bits ^ more_bits));
        let resource_version = 1_000_000 + (more_bits >> 20) % 39_000_000;
        if kind == Kind::Node {
            let node_name = node_name(index / 100);
            return ObjectIdentity {
                namespace: "",
                name: node_name.clone(),
                uid,
                resource_version,
                app,
                container,
                version,
                node_name,
                bits,
            };
        }
        let namespace = self.namespace_of(bits);
        let suffix =
            DEPLOYMENT_SUFFIXES[((more_bits >> 12) % DEPLOYMENT_SUFFIXES.len() as u64) as usize];
        let mut name = String::with_capacity(48);
        name.push_str(app);
        name.push_str(suffix);
        if kind != Kind::Deployment {
            name.push('-');
            render::push_token_from_bits(
                &mut name,
                more_bits >> 16,
                9 + (more_bits >> 63) as usize,
            );
        }
        if kind == Kind::Pod {
            name.push('-');
            render::push_token_from_bits(&mut name, bits >> 3, 5);
        }
        ObjectIdentity {
            namespace,
            name,
            uid,
            resource_version,
            app,
            container,
            version,
            node_name: node_name((more_bits >> 24) % self.node_count),
            bits,
        }
    }

    fn render_message(&mut self, message: Message, object: &ObjectIdentity) -> String {
        let image = || {
            let (major, minor, patch) = object.version;
            format!(
                "registry.example.com/{}/{}:v{major}.{minor}.{patch}",
                object.namespace, object.app
            )
        };
        let pod_ip = || {
            format!(
                "10.{}.{}.{}",
                64 + object.bits % 64,
                (object.bits >> 8) % 256,
                2 + (object.bits >> 16) % 250
            )
        };
        let replica_set = || {
            let mut name = String::with_capacity(32);
            name.push_str(&object.name);
            name.push('-');
            render::push_token_from_bits(&mut name, object.bits >> 7, 10);
            name
        };
        let new_pod = |rng: &mut SmallRng| format!("{}-{}", object.name, render::token(rng, 5));
        match message {
            Message::Scheduled => format!(
                "Successfully assigned {}/{} to {}",
                object.namespace, object.name, object.node_name
            ),
            Message::PullingImage => format!("Pulling image \"{}\"", image()),
            Message::PulledNew => {
                let pull_ms = self.rng.random_range(600..12_000_u32);
                let waiting_ms = pull_ms + self.rng.random_range(0..3_000_u32);
                format!(
                    "Successfully pulled image \"{}\" in {}.{:03}s ({}.{:03}s including waiting). Image size: {} bytes.",
                    image(),
                    pull_ms / 1_000,
                    pull_ms % 1_000,
                    waiting_ms / 1_000,
                    waiting_ms % 1_000,
                    20_000_000 + (object.bits >> 12) % 900_000_000
                )
            }
            Message::PulledCached => {
                format!("Container image \"{}\" already present on machine", image())
            }
            Message::CreatedContainer => format!("Created container: {}", object.container),
            Message::StartedContainer => format!("Started container {}", object.container),
            Message::StoppingContainer => format!("Stopping container {}", object.container),
            Message::SandboxChanged => {
                "Pod sandbox changed, it will be killed and re-created.".to_string()
            }
            Message::CrashBackOff => format!(
                "Back-off restarting failed container {} in pod {}_{}({})",
                object.container, object.name, object.namespace, object.uid
            ),
            Message::LivenessFailed => {
                "Liveness probe failed: HTTP probe failed with statuscode: 500".to_string()
            }
            Message::ReadinessTimeout => format!(
                "Readiness probe failed: Get \"http://{}:8080/ready\": context deadline exceeded (Client.Timeout exceeded while awaiting headers)",
                pod_ip()
            ),
            Message::ProbeKilling => format!(
                "Container {} failed liveness probe, will be restarted",
                object.container
            ),
            Message::PullNotFound => {
                let image = image();
                format!(
                    "Failed to pull image \"{image}\": rpc error: code = NotFound desc = failed to pull and unpack image \"{image}\": failed to resolve reference \"{image}\": {image}: not found"
                )
            }
            Message::ErrImagePull => "Error: ErrImagePull".to_string(),
            Message::ImageBackOff => format!("Back-off pulling image \"{}\"", image()),
            Message::ImagePullBackOff => "Error: ImagePullBackOff".to_string(),
            Message::InsufficientCpu => {
                let nodes = self.node_count + 3;
                format!(
                    "0/{nodes} nodes are available: 3 node(s) had untolerated taint {{node-role.kubernetes.io/control-plane: }}, {} Insufficient cpu. preemption: 0/{nodes} nodes are available: 3 Preemption is not helpful for scheduling, {} No preemption victims found for incoming pod.",
                    self.node_count, self.node_count
                )
            }
            Message::ConfigMapMissing => format!(
                "MountVolume.SetUp failed for volume \"config\" : configmap \"{}-config\" not found",
                object.app
            ),
            Message::MountTimeout => "Unable to attach or mount volumes: unmounted volumes=[data], unattached volumes=[], failed to process volumes=[]: timed out waiting for the condition".to_string(),
            Message::SandboxFailed => {
                let mut sandbox = String::with_capacity(64);
                render::push_hex(&mut sandbox, self.rng.random::<u64>() | (1 << 63));
                render::push_hex(&mut sandbox, self.rng.random::<u64>() | (1 << 63));
                format!(
                    "Failed to create pod sandbox: rpc error: code = Unknown desc = failed to setup network for sandbox \"{sandbox}\": plugin type=\"calico\" failed (add): error getting ClusterInformation: connection is unauthorized: Unauthorized"
                )
            }
            Message::EvictedMemory => format!(
                "The node was low on resource: memory. Threshold quantity: 100Mi, available: {}Ki. Container {} was using {}Ki, request is 512Mi, has larger consumption of memory.",
                self.rng.random_range(40_000..100_000_u32),
                object.container,
                self.rng.random_range(900_000..4_000_000_u32)
            ),
            Message::NodeIsNotReady => "Node is not ready".to_string(),
            Message::MarkedForDeletion => {
                format!("Marking for deletion Pod {}/{}", object.namespace, object.name)
            }
            Message::PreemptedBy => format!(
                "Preempted by pod {} on node {}",
                render::uuid(&mut self.rng),
                object.node_name
            ),
            Message::NetworkNotReady => "network is not ready: container runtime network not ready: NetworkReady=false reason:NetworkPluginNotReady message:Network plugin returns error: cni plugin not initialized".to_string(),
            Message::GracePeriodExceeded => {
                "Container runtime did not kill the pod within specified grace period.".to_string()
            }
            Message::CreatedPod => format!("Created pod: {}", new_pod(&mut self.rng)),
            Message::DeletedPod => format!("Deleted pod: {}", new_pod(&mut self.rng)),
            Message::QuotaExceeded => {
                let used = self.rng.random_range(12..20_u32);
                format!(
                    "Error creating: pods \"{}\" is forbidden: exceeded {RARE_WORD}: compute-resources, requested: limits.cpu=2, used: limits.cpu={used}, limited: limits.cpu=20",
                    new_pod(&mut self.rng)
                )
            }
            Message::ScaledUp => {
                let from = self.rng.random_range(0..6_u32);
                format!("Scaled up replica set {} from {from} to {}", replica_set(), from + 1)
            }
            Message::ScaledDown => {
                let from = self.rng.random_range(1..7_u32);
                format!("Scaled down replica set {} from {from} to {}", replica_set(), from - 1)
            }
            Message::Rescaled => format!(
                "New size: {}; reason: cpu resource utilization (percentage of request) above target",
                self.rng.random_range(2..12_u32)
            ),
            Message::MetricsMissing => "failed to get cpu utilization: unable to get metrics for resource cpu: no metrics returned from resource metrics API".to_string(),
            Message::NodeStatus(status) => {
                format!("Node {} status is now: {status}", object.node_name)
            }
            Message::KubeletStarting => "Starting kubelet.".to_string(),
            Message::AllocatableEnforced => {
                "Updated Node Allocatable limit across pods".to_string()
            }
            Message::InvalidDiskCapacity => "invalid capacity 0 on image filesystem".to_string(),
            Message::ReclaimEphemeralStorage => "Attempting to reclaim ephemeral-storage".to_string(),
            Message::ImageGcFailed => format!(
                "Failed to garbage collect required amount of images. Attempted to free {} bytes, but only found 0 bytes eligible to free.",
                self.rng.random_range(1_000_000_000..9_000_000_000_u64)
            ),
            Message::KernelOomKill => format!(
                "Memory cgroup out of memory: Killed process {} ({}) total-vm:{}kB, anon-rss:{}kB, file-rss:{}kB, shmem-rss:0kB, UID:1000 pgtables:{}kB oom_score_adj:{}",
                self.rng.random_range(1_000..90_000_u32),
                ["java", "python3", "node", "envoy", "postgres"][self.rng.random_range(0..5)],
                self.rng.random_range(900_000..6_000_000_u32),
                self.rng.random_range(500_000..4_000_000_u32),
                self.rng.random_range(10_000..40_000_u32),
                self.rng.random_range(1_000..9_000_u32),
                self.rng.random_range(900..=999_u32)
            ),
            Message::HungTask => format!(
                "INFO: task {}:{} blocked for more than 120 seconds.",
                ["docker", "containerd", "jbd2/sda1-8", "kworker/u16:2"][self.rng.random_range(0..4)],
                self.rng.random_range(100..60_000_u32)
            ),
            Message::NullPointer => format!(
                "BUG: unable to handle kernel NULL pointer dereference at {:016x}",
                self.rng.random_range(0x10..0x400_u32)
            ),
            Message::NodeRebooted => format!(
                "Node {} has been rebooted, boot id: {}",
                object.node_name,
                render::uuid(&mut self.rng)
            ),
            Message::RegisteredNode => format!(
                "Node {} event: Registered Node {} in Controller",
                object.node_name, object.node_name
            ),
            Message::DockerHungCondition => format!(
                "Node condition KernelDeadlock is now: True, reason: DockerHung, message: \"task docker:{} blocked for more than 120 seconds.\"",
                self.rng.random_range(100..60_000_u32)
            ),
        }
    }

    /// The record of one observation of `event` at `now_ms`, with its core/v1 JSON as `raw`.
    fn build_record(&self, event: &RingEvent, now_ms: i64, resource_version: u64) -> EventRecord {
        let template = TEMPLATES[event.template.min(TEMPLATES.len() - 1)];
        let identity = self.identity(event.object_index);
        // What each reporter puts in the reference (see the demo module for the sources).
        let (object_kind, object_api_version, object_uid) = match (template.kind, template.reporter)
        {
            (Kind::Node, Reporter::Controller(_)) => ("Node", "v1", identity.uid.clone()),
            (Kind::Node, _) => ("Node", "", identity.name.clone()),
            (Kind::Pod, _) => ("Pod", "v1", identity.uid.clone()),
            (Kind::ReplicaSet, _) => ("ReplicaSet", "apps/v1", identity.uid.clone()),
            (Kind::Deployment, Reporter::Controller("horizontal-pod-autoscaler")) => (
                "HorizontalPodAutoscaler",
                "autoscaling/v2",
                render::uuid_from_bits(identity.bits, render::mix64(identity.bits ^ 0x0048_5041)),
            ),
            (Kind::Deployment, _) => ("Deployment", "apps/v1", identity.uid.clone()),
        };
        let field_path = if template.about_container {
            let mut path = String::with_capacity(20 + identity.container.len());
            path.push_str("spec.containers{");
            path.push_str(identity.container);
            path.push('}');
            path
        } else {
            String::new()
        };
        let (component, host) = match template.reporter {
            Reporter::Kubelet => ("kubelet", identity.node_name.clone()),
            Reporter::Controller(component) => (component, String::new()),
            Reporter::NodeMonitor(monitor) => (monitor, identity.node_name.clone()),
        };
        let event_namespace = if identity.namespace.is_empty() {
            "default"
        } else {
            identity.namespace
        };
        // The API server keeps whole seconds in first/lastTimestamp.
        let time_ms = now_ms.div_euclid(1_000) * 1_000;
        let first_ms = event.first_ms.div_euclid(1_000) * 1_000;
        let mut resource_version_text = String::with_capacity(12);
        render::push_decimal(&mut resource_version_text, resource_version);
        let event_type = if template.warning {
            "Warning"
        } else {
            "Normal"
        };

        let mut involved = Map::new();
        involved.insert("kind".into(), Value::from(object_kind));
        if !identity.namespace.is_empty() {
            involved.insert("namespace".into(), Value::from(identity.namespace));
        }
        involved.insert("name".into(), Value::from(identity.name.as_str()));
        involved.insert("uid".into(), Value::from(object_uid.as_str()));
        if !object_api_version.is_empty() {
            involved.insert("apiVersion".into(), Value::from(object_api_version));
            let mut object_resource_version = String::with_capacity(10);
            render::push_decimal(&mut object_resource_version, identity.resource_version);
            involved.insert(
                "resourceVersion".into(),
                Value::from(object_resource_version),
            );
        }
        if !field_path.is_empty() {
            involved.insert("fieldPath".into(), Value::from(field_path.as_str()));
        }
        let mut metadata = Map::new();
        metadata.insert("name".into(), Value::from(event.name.as_str()));
        metadata.insert("namespace".into(), Value::from(event_namespace));
        metadata.insert("uid".into(), Value::from(event.uid.as_str()));
        metadata.insert(
            "resourceVersion".into(),
            Value::from(resource_version_text.as_str()),
        );
        let first_text = render::time_seconds(first_ms);
        metadata.insert("creationTimestamp".into(), Value::from(first_text.as_str()));
        let mut source = Map::new();
        source.insert("component".into(), Value::from(component));
        if !host.is_empty() {
            source.insert("host".into(), Value::from(host.as_str()));
        }
        let mut raw = Map::new();
        raw.insert("apiVersion".into(), Value::from("v1"));
        raw.insert("kind".into(), Value::from("Event"));
        raw.insert("metadata".into(), Value::Object(metadata));
        raw.insert("involvedObject".into(), Value::Object(involved));
        raw.insert("reason".into(), Value::from(template.reason));
        raw.insert("message".into(), Value::from(event.message.as_str()));
        raw.insert("source".into(), Value::Object(source));
        raw.insert("firstTimestamp".into(), Value::from(first_text));
        raw.insert(
            "lastTimestamp".into(),
            Value::from(render::time_seconds(time_ms)),
        );
        raw.insert("count".into(), Value::from(event.count));
        raw.insert("type".into(), Value::from(event_type));
        raw.insert("eventTime".into(), Value::Null);
        raw.insert("reportingComponent".into(), Value::from(component));
        raw.insert("reportingInstance".into(), Value::from(host.as_str()));

        let node = if object_kind == "Node" {
            identity.name.clone()
        } else if component == "kubelet" {
            host.clone()
        } else {
            String::new()
        };
        let category = classify(template.reason, &event.message, object_kind, component);
        EventRecord {
            seq: 0,
            cluster: CLUSTER_NAME.to_string(),
            namespace: event_namespace.to_string(),
            name: event.name.clone(),
            uid: event.uid.clone(),
            resource_version: resource_version_text,
            api_version: "v1".to_string(),
            object: ObjectRef {
                kind: object_kind.to_string(),
                namespace: identity.namespace.to_string(),
                name: identity.name,
                uid: object_uid,
                api_version: object_api_version.to_string(),
                field_path,
            },
            reason: template.reason.to_string(),
            message: event.message.clone(),
            event_type: event_type.to_string(),
            source_component: component.to_string(),
            source_host: host.clone(),
            reporting_controller: component.to_string(),
            reporting_instance: host,
            action: String::new(),
            time_ms,
            time_is_receipt: false,
            first_ms: first_ms.min(time_ms),
            count: event.count,
            occurrences: 0,
            category,
            node,
            raw: kec_model::RawJson::from_value(&Value::Object(raw)),
        }
    }
}

/// How many of `objects` indexes have `kind`.
fn count_of_kind(objects: u64, kind: Kind) -> u64 {
    let (first, width) = kind.residues();
    let full_blocks = objects / 100;
    let rest = objects % 100;
    full_blocks * width + rest.saturating_sub(first).min(width)
}

/// The index of the `ordinal`-th object of `kind`.
fn index_of_kind(kind: Kind, ordinal: u64) -> u64 {
    let (first, width) = kind.residues();
    ordinal / width * 100 + first + ordinal % width
}

fn node_name(ordinal: u64) -> String {
    let mut name = String::with_capacity(12);
    name.push_str("node-");
    render::push_decimal(&mut name, ordinal);
    name
}

#[cfg(test)]
// Tests may unwrap: a panic is how they fail.
#[allow(clippy::unwrap_used)]
mod tests {
    use std::collections::{BTreeMap, HashMap, HashSet};

    use kec_model::convert::ParsedLine;

    use super::*;

    fn small(events: u64, objects: u64) -> SyntheticConfig {
        SyntheticConfig {
            events,
            objects,
            ..SyntheticConfig::default()
        }
    }

    fn drain(load: &mut SyntheticLoad, batch: usize) -> Vec<EventRecord> {
        let mut all = Vec::new();
        while let Some(records) = load.next_batch(batch) {
            all.extend(records);
        }
        all
    }

    #[test]
    fn produces_exactly_the_events_in_time_order() {
        let config = small(25_003, 5_000);
        let mut load = SyntheticLoad::new(config.clone());
        let records = drain(&mut load, 1_000);
        assert_eq!(records.len(), 25_003);
        assert!(load.next_batch(10).is_none());
        assert!(
            records
                .windows(2)
                .all(|pair| pair[0].time_ms <= pair[1].time_ms)
        );
        let start_ms = config.end_ms - DAY_MS * 7;
        assert!(
            records
                .iter()
                .all(|record| (start_ms..config.end_ms).contains(&record.time_ms))
        );
        // Spread over the whole span, not bunched at one end.
        assert!(records[0].time_ms < start_ms + DAY_MS / 4);
        assert!(records[records.len() - 1].time_ms > config.end_ms - DAY_MS / 4);
        assert!(
            records
                .iter()
                .all(|record| record.first_ms <= record.time_ms)
        );
    }

    #[test]
    fn same_seed_same_load() {
        let first = drain(&mut SyntheticLoad::new(small(3_000, 1_000)), 128);
        let second = drain(&mut SyntheticLoad::new(small(3_000, 1_000)), 1_000);
        assert_eq!(first, second);
        let other = drain(
            &mut SyntheticLoad::new(SyntheticConfig {
                seed: 2,
                ..small(3_000, 1_000)
            }),
            1_000,
        );
        assert_ne!(first, other);
    }

    #[test]
    fn records_are_what_the_converter_makes_of_raw() {
        let mut load = SyntheticLoad::new(small(20_000, 3_000));
        let records = drain(&mut load, 4_096);
        let mut seen_templates = HashSet::new();
        for record in &records {
            seen_templates.insert((record.reason.clone(), record.object.kind.clone()));
            let converted = match kec_model::parse_line(
                record.raw.get().as_bytes(),
                CLUSTER_NAME,
                0,
            )
            .unwrap()
            {
                ParsedLine::Observation(observation) => observation.record,
                other => panic!("not an observation: {other:?}"),
            };
            assert_eq!(&converted, record);
        }
        assert!(seen_templates.len() >= 40, "{}", seen_templates.len());
        let raw_bytes: usize = records
            .iter()
            .map(|record| serde_json::to_vec(&record.raw).unwrap().len())
            .sum();
        let average = raw_bytes / records.len();
        assert!((600..=900).contains(&average), "average raw size {average}");
    }

    #[test]
    fn skew_and_shares_look_like_a_fleet() {
        let config = small(200_000, 20_000);
        let mut load = SyntheticLoad::new(config);
        let records = drain(&mut load, 10_000);
        let total = records.len() as f64;
        let warnings = records.iter().filter(|record| record.is_warning()).count() as f64;
        let warning_share = warnings / total;
        assert!(
            (0.10..=0.20).contains(&warning_share),
            "Warning share {warning_share}"
        );

        let word = load.rare_message_word();
        let with_word = records
            .iter()
            .filter(|record| record.message.contains(word))
            .count();
        let word_share = with_word as f64 / total;
        assert!(
            (0.005..=0.02).contains(&word_share),
            "{word} share {word_share}"
        );

        let reasons: HashSet<&str> = records
            .iter()
            .map(|record| record.reason.as_str())
            .collect();
        assert!(
            (35..=45).contains(&reasons.len()),
            "{} reasons",
            reasons.len()
        );

        // About 30 % of observations repeat an Event object.
        let mut per_uid: HashMap<&str, i64> = HashMap::new();
        for record in &records {
            let previous = per_uid.insert(record.uid.as_str(), record.count);
            assert_eq!(
                record.count,
                previous.unwrap_or(0) + 1,
                "count grows by one per uid"
            );
        }
        let repeat_share = 1.0 - per_uid.len() as f64 / total;
        assert!(
            (0.25..=0.35).contains(&repeat_share),
            "repeat share {repeat_share}"
        );

        // Zipf namespaces: the top namespace dwarfs the median one; ~50 in all.
        let mut per_namespace: BTreeMap<&str, usize> = BTreeMap::new();
        for record in &records {
            *per_namespace.entry(record.namespace.as_str()).or_default() += 1;
        }
        let mut sizes: Vec<usize> = per_namespace.values().copied().collect();
        sizes.sort_unstable_by(|a, b| b.cmp(a));
        assert!(sizes.len() >= 45, "{} namespaces", sizes.len());
        assert!(sizes[0] > 8 * sizes[sizes.len() / 2], "{sizes:?}");

        // Objects: mostly Pods, all four kinds, about as many as configured.
        let objects: HashSet<(&str, &str)> = records
            .iter()
            .map(|record| (record.object.kind.as_str(), record.object.uid.as_str()))
            .collect();
        let pods = objects.iter().filter(|(kind, _)| *kind == "Pod").count();
        assert!(pods as f64 > 0.8 * objects.len() as f64);
        for kind in [
            "Pod",
            "ReplicaSet",
            "Deployment",
            "Node",
            "HorizontalPodAutoscaler",
        ] {
            assert!(
                objects.iter().any(|(object_kind, _)| *object_kind == kind),
                "{kind}"
            );
        }
        assert!(
            objects.len() > 10_000 && objects.len() < 26_000,
            "{} objects",
            objects.len()
        );
        assert!(
            records
                .iter()
                .filter(|record| record.object.kind == "Node")
                .all(|record| record.namespace == "default" && record.object.namespace.is_empty())
        );

        // The busy pod has many Events.
        let (namespace, kind, name) = load.busy_object();
        let busy = records
            .iter()
            .filter(|record| {
                record.namespace == namespace
                    && record.object.kind == kind
                    && record.object.name == name
            })
            .count();
        assert!(busy > 300, "busy pod has {busy} events");
    }

    #[test]
    fn tiny_configurations_do_not_panic() {
        for (events, objects, days) in [
            (0, 0, 0),
            (1, 0, 0),
            (50, 1, 1),
            (500, 99, 0),
            (300, 150, 2),
        ] {
            let config = SyntheticConfig {
                events,
                objects,
                days,
                ..SyntheticConfig::default()
            };
            let mut load = SyntheticLoad::new(config);
            let records = drain(&mut load, 64);
            assert_eq!(records.len() as u64, events);
            assert!(load.next_batch(0).is_none());
            let _ = load.busy_object();
        }
        let mut load = SyntheticLoad::new(small(10, 10));
        assert_eq!(load.next_batch(0).map(|batch| batch.len()), Some(0));
    }

    #[test]
    fn kinds_partition_the_indexes() {
        for objects in [1_u64, 99, 100, 250, 12_345] {
            let total: u64 = [Kind::Pod, Kind::ReplicaSet, Kind::Deployment, Kind::Node]
                .into_iter()
                .map(|kind| {
                    let count = count_of_kind(objects, kind);
                    for ordinal in [0, count.saturating_sub(1)] {
                        if count > 0 {
                            let index = index_of_kind(kind, ordinal);
                            assert!(index < objects);
                            assert_eq!(Kind::of_index(index), kind);
                        }
                    }
                    count
                })
                .sum();
            assert_eq!(total, objects);
        }
    }
}
