//! The node sync loop: NPD's condition manager (check every `update_period`, PATCH on change,
//! on every heartbeat, and again after a failure) preceded by the Node read that NPD #304
//! needs.

use std::time::Duration;

use kec_npd::types::{Condition, ConditionStatus};
use serde_json::{Value, json};
use tokio::sync::watch;
use tokio::time::{Instant, MissedTickBehavior};
use tokio_util::sync::CancellationToken;

use super::{K8sExporterConfig, SharedBook, lock_book};
use crate::api::NodeApi;
use crate::correlator::NodeReference;
use crate::metrics::NpdMetrics;
use crate::time::{SharedClock, format_kube_time, from_millis, parse_kube_time_ms};

/// The conditions of a Node object (`status.conditions`); entries it cannot read are skipped.
pub fn node_conditions(node: &Value) -> Vec<Condition> {
    let Some(conditions) = node.pointer("/status/conditions").and_then(Value::as_array) else {
        return Vec::new();
    };
    let text = |condition: &Value, field: &str| {
        condition
            .get(field)
            .and_then(Value::as_str)
            .unwrap_or("")
            .to_string()
    };
    conditions
        .iter()
        .filter_map(|condition| {
            let status = match condition.get("status").and_then(Value::as_str)? {
                "True" => ConditionStatus::True,
                "False" => ConditionStatus::False,
                "Unknown" => ConditionStatus::Unknown,
                _ => return None,
            };
            Some(Condition {
                condition_type: text(condition, "type"),
                status,
                transition_ms: condition
                    .get("lastTransitionTime")
                    .and_then(Value::as_str)
                    .and_then(parse_kube_time_ms)
                    .unwrap_or(0),
                reason: text(condition, "reason"),
                message: text(condition, "message"),
            })
        })
        .filter(|condition| !condition.condition_type.is_empty())
        .collect()
}

/// NPD's PATCH body: `{"status":{"conditions":[..]}}`, every condition with the heartbeat
/// time `now` (strategic merge on `type` keeps the Node's other conditions).
pub fn status_patch(conditions: &[Condition], heartbeat: &str) -> Value {
    let conditions: Vec<Value> = conditions
        .iter()
        .map(|condition| {
            json!({
                "type": condition.condition_type,
                "status": condition.status.as_str(),
                "lastHeartbeatTime": heartbeat,
                "lastTransitionTime": format_kube_time(from_millis(condition.transition_ms)),
                "reason": condition.reason,
                "message": condition.message,
            })
        })
        .collect();
    json!({"status": {"conditions": conditions}})
}

/// Wait after `failures` failed PATCHes in a row: 1 s doubling up to `ceiling`.
fn backoff(failures: u32, ceiling: Duration) -> Duration {
    let exponent = failures.saturating_sub(1).min(16);
    Duration::from_secs(1u64 << exponent).min(ceiling)
}

/// Reads the Node until it exists; `None` on shutdown.
async fn wait_for_node(
    config: &K8sExporterConfig,
    api: &NodeApi,
    shutdown: &CancellationToken,
) -> Option<Value> {
    let started = Instant::now();
    let mut warned = false;
    loop {
        match api.get_node().await {
            Ok(node) => return Some(node),
            Err(error) => {
                let waited = started.elapsed();
                if waited >= config.apiserver_wait_timeout && !warned {
                    warned = true;
                    tracing::warn!(%error, node = %config.node_name, waited_secs = waited.as_secs(),
                        "the node is still not readable; keep waiting (conditions are not patched before the node is read)");
                } else {
                    tracing::info!(%error, node = %config.node_name, "waiting for the node");
                }
                let pause = error
                    .retry_after()
                    .unwrap_or(config.apiserver_wait_interval)
                    .max(config.apiserver_wait_interval);
                tokio::select! {
                    _ = tokio::time::sleep(pause) => {}
                    _ = shutdown.cancelled() => return None,
                }
            }
        }
    }
}

/// See the module documentation.
pub async fn run(
    config: K8sExporterConfig,
    api: NodeApi,
    book: SharedBook,
    clock: SharedClock,
    metrics: NpdMetrics,
    node_tx: watch::Sender<Option<NodeReference>>,
    shutdown: CancellationToken,
) {
    let Some(node) = wait_for_node(&config, &api, &shutdown).await else {
        return;
    };
    let uid = node
        .pointer("/metadata/uid")
        .and_then(Value::as_str)
        .unwrap_or("")
        .to_string();
    let on_node = node_conditions(&node);
    lock_book(&book).observe_node(&on_node, Instant::now());
    tracing::info!(node = %config.node_name, %uid, conditions = on_node.len(), "node read");
    node_tx.send_replace(Some(NodeReference {
        name: config.node_name.clone(),
        uid,
        namespace: config.event_namespace.clone(),
    }));
    if !config.update_node_conditions {
        return;
    }

    let mut ticker = tokio::time::interval(config.update_period);
    ticker.set_missed_tick_behavior(MissedTickBehavior::Delay);
    let mut last_synced: Option<Vec<Condition>> = None;
    let mut last_try: Option<Instant> = None;
    let mut retry_at: Option<Instant> = None;
    let mut failures: u32 = 0;
    loop {
        tokio::select! {
            _ = ticker.tick() => {}
            _ = shutdown.cancelled() => return,
        }
        let now = Instant::now();
        let wall = clock.now();
        let conditions = {
            let mut book = lock_book(&book);
            book.expire_quiet(now, wall.as_millisecond());
            book.conditions()
        };
        if conditions.is_empty() {
            continue;
        }
        if let Some(retry_at) = retry_at
            && now < retry_at
        {
            continue;
        }
        let changed = last_synced.as_ref() != Some(&conditions);
        let heartbeat_due =
            last_try.is_none_or(|last_try| now.duration_since(last_try) >= config.heartbeat_period);
        if !(changed || heartbeat_due || retry_at.is_some()) {
            continue;
        }
        last_try = Some(now);
        let body = status_patch(&conditions, &format_kube_time(wall));
        match api.patch_node_status(&body).await {
            Ok(_) => {
                metrics.node_status_patched();
                last_synced = Some(conditions);
                retry_at = None;
                failures = 0;
            }
            Err(error) => {
                metrics.node_status_patch_failed();
                failures += 1;
                let pause = error
                    .retry_after()
                    .unwrap_or_else(|| backoff(failures, config.resync_period));
                tracing::warn!(%error, retry_in_ms = pause.as_millis() as u64, "node status patch failed");
                retry_at = Some(Instant::now() + pause);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn node_conditions_are_read_and_bad_entries_skipped() {
        let node = json!({"status": {"conditions": [
            {"type": "KernelDeadlock", "status": "True", "reason": "DockerHung", "message": "m",
             "lastTransitionTime": "2026-11-25T10:00:00Z"},
            {"type": "Odd", "status": "Maybe"},
            {"status": "True"},
            "not an object"
        ]}});
        let conditions = node_conditions(&node);
        assert_eq!(conditions.len(), 1);
        assert_eq!(conditions[0].reason, "DockerHung");
        assert_eq!(
            format_kube_time(from_millis(conditions[0].transition_ms)),
            "2026-11-25T10:00:00Z"
        );
        assert!(node_conditions(&json!({"status": 3})).is_empty());
    }

    #[test]
    fn patch_backoff_doubles_up_to_the_resync_period() {
        let ceiling = Duration::from_secs(10);
        let waits: Vec<u64> = (1..=6)
            .map(|failures| backoff(failures, ceiling).as_secs())
            .collect();
        assert_eq!(waits, [1, 2, 4, 8, 10, 10]);
    }
}
