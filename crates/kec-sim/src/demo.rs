//! A deterministic simulated cluster for `kec demo`: six worker nodes, a dozen Deployments in
//! `shop`, `payments`, `search`, `data`, `monitoring` and `kube-system`, CronJobs and
//! autoscalers making background noise, and incidents that play on a loop: rolling updates, a
//! crash loop, OOM kills, an unschedulable scale-up, a bad image tag, failing liveness probes, a
//! missing ConfigMap, a node going NotReady with its pods evicted and rescheduled, node memory
//! pressure, and node problems reported by node-problem-detector.
//!
//! The Events are hand-made, modelled on the messages kubelet, kube-scheduler, the
//! kube-controller-manager controllers and node-problem-detector write (their wording, their
//! Event shapes and their repeat behaviour); they were not recorded from a real cluster.
//!
//! What is faithful to a real API server, because kec's ingest path depends on it:
//! - one Event object per (object, reason, message, source): a repeat is a `MODIFIED` frame with
//!   `count + 1`, a new `lastTimestamp` and a new `resourceVersion`, like client-go's PATCH;
//! - Event names are `<object>.<UnixNano in hex>` and resourceVersions are one global counter
//!   that jumps, like etcd revisions;
//! - kube-scheduler writes through events.k8s.io/v1, so its Events read as core/v1 carry
//!   `eventTime`, `series`, `action` and `reportingComponent` but no `source`, no
//!   `firstTimestamp`/`lastTimestamp` and no `count`; its repeats are written only on the first
//!   repeat, every 30 minutes, and when the series ends (client-go's `tools/events` behaviour);
//! - kubelet, controllers and node-problem-detector write through client-go's core/v1 recorder,
//!   which since client-go 1.27 copies `source` into `reportingComponent`/`reportingInstance`;
//! - Events about a Node live in namespace `default` and carry no `involvedObject.namespace`;
//! - an Event object is forgotten one hour after its last write (the API server's event TTL),
//!   so a repeat after that starts a new object.

use std::cmp::Ordering;
use std::collections::{BinaryHeap, HashMap, HashSet, VecDeque};

use rand::rngs::SmallRng;
use rand::{Rng, SeedableRng};
use serde_json::{Map, Value};

use crate::render;

const SECOND_MS: i64 = 1_000;
const MINUTE_MS: i64 = 60 * SECOND_MS;
const HOUR_MS: i64 = 60 * MINUTE_MS;

/// The API server deletes an Event this long after its last write (`--event-ttl` default).
const EVENT_TTL_MS: i64 = HOUR_MS;
/// client-go `tools/events`: a series not observed for this long is written a last time and
/// dropped from the recorder's cache; the check runs on a ticker of the same period.
const SERIES_FINISH_MS: i64 = 6 * MINUTE_MS;
/// client-go `tools/events`: an ongoing series is written at most this often.
const SERIES_REFRESH_MS: i64 = 30 * MINUTE_MS;
/// kubelet's container restart and image pull back-off: 10 s doubling up to 5 minutes.
const BACK_OFF_START_MS: i64 = 10 * SECOND_MS;
const BACK_OFF_MAX_MS: i64 = 5 * MINUTE_MS;
/// Default `tolerationSeconds` for `node.kubernetes.io/unreachable` and `not-ready`.
const NOT_READY_TOLERATION_MS: i64 = 300 * SECOND_MS;

const CLUSTER_NAME: &str = "demo";
const WORKER_NODE_COUNT: usize = 6;
/// Control-plane nodes exist (the scheduler counts them) but host no workloads and send no Events.
const CONTROL_PLANE_NODE_COUNT: usize = 3;
const SCHEDULER_NAME: &str = "default-scheduler";
const SCHEDULER_INSTANCE: &str = "default-scheduler-control-plane-1";

/// A Deployment of the simulated cluster.
struct WorkloadSpec {
    namespace: &'static str,
    name: &'static str,
    container: &'static str,
    /// Image repository, without the tag.
    image: &'static str,
    tag: &'static str,
    replicas: usize,
    port: u16,
}

const WORKLOADS: &[WorkloadSpec] = &[
    WorkloadSpec {
        namespace: "shop",
        name: "web",
        container: "app",
        image: "registry.example.com/shop/web",
        tag: "v1.8.3",
        replicas: 3,
        port: 8080,
    },
    WorkloadSpec {
        namespace: "shop",
        name: "cart",
        container: "app",
        image: "registry.example.com/shop/cart",
        tag: "v2.3.0",
        replicas: 2,
        port: 8080,
    },
    WorkloadSpec {
        namespace: "shop",
        name: "checkout-api",
        container: "app",
        image: "registry.example.com/shop/checkout-api",
        tag: "v4.1.2",
        replicas: 2,
        port: 8080,
    },
    WorkloadSpec {
        namespace: "payments",
        name: "payments-api",
        container: "app",
        image: "registry.example.com/payments/payments-api",
        tag: "v3.0.7",
        replicas: 2,
        port: 8443,
    },
    WorkloadSpec {
        namespace: "payments",
        name: "fraud-scorer",
        container: "scorer",
        image: "registry.example.com/payments/fraud-scorer",
        tag: "v0.9.14",
        replicas: 2,
        port: 9000,
    },
    WorkloadSpec {
        namespace: "search",
        name: "search-api",
        container: "api",
        image: "registry.example.com/search/search-api",
        tag: "v5.2.0",
        replicas: 2,
        port: 8080,
    },
    WorkloadSpec {
        namespace: "search",
        name: "search-indexer",
        container: "indexer",
        image: "registry.example.com/search/indexer",
        tag: "v5.2.0",
        replicas: 1,
        port: 8081,
    },
    WorkloadSpec {
        namespace: "data",
        name: "etl-worker",
        container: "worker",
        image: "registry.example.com/data/etl-worker",
        tag: "v1.12.5",
        replicas: 2,
        port: 8080,
    },
    WorkloadSpec {
        namespace: "data",
        name: "kafka-connect",
        container: "connect",
        image: "docker.io/confluentinc/cp-kafka-connect",
        tag: "7.7.1",
        replicas: 1,
        port: 8083,
    },
    WorkloadSpec {
        namespace: "monitoring",
        name: "grafana",
        container: "grafana",
        image: "docker.io/grafana/grafana",
        tag: "11.3.0",
        replicas: 1,
        port: 3000,
    },
    WorkloadSpec {
        namespace: "monitoring",
        name: "kube-state-metrics",
        container: "kube-state-metrics",
        image: "registry.k8s.io/kube-state-metrics/kube-state-metrics",
        tag: "v2.13.0",
        replicas: 1,
        port: 8080,
    },
    WorkloadSpec {
        namespace: "kube-system",
        name: "coredns",
        container: "coredns",
        image: "registry.k8s.io/coredns/coredns",
        tag: "v1.11.3",
        replicas: 2,
        port: 8181,
    },
    WorkloadSpec {
        namespace: "monitoring",
        name: "alert-relay",
        container: "relay",
        image: "registry.example.com/monitoring/alert-relay",
        tag: "v0.2.1",
        replicas: 1,
        port: 8080,
    },
];

// Indexes into WORKLOADS that scenarios name.
const WEB: usize = 0;
const CART: usize = 1;
const CHECKOUT_API: usize = 2;
const PAYMENTS_API: usize = 3;
const FRAUD_SCORER: usize = 4;
const SEARCH_API: usize = 5;
const SEARCH_INDEXER: usize = 6;
const ETL_WORKER: usize = 7;
const KAFKA_CONNECT: usize = 8;
const GRAFANA: usize = 9;
const KUBE_STATE_METRICS: usize = 10;
const COREDNS: usize = 11;
const ALERT_RELAY: usize = 12;

/// Deployments that the rolling-update scenario takes turns updating (not the ones other
/// incidents hold on to, so that no incident reports on a pod a rollout has replaced).
const ROLLED_OUT: [usize; 6] = [
    WEB,
    CHECKOUT_API,
    FRAUD_SCORER,
    GRAFANA,
    COREDNS,
    KUBE_STATE_METRICS,
];
/// Deployments broken for good: their crash loops never end.
const CHRONIC_CRASH_LOOPS: [usize; 2] = [KAFKA_CONNECT, ALERT_RELAY];
/// Deployments with a HorizontalPodAutoscaler that keeps rescaling them.
const AUTOSCALED: [usize; 3] = [WEB, SEARCH_API, FRAUD_SCORER];

/// A CronJob of the simulated cluster; its runs are most of the background Normal noise.
struct CronJobSpec {
    namespace: &'static str,
    name: &'static str,
    container: &'static str,
    image: &'static str,
    every_minutes: i64,
    /// How long one run's pod works, in seconds.
    run_seconds: (i64, i64),
}

const CRON_JOBS: &[CronJobSpec] = &[
    CronJobSpec {
        namespace: "monitoring",
        name: "blackbox-sweep",
        container: "probe",
        image: "registry.example.com/monitoring/blackbox-sweep:v0.4.2",
        every_minutes: 1,
        run_seconds: (2, 9),
    },
    CronJobSpec {
        namespace: "monitoring",
        name: "synthetic-checkout",
        container: "k6",
        image: "docker.io/grafana/k6:0.54.0",
        every_minutes: 1,
        run_seconds: (15, 40),
    },
    CronJobSpec {
        namespace: "shop",
        name: "abandoned-cart-mailer",
        container: "mailer",
        image: "registry.example.com/shop/cart-mailer:v1.3.0",
        every_minutes: 1,
        run_seconds: (3, 12),
    },
    CronJobSpec {
        namespace: "data",
        name: "ingest-poller",
        container: "poller",
        image: "registry.example.com/data/ingest-poller:v2.0.1",
        every_minutes: 1,
        run_seconds: (4, 20),
    },
    CronJobSpec {
        namespace: "payments",
        name: "settlement-sync",
        container: "sync",
        image: "registry.example.com/payments/settlement-sync:v1.6.4",
        every_minutes: 1,
        run_seconds: (5, 25),
    },
    CronJobSpec {
        namespace: "search",
        name: "click-aggregator",
        container: "aggregator",
        image: "registry.example.com/search/click-aggregator:v0.7.0",
        every_minutes: 1,
        run_seconds: (6, 30),
    },
    CronJobSpec {
        namespace: "data",
        name: "cdc-snapshot",
        container: "snapshot",
        image: "registry.example.com/data/cdc-snapshot:v3.1.0",
        every_minutes: 1,
        run_seconds: (5, 35),
    },
    CronJobSpec {
        namespace: "monitoring",
        name: "uptime-checker",
        container: "checker",
        image: "registry.example.com/monitoring/uptime-checker:v1.1.0",
        every_minutes: 1,
        run_seconds: (2, 8),
    },
    CronJobSpec {
        namespace: "shop",
        name: "inventory-sync",
        container: "sync",
        image: "registry.example.com/shop/inventory-sync:v3.4.2",
        every_minutes: 1,
        run_seconds: (6, 28),
    },
    CronJobSpec {
        namespace: "payments",
        name: "fx-rates-refresh",
        container: "refresh",
        image: "registry.example.com/payments/fx-rates:v0.8.5",
        every_minutes: 1,
        run_seconds: (2, 6),
    },
    CronJobSpec {
        namespace: "data",
        name: "quality-checks",
        container: "checks",
        image: "registry.example.com/data/quality-checks:v1.9.0",
        every_minutes: 1,
        run_seconds: (8, 40),
    },
    CronJobSpec {
        namespace: "search",
        name: "suggest-refresh",
        container: "refresh",
        image: "registry.example.com/search/suggest-refresh:v2.0.3",
        every_minutes: 2,
        run_seconds: (10, 45),
    },
    CronJobSpec {
        namespace: "shop",
        name: "price-feed-import",
        container: "importer",
        image: "registry.example.com/shop/price-feed:v2.2.9",
        every_minutes: 2,
        run_seconds: (10, 45),
    },
    CronJobSpec {
        namespace: "payments",
        name: "ledger-reconcile",
        container: "reconcile",
        image: "registry.example.com/payments/ledger-reconcile:v1.0.3",
        every_minutes: 5,
        run_seconds: (20, 50),
    },
    CronJobSpec {
        namespace: "shop",
        name: "cache-warmer",
        container: "warmer",
        image: "registry.example.com/shop/cache-warmer:v0.3.1",
        every_minutes: 5,
        run_seconds: (8, 30),
    },
    CronJobSpec {
        namespace: "search",
        name: "index-compactor",
        container: "compactor",
        image: "registry.example.com/search/indexer:v5.2.0",
        every_minutes: 10,
        run_seconds: (20, 55),
    },
    CronJobSpec {
        namespace: "data",
        name: "report-builder",
        container: "builder",
        image: "registry.example.com/data/report-builder:v2.4.0",
        every_minutes: 15,
        run_seconds: (25, 55),
    },
    CronJobSpec {
        namespace: "kube-system",
        name: "etcd-backup",
        container: "backup",
        image: "registry.k8s.io/etcd:3.5.16-0",
        every_minutes: 30,
        run_seconds: (10, 40),
    },
    CronJobSpec {
        namespace: "data",
        name: "etl-hourly",
        container: "etl",
        image: "registry.example.com/data/etl-worker:v1.12.5",
        every_minutes: 60,
        run_seconds: (30, 58),
    },
];

