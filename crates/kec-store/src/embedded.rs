//! [`EmbeddedStore`]: the default store, one process, no server to run.
//!
//! Layout of the data directory:
//! - `wal.log`: the write-ahead log of batches accepted since the last checkpoint;
//! - `meta.sqlite`: clusters, the ledger's state, the checkpoint's next sequence number;
//! - `events/YYYY-MM-DD/`: one tantivy index per UTC day of event time.
//!
//! Write path (one writer at a time): ledger decides occurrences -> records get sequence numbers
//! -> WAL frame fsynced -> documents handed to the day's index writer -> the caller is answered.
//! [`EmbeddedStore::commit`] (about once a second) commits every written day, tagging each
//! commit with the highest sequence number it holds, then checkpoints SQLite, then empties the
//! WAL. On open, WAL records at or above the checkpoint are replayed: re-indexed unless their
//! day's last commit already holds them, and re-applied to the ledger (idempotent).

use std::collections::{BTreeMap, HashMap};
use std::ops::Bound;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, RwLock};

use kec_model::EventRecord;
use kec_model::time::{DAY_MS, day_of};
use serde::{Deserialize, Serialize};
use tantivy::collector::TopDocs;
use tantivy::collector::sort_key::SortByStaticFastValue;
use tantivy::query::{BooleanQuery, Occur, Query, RangeQuery};
use tantivy::store::{Compressor, ZstdCompressor};
use tantivy::{
    DocAddress, Index, IndexReader, IndexSettings, IndexWriter, Order, ReloadPolicy,
    TantivyDocument, Term,
};

use crate::aggregate::{
    AggregateRequest, AggregateRow, GroupCollector, GroupTotals, into_rows, merge_into,
};
use crate::codec::encode as encode_record;
use crate::filter::{Field, Filter};
use crate::ledger::{Ledger, LedgerKey};
use crate::meta::{ClusterCounters, Meta};
use crate::rollup::Rollups;
use crate::schema::EventSchema;
use crate::wal::Wal;
use crate::{Error, Result};

/// zstd level of the doc store. Measured at 1M events (docs/BENCHMARKS.md): 3 is fastest,
/// 5 stores 5 % fewer bytes for 8 % less ingest, 7 saves nothing more and costs 20 % more.
const DOCSTORE_ZSTD_LEVEL: i32 = 5;
/// Doc store block size: Events repeat each other across a window wider than 64 KiB, so 256 KiB
/// blocks compress better; a page of newest results reads one or two blocks.
const DOCSTORE_BLOCK_BYTES: usize = 256 * 1024;

/// Settings of an [`EmbeddedStore`].
#[derive(Debug, Clone)]
pub struct StoreConfig {
    pub data_dir: PathBuf,
    /// Days of events kept; older days are dropped whole.
    pub retention_days: u32,
    /// Indexing threads per open day writer.
    pub writer_threads: usize,
    /// Memory budget of one day writer, in bytes (at least 15 MB per thread).
    pub writer_memory_bytes: usize,
    /// How long the ledger remembers an Event object after its last observation.
    pub ledger_ttl_ms: i64,
    /// Events timed further in the future than this are rejected (clock skew beyond reason).
    pub max_future_ms: i64,
}

impl StoreConfig {
    pub fn new(data_dir: impl Into<PathBuf>) -> StoreConfig {
        StoreConfig {
            data_dir: data_dir.into(),
            retention_days: 90,
            writer_threads: 1,
            writer_memory_bytes: 64 * 1024 * 1024,
            ledger_ttl_ms: DAY_MS,
            max_future_ms: DAY_MS,
        }
    }
}

/// What became of an ingested batch.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct IngestOutcome {
    /// Observations stored (each added occurrences).
    pub accepted: u64,
    /// Observations that added no occurrence (replays, relists, late deliveries).
    pub duplicates: u64,
    /// Occurrences added by the accepted observations.
    pub occurrences: i64,
    /// Observations refused, by their index in the batch, with the reason.
    pub rejected: Vec<(usize, String)>,
}

