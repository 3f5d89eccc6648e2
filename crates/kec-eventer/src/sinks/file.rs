//! The `file` sink: one JSON line per Event observation (the original Event object, as the
//! `stdout` sink writes it) appended to a file, rotated by size.
//!
//! Rotation: before a write would take the file past `max_bytes`, `<path>` becomes
//! `<path>.1`, `<path>.1` becomes `<path>.2`, ... and the oldest beyond `max_files` is
//! deleted; a line longer than `max_bytes` still goes whole into a fresh file.
//!
//! Durability (`fsync`): `batch` (default) fsyncs after each write, a write being every
//! record the sink has queued at that moment, so what the sink counted as delivered is on
//! disk; `never` leaves flushing to the operating system (faster, the last seconds can be
//! lost in a power cut; a process crash loses nothing written). Before a rotation the file is
//! always fsynced. Like `stdout`, this is a durable sink: the fan-out waits for it, and a
//! write error stops it and so the eventer (an error, never a silent skip).

use std::fs::{File, OpenOptions};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::Ordering;

use kec_model::EventRecord;
use serde::{Deserialize, Serialize};
use tokio::sync::mpsc;

use crate::metrics::SinkStats;
use crate::pipeline::EventerStats;

/// Appends each observed Event as one JSON line to a file, rotated by size.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FileSinkConfig {
    /// The file (created with its directory if missing; appended to if present).
    pub path: PathBuf,
    /// Size at which the file is rotated, in bytes (default 100 MiB).
    #[serde(default = "default_max_bytes")]
    pub max_bytes: u64,
    /// Rotated files kept besides the current one (`<path>.1` is the newest; default 5; 0
    /// keeps none).
    #[serde(default = "default_max_files")]
    pub max_files: u32,
    /// `batch` (default): fsync after each write; `never`: leave it to the OS.
    #[serde(default)]
    pub fsync: FsyncPolicy,
}

/// When the file sink fsyncs (see the module documentation).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FsyncPolicy {
    #[default]
    Batch,
    Never,
}

fn default_max_bytes() -> u64 {
    100 * 1024 * 1024
}

fn default_max_files() -> u32 {
    5
}

impl FileSinkConfig {
    /// A file at `path` with the default rotation and fsync policy.
    pub fn new(path: impl Into<PathBuf>) -> FileSinkConfig {
        FileSinkConfig {
            path: path.into(),
            max_bytes: default_max_bytes(),
            max_files: default_max_files(),
            fsync: FsyncPolicy::default(),
        }
    }

    /// Every problem with the settings, prefixed with `field`.
    pub fn problems(&self, field: &str) -> Vec<String> {
        let mut problems = Vec::new();
        if self.path.as_os_str().is_empty() || self.path.file_name().is_none() {
            problems.push(format!("{field}.path must name a file"));
        }
        if self.max_bytes == 0 {
            problems.push(format!("{field}.max_bytes must be at least 1"));
        }
        problems
    }

    /// Runs until the channel closes or a write fails (logged; the sink then stops, which
    /// stops the eventer). Blocking: run it with `spawn_blocking`.
    pub(crate) fn run(
        self,
        mut events_rx: mpsc::Receiver<Arc<EventRecord>>,
        stats: Arc<EventerStats>,
        sink_stats: Arc<SinkStats>,
    ) {
        let mut writer = match RotatingFile::open(&self) {
            Ok(writer) => writer,
            Err(error) => {
                tracing::error!(path = %self.path.display(), %error, "file sink cannot open its file; stopping it");
                return;
            }
        };
        let mut buffer = Vec::new();
        while let Some(record) = events_rx.blocking_recv() {
            let mut written = 0;
            let mut next = Some(record);
            // Write what is already queued in one go.
            while let Some(record) = next {
                buffer.clear();
                buffer.extend_from_slice(record.raw.get().as_bytes());
                buffer.push(b'\n');
                if let Err(error) = writer.write_line(&buffer) {
                    tracing::error!(path = %self.path.display(), %error, "file sink cannot write; stopping it");
                    return;
                }
                written += 1;
                next = events_rx.try_recv().ok();
            }
            if let Err(error) = writer.end_batch() {
                tracing::error!(path = %self.path.display(), %error, "file sink cannot flush; stopping it");
                return;
            }
            stats.events_delivered.fetch_add(written, Ordering::Relaxed);
            sink_stats.delivered.fetch_add(written, Ordering::Relaxed);
        }
    }
}

