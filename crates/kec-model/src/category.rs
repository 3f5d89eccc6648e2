//! The classifier: a category for each Event from its reason, message, kind and source.
//!
//! Categories follow the problems people alert on (ACK's event alert catalog is the model).
//! The classifier looks at the reason first, because reasons are stable API; the message only
//! separates reasons that kubelet reuses (`BackOff` is both a crash loop and an image pull).

use serde::{Deserialize, Serialize};

/// What kind of problem (or not) an Event reports.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, PartialOrd, Ord)]
pub enum Category {
    /// A container keeps crashing: `BackOff` restarting a failed container, `CrashLoopBackOff`.
    PodCrash,
    /// An image cannot be pulled.
    ImagePullBackOff,
    /// Out of memory: a container or a process on a node was OOM-killed.
    #[serde(rename = "OOM")]
    Oom,
    /// The scheduler found no node for a pod.
    FailedScheduling,
    /// A volume could not be attached or mounted.
    FailedMount,
    /// A pod was evicted (node pressure, taints, preemption).
    Evicted,
    /// A liveness, readiness or startup probe failed.
    Unhealthy,
    /// A node stopped reporting or became NotReady.
    NodeNotReady,
    /// A node problem reported by a node problem detector (kernel, runtime, filesystem, ...).
    NodeProblem,
    /// Not enough resources: node pressure, admission failures, quota exceeded.
    ResourceInsufficient,
    /// Anything else.
    Other,
}

impl Category {
    /// Every category, in display order.
    pub const ALL: [Category; 11] = [
        Category::PodCrash,
        Category::ImagePullBackOff,
        Category::Oom,
        Category::FailedScheduling,
        Category::FailedMount,
        Category::Evicted,
        Category::Unhealthy,
        Category::NodeNotReady,
        Category::NodeProblem,
        Category::ResourceInsufficient,
        Category::Other,
    ];

    /// The stable name used in queries, the API and the store.
    pub fn as_str(self) -> &'static str {
        match self {
            Category::PodCrash => "PodCrash",
            Category::ImagePullBackOff => "ImagePullBackOff",
            Category::Oom => "OOM",
            Category::FailedScheduling => "FailedScheduling",
            Category::FailedMount => "FailedMount",
            Category::Evicted => "Evicted",
            Category::Unhealthy => "Unhealthy",
            Category::NodeNotReady => "NodeNotReady",
            Category::NodeProblem => "NodeProblem",
            Category::ResourceInsufficient => "ResourceInsufficient",
            Category::Other => "Other",
        }
    }

    /// Parses a stable name (case-insensitive).
    pub fn parse(name: &str) -> Option<Category> {
        Category::ALL
            .into_iter()
            .find(|category| category.as_str().eq_ignore_ascii_case(name))
    }
}