/// One page of a search.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct SearchPage {
    pub records: Vec<EventRecord>,
    /// Pass back as `cursor` for the next page; `None` on the last page.
    pub next_cursor: Option<String>,
    /// Records matching the filter (when totals were asked for).
    pub total_records: Option<u64>,
    /// Occurrences matching the filter (when totals were asked for).
    pub total_occurrences: Option<i64>,
}

/// A search: filter, order, page.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SearchRequest {
    pub filter: Filter,
    pub limit: usize,
    #[serde(default)]
    pub cursor: Option<String>,
    /// Oldest first (timelines) instead of newest first.
    #[serde(default)]
    pub ascending: bool,
    /// Also count the matching records and occurrences over the whole filter.
    #[serde(default)]
    pub with_totals: bool,
}

impl SearchRequest {
    pub fn newest(filter: Filter, limit: usize) -> SearchRequest {
        SearchRequest {
            filter,
            limit,
            cursor: None,
            ascending: false,
            with_totals: false,
        }
    }
}

/// One observation of an object, as a lifecycle chart draws it (read from columns only).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TimelinePoint {
    pub seq: u64,
    pub time_ms: i64,
    pub reason: String,
    #[serde(rename = "type")]
    pub event_type: String,
    pub category: String,
    pub occurrences: i64,
    pub count: i64,
}

/// The columns a [`TimelinePoint`] is read from, opened once per segment.
struct PointColumns {
    reason: OptionalText,
    event_type: OptionalText,
    category: OptionalText,
    occurrences: tantivy::columnar::Column<i64>,
    count: tantivy::columnar::Column<i64>,
}

/// A string column that may be absent from a segment (no document had a value).
struct OptionalText(Option<tantivy::columnar::StrColumn>);

impl OptionalText {
    fn text(&self, doc: tantivy::DocId) -> String {
        let mut text = String::new();
        if let Some(column) = &self.0
            && let Some(ordinal) = column.term_ords(doc).next()
        {
            // An ordinal read from this column always resolves; an error leaves it empty.
            let _found = column.ord_to_str(ordinal, &mut text);
        }
        text
    }
}

impl PointColumns {
    fn open(segment: &tantivy::SegmentReader) -> Result<PointColumns> {
        let fast_fields = segment.fast_fields();
        Ok(PointColumns {
            reason: OptionalText(fast_fields.str(Field::Reason.as_str())?),
            event_type: OptionalText(fast_fields.str(Field::Type.as_str())?),
            category: OptionalText(fast_fields.str(Field::Category.as_str())?),
            occurrences: fast_fields.i64("occurrences")?,
            count: fast_fields.i64("count")?,
        })
    }
}

/// What the store knows of a cluster that sent events.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ClusterInfo {
    pub name: String,
    pub first_ingest_ms: i64,
    pub last_ingest_ms: i64,
    pub last_event_ms: i64,
    pub records: i64,
    pub occurrences: i64,
    pub warning_occurrences: i64,
}

/// Size figures for metrics and benchmarks.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct StoreStats {
    pub records: u64,
    pub partitions: usize,
    pub bytes_on_disk: u64,
    pub wal_bytes: u64,
    pub ledger_entries: usize,
}

/// One day's index and its reader.
pub(crate) struct Partition {
    day: i64,
    index: Index,
    pub(crate) reader: IndexReader,
}

struct DayWriter {
    writer: IndexWriter,
    max_seq: u64,
    added_since_commit: bool,
}

struct WriteState {
    wal: Wal,
    meta: Meta,
    ledger: Ledger,
    next_seq: u64,
    writers: HashMap<i64, DayWriter>,
    clusters: BTreeMap<String, ClusterCounters>,
    /// Rollups of the documents added since the last commit (merged when they commit).
    pending_rollups: Rollups,
}

/// The embedded store. All methods block; call them from a blocking-capable thread.
pub struct EmbeddedStore {
    /// Held for the store's life: a second process on the same directory would corrupt it.
    _lock: std::fs::File,
    config: StoreConfig,
    schema: EventSchema,
    write: Mutex<WriteState>,
    partitions: RwLock<BTreeMap<i64, Arc<Partition>>>,
    /// Rollups of every committed document (see [`crate::rollup`]).
    pub(crate) rollups: RwLock<Rollups>,
}