/// How many finished Jobs a CronJob keeps (`successfulJobsHistoryLimit` default).
const JOB_HISTORY_LIMIT: usize = 3;

/// The object an Event is about, as its reporter references it.
#[derive(Debug, Clone)]
struct InvolvedObject {
    kind: &'static str,
    /// Empty for cluster-scoped objects (Nodes).
    namespace: String,
    name: String,
    /// Empty when the reporter does not set it (the taint eviction controller).
    uid: String,
    /// Empty when the reporter does not set it (kubelet's and NPD's Node reference).
    api_version: &'static str,
    resource_version: String,
    field_path: String,
}

/// Who writes an Event, which decides its shape.
#[derive(Debug, Clone)]
enum Reporter {
    /// client-go's `tools/record` (kubelet, controllers, node-problem-detector): `source`,
    /// `firstTimestamp`/`lastTimestamp`, `count`, and since client-go 1.27 the reporting fields.
    Record {
        component: &'static str,
        host: String,
    },
    /// client-go's `tools/events`, writing events.k8s.io/v1 (kube-scheduler).
    EventsApi { action: &'static str },
}

/// One thing happening, before it is folded into an Event object.
#[derive(Debug, Clone)]
struct Occurrence {
    object: InvolvedObject,
    reason: &'static str,
    message: String,
    warning: bool,
    reporter: Reporter,
}

impl Occurrence {
    /// The recorders' aggregation key: same object, reason, message and source means the same
    /// Event object.
    fn key(&self) -> String {
        let component = match &self.reporter {
            Reporter::Record { component, .. } => component,
            Reporter::EventsApi { .. } => SCHEDULER_NAME,
        };
        let mut key = String::with_capacity(
            self.object.uid.len() + self.object.name.len() + self.message.len() + 64,
        );
        for part in [
            self.object.kind,
            &self.object.namespace,
            &self.object.name,
            &self.object.uid,
            &self.object.field_path,
            self.reason,
            &self.message,
            component,
        ] {
            key.push_str(part);
            key.push('\u{1f}');
        }
        key
    }
}

/// An Event object the simulated API server holds.
#[derive(Debug)]
struct LiveEvent {
    name: String,
    namespace: String,
    uid: String,
    occurrence: Occurrence,
    first_ms: i64,
    /// Sub-millisecond part of `eventTime` (events.k8s.io Events have microseconds).
    first_extra_micros: u32,
    last_ms: i64,
    /// Occurrences so far, written or not.
    count: u64,
    /// `count` as last written to the API server.
    written_count: u64,
    last_written_ms: i64,
}

/// What the simulation does at a point in time.
#[derive(Debug)]
enum Action {
    Start(Scenario),
    Occur(Box<Occurrence>),
    /// client-go `tools/events` ticker: refresh or finish one series (by aggregation key).
    FlushSeries(String),
    /// A NotReady node comes back and may host pods again.
    NodeRecovered(usize),
}

#[derive(Debug)]
struct Pending {
    at_ms: i64,
    /// Tie-breaker: actions at the same millisecond run in the order they were planned.
    sequence: u64,
    action: Action,
}

impl PartialEq for Pending {
    fn eq(&self, other: &Self) -> bool {
        self.at_ms == other.at_ms && self.sequence == other.sequence
    }
}

impl Eq for Pending {}

impl PartialOrd for Pending {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for Pending {
    /// Reversed, so that `BinaryHeap` (a max-heap) pops the earliest action first.
    fn cmp(&self, other: &Self) -> Ordering {
        (other.at_ms, other.sequence).cmp(&(self.at_ms, self.sequence))
    }
}

/// The loops the simulation plays.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Scenario {
    RollingUpdate,
    CrashLoop,
    OomKill,
    Unschedulable,
    ImagePullFailure,
    LivenessFailure,
    MissingConfigMap,
    NodeNotReady,
    MemoryPressure,
    NodeProblem,
    /// A long-broken pod that nobody fixes: the steady Warning noise every real cluster has.
    ChronicCrashLoop(usize),
    /// A pod whose readiness probe times out now and then.
    FlakyReadiness,
    /// An HPA whose metrics come and go: FailedGetResourceMetric bursts.
    FlakyMetrics,
    CronJob(usize),
    Autoscale(usize),
}

impl Scenario {
    /// Incidents in the order they first play, a few minutes apart, so that every one of them
    /// has shown within the first hour of a demo.
    const INCIDENTS: [Scenario; 10] = [
        Scenario::RollingUpdate,
        Scenario::CrashLoop,
        Scenario::ImagePullFailure,
        Scenario::Unschedulable,
        Scenario::LivenessFailure,
        Scenario::OomKill,
        Scenario::MissingConfigMap,
        Scenario::NodeProblem,
        Scenario::MemoryPressure,
        Scenario::NodeNotReady,
    ];

    /// Minutes between two starts of the loop (low and high bound).
    fn period_minutes(self) -> (i64, i64) {
        match self {
            Scenario::RollingUpdate => (20, 35),
            Scenario::CrashLoop => (55, 75),
            Scenario::OomKill => (45, 65),
            Scenario::Unschedulable => (50, 80),
            Scenario::ImagePullFailure => (40, 60),
            Scenario::LivenessFailure => (30, 45),
            Scenario::MissingConfigMap => (45, 70),
            Scenario::NodeNotReady => (100, 140),
            Scenario::MemoryPressure => (70, 100),
            Scenario::NodeProblem => (15, 25),
            Scenario::ChronicCrashLoop(_) => (5, 5),
            Scenario::FlakyReadiness => (15, 30),
            Scenario::FlakyMetrics => (20, 40),
            Scenario::CronJob(index) => {
                let every = CRON_JOBS
                    .get(index)
                    .map_or(1, |cron_job| cron_job.every_minutes);
                (every, every)
            }
            Scenario::Autoscale(_) => (4, 9),
        }
    }
}

#[derive(Debug, Clone)]
struct NodeState {
    name: String,
    uid: String,
    resource_version: String,
    /// Images already pulled onto this node (kubelet then reports "already present").
    images: HashSet<String>,
}

#[derive(Debug, Clone)]
struct Pod {
    namespace: &'static str,
    name: String,
    uid: String,
    resource_version: String,
    node: usize,
    container: &'static str,
    image: String,
    ip: String,
}

#[derive(Debug, Clone)]
struct ReplicaSet {
    name: String,
    uid: String,
    resource_version: String,
}

#[derive(Debug)]
struct WorkloadState {
    deployment_uid: String,
    deployment_resource_version: String,
    hpa_uid: String,
    tag: String,
    replica_set: ReplicaSet,
    pods: Vec<Pod>,
}

#[derive(Debug)]
struct CronJobState {
    uid: String,
    resource_version: String,
    /// Names of finished Jobs still kept, oldest first.
    finished_jobs: VecDeque<String>,
}

/// A simulated cluster producing core/v1 Event watch frames in simulated time.
pub struct DemoCluster {
    rng: SmallRng,
    /// Simulated time up to which frames have been produced.
    clock_ms: i64,
    /// Time of the action being run: nothing may be planned before it.
    now_ms: i64,
    resource_version: u64,
    sequence: u64,
    pending: BinaryHeap<Pending>,
    live_events: HashMap<String, LiveEvent>,
    /// Simulated time of the last sweep of expired Events.
    swept_ms: i64,
    occurrences_produced: u64,
    nodes: Vec<NodeState>,
    node_down: Option<usize>,
    workloads: Vec<WorkloadState>,
    cron_jobs: Vec<CronJobState>,
    rollouts_started: usize,
    node_outages_started: usize,
    node_problems_started: usize,
}

impl DemoCluster {
    /// `seed` makes everything deterministic; `start_ms` is epoch milliseconds of simulated start.
    pub fn new(seed: u64, start_ms: i64) -> DemoCluster {
        let mut rng = SmallRng::seed_from_u64(seed);
        let mut resource_version = rng.random_range(3_000_000..9_000_000_u64);
        let mut next_resource_version = |rng: &mut SmallRng| {
            resource_version += rng.random_range(1..=40_u64);
            resource_version.to_string()
        };
        let nodes = (1..=WORKER_NODE_COUNT)
            .map(|number| NodeState {
                name: format!("node-{number}"),
                uid: render::uuid(&mut rng),
                resource_version: next_resource_version(&mut rng),
                images: HashSet::new(),
            })
            .collect::<Vec<_>>();
        let mut workloads = Vec::with_capacity(WORKLOADS.len());
        for (index, spec) in WORKLOADS.iter().enumerate() {
            let replica_set = ReplicaSet {
                name: format!("{}-{}", spec.name, render::token(&mut rng, 9 + index % 2)),
                uid: render::uuid(&mut rng),
                resource_version: next_resource_version(&mut rng),
            };
            let image = format!("{}:{}", spec.image, spec.tag);
            let pods = (0..spec.replicas)
                .map(|replica| {
                    let node = (index * 2 + replica * 3) % WORKER_NODE_COUNT;
                    Pod {
                        namespace: spec.namespace,
                        name: format!("{}-{}", replica_set.name, render::token(&mut rng, 5)),
                        uid: render::uuid(&mut rng),
                        resource_version: next_resource_version(&mut rng),
                        node,
                        container: spec.container,
                        image: image.clone(),
                        ip: format!("10.244.{}.{}", node + 1, rng.random_range(2..250_u32)),
                    }
                })
                .collect();
            workloads.push(WorkloadState {
                deployment_uid: render::uuid(&mut rng),
                deployment_resource_version: next_resource_version(&mut rng),
                hpa_uid: render::uuid(&mut rng),
                tag: spec.tag.to_string(),
                replica_set,
                pods,
            });
        }
        let cron_jobs = CRON_JOBS
            .iter()
            .map(|_| CronJobState {
                uid: render::uuid(&mut rng),
                resource_version: next_resource_version(&mut rng),
                finished_jobs: VecDeque::new(),
            })
            .collect();
        let mut cluster = DemoCluster {
            rng,
            clock_ms: start_ms,
            now_ms: start_ms,
            resource_version,
            sequence: 0,
            pending: BinaryHeap::new(),
            live_events: HashMap::new(),
            swept_ms: start_ms,
            occurrences_produced: 0,
            nodes,
            node_down: None,
            workloads,
            cron_jobs,
            rollouts_started: 0,
            node_outages_started: 0,
            node_problems_started: 0,
        };
        // Every node already runs the images of its pods.
        for workload in &cluster.workloads {
            for pod in &workload.pods {
                if let Some(node) = cluster.nodes.get_mut(pod.node) {
                    node.images.insert(pod.image.clone());
                }
            }
        }
        cluster.plan_first_starts(start_ms);
        cluster
    }

