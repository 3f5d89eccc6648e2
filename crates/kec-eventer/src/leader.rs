//! Leader election on a coordination.k8s.io/v1 Lease, with the semantics of client-go's
//! `leaderelection` package, so that of several `kec eventer` replicas only one runs the
//! sources.
//!
//! | what | how |
//! |---|---|
//! | no Lease yet | a candidate creates it, holding it (of two racing, one gets 409 and follows) |
//! | the Lease is held | a candidate takes it only when `holderIdentity` is empty, or when the record has not changed for `leaseDurationSeconds` *by the candidate's own clock* (client-go's `observedTime`: clock skew between nodes does not matter; `renewTime` is written for people) |
//! | every write | an update carrying the resourceVersion that was read (optimistic concurrency): a stale writer gets 409 Conflict and does not lead |
//! | leading | the leader renews every `retry_period`; when no renewal succeeds for `renew_deadline` it stops leading. `renew_deadline < lease_duration`, so its sources stop before anyone else may take the Lease |
//! | another holder seen | a leader that reads the Lease held by someone else stops at once (client-go would keep trying until its renew deadline) |
//! | leadership lost | the sources stop and the replica keeps trying to acquire the Lease again |
//! | shutdown | sources stop, then the leader releases the Lease (`holderIdentity: ""`, `leaseDurationSeconds: 1`), so a follower takes over at its next retry instead of waiting for expiry |
//! | kill -9 | nothing is released; a follower takes over once the record has not changed for `leaseDurationSeconds` |
//!
//! Retries of a candidate are jittered (up to 2.2 times `retry_period`, client-go's
//! `JitterFactor` 1.2). Only the sources are elected: sinks and spools run on every replica, so
//! a replica that lost the Lease still delivers what it had spooled. A handover relists, which
//! replays live Events; the center's occurrence ledger counts each occurrence once.
//!
//! RBAC: `get`, `create` and `update` on `leases` (API group `coordination.k8s.io`) in the
//! Lease's namespace.

use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;

use k8s_openapi::api::coordination::v1::{Lease, LeaseSpec};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{MicroTime, ObjectMeta};
use k8s_openapi::jiff::Timestamp;
use kube::api::PostParams;
use rand::Rng;
use serde::{Deserialize, Serialize};
use tokio::task::{JoinHandle, JoinSet};
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

use crate::pipeline::EventerStats;
use crate::source::Sources;

/// The Lease's name unless configured.
pub const DEFAULT_LEASE_NAME: &str = "kec-eventer";
/// Where a pod finds its namespace.
const SERVICE_ACCOUNT_NAMESPACE_FILE: &str =
    "/var/run/secrets/kubernetes.io/serviceaccount/namespace";
/// client-go's `JitterFactor`: retries wait up to `retry_period * (1 + 1.2)`, and the renew
/// deadline must exceed `retry_period * 1.2`.
const JITTER_FACTOR: f64 = 1.2;
/// Longest lease duration accepted (a day): anything longer only delays every takeover.
const MAX_LEASE_DURATION_SECS: u32 = 86_400;

/// High availability: several replicas, one Lease, only its holder runs the sources.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct LeaderElectionConfig {
    /// Elect a leader; without it every replica runs the sources.
    pub enabled: bool,
    /// Name of the coordination.k8s.io/v1 Lease.
    pub lease_name: String,
    /// Namespace of the Lease (default: `POD_NAMESPACE`, else the service account's namespace
    /// file, else `default`).
    pub lease_namespace: Option<String>,
    /// This replica's name in the Lease (default: `POD_NAME`, else the host name followed by
    /// a random suffix). Two replicas must never share one.
    pub identity: Option<String>,
    /// How long a Lease that stops changing stays valid for the others, in seconds.
    pub lease_duration_secs: u32,
    /// How long the leader keeps trying to renew before it stops leading, in seconds (less
    /// than `lease_duration_secs`).
    pub renew_deadline_secs: u32,
    /// Time between attempts to acquire or renew, in seconds (`renew_deadline_secs` must
    /// exceed 1.2 times this).
    pub retry_period_secs: u32,
}