fn day_dir_name(day: i64) -> String {
    match jiff::Timestamp::from_millisecond(day * DAY_MS) {
        Ok(ts) => ts.strftime("%Y-%m-%d").to_string(),
        Err(_) => format!("day{day}"),
    }
}

fn parse_day_dir_name(name: &str) -> Option<i64> {
    let date: jiff::civil::Date = name.parse().ok()?;
    let ts = date.to_zoned(jiff::tz::TimeZone::UTC).ok()?.timestamp();
    Some(day_of(ts.as_millisecond()))
}

impl EmbeddedStore {
    /// Opens the store in `config.data_dir` (creating it), replaying the write-ahead log.
    pub fn open(config: StoreConfig) -> Result<EmbeddedStore> {
        let events_dir = config.data_dir.join("events");
        std::fs::create_dir_all(&events_dir).map_err(|error| Error::io(&events_dir, error))?;
        let lock_path = config.data_dir.join("LOCK");
        let lock = std::fs::OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(&lock_path)
            .map_err(|error| Error::io(&lock_path, error))?;
        if let Err(error) = lock.try_lock() {
            return Err(Error::InUse {
                path: config.data_dir.clone(),
                reason: error.to_string(),
            });
        }
        let meta = Meta::open(&config.data_dir.join("meta.sqlite"))?;
        let mut ledger = Ledger::new();
        ledger.load(meta.load_ledger()?);
        let clusters: BTreeMap<String, ClusterCounters> =
            meta.load_clusters()?.into_iter().collect();
        let checkpoint_seq = meta.next_seq()?;
        let schema = EventSchema::new();

        let mut partitions = BTreeMap::new();
        let entries =
            std::fs::read_dir(&events_dir).map_err(|error| Error::io(&events_dir, error))?;
        for entry in entries {
            let entry = entry.map_err(|error| Error::io(&events_dir, error))?;
            let Some(day) = entry.file_name().to_str().and_then(parse_day_dir_name) else {
                continue;
            };
            let index = Index::open_in_dir(entry.path())?;
            let reader = index
                .reader_builder()
                .reload_policy(ReloadPolicy::Manual)
                .try_into()?;
            partitions.insert(day, Arc::new(Partition { day, index, reader }));
        }

        let rollups = crate::rollup::rebuild(partitions.values())?;
        let (wal, replay) = Wal::open(&config.data_dir.join("wal.log"))?;
        let store = EmbeddedStore {
            _lock: lock,
            schema,
            write: Mutex::new(WriteState {
                wal,
                meta,
                ledger,
                next_seq: checkpoint_seq,
                writers: HashMap::new(),
                clusters,
                pending_rollups: Rollups::new(),
            }),
            partitions: RwLock::new(partitions),
            rollups: RwLock::new(rollups),
            config,
        };
        let replayed = store.replay(replay, checkpoint_seq)?;
        if replayed > 0 {
            tracing::info!(records = replayed, "replayed the write-ahead log");
        }
        store.commit(kec_model::time::now_ms())?;
        Ok(store)
    }

    pub fn config(&self) -> &StoreConfig {
        &self.config
    }

    fn replay(&self, records: Vec<EventRecord>, checkpoint_seq: u64) -> Result<usize> {
        let mut state = self.write.lock()?;
        let mut committed_seq_of_day: HashMap<i64, u64> = HashMap::new();
        let mut replayed = 0;
        let mut encoded = Vec::new();
        for record in records {
            if record.seq < checkpoint_seq {
                continue; // covered by the checkpoint: indexed and in SQLite already
            }
            let day = day_of(record.time_ms);
            let committed = match committed_seq_of_day.get(&day) {
                Some(seq) => *seq,
                None => {
                    let seq = self.committed_seq(day)?;
                    committed_seq_of_day.insert(day, seq);
                    seq
                }
            };
            state.ledger.replay(&record);
            state.next_seq = state.next_seq.max(record.seq + 1);
            count_into(&mut state.clusters, &record, record.time_ms);
            if record.seq > committed {
                encoded.clear();
                encode_record(&record, &mut encoded)?;
                self.add_document(&mut state, &record, &encoded)?;
            }
            replayed += 1;
        }
        Ok(replayed)
    }