    /// Name of the simulated cluster, e.g. "demo".
    pub fn cluster_name(&self) -> &str {
        CLUSTER_NAME
    }

    /// Advances simulated time to `now_ms` and returns the watch frames produced since the last
    /// call, in time order: each is `{"type":"ADDED"|"MODIFIED","object": <core/v1 Event JSON>}`.
    ///
    /// The frames do not depend on how time is stepped: one call over six hours returns the
    /// same frames as many short calls (which also keep memory low: a frame is a few KB of
    /// JSON, and six hours are ~50,000 frames). A `now_ms` in the past returns nothing.
    pub fn advance_to(&mut self, now_ms: i64) -> Vec<Value> {
        let mut frames = Vec::new();
        while self.pending.peek().is_some_and(|next| next.at_ms <= now_ms) {
            let Some(next) = self.pending.pop() else {
                break;
            };
            self.now_ms = self.now_ms.max(next.at_ms);
            self.run(next.action, &mut frames);
            // Also inside the loop, so that one long call (a backfill) stays bounded too.
            self.forget_expired_events();
        }
        self.clock_ms = self.clock_ms.max(now_ms);
        self.now_ms = self.now_ms.max(self.clock_ms);
        self.forget_expired_events();
        frames
    }

    /// Total occurrences produced so far (ground truth: sum over Event objects of their final
    /// count, as written to the watch).
    pub fn occurrences_produced(&self) -> u64 {
        self.occurrences_produced
    }

    // ----- the event loop -----

    fn plan_first_starts(&mut self, start_ms: i64) {
        for (position, scenario) in Scenario::INCIDENTS.into_iter().enumerate() {
            let offset = 2 * MINUTE_MS
                + i64::try_from(position).unwrap_or(0) * 4 * MINUTE_MS
                + self.rng.random_range(0..2 * MINUTE_MS);
            self.plan(start_ms + offset, Action::Start(scenario));
        }
        for index in 0..CHRONIC_CRASH_LOOPS.len() {
            let offset = self.rng.random_range(0..5 * MINUTE_MS);
            self.plan(
                start_ms + offset,
                Action::Start(Scenario::ChronicCrashLoop(index)),
            );
        }
        let readiness_offset = self.rng.random_range(0..10 * MINUTE_MS);
        self.plan(
            start_ms + readiness_offset,
            Action::Start(Scenario::FlakyReadiness),
        );
        let flaky_offset = self.rng.random_range(5 * MINUTE_MS..15 * MINUTE_MS);
        self.plan(
            start_ms + flaky_offset,
            Action::Start(Scenario::FlakyMetrics),
        );
        for (index, cron_job) in CRON_JOBS.iter().enumerate() {
            let first_run = next_schedule(start_ms, cron_job.every_minutes);
            self.plan(first_run, Action::Start(Scenario::CronJob(index)));
        }
        for index in 0..AUTOSCALED.len() {
            let offset = self.rng.random_range(MINUTE_MS..5 * MINUTE_MS);
            self.plan(start_ms + offset, Action::Start(Scenario::Autoscale(index)));
        }
    }

    fn plan(&mut self, at_ms: i64, action: Action) {
        self.sequence += 1;
        // Nothing may happen in the past of what already happened: frames stay in time order.
        let at_ms = at_ms.max(self.now_ms);
        self.pending.push(Pending {
            at_ms,
            sequence: self.sequence,
            action,
        });
    }

    fn occur(&mut self, at_ms: i64, occurrence: Occurrence) {
        self.plan(at_ms, Action::Occur(Box::new(occurrence)));
    }

    fn run(&mut self, action: Action, frames: &mut Vec<Value>) {
        match action {
            Action::Start(scenario) => self.start(scenario),
            Action::Occur(occurrence) => self.record(*occurrence, frames),
            Action::FlushSeries(key) => self.flush_series(key, frames),
            Action::NodeRecovered(node) => {
                if self.node_down == Some(node) {
                    self.node_down = None;
                }
            }
        }
    }

    fn start(&mut self, scenario: Scenario) {
        let at = self.now_ms;
        match scenario {
            Scenario::RollingUpdate => self.play_rolling_update(at),
            Scenario::CrashLoop => self.play_crash_loop(at),
            Scenario::OomKill => self.play_oom_kill(at),
            Scenario::Unschedulable => self.play_unschedulable(at),
            Scenario::ImagePullFailure => self.play_image_pull_failure(at),
            Scenario::LivenessFailure => self.play_liveness_failure(at),
            Scenario::MissingConfigMap => self.play_missing_config_map(at),
            Scenario::NodeNotReady => self.play_node_not_ready(at),
            Scenario::MemoryPressure => self.play_memory_pressure(at),
            Scenario::NodeProblem => self.play_node_problem(at),
            Scenario::ChronicCrashLoop(index) => self.play_chronic_crash_loop(at, index),
            Scenario::FlakyReadiness => self.play_flaky_readiness(at),
            Scenario::FlakyMetrics => self.play_flaky_metrics(at),
            Scenario::CronJob(index) => self.play_cron_job_run(at, index),
            Scenario::Autoscale(index) => self.play_autoscale(at, index),
        }
        let next = match scenario {
            // CronJobs run on their schedule, not after a random pause.
            Scenario::CronJob(index) => {
                let every = CRON_JOBS
                    .get(index)
                    .map_or(1, |cron_job| cron_job.every_minutes);
                next_schedule(at + 1, every)
            }
            _ => {
                let (low, high) = scenario.period_minutes();
                at + self.rng.random_range(low * MINUTE_MS..=high * MINUTE_MS)
            }
        };
        self.plan(next, Action::Start(scenario));
    }

    fn next_resource_version(&mut self) -> u64 {
        // Other kinds, leases and status updates write to etcd too: revisions jump.
        self.resource_version += self.rng.random_range(1..=40_u64);
        self.resource_version
    }

    /// Folds one occurrence into its Event object and writes it when its recorder would.
    fn record(&mut self, occurrence: Occurrence, frames: &mut Vec<Value>) {
        let at = self.now_ms;
        let key = occurrence.key();
        let existing = self.live_events.remove(&key);
        match occurrence.reporter {
            Reporter::Record { .. } => {
                let live = match existing {
                    // The PATCH of a repeat: count + 1, new lastTimestamp.
                    Some(mut live) if at - live.last_written_ms < EVENT_TTL_MS => {
                        live.count += 1;
                        live.last_ms = at;
                        self.write(&mut live, "MODIFIED", frames);
                        live
                    }
                    // New, or expired from the API server: a new Event object.
                    _ => {
                        let mut live = self.new_live_event(occurrence, at);
                        self.write(&mut live, "ADDED", frames);
                        live
                    }
                };
                self.live_events.insert(key, live);
            }
            Reporter::EventsApi { .. } => {
                let live = match existing {
                    Some(mut live) => {
                        live.count += 1;
                        live.last_ms = at;
                        // The first repeat starts the series and is written at once; later
                        // repeats wait for the refresh or finish ticker.
                        if live.count == 2 {
                            self.write(&mut live, "MODIFIED", frames);
                        }
                        live
                    }
                    None => {
                        let mut live = self.new_live_event(occurrence, at);
                        self.write(&mut live, "ADDED", frames);
                        let first_tick =
                            at + SERIES_FINISH_MS + self.rng.random_range(0..SERIES_FINISH_MS);
                        self.plan(first_tick, Action::FlushSeries(key.clone()));
                        live
                    }
                };
                self.live_events.insert(key, live);
            }
        }
    }

    fn flush_series(&mut self, key: String, frames: &mut Vec<Value>) {
        let at = self.now_ms;
        let Some(mut live) = self.live_events.remove(&key) else {
            return;
        };
        let unwritten = live.count > live.written_count;
        if at - live.last_ms >= SERIES_FINISH_MS {
            // Finished: written a last time if it grew, then forgotten by the recorder.
            if unwritten {
                self.write(&mut live, "MODIFIED", frames);
            }
            return;
        }
        if unwritten && at - live.last_written_ms >= SERIES_REFRESH_MS {
            self.write(&mut live, "MODIFIED", frames);
        }
        self.live_events.insert(key.clone(), live);
        self.plan(at + SERIES_FINISH_MS, Action::FlushSeries(key));
    }

    fn new_live_event(&mut self, occurrence: Occurrence, at: i64) -> LiveEvent {
        let extra_nanos = self.rng.random_range(0..1_000_000_i64);
        let unix_nanos = at.saturating_mul(1_000_000).saturating_add(extra_nanos);
        let namespace = if occurrence.object.namespace.is_empty() {
            // The API server accepts an Event about a cluster-scoped object only in `default`.
            "default".to_string()
        } else {
            occurrence.object.namespace.clone()
        };
        LiveEvent {
            name: render::event_name(&occurrence.object.name, unix_nanos),
            namespace,
            uid: render::uuid(&mut self.rng),
            occurrence,
            first_ms: at,
            first_extra_micros: u32::try_from(extra_nanos / 1_000).unwrap_or(0),
            last_ms: at,
            count: 1,
            written_count: 0,
            last_written_ms: at,
        }
    }

    fn write(&mut self, live: &mut LiveEvent, frame_type: &str, frames: &mut Vec<Value>) {
        let resource_version = self.next_resource_version();
        self.occurrences_produced += live.count.saturating_sub(live.written_count);
        live.written_count = live.count;
        live.last_written_ms = self.now_ms;
        let mut frame = Map::new();
        frame.insert("type".into(), Value::from(frame_type));
        frame.insert("object".into(), event_json(live, resource_version));
        frames.push(Value::Object(frame));
    }

    /// Drops Event objects the API server has deleted (TTL), at most once a simulated minute.
    ///
    /// Output does not depend on when this runs: a lookup treats an expired Event as gone.
    fn forget_expired_events(&mut self) {
        if self.now_ms - self.swept_ms < MINUTE_MS {
            return;
        }
        self.swept_ms = self.now_ms;
        let oldest_alive = self.now_ms - EVENT_TTL_MS;
        // Series are dropped by their own ticker (which may still have to write them).
        self.live_events.retain(|_, live| {
            matches!(live.occurrence.reporter, Reporter::EventsApi { .. })
                || live.last_written_ms >= oldest_alive
        });
    }

    // ----- references and reporters -----

    fn random_between(&mut self, at: i64, low_ms: i64, high_ms: i64) -> i64 {
        at + self.rng.random_range(low_ms..=high_ms)
    }

    fn node_name(&self, node: usize) -> String {
        self.nodes
            .get(node)
            .map(|state| state.name.clone())
            .unwrap_or_default()
    }

    fn kubelet(&self, node: usize) -> Reporter {
        Reporter::Record {
            component: "kubelet",
            host: self.node_name(node),
        }
    }

    fn node_problem_detector(&self, monitor: &'static str, node: usize) -> Reporter {
        Reporter::Record {
            component: monitor,
            host: self.node_name(node),
        }
    }

    fn controller(component: &'static str) -> Reporter {
        Reporter::Record {
            component,
            host: String::new(),
        }
    }

    /// kubelet and node-problem-detector reference a Node by name, with the name as uid.
    fn node_by_name(&self, node: usize) -> InvolvedObject {
        let name = self.node_name(node);
        InvolvedObject {
            kind: "Node",
            namespace: String::new(),
            uid: name.clone(),
            name,
            api_version: "",
            resource_version: String::new(),
            field_path: String::new(),
        }
    }

    /// The node lifecycle controller references the Node object itself.
    fn node_object(&self, node: usize) -> InvolvedObject {
        let (name, uid, resource_version) = self
            .nodes
            .get(node)
            .map(|state| {
                (
                    state.name.clone(),
                    state.uid.clone(),
                    state.resource_version.clone(),
                )
            })
            .unwrap_or_default();
        InvolvedObject {
            kind: "Node",
            namespace: String::new(),
            name,
            uid,
            api_version: "v1",
            resource_version,
            field_path: String::new(),
        }
    }

