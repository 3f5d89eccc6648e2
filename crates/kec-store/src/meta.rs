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
                cluster TEXT NOT NULL,
                namespace TEXT NOT NULL,
                name TEXT NOT NULL,
                uid TEXT NOT NULL,
                max_count INTEGER NOT NULL,
                previous_uids TEXT NOT NULL,
                last_time_ms INTEGER NOT NULL,
                PRIMARY KEY (cluster, namespace, name)
             ) WITHOUT ROWID;
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
        let mut statement = self.connection.prepare(
            "SELECT cluster, namespace, name, uid, max_count, previous_uids, last_time_ms FROM ledger",
        )?;
        let rows = statement.query_map([], |row| {
            let previous: String = row.get(5)?;
            Ok((
                LedgerKey {
                    cluster: row.get(0)?,
                    namespace: row.get(1)?,
                    name: row.get(2)?,
                },
                LedgerEntry {
                    uid: row.get(3)?,
                    max_count: row.get(4)?,
                    previous_uids: serde_json::from_str(&previous).unwrap_or_default(),
                    last_time_ms: row.get(6)?,
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
            let mut upsert = transaction.prepare_cached(
                "INSERT INTO ledger (cluster, namespace, name, uid, max_count, previous_uids, last_time_ms)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)
                 ON CONFLICT (cluster, namespace, name) DO UPDATE SET
                   uid = excluded.uid, max_count = excluded.max_count,
                   previous_uids = excluded.previous_uids, last_time_ms = excluded.last_time_ms",
            )?;
            for (key, entry) in ledger_dirty {
                let previous = serde_json::to_string(&entry.previous_uids).unwrap_or_default();
                upsert.execute(params![
                    key.cluster,
                    key.namespace,
                    key.name,
                    entry.uid,
                    entry.max_count,
                    previous,
                    entry.last_time_ms
                ])?;
            }
            let mut delete = transaction.prepare_cached(
                "DELETE FROM ledger WHERE cluster = ?1 AND namespace = ?2 AND name = ?3",
            )?;
            for key in ledger_forgotten {
                delete.execute(params![key.cluster, key.namespace, key.name])?;
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
        let key = LedgerKey {
            cluster: "c".into(),
            namespace: "n".into(),
            name: "e".into(),
        };
        let entry = LedgerEntry {
            uid: "u2".into(),
            max_count: 9,
            previous_uids: vec!["u1".into()],
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
                &[(key.clone(), entry.clone())],
                &[],
                &[("c".into(), counters.clone())],
            )
            .unwrap();
        }
        let mut meta = Meta::open(&path).unwrap();
        assert_eq!(meta.next_seq().unwrap(), 42);
        assert_eq!(meta.load_ledger().unwrap(), vec![(key.clone(), entry)]);
        assert_eq!(
            meta.load_clusters().unwrap(),
            vec![("c".to_string(), counters)]
        );
        meta.checkpoint(43, &[], &[key], &[]).unwrap();
        assert!(meta.load_ledger().unwrap().is_empty());
    }
}
