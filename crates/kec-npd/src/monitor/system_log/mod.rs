//! NPD's system log monitor: a log watcher (kmsg, journald, filelog) feeds lines to the
//! [`rules::RuleEngine`]; every rule match becomes a [`Status`].
//!
//! What is read at start: when a position was saved (kmsg sequence number of the same boot,
//! journald cursor) reading resumes right after it and `lookback` is ignored, so a restart
//! replays nothing; otherwise lines older than `max(boot + delay, now - lookback)` are dropped,
//! as in NPD. Positions are persisted at most once a second and when the monitor stops.
//!
//! - [`rules`]: ring buffer and rule matching.
//! - [`kmsg`]: `/dev/kmsg` record parsing.
//! - [`journald`]: `journalctl -o json --follow`.
//! - [`filelog`]: text logs with timestamp/message regexes.
//! - [`gotime`]: Go time layouts.
//! - [`goregex`]: Go's ASCII-only Perl classes on the regex crate.

pub mod filelog;
pub mod goregex;
pub mod gotime;
pub mod journald;
pub mod kmsg;
pub mod rules;

use std::path::PathBuf;
use std::time::{Duration, Instant};

use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

use self::kmsg::{KmsgItem, KmsgStream};
use self::rules::{LogLine, RuleEngine};
use crate::config::ConfigProblem;
use crate::config::system_log::{LogPlugin, SystemLogConfig};
use crate::error::{Error, Result};
use crate::monitor::{Monitor, MonitorOptions, STATUS_CHANNEL_CAPACITY};
use crate::state::{JournalPosition, KmsgPosition, PositionFile};
use crate::types::Status;

/// How often positions are written while lines flow.
const PERSIST_INTERVAL: Duration = Duration::from_secs(1);
/// How often a kmsg file (not the device) is polled at its end.
const KMSG_POLL_INTERVAL: Duration = Duration::from_millis(100);
/// After a kmsg device read that waited for its record, reading pauses this long so that
/// records arriving one by one are handled in groups (fewer thread wake-ups per line; CPU at
/// 1,000 lines/s measured by `kec bench npd`). The first record after a quiet spell is not
/// delayed; a record behind it at most this long.
const KMSG_DEVICE_PAUSE: Duration = Duration::from_millis(20);
/// Capacity of the watcher -> rule engine channel, in batches (the records of one kmsg read,
/// or one journald / filelog line).
const LINE_CHANNEL_CAPACITY: usize = 1000;

/// Where a line came from, to resume after it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Position {
    Kmsg(u64),
    Journal(String),
    None,
}

/// A line and its position.
#[derive(Debug, Clone)]
pub(crate) struct Watched {
    pub(crate) line: LogLine,
    pub(crate) position: Position,
}

/// A system log monitor built from its config.
pub struct SystemLogMonitor {
    config: SystemLogConfig,
    options: MonitorOptions,
    engine: RuleEngine,
}

impl SystemLogMonitor {
    /// Builds the monitor (nothing is read until [`Monitor::start`]).
    pub fn new(config: SystemLogConfig, options: MonitorOptions) -> Result<SystemLogMonitor> {
        // filelog applies the skip list to the raw line, before parsing (as NPD).
        let skip_messages = match config.plugin {
            LogPlugin::Filelog(_) => Vec::new(),
            _ => config.skip_list.clone(),
        };
        let engine =
            RuleEngine::new(&config, skip_messages, options.now_ms()).map_err(|reason| {
                Error::InvalidConfig {
                    path: PathBuf::from(&config.source),
                    problems: vec![ConfigProblem {
                        field: "rules".into(),
                        reason,
                    }],
                }
            })?;
        Ok(SystemLogMonitor {
            config,
            options,
            engine,
        })
    }

    /// Seconds since boot, from `<root>/proc/uptime`.
    fn uptime_ms(&self) -> Result<i64> {
        let path = self.options.host_path("/proc/uptime");
        let text = std::fs::read_to_string(&path).map_err(|source| Error::Io {
            what: "cannot read uptime from",
            path: path.clone(),
            source,
        })?;
        let seconds: f64 = text
            .split_whitespace()
            .next()
            .and_then(|s| s.parse().ok())
            .ok_or_else(|| Error::Io {
                what: "cannot parse uptime in",
                path,
                source: std::io::Error::from(std::io::ErrorKind::InvalidData),
            })?;
        Ok((seconds * 1000.0) as i64)
    }

    fn boot_id(&self) -> Option<String> {
        std::fs::read_to_string(self.options.host_path("/proc/sys/kernel/random/boot_id"))
            .ok()
            .map(|s| s.trim().to_string())
    }