impl Default for LeaderElectionConfig {
    fn default() -> LeaderElectionConfig {
        LeaderElectionConfig {
            enabled: false,
            lease_name: DEFAULT_LEASE_NAME.to_string(),
            lease_namespace: None,
            identity: None,
            lease_duration_secs: 15,
            renew_deadline_secs: 10,
            retry_period_secs: 2,
        }
    }
}

/// `a.b-c`: lowercase DNS-1123 labels joined by dots, at most 253 characters.
fn is_dns1123_subdomain(name: &str) -> bool {
    name.len() <= 253
        && name.split('.').all(|label| {
            let bytes = label.as_bytes();
            match (bytes.first(), bytes.last()) {
                (Some(first), Some(last)) => {
                    first.is_ascii_alphanumeric()
                        && last.is_ascii_alphanumeric()
                        && bytes.iter().all(|byte| {
                            byte.is_ascii_digit() || byte.is_ascii_lowercase() || *byte == b'-'
                        })
                }
                _ => false,
            }
        })
}

impl LeaderElectionConfig {
    /// Every problem with these settings (`prefix` names them, e.g. `leader_election`).
    pub fn problems(&self, prefix: &str) -> Vec<String> {
        let mut problems = Vec::new();
        if !is_dns1123_subdomain(&self.lease_name) {
            problems.push(format!(
                "{prefix}.lease_name: {:?} is not a valid Lease name",
                self.lease_name
            ));
        }
        if let Some(namespace) = &self.lease_namespace
            && !crate::is_dns1123_label(namespace)
        {
            problems.push(format!(
                "{prefix}.lease_namespace: {namespace:?} is not a valid namespace name"
            ));
        }
        if self
            .identity
            .as_ref()
            .is_some_and(|identity| identity.trim().is_empty())
        {
            problems.push(format!("{prefix}.identity must not be empty"));
        }
        if self.retry_period_secs == 0 {
            problems.push(format!("{prefix}.retry_period_secs must be at least 1"));
        }
        if self.lease_duration_secs > MAX_LEASE_DURATION_SECS {
            problems.push(format!(
                "{prefix}.lease_duration_secs must be at most {MAX_LEASE_DURATION_SECS}"
            ));
        }
        if self.lease_duration_secs <= self.renew_deadline_secs {
            problems.push(format!(
                "{prefix}.lease_duration_secs ({}) must be greater than renew_deadline_secs ({})",
                self.lease_duration_secs, self.renew_deadline_secs
            ));
        }
        if f64::from(self.renew_deadline_secs) <= JITTER_FACTOR * f64::from(self.retry_period_secs)
        {
            problems.push(format!(
                "{prefix}.renew_deadline_secs ({}) must be greater than 1.2 times retry_period_secs ({})",
                self.renew_deadline_secs, self.retry_period_secs
            ));
        }
        problems
    }

    /// The settings with their defaults filled from this process's environment.
    pub fn resolve(&self) -> ElectionSettings {
        self.resolve_with(
            |name| std::env::var(name).ok(),
            Path::new(SERVICE_ACCOUNT_NAMESPACE_FILE),
        )
    }

    /// [`Self::resolve`] with the environment and the namespace file given (tests).
    fn resolve_with(
        &self,
        env: impl Fn(&str) -> Option<String>,
        namespace_file: &Path,
    ) -> ElectionSettings {
        let non_empty = |value: Option<String>| {
            value
                .map(|value| value.trim().to_string())
                .filter(|value| !value.is_empty())
        };
        let namespace = non_empty(self.lease_namespace.clone())
            .or_else(|| non_empty(env("POD_NAMESPACE")))
            .or_else(|| non_empty(std::fs::read_to_string(namespace_file).ok()))
            .unwrap_or_else(|| "default".to_string());
        let identity = non_empty(self.identity.clone())
            .or_else(|| non_empty(env("POD_NAME")))
            .unwrap_or_else(|| {
                let host = non_empty(std::fs::read_to_string("/proc/sys/kernel/hostname").ok())
                    .or_else(|| non_empty(env("HOSTNAME")))
                    .unwrap_or_else(|| "kec-eventer".to_string());
                format!("{host}_{:016x}", rand::rng().random::<u64>())
            });
        ElectionSettings {
            lease_name: self.lease_name.clone(),
            namespace,
            identity,
            lease_duration: Duration::from_secs(u64::from(self.lease_duration_secs)),
            renew_deadline: Duration::from_secs(u64::from(self.renew_deadline_secs)),
            retry_period: Duration::from_secs(u64::from(self.retry_period_secs)),
        }
    }
}