    /// The highest sequence number the last commit of `day` holds (0 if none).
    fn committed_seq(&self, day: i64) -> Result<u64> {
        let partitions = self.partitions.read()?;
        let Some(partition) = partitions.get(&day) else {
            return Ok(0);
        };
        let metas = partition.index.load_metas()?;
        Ok(metas
            .payload
            .and_then(|payload| payload.parse().ok())
            .unwrap_or(0))
    }

    fn partition(&self, day: i64) -> Result<Arc<Partition>> {
        if let Some(partition) = self.partitions.read()?.get(&day) {
            return Ok(partition.clone());
        }
        let mut partitions = self.partitions.write()?;
        if let Some(partition) = partitions.get(&day) {
            return Ok(partition.clone());
        }
        let dir = self.config.data_dir.join("events").join(day_dir_name(day));
        std::fs::create_dir_all(&dir).map_err(|error| Error::io(&dir, error))?;
        let settings = IndexSettings {
            docstore_compression: Compressor::Zstd(ZstdCompressor {
                compression_level: Some(DOCSTORE_ZSTD_LEVEL),
            }),
            docstore_blocksize: DOCSTORE_BLOCK_BYTES,
            ..IndexSettings::default()
        };
        let index = Index::builder()
            .schema(self.schema.schema.clone())
            .settings(settings)
            .create_in_dir(&dir)?;
        let reader = index
            .reader_builder()
            .reload_policy(ReloadPolicy::Manual)
            .try_into()?;
        let partition = Arc::new(Partition { day, index, reader });
        partitions.insert(day, partition.clone());
        Ok(partition)
    }

    fn add_document(
        &self,
        state: &mut WriteState,
        record: &EventRecord,
        encoded: &[u8],
    ) -> Result<()> {
        let day = day_of(record.time_ms);
        let day_writer = match state.writers.entry(day) {
            std::collections::hash_map::Entry::Occupied(entry) => entry.into_mut(),
            std::collections::hash_map::Entry::Vacant(entry) => {
                let partition = self.partition(day)?;
                let writer = partition.index.writer_with_num_threads(
                    self.config.writer_threads.max(1),
                    self.config.writer_memory_bytes,
                )?;
                entry.insert(DayWriter {
                    writer,
                    max_seq: 0,
                    added_since_commit: false,
                })
            }
        };
        day_writer
            .writer
            .add_document(self.schema.document(record, encoded))?;
        day_writer.max_seq = day_writer.max_seq.max(record.seq);
        day_writer.added_since_commit = true;
        state.pending_rollups.add_record(record);
        Ok(())
    }

    /// Ingests observations of one batch. Returns once the accepted ones are durable.
    ///
    /// Each observation goes through the ledger: those adding no occurrence are counted as
    /// duplicates and not stored; the others get `occurrences` and a sequence number.
    pub fn ingest(&self, observations: Vec<EventRecord>, now_ms: i64) -> Result<IngestOutcome> {
        let mut outcome = IngestOutcome::default();
        let oldest_ms = (day_of(now_ms) - i64::from(self.config.retention_days) + 1) * DAY_MS;
        let newest_ms = now_ms.saturating_add(self.config.max_future_ms);
        let mut state = self.write.lock()?;
        let first_seq = state.next_seq;
        let mut accepted = Vec::with_capacity(observations.len());
        let mut encoded = Vec::with_capacity(observations.len() * 1024);
        let mut offsets = Vec::with_capacity(observations.len());
        state.ledger.begin_batch();
        for (position, mut record) in observations.into_iter().enumerate() {
            if record.time_ms < oldest_ms {
                outcome.rejected.push((
                    position,
                    "event time is older than the retention period".into(),
                ));
                continue;
            }
            if record.time_ms > newest_ms {
                outcome.rejected.push((
                    position,
                    "event time is more than a day in the future".into(),
                ));
                continue;
            }
            let delta = state.ledger.observe(&record);
            if delta == 0 {
                outcome.duplicates += 1;
                continue;
            }
            record.occurrences = delta;
            record.seq = state.next_seq;
            state.next_seq += 1;
            let start = encoded.len();
            if let Err(error) = encode_record(&record, &mut encoded) {
                state.ledger.rollback_batch();
                state.next_seq = first_seq;
                return Err(error);
            }
            offsets.push((start, encoded.len()));
            outcome.accepted += 1;
            outcome.occurrences += delta;
            accepted.push(record);
        }
        if accepted.is_empty() {
            state.ledger.commit_batch();
            return Ok(outcome);
        }
        if let Err(error) = state.wal.append(&encoded) {
            // Nothing of this batch is durable: forget it, so a retry counts it again.
            state.ledger.rollback_batch();
            state.next_seq = first_seq;
            return Err(error);
        }
        state.ledger.commit_batch();
        for (record, (start, end)) in accepted.iter().zip(offsets) {
            count_into(&mut state.clusters, record, now_ms);
            self.add_document(&mut state, record, &encoded[start..end])?;
        }
        Ok(outcome)
    }

