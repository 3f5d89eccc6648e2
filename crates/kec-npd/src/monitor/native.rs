//! kec's native checks: node problems read directly from `/proc`, sockets and HTTP.
//!
//! Every `invokeInterval` each check runs. A condition check reports True with the condition
//! type as reason, False with reason `No<Condition>`, Unknown with reason `CheckFailed` when
//! its input cannot be read; each change makes a condition-change Event like NPD's plugins.
//! `netDev` reports an Event per interface whose errors and drops grew since the last run.
//!
//! - conntrack: `/proc/sys/net/netfilter/nf_conntrack_count` vs `nf_conntrack_max`;
//! - FD pressure: `/proc/sys/fs/file-nr` (allocated - free) vs `/proc/sys/fs/file-max`;
//! - PID pressure: `/proc/loadavg` (4th field: runnable/total threads) vs `/proc/sys/kernel/pid_max`;
//! - container runtime: Docker answers `GET /_ping` with 200 on its socket; for containerd a
//!   connect within the timeout counts as healthy (no gRPC health call);
//! - kubelet: `GET /healthz` answers 200;
//! - net devices: `/proc/net/dev` receive/transmit errors and drops;
//! - service restarts: starts of kubelet/containerd/docker in the journal within a window
//!   (NPD's `log-counter` logic, fed by `journalctl -o json --follow`).

use std::collections::{BTreeMap, VecDeque};
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

use crate::config::ConditionConfig;
use crate::config::duration::parse_go_duration;
use crate::config::native::{CheckConfig, NativeChecksConfig, RuntimeKind};
use crate::error::Result;
use crate::monitor::conditions::{condition_change_event, initial_conditions};
use crate::monitor::system_log::journald::{self, JournalCommand};
use crate::monitor::system_log::rules::{CompiledPattern, LogBuffer, LogLine};
use crate::monitor::{Monitor, MonitorOptions, STATUS_CHANNEL_CAPACITY};
use crate::types::{Condition, ConditionStatus, Event, Severity, Status};

/// The result of one condition check.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CheckOutcome {
    /// True (problem), False (fine) or Unknown (could not check).
    pub status: ConditionStatus,
    /// What was seen.
    pub message: String,
}

fn outcome(problem: bool, message: String) -> CheckOutcome {
    CheckOutcome {
        status: if problem {
            ConditionStatus::True
        } else {
            ConditionStatus::False
        },
        message,
    }
}

fn unknown(message: String) -> CheckOutcome {
    CheckOutcome {
        status: ConditionStatus::Unknown,
        message,
    }
}

fn read_number(options: &MonitorOptions, path: &str) -> std::result::Result<u64, String> {
    let full = options.host_path(path);
    let text = std::fs::read_to_string(&full)
        .map_err(|error| format!("cannot read {}: {error}", full.display()))?;
    text.split_whitespace()
        .next()
        .and_then(|s| s.parse().ok())
        .ok_or_else(|| format!("{} does not hold a number", full.display()))
}

fn usage(name: &str, used: u64, max: u64, threshold: f64) -> CheckOutcome {
    if max == 0 {
        return unknown(format!("{name} maximum is 0"));
    }
    let percent = used as f64 * 100.0 / max as f64;
    outcome(
        percent >= threshold,
        format!("{name}: {used} of {max} in use ({percent:.1}%, threshold {threshold}%)"),
    )
}

/// Conntrack table usage.
pub fn check_conntrack(options: &MonitorOptions, threshold: f64) -> CheckOutcome {
    let count = read_number(options, "/proc/sys/net/netfilter/nf_conntrack_count");
    let max = read_number(options, "/proc/sys/net/netfilter/nf_conntrack_max");
    match (count, max) {
        (Ok(count), Ok(max)) => usage("conntrack table", count, max, threshold),
        (Err(error), _) | (_, Err(error)) => unknown(error),
    }
}

