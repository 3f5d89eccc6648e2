//! Rollups: occurrence and record sums per time bucket, kept in memory beside the index, so
//! that the overview's panels read a few thousand cells instead of every matching document.
//!
//! Two tables, both keyed by interned strings (`u32` ids):
//! - per **minute**, per (cluster, type): histograms and totals by type or cluster;
//! - per **hour**, per (cluster, type, dimension, value) for the dimensions namespace, kind,
//!   reason and category (every type), the involved object name of Warnings, and the name of
//!   Nodes with node-problem events (category NodeNotReady or NodeProblem).
//!
//! Invariants (a test holds the rollups to the fast-field aggregation on the same data):
//! - a record is added exactly once, with the occurrences the ledger gave it, when its day's
//!   index commit makes it searchable (the store keeps a pending rollup until then);
//! - at open, the rollups are rebuilt from the committed index, and the WAL replay adds the rest
//!   through the same path as ingest;
//! - retention drops whole days, from the index and from the rollups together.
//!
//! [`Rollups::totals`] answers only whole buckets; the store answers the ragged edges of a range
//! from the index ([`crate::EmbeddedStore::rollup`]), so a rollup answer is exact.

use std::collections::{BTreeMap, HashMap};
use std::hash::Hasher;
use std::sync::Arc;

use kec_model::EventRecord;
use serde::{Deserialize, Serialize};
use tantivy::collector::{Collector, SegmentCollector};
use tantivy::columnar::{Column, StrColumn};
use tantivy::{DocId, Score, SegmentOrdinal, SegmentReader};

use crate::aggregate::{AggregateRequest, AggregateRow, GroupTotals, into_rows, merge_into};
use crate::embedded::{EmbeddedStore, Partition};
use crate::filter::{Field, Filter, TermFilter};
use crate::{Error, Result};

/// Width of a bucket of the minute table.
pub const MINUTE_MS: i64 = 60_000;
/// Width of a bucket of the hour table.
pub const HOUR_MS: i64 = 3_600_000;

/// The categories of node problems ([`Dimension::ProblemNode`]).
pub const NODE_PROBLEM_CATEGORIES: [&str; 2] = ["NodeNotReady", "NodeProblem"];

/// What a rollup query groups on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Dimension {
    /// No grouping: totals (per bucket when bucketed).
    Total,
    /// Per event type.
    Type,
    /// Per cluster.
    Cluster,
    /// Per namespace of the involved object.
    Namespace,
    /// Per kind of the involved object.
    Kind,
    /// Per reason.
    Reason,
    /// Per category.
    Category,
    /// Per involved object name, Warnings only.
    WarningObject,
    /// Per name of Nodes with events of a node-problem category.
    ProblemNode,
}

/// The hour-table dimensions, in their stored order.
const HOUR_DIMENSIONS: [Dimension; 6] = [
    Dimension::Namespace,
    Dimension::Kind,
    Dimension::Reason,
    Dimension::Category,
    Dimension::WarningObject,
    Dimension::ProblemNode,
];

impl Dimension {
    /// Bucket width of the table that holds this dimension.
    pub fn granularity_ms(self) -> i64 {
        match self {
            Dimension::Total | Dimension::Type | Dimension::Cluster => MINUTE_MS,
            _ => HOUR_MS,
        }
    }

    /// The field an index aggregation groups on to give the same answer.
    pub fn group_by(self) -> Option<Field> {
        match self {
            Dimension::Total => None,
            Dimension::Type => Some(Field::Type),
            Dimension::Cluster => Some(Field::Cluster),
            Dimension::Namespace => Some(Field::Namespace),
            Dimension::Kind => Some(Field::Kind),
            Dimension::Reason => Some(Field::Reason),
            Dimension::Category => Some(Field::Category),
            Dimension::WarningObject | Dimension::ProblemNode => Some(Field::Name),
        }
    }

    fn hour_index(self) -> Option<usize> {
        HOUR_DIMENSIONS
            .iter()
            .position(|dimension| *dimension == self)
    }
}

/// A question the rollups answer: sums over `[from_ms, to_ms)`, optionally for one cluster and
/// one type, grouped by a dimension, optionally per bucket.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RollupQuery {
    pub cluster: Option<String>,
    pub event_type: Option<String>,
    pub dimension: Dimension,
    pub from_ms: i64,
    pub to_ms: i64,
    /// Buckets of this width (aligned to the epoch); a multiple of the dimension's granularity
    /// is answered from the rollups, anything else from the index.
    pub bucket_ms: Option<i64>,
    /// Keep the `limit` groups with the most occurrences (0 keeps all).
    pub limit: usize,
}

