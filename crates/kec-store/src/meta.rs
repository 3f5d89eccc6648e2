//! SQLite metadata: clusters, the ledger's state and the store's checkpoint.
//!
//! Everything here is written at a checkpoint, after the index commit that covers the same
//! records, in one transaction; so after a crash the metadata is never ahead of the index.

use std::path::Path;

use rusqlite::{Connection, OptionalExtension, params};

use crate::Result;
use crate::ledger::{LedgerEntry, LedgerKey};

/// Per-cluster counters kept in memory and written at each checkpoint.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ClusterCounters {
    pub first_ingest_ms: i64,
    pub last_ingest_ms: i64,
    pub last_event_ms: i64,
    pub records: i64,
    pub occurrences: i64,
    pub warning_occurrences: i64,
}

pub struct Meta {
    connection: Connection,
}

impl Meta {
    pub fn open(path: &Path) -> Result<Meta> {
        let connection = Connection::open(path)?;
        connection.pragma_update(None, "journal_mode", "WAL")?;
        connection.pragma_update(None, "synchronous", "NORMAL")?;
        connection.execute_batch(
            "CREATE TABLE IF NOT EXISTS clusters (
                name TEXT PRIMARY KEY,
                first_ingest_ms INTEGER NOT NULL,
                last_ingest_ms INTEGER NOT NULL,
                last_event_ms INTEGER NOT NULL,
                records INTEGER NOT NULL,
                occurrences INTEGER NOT NULL,
                warning_occurrences INTEGER NOT NULL
             );
             CREATE TABLE IF NOT EXISTS ledger (
                key INTEGER PRIMARY KEY,
                uid INTEGER NOT NULL,
                max_count INTEGER NOT NULL,
                previous_uids BLOB NOT NULL,
                last_time_ms INTEGER NOT NULL
             );
             CREATE TABLE IF NOT EXISTS store_state (
                key TEXT PRIMARY KEY,
                value INTEGER NOT NULL
             );",
        )?;
        Ok(Meta { connection })
    }

    /// The first sequence number not yet covered by a checkpoint.
    pub fn next_seq(&self) -> Result<u64> {
        let value: Option<i64> = self
            .connection
            .query_row(
                "SELECT value FROM store_state WHERE key = 'next_seq'",
                [],
                |row| row.get(0),
            )
            .optional()?;
        Ok(value.map_or(1, |value| value.max(1) as u64))
    }

    pub fn load_ledger(&self) -> Result<Vec<(LedgerKey, LedgerEntry)>> {
        let mut statement = self
            .connection
            .prepare("SELECT key, uid, max_count, previous_uids, last_time_ms FROM ledger")?;
        let rows = statement.query_map([], |row| {
            let key: i64 = row.get(0)?;
            let uid: i64 = row.get(1)?;
            let previous: Vec<u8> = row.get(3)?;
            Ok((
                LedgerKey(key as u64),
                LedgerEntry {
                    uid: uid as u64,
                    max_count: row.get(2)?,
                    previous_uids: previous
                        .chunks_exact(8)
                        .map(|bytes| {
                            let mut word = [0u8; 8];
                            word.copy_from_slice(bytes);
                            u64::from_le_bytes(word)
                        })
                        .collect(),
                    last_time_ms: row.get(4)?,
                },
            ))
        })?;
        Ok(rows.collect::<rusqlite::Result<Vec<_>>>()?)
    }

    pub fn load_clusters(&self) -> Result<Vec<(String, ClusterCounters)>> {
        let mut statement = self.connection.prepare(
            "SELECT name, first_ingest_ms, last_ingest_ms, last_event_ms, records, occurrences,
                    warning_occurrences FROM clusters ORDER BY name",
        )?;
        let rows = statement.query_map([], |row| {
            Ok((
                row.get(0)?,
                ClusterCounters {
                    first_ingest_ms: row.get(1)?,
                    last_ingest_ms: row.get(2)?,
                    last_event_ms: row.get(3)?,
                    records: row.get(4)?,
                    occurrences: row.get(5)?,
                    warning_occurrences: row.get(6)?,
                },
            ))
        })?;
        Ok(rows.collect::<rusqlite::Result<Vec<_>>>()?)
    }

    /// Writes one checkpoint: dirty ledger entries, forgotten ones, cluster counters, next seq.
    pub fn checkpoint(
        &mut self,
        next_seq: u64,
        ledger_dirty: &[(LedgerKey, LedgerEntry)],
        ledger_forgotten: &[LedgerKey],
        clusters: &[(String, ClusterCounters)],
    ) -> Result<()> {
        let transaction = self.connection.transaction()?;
        {
            // SQLite integers are signed: hashes are stored with the same 64 bits.
            let mut upsert = transaction.prepare_cached(
                "INSERT OR REPLACE INTO ledger (key, uid, max_count, previous_uids, last_time_ms)
                 VALUES (?1, ?2, ?3, ?4, ?5)",
            )?;
            for (key, entry) in ledger_dirty {
                let previous: Vec<u8> = entry
                    .previous_uids
                    .iter()
                    .flat_map(|uid| uid.to_le_bytes())
                    .collect();
                upsert.execute(params![
                    key.0 as i64,
                    entry.uid as i64,
                    entry.max_count,
                    previous,
                    entry.last_time_ms
                ])?;
            }
            let mut delete = transaction.prepare_cached("DELETE FROM ledger WHERE key = ?1")?;
            for key in ledger_forgotten {
                delete.execute(params![key.0 as i64])?;
            }
            let mut cluster_upsert = transaction.prepare_cached(
                "INSERT INTO clusters (name, first_ingest_ms, last_ingest_ms, last_event_ms, records,
                                       occurrences, warning_occurrences)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)
                 ON CONFLICT (name) DO UPDATE SET
                   first_ingest_ms = excluded.first_ingest_ms, last_ingest_ms = excluded.last_ingest_ms,
                   last_event_ms = excluded.last_event_ms, records = excluded.records,
                   occurrences = excluded.occurrences, warning_occurrences = excluded.warning_occurrences",
            )?;
            for (name, counters) in clusters {
                cluster_upsert.execute(params![
                    name,
                    counters.first_ingest_ms,
                    counters.last_ingest_ms,
                    counters.last_event_ms,
                    counters.records,
                    counters.occurrences,
                    counters.warning_occurrences
                ])?;
            }
            transaction.execute(
                "INSERT INTO store_state (key, value) VALUES ('next_seq', ?1)
                 ON CONFLICT (key) DO UPDATE SET value = excluded.value",
                params![next_seq as i64],
            )?;
        }
        transaction.commit()?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn checkpoint_round_trips() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("meta.sqlite");
        let key = LedgerKey(u64::MAX - 3);
        let entry = LedgerEntry {
            uid: 1 << 63,
            max_count: 9,
            previous_uids: vec![7, u64::MAX],
            last_time_ms: 5,
        };
        let counters = ClusterCounters {
            records: 3,
            occurrences: 9,
            ..Default::default()
        };
        {
            let mut meta = Meta::open(&path).unwrap();
            assert_eq!(meta.next_seq().unwrap(), 1);
            meta.checkpoint(
                42,
                &[(key, entry.clone())],
                &[],
                &[("c".into(), counters.clone())],
            )
            .unwrap();
        }
        let mut meta = Meta::open(&path).unwrap();
        assert_eq!(meta.next_seq().unwrap(), 42);
        assert_eq!(meta.load_ledger().unwrap(), vec![(key, entry)]);
        assert_eq!(
            meta.load_clusters().unwrap(),
            vec![("c".to_string(), counters)]
        );
        meta.checkpoint(43, &[], &[key], &[]).unwrap();
        assert!(meta.load_ledger().unwrap().is_empty());
    }
}