    fn deployment_object(&self, workload: usize) -> InvolvedObject {
        let spec = &WORKLOADS[workload % WORKLOADS.len()];
        let state = &self.workloads[workload % self.workloads.len()];
        InvolvedObject {
            kind: "Deployment",
            namespace: spec.namespace.to_string(),
            name: spec.name.to_string(),
            uid: state.deployment_uid.clone(),
            api_version: "apps/v1",
            resource_version: state.deployment_resource_version.clone(),
            field_path: String::new(),
        }
    }

    fn replica_set_object(namespace: &str, replica_set: &ReplicaSet) -> InvolvedObject {
        InvolvedObject {
            kind: "ReplicaSet",
            namespace: namespace.to_string(),
            name: replica_set.name.clone(),
            uid: replica_set.uid.clone(),
            api_version: "apps/v1",
            resource_version: replica_set.resource_version.clone(),
            field_path: String::new(),
        }
    }

    fn pod_object(pod: &Pod, about_container: bool) -> InvolvedObject {
        InvolvedObject {
            kind: "Pod",
            namespace: pod.namespace.to_string(),
            name: pod.name.clone(),
            uid: pod.uid.clone(),
            api_version: "v1",
            resource_version: pod.resource_version.clone(),
            field_path: if about_container {
                format!("spec.containers{{{}}}", pod.container)
            } else {
                String::new()
            },
        }
    }

    /// An Event from the kubelet of the pod's node.
    fn kubelet_event(
        &self,
        pod: &Pod,
        about_container: bool,
        reason: &'static str,
        message: String,
        warning: bool,
    ) -> Occurrence {
        Occurrence {
            object: Self::pod_object(pod, about_container),
            reason,
            message,
            warning,
            reporter: self.kubelet(pod.node),
        }
    }

    fn controller_event(
        object: InvolvedObject,
        component: &'static str,
        reason: &'static str,
        message: String,
        warning: bool,
    ) -> Occurrence {
        Occurrence {
            object,
            reason,
            message,
            warning,
            reporter: Self::controller(component),
        }
    }

    fn scheduler_event(
        pod: &Pod,
        action: &'static str,
        reason: &'static str,
        message: String,
        warning: bool,
    ) -> Occurrence {
        Occurrence {
            object: Self::pod_object(pod, false),
            reason,
            message,
            warning,
            reporter: Reporter::EventsApi { action },
        }
    }

    // ----- building blocks -----

    /// A worker node that can take a new pod, avoiding the one that is down and `avoid`.
    fn pick_node(&mut self, avoid: Option<usize>) -> usize {
        for _ in 0..16 {
            let node = self.rng.random_range(0..WORKER_NODE_COUNT);
            if Some(node) != self.node_down && Some(node) != avoid {
                return node;
            }
        }
        (0..WORKER_NODE_COUNT)
            .find(|node| Some(*node) != self.node_down && Some(*node) != avoid)
            .unwrap_or(0)
    }

    fn new_pod(
        &mut self,
        namespace: &'static str,
        owner_name: &str,
        container: &'static str,
        image: String,
        avoid: Option<usize>,
    ) -> Pod {
        let node = self.pick_node(avoid);
        let name = format!("{owner_name}-{}", render::token(&mut self.rng, 5));
        let uid = render::uuid(&mut self.rng);
        let resource_version = self.next_resource_version().to_string();
        let ip = format!("10.244.{}.{}", node + 1, self.rng.random_range(2..250_u32));
        Pod {
            namespace,
            name,
            uid,
            resource_version,
            node,
            container,
            image,
            ip,
        }
    }

    fn new_replica_set(&mut self, deployment_name: &str) -> ReplicaSet {
        let hash_length = self.rng.random_range(9..=10);
        ReplicaSet {
            name: format!(
                "{deployment_name}-{}",
                render::token(&mut self.rng, hash_length)
            ),
            uid: render::uuid(&mut self.rng),
            resource_version: self.next_resource_version().to_string(),
        }
    }

    /// Scheduled, image pull (or cache hit), Created, Started. Returns when the container runs.
    fn plan_pod_start(&mut self, at: i64, pod: &Pod) -> i64 {
        let mut t = self.random_between(at, 30, 400);
        let node_name = self.node_name(pod.node);
        self.occur(
            t,
            Self::scheduler_event(
                pod,
                "Binding",
                "Scheduled",
                format!(
                    "Successfully assigned {}/{} to {node_name}",
                    pod.namespace, pod.name
                ),
                false,
            ),
        );
        t = self.random_between(t, 300, 1_500);
        t = self.plan_image(t, pod);
        self.plan_container_start(t, pod)
    }

    /// The kubelet gets the pod's image: a pull the first time on a node, a cache hit after.
    fn plan_image(&mut self, at: i64, pod: &Pod) -> i64 {
        let already_present = self
            .nodes
            .get(pod.node)
            .is_some_and(|node| node.images.contains(&pod.image));
        if already_present {
            let message = format!(
                "Container image \"{}\" already present on machine",
                pod.image
            );
            self.occur(at, self.kubelet_event(pod, true, "Pulled", message, false));
            return at;
        }
        self.occur(
            at,
            self.kubelet_event(
                pod,
                true,
                "Pulling",
                format!("Pulling image \"{}\"", pod.image),
                false,
            ),
        );
        let pull_ms = self.rng.random_range(800..9_000);
        let waiting_ms = pull_ms + self.rng.random_range(0..40);
        let image_bytes = self.rng.random_range(18_000_000..420_000_000_u64);
        let message = format!(
            "Successfully pulled image \"{}\" in {} ({} including waiting). Image size: {image_bytes} bytes.",
            pod.image,
            go_duration(pull_ms),
            go_duration(waiting_ms),
        );
        let done = at + waiting_ms;
        self.occur(
            done,
            self.kubelet_event(pod, true, "Pulled", message, false),
        );
        if let Some(node) = self.nodes.get_mut(pod.node) {
            node.images.insert(pod.image.clone());
        }
        done
    }

    /// Created and Started, after the image is there. Returns when the container runs.
    fn plan_container_start(&mut self, at: i64, pod: &Pod) -> i64 {
        let created = self.random_between(at, 40, 300);
        let message = format!("Created container: {}", pod.container);
        self.occur(
            created,
            self.kubelet_event(pod, true, "Created", message, false),
        );
        let started = self.random_between(created, 60, 500);
        let message = format!("Started container {}", pod.container);
        self.occur(
            started,
            self.kubelet_event(pod, true, "Started", message, false),
        );
        started
    }

    /// A restart of a container whose image is on the node: Pulled (cache hit), Created, Started.
    fn plan_container_restart(&mut self, at: i64, pod: &Pod) -> i64 {
        let message = format!(
            "Container image \"{}\" already present on machine",
            pod.image
        );
        self.occur(at, self.kubelet_event(pod, true, "Pulled", message, false));
        self.plan_container_start(at, pod)
    }

    /// The kubelet's BackOff Events while a container waits out `back_off_ms`, from `at`.
    fn plan_crash_back_off(&mut self, at: i64, back_off_ms: i64, pod: &Pod) {
        let message = format!(
            "Back-off restarting failed container {} in pod {}_{}({})",
            pod.container, pod.name, pod.namespace, pod.uid
        );
        let resume = at + back_off_ms;
        let mut tick = self.random_between(at, 500, 2_000);
        while tick < resume {
            self.occur(
                tick,
                self.kubelet_event(pod, true, "BackOff", message.clone(), true),
            );
            tick = self.random_between(tick, 8_000, 22_000);
        }
    }

    fn plan_killing(&mut self, at: i64, pod: &Pod) {
        let message = format!("Stopping container {}", pod.container);
        self.occur(at, self.kubelet_event(pod, true, "Killing", message, false));
    }

    /// The ReplicaSet controller creates a replacement pod for `workload` and it starts.
    /// Returns the new pod.
    fn plan_replacement_pod(&mut self, at: i64, workload: usize, avoid: Option<usize>) -> Pod {
        let spec = &WORKLOADS[workload];
        let state = &self.workloads[workload];
        let replica_set = state.replica_set.clone();
        let image = format!("{}:{}", spec.image, state.tag);
        let pod = self.new_pod(
            spec.namespace,
            &replica_set.name,
            spec.container,
            image,
            avoid,
        );
        self.occur(
            at,
            Self::controller_event(
                Self::replica_set_object(spec.namespace, &replica_set),
                "replicaset-controller",
                "SuccessfulCreate",
                format!("Created pod: {}", pod.name),
                false,
            ),
        );
        self.plan_pod_start(at, &pod);
        pod
    }

    fn scaling_event(
        &self,
        workload: usize,
        replica_set_name: &str,
        from: usize,
        to: usize,
    ) -> Occurrence {
        let direction = if to > from { "up" } else { "down" };
        Self::controller_event(
            self.deployment_object(workload),
            "deployment-controller",
            "ScalingReplicaSet",
            format!("Scaled {direction} replica set {replica_set_name} from {from} to {to}"),
            false,
        )
    }

    /// Where the pod runs now, in (workload, pod index) form.
    fn pods_on_node(&self, node: usize) -> Vec<(usize, usize)> {
        let mut found = Vec::new();
        for (workload, state) in self.workloads.iter().enumerate() {
            for (index, pod) in state.pods.iter().enumerate() {
                if pod.node == node {
                    found.push((workload, index));
                }
            }
        }
        found
    }

    fn pod(&self, workload: usize, index: usize) -> Option<Pod> {
        self.workloads
            .get(workload)
            .and_then(|state| state.pods.get(index))
            .cloned()
    }

    fn replace_pod(&mut self, workload: usize, index: usize, pod: Pod) {
        if let Some(slot) = self
            .workloads
            .get_mut(workload)
            .and_then(|state| state.pods.get_mut(index))
        {
            *slot = pod;
        }
    }

    // ----- incidents -----

    /// A Deployment rolls out a new image, one pod at a time (maxSurge 1, maxUnavailable 0).
    fn play_rolling_update(&mut self, at: i64) {
        let workload = ROLLED_OUT[self.rollouts_started % ROLLED_OUT.len()];
        self.rollouts_started += 1;
        let spec = &WORKLOADS[workload];
        let new_tag = bump_patch(&self.workloads[workload].tag);
        let image = format!("{}:{new_tag}", spec.image);
        let old_replica_set = self.workloads[workload].replica_set.clone();
        let old_pods = self.workloads[workload].pods.clone();
        let new_replica_set = self.new_replica_set(spec.name);
        self.workloads[workload].deployment_resource_version =
            self.next_resource_version().to_string();
        let replicas = old_pods.len().max(1);
        let mut new_pods = Vec::with_capacity(replicas);
        let mut t = at;
        for index in 0..replicas {
            t = self.random_between(t, 100, 900);
            self.occur(
                t,
                self.scaling_event(workload, &new_replica_set.name, index, index + 1),
            );
            t = self.random_between(t, 20, 200);
            let pod = self.new_pod(
                spec.namespace,
                &new_replica_set.name,
                spec.container,
                image.clone(),
                None,
            );
            self.occur(
                t,
                Self::controller_event(
                    Self::replica_set_object(spec.namespace, &new_replica_set),
                    "replicaset-controller",
                    "SuccessfulCreate",
                    format!("Created pod: {}", pod.name),
                    false,
                ),
            );
            let running = self.plan_pod_start(t, &pod);
            // Apps warming up often fail their first readiness probe.
            if self.rng.random_bool(0.3) {
                let probe_at = self.random_between(running, 2_000, 6_000);
                let message = format!(
                    "Readiness probe failed: Get \"http://{}:{}/healthz\": dial tcp {}:{}: connect: connection refused",
                    pod.ip, spec.port, pod.ip, spec.port
                );
                self.occur(
                    probe_at,
                    self.kubelet_event(&pod, true, "Unhealthy", message, true),
                );
            }
            t = self.random_between(running, 8_000, 20_000);
            if let Some(old_pod) = old_pods.get(index) {
                let remaining = replicas - index;
                self.occur(
                    t,
                    self.scaling_event(workload, &old_replica_set.name, remaining, remaining - 1),
                );
                t = self.random_between(t, 20, 200);
                self.occur(
                    t,
                    Self::controller_event(
                        Self::replica_set_object(spec.namespace, &old_replica_set),
                        "replicaset-controller",
                        "SuccessfulDelete",
                        format!("Deleted pod: {}", old_pod.name),
                        false,
                    ),
                );
                let killing = self.random_between(t, 20, 300);
                self.plan_killing(killing, old_pod);
            }
            new_pods.push(pod);
        }
        let state = &mut self.workloads[workload];
        state.tag = new_tag;
        state.replica_set = new_replica_set;
        state.pods = new_pods;
    }