impl RollupQuery {
    /// Totals of `dimension` over a range, every cluster and type.
    pub fn new(dimension: Dimension, from_ms: i64, to_ms: i64) -> RollupQuery {
        RollupQuery {
            cluster: None,
            event_type: None,
            dimension,
            from_ms,
            to_ms,
            bucket_ms: None,
            limit: 0,
        }
    }

    /// The index aggregation that answers the same question (the edges of a range are read
    /// with it, and tests compare against it).
    pub fn request(&self) -> AggregateRequest {
        let mut filter = Filter::default().between(self.from_ms, self.to_ms);
        if let Some(cluster) = &self.cluster {
            filter = filter.with(Field::Cluster, cluster.clone());
        }
        if let Some(event_type) = &self.event_type {
            filter = filter.with(Field::Type, event_type.clone());
        }
        match self.dimension {
            Dimension::WarningObject => filter = filter.with(Field::Type, "Warning"),
            Dimension::ProblemNode => {
                filter = filter.with(Field::Kind, "Node");
                filter.terms.push(TermFilter {
                    field: Field::Category,
                    values: NODE_PROBLEM_CATEGORIES.map(String::from).to_vec(),
                    negate: false,
                });
            }
            _ => {}
        }
        AggregateRequest {
            filter,
            group_by: self.dimension.group_by(),
            bucket_ms: self.bucket_ms,
            limit: self.limit,
        }
    }
}

/// Records and occurrences of a cell.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
struct Sums {
    records: u64,
    occurrences: i64,
}

impl Sums {
    fn add(&mut self, records: u64, occurrences: i64) {
        self.records += records;
        self.occurrences += occurrences;
    }
}

/// Interned strings: each distinct value once, named by a `u32`. Looked up by a 64-bit hash
/// (collisions probe the next hash), so a value is stored once, not as key and as name.
#[derive(Debug, Default)]
struct Strings {
    by_hash: HashMap<u64, u32>,
    names: Vec<Box<str>>,
    bytes: usize,
}

fn hash_of(text: &str) -> u64 {
    let mut hasher = twox_hash::XxHash3_64::with_seed(0);
    hasher.write(text.as_bytes());
    hasher.finish()
}

impl Strings {
    fn get(&self, text: &str) -> Option<u32> {
        let mut hash = hash_of(text);
        loop {
            let id = *self.by_hash.get(&hash)?;
            if self.name(id) == text {
                return Some(id);
            }
            hash = hash.wrapping_add(1);
        }
    }

    fn intern(&mut self, text: &str) -> u32 {
        let mut hash = hash_of(text);
        loop {
            match self.by_hash.get(&hash) {
                Some(id) if self.name(*id) == text => return *id,
                Some(_) => hash = hash.wrapping_add(1),
                None => {
                    // More than 4 billion distinct values cannot be held in memory anyway.
                    let id = u32::try_from(self.names.len()).unwrap_or(u32::MAX);
                    self.names.push(text.into());
                    self.bytes += text.len();
                    self.by_hash.insert(hash, id);
                    return id;
                }
            }
        }
    }

    fn name(&self, id: u32) -> &str {
        self.names.get(id as usize).map_or("", |name| name)
    }
}

/// The string ids of one record (what [`Rollups::add`] needs).
#[derive(Debug, Clone, Copy)]
pub(crate) struct Contribution {
    pub time_ms: i64,
    pub occurrences: i64,
    pub cluster: u32,
    pub event_type: u32,
    pub namespace: u32,
    pub kind: u32,
    pub name: u32,
    pub reason: u32,
    pub category: u32,
}

/// The group id of ungrouped sums.
const NO_GROUP: u32 = u32::MAX;
/// (bucket, group id) -> sums
type IdTotals = HashMap<(i64, u32), Sums>;

/// (cluster, type, value)
type HourKey = (u32, u32, u32);
/// One hour: a table per hour dimension, so that a query reads only its dimension's cells.
type HourCells = [HashMap<HourKey, Sums>; HOUR_DIMENSIONS.len()];

/// Memory figures of the rollups.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct RollupStats {
    pub minute_buckets: usize,
    pub minute_cells: usize,
    pub hour_buckets: usize,
    pub hour_cells: usize,
    pub strings: usize,
    /// An estimate of the heap held: cells, hash tables and strings.
    pub approx_bytes: usize,
}

/// The two rollup tables and their strings.
#[derive(Debug, Default)]
pub struct Rollups {
    strings: Strings,
    /// minute -> [(cluster, type, sums)]: a handful of cells per minute, scanned linearly.
    minutes: BTreeMap<i64, Vec<(u32, u32, Sums)>>,
    hours: BTreeMap<i64, HourCells>,
}

impl Rollups {
    pub fn new() -> Rollups {
        Rollups::default()
    }

    /// Interns `text` (for callers that resolve columns once per segment).
    pub(crate) fn intern(&mut self, text: &str) -> u32 {
        self.strings.intern(text)
    }

