//! How a record is written down, in the write-ahead log and in the index's doc store: the
//! original Event text plus what only the store knows (sequence number, cluster, occurrences,
//! the time when it had to be the receipt time, the category it was indexed under). Everything
//! else is derived again from the Event text on read, so it is not stored twice.

use kec_model::{Category, EventRecord, ParsedLine, RawJson};
use serde::{Deserialize, Serialize};

use crate::{Error, Result};

#[derive(Serialize)]
struct StoredRef<'a> {
    seq: u64,
    cluster: &'a str,
    occurrences: i64,
    time_ms: i64,
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    receipt: bool,
    category: Category,
    raw: &'a RawJson,
}

#[derive(Deserialize)]
struct Stored {
    seq: u64,
    cluster: String,
    occurrences: i64,
    time_ms: i64,
    #[serde(default)]
    receipt: bool,
    category: Category,
    raw: RawJson,
}

/// Appends the stored form of `record` and a newline to `out`.
pub fn encode(record: &EventRecord, out: &mut Vec<u8>) -> Result<()> {
    let stored = StoredRef {
        seq: record.seq,
        cluster: &record.cluster,
        occurrences: record.occurrences,
        time_ms: record.time_ms,
        receipt: record.time_is_receipt,
        category: record.category,
        raw: &record.raw,
    };
    serde_json::to_writer(&mut *out, &stored)
        .map_err(|error| Error::Corrupt(format!("cannot encode record: {error}")))?;
    out.push(b'\n');
    Ok(())
}

/// Rebuilds a record from its stored form.
pub fn decode(bytes: &[u8]) -> Result<EventRecord> {
    let stored: Stored = serde_json::from_slice(bytes)
        .map_err(|error| Error::Corrupt(format!("stored record: {error}")))?;
    let parsed =
        kec_model::parse_line(stored.raw.get().as_bytes(), &stored.cluster, stored.time_ms)
            .map_err(|error| Error::Corrupt(format!("stored Event: {error}")))?;
    let ParsedLine::Observation(observation) = parsed else {
        return Err(Error::Corrupt("stored Event is not an observation".into()));
    };
    let mut record = observation.record;
    record.seq = stored.seq;
    record.occurrences = stored.occurrences;
    record.category = stored.category;
    record.time_is_receipt = stored.receipt;
    if stored.receipt {
        record.time_ms = stored.time_ms;
    }
    Ok(record)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_keeps_every_field() {
        let line = r#"{"metadata":{"name":"web.1","namespace":"shop","uid":"u"},"involvedObject":{"kind":"Pod","name":"web","namespace":"shop"},"reason":"BackOff","message":"Back-off restarting failed container","type":"Warning","count":3,"source":{"component":"kubelet","host":"node-1"},"lastTimestamp":"2026-11-25T10:00:00Z"}"#;
        let ParsedLine::Observation(observation) =
            kec_model::parse_line(line.as_bytes(), "prod", 5).unwrap()
        else {
            panic!("an observation");
        };
        let mut record = observation.record;
        record.seq = 42;
        record.occurrences = 2;
        let mut bytes = Vec::new();
        encode(&record, &mut bytes).unwrap();
        assert_eq!(decode(&bytes[..bytes.len() - 1]).unwrap(), record);
        // An Event without any time keeps the receipt time it was stored with.
        let timeless = r#"{"metadata":{"name":"x","namespace":"d"},"reason":"Started"}"#;
        let ParsedLine::Observation(observation) =
            kec_model::parse_line(timeless.as_bytes(), "prod", 777).unwrap()
        else {
            panic!("an observation");
        };
        let mut record = observation.record;
        record.occurrences = 1;
        let mut bytes = Vec::new();
        encode(&record, &mut bytes).unwrap();
        let decoded = decode(&bytes).unwrap();
        assert_eq!((decoded.time_ms, decoded.time_is_receipt), (777, true));
        assert_eq!(decoded, record);
        assert!(decode(b"{}").is_err());
        assert!(decode(b"not json").is_err());
    }
}