    /// Commits written days to the index, checkpoints metadata and empties the WAL.
    pub fn commit(&self, now_ms: i64) -> Result<()> {
        let mut state = self.write.lock()?;
        let mut committed_days = Vec::new();
        let mut idle_days = Vec::new();
        for (day, day_writer) in state.writers.iter_mut() {
            if !day_writer.added_since_commit {
                idle_days.push(*day);
                continue;
            }
            let mut prepared = day_writer.writer.prepare_commit()?;
            prepared.set_payload(&day_writer.max_seq.to_string());
            prepared.commit()?;
            day_writer.added_since_commit = false;
            committed_days.push(*day);
        }
        // A writer idle for a whole commit interval is closed to give its memory back.
        for day in idle_days {
            if let Some(day_writer) = state.writers.remove(&day) {
                day_writer.writer.wait_merging_threads()?;
            }
        }
        {
            let partitions = self.partitions.read()?;
            for day in &committed_days {
                if let Some(partition) = partitions.get(day) {
                    partition.reader.reload()?;
                }
            }
        }
        if !state.pending_rollups.is_empty() {
            let pending = std::mem::take(&mut state.pending_rollups);
            self.rollups.write()?.merge(pending);
        }
        let forgotten: Vec<LedgerKey> = state
            .ledger
            .forget_older_than(now_ms - self.config.ledger_ttl_ms);
        let dirty = state.ledger.take_dirty();
        if committed_days.is_empty()
            && dirty.is_empty()
            && forgotten.is_empty()
            && state.wal.is_empty()
        {
            return Ok(());
        }
        let clusters: Vec<(String, ClusterCounters)> = state
            .clusters
            .iter()
            .map(|(name, counters)| (name.clone(), counters.clone()))
            .collect();
        let next_seq = state.next_seq;
        state
            .meta
            .checkpoint(next_seq, &dirty, &forgotten, &clusters)?;
        state.wal.truncate()?;
        Ok(())
    }

    /// Commits, then closes every index writer once its background merges are done.
    pub fn close(&self, now_ms: i64) -> Result<()> {
        self.commit(now_ms)?;
        let mut state = self.write.lock()?;
        for (_, day_writer) in state.writers.drain() {
            day_writer.writer.wait_merging_threads()?;
        }
        Ok(())
    }

    /// Drops every day partition older than the retention period. Returns the days dropped.
    pub fn enforce_retention(&self, now_ms: i64) -> Result<Vec<String>> {
        let oldest_kept_day = day_of(now_ms) - i64::from(self.config.retention_days) + 1;
        let mut state = self.write.lock()?;
        let mut partitions = self.partitions.write()?;
        let old_days: Vec<i64> = partitions
            .range(..oldest_kept_day)
            .map(|(day, _)| *day)
            .collect();
        let mut dropped = Vec::new();
        for day in old_days {
            if let Some(day_writer) = state.writers.remove(&day) {
                // Uncommitted documents of a day being dropped are dropped with it.
                drop(day_writer);
            }
            partitions.remove(&day);
            let dir = self.config.data_dir.join("events").join(day_dir_name(day));
            std::fs::remove_dir_all(&dir).map_err(|error| Error::io(&dir, error))?;
            dropped.push(day_dir_name(day));
        }
        state.pending_rollups.drop_before(oldest_kept_day * DAY_MS);
        self.rollups.write()?.drop_before(oldest_kept_day * DAY_MS);
        if !dropped.is_empty() {
            tracing::info!(days = ?dropped, "dropped day partitions past retention");
        }
        Ok(dropped)
    }