    /// Adds one stored record.
    pub fn add_record(&mut self, record: &EventRecord) {
        let contribution = Contribution {
            time_ms: record.time_ms,
            occurrences: record.occurrences,
            cluster: self.intern(Field::Cluster.value_of(record)),
            event_type: self.intern(Field::Type.value_of(record)),
            namespace: self.intern(Field::Namespace.value_of(record)),
            kind: self.intern(Field::Kind.value_of(record)),
            name: self.intern(Field::Name.value_of(record)),
            reason: self.intern(Field::Reason.value_of(record)),
            category: self.intern(Field::Category.value_of(record)),
        };
        self.add(contribution, 1);
    }

    /// Adds `records` records summing to `contribution.occurrences`.
    pub(crate) fn add(&mut self, contribution: Contribution, records: u64) {
        let Contribution {
            time_ms,
            occurrences,
            cluster,
            event_type,
            ..
        } = contribution;
        let minute = time_ms.div_euclid(MINUTE_MS) * MINUTE_MS;
        let cells = self.minutes.entry(minute).or_default();
        match cells
            .iter_mut()
            .find(|(c, t, _)| *c == cluster && *t == event_type)
        {
            Some((_, _, sums)) => sums.add(records, occurrences),
            None => cells.push((
                cluster,
                event_type,
                Sums {
                    records,
                    occurrences,
                },
            )),
        }
        let warning = self.strings.name(event_type) == "Warning";
        let problem_node = self.strings.name(contribution.kind) == "Node"
            && NODE_PROBLEM_CATEGORIES.contains(&self.strings.name(contribution.category));
        let hour = time_ms.div_euclid(HOUR_MS) * HOUR_MS;
        let cells = self.hours.entry(hour).or_default();
        let mut add = |dimension: Dimension, value: u32| {
            if let Some(table) = dimension
                .hour_index()
                .and_then(|index| cells.get_mut(index))
            {
                table
                    .entry((cluster, event_type, value))
                    .or_default()
                    .add(records, occurrences);
            }
        };
        add(Dimension::Namespace, contribution.namespace);
        add(Dimension::Kind, contribution.kind);
        add(Dimension::Reason, contribution.reason);
        add(Dimension::Category, contribution.category);
        if warning {
            add(Dimension::WarningObject, contribution.name);
        }
        if problem_node {
            add(Dimension::ProblemNode, contribution.name);
        }
    }

    /// Adds every cell of `other` (a pending rollup whose records were just committed).
    pub fn merge(&mut self, other: Rollups) {
        let ids: Vec<u32> = other
            .strings
            .names
            .iter()
            .map(|name| self.strings.intern(name))
            .collect();
        let id = |old: u32| ids.get(old as usize).copied().unwrap_or(u32::MAX);
        for (minute, cells) in other.minutes {
            let mine = self.minutes.entry(minute).or_default();
            for (cluster, event_type, sums) in cells {
                let (cluster, event_type) = (id(cluster), id(event_type));
                match mine
                    .iter_mut()
                    .find(|(c, t, _)| *c == cluster && *t == event_type)
                {
                    Some((_, _, mine)) => mine.add(sums.records, sums.occurrences),
                    None => mine.push((cluster, event_type, sums)),
                }
            }
        }
        for (hour, cells) in other.hours {
            let mine = self.hours.entry(hour).or_default();
            for (table, mine) in cells.into_iter().zip(mine.iter_mut()) {
                for ((cluster, event_type, value), sums) in table {
                    mine.entry((id(cluster), id(event_type), id(value)))
                        .or_default()
                        .add(sums.records, sums.occurrences);
                }
            }
        }
    }

    /// Forgets every bucket before `oldest_kept_ms` (a day boundary: retention drops days).
    pub fn drop_before(&mut self, oldest_kept_ms: i64) {
        self.minutes = self.minutes.split_off(&oldest_kept_ms);
        self.hours = self.hours.split_off(&oldest_kept_ms);
    }

    /// True when nothing was added.
    pub fn is_empty(&self) -> bool {
        self.minutes.is_empty() && self.hours.is_empty()
    }

    /// Sums of `query` over `[from_ms, to_ms)`, which must be aligned to the query dimension's
    /// granularity, as `(bucket, group) -> (records, occurrences)` like the index collector.
    pub(crate) fn totals(&self, query: &RollupQuery, from_ms: i64, to_ms: i64) -> GroupTotals {
        let mut totals = GroupTotals::new();
        for ((bucket, group), sums) in self.id_totals(query, from_ms, to_ms) {
            let entry = totals
                .entry((bucket, self.group_name(group)))
                .or_insert((0, 0));
            entry.0 += sums.records;
            entry.1 += sums.occurrences;
        }
        totals
    }