    async fn run(
        mut self,
        status_tx: mpsc::Sender<Status>,
        cancel: CancellationToken,
    ) -> Result<()> {
        if status_tx.send(self.engine.status()).await.is_err() {
            return Ok(());
        }
        let now_ms = self.options.now_ms();
        let boot_ms = now_ms - self.uptime_ms()?;
        let delay_start_ms = boot_ms + self.config.delay_ns / 1_000_000;
        let lookback_start_ms = delay_start_ms.max(now_ms - self.config.lookback_ns / 1_000_000);
        let (line_tx, mut line_rx) = mpsc::channel::<Vec<Watched>>(LINE_CHANNEL_CAPACITY);
        let watcher_cancel = cancel.child_token();
        let state_dir = &self.options.state_dir;
        // What to drop: lines before `min_time_ms`, kmsg records up to `after_sequence`.
        let mut min_time_ms = lookback_start_ms;
        let mut after_sequence: Option<u64> = None;
        let mut persist: Option<PositionFile> = None;
        let boot_id = self.boot_id();
        match &self.config.plugin {
            LogPlugin::Kmsg => {
                let file = PositionFile::new(state_dir, "kmsg", &self.config.source);
                if let Some(saved) = file.load::<KmsgPosition>()?
                    && saved.boot_id == boot_id
                {
                    after_sequence = Some(saved.sequence);
                    min_time_ms = delay_start_ms;
                }
                persist = Some(file);
                let path = if self.config.log_path.is_empty() {
                    self.options.host_path("/dev/kmsg")
                } else {
                    self.options.host_path(&self.config.log_path)
                };
                let device = std::fs::File::open(&path).map_err(|source| Error::Io {
                    what: "cannot open kmsg",
                    path: path.clone(),
                    source,
                })?;
                spawn_kmsg_reader(device, boot_ms, line_tx, watcher_cancel.clone());
            }
            LogPlugin::Journald { identifier } => {
                let file = PositionFile::new(state_dir, "journald", &self.config.source);
                let cursor = file.load::<JournalPosition>()?.map(|p| p.cursor);
                if cursor.is_some() {
                    min_time_ms = delay_start_ms;
                }
                persist = Some(file);
                let directory = (!self.config.log_path.is_empty())
                    .then(|| self.options.host_path(&self.config.log_path));
                if let Some(directory) = &directory
                    && !directory.exists()
                {
                    return Err(Error::Io {
                        what: "journal directory does not exist:",
                        path: directory.clone(),
                        source: std::io::Error::from(std::io::ErrorKind::NotFound),
                    });
                }
                let command = journald::JournalCommand {
                    program: self.options.journalctl.clone(),
                    directory,
                    identifier: identifier.clone(),
                    since_s: min_time_ms.div_euclid(1000),
                };
                tokio::spawn(journald::watch(
                    command,
                    cursor,
                    line_tx,
                    watcher_cancel.clone(),
                ));
            }
            LogPlugin::Filelog(filelog_config) => {
                let zone = jiff::tz::TimeZone::try_system().unwrap_or(jiff::tz::TimeZone::UTC);
                let translator =
                    filelog::Translator::new(filelog_config, zone).map_err(|reason| {
                        Error::InvalidConfig {
                            path: PathBuf::from(&self.config.source),
                            problems: vec![ConfigProblem {
                                field: "pluginConfig".into(),
                                reason,
                            }],
                        }
                    })?;
                tokio::spawn(filelog::watch(
                    self.options.host_path(&self.config.log_path),
                    translator,
                    self.config.skip_list.clone(),
                    self.options.clock.clone(),
                    line_tx,
                    watcher_cancel.clone(),
                ));
            }
        }
        let mut last_position = Position::None;
        let mut dirty = false;
        let mut last_persist = Instant::now();
        let mut statuses = Vec::new();
        'lines: loop {
            let batch = tokio::select! {
                biased;
                () = cancel.cancelled() => break,
                batch = line_rx.recv() => match batch {
                    Some(batch) => batch,
                    None => break,
                },
            };
            for watched in batch {
                if let (Position::Kmsg(sequence), Some(after)) = (&watched.position, after_sequence)
                    && *sequence <= after
                {
                    continue;
                }
                let position = watched.position.clone();
                if watched.line.timestamp_ms >= min_time_ms && !watched.line.message.is_empty() {
                    self.engine.process(watched.line, &mut statuses);
                    for status in statuses.drain(..) {
                        let sent = tokio::select! {
                            biased;
                            () = cancel.cancelled() => false,
                            sent = status_tx.send(status) => sent.is_ok(),
                        };
                        // Stop before the position moves past a line whose statuses were not
                        // all sent, so a restart reads that line again; the rest of the batch
                        // is left for then too.
                        if !sent {
                            break 'lines;
                        }
                    }
                }
                if position != Position::None {
                    last_position = position;
                    dirty = true;
                }
                if dirty && last_persist.elapsed() >= PERSIST_INTERVAL {
                    save_position_off_thread(&persist, &last_position, &boot_id).await?;
                    dirty = false;
                    last_persist = Instant::now();
                }
            }
        }
        watcher_cancel.cancel();
        if dirty {
            save_position_off_thread(&persist, &last_position, &boot_id).await?;
        }
        Ok(())
    }
}

