//! The filelog watcher: tails a text log and splits each line into timestamp and message with
//! the config's regexes (the last capture group, or the whole match, like NPD) and its Go
//! `timestampFormat`. Lines containing a `skipList` string are dropped before parsing. The file
//! is read from its start (lookback decides what counts) and reopened when rotated.

use std::io::{BufRead, BufReader, Seek};
use std::os::unix::fs::MetadataExt;
use std::path::PathBuf;
use std::time::Duration;

use jiff::tz::TimeZone;
use regex::Regex;
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

use super::goregex::translate_or_original as translate;
use super::gotime::GoLayout;
use super::{Position, Watched};
use crate::config::system_log::FilelogConfig;
use crate::monitor::system_log::rules::LogLine;

/// How often the file is polled at its end (NPD: 500 ms).
pub const POLL_INTERVAL: Duration = Duration::from_millis(500);

/// Splits a log line into timestamp and message.
#[derive(Debug, Clone)]
pub struct Translator {
    timestamp: Regex,
    message: Regex,
    layout: GoLayout,
    zone: TimeZone,
}

impl Translator {
    /// Builds the translator; `zone` applies to timestamps without an offset.
    pub fn new(config: &FilelogConfig, zone: TimeZone) -> Result<Translator, String> {
        Ok(Translator {
            timestamp: Regex::new(&translate(&config.timestamp))
                .map_err(|error| format!("invalid timestamp regex: {error}"))?,
            message: Regex::new(&translate(&config.message))
                .map_err(|error| format!("invalid message regex: {error}"))?,
            layout: GoLayout::compile(&config.timestamp_format)?,
            zone,
        })
    }

    /// Translates one line; `now_ms` supplies the year when the layout has none.
    pub fn translate(&self, line: &str, now_ms: i64) -> Result<LogLine, String> {
        let stamp = last_capture(&self.timestamp, line)
            .ok_or_else(|| format!("no timestamp in line {line:?}"))?;
        let year = jiff::Timestamp::from_millisecond(now_ms)
            .map(|t| t.to_zoned(self.zone.clone()).year())
            .unwrap_or(1970);
        let timestamp_ms = self.layout.parse(stamp, &self.zone, year)?;
        let message = last_capture(&self.message, line)
            .ok_or_else(|| format!("no message in line {line:?}"))?;
        Ok(LogLine {
            timestamp_ms,
            message: message.to_string(),
        })
    }
}

/// Go's `FindStringSubmatch(...)[len-1]`: the last group ("" when it did not take part).
fn last_capture<'l>(regex: &Regex, line: &'l str) -> Option<&'l str> {
    let captures = regex.captures(line)?;
    let last = captures.len() - 1;
    Some(captures.get(last).map_or("", |m| m.as_str()))
}