    /// The name of a group id ([`NO_GROUP`] is the empty group of ungrouped sums).
    fn group_name(&self, group: u32) -> String {
        if group == NO_GROUP {
            String::new()
        } else {
            self.strings.name(group).to_string()
        }
    }

    /// [`Rollups::totals`] by string id: names are resolved only for the groups kept.
    fn id_totals(&self, query: &RollupQuery, from_ms: i64, to_ms: i64) -> IdTotals {
        let mut by_id = IdTotals::new();
        let wanted = |value: &Option<String>| match value {
            None => Some(None),
            Some(text) => self.strings.get(text).map(Some),
        };
        // A cluster or type never seen matches nothing.
        let (Some(cluster), Some(event_type)) = (wanted(&query.cluster), wanted(&query.event_type))
        else {
            return by_id;
        };
        let matches = |c: u32, t: u32| {
            cluster.is_none_or(|id| id == c) && event_type.is_none_or(|id| id == t)
        };
        let bucket_of = |time: i64| match query.bucket_ms {
            Some(bucket_ms) if bucket_ms > 0 => time.div_euclid(bucket_ms) * bucket_ms,
            _ => 0,
        };
        match query.dimension.hour_index() {
            None => {
                for (minute, cells) in self.minutes.range(from_ms..to_ms) {
                    let bucket = bucket_of(*minute);
                    for (c, t, sums) in cells {
                        if !matches(*c, *t) {
                            continue;
                        }
                        let group = match query.dimension {
                            Dimension::Type => *t,
                            Dimension::Cluster => *c,
                            _ => NO_GROUP,
                        };
                        by_id
                            .entry((bucket, group))
                            .or_default()
                            .add(sums.records, sums.occurrences);
                    }
                }
            }
            Some(index) => {
                for (hour, cells) in self.hours.range(from_ms..to_ms) {
                    let bucket = bucket_of(*hour);
                    let Some(table) = cells.get(index) else {
                        continue;
                    };
                    for ((c, t, value), sums) in table {
                        if !matches(*c, *t) {
                            continue;
                        }
                        by_id
                            .entry((bucket, *value))
                            .or_default()
                            .add(sums.records, sums.occurrences);
                    }
                }
            }
        }
        by_id
    }

    /// Sizes and an estimate of the memory held.
    pub fn stats(&self) -> RollupStats {
        let minute_cells: usize = self.minutes.values().map(Vec::len).sum();
        let hour_tables = || self.hours.values().flat_map(|cells| cells.iter());
        let hour_cells: usize = hour_tables().map(HashMap::len).sum();
        let hour_capacity: usize = hour_tables().map(HashMap::capacity).sum();
        let minute_capacity: usize = self.minutes.values().map(Vec::capacity).sum();
        // A hash table slot holds the key, the value and one control byte.
        let hour_slot = std::mem::size_of::<(HourKey, Sums)>() + 1;
        let minute_slot = std::mem::size_of::<(u32, u32, Sums)>();
        let btree_entry = std::mem::size_of::<i64>() + std::mem::size_of::<HourCells>() + 16;
        let strings = self.strings.names.len();
        RollupStats {
            minute_buckets: self.minutes.len(),
            minute_cells,
            hour_buckets: self.hours.len(),
            hour_cells,
            strings,
            approx_bytes: hour_capacity * hour_slot
                + minute_capacity * minute_slot
                + (self.minutes.len() + self.hours.len()) * btree_entry
                + self.strings.bytes
                + strings * (std::mem::size_of::<Box<str>>() + 8 + 4 + 1),
        }
    }
}

/// A string column of a segment with every term interned up front: its dictionary is read
/// once, in order (resolving ordinals one by one would decompress a dictionary block each).
struct InternedColumn {
    column: Option<StrColumn>,
    ids: Vec<u32>,
    empty: u32,
}

impl InternedColumn {
    fn open(
        segment: &SegmentReader,
        field: Field,
        rollups: &mut Rollups,
    ) -> Result<InternedColumn> {
        let column = segment.fast_fields().str(field.as_str())?;
        let empty = rollups.intern("");
        let mut ids = Vec::new();
        if let Some(column) = &column {
            ids.reserve(column.num_terms());
            let mut terms = column.dictionary().stream().map_err(|error| {
                Error::Corrupt(format!("{} dictionary: {error}", field.as_str()))
            })?;
            while terms.advance() {
                let text = String::from_utf8_lossy(terms.key());
                ids.push(rollups.intern(&text));
            }
        }
        Ok(InternedColumn { column, ids, empty })
    }

