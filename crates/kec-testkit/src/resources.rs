//! The resources the fake API server serves: [`ResourceKind`] (what is stored, once) and the
//! table of API endpoints over it (Events are stored once and served as both core/v1 and
//! events.k8s.io/v1), plus the parser of request paths.

/// A kind of stored object. Events are stored once, in their core/v1 form, whatever API
/// version wrote them (as kube-apiserver stores them in etcd).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum ResourceKind {
    Event,
    Node,
    Pod,
    ReplicaSet,
    Deployment,
    Job,
    CronJob,
    Lease,
    ConfigMap,
    Secret,
}

impl ResourceKind {
    pub const ALL: [ResourceKind; 10] = [
        ResourceKind::Event,
        ResourceKind::Node,
        ResourceKind::Pod,
        ResourceKind::ReplicaSet,
        ResourceKind::Deployment,
        ResourceKind::Job,
        ResourceKind::CronJob,
        ResourceKind::Lease,
        ResourceKind::ConfigMap,
        ResourceKind::Secret,
    ];

    /// Position in [`ResourceKind::ALL`], used to index per-kind storage.
    pub(crate) fn index(self) -> usize {
        self as usize
    }

    /// The endpoint that serves this kind in its storage version.
    pub fn storage_resource(self) -> &'static ApiResource {
        match self {
            ResourceKind::Event => &CORE_EVENTS,
            ResourceKind::Node => &NODES,
            ResourceKind::Pod => &PODS,
            ResourceKind::ReplicaSet => &REPLICA_SETS,
            ResourceKind::Deployment => &DEPLOYMENTS,
            ResourceKind::Job => &JOBS,
            ResourceKind::CronJob => &CRON_JOBS,
            ResourceKind::Lease => &LEASES,
            ResourceKind::ConfigMap => &CONFIG_MAPS,
            ResourceKind::Secret => &SECRETS,
        }
    }

    pub fn is_namespaced(self) -> bool {
        self.storage_resource().namespaced
    }

    /// Events are not served from the watch cache: no bookmarks, `resourceVersion=0` lists are
    /// paginated, and stale watches fail the etcd way.
    pub fn bypasses_watch_cache(self) -> bool {
        self == ResourceKind::Event
    }
}

/// How Event objects are shaped on the wire for one endpoint.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Representation {
    /// The stored JSON as is (core/v1 for Events).
    Storage,
    /// events.k8s.io/v1 Event, converted from and to the stored core/v1 Event.
    EventsV1,
}

/// One resource endpoint: `/api/v1/...` or `/apis/<group>/<version>/...`.
#[derive(Debug, PartialEq, Eq)]
pub struct ApiResource {
    pub group: &'static str,
    pub version: &'static str,
    pub plural: &'static str,
    pub kind: &'static str,
    pub namespaced: bool,
    pub storage: ResourceKind,
    pub representation: Representation,
}

impl ApiResource {
    /// `v1` or `<group>/<version>`, as written in `apiVersion`.
    pub fn api_version(&self) -> String {
        if self.group.is_empty() {
            self.version.to_string()
        } else {
            format!("{}/{}", self.group, self.version)
        }
    }
}

const fn core(
    plural: &'static str,
    kind: &'static str,
    namespaced: bool,
    storage: ResourceKind,
) -> ApiResource {
    ApiResource {
        group: "",
        version: "v1",
        plural,
        kind,
        namespaced,
        storage,
        representation: Representation::Storage,
    }
}

const fn grouped(
    group: &'static str,
    plural: &'static str,
    kind: &'static str,
    storage: ResourceKind,
) -> ApiResource {
    ApiResource {
        group,
        version: "v1",
        plural,
        kind,
        namespaced: true,
        storage,
        representation: Representation::Storage,
    }
}