/// [`LeaderElectionConfig`] with every default resolved.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ElectionSettings {
    pub lease_name: String,
    pub namespace: String,
    pub identity: String,
    pub lease_duration: Duration,
    pub renew_deadline: Duration,
    pub retry_period: Duration,
}

/// The leader election fields of a Lease (client-go's `LeaderElectionRecord`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
struct LeaseRecord {
    holder: String,
    lease_duration_secs: i32,
    acquire_time: Option<Timestamp>,
    renew_time: Option<Timestamp>,
    transitions: i32,
}

impl LeaseRecord {
    fn of(spec: Option<&LeaseSpec>) -> LeaseRecord {
        let Some(spec) = spec else {
            return LeaseRecord::default();
        };
        LeaseRecord {
            holder: spec.holder_identity.clone().unwrap_or_default(),
            lease_duration_secs: spec.lease_duration_seconds.unwrap_or(0),
            acquire_time: spec.acquire_time.as_ref().map(|time| time.0),
            renew_time: spec.renew_time.as_ref().map(|time| time.0),
            transitions: spec.lease_transitions.unwrap_or(0),
        }
    }

    /// `existing` with this record written over its leader election fields (the others, such
    /// as `strategy`, stay).
    fn into_spec(self, existing: Option<LeaseSpec>) -> LeaseSpec {
        LeaseSpec {
            holder_identity: Some(self.holder),
            lease_duration_seconds: Some(self.lease_duration_secs),
            acquire_time: self.acquire_time.map(MicroTime),
            renew_time: self.renew_time.map(MicroTime),
            lease_transitions: Some(self.transitions),
            ..existing.unwrap_or_default()
        }
    }

    fn lease_duration(&self) -> Duration {
        Duration::from_secs(u64::try_from(self.lease_duration_secs).unwrap_or(0))
    }
}

/// Whether `identity` may write the Lease at `now`: it is free, it is ours, or its record has
/// not changed for its duration since `observed_at` (by our clock).
fn may_write(record: &LeaseRecord, observed_at: Instant, identity: &str, now: Instant) -> bool {
    record.holder.is_empty()
        || record.holder == identity
        || observed_at + record.lease_duration() <= now
}

/// The last Lease read or written, and when its record last changed by our clock.
#[derive(Debug, Clone)]
struct Observed {
    record: LeaseRecord,
    at: Instant,
    /// Carries the resourceVersion the next update must name.
    lease: Lease,
}

/// How one attempt to acquire or renew ended.
#[derive(Debug)]
enum Attempt {
    /// The Lease is ours now.
    Leading,
    /// Someone else holds a valid Lease.
    HeldBy(String),
    /// The API server did not let us write (conflict, error); try again later.
    Failed(kube::Error),
}

/// Why leading ended.
enum LeadEnd {
    /// No renewal within the deadline, or someone else holds the Lease.
    Lost,
    /// Shutdown began.
    Shutdown,
    /// A source ended on its own: the pipeline is gone.
    SourcesEnded,
}

/// One candidate: reads and writes the Lease, and runs the sources while it leads.
pub(crate) struct LeaderElector {
    api: kube::Api<Lease>,
    settings: ElectionSettings,
    stats: Arc<EventerStats>,
    observed: Option<Observed>,
}