/// File descriptors in use vs `fs.file-max`.
pub fn check_fd_pressure(options: &MonitorOptions, threshold: f64) -> CheckOutcome {
    let path = options.host_path("/proc/sys/fs/file-nr");
    let fields: Vec<u64> = match std::fs::read_to_string(&path) {
        Ok(text) => text
            .split_whitespace()
            .filter_map(|s| s.parse().ok())
            .collect(),
        Err(error) => return unknown(format!("cannot read {}: {error}", path.display())),
    };
    let (Some(allocated), Some(free)) = (fields.first(), fields.get(1)) else {
        return unknown(format!("{} is not `allocated free max`", path.display()));
    };
    match read_number(options, "/proc/sys/fs/file-max") {
        Ok(max) => usage(
            "file descriptors",
            allocated.saturating_sub(*free),
            max,
            threshold,
        ),
        Err(error) => unknown(error),
    }
}

/// Threads and processes vs `kernel.pid_max`.
pub fn check_pid_pressure(options: &MonitorOptions, threshold: f64) -> CheckOutcome {
    let path = options.host_path("/proc/loadavg");
    let total = std::fs::read_to_string(&path).ok().and_then(|text| {
        let field = text.split_whitespace().nth(3)?;
        field.split('/').nth(1)?.parse::<u64>().ok()
    });
    let Some(total) = total else {
        return unknown(format!(
            "cannot read a thread count from {}",
            path.display()
        ));
    };
    match read_number(options, "/proc/sys/kernel/pid_max") {
        Ok(max) => usage("process IDs", total, max, threshold),
        Err(error) => unknown(error),
    }
}

async fn http_get_status(
    stream: &mut (impl tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin),
    host: &str,
    path: &str,
) -> std::io::Result<u16> {
    let request = format!("GET {path} HTTP/1.0\r\nHost: {host}\r\nUser-Agent: kec-npd\r\n\r\n");
    stream.write_all(request.as_bytes()).await?;
    let mut head = vec![0u8; 512];
    let mut read = 0;
    while read < 12 {
        let n = stream.read(&mut head[read..]).await?;
        if n == 0 {
            break;
        }
        read += n;
    }
    let text = String::from_utf8_lossy(&head[..read]);
    text.split_whitespace()
        .nth(1)
        .and_then(|code| code.parse().ok())
        .ok_or_else(|| std::io::Error::new(std::io::ErrorKind::InvalidData, "not an HTTP response"))
}

/// The container runtime answers on its socket.
pub async fn check_runtime(
    options: &MonitorOptions,
    runtime: RuntimeKind,
    socket: &str,
    timeout: Duration,
) -> CheckOutcome {
    let path = options.host_path(socket);
    let attempt = async {
        let mut stream = tokio::net::UnixStream::connect(&path).await?;
        match runtime {
            RuntimeKind::Containerd => Ok(200),
            RuntimeKind::Docker => http_get_status(&mut stream, "docker", "/_ping").await,
        }
    };
    match tokio::time::timeout(timeout, attempt).await {
        Ok(Ok(200)) => outcome(false, format!("{runtime:?} answers on {socket}")),
        Ok(Ok(code)) => outcome(
            true,
            format!("{runtime:?} answered HTTP {code} on {socket}"),
        ),
        Ok(Err(error)) => outcome(true, format!("{runtime:?} on {socket}: {error}")),
        Err(_) => outcome(
            true,
            format!("{runtime:?} did not answer on {socket} within {timeout:?}"),
        ),
    }
}

/// The kubelet's health endpoint answers 200.
pub async fn check_kubelet(url: &str, timeout: Duration) -> CheckOutcome {
    let Some(rest) = url.strip_prefix("http://") else {
        return unknown(format!("unsupported URL {url}"));
    };
    let (authority, path) = match rest.find('/') {
        Some(index) => (&rest[..index], &rest[index..]),
        None => (rest, "/"),
    };
    let attempt = async {
        let mut stream = tokio::net::TcpStream::connect(authority).await?;
        http_get_status(&mut stream, authority, path).await
    };
    match tokio::time::timeout(timeout, attempt).await {
        Ok(Ok(200)) => outcome(false, format!("kubelet is healthy ({url})")),
        Ok(Ok(code)) => outcome(
            true,
            format!("kubelet health check {url} answered HTTP {code}"),
        ),
        Ok(Err(error)) => outcome(true, format!("kubelet health check {url} failed: {error}")),
        Err(_) => outcome(
            true,
            format!("kubelet health check {url} timed out after {timeout:?}"),
        ),
    }
}

