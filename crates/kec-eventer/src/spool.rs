//! The disk spool: an ordered queue of NDJSON batches, one file each, that survives kill -9.
//!
//! Invariants:
//! - A batch is appended (written to `NNN.tmp`, fsynced, renamed to `NNN.ndjson`, directory
//!   fsynced) before any attempt to deliver it, so a batch is either wholly in the spool or
//!   was never taken from the in-memory channel (and then a relist brings it back).
//! - Sequence numbers only grow, across restarts too (the next one is one past the largest
//!   found in the spool and in `rejected/`), so file order is delivery order.
//! - A file leaves the spool only after the receiver acknowledged it ([`Spool::remove`]) or
//!   refused it for good ([`Spool::reject`], moved to `rejected/` with a `.reason` file):
//!   nothing is ever silently dropped.

use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};

use crate::{Error, Result};

const BATCH_EXTENSION: &str = "ndjson";
const REJECTED_DIR: &str = "rejected";

/// One spooled batch.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SpoolEntry {
    pub seq: u64,
    pub path: PathBuf,
    pub bytes: u64,
}

/// See the module documentation.
#[derive(Debug)]
pub struct Spool {
    dir: PathBuf,
    rejected_dir: PathBuf,
    next_seq: Mutex<u64>,
    pending_bytes: AtomicU64,
}

fn io_error(path: &Path) -> impl FnOnce(std::io::Error) -> Error + '_ {
    move |source| Error::Spool {
        path: path.to_path_buf(),
        source,
    }
}

fn seq_of(path: &Path, extension: &str) -> Option<u64> {
    if path.extension().and_then(|ext| ext.to_str()) != Some(extension) {
        return None;
    }
    path.file_stem()?.to_str()?.parse().ok()
}

fn entries_in(dir: &Path, extension: &str) -> Result<Vec<SpoolEntry>> {
    let mut entries = Vec::new();
    for item in fs::read_dir(dir).map_err(io_error(dir))? {
        let item = item.map_err(io_error(dir))?;
        let path = item.path();
        if let Some(seq) = seq_of(&path, extension) {
            let bytes = item.metadata().map_err(io_error(&path))?.len();
            entries.push(SpoolEntry { seq, path, bytes });
        }
    }
    entries.sort_by_key(|entry| entry.seq);
    Ok(entries)
}

fn sync_dir(dir: &Path) -> Result<()> {
    fs::File::open(dir)
        .and_then(|file| file.sync_all())
        .map_err(io_error(dir))
}

impl Spool {
    /// Opens (creating) the spool in `dir`; removes half-written `.tmp` files, which were never
    /// acknowledged to anyone.
    pub fn open(dir: impl Into<PathBuf>) -> Result<Spool> {
        let dir = dir.into();
        let rejected_dir = dir.join(REJECTED_DIR);
        fs::create_dir_all(&rejected_dir).map_err(io_error(&rejected_dir))?;
        for leftover in entries_in(&dir, "tmp")? {
            fs::remove_file(&leftover.path).map_err(io_error(&leftover.path))?;
        }
        let pending = entries_in(&dir, BATCH_EXTENSION)?;
        let rejected = entries_in(&rejected_dir, BATCH_EXTENSION)?;
        let next_seq = pending
            .iter()
            .chain(rejected.iter())
            .map(|entry| entry.seq + 1)
            .max()
            .unwrap_or(1);
        let pending_bytes = pending.iter().map(|entry| entry.bytes).sum();
        Ok(Spool {
            dir,
            rejected_dir,
            next_seq: Mutex::new(next_seq),
            pending_bytes: AtomicU64::new(pending_bytes),
        })
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }

    pub fn rejected_dir(&self) -> &Path {
        &self.rejected_dir
    }

    /// Bytes waiting in the spool.
    pub fn pending_bytes(&self) -> u64 {
        self.pending_bytes.load(Ordering::SeqCst)
    }

    /// Appends a batch durably and returns its entry.
    pub fn append(&self, body: &[u8]) -> Result<SpoolEntry> {
        // Holding the lock across the write keeps sequence order equal to file order.
        let mut next_seq = self
            .next_seq
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        let seq = *next_seq;
        let tmp_path = self.dir.join(format!("{seq:020}.tmp"));
        let path = self.dir.join(format!("{seq:020}.{BATCH_EXTENSION}"));
        let mut file = fs::File::create(&tmp_path).map_err(io_error(&tmp_path))?;
        file.write_all(body).map_err(io_error(&tmp_path))?;
        file.sync_all().map_err(io_error(&tmp_path))?;
        drop(file);
        fs::rename(&tmp_path, &path).map_err(io_error(&path))?;
        sync_dir(&self.dir)?;
        *next_seq = seq + 1;
        self.pending_bytes
            .fetch_add(body.len() as u64, Ordering::SeqCst);
        Ok(SpoolEntry {
            seq,
            path,
            bytes: body.len() as u64,
        })
    }

    /// Batches waiting, oldest first.
    pub fn pending(&self) -> Result<Vec<SpoolEntry>> {
        entries_in(&self.dir, BATCH_EXTENSION)
    }

    /// Batches refused for good, oldest first.
    pub fn rejected(&self) -> Result<Vec<SpoolEntry>> {
        entries_in(&self.rejected_dir, BATCH_EXTENSION)
    }

    pub fn read(&self, entry: &SpoolEntry) -> Result<Vec<u8>> {
        fs::read(&entry.path).map_err(io_error(&entry.path))
    }

    /// Forgets an acknowledged batch.
    pub fn remove(&self, entry: &SpoolEntry) -> Result<()> {
        fs::remove_file(&entry.path).map_err(io_error(&entry.path))?;
        self.pending_bytes
            .fetch_sub(entry.bytes.min(self.pending_bytes()), Ordering::SeqCst);
        Ok(())
    }

    /// Moves a batch the receiver refused for good to `rejected/`, with the reason beside it.
    pub fn reject(&self, entry: &SpoolEntry, reason: &str) -> Result<()> {
        let file_name = entry.path.file_name().unwrap_or_default();
        let target = self.rejected_dir.join(file_name);
        let reason_path = target.with_extension("reason");
        fs::write(&reason_path, reason).map_err(io_error(&reason_path))?;
        fs::rename(&entry.path, &target).map_err(io_error(&target))?;
        sync_dir(&self.rejected_dir)?;
        sync_dir(&self.dir)?;
        self.pending_bytes
            .fetch_sub(entry.bytes.min(self.pending_bytes()), Ordering::SeqCst);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn batches_come_back_in_order_after_a_reopen_and_sequences_keep_growing() {
        let dir = tempfile::tempdir().unwrap();
        let spool = Spool::open(dir.path()).unwrap();
        let first = spool.append(b"a\n").unwrap();
        let second = spool.append(b"bb\n").unwrap();
        spool.reject(&first, "400 bad request").unwrap();
        assert_eq!(spool.pending_bytes(), 3);
        fs::write(dir.path().join("00000000000000000099.tmp"), b"half").unwrap();
        drop(spool);

        let spool = Spool::open(dir.path()).unwrap();
        assert_eq!(spool.pending().unwrap(), vec![second.clone()]);
        assert_eq!(spool.rejected().unwrap().len(), 1);
        assert!(!dir.path().join("00000000000000000099.tmp").exists());
        let third = spool.append(b"c\n").unwrap();
        assert!(third.seq > second.seq);
        assert_eq!(spool.read(&second).unwrap(), b"bb\n");
        spool.remove(&second).unwrap();
        assert_eq!(spool.pending().unwrap(), vec![third]);
        assert_eq!(spool.pending_bytes(), 2);
    }
}