impl LeaderElector {
    pub fn new(
        api: kube::Api<Lease>,
        settings: ElectionSettings,
        stats: Arc<EventerStats>,
    ) -> LeaderElector {
        LeaderElector {
            api,
            settings,
            stats,
            observed: None,
        }
    }

    fn is_leader(&self) -> bool {
        self.observed
            .as_ref()
            .is_some_and(|observed| observed.record.holder == self.settings.identity)
    }

    fn duration_secs(&self) -> i32 {
        i32::try_from(self.settings.lease_duration.as_secs()).unwrap_or(i32::MAX)
    }

    /// client-go's `tryAcquireOrRenew`: GET the Lease; create it if missing; write ourselves
    /// into it when it is free, expired or ours.
    async fn try_acquire_or_renew(&mut self) -> Attempt {
        let now = Instant::now();
        let wall = Timestamp::now();
        let lease = match self.api.get_opt(&self.settings.lease_name).await {
            Ok(lease) => lease,
            Err(error) => return Attempt::Failed(error),
        };
        let Some(lease) = lease else {
            let record = LeaseRecord {
                holder: self.settings.identity.clone(),
                lease_duration_secs: self.duration_secs(),
                acquire_time: Some(wall),
                renew_time: Some(wall),
                transitions: 0,
            };
            let new_lease = Lease {
                metadata: ObjectMeta {
                    name: Some(self.settings.lease_name.clone()),
                    namespace: Some(self.settings.namespace.clone()),
                    ..ObjectMeta::default()
                },
                spec: Some(record.clone().into_spec(None)),
            };
            return match self.api.create(&PostParams::default(), &new_lease).await {
                Ok(created) => {
                    self.observed = Some(Observed {
                        record,
                        at: now,
                        lease: created,
                    });
                    Attempt::Leading
                }
                Err(error) => Attempt::Failed(error),
            };
        };

        let record = LeaseRecord::of(lease.spec.as_ref());
        let observed = match self.observed.take() {
            Some(observed) if observed.record == record => Observed { lease, ..observed },
            _ => Observed {
                record,
                at: now,
                lease,
            },
        };
        let identity = self.settings.identity.clone();
        if !may_write(&observed.record, observed.at, &identity, now) {
            let holder = observed.record.holder.clone();
            self.observed = Some(observed);
            return Attempt::HeldBy(holder);
        }
        let ours = observed.record.holder == identity;
        let record = LeaseRecord {
            holder: identity,
            lease_duration_secs: self.duration_secs(),
            acquire_time: if ours {
                observed.record.acquire_time
            } else {
                Some(wall)
            },
            renew_time: Some(wall),
            transitions: if ours {
                observed.record.transitions
            } else {
                observed.record.transitions.saturating_add(1)
            },
        };
        let mut update = observed.lease.clone();
        update.spec = Some(record.clone().into_spec(update.spec.take()));
        self.observed = Some(observed);
        match self
            .api
            .replace(&self.settings.lease_name, &PostParams::default(), &update)
            .await
        {
            Ok(written) => {
                self.observed = Some(Observed {
                    record,
                    at: now,
                    lease: written,
                });
                Attempt::Leading
            }
            Err(error) => Attempt::Failed(error),
        }
    }

    /// One attempt, bounded by the renew deadline so a hung request cannot hold the loop.
    async fn attempt(&mut self, limit: Duration) -> Option<Attempt> {
        tokio::time::timeout(limit, self.try_acquire_or_renew())
            .await
            .ok()
    }