/// Errors and drops of one interface.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct InterfaceCounters {
    /// Receive errors.
    pub rx_errors: u64,
    /// Receive drops.
    pub rx_dropped: u64,
    /// Transmit errors.
    pub tx_errors: u64,
    /// Transmit drops.
    pub tx_dropped: u64,
}

/// Parses `/proc/net/dev`.
pub fn parse_net_dev(text: &str) -> BTreeMap<String, InterfaceCounters> {
    let mut out = BTreeMap::new();
    for line in text.lines().skip(2) {
        let Some((name, counters)) = line.split_once(':') else {
            continue;
        };
        let values: Vec<u64> = counters
            .split_whitespace()
            .filter_map(|s| s.parse().ok())
            .collect();
        if values.len() < 16 {
            continue;
        }
        out.insert(
            name.trim().to_string(),
            InterfaceCounters {
                rx_errors: values[2],
                rx_dropped: values[3],
                tx_errors: values[10],
                tx_dropped: values[11],
            },
        );
    }
    out
}

/// Starts and clean stops of one service seen in the journal, over a sliding window.
#[derive(Debug)]
pub struct RestartWindow {
    buffer: LogBuffer,
    pattern: CompiledPattern,
    revert_pattern: Option<CompiledPattern>,
    window_ms: i64,
    threshold: i64,
    marks: VecDeque<(i64, i64)>,
}

impl RestartWindow {
    /// A window counting `pattern` (+1) and `revert_pattern` (-1) lines.
    pub fn new(
        pattern: &str,
        revert_pattern: &str,
        window_ms: i64,
        threshold: u32,
    ) -> std::result::Result<RestartWindow, String> {
        Ok(RestartWindow {
            buffer: LogBuffer::new(1),
            pattern: CompiledPattern::compile(pattern)?,
            revert_pattern: if revert_pattern.is_empty() {
                None
            } else {
                Some(CompiledPattern::compile(revert_pattern)?)
            },
            window_ms,
            threshold: i64::from(threshold),
            marks: VecDeque::new(),
        })
    }

    /// Records one journal line.
    pub fn observe(&mut self, line: LogLine) {
        let timestamp_ms = line.timestamp_ms;
        self.buffer.push(line);
        if !self.buffer.matches(&self.pattern).is_empty() {
            self.marks.push_back((timestamp_ms, 1));
        }
        if let Some(revert) = &self.revert_pattern
            && !self.buffer.matches(revert).is_empty()
        {
            self.marks.push_back((timestamp_ms, -1));
        }
    }

    /// The verdict at `now_ms`: True when the window holds `threshold` or more net starts.
    pub fn evaluate(&mut self, now_ms: i64) -> CheckOutcome {
        let oldest = now_ms - self.window_ms;
        while self.marks.front().is_some_and(|(at, _)| *at < oldest) {
            self.marks.pop_front();
        }
        let count: i64 = self.marks.iter().map(|(_, delta)| delta).sum();
        outcome(
            count >= self.threshold,
            format!(
                "{count} unexpected starts in the last {}s (threshold {})",
                self.window_ms / 1000,
                self.threshold
            ),
        )
    }
}

/// The native checks monitor.
pub struct NativeChecksMonitor {
    config: NativeChecksConfig,
    options: MonitorOptions,
    interval: Duration,
    conditions: Vec<Condition>,
    restarts: BTreeMap<usize, RestartWindow>,
}

fn duration_of(text: &str) -> Duration {
    Duration::from_nanos(
        parse_go_duration(text)
            .ok()
            .and_then(|n| u64::try_from(n).ok())
            .unwrap_or(0),
    )
}

