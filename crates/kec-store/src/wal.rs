//! The write-ahead log: an acknowledged batch is on disk before the ingest API answers.
//!
//! tantivy persists only on commit and commits are costly, so accepted records are first
//! appended here (one frame per batch, fsync per batch) and committed to the index about once a
//! second. After a crash the frames are replayed into the index on start.
//!
//! Frame layout: `len: u32 LE | crc32: u32 LE | payload` where payload is zstd-compressed JSON
//! lines, one record each in the form of [`crate::codec`]. A torn frame at the tail (the process died mid-write, before
//! it acknowledged anything in it) ends the replay; the file is truncated there.

use std::fs::{File, OpenOptions};
use std::io::{Read, Write};
use std::path::{Path, PathBuf};

use kec_model::EventRecord;

use crate::{Error, Result};

const HEADER_LEN: usize = 8;
/// Refuse absurd frame lengths from a corrupt header rather than allocating them.
const MAX_FRAME_LEN: u32 = 512 * 1024 * 1024;

/// The append end of the log.
pub struct Wal {
    path: PathBuf,
    file: File,
    len: u64,
}

impl Wal {
    /// Opens (or creates) the log at `path`, returning it and the records of every complete
    /// frame in it. A torn tail is cut off.
    pub fn open(path: &Path) -> Result<(Wal, Vec<EventRecord>)> {
        let mut file = OpenOptions::new()
            .create(true)
            .read(true)
            .append(true)
            .open(path)
            .map_err(|error| Error::io(path, error))?;
        let mut bytes = Vec::new();
        file.read_to_end(&mut bytes)
            .map_err(|error| Error::io(path, error))?;
        let (records, valid_len) = decode_frames(&bytes);
        if valid_len < bytes.len() {
            tracing::warn!(
                path = %path.display(),
                torn_bytes = bytes.len() - valid_len,
                "cutting a torn frame off the write-ahead log"
            );
            file.set_len(valid_len as u64)
                .map_err(|error| Error::io(path, error))?;
            file.sync_all().map_err(|error| Error::io(path, error))?;
        }
        Ok((
            Wal {
                path: path.to_path_buf(),
                file,
                len: valid_len as u64,
            },
            records,
        ))
    }

    /// Appends one frame holding `encoded_records` (JSON lines) and fsyncs it.
    pub fn append(&mut self, encoded_records: &[u8]) -> Result<()> {
        let payload = zstd::bulk::compress(encoded_records, 1)
            .map_err(|error| Error::io(&self.path, error))?;
        let payload_len = u32::try_from(payload.len())
            .ok()
            .filter(|len| *len <= MAX_FRAME_LEN)
            .ok_or_else(|| Error::InvalidRequest("batch too large for one log frame".into()))?;
        let mut frame = Vec::with_capacity(HEADER_LEN + payload.len());
        frame.extend_from_slice(&payload_len.to_le_bytes());
        frame.extend_from_slice(&crc32fast::hash(&payload).to_le_bytes());
        frame.extend_from_slice(&payload);
        self.file
            .write_all(&frame)
            .map_err(|error| Error::io(&self.path, error))?;
        self.file
            .sync_data()
            .map_err(|error| Error::io(&self.path, error))?;
        self.len += frame.len() as u64;
        Ok(())
    }

    /// Bytes in the log.
    pub fn len(&self) -> u64 {
        self.len
    }

    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Empties the log once everything in it is committed to the index.
    pub fn truncate(&mut self) -> Result<()> {
        self.file
            .set_len(0)
            .map_err(|error| Error::io(&self.path, error))?;
        self.file
            .sync_all()
            .map_err(|error| Error::io(&self.path, error))?;
        self.len = 0;
        Ok(())
    }
}

