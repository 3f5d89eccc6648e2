//! NPD's custom plugin monitor: runs each rule's program every `invoke_interval` (rules with
//! the same interval run together; all rules run once at start), at most `concurrency` at a
//! time. Exit 0 is OK, 1 is NonOK, anything else, a start failure or a timeout is Unknown.
//! Stdout (first 4 KiB read, trimmed, cut to `max_output_length` bytes) is the message. On
//! timeout the plugin's whole process group is killed.
//!
//! Condition transitions are NPD's (`generateStatus`): a True condition that turns False or
//! Unknown takes the default reason (and the default message when False); False/Unknown ->
//! True takes the rule's reason and the output; a change between False and Unknown takes the
//! default reason; True -> True updates when the reason changes, or the message when
//! `enable_message_change_based_condition_update` is set. Every update makes an Event.

use std::collections::BTreeMap;
use std::process::Stdio;
use std::sync::Arc;
use std::time::Duration;

use tokio::io::AsyncReadExt;
use tokio::sync::{Semaphore, mpsc};
use tokio_util::sync::CancellationToken;

use crate::config::RuleKind;
use crate::config::custom_plugin::{CustomPluginConfig, PluginRule};
use crate::monitor::conditions::{condition_change_event, initial_conditions};
use crate::monitor::{Monitor, MonitorOptions, STATUS_CHANNEL_CAPACITY};
use crate::types::{Condition, ConditionStatus, Event, Severity, Status};

/// Bytes of stdout/stderr kept from a plugin (NPD's `maxCustomPluginBufferBytes`).
const MAX_PLUGIN_OUTPUT_BYTES: usize = 4 * 1024;

/// A plugin's verdict.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PluginStatus {
    /// Exit code 0.
    Ok,
    /// Exit code 1.
    NonOk,
    /// Anything else.
    Unknown,
}

/// One run of one rule.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PluginResult {
    /// Index of the rule in the config.
    pub rule_index: usize,
    /// The verdict.
    pub status: PluginStatus,
    /// The (cut) output.
    pub message: String,
}

/// Runs a plugin once with NPD's semantics.
pub async fn run_plugin(
    rule: &PluginRule,
    global_timeout_ns: i64,
    max_output_length: usize,
) -> (PluginStatus, String) {
    let timeout_ns = match rule.timeout_ns {
        Some(rule_timeout) if rule_timeout < global_timeout_ns => rule_timeout,
        _ => global_timeout_ns,
    };
    let timeout = Duration::from_nanos(u64::try_from(timeout_ns).unwrap_or(0));
    let mut command = tokio::process::Command::new(&rule.path);
    command
        .args(&rule.args)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .process_group(0)
        .kill_on_drop(true);
    let mut spawned = command.spawn();
    // A plugin file being replaced (or still open for writing in a forked process) fails
    // with ETXTBSY for a moment: retry briefly instead of reporting Unknown.
    for _ in 0..5 {
        match &spawned {
            Err(error)
                if error.raw_os_error() == Some(rustix::io::Errno::TXTBSY.raw_os_error()) =>
            {
                tokio::time::sleep(Duration::from_millis(20)).await;
                spawned = command.spawn();
            }
            _ => break,
        }
    }
    let mut child = match spawned {
        Ok(child) => child,
        Err(error) => {
            tracing::error!(plugin = %rule.path.display(), %error, "error in starting plugin");
            return (
                PluginStatus::Unknown,
                "Error in starting plugin. Please check the error log".to_string(),
            );
        }
    };
    let pid = child.id();
    let stdout = child.stdout.take();
    let stderr = child.stderr.take();
    let outcome = tokio::time::timeout(timeout, async {
        let (stdout, stderr) = tokio::join!(read_capped(stdout), read_capped(stderr));
        let status = child.wait().await;
        (stdout, stderr, status)
    })
    .await;
    let (output, status, timed_out) = match outcome {
        Ok((stdout, stderr, status)) => {
            if !stderr.is_empty() {
                tracing::debug!(plugin = %rule.path.display(), stderr = %String::from_utf8_lossy(&stderr), "plugin stderr");
            }
            (stdout, status.ok(), false)
        }
        Err(_) => {
            tracing::error!(plugin = %rule.path.display(), "error in running plugin: timeout");
            if let Some(pid) =
                pid.and_then(|p| rustix::process::Pid::from_raw(i32::try_from(p).ok()?))
            {
                let _ = rustix::process::kill_process_group(pid, rustix::process::Signal::KILL);
            }
            let status = child.wait().await.ok();
            (Vec::new(), status, true)
        }
    };
    let mut message = String::from_utf8_lossy(&output).trim().to_string();
    if timed_out {
        let state = status.map_or_else(|| "unknown".to_string(), describe_exit);
        message = format!(
            "Timeout when running plugin {:?}: state - {state}. output - {message:?}",
            rule.path.display().to_string()
        );
    }
    if message.len() > max_output_length {
        let mut cut = max_output_length;
        while !message.is_char_boundary(cut) {
            cut -= 1;
        }
        message.truncate(cut);
    }
    let verdict = match status.and_then(|s| s.code()) {
        Some(0) if !timed_out => PluginStatus::Ok,
        Some(1) if !timed_out => PluginStatus::NonOk,
        _ => PluginStatus::Unknown,
    };
    (verdict, message)
}

