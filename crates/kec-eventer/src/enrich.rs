//! Enrichment: what the API server knows about an Event's object, added to the Event before
//! routing (see [`kec_model::enrichment`] for how it travels): the node a pod runs on, the
//! owner workload (Pod -> ReplicaSet -> Deployment, Pod -> Job -> CronJob) and selected labels.
//!
//! Everything comes from caches fed by watches (kube-runtime's watcher, with its backoff and
//! relists): Pods, and the metadata only of ReplicaSets and Jobs. Never a GET per Event.
//! Memory is bounded: each cache keeps only the few fields used, for at most `max_objects`
//! objects per kind, least recently used first out. Deleted objects stay cached until evicted,
//! because their last Events (Killing, ...) arrive after the deletion.
//!
//! A cache miss (an object the watches have not seen yet, or evicted) leaves the Event as it
//! is; enrichment never delays an Event.

use std::collections::BTreeMap;
use std::num::NonZeroUsize;
use std::sync::{Arc, Mutex};

use futures_util::StreamExt;
use k8s_openapi::api::apps::v1::ReplicaSet;
use k8s_openapi::api::batch::v1::Job;
use k8s_openapi::api::core::v1::Pod;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{ObjectMeta, OwnerReference};
use kec_model::EventRecord;
use kec_model::enrichment::{Enrichment, Workload};
use kube::core::PartialObjectMeta;
use kube::runtime::{WatchStreamExt, watcher};
use lru::LruCache;
use serde::{Deserialize, Serialize};
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

/// Enrichment settings (`enrichment:` in the config).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct EnrichmentConfig {
    /// Watch Pods, ReplicaSets and Jobs to enrich Events (needs list/watch on them).
    pub enabled: bool,
    /// Label keys of the involved object to add (and to route on).
    pub labels: Vec<String>,
    /// Most objects cached per kind.
    pub max_objects: usize,
}

impl Default for EnrichmentConfig {
    fn default() -> EnrichmentConfig {
        EnrichmentConfig {
            enabled: true,
            labels: vec![
                "app".to_string(),
                "app.kubernetes.io/name".to_string(),
                "app.kubernetes.io/instance".to_string(),
                "team".to_string(),
            ],
            max_objects: 100_000,
        }
    }
}

impl EnrichmentConfig {
    pub fn problems(&self, field: &str) -> Vec<String> {
        if self.enabled && self.max_objects == 0 {
            vec![format!("{field}.max_objects must be at least 1")]
        } else {
            Vec::new()
        }
    }
}

/// (namespace, name)
type Key = (String, String);