    /// Retries until the Lease is ours (true) or shutdown (false).
    async fn acquire(&mut self, cancel: &CancellationToken) -> bool {
        loop {
            let renew_deadline = self.settings.renew_deadline;
            let attempt = tokio::select! {
                () = cancel.cancelled() => return false,
                attempt = self.attempt(renew_deadline) => attempt,
            };
            match attempt {
                Some(Attempt::Leading) => return true,
                Some(Attempt::HeldBy(holder)) => {
                    tracing::debug!(lease = %self.settings.lease_name, %holder, "the lease is held; following");
                }
                Some(Attempt::Failed(error)) => {
                    tracing::warn!(lease = %self.settings.lease_name, %error, "cannot acquire the lease; retrying");
                }
                None => {
                    tracing::warn!(lease = %self.settings.lease_name, "acquiring the lease timed out; retrying");
                }
            }
            let jitter = rand::rng().random_range(0.0..JITTER_FACTOR);
            let delay = self.settings.retry_period.mul_f64(1.0 + jitter);
            tokio::select! {
                () = cancel.cancelled() => return false,
                () = tokio::time::sleep(delay) => {}
            }
        }
    }

    /// client-go's `renew`: every `retry_period`, a round of attempts that must succeed within
    /// `renew_deadline`.
    async fn renew(&mut self, cancel: &CancellationToken, sources: &mut JoinSet<()>) -> LeadEnd {
        loop {
            tokio::select! {
                () = cancel.cancelled() => return LeadEnd::Shutdown,
                Some(_) = sources.join_next() => return LeadEnd::SourcesEnded,
                () = tokio::time::sleep(self.settings.retry_period) => {}
            }
            let round_deadline = Instant::now() + self.settings.renew_deadline;
            loop {
                let remaining = round_deadline.saturating_duration_since(Instant::now());
                let attempt = tokio::select! {
                    () = cancel.cancelled() => return LeadEnd::Shutdown,
                    attempt = self.attempt(remaining) => attempt,
                };
                match attempt {
                    Some(Attempt::Leading) => break,
                    Some(Attempt::HeldBy(holder)) => {
                        tracing::warn!(lease = %self.settings.lease_name, %holder, "another replica holds the lease");
                        return LeadEnd::Lost;
                    }
                    Some(Attempt::Failed(error)) => {
                        tracing::warn!(lease = %self.settings.lease_name, %error, "cannot renew the lease");
                    }
                    None => {}
                }
                if Instant::now() + self.settings.retry_period >= round_deadline {
                    return LeadEnd::Lost;
                }
                tokio::select! {
                    () = cancel.cancelled() => return LeadEnd::Shutdown,
                    () = tokio::time::sleep(self.settings.retry_period) => {}
                }
            }
        }
    }

    /// On shutdown: hand the Lease back so a follower need not wait for it to expire.
    async fn release(&mut self) {
        if !self.is_leader() {
            return;
        }
        let Some(observed) = self.observed.take() else {
            return;
        };
        let wall = Timestamp::now();
        let record = LeaseRecord {
            holder: String::new(),
            lease_duration_secs: 1,
            acquire_time: Some(wall),
            renew_time: Some(wall),
            transitions: observed.record.transitions,
        };
        let mut update = observed.lease;
        update.spec = Some(record.into_spec(update.spec.take()));
        let released = tokio::time::timeout(
            self.settings.renew_deadline,
            self.api
                .replace(&self.settings.lease_name, &PostParams::default(), &update),
        )
        .await;
        match released {
            Ok(Ok(_)) => {
                tracing::info!(lease = %self.settings.lease_name, "released the lease");
            }
            Ok(Err(error)) => {
                tracing::warn!(lease = %self.settings.lease_name, %error, "cannot release the lease; it expires on its own");
            }
            Err(_) => {
                tracing::warn!(lease = %self.settings.lease_name, "releasing the lease timed out; it expires on its own");
            }
        }
    }

