//! [`K8sExporterConfig`]: NPD's k8s exporter flags with NPD's defaults, plus kec's own knobs.

use std::time::Duration;

use crate::correlator::CorrelatorConfig;
use crate::{Error, Result};

/// How the Kubernetes exporter behaves.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct K8sExporterConfig {
    /// The Node this agent reports about (`--hostname-override`, `NODE_NAME`, the hostname).
    pub node_name: String,
    /// `--event-namespace`: where Events go. Empty (NPD's default) means `default` with an
    /// involved object without namespace; otherwise NPD puts this namespace in both.
    pub event_namespace: String,
    /// `--k8s-exporter-heartbeat-period`: the status is PATCHed at least this often (5 min).
    pub heartbeat_period: Duration,
    /// How often changes are looked for (NPD: 1 s).
    pub update_period: Duration,
    /// Longest wait between retries of a failed PATCH without `Retry-After` (NPD's resync: 10 s).
    pub resync_period: Duration,
    /// `--apiserver-wait-interval`: between attempts to read the Node at start (5 s).
    pub apiserver_wait_interval: Duration,
    /// `--apiserver-wait-timeout`: after this long without the Node a warning is logged; the
    /// exporter keeps waiting, since PATCHing before reading the Node could clear a condition
    /// that is True on it (NPD #304). (5 min)
    pub apiserver_wait_timeout: Duration,
    /// `--k8s-exporter-write-events` (true).
    pub write_events: bool,
    /// `--k8s-exporter-update-node-conditions` (true).
    pub update_node_conditions: bool,
    /// client-go's pause between Event write attempts (10 s; the first one is randomised).
    pub event_retry_interval: Duration,
    /// client-go's attempts per Event (12).
    pub event_max_attempts: u32,
    /// client-go's queue of Events waiting to be written (1000).
    pub event_queue_size: usize,
    /// client-go's aggregation, dedup and spam filter settings.
    pub correlator: CorrelatorConfig,
}

impl K8sExporterConfig {
    /// NPD's defaults for `node_name`.
    pub fn new(node_name: &str) -> K8sExporterConfig {
        K8sExporterConfig {
            node_name: node_name.to_string(),
            event_namespace: String::new(),
            heartbeat_period: Duration::from_secs(300),
            update_period: Duration::from_secs(1),
            resync_period: Duration::from_secs(10),
            apiserver_wait_interval: Duration::from_secs(5),
            apiserver_wait_timeout: Duration::from_secs(300),
            write_events: true,
            update_node_conditions: true,
            event_retry_interval: Duration::from_secs(10),
            event_max_attempts: 12,
            event_queue_size: 1000,
            correlator: CorrelatorConfig::default(),
        }
    }

    /// The namespace Events are written to.
    pub fn event_object_namespace(&self) -> String {
        if self.event_namespace.is_empty() {
            "default".to_string()
        } else {
            self.event_namespace.clone()
        }
    }

    /// Every problem with these settings.
    pub fn problems(&self) -> Vec<String> {
        let mut problems = Vec::new();
        if self.node_name.is_empty() {
            problems.push("the node name is empty (--hostname-override, NODE_NAME)".to_string());
        } else if !is_dns1123_subdomain(&self.node_name) {
            problems.push(format!(
                "node name {:?} is not a valid Kubernetes object name",
                self.node_name
            ));
        }
        if !self.event_namespace.is_empty() && !is_dns1123_label(&self.event_namespace) {
            problems.push(format!(
                "--event-namespace: {:?} is not a valid namespace name",
                self.event_namespace
            ));
        }
        for (name, value) in [
            ("--k8s-exporter-heartbeat-period", self.heartbeat_period),
            ("update period", self.update_period),
            ("resync period", self.resync_period),
            ("--apiserver-wait-interval", self.apiserver_wait_interval),
        ] {
            if value.is_zero() {
                problems.push(format!("{name} must be above zero"));
            }
        }
        if self.event_max_attempts == 0 {
            problems.push("event attempts must be at least 1".to_string());
        }
        if self.event_queue_size == 0 {
            problems.push("event queue size must be at least 1".to_string());
        }
        problems.extend(self.correlator.problems());
        problems
    }

    /// `Ok` or every problem at once.
    pub fn validate(&self) -> Result<()> {
        let problems = self.problems();
        if problems.is_empty() {
            Ok(())
        } else {
            Err(Error::InvalidConfig(problems))
        }
    }
}

/// RFC 1123 label: lowercase alphanumerics and `-`, at most 63, alphanumeric at both ends.
pub fn is_dns1123_label(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 63
        && name
            .bytes()
            .all(|byte| byte.is_ascii_lowercase() || byte.is_ascii_digit() || byte == b'-')
        && !name.starts_with('-')
        && !name.ends_with('-')
}

/// RFC 1123 subdomain: labels joined by `.`, at most 253 (what Node names are).
pub fn is_dns1123_subdomain(name: &str) -> bool {
    name.len() <= 253 && name.split('.').all(is_dns1123_label)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn npd_defaults() {
        let config = K8sExporterConfig::new("node-1");
        assert_eq!(config.heartbeat_period, Duration::from_secs(300));
        assert_eq!(config.event_object_namespace(), "default");
        assert!(config.validate().is_ok());
    }

    #[test]
    fn every_problem_is_reported_at_once() {
        let config = K8sExporterConfig {
            event_namespace: "Bad_NS".into(),
            heartbeat_period: Duration::ZERO,
            event_max_attempts: 0,
            ..K8sExporterConfig::new("Node_1")
        };
        let Err(Error::InvalidConfig(problems)) = config.validate() else {
            panic!("must be invalid");
        };
        assert_eq!(problems.len(), 4, "{problems:?}");
    }

    #[test]
    fn node_names_are_subdomains() {
        assert!(is_dns1123_subdomain("ip-10-0-0-1.ec2.internal"));
        assert!(!is_dns1123_subdomain("node..1"));
        assert!(!is_dns1123_subdomain("-node"));
    }
}