    /// payments-api crashes on start (a dependency is gone) until someone deletes the pod.
    fn play_crash_loop(&mut self, at: i64) {
        let workload = PAYMENTS_API;
        let Some(pod) = self.pod(workload, 0) else {
            return;
        };
        let end = at + self.rng.random_range(25 * MINUTE_MS..40 * MINUTE_MS);
        let mut t = at;
        let mut restarts = 0_u32;
        loop {
            let running = self.plan_container_restart(t, &pod);
            let crashed = self.random_between(running, 3_000, 20_000);
            if crashed >= end {
                break;
            }
            let back_off = back_off_after(restarts);
            restarts += 1;
            self.plan_crash_back_off(crashed, back_off.min(end - crashed), &pod);
            t = crashed + back_off;
            if t >= end {
                break;
            }
        }
        self.plan_killing(end, &pod);
        let replacement_at = self.random_between(end, 100, 800);
        let replacement = self.plan_replacement_pod(replacement_at, workload, None);
        self.replace_pod(workload, 0, replacement);
    }

    /// etl-worker outgrows its memory limit: the kernel OOM-kills the JVM again and again.
    fn play_oom_kill(&mut self, at: i64) {
        let workload = ETL_WORKER;
        let Some(pod) = self.pod(workload, 0) else {
            return;
        };
        let kills = self.rng.random_range(3..=5);
        let mut t = at;
        for kill in 0..kills {
            let pid = self.rng.random_range(2_000..60_000_u32);
            let anon_rss_kb = self.rng.random_range(2_080_000..2_097_000_u32);
            let message = format!(
                "Memory cgroup out of memory: Killed process {pid} (java) total-vm:{}kB, anon-rss:{anon_rss_kb}kB, file-rss:{}kB, shmem-rss:0kB, UID:1000 pgtables:{}kB oom_score_adj:{}",
                self.rng.random_range(4_200_000..4_600_000_u32),
                self.rng.random_range(18_000..26_000_u32),
                self.rng.random_range(4_100..4_800_u32),
                self.rng.random_range(980..=999_u32),
            );
            let node_problem = Occurrence {
                object: self.node_by_name(pod.node),
                reason: "OOMKilling",
                message,
                warning: true,
                reporter: self.node_problem_detector("kernel-monitor", pod.node),
            };
            self.occur(t, node_problem);
            // The first restart is immediate; later ones wait out the crash back-off.
            let restart_at = if kill == 0 {
                self.random_between(t, 800, 2_000)
            } else {
                let back_off = back_off_after(kill - 1);
                self.plan_crash_back_off(t, back_off, &pod);
                t + back_off
            };
            let running = self.plan_container_restart(restart_at, &pod);
            t = self.random_between(running, 2 * MINUTE_MS, 6 * MINUTE_MS);
        }
    }

    /// search-indexer scales up to pods that need more CPU than any node has free.
    fn play_unschedulable(&mut self, at: i64) {
        let workload = SEARCH_INDEXER;
        let spec = &WORKLOADS[workload];
        let replica_set = self.workloads[workload].replica_set.clone();
        let image = format!("{}:{}", spec.image, self.workloads[workload].tag);
        let from = self.workloads[workload].pods.len();
        let to = from + 2;
        self.occur(
            at,
            self.scaling_event(workload, &replica_set.name, from, to),
        );
        let message = self.insufficient_cpu_message();
        let end = at + self.rng.random_range(20 * MINUTE_MS..35 * MINUTE_MS);
        let mut pending_pods = Vec::new();
        for _ in from..to {
            let created = self.random_between(at, 20, 300);
            let pod = self.new_pod(
                spec.namespace,
                &replica_set.name,
                spec.container,
                image.clone(),
                None,
            );
            self.occur(
                created,
                Self::controller_event(
                    Self::replica_set_object(spec.namespace, &replica_set),
                    "replicaset-controller",
                    "SuccessfulCreate",
                    format!("Created pod: {}", pod.name),
                    false,
                ),
            );
            // Retries back off 1 s to 10 s, then come whenever a pod elsewhere goes away.
            let mut attempt = self.random_between(created, 5, 60);
            let mut back_off = SECOND_MS;
            while attempt < end {
                self.occur(
                    attempt,
                    Self::scheduler_event(
                        &pod,
                        "Scheduling",
                        "FailedScheduling",
                        message.clone(),
                        true,
                    ),
                );
                attempt += if back_off <= 10 * SECOND_MS {
                    let wait = back_off;
                    back_off *= 2;
                    wait
                } else {
                    self.rng.random_range(20 * SECOND_MS..90 * SECOND_MS)
                };
            }
            pending_pods.push(pod);
        }
        // Someone notices and scales back.
        self.occur(
            end,
            self.scaling_event(workload, &replica_set.name, to, from),
        );
        for pod in pending_pods {
            let deleted = self.random_between(end, 20, 300);
            self.occur(
                deleted,
                Self::controller_event(
                    Self::replica_set_object(spec.namespace, &replica_set),
                    "replicaset-controller",
                    "SuccessfulDelete",
                    format!("Deleted pod: {}", pod.name),
                    false,
                ),
            );
        }
    }

    /// kube-scheduler's message for pods asking more CPU than any worker has free.
    fn insufficient_cpu_message(&self) -> String {
        let total = WORKER_NODE_COUNT + CONTROL_PLANE_NODE_COUNT;
        let down = usize::from(self.node_down.is_some());
        let full = WORKER_NODE_COUNT - down;
        // The scheduler sorts the reasons as strings.
        let mut reasons = vec![
            format!(
                "{CONTROL_PLANE_NODE_COUNT} node(s) had untolerated taint {{node-role.kubernetes.io/control-plane: }}"
            ),
            format!("{full} Insufficient cpu"),
        ];
        let mut preemption = [
            format!(
                "{} Preemption is not helpful for scheduling",
                CONTROL_PLANE_NODE_COUNT + down
            ),
            format!("{full} No preemption victims found for incoming pod"),
        ];
        if down > 0 {
            reasons
                .push("1 node(s) had untolerated taint {node.kubernetes.io/unreachable: }".into());
        }
        reasons.sort();
        preemption.sort();
        format!(
            "0/{total} nodes are available: {}. preemption: 0/{total} nodes are available: {}.",
            reasons.join(", "),
            preemption.join(", ")
        )
    }

    /// A cart rollout with a mistyped image tag, rolled back after a while.
    fn play_image_pull_failure(&mut self, at: i64) {
        let workload = CART;
        let spec = &WORKLOADS[workload];
        let image = format!(
            "{}:{}-typo",
            spec.image,
            bump_patch(&self.workloads[workload].tag)
        );
        let bad_replica_set = self.new_replica_set(spec.name);
        self.occur(
            at,
            self.scaling_event(workload, &bad_replica_set.name, 0, 1),
        );
        let created = self.random_between(at, 20, 200);
        let pod = self.new_pod(
            spec.namespace,
            &bad_replica_set.name,
            spec.container,
            image.clone(),
            None,
        );
        self.occur(
            created,
            Self::controller_event(
                Self::replica_set_object(spec.namespace, &bad_replica_set),
                "replicaset-controller",
                "SuccessfulCreate",
                format!("Created pod: {}", pod.name),
                false,
            ),
        );
        let scheduled = self.random_between(created, 30, 300);
        self.occur(
            scheduled,
            Self::scheduler_event(
                &pod,
                "Binding",
                "Scheduled",
                format!(
                    "Successfully assigned {}/{} to {}",
                    pod.namespace,
                    pod.name,
                    self.node_name(pod.node)
                ),
                false,
            ),
        );
        let end = at + self.rng.random_range(18 * MINUTE_MS..30 * MINUTE_MS);
        let pull_error = format!(
            "Failed to pull image \"{image}\": rpc error: code = NotFound desc = failed to pull and unpack image \"{image}\": failed to resolve reference \"{image}\": {image}: not found"
        );
        let back_off_message = format!("Back-off pulling image \"{image}\"");
        let mut t = self.random_between(scheduled, 300, 1_500);
        let mut attempts = 0_u32;
        while t < end {
            self.occur(
                t,
                self.kubelet_event(
                    &pod,
                    true,
                    "Pulling",
                    format!("Pulling image \"{image}\""),
                    false,
                ),
            );
            let failed = self.random_between(t, 300, 1_800);
            self.occur(
                failed,
                self.kubelet_event(&pod, true, "Failed", pull_error.clone(), true),
            );
            self.occur(
                failed,
                self.kubelet_event(&pod, true, "Failed", "Error: ErrImagePull".into(), true),
            );
            let resume = failed + back_off_after(attempts);
            attempts += 1;
            let mut tick = self.random_between(failed, 1_000, 3_000);
            while tick < resume.min(end) {
                // kubelet reports the pull back-off itself as Normal; the Warning is the
                // "Error: ImagePullBackOff" that goes with it.
                self.occur(
                    tick,
                    self.kubelet_event(&pod, true, "BackOff", back_off_message.clone(), false),
                );
                self.occur(
                    tick,
                    self.kubelet_event(
                        &pod,
                        true,
                        "Failed",
                        "Error: ImagePullBackOff".into(),
                        true,
                    ),
                );
                tick = self.random_between(tick, 8_000, 25_000);
            }
            t = resume;
        }
        // `kubectl rollout undo`: the bad ReplicaSet goes back to zero.
        self.occur(
            end,
            self.scaling_event(workload, &bad_replica_set.name, 1, 0),
        );
        let deleted = self.random_between(end, 20, 300);
        self.occur(
            deleted,
            Self::controller_event(
                Self::replica_set_object(spec.namespace, &bad_replica_set),
                "replicaset-controller",
                "SuccessfulDelete",
                format!("Deleted pod: {}", pod.name),
                false,
            ),
        );
    }

    /// search-api's health endpoint starts returning 500: liveness kills and restarts it.
    fn play_liveness_failure(&mut self, at: i64) {
        let workload = SEARCH_API;
        let count = self.workloads[workload].pods.len();
        if count == 0 {
            return;
        }
        let index = self.rng.random_range(0..count);
        let Some(pod) = self.pod(workload, index) else {
            return;
        };
        let cycles = self.rng.random_range(3..=5);
        let mut t = at;
        for _ in 0..cycles {
            // failureThreshold 3, periodSeconds 10.
            for probe in 0..3 {
                let probe_at = t + probe * 10 * SECOND_MS + self.rng.random_range(0..200);
                let message =
                    "Liveness probe failed: HTTP probe failed with statuscode: 500".to_string();
                self.occur(
                    probe_at,
                    self.kubelet_event(&pod, true, "Unhealthy", message, true),
                );
                if self.rng.random_bool(0.5) {
                    let message = "Readiness probe failed: HTTP probe failed with statuscode: 503"
                        .to_string();
                    let readiness_at = probe_at + self.rng.random_range(500..3_000);
                    self.occur(
                        readiness_at,
                        self.kubelet_event(&pod, true, "Unhealthy", message, true),
                    );
                }
            }
            let killing = t + 20 * SECOND_MS + self.rng.random_range(100..600);
            let message = format!(
                "Container {} failed liveness probe, will be restarted",
                pod.container
            );
            self.occur(
                killing,
                self.kubelet_event(&pod, true, "Killing", message, false),
            );
            let restart = self.random_between(killing, 2_000, 30_000);
            let running = self.plan_container_restart(restart, &pod);
            t = self.random_between(running, 3 * MINUTE_MS, 7 * MINUTE_MS);
        }
    }