pub static CORE_EVENTS: ApiResource = core("events", "Event", true, ResourceKind::Event);
pub static EVENTS_V1: ApiResource = ApiResource {
    group: "events.k8s.io",
    version: "v1",
    plural: "events",
    kind: "Event",
    namespaced: true,
    storage: ResourceKind::Event,
    representation: Representation::EventsV1,
};
pub static NODES: ApiResource = core("nodes", "Node", false, ResourceKind::Node);
pub static PODS: ApiResource = core("pods", "Pod", true, ResourceKind::Pod);
pub static CONFIG_MAPS: ApiResource =
    core("configmaps", "ConfigMap", true, ResourceKind::ConfigMap);
pub static SECRETS: ApiResource = core("secrets", "Secret", true, ResourceKind::Secret);
pub static REPLICA_SETS: ApiResource = grouped(
    "apps",
    "replicasets",
    "ReplicaSet",
    ResourceKind::ReplicaSet,
);
pub static DEPLOYMENTS: ApiResource = grouped(
    "apps",
    "deployments",
    "Deployment",
    ResourceKind::Deployment,
);
pub static JOBS: ApiResource = grouped("batch", "jobs", "Job", ResourceKind::Job);
pub static CRON_JOBS: ApiResource = grouped("batch", "cronjobs", "CronJob", ResourceKind::CronJob);
pub static LEASES: ApiResource = grouped(
    "coordination.k8s.io",
    "leases",
    "Lease",
    ResourceKind::Lease,
);

/// Every endpoint, in discovery order.
pub static API_RESOURCES: [&ApiResource; 11] = [
    &CORE_EVENTS,
    &NODES,
    &PODS,
    &CONFIG_MAPS,
    &SECRETS,
    &EVENTS_V1,
    &REPLICA_SETS,
    &DEPLOYMENTS,
    &JOBS,
    &CRON_JOBS,
    &LEASES,
];

/// The group/versions served, as `(group, version)`; `""` is the core group under `/api`.
pub fn group_versions() -> Vec<(&'static str, &'static str)> {
    let mut seen = Vec::new();
    for resource in API_RESOURCES {
        if !seen.contains(&(resource.group, resource.version)) {
            seen.push((resource.group, resource.version));
        }
    }
    seen
}

/// A request path that names a resource endpoint.
#[derive(Debug, Clone, PartialEq)]
pub struct ResourcePath {
    pub resource: &'static ApiResource,
    /// From `/namespaces/<ns>/...`; `None` for cluster-scoped kinds and all-namespaces lists.
    pub namespace: Option<String>,
    pub name: Option<String>,
    /// `status` of `/nodes/<name>/status`.
    pub subresource: Option<String>,
    /// The deprecated `/api/v1/watch/...` form.
    pub legacy_watch: bool,
}

/// What a path asks for.
#[derive(Debug, Clone, PartialEq)]
pub enum ParsedPath {
    Resource(ResourcePath),
    /// `/api`, `/apis`, `/api/v1`, `/apis/<group>/<version>`, `/version`, health checks.
    Discovery(DiscoveryPath),
    /// Anything else: kube-apiserver answers `404 page not found` in plain text.
    Unknown,
}

#[derive(Debug, Clone, PartialEq)]
pub enum DiscoveryPath {
    CoreVersions,
    Groups,
    ResourceList {
        group: &'static str,
        version: &'static str,
    },
    Version,
    Health,
}

