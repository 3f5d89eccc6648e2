//! The state file (`kec-eventer-state.json` in the state directory).
//!
//! What must survive a restart so that every occurrence the API server still holds is
//! delivered once:
//! - **Not a resourceVersion to resume from.** Events that were in the in-memory channel or in
//!   a half-built batch at kill -9 were never spooled; a watch resumed from the last seen
//!   resourceVersion would skip them. The eventer relists on every start instead: the LIST
//!   holds every live Event with its current `count`, and the center's occurrence ledger turns
//!   a replayed (uid, count) into nothing and a higher count into exactly the missing delta.
//!   (Events that expired while the eventer was down are gone from the API server too.)
//! - **The spool.** Batches taken from the channel are on disk before delivery and are resent,
//!   in order, on start (see [`crate::spool`]); sequence numbers come from the spool itself.
//!
//! So the file holds only what ties a state directory to its spools: the format version and
//! the cluster and endpoint of each center spool (a spool of cluster A must never be replayed
//! as cluster B).

use std::collections::BTreeMap;
use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::{Error, Result};

/// File name of the state file inside the state directory.
pub const STATE_FILE_NAME: &str = "kec-eventer-state.json";

const STATE_VERSION: u32 = 1;

/// Identity of one center spool.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SpoolIdentity {
    pub cluster: String,
    pub endpoint: String,
}

/// The content of the state file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EventerState {
    pub version: u32,
    /// Spool directory name -> what it holds.
    #[serde(default)]
    pub spools: BTreeMap<String, SpoolIdentity>,
}

impl Default for EventerState {
    fn default() -> EventerState {
        EventerState {
            version: STATE_VERSION,
            spools: BTreeMap::new(),
        }
    }
}

fn state_error(path: &Path, reason: impl std::fmt::Display) -> Error {
    Error::State {
        path: path.to_path_buf(),
        reason: reason.to_string(),
    }
}

impl EventerState {
    /// Reads the state file; a missing file is a fresh state.
    pub fn load(path: &Path) -> Result<EventerState> {
        let text = match fs::read(path) {
            Ok(text) => text,
            Err(error) if error.kind() == std::io::ErrorKind::NotFound => {
                return Ok(EventerState::default());
            }
            Err(error) => return Err(state_error(path, error)),
        };
        let state: EventerState = serde_json::from_slice(&text)
            .map_err(|error| state_error(path, format!("not a kec eventer state: {error}")))?;
        if state.version != STATE_VERSION {
            return Err(state_error(
                path,
                format!("unknown state version {}", state.version),
            ));
        }
        Ok(state)
    }

    /// Writes the state file atomically (temporary file, fsync, rename).
    pub fn save(&self, path: &Path) -> Result<()> {
        let tmp_path: PathBuf = path.with_extension("json.tmp");
        let text = serde_json::to_vec_pretty(self).map_err(|error| state_error(path, error))?;
        let mut file = fs::File::create(&tmp_path).map_err(|error| state_error(path, error))?;
        file.write_all(&text)
            .and_then(|()| file.sync_all())
            .map_err(|error| state_error(path, error))?;
        fs::rename(&tmp_path, path).map_err(|error| state_error(path, error))
    }

    /// Records a center spool; refuses a spool directory that holds another cluster's batches.
    pub fn claim_spool(
        &mut self,
        spool_name: &str,
        identity: SpoolIdentity,
        spool_has_batches: bool,
    ) -> Result<(), String> {
        if let Some(known) = self.spools.get(spool_name)
            && known.cluster != identity.cluster
            && spool_has_batches
        {
            return Err(format!(
                "spool {spool_name} holds batches of cluster {} but is configured for {}",
                known.cluster, identity.cluster
            ));
        }
        self.spools.insert(spool_name.to_string(), identity);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_state_round_trips_and_a_missing_file_is_fresh() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(STATE_FILE_NAME);
        assert_eq!(EventerState::load(&path).unwrap(), EventerState::default());
        let mut state = EventerState::default();
        let identity = SpoolIdentity {
            cluster: "prod".into(),
            endpoint: "http://center".into(),
        };
        state.claim_spool("center-prod", identity, false).unwrap();
        state.save(&path).unwrap();
        assert_eq!(EventerState::load(&path).unwrap(), state);
        fs::write(&path, b"{").unwrap();
        assert!(EventerState::load(&path).is_err());
    }

    #[test]
    fn a_spool_with_batches_of_another_cluster_is_refused() {
        let mut state = EventerState::default();
        let identity = |cluster: &str| SpoolIdentity {
            cluster: cluster.into(),
            endpoint: "http://center".into(),
        };
        state.claim_spool("spool", identity("a"), false).unwrap();
        assert!(state.claim_spool("spool", identity("b"), true).is_err());
        assert!(state.claim_spool("spool", identity("b"), false).is_ok());
    }
}