    /// A cart pod scheduled before its ConfigMap exists waits in ContainerCreating.
    fn play_missing_config_map(&mut self, at: i64) {
        let workload = CART;
        let spec = &WORKLOADS[workload];
        let replica_set = self.workloads[workload].replica_set.clone();
        let image = format!("{}:{}", spec.image, self.workloads[workload].tag);
        let from = self.workloads[workload].pods.len();
        self.occur(
            at,
            self.scaling_event(workload, &replica_set.name, from, from + 1),
        );
        let created = self.random_between(at, 20, 200);
        let pod = self.new_pod(
            spec.namespace,
            &replica_set.name,
            spec.container,
            image,
            None,
        );
        self.occur(
            created,
            Self::controller_event(
                Self::replica_set_object(spec.namespace, &replica_set),
                "replicaset-controller",
                "SuccessfulCreate",
                format!("Created pod: {}", pod.name),
                false,
            ),
        );
        let scheduled = self.random_between(created, 30, 300);
        self.occur(
            scheduled,
            Self::scheduler_event(
                &pod,
                "Binding",
                "Scheduled",
                format!(
                    "Successfully assigned {}/{} to {}",
                    pod.namespace,
                    pod.name,
                    self.node_name(pod.node)
                ),
                false,
            ),
        );
        let fixed = at + self.rng.random_range(10 * MINUTE_MS..20 * MINUTE_MS);
        // The volume manager retries with back-off from 500 ms up to 2m2s.
        let mount_message =
            "MountVolume.SetUp failed for volume \"config\" : configmap \"cart-config\" not found"
                .to_string();
        let mut retry = self.random_between(scheduled, 100, 600);
        let mut wait = 500_i64;
        while retry < fixed {
            self.occur(
                retry,
                self.kubelet_event(&pod, false, "FailedMount", mount_message.clone(), true),
            );
            retry += wait;
            wait = (wait * 2).min(122 * SECOND_MS);
        }
        // Every two minutes the pod worker gives up waiting for its volumes.
        let timeout_message = "Unable to attach or mount volumes: unmounted volumes=[config], unattached volumes=[], failed to process volumes=[]: timed out waiting for the condition".to_string();
        let mut timeout = scheduled + 2 * MINUTE_MS + self.rng.random_range(0..2_000);
        while timeout < fixed {
            self.occur(
                timeout,
                self.kubelet_event(&pod, false, "FailedMount", timeout_message.clone(), true),
            );
            timeout += 2 * MINUTE_MS + self.rng.random_range(0..2_000);
        }
        let image_ready = self.plan_image(fixed, &pod);
        let running = self.plan_container_start(image_ready, &pod);
        // The extra replica was temporary: scale back, that pod goes.
        let scale_down = self.random_between(running, 3 * MINUTE_MS, 6 * MINUTE_MS);
        self.occur(
            scale_down,
            self.scaling_event(workload, &replica_set.name, from + 1, from),
        );
        let deleted = self.random_between(scale_down, 20, 300);
        self.occur(
            deleted,
            Self::controller_event(
                Self::replica_set_object(spec.namespace, &replica_set),
                "replicaset-controller",
                "SuccessfulDelete",
                format!("Deleted pod: {}", pod.name),
                false,
            ),
        );
        let killing = self.random_between(deleted, 20, 300);
        self.plan_killing(killing, &pod);
    }

    /// A worker stops reporting: NotReady, its pods evicted after 5 minutes and rescheduled
    /// elsewhere, then the node reboots and comes back.
    fn play_node_not_ready(&mut self, at: i64) {
        if self.node_down.is_some() {
            return;
        }
        // Rotate over node-4, node-5, node-6.
        let node = 3 + self.node_outages_started % 3;
        self.node_outages_started += 1;
        self.node_down = Some(node);
        if let Some(state) = self.nodes.get_mut(node) {
            state.resource_version = (self.resource_version + 1).to_string();
        }
        let node_name = self.node_name(node);
        self.occur(
            at,
            Self::controller_event(
                self.node_object(node),
                "node-controller",
                "NodeNotReady",
                format!("Node {node_name} status is now: NodeNotReady"),
                false,
            ),
        );
        let victims = self.pods_on_node(node);
        let mut t = at;
        for &(workload, index) in &victims {
            let Some(pod) = self.pod(workload, index) else {
                continue;
            };
            t = self.random_between(t, 10, 200);
            self.occur(
                t,
                Self::controller_event(
                    Self::pod_object(&pod, false),
                    "node-controller",
                    "NodeNotReady",
                    "Node is not ready".into(),
                    true,
                ),
            );
        }
        let mut evicting = at + NOT_READY_TOLERATION_MS + self.rng.random_range(0..5_000);
        for (workload, index) in victims {
            let Some(pod) = self.pod(workload, index) else {
                continue;
            };
            evicting = self.random_between(evicting, 5, 150);
            // The taint eviction controller's reference carries no uid.
            let mut object = Self::pod_object(&pod, false);
            object.uid = String::new();
            object.resource_version = String::new();
            self.occur(
                evicting,
                Self::controller_event(
                    object,
                    "taint-eviction-controller",
                    "TaintManagerEviction",
                    format!("Marking for deletion Pod {}/{}", pod.namespace, pod.name),
                    false,
                ),
            );
            let replaced_at = self.random_between(evicting, 50, 600);
            let replacement = self.plan_replacement_pod(replaced_at, workload, Some(node));
            self.replace_pod(workload, index, replacement);
        }
        let recovered = at + self.rng.random_range(12 * MINUTE_MS..20 * MINUTE_MS);
        self.plan_node_boot(recovered, node);
        self.plan(recovered, Action::NodeRecovered(node));
    }

    /// The Events of a kubelet starting on a rebooted node.
    fn plan_node_boot(&mut self, at: i64, node: usize) {
        let node_name = self.node_name(node);
        let boot_id = render::uuid(&mut self.rng);
        let steps: [(&'static str, String, bool); 7] = [
            ("Starting", "Starting kubelet.".to_string(), false),
            (
                "NodeAllocatableEnforced",
                "Updated Node Allocatable limit across pods".to_string(),
                false,
            ),
            (
                "NodeHasSufficientMemory",
                format!("Node {node_name} status is now: NodeHasSufficientMemory"),
                false,
            ),
            (
                "NodeHasNoDiskPressure",
                format!("Node {node_name} status is now: NodeHasNoDiskPressure"),
                false,
            ),
            (
                "NodeHasSufficientPID",
                format!("Node {node_name} status is now: NodeHasSufficientPID"),
                false,
            ),
            (
                "Rebooted",
                format!("Node {node_name} has been rebooted, boot id: {boot_id}"),
                true,
            ),
            (
                "NodeReady",
                format!("Node {node_name} status is now: NodeReady"),
                false,
            ),
        ];
        let mut t = at;
        for (reason, message, warning) in steps {
            t = self.random_between(t, 5, 400);
            let occurrence = Occurrence {
                object: self.node_by_name(node),
                reason,
                message,
                warning,
                reporter: self.kubelet(node),
            };
            self.occur(t, occurrence);
        }
    }

    /// A node runs short of memory: the kubelet evicts the biggest consumer.
    fn play_memory_pressure(&mut self, at: i64) {
        // etl-worker is the memory hog; use the node of one of its pods.
        let Some(victim_index) = (0..self.workloads[ETL_WORKER].pods.len())
            .rev()
            .find(|index| {
                self.pod(ETL_WORKER, *index)
                    .is_some_and(|pod| Some(pod.node) != self.node_down)
            })
        else {
            return;
        };
        let Some(victim) = self.pod(ETL_WORKER, victim_index) else {
            return;
        };
        let node = victim.node;
        let node_name = self.node_name(node);
        let node_event =
            |cluster: &Self, reason: &'static str, message: String, warning: bool| Occurrence {
                object: cluster.node_by_name(node),
                reason,
                message,
                warning,
                reporter: cluster.kubelet(node),
            };
        self.occur(
            at,
            node_event(
                self,
                "NodeHasInsufficientMemory",
                format!("Node {node_name} status is now: NodeHasInsufficientMemory"),
                false,
            ),
        );
        let reclaim = self.random_between(at, 200, 1_500);
        self.occur(
            reclaim,
            node_event(
                self,
                "EvictionThresholdMet",
                "Attempting to reclaim memory".into(),
                true,
            ),
        );
        let evicted = self.random_between(reclaim, 1_000, 5_000);
        let message = format!(
            "The node was low on resource: memory. Threshold quantity: 100Mi, available: {}Ki. Container {} was using {}Ki, request is 512Mi, has larger consumption of memory.",
            self.rng.random_range(60_000..99_000_u32),
            victim.container,
            self.rng.random_range(1_800_000..2_000_000_u32),
        );
        self.occur(
            evicted,
            self.kubelet_event(&victim, false, "Evicted", message, true),
        );
        let killing = self.random_between(evicted, 20, 300);
        self.plan_killing(killing, &victim);
        let replaced_at = self.random_between(killing, 50, 600);
        let replacement = self.plan_replacement_pod(replaced_at, ETL_WORKER, Some(node));
        self.replace_pod(ETL_WORKER, victim_index, replacement);
        let relieved = self.random_between(evicted, MINUTE_MS, 2 * MINUTE_MS);
        self.occur(
            relieved,
            node_event(
                self,
                "NodeHasSufficientMemory",
                format!("Node {node_name} status is now: NodeHasSufficientMemory"),
                false,
            ),
        );
    }

    /// node-problem-detector reports a kernel or runtime problem on a worker, in turn.
    fn play_node_problem(&mut self, at: i64) {
        let node = self.pick_node(None);
        let turn = self.node_problems_started % 5;
        self.node_problems_started += 1;
        let kernel = |cluster: &Self, reason: &'static str, message: String| Occurrence {
            object: cluster.node_by_name(node),
            reason,
            message,
            warning: true,
            reporter: cluster.node_problem_detector("kernel-monitor", node),
        };
        match turn {
            0 => {
                // The hung-task line matches both the temporary TaskHung rule and the permanent
                // DockerHung rule (condition KernelDeadlock).
                let pid = self.rng.random_range(2_000..40_000_u32);
                let line = format!("task docker:{pid} blocked for more than 120 seconds.");
                self.occur(at, kernel(self, "TaskHung", format!("INFO: {line}")));
                let condition_at = self.random_between(at, 1, 50);
                self.occur(
                    condition_at,
                    kernel(
                        self,
                        "DockerHung",
                        format!("Node condition KernelDeadlock is now: True, reason: DockerHung, message: \"{line}\""),
                    ),
                );
                // The kernel reports the same hung task every two minutes.
                let mut again = at;
                for _ in 0..self.rng.random_range(1..=3) {
                    again += 120 * SECOND_MS + self.rng.random_range(0..500);
                    self.occur(again, kernel(self, "TaskHung", format!("INFO: {line}")));
                }
            }
            1 => {
                let address = self.rng.random_range(0x10..0x200_u32);
                let message = format!(
                    "BUG: unable to handle kernel NULL pointer dereference at {address:016x}"
                );
                self.occur(at, kernel(self, "KernelOops", message));
            }
            2 => {
                let occurrence = Occurrence {
                    object: self.node_by_name(node),
                    reason: "DockerContainerStartupFailure",
                    message: "OCI runtime start failed: container process is already dead: unknown"
                        .into(),
                    warning: true,
                    reporter: self.node_problem_detector("docker-monitor", node),
                };
                let mut t = at;
                for _ in 0..self.rng.random_range(1..=3) {
                    self.occur(t, occurrence.clone());
                    t = self.random_between(t, 20 * SECOND_MS, 90 * SECOND_MS);
                }
            }
            3 => {
                // A leaked network namespace: the kernel repeats this line every 10 s.
                let message =
                    "unregister_netdevice: waiting for lo to become free. Usage count = 1";
                let mut t = at;
                for _ in 0..self.rng.random_range(4..=12) {
                    self.occur(t, kernel(self, "UnregisterNetDevice", message.into()));
                    t = self.random_between(t, 10 * SECOND_MS, 10 * SECOND_MS + 300);
                }
            }
            _ => {
                // A system (non-container) OOM: both NPD and the kubelet's OOM watcher see it.
                let pid = self.rng.random_range(600..3_000_u32);
                let message = format!(
                    "Out of memory: Killed process {pid} (node_exporter) total-vm:{}kB, anon-rss:{}kB, file-rss:{}kB, shmem-rss:0kB, UID:65534 pgtables:{}kB oom_score_adj:0",
                    self.rng.random_range(700_000..900_000_u32),
                    self.rng.random_range(300_000..500_000_u32),
                    self.rng.random_range(8_000..12_000_u32),
                    self.rng.random_range(900..1_300_u32),
                );
                self.occur(at, kernel(self, "OOMKilling", message));
                let kubelet_at = self.random_between(at, 50, 900);
                let occurrence = Occurrence {
                    object: self.node_by_name(node),
                    reason: "SystemOOM",
                    message: format!(
                        "System OOM encountered, victim process: node_exporter, pid: {pid}"
                    ),
                    warning: true,
                    reporter: self.kubelet(node),
                };
                self.occur(kubelet_at, occurrence);
            }
        }
    }