    /// Acquires, runs the sources while leading, stops them when leadership is lost and tries
    /// again; on shutdown stops the sources, then releases the Lease.
    pub async fn lead_sources(mut self, sources: Sources, cancel: CancellationToken) {
        let lease = format!("{}/{}", self.settings.namespace, self.settings.lease_name);
        tracing::info!(%lease, identity = %self.settings.identity, "waiting to lead");
        loop {
            if !self.acquire(&cancel).await {
                return;
            }
            self.stats.leader.store(1, Ordering::Relaxed);
            self.stats
                .leader_acquisitions
                .fetch_add(1, Ordering::Relaxed);
            tracing::info!(%lease, identity = %self.settings.identity, "leading; starting the sources");
            let leading = cancel.child_token();
            // Dropping the set (kill -9 in tests aborts this task) aborts the sources too.
            let mut running = JoinSet::new();
            for source in sources.loops(&leading) {
                running.spawn(source);
            }
            let end = self.renew(&cancel, &mut running).await;
            leading.cancel();
            while running.join_next().await.is_some() {}
            self.stats.leader.store(0, Ordering::Relaxed);
            match end {
                LeadEnd::Lost => {
                    self.stats.leader_losses.fetch_add(1, Ordering::Relaxed);
                    tracing::warn!(%lease, "lost the lease; sources stopped, trying to lead again");
                }
                LeadEnd::Shutdown | LeadEnd::SourcesEnded => {
                    self.release().await;
                    return;
                }
            }
        }
    }
}