    fn id(&self, doc: DocId) -> u32 {
        let Some(column) = &self.column else {
            return self.empty;
        };
        column
            .term_ords(doc)
            .next()
            .and_then(|ordinal| usize::try_from(ordinal).ok())
            .and_then(|at| self.ids.get(at).copied())
            .unwrap_or(self.empty)
    }
}

/// Builds the rollups of every committed document of `partitions` (at open: the WAL replay
/// then adds what the index had not committed).
pub(crate) fn rebuild<'a>(partitions: impl Iterator<Item = &'a Arc<Partition>>) -> Result<Rollups> {
    let mut rollups = Rollups::new();
    for partition in partitions {
        let searcher = partition.reader.searcher();
        for segment in searcher.segment_readers() {
            add_segment(&mut rollups, segment)?;
        }
    }
    Ok(rollups)
}

fn add_segment(rollups: &mut Rollups, segment: &SegmentReader) -> Result<()> {
    let fast_fields = segment.fast_fields();
    let time = fast_fields.i64("time_ms")?;
    let occurrences = fast_fields.i64("occurrences")?;
    let mut open = |field| InternedColumn::open(segment, field, rollups);
    let cluster = open(Field::Cluster)?;
    let event_type = open(Field::Type)?;
    let namespace = open(Field::Namespace)?;
    let kind = open(Field::Kind)?;
    let name = open(Field::Name)?;
    let reason = open(Field::Reason)?;
    let category = open(Field::Category)?;
    let alive = segment.alive_bitset();
    for doc in 0..segment.max_doc() {
        if alive.is_some_and(|alive| !alive.is_alive(doc)) {
            continue;
        }
        let contribution = Contribution {
            time_ms: time.first(doc).unwrap_or_default(),
            occurrences: occurrences.first(doc).unwrap_or_default(),
            cluster: cluster.id(doc),
            event_type: event_type.id(doc),
            namespace: namespace.id(doc),
            kind: kind.id(doc),
            name: name.id(doc),
            reason: reason.id(doc),
            category: category.id(doc),
        };
        rollups.add(contribution, 1);
    }
    Ok(())
}

impl EmbeddedStore {
    /// Answers `query` from the rollups for the whole buckets of its range and from the index
    /// for the ragged edges (and wholly from the index when its buckets are finer than the
    /// rollups'): the same rows as [`EmbeddedStore::aggregate`] of [`RollupQuery::request`].
    pub fn rollup(&self, query: &RollupQuery) -> Result<Vec<AggregateRow>> {
        Ok(self.rollup_groups(query)?.rows)
    }

    /// [`EmbeddedStore::rollup`], with the number of distinct groups before `limit` (how many
    /// objects had Warnings, while only the top ones are named).
    pub fn rollup_groups(&self, query: &RollupQuery) -> Result<RollupAnswer> {
        let request = query.request();
        if let Some(bucket_ms) = query.bucket_ms
            && bucket_ms <= 0
        {
            return Err(Error::InvalidRequest(
                "bucket must be a positive number of milliseconds".into(),
            ));
        }
        if query.from_ms >= query.to_ms {
            return Ok(RollupAnswer::default());
        }
        let granularity = query.dimension.granularity_ms();
        let start = align_up(query.from_ms, granularity);
        let end = query.to_ms.div_euclid(granularity) * granularity;
        let bucketed_finer = query
            .bucket_ms
            .is_some_and(|bucket_ms| bucket_ms % granularity != 0);
        if bucketed_finer || start >= end {
            let totals = self.aggregate_totals(&request)?;
            let groups = distinct_groups(totals.keys().map(|(_, group)| group));
            return Ok(RollupAnswer {
                rows: into_rows(&request, totals),
                groups,
            });
        }
        let mut edges = GroupTotals::new();
        for (from_ms, to_ms) in [(query.from_ms, start), (end, query.to_ms)] {
            if from_ms < to_ms {
                let mut edge = request.clone();
                edge.filter.from_ms = Some(from_ms);
                edge.filter.to_ms = Some(to_ms);
                merge_into(&mut edges, self.aggregate_totals(&edge)?);
            }
        }
        self.combine(query, &request, start, end, edges)
    }