    /// kafka-connect and alert-relay have been crash-looping for days: BackOff every few
    /// seconds, a restart every five minutes. One five-minute cycle per call.
    fn play_chronic_crash_loop(&mut self, at: i64, index: usize) {
        let Some(&workload) = CHRONIC_CRASH_LOOPS.get(index) else {
            return;
        };
        let Some(pod) = self.pod(workload, 0) else {
            return;
        };
        let running = self.plan_container_restart(at, &pod);
        let crashed = self.random_between(running, 8_000, 15_000);
        let resume = at + BACK_OFF_MAX_MS;
        self.plan_crash_back_off(crashed, resume - crashed - SECOND_MS, &pod);
    }

    /// Grafana's readiness probe times out for a few minutes (a slow datasource).
    fn play_flaky_readiness(&mut self, at: i64) {
        let Some(pod) = self.pod(GRAFANA, 0) else {
            return;
        };
        let port = WORKLOADS[GRAFANA].port;
        let message = format!(
            "Readiness probe failed: Get \"http://{}:{port}/api/health\": context deadline exceeded (Client.Timeout exceeded while awaiting headers)",
            pod.ip
        );
        let end = at + self.rng.random_range(4 * MINUTE_MS..12 * MINUTE_MS);
        // periodSeconds 10; a probe now and then succeeds.
        let mut t = at;
        while t < end {
            if self.rng.random_bool(0.85) {
                self.occur(
                    t,
                    self.kubelet_event(&pod, true, "Unhealthy", message.clone(), true),
                );
            }
            t = self.random_between(t, 10 * SECOND_MS, 10 * SECOND_MS + 100);
        }
    }

    /// The fraud-scorer HPA loses its metrics for a while (metrics-server restarting).
    fn play_flaky_metrics(&mut self, at: i64) {
        let spec = &WORKLOADS[FRAUD_SCORER];
        let object = InvolvedObject {
            kind: "HorizontalPodAutoscaler",
            namespace: spec.namespace.to_string(),
            name: spec.name.to_string(),
            uid: self.workloads[FRAUD_SCORER].hpa_uid.clone(),
            api_version: "autoscaling/v2",
            resource_version: String::new(),
            field_path: String::new(),
        };
        let end = at + self.rng.random_range(3 * MINUTE_MS..9 * MINUTE_MS);
        let error = "failed to get cpu utilization: unable to get metrics for resource cpu: no metrics returned from resource metrics API";
        let mut t = at;
        // The HPA controller syncs every 15 s.
        while t < end {
            self.occur(
                t,
                Self::controller_event(
                    object.clone(),
                    "horizontal-pod-autoscaler",
                    "FailedGetResourceMetric",
                    error.into(),
                    true,
                ),
            );
            self.occur(
                t,
                Self::controller_event(
                    object.clone(),
                    "horizontal-pod-autoscaler",
                    "FailedComputeMetricsReplicas",
                    format!("invalid metrics (1 invalid out of 1), first error is: failed to get cpu resource metric value: {error}"),
                    true,
                ),
            );
            t = self.random_between(t, 15 * SECOND_MS, 15 * SECOND_MS + 200);
        }
    }

    // ----- background noise -----

    /// One scheduled run of a CronJob: Job, pod, completion, cleanup of the oldest Job.
    fn play_cron_job_run(&mut self, at: i64, index: usize) {
        let Some(spec) = CRON_JOBS.get(index) else {
            return;
        };
        let (cron_job_uid, cron_job_resource_version) = match self.cron_jobs.get(index) {
            Some(state) => (state.uid.clone(), state.resource_version.clone()),
            None => return,
        };
        let cron_job = InvolvedObject {
            kind: "CronJob",
            namespace: spec.namespace.to_string(),
            name: spec.name.to_string(),
            uid: cron_job_uid,
            api_version: "batch/v1",
            resource_version: cron_job_resource_version,
            field_path: String::new(),
        };
        // Job names carry the scheduled time in minutes since the epoch.
        let job_name = format!("{}-{}", spec.name, at.div_euclid(MINUTE_MS));
        let job = InvolvedObject {
            kind: "Job",
            namespace: spec.namespace.to_string(),
            name: job_name.clone(),
            uid: render::uuid(&mut self.rng),
            api_version: "batch/v1",
            resource_version: self.next_resource_version().to_string(),
            field_path: String::new(),
        };
        let mut t = self.random_between(at, 20, 600);
        self.occur(
            t,
            Self::controller_event(
                cron_job.clone(),
                "cronjob-controller",
                "SuccessfulCreate",
                format!("Created job {job_name}"),
                false,
            ),
        );
        let pod = self.new_pod(
            spec.namespace,
            &job_name,
            spec.container,
            spec.image.to_string(),
            None,
        );
        t = self.random_between(t, 20, 200);
        self.occur(
            t,
            Self::controller_event(
                job.clone(),
                "job-controller",
                "SuccessfulCreate",
                format!("Created pod: {}", pod.name),
                false,
            ),
        );
        let running = self.plan_pod_start(t, &pod);
        let (low, high) = spec.run_seconds;
        let completed = self.random_between(running, low * SECOND_MS, high * SECOND_MS);
        self.occur(
            completed,
            Self::controller_event(
                job,
                "job-controller",
                "Completed",
                "Job completed".into(),
                false,
            ),
        );
        let seen = self.random_between(completed, 100, 2_000);
        self.occur(
            seen,
            Self::controller_event(
                cron_job.clone(),
                "cronjob-controller",
                "SawCompletedJob",
                format!("Saw completed job: {job_name}, status: Complete"),
                false,
            ),
        );
        let Some(state) = self.cron_jobs.get_mut(index) else {
            return;
        };
        state.finished_jobs.push_back(job_name);
        if state.finished_jobs.len() > JOB_HISTORY_LIMIT
            && let Some(oldest) = state.finished_jobs.pop_front()
        {
            let deleted = self.random_between(seen, 5, 80);
            self.occur(
                deleted,
                Self::controller_event(
                    cron_job,
                    "cronjob-controller",
                    "SuccessfulDelete",
                    format!("Deleted job {oldest}"),
                    false,
                ),
            );
        }
    }

    /// An HPA follows its load: one replica up or down.
    fn play_autoscale(&mut self, at: i64, index: usize) {
        let Some(&workload) = AUTOSCALED.get(index) else {
            return;
        };
        let spec = &WORKLOADS[workload];
        let current = self.workloads[workload].pods.len();
        let minimum = spec.replicas;
        let maximum = spec.replicas + 3;
        let up = if current <= minimum {
            true
        } else if current >= maximum {
            false
        } else {
            self.rng.random_bool(0.5)
        };
        let target = if up { current + 1 } else { current - 1 };
        let hpa = InvolvedObject {
            kind: "HorizontalPodAutoscaler",
            namespace: spec.namespace.to_string(),
            name: spec.name.to_string(),
            uid: self.workloads[workload].hpa_uid.clone(),
            api_version: "autoscaling/v2",
            resource_version: self.next_resource_version().to_string(),
            field_path: String::new(),
        };
        let reason = if up {
            "cpu resource utilization (percentage of request) above target"
        } else {
            "All metrics below target"
        };
        self.occur(
            at,
            Self::controller_event(
                hpa,
                "horizontal-pod-autoscaler",
                "SuccessfulRescale",
                format!("New size: {target}; reason: {reason}"),
                false,
            ),
        );
        let replica_set = self.workloads[workload].replica_set.clone();
        let scaled = self.random_between(at, 20, 300);
        self.occur(
            scaled,
            self.scaling_event(workload, &replica_set.name, current, target),
        );
        let changed = self.random_between(scaled, 20, 200);
        if up {
            let pod = self.plan_replacement_pod(changed, workload, None);
            self.workloads[workload].pods.push(pod);
        } else if let Some(pod) = self.workloads[workload].pods.pop() {
            self.occur(
                changed,
                Self::controller_event(
                    Self::replica_set_object(spec.namespace, &replica_set),
                    "replicaset-controller",
                    "SuccessfulDelete",
                    format!("Deleted pod: {}", pod.name),
                    false,
                ),
            );
            let killing = self.random_between(changed, 20, 300);
            self.plan_killing(killing, &pod);
        }
    }
}

/// The core/v1 Event as the API server serves it, at `resource_version`.
fn event_json(live: &LiveEvent, resource_version: u64) -> Value {
    let occurrence = &live.occurrence;
    let mut metadata = Map::new();
    metadata.insert("name".into(), Value::from(live.name.as_str()));
    metadata.insert("namespace".into(), Value::from(live.namespace.as_str()));
    metadata.insert("uid".into(), Value::from(live.uid.as_str()));
    metadata.insert(
        "resourceVersion".into(),
        Value::from(resource_version.to_string()),
    );
    metadata.insert(
        "creationTimestamp".into(),
        Value::from(render::time_seconds(live.first_ms)),
    );

    let mut event = Map::new();
    event.insert("apiVersion".into(), Value::from("v1"));
    event.insert("kind".into(), Value::from("Event"));
    event.insert("metadata".into(), Value::Object(metadata));
    event.insert(
        "involvedObject".into(),
        involved_object_json(&occurrence.object),
    );
    event.insert("reason".into(), Value::from(occurrence.reason));
    event.insert("message".into(), Value::from(occurrence.message.as_str()));
    event.insert(
        "type".into(),
        Value::from(if occurrence.warning {
            "Warning"
        } else {
            "Normal"
        }),
    );
    match &occurrence.reporter {
        Reporter::Record { component, host } => {
            let mut source = Map::new();
            source.insert("component".into(), Value::from(*component));
            if !host.is_empty() {
                source.insert("host".into(), Value::from(host.as_str()));
            }
            event.insert("source".into(), Value::Object(source));
            event.insert(
                "firstTimestamp".into(),
                Value::from(render::time_seconds(live.first_ms)),
            );
            event.insert(
                "lastTimestamp".into(),
                Value::from(render::time_seconds(live.last_ms)),
            );
            event.insert("count".into(), Value::from(live.count));
            event.insert("eventTime".into(), Value::Null);
            // client-go 1.27+ copies the source into the reporting fields.
            event.insert("reportingComponent".into(), Value::from(*component));
            event.insert("reportingInstance".into(), Value::from(host.as_str()));
        }
        Reporter::EventsApi { action } => {
            event.insert("source".into(), Value::Object(Map::new()));
            event.insert("firstTimestamp".into(), Value::Null);
            event.insert("lastTimestamp".into(), Value::Null);
            event.insert(
                "eventTime".into(),
                Value::from(render::time_micros(live.first_ms, live.first_extra_micros)),
            );
            if live.count >= 2 {
                let mut series = Map::new();
                series.insert("count".into(), Value::from(live.count));
                series.insert(
                    "lastObservedTime".into(),
                    Value::from(render::time_micros(live.last_ms, live.first_extra_micros)),
                );
                event.insert("series".into(), Value::Object(series));
            }
            event.insert("action".into(), Value::from(*action));
            event.insert("reportingComponent".into(), Value::from(SCHEDULER_NAME));
            event.insert("reportingInstance".into(), Value::from(SCHEDULER_INSTANCE));
        }
    }
    Value::Object(event)
}