/// [`save_position`] on a blocking thread: its two fsyncs can take long on a busy disk, and
/// the agent's single async thread also sends the Events. Awaited, so saves stay in order.
async fn save_position_off_thread(
    file: &Option<PositionFile>,
    position: &Position,
    boot_id: &Option<String>,
) -> Result<()> {
    let (file, position, boot_id) = (file.clone(), position.clone(), boot_id.clone());
    tokio::task::spawn_blocking(move || save_position(file.as_ref(), &position, boot_id.as_ref()))
        .await
        .unwrap_or_else(|_| {
            tracing::error!("saving the log position panicked");
            Ok(())
        })
}

fn save_position(
    file: Option<&PositionFile>,
    position: &Position,
    boot_id: Option<&String>,
) -> Result<()> {
    match (file, position) {
        (Some(file), Position::Kmsg(sequence)) => file.save(&KmsgPosition {
            boot_id: boot_id.cloned(),
            sequence: *sequence,
        }),
        (Some(file), Position::Journal(cursor)) => file.save(&JournalPosition {
            cursor: cursor.clone(),
        }),
        _ => Ok(()),
    }
}

/// Reads kmsg on its own thread (reads of the device block). A regular file is followed like
/// `tail -f`. Gaps and overruns are logged as warnings with how many records were lost.
fn spawn_kmsg_reader(
    mut device: std::fs::File,
    boot_ms: i64,
    line_tx: mpsc::Sender<Vec<Watched>>,
    cancel: CancellationToken,
) {
    std::thread::spawn(move || {
        let mut stream = KmsgStream::new();
        let is_device = device.metadata().map(|m| !m.is_file()).unwrap_or(true);
        let pause = if is_device {
            KMSG_DEVICE_PAUSE
        } else {
            Duration::ZERO
        };
        loop {
            // The records of one read go to the rule engine together: one wake-up per read.
            let result = stream.read_batches(&mut device, pause, |items| {
                let mut batch = Vec::with_capacity(items.len());
                for item in items.drain(..) {
                    match item {
                        KmsgItem::Record(record) => batch.push(Watched {
                            line: LogLine {
                                timestamp_ms: boot_ms
                                    + i64::try_from(record.timestamp_us / 1000)
                                        .unwrap_or(i64::MAX / 2),
                                message: record.message.trim().to_string(),
                            },
                            position: Position::Kmsg(record.sequence),
                        }),
                        KmsgItem::Gap {
                            expected, missed, ..
                        } => {
                            tracing::warn!(expected, missed, "kmsg records lost (sequence gap)");
                        }
                        KmsgItem::Overrun => {
                            tracing::warn!("kmsg ring buffer overwrote unread records (EPIPE)");
                        }
                        KmsgItem::Malformed { error, line } => {
                            tracing::warn!(%error, line, "skipping malformed kmsg record");
                        }
                    }
                }
                !cancel.is_cancelled() && (batch.is_empty() || line_tx.blocking_send(batch).is_ok())
            });
            match result {
                Ok(true) if !is_device && !cancel.is_cancelled() && !line_tx.is_closed() => {
                    std::thread::sleep(KMSG_POLL_INTERVAL);
                }
                Ok(_) => return,
                Err(error) => {
                    tracing::error!(%error, "cannot read kmsg");
                    return;
                }
            }
        }
    });
}

impl Monitor for SystemLogMonitor {
    fn source(&self) -> &str {
        &self.config.source
    }

    fn initial_status(&self) -> Option<Status> {
        Some(self.engine.status())
    }

    fn start(self: Box<Self>, cancel: CancellationToken) -> mpsc::Receiver<Status> {
        let (status_tx, status_rx) = mpsc::channel(STATUS_CHANNEL_CAPACITY);
        let source = self.config.source.clone();
        tokio::spawn(async move {
            if let Err(error) = self.run(status_tx, cancel).await {
                tracing::error!(source, error = %error, "system log monitor failed");
            }
        });
        status_rx
    }
}