/// Decodes every complete, intact frame; returns the records and the length of the valid prefix.
fn decode_frames(bytes: &[u8]) -> (Vec<EventRecord>, usize) {
    let mut records = Vec::new();
    let mut offset = 0;
    while bytes.len() - offset >= HEADER_LEN {
        let header = &bytes[offset..offset + HEADER_LEN];
        let payload_len = u32::from_le_bytes([header[0], header[1], header[2], header[3]]);
        let crc = u32::from_le_bytes([header[4], header[5], header[6], header[7]]);
        let start = offset + HEADER_LEN;
        if payload_len > MAX_FRAME_LEN || bytes.len() - start < payload_len as usize {
            break;
        }
        let payload = &bytes[start..start + payload_len as usize];
        if crc32fast::hash(payload) != crc {
            break;
        }
        let Ok(lines) = zstd::stream::decode_all(payload) else {
            break;
        };
        let mut frame_records = Vec::new();
        let mut intact = true;
        for line in lines
            .split(|byte| *byte == b'\n')
            .filter(|line| !line.is_empty())
        {
            match crate::codec::decode(line) {
                Ok(record) => frame_records.push(record),
                Err(_) => {
                    intact = false;
                    break;
                }
            }
        }
        if !intact {
            break;
        }
        records.extend(frame_records);
        offset = start + payload_len as usize;
    }
    (records, offset)
}

#[cfg(test)]
mod tests {
    use super::*;
    use kec_model::{Category, ObjectRef};

    fn record(seq: u64) -> EventRecord {
        let raw = format!(
            r#"{{"metadata":{{"name":"e{seq}","namespace":"ns","uid":"u{seq}"}},"reason":"Started","message":"Started container","type":"Normal","count":1,"lastTimestamp":"1970-01-01T00:00:01Z"}}"#
        );
        EventRecord {
            seq,
            cluster: "c".into(),
            namespace: "ns".into(),
            name: format!("e{seq}"),
            uid: format!("u{seq}"),
            resource_version: "1".into(),
            api_version: "v1".into(),
            object: ObjectRef::default(),
            reason: "Started".into(),
            message: "Started container".into(),
            event_type: "Normal".into(),
            source_component: String::new(),
            source_host: String::new(),
            reporting_controller: String::new(),
            reporting_instance: String::new(),
            action: String::new(),
            time_ms: 1000,
            time_is_receipt: false,
            first_ms: 1000,
            count: 1,
            occurrences: 1,
            category: Category::Other,
            node: String::new(),
            raw: kec_model::RawJson::from_json_text(raw).unwrap(),
        }
    }

    fn encode(records: &[EventRecord]) -> Vec<u8> {
        let mut out = Vec::new();
        for record in records {
            crate::codec::encode(record, &mut out).unwrap();
        }
        out
    }

    #[test]
    fn frames_survive_reopen_and_torn_tail_is_cut() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("wal.log");
        {
            let (mut wal, replayed) = Wal::open(&path).unwrap();
            assert!(replayed.is_empty());
            wal.append(&encode(&[record(1), record(2)])).unwrap();
            wal.append(&encode(&[record(3)])).unwrap();
        }
        let intact_len = std::fs::metadata(&path).unwrap().len();
        // Simulate a crash in the middle of writing a fourth frame.
        let mut file = OpenOptions::new().append(true).open(&path).unwrap();
        file.write_all(&[200, 0, 0, 0, 1, 2, 3, 4, 5]).unwrap();
        drop(file);
        let (mut wal, replayed) = Wal::open(&path).unwrap();
        assert_eq!(
            replayed.iter().map(|r| r.seq).collect::<Vec<_>>(),
            vec![1, 2, 3]
        );
        assert_eq!(std::fs::metadata(&path).unwrap().len(), intact_len);
        wal.truncate().unwrap();
        drop(wal);
        let (_, replayed) = Wal::open(&path).unwrap();
        assert!(replayed.is_empty());
    }

    #[test]
    fn corrupt_frame_stops_replay() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("wal.log");
        {
            let (mut wal, _) = Wal::open(&path).unwrap();
            wal.append(&encode(&[record(1)])).unwrap();
            wal.append(&encode(&[record(2)])).unwrap();
        }
        let mut bytes = std::fs::read(&path).unwrap();
        let last = bytes.len() - 1;
        bytes[last] ^= 0xff;
        std::fs::write(&path, &bytes).unwrap();
        let (_, replayed) = Wal::open(&path).unwrap();
        assert_eq!(replayed.len(), 1);
    }

    #[test]
    fn decode_never_panics_on_garbage() {
        for garbage in [
            &b""[..],
            b"\x00",
            b"\xff\xff\xff\xff\x00\x00\x00\x00",
            b"abcdefghijkl",
        ] {
            let (records, valid) = decode_frames(garbage);
            assert!(records.is_empty());
            assert_eq!(valid, 0);
        }
    }
}
