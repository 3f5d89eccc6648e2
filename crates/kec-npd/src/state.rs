//! Positions persisted across restarts so nothing is replayed: the kmsg sequence number (with
//! the boot it belongs to) and the journald cursor. Each file is replaced atomically (write a
//! temp file, fsync, rename, fsync the directory), so a crash leaves the old or the new one.

use std::io::Write;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize, de::DeserializeOwned};

use crate::error::{Error, Result};

/// Where a kmsg monitor stopped.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct KmsgPosition {
    /// `/proc/sys/kernel/random/boot_id` when it was saved (sequence numbers restart at boot).
    pub boot_id: Option<String>,
    /// The last record handled.
    pub sequence: u64,
}

/// Where a journald monitor stopped.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct JournalPosition {
    /// The `__CURSOR` of the last entry handled.
    pub cursor: String,
}

/// One position file.
#[derive(Debug, Clone)]
pub struct PositionFile {
    path: PathBuf,
}

impl PositionFile {
    /// The file for a watcher kind and monitor source under the state directory.
    pub fn new(state_dir: &Path, kind: &str, source: &str) -> PositionFile {
        let safe: String = source
            .chars()
            .map(|c| {
                if c.is_ascii_alphanumeric() || c == '-' || c == '_' || c == '.' {
                    c
                } else {
                    '_'
                }
            })
            .collect();
        PositionFile {
            path: state_dir.join(format!("{kind}-{safe}.json")),
        }
    }

    /// The file's path.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The saved position, `None` when there is none.
    pub fn load<T: DeserializeOwned>(&self) -> Result<Option<T>> {
        match std::fs::read(&self.path) {
            Ok(bytes) => {
                serde_json::from_slice(&bytes)
                    .map(Some)
                    .map_err(|source| Error::CorruptState {
                        path: self.path.clone(),
                        source,
                    })
            }
            Err(error) if error.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(source) => Err(Error::Io {
                what: "cannot read state file",
                path: self.path.clone(),
                source,
            }),
        }
    }

    /// Replaces the saved position atomically.
    pub fn save<T: Serialize>(&self, position: &T) -> Result<()> {
        let io_error = |what: &'static str, path: &Path| {
            let path = path.to_path_buf();
            move |source| Error::Io { what, path, source }
        };
        let dir = self.path.parent().unwrap_or(Path::new("."));
        std::fs::create_dir_all(dir).map_err(io_error("cannot create state directory", dir))?;
        let temp = self.path.with_extension("json.tmp");
        let bytes = serde_json::to_vec(position).unwrap_or_default();
        let mut file =
            std::fs::File::create(&temp).map_err(io_error("cannot create state file", &temp))?;
        file.write_all(&bytes)
            .and_then(|()| file.sync_all())
            .map_err(io_error("cannot write state file", &temp))?;
        std::fs::rename(&temp, &self.path)
            .map_err(io_error("cannot replace state file", &self.path))?;
        std::fs::File::open(dir)
            .and_then(|d| d.sync_all())
            .map_err(io_error("cannot sync state directory", dir))?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_and_missing_file() {
        let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
        let file = PositionFile::new(dir.path(), "kmsg", "kernel/monitor");
        assert!(file.path().ends_with("kmsg-kernel_monitor.json"));
        assert!(matches!(file.load::<KmsgPosition>(), Ok(None)));
        let position = KmsgPosition {
            boot_id: Some("b".into()),
            sequence: 42,
        };
        assert!(file.save(&position).is_ok());
        assert_eq!(file.load::<KmsgPosition>().ok().flatten(), Some(position));
        assert!(!file.path().with_extension("json.tmp").exists());
    }

    #[test]
    fn corrupt_file_is_an_error_not_a_panic() {
        let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
        let file = PositionFile::new(dir.path(), "journald", "docker-monitor");
        std::fs::write(file.path(), b"{not json").unwrap_or_else(|e| panic!("{e}"));
        assert!(matches!(
            file.load::<JournalPosition>(),
            Err(Error::CorruptState { .. })
        ));
    }
}