/// The open file and its size; rotates before a line would overflow it.
struct RotatingFile {
    path: PathBuf,
    max_bytes: u64,
    max_files: u32,
    fsync: FsyncPolicy,
    file: std::io::BufWriter<File>,
    size: u64,
}

impl RotatingFile {
    fn open(config: &FileSinkConfig) -> std::io::Result<RotatingFile> {
        if let Some(dir) = config
            .path
            .parent()
            .filter(|dir| !dir.as_os_str().is_empty())
        {
            std::fs::create_dir_all(dir)?;
        }
        let file = append(&config.path)?;
        let size = file.metadata()?.len();
        Ok(RotatingFile {
            path: config.path.clone(),
            max_bytes: config.max_bytes,
            max_files: config.max_files,
            fsync: config.fsync,
            file: std::io::BufWriter::new(file),
            size,
        })
    }

    fn write_line(&mut self, line: &[u8]) -> std::io::Result<()> {
        if self.size > 0 && self.size + line.len() as u64 > self.max_bytes {
            self.rotate()?;
        }
        self.file.write_all(line)?;
        self.size += line.len() as u64;
        Ok(())
    }

    fn end_batch(&mut self) -> std::io::Result<()> {
        self.file.flush()?;
        if self.fsync == FsyncPolicy::Batch {
            self.file.get_ref().sync_data()?;
        }
        Ok(())
    }

    fn rotate(&mut self) -> std::io::Result<()> {
        self.file.flush()?;
        self.file.get_ref().sync_all()?;
        if self.max_files == 0 {
            std::fs::remove_file(&self.path)?;
        } else {
            let oldest = rotated_path(&self.path, self.max_files);
            match std::fs::remove_file(&oldest) {
                Err(error) if error.kind() != std::io::ErrorKind::NotFound => return Err(error),
                _ => {}
            }
            for index in (1..self.max_files).rev() {
                let from = rotated_path(&self.path, index);
                if from.exists() {
                    std::fs::rename(&from, rotated_path(&self.path, index + 1))?;
                }
            }
            std::fs::rename(&self.path, rotated_path(&self.path, 1))?;
        }
        self.file = std::io::BufWriter::new(append(&self.path)?);
        self.size = 0;
        sync_dir(&self.path);
        Ok(())
    }
}

fn append(path: &Path) -> std::io::Result<File> {
    OpenOptions::new().create(true).append(true).open(path)
}

/// `<path>.<index>`.
fn rotated_path(path: &Path, index: u32) -> PathBuf {
    let mut name = path.as_os_str().to_os_string();
    name.push(format!(".{index}"));
    PathBuf::from(name)
}

