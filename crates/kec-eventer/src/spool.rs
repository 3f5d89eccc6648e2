//! The disk spool: an ordered queue of NDJSON batches, one file each, that survives kill -9.
//!
//! Invariants:
//! - A batch is appended (written to `NNN.tmp`, fsynced, renamed to `NNN.ndjson`, directory
//!   fsynced) before any attempt to deliver it, so a batch is either wholly in the spool or
//!   was never acknowledged to anyone (and then a relist brings its Events back).
//! - A batch is written line by line through a small buffer ([`Spool::begin`]), so the eventer
//!   never holds a whole batch in memory to spool it; one batch is written at a time.
//! - Sequence numbers only grow, across restarts too (the next one is one past the largest
//!   found in the spool and in `rejected/`), so file order is delivery order.
//! - A file leaves the spool only after the receiver acknowledged it ([`Spool::remove`]) or
//!   refused it for good ([`Spool::reject`], moved to `rejected/` with a `.reason` file):
//!   nothing is ever silently dropped.

use std::fs;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};

use crate::{Error, Result};

const BATCH_EXTENSION: &str = "ndjson";
const REJECTED_DIR: &str = "rejected";
/// The write buffer of a batch being spooled.
const WRITE_BUFFER_BYTES: usize = 64 * 1024;

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
    /// True while a [`SpoolWriter`] is open (file order must stay sequence order).
    writing: AtomicBool,
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
            writing: AtomicBool::new(false),
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

    /// Appends a whole batch durably and returns its entry.
    pub fn append(&self, body: &[u8]) -> Result<SpoolEntry> {
        let mut writer = self.begin()?;
        writer.write(body)?;
        writer.finish()
    }

    /// Starts a batch: its lines go to `NNN.tmp` until [`SpoolWriter::finish`] makes it a
    /// spooled batch. Only one batch is written at a time (a second `begin` while one is open
    /// is an error), so sequence order is file order.
    pub fn begin(&self) -> Result<SpoolWriter<'_>> {
        if self.writing.swap(true, Ordering::SeqCst) {
            return Err(Error::Spool {
                path: self.dir.clone(),
                source: std::io::Error::other("another batch is being written to this spool"),
            });
        }
        let seq = {
            let mut next_seq = self
                .next_seq
                .lock()
                .unwrap_or_else(|poisoned| poisoned.into_inner());
            let seq = *next_seq;
            *next_seq = seq + 1;
            seq
        };
        let tmp_path = self.dir.join(format!("{seq:020}.tmp"));
        // From here the writer exists: dropping it (on any error) clears `writing` again.
        let mut writer = SpoolWriter {
            spool: self,
            seq,
            tmp_path,
            file: None,
            bytes: 0,
        };
        let file = fs::File::create(&writer.tmp_path).map_err(io_error(&writer.tmp_path))?;
        writer.file = Some(BufWriter::with_capacity(WRITE_BUFFER_BYTES, file));
        Ok(writer)
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

/// A batch being spooled (see [`Spool::begin`]). Dropped without [`SpoolWriter::finish`], its
/// half-written file is removed: the batch was never spooled.
#[derive(Debug)]
pub struct SpoolWriter<'a> {
    spool: &'a Spool,
    seq: u64,
    tmp_path: PathBuf,
    file: Option<BufWriter<fs::File>>,
    bytes: u64,
}

impl SpoolWriter<'_> {
    /// Appends bytes (whole lines, by the caller's contract) to the batch.
    pub fn write(&mut self, bytes: &[u8]) -> Result<()> {
        let file = self.file.as_mut().ok_or_else(|| Error::Spool {
            path: self.tmp_path.clone(),
            source: std::io::Error::other("the batch was already finished"),
        })?;
        file.write_all(bytes).map_err(io_error(&self.tmp_path))?;
        self.bytes += bytes.len() as u64;
        Ok(())
    }

    /// Bytes written so far.
    pub fn bytes(&self) -> u64 {
        self.bytes
    }

    /// Makes the batch durable (fsync, rename to `NNN.ndjson`, fsync of the directory) and
    /// returns its entry.
    pub fn finish(mut self) -> Result<SpoolEntry> {
        let path = self
            .spool
            .dir
            .join(format!("{:020}.{BATCH_EXTENSION}", self.seq));
        let file = self.file.take().ok_or_else(|| Error::Spool {
            path: self.tmp_path.clone(),
            source: std::io::Error::other("the batch was already finished"),
        })?;
        let file = file
            .into_inner()
            .map_err(|error| io_error(&self.tmp_path)(error.into_error()))?;
        file.sync_all().map_err(io_error(&self.tmp_path))?;
        drop(file);
        fs::rename(&self.tmp_path, &path).map_err(io_error(&path))?;
        // Renamed: the file is the spool's now, whatever happens below.
        self.tmp_path = PathBuf::new();
        self.spool
            .pending_bytes
            .fetch_add(self.bytes, Ordering::SeqCst);
        sync_dir(&self.spool.dir)?;
        Ok(SpoolEntry {
            seq: self.seq,
            path,
            bytes: self.bytes,
        })
    }
}

impl Drop for SpoolWriter<'_> {
    fn drop(&mut self) {
        self.file = None;
        if !self.tmp_path.as_os_str().is_empty() {
            // Best effort: a leftover `.tmp` is also removed by the next `Spool::open`.
            let _ = fs::remove_file(&self.tmp_path);
        }
        self.spool.writing.store(false, Ordering::SeqCst);
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

    #[test]
    fn a_batch_written_line_by_line_is_spooled_whole_or_not_at_all() {
        let dir = tempfile::tempdir().unwrap();
        let spool = Spool::open(dir.path()).unwrap();
        let mut batch = spool.begin().unwrap();
        batch.write(b"{\"a\":1}\n").unwrap();
        assert!(spool.begin().is_err(), "one batch at a time");
        batch.write(b"{\"b\":2}\n").unwrap();
        assert_eq!(batch.bytes(), 16);
        assert!(
            spool.pending().unwrap().is_empty(),
            "not spooled before finish"
        );
        let entry = batch.finish().unwrap();
        assert_eq!(spool.read(&entry).unwrap(), b"{\"a\":1}\n{\"b\":2}\n");
        assert_eq!(spool.pending_bytes(), 16);

        // Abandoned half-way: no file is left and the next batch still comes later.
        let mut abandoned = spool.begin().unwrap();
        abandoned.write(b"{\"c\":3}\n").unwrap();
        drop(abandoned);
        let leftovers: Vec<_> = fs::read_dir(dir.path())
            .unwrap()
            .filter_map(|item| item.ok())
            .filter(|item| item.path().extension().is_some_and(|ext| ext == "tmp"))
            .collect();
        assert!(leftovers.is_empty(), "{leftovers:?}");
        let next = spool.append(b"{\"d\":4}\n").unwrap();
        assert!(next.seq > entry.seq);
        assert_eq!(spool.pending().unwrap(), vec![entry, next]);
        assert_eq!(spool.pending_bytes(), 24);
    }
}