    /// The rollups' sums over `[start, end)` plus `edges` (sums of the rest of the range,
    /// already computed), ranked and limited as the index path would.
    fn combine(
        &self,
        query: &RollupQuery,
        request: &AggregateRequest,
        start: i64,
        end: i64,
        edges: GroupTotals,
    ) -> Result<RollupAnswer> {
        let rollups = self.rollups.read()?;
        let mut by_id = rollups.id_totals(query, start, end);
        // Edge groups by id; a value the rollups have not seen (committed between the two
        // reads) keeps its name.
        let mut unnamed = GroupTotals::new();
        for ((bucket, group), (records, occurrences)) in edges {
            let id = if request.group_by.is_none() {
                Some(NO_GROUP)
            } else {
                rollups.strings.get(&group)
            };
            match id {
                Some(id) => by_id
                    .entry((bucket, id))
                    .or_default()
                    .add(records, occurrences),
                None => {
                    let entry = unnamed.entry((bucket, group)).or_insert((0, 0));
                    entry.0 += records;
                    entry.1 += occurrences;
                }
            }
        }
        let groups = distinct_groups(by_id.keys().map(|(_, id)| id))
            + distinct_groups(unnamed.keys().map(|(_, group)| group));
        // Only the groups that can make the top `limit` are named; into_rows then ranks them
        // exactly as the index path does (occurrences, then name).
        let threshold = if request.limit > 0 {
            let mut per_group: HashMap<u32, i64> = HashMap::new();
            for ((_, id), sums) in &by_id {
                *per_group.entry(*id).or_default() += sums.occurrences;
            }
            let mut per_unnamed: HashMap<&str, i64> = HashMap::new();
            for ((_, group), (_, occurrences)) in &unnamed {
                *per_unnamed.entry(group.as_str()).or_default() += occurrences;
            }
            let mut ranked: Vec<i64> = per_group
                .values()
                .chain(per_unnamed.values())
                .copied()
                .collect();
            ranked.sort_unstable_by(|a, b| b.cmp(a));
            let threshold = ranked.get(request.limit - 1).copied().unwrap_or(i64::MIN);
            Some((per_group, threshold))
        } else {
            None
        };
        let mut totals = unnamed;
        for ((bucket, id), sums) in by_id {
            if let Some((per_group, threshold)) = &threshold
                && per_group.get(&id).is_some_and(|total| total < threshold)
            {
                continue;
            }
            let entry = totals
                .entry((bucket, rollups.group_name(id)))
                .or_insert((0, 0));
            entry.0 += sums.records;
            entry.1 += sums.occurrences;
        }
        Ok(RollupAnswer {
            rows: into_rows(request, totals),
            groups,
        })
    }

    /// A view of `[from_ms, to_ms)` for several rollup queries over that same range: the
    /// ragged edges (before the first and after the last whole hour) are read from the index
    /// once, in one pass per edge, instead of once per query.
    pub fn rollup_view(&self, from_ms: i64, to_ms: i64) -> Result<RollupView<'_>> {
        let start = align_up(from_ms, HOUR_MS);
        let end = to_ms.div_euclid(HOUR_MS) * HOUR_MS;
        let mut edges = Rollups::new();
        if start < end {
            for (edge_from, edge_to) in [(from_ms, start), (end, to_ms)] {
                if edge_from < edge_to {
                    let filter = Filter::default().between(edge_from, edge_to);
                    for fruit in self.collect_per_partition(&filter, &EdgeCollector)? {
                        edges.merge(fruit.map_err(Error::Corrupt)?);
                    }
                }
            }
        }
        Ok(RollupView {
            store: self,
            from_ms,
            to_ms,
            start,
            end,
            edges,
        })
    }

    /// Sizes and memory of the rollups.
    pub fn rollup_stats(&self) -> Result<RollupStats> {
        Ok(self.rollups.read()?.stats())
    }
}

/// Rollup queries over one range whose edges were read once ([`EmbeddedStore::rollup_view`]).
pub struct RollupView<'a> {
    store: &'a EmbeddedStore,
    from_ms: i64,
    to_ms: i64,
    /// The whole hours of the range: `[start, end)`.
    start: i64,
    end: i64,
    /// Rollups of the documents of the edges.
    edges: Rollups,
}

impl RollupView<'_> {
    /// [`EmbeddedStore::rollup_groups`] of `query`, whose range must be the view's (any other
    /// range, and buckets finer than the rollups', are answered without the view).
    pub fn query(&self, query: &RollupQuery) -> Result<RollupAnswer> {
        let finer = query.bucket_ms.is_some_and(|bucket_ms| {
            bucket_ms <= 0 || bucket_ms % query.dimension.granularity_ms() != 0
        });
        if finer
            || query.from_ms != self.from_ms
            || query.to_ms != self.to_ms
            || self.start >= self.end
        {
            return self.store.rollup_groups(query);
        }
        let request = query.request();
        let edges = self.edges.totals(query, i64::MIN, i64::MAX);
        self.store
            .combine(query, &request, self.start, self.end, edges)
    }
}

/// The string fields an edge document contributes, in [`Contribution`] order.
const EDGE_FIELDS: [Field; 7] = [
    Field::Cluster,
    Field::Type,
    Field::Namespace,
    Field::Kind,
    Field::Name,
    Field::Reason,
    Field::Category,
];
const NO_ORDINAL: u64 = u64::MAX;

/// Collects the rollups of the documents a query matches (the ragged edges of a range).
struct EdgeCollector;