/// (kind, namespace, name) of a ReplicaSet or Job.
type OwnerKey = (&'static str, String, String);

/// What is kept of a Pod.
#[derive(Debug, Clone, PartialEq, Eq)]
struct PodFacts {
    node: Option<String>,
    owner: Option<Workload>,
    labels: Vec<(String, String)>,
}

/// The caches; cheap to share.
#[derive(Debug)]
pub struct Enricher {
    labels: Vec<String>,
    pods: Mutex<LruCache<Key, PodFacts>>,
    /// Owner of each ReplicaSet / Job (None: it has none).
    owners: Mutex<LruCache<OwnerKey, Option<Workload>>>,
}

fn controller_of(owners: Option<&Vec<OwnerReference>>) -> Option<Workload> {
    let owners = owners?;
    owners
        .iter()
        .find(|owner| owner.controller == Some(true))
        .or_else(|| owners.first())
        .map(|owner| Workload {
            kind: owner.kind.clone(),
            name: owner.name.clone(),
        })
}

fn key(meta: &ObjectMeta) -> Option<Key> {
    Some((
        meta.namespace.clone().unwrap_or_default(),
        meta.name.clone()?,
    ))
}

impl Enricher {
    pub fn new(config: &EnrichmentConfig) -> Enricher {
        let capacity = NonZeroUsize::new(config.max_objects).unwrap_or(NonZeroUsize::MIN);
        Enricher {
            labels: config.labels.clone(),
            pods: Mutex::new(LruCache::new(capacity)),
            owners: Mutex::new(LruCache::new(capacity)),
        }
    }

    /// Remembers a Pod.
    pub fn note_pod(&self, pod: &Pod) {
        let Some(key) = key(&pod.metadata) else {
            return;
        };
        let labels = pod
            .metadata
            .labels
            .as_ref()
            .map(|labels| {
                self.labels
                    .iter()
                    .filter_map(|wanted| Some((wanted.clone(), labels.get(wanted)?.clone())))
                    .collect()
            })
            .unwrap_or_default();
        let facts = PodFacts {
            node: pod.spec.as_ref().and_then(|spec| spec.node_name.clone()),
            owner: controller_of(pod.metadata.owner_references.as_ref()),
            labels,
        };
        if let Ok(mut pods) = self.pods.lock() {
            pods.put(key, facts);
        }
    }

    /// Remembers the owner of a ReplicaSet or a Job.
    pub fn note_owner(&self, kind: &'static str, meta: &ObjectMeta) {
        let Some((namespace, name)) = key(meta) else {
            return;
        };
        if let Ok(mut owners) = self.owners.lock() {
            owners.put(
                (kind, namespace, name),
                controller_of(meta.owner_references.as_ref()),
            );
        }
    }

    /// Objects cached (pods, owners).
    pub fn cached(&self) -> (usize, usize) {
        (
            self.pods.lock().map_or(0, |pods| pods.len()),
            self.owners.lock().map_or(0, |owners| owners.len()),
        )
    }

    /// The workload at the top of the owner chain that starts at `owner`.
    fn top_workload(&self, namespace: &str, owner: Workload) -> Workload {
        let kind = match owner.kind.as_str() {
            "ReplicaSet" => "ReplicaSet",
            "Job" => "Job",
            _ => return owner,
        };
        let parent = self.owners.lock().ok().and_then(|mut owners| {
            owners
                .get(&(kind, namespace.to_string(), owner.name.clone()))
                .cloned()
                .flatten()
        });
        parent.unwrap_or(owner)
    }

    /// What the caches know about the Event's object.
    pub fn lookup(&self, record: &EventRecord) -> Enrichment {
        let object = &record.object;
        let namespace = if object.namespace.is_empty() {
            &record.namespace
        } else {
            &object.namespace
        };
        let mut enrichment = Enrichment::default();
        match object.kind.as_str() {
            "Pod" => {
                let facts = self.pods.lock().ok().and_then(|mut pods| {
                    pods.get(&(namespace.clone(), object.name.clone())).cloned()
                });
                if let Some(facts) = facts {
                    enrichment.node = facts.node;
                    enrichment.workload =
                        facts.owner.map(|owner| self.top_workload(namespace, owner));
                    enrichment.labels = facts.labels.into_iter().collect::<BTreeMap<_, _>>();
                }
            }
            "ReplicaSet" | "Job" => {
                let owner = Workload {
                    kind: object.kind.clone(),
                    name: object.name.clone(),
                };
                let top = self.top_workload(namespace, owner.clone());
                if top != owner {
                    enrichment.workload = Some(top);
                }
            }
            _ => {}
        }
        enrichment
    }

    /// The record with what the caches know added (unchanged on a miss), and the object's
    /// labels for routing.
    pub fn enrich(&self, record: &EventRecord) -> (Option<EventRecord>, BTreeMap<String, String>) {
        let enrichment = self.lookup(record);
        if enrichment.is_empty() {
            return (None, BTreeMap::new());
        }
        let labels = enrichment.labels.clone();
        (Some(record.with_enrichment(&enrichment)), labels)
    }

    /// Starts the watches that feed the caches (all namespaces, or the given ones).
    pub fn start(
        self: &Arc<Self>,
        client: &kube::Client,
        namespaces: &[String],
        cancel: &CancellationToken,
    ) -> Vec<JoinHandle<()>> {
        let scopes: Vec<Option<&String>> = if namespaces.is_empty() {
            vec![None]
        } else {
            namespaces.iter().map(Some).collect()
        };
        let mut tasks = Vec::new();
        for scope in scopes {
            let pods: kube::Api<Pod> = scoped_api(client, scope);
            // Metadata-only requests: owners are all that is kept of these.
            let replica_sets: kube::Api<PartialObjectMeta<ReplicaSet>> = scoped_api(client, scope);
            let jobs: kube::Api<PartialObjectMeta<Job>> = scoped_api(client, scope);
            let enricher = self.clone();
            tasks.push(spawn_until(cancel, async move {
                let mut stream = watcher(pods, watcher::Config::default())
                    .default_backoff()
                    .boxed();
                while let Some(event) = stream.next().await {
                    match event {
                        Ok(watcher::Event::Apply(pod) | watcher::Event::InitApply(pod)) => {
                            enricher.note_pod(&pod);
                        }
                        Ok(_) => {}
                        Err(error) => tracing::debug!(%error, "pod watch for enrichment"),
                    }
                }
            }));
            let enricher = self.clone();
            tasks.push(spawn_until(cancel, async move {
                let mut stream = watcher(replica_sets, watcher::Config::default())
                    .default_backoff()
                    .boxed();
                while let Some(event) = stream.next().await {
                    if let Ok(watcher::Event::Apply(rs) | watcher::Event::InitApply(rs)) = event {
                        enricher.note_owner("ReplicaSet", &rs.metadata);
                    }
                }
            }));
            let enricher = self.clone();
            tasks.push(spawn_until(cancel, async move {
                let mut stream = watcher(jobs, watcher::Config::default())
                    .default_backoff()
                    .boxed();
                while let Some(event) = stream.next().await {
                    if let Ok(watcher::Event::Apply(job) | watcher::Event::InitApply(job)) = event {
                        enricher.note_owner("Job", &job.metadata);
                    }
                }
            }));
        }
        tasks
    }
}

fn scoped_api<K>(client: &kube::Client, namespace: Option<&String>) -> kube::Api<K>
where
    K: kube::Resource<Scope = kube::core::NamespaceResourceScope>,
    K::DynamicType: Default,
{
    match namespace {
        Some(namespace) => kube::Api::namespaced(client.clone(), namespace),
        None => kube::Api::all(client.clone()),
    }
}

fn spawn_until(
    cancel: &CancellationToken,
    work: impl std::future::Future<Output = ()> + Send + 'static,
) -> JoinHandle<()> {
    let cancel = cancel.clone();
    tokio::spawn(async move {
        tokio::select! {
            () = cancel.cancelled() => {}
            () = work => {}
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record(json: &str) -> EventRecord {
        match kec_model::parse_line(json.as_bytes(), "c", 0) {
            Ok(kec_model::ParsedLine::Observation(observation)) => observation.record,
            other => panic!("{other:?}"),
        }
    }

    fn meta(namespace: &str, name: &str, owner: Option<(&str, &str)>) -> ObjectMeta {
        ObjectMeta {
            namespace: Some(namespace.into()),
            name: Some(name.into()),
            owner_references: owner.map(|(kind, name)| {
                vec![OwnerReference {
                    kind: kind.into(),
                    name: name.into(),
                    controller: Some(true),
                    ..OwnerReference::default()
                }]
            }),
            ..ObjectMeta::default()
        }
    }

    fn pod(name: &str, node: &str, owner: (&str, &str)) -> Pod {
        let mut metadata = meta("prod", name, Some(owner));
        metadata.labels = Some(BTreeMap::from([
            ("app".to_string(), "web".to_string()),
            ("pod-template-hash".to_string(), "abc".to_string()),
        ]));
        Pod {
            metadata,
            spec: Some(k8s_openapi::api::core::v1::PodSpec {
                node_name: Some(node.into()),
                ..Default::default()
            }),
            ..Pod::default()
        }
    }

    fn pod_event(name: &str) -> EventRecord {
        record(&format!(
            r#"{{"metadata":{{"name":"{name}.1","namespace":"prod"}},"reason":"Scheduled",
                "involvedObject":{{"kind":"Pod","name":"{name}","namespace":"prod"}}}}"#
        ))
    }

    #[test]
    fn a_pod_event_gets_its_node_its_deployment_and_selected_labels() {
        let enricher = Enricher::new(&EnrichmentConfig::default());
        enricher.note_pod(&pod("web-abc-1", "node-3", ("ReplicaSet", "web-abc")));
        enricher.note_owner(
            "ReplicaSet",
            &meta("prod", "web-abc", Some(("Deployment", "web"))),
        );
        let (enriched, labels) = enricher.enrich(&pod_event("web-abc-1"));
        let enriched = enriched.unwrap();
        assert_eq!(enriched.node, "node-3");
        let added = &enriched.raw.to_value()[kec_model::enrichment::ENRICHMENT_KEY];
        assert_eq!(added["workload"]["kind"], "Deployment");
        assert_eq!(added["workload"]["name"], "web");
        assert_eq!(
            labels,
            BTreeMap::from([("app".to_string(), "web".to_string())])
        );
        assert!(
            added["labels"].get("pod-template-hash").is_none(),
            "only selected labels"
        );
    }

    #[test]
    fn a_job_pod_leads_to_its_cron_job_and_misses_change_nothing() {
        let enricher = Enricher::new(&EnrichmentConfig::default());
        enricher.note_pod(&pod("backup-1-x", "node-1", ("Job", "backup-1")));
        enricher.note_owner(
            "Job",
            &meta("prod", "backup-1", Some(("CronJob", "backup"))),
        );
        let workload = enricher.lookup(&pod_event("backup-1-x")).workload.unwrap();
        assert_eq!(
            (workload.kind.as_str(), workload.name.as_str()),
            ("CronJob", "backup")
        );
        let (unchanged, labels) = enricher.enrich(&pod_event("unknown"));
        assert!(unchanged.is_none() && labels.is_empty());
    }

    #[test]
    fn the_caches_stay_within_their_bound() {
        let enricher = Enricher::new(&EnrichmentConfig {
            max_objects: 10,
            ..EnrichmentConfig::default()
        });
        for index in 0..100 {
            enricher.note_pod(&pod(&format!("p{index}"), "n", ("ReplicaSet", "r")));
        }
        assert_eq!(enricher.cached().0, 10);
        assert!(
            enricher.lookup(&pod_event("p99")).node.is_some(),
            "newest kept"
        );
        assert!(
            enricher.lookup(&pod_event("p0")).node.is_none(),
            "oldest evicted"
        );
    }
}