    /// Partitions overlapping `[from_ms, to_ms)`, oldest first.
    pub(crate) fn partitions_for(&self, filter: &Filter) -> Result<Vec<Arc<Partition>>> {
        let from_day = filter.from_ms.map_or(i64::MIN, day_of);
        let to_day = filter
            .to_ms
            .map_or(i64::MAX, |to| day_of(to.saturating_sub(1)));
        if from_day > to_day {
            return Ok(Vec::new());
        }
        let partitions = self.partitions.read()?;
        Ok(partitions
            .range(from_day..=to_day)
            .map(|(_, partition)| partition.clone())
            .collect())
    }

    /// The schema of every partition.
    pub(crate) fn schema(&self) -> &EventSchema {
        &self.schema
    }

    /// A filter is a special case of a query's search: both compile through one path.
    fn build_query(&self, filter: &Filter) -> Result<Box<dyn Query>> {
        crate::query::compile::compile(&filter.to_expr(), &self.schema, kec_model::time::now_ms())
    }

    fn after_cursor(&self, cursor: (i64, u64), ascending: bool) -> Box<dyn Query> {
        let (time_ms, seq) = cursor;
        let time_term = |ms| Term::from_field_i64(self.schema.time_ms, ms);
        let seq_term = |s| Term::from_field_u64(self.schema.seq, s);
        let (beyond_time, same_time_beyond_seq): (Box<dyn Query>, Box<dyn Query>) = if ascending {
            (
                Box::new(RangeQuery::new(
                    Bound::Excluded(time_term(time_ms)),
                    Bound::Unbounded,
                )),
                Box::new(RangeQuery::new(
                    Bound::Excluded(seq_term(seq)),
                    Bound::Unbounded,
                )),
            )
        } else {
            (
                Box::new(RangeQuery::new(
                    Bound::Unbounded,
                    Bound::Excluded(time_term(time_ms)),
                )),
                Box::new(RangeQuery::new(
                    Bound::Unbounded,
                    Bound::Excluded(seq_term(seq)),
                )),
            )
        };
        let same_time: Box<dyn Query> = Box::new(BooleanQuery::new(vec![
            (
                Occur::Must,
                Box::new(RangeQuery::new(
                    Bound::Included(time_term(time_ms)),
                    Bound::Included(time_term(time_ms)),
                )) as Box<dyn Query>,
            ),
            (Occur::Must, same_time_beyond_seq),
        ]));
        Box::new(BooleanQuery::new(vec![
            (Occur::Should, beyond_time),
            (Occur::Should, same_time),
        ]))
    }

    /// Records matching the filter, newest first (or oldest first), one page at a time.
    pub fn search(&self, request: &SearchRequest) -> Result<SearchPage> {
        let limit = request.limit.clamp(1, 10_000);
        let cursor = request.cursor.as_deref().map(parse_cursor).transpose()?;
        let mut partitions = self.partitions_for(&request.filter)?;
        if !request.ascending {
            partitions.reverse();
        }
        let order = if request.ascending {
            Order::Asc
        } else {
            Order::Desc
        };
        let mut page = SearchPage::default();
        let mut total_records = 0u64;
        let mut total_occurrences = 0i64;
        let mut more = false;
        for partition in &partitions {
            let searcher = partition.reader.searcher();
            let base = self.build_query(&request.filter)?;
            if request.with_totals {
                let totals = searcher.search(
                    &base,
                    &GroupCollector {
                        group_by: None,
                        bucket_ms: None,
                    },
                )?;
                for (records, occurrences) in totals.values() {
                    total_records += records;
                    total_occurrences += occurrences;
                }
            }
            let wanted = limit + 1 - page.records.len().min(limit);
            if page.records.len() > limit {
                if request.with_totals {
                    continue;
                }
                break;
            }
            let query: Box<dyn Query> = match cursor {
                Some(cursor) => Box::new(BooleanQuery::new(vec![
                    (Occur::Must, base),
                    (Occur::Must, self.after_cursor(cursor, request.ascending)),
                ])),
                None => base,
            };
            let collector = TopDocs::with_limit(wanted).order_by((
                (SortByStaticFastValue::<i64>::for_field("time_ms"), order),
                (SortByStaticFastValue::<u64>::for_field("seq"), order),
            ));
            let hits = searcher.search(&query, &collector)?;
            for (_key, address) in hits {
                let document: TantivyDocument = searcher.doc(address as DocAddress)?;
                page.records.push(self.schema.record(&document)?);
            }
        }
        if page.records.len() > limit {
            page.records.truncate(limit);
            more = true;
        }
        if more && let Some(last) = page.records.last() {
            page.next_cursor = Some(format!("{}.{}", last.time_ms, last.seq));
        }
        if request.with_totals {
            page.total_records = Some(total_records);
            page.total_occurrences = Some(total_occurrences);
        }
        Ok(page)
    }