impl std::fmt::Display for Category {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Reasons that node-problem-detector (and `kec npd`) report for node problems.
const NODE_PROBLEM_REASONS: &[&str] = &[
    "KernelOops",
    "TaskHung",
    "KernelDeadlock",
    "DockerHung",
    "ContainerRuntimeUnhealthy",
    "ContainerRuntimeIsDown",
    "ReadonlyFilesystem",
    "FilesystemIsReadOnly",
    "UnregisterNetDevice",
    "AUFSUmountHung",
    "CorruptDockerImage",
    "CorruptDockerOverlay2",
    "Ext4Error",
    "Ext4Warning",
    "IOError",
    "MemoryReadError",
    "ConntrackFull",
    "FDPressure",
    "NTPProblem",
    "FrequentKubeletRestart",
    "FrequentDockerRestart",
    "FrequentContainerdRestart",
    "KubeletUnhealthy",
    "Rebooted",
    "NodeRebooted",
];

/// Classifies an Event. `kind` is the involved object's kind.
pub fn classify(reason: &str, message: &str, kind: &str, source_component: &str) -> Category {
    let message_lower = message.to_ascii_lowercase();
    match reason {
        "OOMKilling" | "OOMKilled" | "SystemOOM" | "OOMKill" => return Category::Oom,
        "CrashLoopBackOff" => return Category::PodCrash,
        "ErrImagePull" | "ImagePullBackOff" | "ErrImageNeverPull" | "InspectFailed"
        | "InvalidImageName" => return Category::ImagePullBackOff,
        "FailedScheduling" | "NotTriggerScaleUp" => return Category::FailedScheduling,
        "FailedMount" | "FailedAttachVolume" | "FailedMapVolume" | "VolumeFailedMount"
        | "FailedUnMount" | "ProvisioningFailed" => return Category::FailedMount,
        "Evicted" | "TaintManagerEviction" | "Preempted" | "EvictedByVPA" => {
            return Category::Evicted;
        }
        "Unhealthy" | "ProbeWarning" => return Category::Unhealthy,
        "NodeNotReady" | "NodeStatusUnknown" | "NodeShutdown" | "NodeUnreachable" => {
            return Category::NodeNotReady;
        }
        "OutOfcpu"
        | "OutOfmemory"
        | "OutOfpods"
        | "OutOfephemeral-storage"
        | "UnexpectedAdmissionError"
        | "FreeDiskSpaceFailed"
        | "ImageGCFailed"
        | "EvictionThresholdMet"
        | "NodeHasDiskPressure"
        | "NodeHasInsufficientMemory"
        | "NodeHasInsufficientPID"
        | "InsufficientResources" => {
            return Category::ResourceInsufficient;
        }
        _ => {}
    }
    if NODE_PROBLEM_REASONS.contains(&reason) {
        return Category::NodeProblem;
    }
    if reason == "BackOff" || reason == "Failed" {
        if message_lower.contains("pull") || message_lower.contains("image") {
            return Category::ImagePullBackOff;
        }
        if message_lower.contains("restarting failed container")
            || message_lower.contains("crashloopbackoff")
        {
            return Category::PodCrash;
        }
    }
    if reason == "FailedCreate" && message_lower.contains("exceeded quota") {
        return Category::ResourceInsufficient;
    }
    if message_lower.contains("oomkilled") || message_lower.contains("out of memory") {
        return Category::Oom;
    }
    if kind == "Node"
        && (message_lower.contains("status is now: nodenotready")
            || message_lower.contains("is not ready"))
    {
        return Category::NodeNotReady;
    }
    // NPD sources are named `<something>-monitor` (kernel-monitor, docker-monitor, ...).
    if kind == "Node" && source_component.ends_with("-monitor") {
        return Category::NodeProblem;
    }
    Category::Other
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pod(reason: &str, message: &str) -> Category {
        classify(reason, message, "Pod", "kubelet")
    }

    #[test]
    fn crash_loop_back_off_is_pod_crash() {
        assert_eq!(
            pod(
                "BackOff",
                "Back-off restarting failed container app in pod web-1_prod(uid)"
            ),
            Category::PodCrash
        );
        assert_eq!(pod("CrashLoopBackOff", ""), Category::PodCrash);
    }

    #[test]
    fn image_pull_failures_are_image_pull_back_off() {
        assert_eq!(
            pod("BackOff", "Back-off pulling image \"nginx:1.99\""),
            Category::ImagePullBackOff
        );
        assert_eq!(
            pod(
                "Failed",
                "Failed to pull image \"nginx:1.99\": rpc error: not found"
            ),
            Category::ImagePullBackOff
        );
        assert_eq!(
            pod("Failed", "Error: ErrImagePull"),
            Category::ImagePullBackOff
        );
        assert_eq!(pod("ErrImagePull", ""), Category::ImagePullBackOff);
    }

    #[test]
    fn oom_from_reason_or_message() {
        assert_eq!(
            classify(
                "OOMKilling",
                "Out of memory: Killed process 1234 (java)",
                "Node",
                "kernel-monitor"
            ),
            Category::Oom
        );
        assert_eq!(pod("Killing", "Container app was OOMKilled"), Category::Oom);
    }

    #[test]
    fn scheduling_mount_eviction_probe() {
        assert_eq!(
            pod(
                "FailedScheduling",
                "0/3 nodes are available: 3 Insufficient cpu."
            ),
            Category::FailedScheduling
        );
        assert_eq!(
            pod(
                "FailedMount",
                "MountVolume.SetUp failed for volume \"config\""
            ),
            Category::FailedMount
        );
        assert_eq!(pod("FailedAttachVolume", ""), Category::FailedMount);
        assert_eq!(
            pod("Evicted", "The node was low on resource: memory."),
            Category::Evicted
        );
        assert_eq!(
            pod("TaintManagerEviction", "Marking for deletion"),
            Category::Evicted
        );
        assert_eq!(
            pod(
                "Unhealthy",
                "Liveness probe failed: HTTP probe failed with statuscode: 500"
            ),
            Category::Unhealthy
        );
    }

    #[test]
    fn node_not_ready_and_node_problems() {
        assert_eq!(
            classify(
                "NodeNotReady",
                "Node node-3 status is now: NodeNotReady",
                "Node",
                "node-controller"
            ),
            Category::NodeNotReady
        );
        assert_eq!(
            classify("NodeStatusUnknown", "", "Node", "node-lifecycle-controller"),
            Category::NodeNotReady
        );
        for reason in ["TaskHung", "KernelOops", "DockerHung", "ReadonlyFilesystem"] {
            assert_eq!(
                classify(reason, "", "Node", "kernel-monitor"),
                Category::NodeProblem,
                "{reason}"
            );
        }
        assert_eq!(
            classify("SomethingNew", "", "Node", "custom-plugin-monitor"),
            Category::NodeProblem
        );
    }

    #[test]
    fn resource_insufficient() {
        assert_eq!(
            pod("OutOfcpu", "Node didn't have enough resource: cpu"),
            Category::ResourceInsufficient
        );
        assert_eq!(
            classify("NodeHasDiskPressure", "", "Node", "kubelet"),
            Category::ResourceInsufficient
        );
        assert_eq!(
            classify(
                "FailedCreate",
                "pods \"x\" is forbidden: exceeded quota: compute",
                "ReplicaSet",
                "replicaset-controller"
            ),
            Category::ResourceInsufficient
        );
    }

    #[test]
    fn ordinary_lifecycle_is_other() {
        for reason in [
            "Scheduled",
            "Pulled",
            "Created",
            "Started",
            "Killing",
            "ScalingReplicaSet",
        ] {
            assert_eq!(pod(reason, "ok"), Category::Other, "{reason}");
        }
    }

    #[test]
    fn names_round_trip() {
        for category in Category::ALL {
            assert_eq!(Category::parse(category.as_str()), Some(category));
        }
        assert_eq!(Category::parse("oom"), Some(Category::Oom));
        assert_eq!(Category::parse("nope"), None);
    }
}