/// Parses `/api/v1/namespaces/default/events/foo` and friends.
pub fn parse_path(path: &str) -> ParsedPath {
    let segments = path
        .trim_matches('/')
        .split('/')
        .filter(|segment| !segment.is_empty())
        .collect::<Vec<_>>();
    let (group, version, rest) = match segments.as_slice() {
        ["version"] => return ParsedPath::Discovery(DiscoveryPath::Version),
        ["healthz" | "livez" | "readyz", ..] => {
            return ParsedPath::Discovery(DiscoveryPath::Health);
        }
        ["api"] => return ParsedPath::Discovery(DiscoveryPath::CoreVersions),
        ["apis"] => return ParsedPath::Discovery(DiscoveryPath::Groups),
        ["api", version, rest @ ..] => ("", *version, rest),
        ["apis", group, version, rest @ ..] => (*group, *version, rest),
        _ => return ParsedPath::Unknown,
    };
    let Some((group, version)) = group_versions()
        .into_iter()
        .find(|(known_group, known_version)| *known_group == group && *known_version == version)
    else {
        return ParsedPath::Unknown;
    };
    if rest.is_empty() {
        return ParsedPath::Discovery(DiscoveryPath::ResourceList { group, version });
    }
    let (legacy_watch, rest) = match rest {
        ["watch", rest @ ..] => (true, rest),
        _ => (false, rest),
    };
    let (namespace, plural, name, subresource) = match rest {
        ["namespaces", namespace, plural, tail @ ..] => (
            Some((*namespace).to_string()),
            *plural,
            tail.first(),
            tail.get(1),
        ),
        [plural, tail @ ..] => (None, *plural, tail.first(), tail.get(1)),
        [] => return ParsedPath::Unknown,
    };
    if rest.len() > 5 || (namespace.is_none() && rest.len() > 3) {
        return ParsedPath::Unknown;
    }
    let Some(resource) = API_RESOURCES.iter().copied().find(|resource| {
        resource.group == group && resource.version == version && resource.plural == plural
    }) else {
        return ParsedPath::Unknown;
    };
    // A namespaced object is only addressed through its namespace; a cluster-scoped one never is.
    if namespace.is_some() && !resource.namespaced {
        return ParsedPath::Unknown;
    }
    if namespace.is_none() && resource.namespaced && name.is_some() {
        return ParsedPath::Unknown;
    }
    ParsedPath::Resource(ResourcePath {
        resource,
        namespace,
        name: name.map(|name| (*name).to_string()),
        subresource: subresource.map(|subresource| (*subresource).to_string()),
        legacy_watch,
    })
}

/// The storage key of an object, ordered like etcd keys: `<namespace>/<name>` or `<name>`.
pub fn object_key(kind: ResourceKind, namespace: &str, name: &str) -> String {
    if kind.is_namespaced() {
        format!("{namespace}/{name}")
    } else {
        name.to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn resource_path(path: &str) -> ResourcePath {
        match parse_path(path) {
            ParsedPath::Resource(resource_path) => resource_path,
            other => panic!("{path} parsed as {other:?}"),
        }
    }

    #[test]
    fn paths_name_the_endpoint_namespace_name_and_subresource() {
        let all_events = resource_path("/api/v1/events");
        assert_eq!(all_events.resource, &CORE_EVENTS);
        assert_eq!(all_events.namespace, None);

        let one_event = resource_path("/apis/events.k8s.io/v1/namespaces/default/events/web.1");
        assert_eq!(one_event.resource, &EVENTS_V1);
        assert_eq!(one_event.namespace.as_deref(), Some("default"));
        assert_eq!(one_event.name.as_deref(), Some("web.1"));

        let node_status = resource_path("/api/v1/nodes/node-1/status");
        assert_eq!(node_status.resource, &NODES);
        assert_eq!(node_status.subresource.as_deref(), Some("status"));

        let legacy = resource_path("/api/v1/watch/namespaces/prod/pods");
        assert!(legacy.legacy_watch);
        assert_eq!(legacy.resource, &PODS);
    }

    #[test]
    fn wrongly_scoped_or_unknown_paths_are_not_resources() {
        assert_eq!(
            parse_path("/api/v1/namespaces/default/nodes"),
            ParsedPath::Unknown
        );
        assert_eq!(parse_path("/api/v1/events/some-name"), ParsedPath::Unknown);
        assert_eq!(parse_path("/apis/apps/v2/deployments"), ParsedPath::Unknown);
        assert_eq!(parse_path("/metrics"), ParsedPath::Unknown);
        assert_eq!(
            parse_path("/apis/apps/v1"),
            ParsedPath::Discovery(DiscoveryPath::ResourceList {
                group: "apps",
                version: "v1"
            })
        );
    }
}