/// One matched document: its time, occurrences and term ordinals.
struct EdgeDoc {
    time_ms: i64,
    occurrences: i64,
    ordinals: [u64; EDGE_FIELDS.len()],
}

struct EdgeSegmentCollector {
    columns: Vec<Option<StrColumn>>,
    time: Column<i64>,
    occurrences: Column<i64>,
    docs: Vec<EdgeDoc>,
}

type EdgeFruit = std::result::Result<Rollups, String>;

impl Collector for EdgeCollector {
    type Fruit = EdgeFruit;
    type Child = EdgeSegmentCollector;

    fn for_segment(
        &self,
        _segment_local_id: SegmentOrdinal,
        segment: &SegmentReader,
    ) -> tantivy::Result<EdgeSegmentCollector> {
        let fast_fields = segment.fast_fields();
        let mut columns = Vec::with_capacity(EDGE_FIELDS.len());
        for field in EDGE_FIELDS {
            columns.push(fast_fields.str(field.as_str())?);
        }
        Ok(EdgeSegmentCollector {
            columns,
            time: fast_fields.i64("time_ms")?,
            occurrences: fast_fields.i64("occurrences")?,
            docs: Vec::new(),
        })
    }

    fn requires_scoring(&self) -> bool {
        false
    }

    fn merge_fruits(&self, fruits: Vec<EdgeFruit>) -> tantivy::Result<EdgeFruit> {
        let mut merged = Rollups::new();
        for fruit in fruits {
            match fruit {
                Ok(rollups) => merged.merge(rollups),
                Err(error) => return Ok(Err(error)),
            }
        }
        Ok(Ok(merged))
    }
}

impl SegmentCollector for EdgeSegmentCollector {
    type Fruit = EdgeFruit;

    fn collect(&mut self, doc: DocId, _score: Score) {
        let mut ordinals = [NO_ORDINAL; EDGE_FIELDS.len()];
        for (slot, column) in ordinals.iter_mut().zip(&self.columns) {
            if let Some(column) = column
                && let Some(ordinal) = column.term_ords(doc).next()
            {
                *slot = ordinal;
            }
        }
        self.docs.push(EdgeDoc {
            time_ms: self.time.first(doc).unwrap_or_default(),
            occurrences: self.occurrences.first(doc).unwrap_or_default(),
            ordinals,
        });
    }

    /// Resolves each column's distinct ordinals in one sorted pass over its dictionary, then
    /// adds the documents.
    fn harvest(self) -> EdgeFruit {
        let mut rollups = Rollups::new();
        let empty = rollups.intern("");
        let mut resolved: Vec<(Vec<u64>, Vec<u32>)> = Vec::with_capacity(EDGE_FIELDS.len());
        for (index, column) in self.columns.iter().enumerate() {
            let mut ordinals: Vec<u64> = self
                .docs
                .iter()
                .filter_map(|doc| doc.ordinals.get(index).copied())
                .filter(|ordinal| *ordinal != NO_ORDINAL)
                .collect();
            ordinals.sort_unstable();
            ordinals.dedup();
            let mut ids = Vec::with_capacity(ordinals.len());
            if let Some(column) = column {
                column
                    .dictionary()
                    .sorted_ords_to_term_cb(&ordinals, |bytes| {
                        ids.push(rollups.intern(&String::from_utf8_lossy(bytes)));
                    })
                    .map_err(|error| format!("edge dictionary: {error}"))?;
            }
            ids.resize(ordinals.len(), empty);
            resolved.push((ordinals, ids));
        }
        let id = |doc: &EdgeDoc, index: usize| {
            let ordinal = doc.ordinals.get(index).copied().unwrap_or(NO_ORDINAL);
            resolved
                .get(index)
                .and_then(|(ordinals, ids)| {
                    ordinals
                        .binary_search(&ordinal)
                        .ok()
                        .and_then(|at| ids.get(at).copied())
                })
                .unwrap_or(empty)
        };
        let contributions: Vec<Contribution> = self
            .docs
            .iter()
            .map(|doc| Contribution {
                time_ms: doc.time_ms,
                occurrences: doc.occurrences,
                cluster: id(doc, 0),
                event_type: id(doc, 1),
                namespace: id(doc, 2),
                kind: id(doc, 3),
                name: id(doc, 4),
                reason: id(doc, 5),
                category: id(doc, 6),
            })
            .collect();
        for contribution in contributions {
            rollups.add(contribution, 1);
        }
        Ok(rollups)
    }
}

/// Rows of a rollup query and how many groups there were before the limit.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RollupAnswer {
    pub rows: Vec<AggregateRow>,
    pub groups: usize,
}

fn distinct_groups<T: Eq + std::hash::Hash>(groups: impl Iterator<Item = T>) -> usize {
    groups.collect::<std::collections::HashSet<T>>().len()
}