    fn object_filter(cluster: &str, namespace: &str, kind: &str, name: &str) -> Filter {
        let mut filter = Filter::default()
            .with(Field::Cluster, cluster)
            .with(Field::Kind, kind)
            .with(Field::Name, name);
        if !namespace.is_empty() && namespace != "-" {
            filter = filter.with(Field::Namespace, namespace);
        }
        filter
    }

    /// Every record of one involved object, oldest first (up to `limit`).
    pub fn timeline(
        &self,
        cluster: &str,
        namespace: &str,
        kind: &str,
        name: &str,
        limit: usize,
    ) -> Result<Vec<EventRecord>> {
        let filter = Self::object_filter(cluster, namespace, kind, name);
        let request = SearchRequest {
            filter,
            limit,
            cursor: None,
            ascending: true,
            with_totals: false,
        };
        Ok(self.search(&request)?.records)
    }

    /// The observations of one object as points read from columns only, oldest first (up to
    /// `limit`): what a lifecycle chart draws, without reading any stored document.
    pub fn timeline_points(
        &self,
        cluster: &str,
        namespace: &str,
        kind: &str,
        name: &str,
        limit: usize,
    ) -> Result<Vec<TimelinePoint>> {
        let filter = Self::object_filter(cluster, namespace, kind, name);
        let limit = limit.clamp(1, 100_000);
        let mut points = Vec::new();
        for partition in self.partitions_for(&filter)? {
            if points.len() >= limit {
                break;
            }
            let searcher = partition.reader.searcher();
            let query = self.build_query(&filter)?;
            let collector = TopDocs::with_limit(limit - points.len()).order_by((
                (
                    SortByStaticFastValue::<i64>::for_field("time_ms"),
                    Order::Asc,
                ),
                (SortByStaticFastValue::<u64>::for_field("seq"), Order::Asc),
            ));
            let hits = searcher.search(&query, &collector)?;
            let mut columns: HashMap<u32, PointColumns> = HashMap::new();
            for ((time_ms, seq), address) in hits {
                let columns = match columns.entry(address.segment_ord) {
                    std::collections::hash_map::Entry::Occupied(entry) => entry.into_mut(),
                    std::collections::hash_map::Entry::Vacant(entry) => entry.insert(
                        PointColumns::open(searcher.segment_reader(address.segment_ord))?,
                    ),
                };
                points.push(TimelinePoint {
                    seq: seq.unwrap_or_default(),
                    time_ms: time_ms.unwrap_or_default(),
                    reason: columns.reason.text(address.doc_id),
                    event_type: columns.event_type.text(address.doc_id),
                    category: columns.category.text(address.doc_id),
                    occurrences: columns
                        .occurrences
                        .first(address.doc_id)
                        .unwrap_or_default(),
                    count: columns.count.first(address.doc_id).unwrap_or_default(),
                });
            }
        }
        Ok(points)
    }

    /// Counts and occurrence sums, grouped and bucketed as asked.
    pub fn aggregate(&self, request: &AggregateRequest) -> Result<Vec<AggregateRow>> {
        if let Some(bucket_ms) = request.bucket_ms
            && bucket_ms <= 0
        {
            return Err(Error::InvalidRequest(
                "bucket must be a positive number of milliseconds".into(),
            ));
        }
        Ok(into_rows(request, self.aggregate_totals(request)?))
    }