impl NativeChecksMonitor {
    /// Builds the monitor with every condition False.
    pub fn new(config: NativeChecksConfig, options: MonitorOptions) -> Result<NativeChecksMonitor> {
        let defaults: Vec<ConditionConfig> = config
            .checks
            .iter()
            .filter_map(CheckConfig::condition)
            .map(|condition| ConditionConfig {
                condition_type: condition.to_string(),
                reason: format!("No{condition}"),
                message: format!("no {condition} problem seen"),
            })
            .collect();
        let conditions = initial_conditions(&defaults, options.now_ms());
        let mut restarts = BTreeMap::new();
        for (index, check) in config.checks.iter().enumerate() {
            if let CheckConfig::ServiceRestarts {
                pattern,
                revert_pattern,
                window,
                count,
                ..
            } = check
            {
                let window_ms = i64::try_from(duration_of(window).as_millis()).unwrap_or(i64::MAX);
                let restart_window = RestartWindow::new(pattern, revert_pattern, window_ms, *count)
                    .map_err(|reason| crate::error::Error::InvalidConfig {
                        path: std::path::PathBuf::from(&config.source),
                        problems: vec![crate::config::ConfigProblem {
                            field: format!("checks[{index}].pattern"),
                            reason,
                        }],
                    })?;
                restarts.insert(index, restart_window);
            }
        }
        Ok(NativeChecksMonitor {
            interval: duration_of(&config.invoke_interval).max(Duration::from_millis(1)),
            config,
            options,
            conditions,
            restarts,
        })
    }

    fn status(&self, events: Vec<Event>) -> Status {
        Status {
            source: self.config.source.clone(),
            events,
            conditions: self.conditions.clone(),
        }
    }

    fn apply(
        &mut self,
        condition_type: &str,
        result: CheckOutcome,
        now_ms: i64,
        events: &mut Vec<Event>,
    ) {
        let Some(condition) = self
            .conditions
            .iter_mut()
            .find(|c| c.condition_type == condition_type)
        else {
            return;
        };
        let reason = match result.status {
            ConditionStatus::True => condition_type.to_string(),
            ConditionStatus::False => format!("No{condition_type}"),
            ConditionStatus::Unknown => "CheckFailed".to_string(),
        };
        if condition.status != result.status || condition.reason != reason {
            condition.status = result.status;
            condition.transition_ms = now_ms;
            condition.reason.clone_from(&reason);
            events.push(condition_change_event(
                condition_type,
                result.status,
                &reason,
                &result.message,
                now_ms,
            ));
        }
        condition.message = result.message;
    }

    /// Runs every check once; `previous` holds the last `/proc/net/dev` counters.
    pub async fn run_once(
        &mut self,
        previous: &mut Option<BTreeMap<String, InterfaceCounters>>,
    ) -> Status {
        let now_ms = self.options.now_ms();
        let mut events = Vec::new();
        for (index, check) in self.config.checks.clone().into_iter().enumerate() {
            let result = match &check {
                CheckConfig::ServiceRestarts { .. } => match self.restarts.get_mut(&index) {
                    Some(window) => window.evaluate(now_ms),
                    None => continue,
                },
                CheckConfig::Conntrack {
                    threshold_percent, ..
                } => check_conntrack(&self.options, *threshold_percent),
                CheckConfig::FdPressure {
                    threshold_percent, ..
                } => check_fd_pressure(&self.options, *threshold_percent),
                CheckConfig::PidPressure {
                    threshold_percent, ..
                } => check_pid_pressure(&self.options, *threshold_percent),
                CheckConfig::ContainerRuntime {
                    runtime,
                    socket,
                    timeout,
                    ..
                } => check_runtime(&self.options, *runtime, socket, duration_of(timeout)).await,
                CheckConfig::Kubelet { url, timeout, .. } => {
                    check_kubelet(url, duration_of(timeout)).await
                }
                CheckConfig::NetDev {
                    reason,
                    exclude_interface_regexp,
                    min_delta,
                } => {
                    self.net_dev_events(
                        reason,
                        exclude_interface_regexp,
                        *min_delta,
                        previous,
                        now_ms,
                        &mut events,
                    );
                    continue;
                }
            };
            if let Some(condition) = check.condition() {
                self.apply(condition, result, now_ms, &mut events);
            }
        }
        self.status(events)
    }