/// Makes the renames durable; best effort (some file systems cannot fsync a directory).
fn sync_dir(path: &Path) {
    if let Some(dir) = path.parent().filter(|dir| !dir.as_os_str().is_empty())
        && let Ok(dir) = File::open(dir)
    {
        let _ = dir.sync_all();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record(name: &str) -> Arc<EventRecord> {
        let line = format!(r#"{{"metadata":{{"name":"{name}","namespace":"d"}},"reason":"R"}}"#);
        match kec_model::parse_line(line.as_bytes(), "c", 0) {
            Ok(kec_model::ParsedLine::Observation(observation)) => Arc::new(observation.record),
            other => panic!("{other:?}"),
        }
    }

    fn run(config: FileSinkConfig, names: &[&str]) -> Arc<EventerStats> {
        let (events_tx, events_rx) = mpsc::channel(names.len().max(1));
        for name in names {
            events_tx.try_send(record(name)).unwrap();
        }
        drop(events_tx);
        let stats = Arc::new(EventerStats::default());
        let sink_stats = Arc::new(SinkStats::new("file", "file"));
        config.run(events_rx, stats.clone(), sink_stats.clone());
        assert_eq!(
            SinkStats::value(&sink_stats.delivered),
            EventerStats::value(&stats.events_delivered),
            "the sink's own counter follows the eventer's"
        );
        stats
    }

    fn names_in(path: &Path) -> Vec<String> {
        std::fs::read_to_string(path)
            .unwrap()
            .lines()
            .map(|line| {
                let value: serde_json::Value = serde_json::from_str(line).unwrap();
                value["metadata"]["name"].as_str().unwrap().to_string()
            })
            .collect()
    }

    #[test]
    fn lines_are_the_original_events_appended_across_restarts() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("sub/events.jsonl");
        let stats = run(FileSinkConfig::new(&path), &["a", "b"]);
        assert_eq!(EventerStats::value(&stats.events_delivered), 2);
        run(FileSinkConfig::new(&path), &["c"]);
        assert_eq!(names_in(&path), vec!["a", "b", "c"]);
        let first = std::fs::read_to_string(&path).unwrap();
        assert_eq!(
            first.lines().next().unwrap(),
            record("a").raw.get(),
            "the Event's own JSON"
        );
    }

    #[test]
    fn rotation_keeps_max_files_and_never_splits_a_line() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("events.jsonl");
        let line_len = record("e0").raw.get().len() as u64 + 1;
        let mut config = FileSinkConfig::new(&path);
        // Two lines fit, a third rotates.
        config.max_bytes = line_len * 2 + 1;
        config.max_files = 2;
        config.fsync = FsyncPolicy::Never;
        run(config, &["e0", "e1", "e2", "e3", "e4", "e5", "e6"]);
        assert_eq!(names_in(&path), vec!["e6"]);
        assert_eq!(names_in(&rotated_path(&path, 1)), vec!["e4", "e5"]);
        assert_eq!(names_in(&rotated_path(&path, 2)), vec!["e2", "e3"]);
        assert!(!rotated_path(&path, 3).exists(), "e0 and e1 were dropped");
    }

    #[test]
    fn a_line_longer_than_max_bytes_goes_whole_into_its_own_file_and_zero_files_keeps_none() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("events.jsonl");
        let mut config = FileSinkConfig::new(&path);
        config.max_bytes = 10;
        config.max_files = 0;
        run(config, &["long-1", "long-2"]);
        assert_eq!(names_in(&path), vec!["long-2"]);
        assert!(!rotated_path(&path, 1).exists());
    }

    #[test]
    fn a_file_that_cannot_be_opened_stops_the_sink_and_bad_settings_are_listed() {
        let dir = tempfile::tempdir().unwrap();
        // A directory where the file should be.
        let stats = run(FileSinkConfig::new(dir.path()), &["a"]);
        assert_eq!(EventerStats::value(&stats.events_delivered), 0);
        let mut config = FileSinkConfig::new("");
        config.max_bytes = 0;
        assert_eq!(config.problems("sinks.file").len(), 2);
        let parsed: FileSinkConfig = serde_json::from_value(
            serde_json::json!({"path": "/var/log/e.jsonl", "fsync": "never"}),
        )
        .unwrap();
        assert_eq!(parsed.max_files, 5);
        assert_eq!(parsed.fsync, FsyncPolicy::Never);
        assert!(
            serde_json::from_value::<FileSinkConfig>(
                serde_json::json!({"path": "x", "gzip": true})
            )
            .is_err()
        );
    }
}
