//! The journald watcher: follows `journalctl -o json --follow` for one `SYSLOG_IDENTIFIER`.
//!
//! journalctl (not the journal files) is read because the journal file format is large and
//! versioned; journalctl is on every systemd node and in the DaemonSet image. It starts
//! `--after-cursor` the saved cursor, or `--since` the lookback start when there is none. When
//! journalctl exits it is restarted after [`RESTART_DELAY`] from the last cursor seen.

use std::path::PathBuf;
use std::time::Duration;

use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

use super::{Position, Watched};
use crate::monitor::system_log::rules::LogLine;

/// Wait before restarting journalctl after it exits.
pub const RESTART_DELAY: Duration = Duration::from_secs(5);

/// One journal entry's fields that matter here.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JournalEntry {
    /// `__CURSOR`.
    pub cursor: String,
    /// `__REALTIME_TIMESTAMP` in microseconds.
    pub realtime_us: i64,
    /// `SYSLOG_IDENTIFIER`, if any.
    pub identifier: Option<String>,
    /// `MESSAGE`, trimmed like NPD trims it.
    pub message: String,
}

/// A journal field as `journalctl -o json` writes it: a string, an array of bytes (binary
/// data), or an array of those (a field repeated).
fn field_text(value: &serde_json::Value) -> Option<String> {
    match value {
        serde_json::Value::String(text) => Some(text.clone()),
        serde_json::Value::Array(items) if items.iter().all(serde_json::Value::is_u64) => {
            let bytes: Vec<u8> = items
                .iter()
                .filter_map(|v| v.as_u64().and_then(|b| u8::try_from(b).ok()))
                .collect();
            Some(String::from_utf8_lossy(&bytes).into_owned())
        }
        serde_json::Value::Array(items) => items.first().and_then(field_text),
        _ => None,
    }
}

/// Parses one line of `journalctl -o json`.
pub fn parse_entry(line: &str) -> Result<JournalEntry, String> {
    let value: serde_json::Value =
        serde_json::from_str(line).map_err(|error| format!("not a JSON journal entry: {error}"))?;
    let cursor = value
        .get("__CURSOR")
        .and_then(field_text)
        .ok_or("journal entry has no __CURSOR")?;
    let realtime_us = value
        .get("__REALTIME_TIMESTAMP")
        .and_then(field_text)
        .and_then(|text| text.parse::<i64>().ok())
        .ok_or("journal entry has no numeric __REALTIME_TIMESTAMP")?;
    Ok(JournalEntry {
        cursor,
        realtime_us,
        identifier: value.get("SYSLOG_IDENTIFIER").and_then(field_text),
        message: value
            .get("MESSAGE")
            .and_then(field_text)
            .unwrap_or_default()
            .trim()
            .to_string(),
    })
}

/// How journalctl is started.
#[derive(Debug, Clone)]
pub struct JournalCommand {
    /// The program (`journalctl`).
    pub program: PathBuf,
    /// `--directory`, when the config names a journal directory.
    pub directory: Option<PathBuf>,
    /// The `SYSLOG_IDENTIFIER` to follow.
    pub identifier: String,
    /// Where to start when there is no cursor (seconds since the epoch).
    pub since_s: i64,
}

impl JournalCommand {
    /// The arguments for a start after `cursor` (or from `since_s`).
    pub fn args(&self, cursor: Option<&str>) -> Vec<String> {
        let mut args = vec![
            "-o".to_string(),
            "json".to_string(),
            "--follow".to_string(),
            "--no-pager".to_string(),
            "--all".to_string(),
        ];
        if let Some(directory) = &self.directory {
            args.push(format!("--directory={}", directory.display()));
        }
        match cursor {
            Some(cursor) => args.push(format!("--after-cursor={cursor}")),
            None => args.push(format!("--since=@{}", self.since_s)),
        }
        args.push(format!("SYSLOG_IDENTIFIER={}", self.identifier));
        args
    }
}