/// Go's `ProcessState.String()`: `exit status N` or `signal: killed`.
fn describe_exit(status: std::process::ExitStatus) -> String {
    use std::os::unix::process::ExitStatusExt;
    match (status.code(), status.signal()) {
        (Some(code), _) => format!("exit status {code}"),
        (None, Some(9)) => "signal: killed".to_string(),
        (None, Some(signal)) => format!("signal: {signal}"),
        (None, None) => "unknown".to_string(),
    }
}

/// Reads up to [`MAX_PLUGIN_OUTPUT_BYTES`] and drains the rest (so the plugin never blocks).
async fn read_capped(pipe: Option<impl tokio::io::AsyncRead + Unpin>) -> Vec<u8> {
    let Some(mut pipe) = pipe else {
        return Vec::new();
    };
    let mut kept = Vec::new();
    let mut buffer = [0u8; 4096];
    loop {
        match pipe.read(&mut buffer).await {
            Ok(0) | Err(_) => return kept,
            Ok(read) => {
                let room = MAX_PLUGIN_OUTPUT_BYTES.saturating_sub(kept.len());
                kept.extend_from_slice(&buffer[..read.min(room)]);
            }
        }
    }
}

/// The condition state machine of one monitor.
#[derive(Debug)]
pub struct PluginConditions {
    config: Arc<CustomPluginConfig>,
    conditions: Vec<Condition>,
}

impl PluginConditions {
    /// Every condition at its default.
    pub fn new(config: Arc<CustomPluginConfig>, now_ms: i64) -> PluginConditions {
        let conditions = initial_conditions(&config.conditions, now_ms);
        PluginConditions { config, conditions }
    }

    /// The current status without events.
    pub fn status(&self) -> Status {
        Status {
            source: self.config.source.clone(),
            events: Vec::new(),
            conditions: self.conditions.clone(),
        }
    }

    /// Applies one result (NPD's `generateStatus`).
    pub fn apply(&mut self, result: &PluginResult, now_ms: i64) -> Status {
        let mut active: Vec<Event> = Vec::new();
        let mut inactive: Vec<Event> = Vec::new();
        if let Some(rule) = self.config.rules.get(result.rule_index) {
            match rule.kind {
                RuleKind::Temporary => {
                    if result.status != PluginStatus::Ok {
                        active.push(Event {
                            severity: Severity::Warn,
                            timestamp_ms: now_ms,
                            reason: rule.reason.clone(),
                            message: result.message.clone(),
                        });
                    }
                }
                RuleKind::Permanent => {
                    let default = self
                        .config
                        .conditions
                        .iter()
                        .find(|c| c.condition_type == rule.condition);
                    let (default_reason, default_message) = default
                        .map(|d| (d.reason.clone(), d.message.clone()))
                        .unwrap_or_default();
                    if let Some(condition) = self
                        .conditions
                        .iter_mut()
                        .find(|c| c.condition_type == rule.condition)
                    {
                        let status = match result.status {
                            PluginStatus::Ok => ConditionStatus::False,
                            PluginStatus::NonOk => ConditionStatus::True,
                            PluginStatus::Unknown => ConditionStatus::Unknown,
                        };
                        let default_or_output = if status == ConditionStatus::False {
                            default_message.clone()
                        } else {
                            result.message.clone()
                        };
                        let update = if condition.status == ConditionStatus::True
                            && status != ConditionStatus::True
                        {
                            Some((default_reason.clone(), default_or_output))
                        } else if condition.status != ConditionStatus::True
                            && status == ConditionStatus::True
                        {
                            Some((rule.reason.clone(), result.message.clone()))
                        } else if condition.status != status {
                            Some((default_reason.clone(), default_or_output))
                        } else if condition.status == ConditionStatus::True
                            && (condition.reason != rule.reason
                                || (self.config.enable_message_change_based_condition_update
                                    && condition.message != result.message))
                        {
                            Some((rule.reason.clone(), result.message.clone()))
                        } else {
                            None
                        };
                        if let Some((reason, message)) = update {
                            condition.transition_ms = now_ms;
                            condition.status = status;
                            condition.reason.clone_from(&reason);
                            condition.message.clone_from(&message);
                            let event = condition_change_event(
                                &condition.condition_type,
                                status,
                                &reason,
                                &message,
                                now_ms,
                            );
                            if status == ConditionStatus::True {
                                active.push(event);
                            } else {
                                inactive.push(event);
                            }
                        }
                    }
                }
            }
        }
        active.extend(inactive);
        Status {
            source: self.config.source.clone(),
            events: active,
            conditions: self.conditions.clone(),
        }
    }
}