/// Tails `path` until cancelled.
pub(crate) async fn watch(
    path: PathBuf,
    translator: Translator,
    skip_list: Vec<String>,
    clock: crate::monitor::Clock,
    line_tx: mpsc::Sender<Vec<Watched>>,
    cancel: CancellationToken,
) {
    let mut reader: Option<(BufReader<std::fs::File>, u64)> = None;
    let mut partial = String::new();
    loop {
        if reader.is_none() {
            match std::fs::File::open(&path) {
                Ok(file) => {
                    let inode = file.metadata().map(|m| m.ino()).unwrap_or(0);
                    reader = Some((BufReader::new(file), inode));
                }
                Err(error) => {
                    tracing::warn!(path = %path.display(), %error, "cannot open log file")
                }
            }
        }
        let mut at_end = true;
        if let Some((file, inode)) = reader.as_mut() {
            let mut chunk = String::new();
            match file.read_line(&mut chunk) {
                Ok(0) => {
                    // Rotated (new inode) or truncated: start over with the new file.
                    let position = file.stream_position().unwrap_or(0);
                    let rotated = std::fs::metadata(&path)
                        .map(|m| m.ino() != *inode || m.len() < position)
                        .unwrap_or(false);
                    if rotated {
                        reader = None;
                        partial.clear();
                        continue;
                    }
                }
                Ok(_) => {
                    at_end = false;
                    partial.push_str(&chunk);
                    if partial.ends_with('\n') {
                        let line = std::mem::take(&mut partial);
                        let line = line.trim_end_matches('\n');
                        if skip_list.iter().any(|skip| line.contains(skip.as_str())) {
                            continue;
                        }
                        match translator.translate(line, clock()) {
                            Ok(log_line) => {
                                let watched = Watched {
                                    line: log_line,
                                    position: Position::None,
                                };
                                if line_tx.send(vec![watched]).await.is_err() {
                                    return;
                                }
                            }
                            Err(error) => tracing::warn!(%error, "unable to parse log line"),
                        }
                    }
                }
                Err(error) => {
                    tracing::error!(path = %path.display(), %error, "cannot read log file");
                    reader = None;
                }
            }
        }
        if at_end {
            tokio::select! {
                () = cancel.cancelled() => return,
                () = tokio::time::sleep(POLL_INTERVAL) => {}
            }
        } else if cancel.is_cancelled() {
            return;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kernel_filelog() -> Translator {
        // The pluginConfig of NPD's config/kernel-monitor-filelog.json.
        Translator::new(
            &FilelogConfig {
                timestamp: "^.{15}".into(),
                message: r"kernel: \[.*\] (.*)".into(),
                timestamp_format: "Jan _2 15:04:05".into(),
            },
            TimeZone::UTC,
        )
        .unwrap_or_else(|e| panic!("{e}"))
    }

    #[test]
    fn translates_a_syslog_kernel_line() {
        let now = "2026-11-25T00:00:00Z"
            .parse::<jiff::Timestamp>()
            .map(|t| t.as_millisecond())
            .unwrap_or(0);
        let line = kernel_filelog().translate(
            "Jan  2 03:04:05 node-1 kernel: [ 1234.5678] EXT4-fs (sda1): Remounting filesystem read-only",
            now,
        );
        let expected = "2026-01-02T03:04:05Z"
            .parse::<jiff::Timestamp>()
            .map(|t| t.as_millisecond())
            .unwrap_or(0);
        assert_eq!(
            line,
            Ok(LogLine {
                timestamp_ms: expected,
                message: "EXT4-fs (sda1): Remounting filesystem read-only".into()
            })
        );
    }

    #[test]
    fn docker_filelog_layout() {
        // The pluginConfig of NPD's config/docker-monitor-filelog.json.
        let translator = Translator::new(
            &FilelogConfig {
                timestamp: r#"^time="(\S*)""#.into(),
                message: "msg=\"([^\n]*)\"".into(),
                timestamp_format: "2006-01-02T15:04:05.999999999-07:00".into(),
            },
            TimeZone::UTC,
        )
        .unwrap_or_else(|e| panic!("{e}"));
        let line = translator
            .translate(
                r#"time="2017-04-12T19:41:01.000000000Z" level=error msg="OCI runtime start failed: container process is already dead: unknown""#,
                0,
            );
        assert!(
            line.is_err(),
            "Z is not a numeric offset for -07:00 layouts: {line:?}"
        );
        let line = translator
            .translate(
                r#"time="2017-04-12T19:41:01.5+00:00" level=error msg="OCI runtime start failed""#,
                0,
            )
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(line.message, "OCI runtime start failed");
        assert_eq!(line.timestamp_ms, 1_492_026_061_500);
    }

    #[test]
    fn lines_without_timestamp_or_message_are_errors() {
        let translator = kernel_filelog();
        assert!(translator.translate("short", 0).is_err());
        assert!(
            translator
                .translate("Jan  2 03:04:05 host sshd: hi", 0)
                .is_err()
        );
    }
}