    /// Starts one journalctl follower per service restart check.
    fn follow_journals(
        &self,
        journal_tx: &mpsc::Sender<(usize, LogLine)>,
        cancel: &CancellationToken,
    ) {
        let now_ms = self.options.now_ms();
        for (index, check) in self.config.checks.iter().enumerate() {
            let CheckConfig::ServiceRestarts {
                identifier,
                log_path,
                ..
            } = check
            else {
                continue;
            };
            let window_ms = self.restarts.get(&index).map_or(0, |w| w.window_ms);
            let command = JournalCommand {
                program: self.options.journalctl.clone(),
                directory: (!log_path.is_empty()).then(|| self.options.host_path(log_path)),
                identifier: identifier.clone(),
                since_s: (now_ms - window_ms).div_euclid(1000),
            };
            let (line_tx, mut line_rx) = mpsc::channel(STATUS_CHANNEL_CAPACITY);
            tokio::spawn(journald::watch(command, None, line_tx, cancel.clone()));
            let journal_tx = journal_tx.clone();
            tokio::spawn(async move {
                while let Some(batch) = line_rx.recv().await {
                    for watched in batch {
                        if journal_tx.send((index, watched.line)).await.is_err() {
                            return;
                        }
                    }
                }
            });
        }
    }

    fn net_dev_events(
        &self,
        reason: &str,
        exclude: &str,
        min_delta: u64,
        previous: &mut Option<BTreeMap<String, InterfaceCounters>>,
        now_ms: i64,
        events: &mut Vec<Event>,
    ) {
        let path = self.options.host_path("/proc/net/dev");
        let Ok(text) = std::fs::read_to_string(&path) else {
            tracing::warn!(path = %path.display(), "cannot read network interface counters");
            return;
        };
        let exclude = (!exclude.is_empty())
            .then(|| regex::Regex::new(exclude).ok())
            .flatten();
        let current = parse_net_dev(&text);
        if let Some(before) = previous.as_ref() {
            for (name, now) in &current {
                if exclude.as_ref().is_some_and(|re| re.is_match(name)) {
                    continue;
                }
                let Some(then) = before.get(name) else {
                    continue;
                };
                let delta = |a: u64, b: u64| a.saturating_sub(b);
                let (rx_e, rx_d, tx_e, tx_d) = (
                    delta(now.rx_errors, then.rx_errors),
                    delta(now.rx_dropped, then.rx_dropped),
                    delta(now.tx_errors, then.tx_errors),
                    delta(now.tx_dropped, then.tx_dropped),
                );
                if rx_e + rx_d + tx_e + tx_d >= min_delta.max(1) {
                    events.push(Event {
                        severity: Severity::Warn,
                        timestamp_ms: now_ms,
                        reason: reason.to_string(),
                        message: format!(
                            "interface {name}: rx_errors +{rx_e}, rx_dropped +{rx_d}, tx_errors +{tx_e}, tx_dropped +{tx_d}"
                        ),
                    });
                }
            }
        }
        *previous = Some(current);
    }
}

impl Monitor for NativeChecksMonitor {
    fn source(&self) -> &str {
        &self.config.source
    }

    fn initial_status(&self) -> Option<Status> {
        Some(self.status(Vec::new()))
    }

    fn start(mut self: Box<Self>, cancel: CancellationToken) -> mpsc::Receiver<Status> {
        let (status_tx, status_rx) = mpsc::channel(STATUS_CHANNEL_CAPACITY);
        tokio::spawn(async move {
            if status_tx.send(self.status(Vec::new())).await.is_err() {
                return;
            }
            let (journal_tx, mut journal_rx) =
                mpsc::channel::<(usize, LogLine)>(STATUS_CHANNEL_CAPACITY);
            self.follow_journals(&journal_tx, &cancel);
            drop(journal_tx);
            let mut journal_open = !self.restarts.is_empty();
            let mut previous = None;
            let mut ticker = tokio::time::interval(self.interval);
            ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            loop {
                tokio::select! {
                    biased;
                    () = cancel.cancelled() => return,
                    line = journal_rx.recv(), if journal_open => {
                        match line {
                            Some((index, line)) => {
                                if let Some(window) = self.restarts.get_mut(&index) {
                                    window.observe(line);
                                }
                            }
                            None => journal_open = false,
                        }
                        continue;
                    }
                    _ = ticker.tick() => {}
                }
                let status = tokio::select! {
                    biased;
                    () = cancel.cancelled() => return,
                    status = self.run_once(&mut previous) => status,
                };
                if status_tx.send(status).await.is_err() {
                    return;
                }
            }
        });
        status_rx
    }
}