    /// Runs `collector` over the documents `filter` matches, one fruit per partition (for
    /// collectors that other modules own, such as the rollups' edge collector).
    pub(crate) fn collect_per_partition<C: tantivy::collector::Collector>(
        &self,
        filter: &Filter,
        collector: &C,
    ) -> Result<Vec<C::Fruit>> {
        let mut fruits = Vec::new();
        let query = self.build_query(filter)?;
        for partition in self.partitions_for(filter)? {
            let searcher = partition.reader.searcher();
            fruits.push(searcher.search(&query, collector)?);
        }
        Ok(fruits)
    }

    /// [`EmbeddedStore::aggregate`] before rows are made: the index's sums by (bucket, group).
    pub(crate) fn aggregate_totals(&self, request: &AggregateRequest) -> Result<GroupTotals> {
        let collector = GroupCollector {
            group_by: request.group_by,
            bucket_ms: request.bucket_ms,
        };
        let mut totals = GroupTotals::new();
        // One query for every partition: relative times resolve once.
        let query = self.build_query(&request.filter)?;
        for partition in self.partitions_for(&request.filter)? {
            let searcher = partition.reader.searcher();
            merge_into(&mut totals, searcher.search(&query, &collector)?);
        }
        Ok(totals)
    }

    /// Clusters that sent events, by name.
    pub fn clusters(&self) -> Result<Vec<ClusterInfo>> {
        let state = self.write.lock()?;
        Ok(state
            .clusters
            .iter()
            .map(|(name, counters)| ClusterInfo {
                name: name.clone(),
                first_ingest_ms: counters.first_ingest_ms,
                last_ingest_ms: counters.last_ingest_ms,
                last_event_ms: counters.last_event_ms,
                records: counters.records,
                occurrences: counters.occurrences,
                warning_occurrences: counters.warning_occurrences,
            })
            .collect())
    }

    /// Records, partitions and bytes on disk.
    pub fn stats(&self) -> Result<StoreStats> {
        let (wal_bytes, ledger_entries) = {
            let state = self.write.lock()?;
            (state.wal.len(), state.ledger.len())
        };
        let partitions = self.partitions.read()?;
        let records = partitions
            .values()
            .map(|partition| partition.reader.searcher().num_docs())
            .sum();
        Ok(StoreStats {
            records,
            partitions: partitions.len(),
            bytes_on_disk: dir_size(&self.config.data_dir),
            wal_bytes,
            ledger_entries,
        })
    }

    /// Days held, oldest first, as `YYYY-MM-DD`.
    pub fn days(&self) -> Result<Vec<String>> {
        Ok(self
            .partitions
            .read()?
            .values()
            .map(|partition| day_dir_name(partition.day))
            .collect())
    }
}

fn count_into(
    clusters: &mut BTreeMap<String, ClusterCounters>,
    record: &EventRecord,
    ingest_ms: i64,
) {
    let counters = clusters
        .entry(record.cluster.clone())
        .or_insert_with(|| ClusterCounters {
            first_ingest_ms: ingest_ms,
            ..ClusterCounters::default()
        });
    counters.last_ingest_ms = counters.last_ingest_ms.max(ingest_ms);
    counters.last_event_ms = counters.last_event_ms.max(record.time_ms);
    counters.records += 1;
    counters.occurrences += record.occurrences;
    if record.is_warning() {
        counters.warning_occurrences += record.occurrences;
    }
}

fn parse_cursor(cursor: &str) -> Result<(i64, u64)> {
    let invalid =
        || Error::InvalidRequest(format!("cursor {cursor:?} is not one this server issued"));
    let (time, seq) = cursor.split_once('.').ok_or_else(invalid)?;
    Ok((
        time.parse().map_err(|_| invalid())?,
        seq.parse().map_err(|_| invalid())?,
    ))
}

fn dir_size(path: &Path) -> u64 {
    let Ok(entries) = std::fs::read_dir(path) else {
        return 0;
    };
    entries
        .flatten()
        .map(|entry| match entry.metadata() {
            Ok(metadata) if metadata.is_dir() => dir_size(&entry.path()),
            Ok(metadata) => metadata.len(),
            Err(_) => 0,
        })
        .sum()
}