/// Starts the sources: at once without leader election, else one task that runs them only
/// while this replica holds the Lease.
pub(crate) fn spawn_sources(
    sources: Sources,
    election: &LeaderElectionConfig,
    cancel: &CancellationToken,
) -> Vec<JoinHandle<()>> {
    if !election.enabled {
        sources.stats.leader.store(1, Ordering::Relaxed);
        return sources
            .loops(cancel)
            .into_iter()
            .map(tokio::spawn)
            .collect();
    }
    let settings = election.resolve();
    let api = kube::Api::<Lease>::namespaced(sources.client.clone(), &settings.namespace);
    let elector = LeaderElector::new(api, settings, sources.stats.clone());
    vec![tokio::spawn(elector.lead_sources(sources, cancel.clone()))]
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record(holder: &str, duration_secs: i32) -> LeaseRecord {
        LeaseRecord {
            holder: holder.to_string(),
            lease_duration_secs: duration_secs,
            ..LeaseRecord::default()
        }
    }

    #[test]
    fn the_defaults_are_client_gos_and_valid() {
        let config = LeaderElectionConfig::default();
        assert!(!config.enabled);
        assert_eq!(config.lease_name, "kec-eventer");
        assert_eq!(
            (
                config.lease_duration_secs,
                config.renew_deadline_secs,
                config.retry_period_secs
            ),
            (15, 10, 2)
        );
        assert_eq!(config.problems("leader_election"), Vec::<String>::new());
    }

    #[test]
    fn every_timing_and_name_problem_is_reported() {
        let config = LeaderElectionConfig {
            enabled: true,
            lease_name: "Kec_Eventer".into(),
            lease_namespace: Some("Prod".into()),
            identity: Some(" ".into()),
            lease_duration_secs: 10,
            renew_deadline_secs: 10,
            retry_period_secs: 0,
        };
        let problems = config.problems("leader_election");
        assert_eq!(problems.len(), 5, "{problems:#?}");
        assert!(problems[0].contains("lease_name"));
        assert!(problems[4].contains("greater than renew_deadline_secs"));

        let jitter = LeaderElectionConfig {
            lease_duration_secs: 4,
            renew_deadline_secs: 3,
            retry_period_secs: 3,
            ..LeaderElectionConfig::default()
        };
        assert_eq!(
            jitter.problems("le"),
            vec![
                "le.renew_deadline_secs (3) must be greater than 1.2 times retry_period_secs (3)"
                    .to_string()
            ]
        );
        let three_two_one = LeaderElectionConfig {
            lease_duration_secs: 3,
            renew_deadline_secs: 2,
            retry_period_secs: 1,
            ..LeaderElectionConfig::default()
        };
        assert!(three_two_one.problems("le").is_empty());
    }

    #[test]
    fn lease_names_are_dns_subdomains() {
        for good in ["kec-eventer", "a", "kec.eventer-1", "0x"] {
            assert!(is_dns1123_subdomain(good), "{good}");
        }
        for bad in ["", "-a", "a-", "a..b", "A", "a_b", ".a", &"a".repeat(254)] {
            assert!(!is_dns1123_subdomain(bad), "{bad}");
        }
    }

    #[test]
    fn yaml_reads_with_defaults_and_refuses_unknown_fields() {
        let config: LeaderElectionConfig =
            serde_json::from_str(r#"{"enabled": true, "lease_namespace": "kec"}"#).unwrap();
        assert!(config.enabled);
        assert_eq!(config.lease_name, DEFAULT_LEASE_NAME);
        assert_eq!(config.lease_namespace.as_deref(), Some("kec"));
        assert_eq!(config.retry_period_secs, 2);
        let unknown = serde_json::from_str::<LeaderElectionConfig>(r#"{"lease": "x"}"#);
        assert!(unknown.is_err());
    }

    #[test]
    fn namespace_and_identity_come_from_the_pod_then_the_host() {
        let dir = tempfile::tempdir().unwrap();
        let namespace_file = dir.path().join("namespace");
        let config = LeaderElectionConfig::default();

        let from_pod = config.resolve_with(
            |name| match name {
                "POD_NAMESPACE" => Some("kec-system".into()),
                "POD_NAME" => Some("kec-eventer-7d9f-abcde".into()),
                _ => None,
            },
            &namespace_file,
        );
        assert_eq!(from_pod.namespace, "kec-system");
        assert_eq!(from_pod.identity, "kec-eventer-7d9f-abcde");
        assert_eq!(from_pod.lease_duration, Duration::from_secs(15));

        std::fs::write(&namespace_file, "monitoring\n").unwrap();
        let from_file = config.resolve_with(|_| None, &namespace_file);
        assert_eq!(from_file.namespace, "monitoring");
        let other = config.resolve_with(|_| None, &namespace_file);
        assert_ne!(
            from_file.identity, other.identity,
            "host identities carry a random suffix"
        );
        assert!(from_file.identity.contains('_'));

        let nothing = config.resolve_with(|_| None, &dir.path().join("missing"));
        assert_eq!(nothing.namespace, "default");

        let explicit = LeaderElectionConfig {
            lease_namespace: Some("ops".into()),
            identity: Some("replica-1".into()),
            ..LeaderElectionConfig::default()
        }
        .resolve_with(|_| Some("ignored".into()), &namespace_file);
        assert_eq!(
            (explicit.namespace.as_str(), explicit.identity.as_str()),
            ("ops", "replica-1")
        );
    }

    #[test]
    fn a_held_lease_may_be_taken_only_when_free_ours_or_unchanged_for_its_duration() {
        let observed_at = Instant::now();
        let held = record("other", 15);
        assert!(!may_write(&held, observed_at, "me", observed_at));
        assert!(!may_write(
            &held,
            observed_at,
            "me",
            observed_at + Duration::from_secs(14)
        ));
        assert!(may_write(
            &held,
            observed_at,
            "me",
            observed_at + Duration::from_secs(15)
        ));
        assert!(may_write(&record("", 15), observed_at, "me", observed_at));
        assert!(may_write(&record("me", 15), observed_at, "me", observed_at));
        // A released Lease says one second; a broken one (negative) is expired at once.
        assert!(may_write(
            &record("other", -5),
            observed_at,
            "me",
            observed_at
        ));
    }

    #[test]
    fn records_round_trip_through_the_lease_spec_keeping_other_fields() {
        let now = Timestamp::now();
        let record = LeaseRecord {
            holder: "me".into(),
            lease_duration_secs: 15,
            acquire_time: Some(now),
            renew_time: Some(now),
            transitions: 3,
        };
        let existing = LeaseSpec {
            strategy: Some("OldestEmulationVersion".into()),
            holder_identity: Some("other".into()),
            ..LeaseSpec::default()
        };
        let spec = record.clone().into_spec(Some(existing));
        assert_eq!(spec.strategy.as_deref(), Some("OldestEmulationVersion"));
        assert_eq!(LeaseRecord::of(Some(&spec)), record);
        assert_eq!(LeaseRecord::of(None), LeaseRecord::default());
    }
}