/// Runs journalctl until cancelled, sending entries of the identifier.
pub(crate) async fn watch(
    command: JournalCommand,
    mut cursor: Option<String>,
    line_tx: mpsc::Sender<Vec<Watched>>,
    cancel: CancellationToken,
) {
    loop {
        let mut child = match tokio::process::Command::new(&command.program)
            .args(command.args(cursor.as_deref()))
            .stdin(std::process::Stdio::null())
            .stdout(std::process::Stdio::piped())
            .kill_on_drop(true)
            .spawn()
        {
            Ok(child) => child,
            Err(error) => {
                tracing::error!(program = %command.program.display(), %error, "cannot start journalctl");
                if wait_or_cancel(&cancel).await {
                    return;
                }
                continue;
            }
        };
        let Some(stdout) = child.stdout.take() else {
            return;
        };
        let mut lines = BufReader::new(stdout).lines();
        loop {
            let next = tokio::select! {
                biased;
                () = cancel.cancelled() => return,
                next = lines.next_line() => next,
            };
            let line = match next {
                Ok(Some(line)) => line,
                Ok(None) => break,
                Err(error) => {
                    tracing::error!(%error, "cannot read journalctl output");
                    break;
                }
            };
            if line.trim().is_empty() {
                continue;
            }
            let entry = match parse_entry(&line) {
                Ok(entry) => entry,
                Err(error) => {
                    tracing::warn!(%error, "skipping journal line");
                    continue;
                }
            };
            cursor = Some(entry.cursor.clone());
            if entry.identifier.as_deref() != Some(command.identifier.as_str()) {
                continue;
            }
            let watched = Watched {
                line: LogLine {
                    timestamp_ms: entry.realtime_us.div_euclid(1000),
                    message: entry.message,
                },
                position: Position::Journal(entry.cursor),
            };
            if line_tx.send(vec![watched]).await.is_err() {
                return;
            }
        }
        let status = child.wait().await;
        tracing::warn!(
            ?status,
            "journalctl exited; restarting from the last cursor"
        );
        if wait_or_cancel(&cancel).await {
            return;
        }
    }
}

/// Waits [`RESTART_DELAY`]; true when cancelled meanwhile.
async fn wait_or_cancel(cancel: &CancellationToken) -> bool {
    tokio::select! {
        () = cancel.cancelled() => true,
        () = tokio::time::sleep(RESTART_DELAY) => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_journalctl_json() {
        let entry = parse_entry(
            r#"{"__CURSOR":"s=abc;i=1","__REALTIME_TIMESTAMP":"1700000000123456","SYSLOG_IDENTIFIER":"dockerd","MESSAGE":"  hello \n"}"#,
        );
        assert_eq!(
            entry,
            Ok(JournalEntry {
                cursor: "s=abc;i=1".into(),
                realtime_us: 1_700_000_000_123_456,
                identifier: Some("dockerd".into()),
                message: "hello".into(),
            })
        );
    }

    #[test]
    fn binary_messages_are_byte_arrays() {
        let entry = parse_entry(
            r#"{"__CURSOR":"c","__REALTIME_TIMESTAMP":"1","SYSLOG_IDENTIFIER":["systemd","x"],"MESSAGE":[104,105,255]}"#,
        )
        .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(entry.message, "hi\u{fffd}");
        assert_eq!(entry.identifier.as_deref(), Some("systemd"));
    }

    #[test]
    fn entries_without_cursor_or_time_are_errors() {
        assert!(parse_entry(r#"{"MESSAGE":"x"}"#).is_err());
        assert!(parse_entry(r#"{"__CURSOR":"c","__REALTIME_TIMESTAMP":"soon"}"#).is_err());
        assert!(parse_entry("not json").is_err());
    }

    #[test]
    fn arguments_resume_from_the_cursor_or_start_at_lookback() {
        let command = JournalCommand {
            program: "journalctl".into(),
            directory: Some("/var/log/journal".into()),
            identifier: "dockerd".into(),
            since_s: 1_700_000_000,
        };
        let fresh = command.args(None);
        assert!(fresh.contains(&"--since=@1700000000".to_string()));
        assert!(fresh.contains(&"--directory=/var/log/journal".to_string()));
        assert!(fresh.contains(&"SYSLOG_IDENTIFIER=dockerd".to_string()));
        let resumed = command.args(Some("s=1;i=2"));
        assert!(resumed.contains(&"--after-cursor=s=1;i=2".to_string()));
        assert!(!resumed.iter().any(|a| a.starts_with("--since")));
    }
}