fn align_up(time_ms: i64, granularity: i64) -> i64 {
    let floor = time_ms.div_euclid(granularity) * granularity;
    if floor < time_ms {
        floor.saturating_add(granularity)
    } else {
        floor
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record(time_ms: i64, event_type: &str, name: &str, occurrences: i64) -> EventRecord {
        EventRecord {
            seq: 1,
            cluster: "c1".into(),
            namespace: "shop".into(),
            name: format!("{name}.1"),
            uid: format!("u-{name}"),
            resource_version: "1".into(),
            api_version: "v1".into(),
            object: kec_model::ObjectRef {
                kind: "Pod".into(),
                namespace: "shop".into(),
                name: name.into(),
                ..kec_model::ObjectRef::default()
            },
            reason: "BackOff".into(),
            message: String::new(),
            event_type: event_type.into(),
            source_component: String::new(),
            source_host: String::new(),
            reporting_controller: String::new(),
            reporting_instance: String::new(),
            action: String::new(),
            time_ms,
            time_is_receipt: false,
            first_ms: time_ms,
            count: 1,
            occurrences,
            category: kec_model::Category::Other,
            node: String::new(),
            raw: kec_model::RawJson::null(),
        }
    }

    #[test]
    fn strings_are_interned_once() {
        let mut strings = Strings::default();
        let a = strings.intern("alpha");
        let b = strings.intern("beta");
        assert_ne!(a, b);
        assert_eq!(strings.intern("alpha"), a);
        assert_eq!(strings.get("beta"), Some(b));
        assert_eq!(strings.get("gamma"), None);
        assert_eq!(strings.name(a), "alpha");
        assert_eq!(strings.name(999), "");
    }

    #[test]
    fn warning_objects_are_counted_per_hour_and_only_for_warnings() {
        let mut rollups = Rollups::new();
        rollups.add_record(&record(10 * MINUTE_MS, "Warning", "web-1", 3));
        rollups.add_record(&record(20 * MINUTE_MS, "Warning", "web-1", 2));
        rollups.add_record(&record(30 * MINUTE_MS, "Normal", "web-2", 7));
        rollups.add_record(&record(HOUR_MS + 1, "Warning", "web-2", 1));
        let query = RollupQuery::new(Dimension::WarningObject, 0, HOUR_MS);
        let totals = rollups.totals(&query, 0, HOUR_MS);
        assert_eq!(totals.len(), 1);
        assert_eq!(totals.get(&(0, "web-1".to_string())), Some(&(2, 5)));
        let all = rollups.totals(&query, 0, 2 * HOUR_MS);
        assert_eq!(all.get(&(0, "web-2".to_string())), Some(&(1, 1)));
    }

    #[test]
    fn minute_buckets_fold_into_wider_buckets() {
        let mut rollups = Rollups::new();
        for minute in 0..10 {
            rollups.add_record(&record(minute * MINUTE_MS + 5, "Normal", "a", 1));
        }
        let query = RollupQuery {
            bucket_ms: Some(5 * MINUTE_MS),
            ..RollupQuery::new(Dimension::Type, 0, 10 * MINUTE_MS)
        };
        let totals = rollups.totals(&query, 0, 10 * MINUTE_MS);
        assert_eq!(totals.get(&(0, "Normal".to_string())), Some(&(5, 5)));
        assert_eq!(
            totals.get(&(5 * MINUTE_MS, "Normal".to_string())),
            Some(&(5, 5))
        );
        let unknown = RollupQuery {
            cluster: Some("nowhere".into()),
            ..query
        };
        assert!(rollups.totals(&unknown, 0, 10 * MINUTE_MS).is_empty());
    }

    #[test]
    fn merge_remaps_strings_and_drop_before_forgets_days() {
        let mut main = Rollups::new();
        main.add_record(&record(0, "Normal", "x", 1));
        let mut pending = Rollups::new();
        pending.add_record(&record(86_400_000, "Warning", "y", 4));
        pending.add_record(&record(5, "Normal", "x", 2));
        main.merge(pending);
        let query = RollupQuery::new(Dimension::Type, 0, 2 * 86_400_000);
        let totals = main.totals(&query, 0, 2 * 86_400_000);
        assert_eq!(totals.get(&(0, "Normal".to_string())), Some(&(2, 3)));
        assert_eq!(totals.get(&(0, "Warning".to_string())), Some(&(1, 4)));
        main.drop_before(86_400_000);
        let totals = main.totals(&query, 0, 2 * 86_400_000);
        assert_eq!(totals.get(&(0, "Normal".to_string())), None);
        assert!(main.stats().approx_bytes > 0);
        assert_eq!(main.stats().minute_cells, 1);
    }
}