/// A custom plugin monitor built from its config.
pub struct CustomPluginMonitor {
    config: Arc<CustomPluginConfig>,
    options: MonitorOptions,
    conditions: PluginConditions,
}

impl CustomPluginMonitor {
    /// Builds the monitor (nothing runs until [`Monitor::start`]).
    pub fn new(config: CustomPluginConfig, options: MonitorOptions) -> CustomPluginMonitor {
        let config = Arc::new(config);
        let conditions = PluginConditions::new(config.clone(), options.now_ms());
        CustomPluginMonitor {
            config,
            options,
            conditions,
        }
    }
}

/// Runs every rule of a group, at most `semaphore` at once, sending results.
async fn run_rules(
    config: &CustomPluginConfig,
    indexes: &[usize],
    semaphore: &Arc<Semaphore>,
    result_tx: &mpsc::Sender<PluginResult>,
) {
    let mut runs = tokio::task::JoinSet::new();
    for &rule_index in indexes {
        let Some(rule) = config.rules.get(rule_index).cloned() else {
            continue;
        };
        let Ok(permit) = semaphore.clone().acquire_owned().await else {
            return;
        };
        let result_tx = result_tx.clone();
        let (timeout_ns, max_output) = (config.timeout_ns, config.max_output_length);
        runs.spawn(async move {
            let (status, message) = run_plugin(&rule, timeout_ns, max_output).await;
            drop(permit);
            let _ = result_tx
                .send(PluginResult {
                    rule_index,
                    status,
                    message,
                })
                .await;
        });
    }
    while runs.join_next().await.is_some() {}
}

impl Monitor for CustomPluginMonitor {
    fn source(&self) -> &str {
        &self.config.source
    }

    fn initial_status(&self) -> Option<Status> {
        Some(self.conditions.status())
    }

    fn start(self: Box<Self>, cancel: CancellationToken) -> mpsc::Receiver<Status> {
        let (status_tx, status_rx) = mpsc::channel(STATUS_CHANNEL_CAPACITY);
        let (result_tx, mut result_rx) = mpsc::channel::<PluginResult>(STATUS_CHANNEL_CAPACITY);
        let CustomPluginMonitor {
            config,
            options,
            mut conditions,
        } = *self;
        // Rules grouped by their effective interval, each group on its own ticker.
        let mut groups: BTreeMap<i64, Vec<usize>> = BTreeMap::new();
        for (index, rule) in config.rules.iter().enumerate() {
            let interval = rule.invoke_interval_ns.unwrap_or(config.invoke_interval_ns);
            groups.entry(interval).or_default().push(index);
        }
        let semaphore = Arc::new(Semaphore::new(config.concurrency.max(1)));
        let runner_config = config.clone();
        let runner_cancel = cancel.clone();
        tokio::spawn(async move {
            let all: Vec<usize> = (0..runner_config.rules.len()).collect();
            tokio::select! {
                () = runner_cancel.cancelled() => return,
                () = run_rules(&runner_config, &all, &semaphore, &result_tx) => {}
            }
            let mut tickers = tokio::task::JoinSet::new();
            for (interval_ns, indexes) in groups {
                let (config, semaphore, result_tx, cancel) = (
                    runner_config.clone(),
                    semaphore.clone(),
                    result_tx.clone(),
                    runner_cancel.clone(),
                );
                tickers.spawn(async move {
                    let period =
                        Duration::from_nanos(u64::try_from(interval_ns).unwrap_or(1).max(1));
                    let mut ticker =
                        tokio::time::interval_at(tokio::time::Instant::now() + period, period);
                    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
                    loop {
                        tokio::select! {
                            () = cancel.cancelled() => return,
                            _ = ticker.tick() => {}
                        }
                        tokio::select! {
                            () = cancel.cancelled() => return,
                            () = run_rules(&config, &indexes, &semaphore, &result_tx) => {}
                        }
                    }
                });
            }
            while tickers.join_next().await.is_some() {}
        });
        tokio::spawn(async move {
            if !config.skip_initial_status && status_tx.send(conditions.status()).await.is_err() {
                return;
            }
            loop {
                let result = tokio::select! {
                    biased;
                    () = cancel.cancelled() => return,
                    result = result_rx.recv() => match result {
                        Some(result) => result,
                        None => return,
                    },
                };
                let status = conditions.apply(&result, options.now_ms());
                if status_tx.send(status).await.is_err() {
                    return;
                }
            }
        });
        status_rx
    }
}