fn involved_object_json(object: &InvolvedObject) -> Value {
    let mut map = Map::new();
    map.insert("kind".into(), Value::from(object.kind));
    if !object.namespace.is_empty() {
        map.insert("namespace".into(), Value::from(object.namespace.as_str()));
    }
    map.insert("name".into(), Value::from(object.name.as_str()));
    if !object.uid.is_empty() {
        map.insert("uid".into(), Value::from(object.uid.as_str()));
    }
    if !object.api_version.is_empty() {
        map.insert("apiVersion".into(), Value::from(object.api_version));
    }
    if !object.resource_version.is_empty() {
        map.insert(
            "resourceVersion".into(),
            Value::from(object.resource_version.as_str()),
        );
    }
    if !object.field_path.is_empty() {
        map.insert("fieldPath".into(), Value::from(object.field_path.as_str()));
    }
    Value::Object(map)
}

/// kubelet's back-off before restart number `restarts + 1`: 10 s doubling, capped at 5 min.
fn back_off_after(restarts: u32) -> i64 {
    BACK_OFF_START_MS
        .saturating_mul(1_i64 << restarts.min(16))
        .min(BACK_OFF_MAX_MS)
}

/// The first run of a schedule "every N minutes" (aligned on the epoch) at or after `at_ms`.
fn next_schedule(at_ms: i64, every_minutes: i64) -> i64 {
    let period = every_minutes.max(1) * MINUTE_MS;
    let remainder = at_ms.rem_euclid(period);
    if remainder == 0 {
        at_ms
    } else {
        at_ms - remainder + period
    }
}

/// `v1.8.3` -> `v1.8.4`; a tag without a numeric last part gets `.1` appended.
fn bump_patch(tag: &str) -> String {
    if let Some((head, last)) = tag.rsplit_once('.')
        && let Ok(patch) = last.parse::<u64>()
    {
        return format!("{head}.{}", patch + 1);
    }
    format!("{tag}.1")
}

/// A millisecond duration as Go prints a `time.Duration` truncated to milliseconds.
fn go_duration(ms: i64) -> String {
    if ms < SECOND_MS {
        return format!("{ms}ms");
    }
    let minutes = ms / MINUTE_MS;
    let seconds = ms % MINUTE_MS / SECOND_MS;
    let millis = ms % SECOND_MS;
    let mut out = String::new();
    if minutes > 0 {
        out.push_str(&minutes.to_string());
        out.push('m');
    }
    out.push_str(&seconds.to_string());
    if millis > 0 {
        let fraction = format!("{millis:03}");
        out.push('.');
        out.push_str(fraction.trim_end_matches('0'));
    }
    out.push('s');
    out
}

#[cfg(test)]
// Tests may unwrap: a panic is how they fail.
#[allow(clippy::unwrap_used)]
mod tests {
    use std::collections::{BTreeMap, BTreeSet};

    use kec_model::convert::{ParsedLine, parse_value};

    use super::*;

    /// 2026-11-25T00:00:00Z.
    const START_MS: i64 = 1_795_564_800_000;

    fn records(frames: &[Value]) -> Vec<kec_model::EventRecord> {
        frames
            .iter()
            .map(
                |frame| match parse_value(frame.clone(), "demo", 0).unwrap() {
                    ParsedLine::Observation(observation) => observation.record,
                    other => panic!("not an observation: {other:?}"),
                },
            )
            .collect()
    }

    #[test]
    fn same_seed_same_frames_whatever_the_steps() {
        let mut one_call = DemoCluster::new(7, START_MS);
        let all_at_once = one_call.advance_to(START_MS + 2 * HOUR_MS);
        let mut stepped = DemoCluster::new(7, START_MS);
        let mut in_steps = Vec::new();
        let mut now = START_MS;
        while now < START_MS + 2 * HOUR_MS {
            now += 7 * SECOND_MS;
            in_steps.extend(stepped.advance_to(now.min(START_MS + 2 * HOUR_MS)));
        }
        assert!(!all_at_once.is_empty());
        assert_eq!(all_at_once, in_steps);
        assert_eq!(
            one_call.occurrences_produced(),
            stepped.occurrences_produced()
        );
        let other_seed = DemoCluster::new(8, START_MS).advance_to(START_MS + 2 * HOUR_MS);
        assert_ne!(all_at_once, other_seed);
    }

    #[test]
    fn frames_parse_and_counts_grow_per_uid() {
        let mut cluster = DemoCluster::new(1, START_MS);
        let frames = cluster.advance_to(START_MS + 3 * HOUR_MS);
        let records = records(&frames);
        let mut last_count: HashMap<String, i64> = HashMap::new();
        let mut last_time = 0;
        for (frame, record) in frames.iter().zip(&records) {
            let frame_type = frame["type"].as_str().unwrap();
            match last_count.get(&record.uid) {
                None => assert_eq!(frame_type, "ADDED", "{frame}"),
                Some(previous) => {
                    assert_eq!(frame_type, "MODIFIED", "{frame}");
                    assert!(record.count > *previous, "count must grow: {frame}");
                    if record.source_component == "kubelet" {
                        assert_eq!(record.count, previous + 1, "{frame}");
                    }
                }
            }
            last_count.insert(record.uid.clone(), record.count);
            assert!(!record.time_is_receipt);
            assert!(record.event_type == "Normal" || record.event_type == "Warning");
            assert!(!record.reason.is_empty() && !record.message.is_empty());
            // Event names are `<object>.<16 hex digits>`.
            let (object_name, hex) = record.name.rsplit_once('.').unwrap();
            assert_eq!(object_name, record.object.name);
            assert_eq!(hex.len(), 16, "{}", record.name);
            // Write order is time order; a series update reports an earlier observation.
            let write_time = record.time_ms;
            if !frame["object"]["series"].is_object() {
                assert!(write_time >= last_time - SECOND_MS, "{frame}");
                last_time = last_time.max(write_time);
            }
        }
        let resource_versions: Vec<u64> = records
            .iter()
            .map(|record| record.resource_version.parse().unwrap())
            .collect();
        assert!(resource_versions.windows(2).all(|pair| pair[0] < pair[1]));
        let total: i64 = last_count.values().sum();
        assert_eq!(
            u64::try_from(total).unwrap(),
            cluster.occurrences_produced()
        );
    }

    #[test]
    fn every_scenario_shows_within_two_hours() {
        let mut cluster = DemoCluster::new(42, START_MS);
        let records = records(&cluster.advance_to(START_MS + 2 * HOUR_MS));
        let reasons: BTreeSet<&str> = records
            .iter()
            .map(|record| record.reason.as_str())
            .collect();
        for reason in [
            "ScalingReplicaSet",
            "SuccessfulCreate",
            "SuccessfulDelete",
            "Scheduled",
            "Pulling",
            "Pulled",
            "Created",
            "Started",
            "Killing",
            "BackOff",
            "OOMKilling",
            "FailedScheduling",
            "Failed",
            "Unhealthy",
            "FailedMount",
            "NodeNotReady",
            "TaintManagerEviction",
            "Evicted",
            "EvictionThresholdMet",
            "NodeReady",
            "Rebooted",
            "TaskHung",
            "DockerHung",
            "KernelOops",
            "DockerContainerStartupFailure",
            "SuccessfulRescale",
            "FailedGetResourceMetric",
            "Completed",
            "SawCompletedJob",
        ] {
            assert!(
                reasons.contains(reason),
                "{reason} missing; saw {reasons:?}"
            );
        }
        let categories: BTreeSet<kec_model::Category> =
            records.iter().map(|record| record.category).collect();
        for category in kec_model::Category::ALL {
            if category != kec_model::Category::ResourceInsufficient {
                assert!(categories.contains(&category), "{category} missing");
            }
        }
        let sources: BTreeSet<&str> = records
            .iter()
            .map(|record| {
                if record.source_component.is_empty() {
                    record.reporting_controller.as_str()
                } else {
                    record.source_component.as_str()
                }
            })
            .collect();
        for source in [
            "kubelet",
            "default-scheduler",
            "kernel-monitor",
            "docker-monitor",
            "node-controller",
        ] {
            assert!(sources.contains(source), "{source} missing");
        }
    }

    #[test]
    fn node_events_live_in_default_without_object_namespace() {
        let mut cluster = DemoCluster::new(3, START_MS);
        let frames = cluster.advance_to(START_MS + 2 * HOUR_MS);
        let records = records(&frames);
        let mut node_events = 0;
        for (frame, record) in frames.iter().zip(&records) {
            if record.object.kind == "Node" {
                node_events += 1;
                assert_eq!(record.namespace, "default");
                assert!(
                    frame["object"]["involvedObject"].get("namespace").is_none(),
                    "{frame}"
                );
                assert_eq!(record.node, record.object.name);
            } else {
                assert_eq!(record.namespace, record.object.namespace, "{frame}");
            }
        }
        assert!(node_events > 10);
    }

    #[test]
    fn mostly_normal_a_few_events_a_second() {
        let mut cluster = DemoCluster::new(11, START_MS);
        let hours = 6;
        let records = records(&cluster.advance_to(START_MS + hours * HOUR_MS));
        let per_second = records.len() as f64 / (hours * 3_600) as f64;
        let normal = records.iter().filter(|record| !record.is_warning()).count();
        let normal_share = normal as f64 / records.len() as f64;
        let mut per_reason: BTreeMap<&str, usize> = BTreeMap::new();
        for record in &records {
            *per_reason.entry(record.reason.as_str()).or_default() += 1;
        }
        eprintln!("{per_second:.2} frames/s, {normal_share:.3} Normal, {per_reason:?}");
        assert!((1.0..6.0).contains(&per_second), "{per_second} frames/s");
        assert!((0.8..=0.9).contains(&normal_share), "{normal_share} Normal");
        // The simulation keeps going: the last hour is as busy as the first.
        let last_hour = records
            .iter()
            .filter(|record| record.time_ms >= START_MS + (hours - 1) * HOUR_MS)
            .count();
        assert!(last_hour as f64 > per_second * 3_600.0 * 0.5);
        // Memory stays bounded: expired Events are forgotten.
        assert!(
            cluster.live_events.len() < 20_000,
            "{}",
            cluster.live_events.len()
        );
    }

    #[test]
    fn helpers() {
        assert_eq!(bump_patch("v1.8.3"), "v1.8.4");
        assert_eq!(bump_patch("latest"), "latest.1");
        assert_eq!(go_duration(812), "812ms");
        assert_eq!(go_duration(2_340), "2.34s");
        assert_eq!(go_duration(62_005), "1m2.005s");
        assert_eq!(next_schedule(120_000, 1), 120_000);
        assert_eq!(next_schedule(120_001, 2), 240_000);
        assert_eq!(back_off_after(0), 10_000);
        assert_eq!(back_off_after(9), 300_000);
        let cluster = DemoCluster::new(0, START_MS);
        assert_eq!(cluster.cluster_name(), "demo");
        assert_eq!(
            cluster.insufficient_cpu_message(),
            "0/9 nodes are available: 3 node(s) had untolerated taint {node-role.kubernetes.io/control-plane: }, 6 Insufficient cpu. preemption: 0/9 nodes are available: 3 Preemption is not helpful for scheduling, 6 No preemption victims found for incoming pod."
        );
    }
}
