//! Reading matching records from columns: grouped aggregation straight from fast fields (the
//! path for `stats`, `top` and `timechart` right after the search, over every match), and the
//! row scan that feeds the other pipes (newest first, bounded).

use std::collections::{HashMap, HashSet};
use std::io;

use kec_query::{Field, Function};
use tantivy::collector::{Collector, SegmentCollector};
use tantivy::columnar::{Column, StrColumn};
use tantivy::{DocId, Score, SegmentOrdinal, SegmentReader};

use super::dictionary::ResolvedOrdinals;
use super::pipes::{Accumulator, Groups};
use super::value::{Key, Value};

/// Where a group key part or an aggregated value comes from.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Source {
    /// A string field's column.
    Str(Field),
    /// A numeric fast field (`time_ms`, `occurrences`, `count`).
    Int(&'static str),
    /// `time_ms` rounded down to a multiple of this many milliseconds.
    Bucket(i64),
}

impl Source {
    /// The source of an event column (`None` for the message, which has no column).
    pub(crate) fn of_column(name: &str) -> Option<Source> {
        match name {
            kec_query::field::TIME => Some(Source::Int("time_ms")),
            "occurrences" => Some(Source::Int("occurrences")),
            "count" => Some(Source::Int("count")),
            _ => Field::parse(name).map(Source::Str),
        }
    }
}

/// Groups by `group` and aggregates `aggregations` (function, input) over every matching doc.
pub(crate) struct GroupingCollector {
    pub group: Vec<Source>,
    pub aggregations: Vec<(Function, Option<Source>)>,
}

/// A source opened on one segment.
enum Opened {
    Str(Option<StrColumn>),
    Int(Column<i64>),
    Bucket(Column<i64>, i64),
}

const MISSING: u64 = u64::MAX;

impl Opened {
    fn open(source: Source, segment: &SegmentReader) -> tantivy::Result<Opened> {
        let fast_fields = segment.fast_fields();
        Ok(match source {
            Source::Str(field) => Opened::Str(fast_fields.str(field.as_str())?),
            Source::Int(name) => Opened::Int(fast_fields.i64(name)?),
            Source::Bucket(span) => Opened::Bucket(fast_fields.i64("time_ms")?, span.max(1)),
        })
    }

    /// The doc's value as raw bits: a term ordinal, or an i64's bits.
    fn raw(&self, doc: DocId) -> u64 {
        match self {
            Opened::Str(Some(column)) => column.term_ords(doc).next().unwrap_or(MISSING),
            Opened::Str(None) => MISSING,
            Opened::Int(column) => column.first(doc).unwrap_or_default() as u64,
            Opened::Bucket(column, span) => {
                (column.first(doc).unwrap_or_default().div_euclid(*span) * span) as u64
            }
        }
    }

    /// For a string column, the strings of the ordinals among `raws`, read in one sorted walk
    /// of its dictionary (`None` for numbers and for a column no doc has).
    fn resolve(&self, raws: impl Iterator<Item = u64>) -> io::Result<Option<ResolvedOrdinals>> {
        match self {
            Opened::Str(Some(column)) => {
                ResolvedOrdinals::read(column, raws.filter(|raw| *raw != MISSING)).map(Some)
            }
            Opened::Str(None) | Opened::Int(_) | Opened::Bucket(..) => Ok(None),
        }
    }

    /// The key of a raw value; a string's ordinal is looked up in what [`Opened::resolve`]
    /// read (a missing value is the empty string).
    fn key(&self, raw: u64, resolved: Option<&ResolvedOrdinals>) -> Key {
        match self {
            Opened::Str(_) => Key::Str(
                resolved
                    .and_then(|resolved| resolved.get(raw))
                    .unwrap_or_default()
                    .to_string(),
            ),
            Opened::Int(_) | Opened::Bucket(..) => Key::Int(raw as i64),
        }
    }
}

/// A per-segment aggregate on raw values (ordinals are resolved to strings once, at harvest).
enum SegmentAccumulator {
    Count(u64),
    Sum(i128),
    Min(Option<i64>),
    Max(Option<i64>),
    Avg(i128, u64),
    Distinct(HashSet<u64>),
}

impl SegmentAccumulator {
    fn new(function: Function) -> SegmentAccumulator {
        match function {
            Function::Count => SegmentAccumulator::Count(0),
            Function::Sum => SegmentAccumulator::Sum(0),
            Function::Min => SegmentAccumulator::Min(None),
            Function::Max => SegmentAccumulator::Max(None),
            Function::Avg => SegmentAccumulator::Avg(0, 0),
            Function::Dc => SegmentAccumulator::Distinct(HashSet::new()),
        }
    }

    fn add(&mut self, raw: u64) {
        let number = raw as i64;
        match self {
            SegmentAccumulator::Count(count) => *count += 1,
            SegmentAccumulator::Sum(sum) => *sum += i128::from(number),
            SegmentAccumulator::Min(min) => *min = Some(min.map_or(number, |m| m.min(number))),
            SegmentAccumulator::Max(max) => *max = Some(max.map_or(number, |m| m.max(number))),
            SegmentAccumulator::Avg(sum, values) => {
                *sum += i128::from(number);
                *values += 1;
            }
            SegmentAccumulator::Distinct(seen) => {
                if raw != MISSING {
                    seen.insert(raw);
                }
            }
        }
    }

    /// The accumulator on values; distinct raw values become keys through `input` and what
    /// was resolved of its dictionary.
    fn finish(self, input: Option<&Opened>, resolved: Option<&ResolvedOrdinals>) -> Accumulator {
        match self {
            SegmentAccumulator::Count(count) => Accumulator::Count(count),
            SegmentAccumulator::Sum(int) => Accumulator::Sum {
                int,
                float: 0.0,
                floats: false,
            },
            SegmentAccumulator::Min(min) => Accumulator::Min(min.map(Value::Int)),
            SegmentAccumulator::Max(max) => Accumulator::Max(max.map(Value::Int)),
            SegmentAccumulator::Avg(sum, values) => Accumulator::Avg {
                sum: sum as f64,
                values,
            },
            SegmentAccumulator::Distinct(seen) => Accumulator::Distinct(
                seen.into_iter()
                    .map(|raw| match input {
                        Some(opened) => opened.key(raw, resolved),
                        None => Key::Int(raw as i64),
                    })
                    .collect(),
            ),
        }
    }
}

pub(crate) struct GroupingSegmentCollector {
    group: Vec<Opened>,
    inputs: Vec<Option<Opened>>,
    functions: Vec<Function>,
    groups: HashMap<Vec<u64>, Vec<SegmentAccumulator>>,
    scratch: Vec<u64>,
    matched: u64,
}

impl Collector for GroupingCollector {
    type Fruit = (Groups, u64);
    type Child = GroupingSegmentCollector;

    fn for_segment(
        &self,
        _segment_local_id: SegmentOrdinal,
        segment: &SegmentReader,
    ) -> tantivy::Result<GroupingSegmentCollector> {
        let group = self
            .group
            .iter()
            .map(|source| Opened::open(*source, segment))
            .collect::<tantivy::Result<_>>()?;
        let inputs = self
            .aggregations
            .iter()
            .map(|(_, source)| {
                source
                    .map(|source| Opened::open(source, segment))
                    .transpose()
            })
            .collect::<tantivy::Result<_>>()?;
        Ok(GroupingSegmentCollector {
            group,
            inputs,
            functions: self
                .aggregations
                .iter()
                .map(|(function, _)| *function)
                .collect(),
            groups: HashMap::new(),
            scratch: Vec::with_capacity(self.group.len()),
            matched: 0,
        })
    }

    fn requires_scoring(&self) -> bool {
        false
    }

    fn merge_fruits(
        &self,
        fruits: Vec<io::Result<(Groups, u64)>>,
    ) -> tantivy::Result<(Groups, u64)> {
        let mut merged = Groups::new();
        let mut matched = 0;
        for fruit in fruits {
            let (groups, count) = fruit?;
            super::pipes::merge_groups(&mut merged, groups);
            matched += count;
        }
        Ok((merged, matched))
    }
}

impl SegmentCollector for GroupingSegmentCollector {
    /// A dictionary that cannot be read fails the query (never a short or renamed group).
    type Fruit = io::Result<(Groups, u64)>;

    fn collect(&mut self, doc: DocId, _score: Score) {
        self.matched += 1;
        self.scratch.clear();
        for opened in &self.group {
            self.scratch.push(opened.raw(doc));
        }
        if !self.groups.contains_key(self.scratch.as_slice()) {
            let fresh = self
                .functions
                .iter()
                .map(|f| SegmentAccumulator::new(*f))
                .collect();
            self.groups.insert(self.scratch.clone(), fresh);
        }
        if let Some(accumulators) = self.groups.get_mut(self.scratch.as_slice()) {
            for (accumulator, input) in accumulators.iter_mut().zip(&self.inputs) {
                accumulator.add(input.as_ref().map_or(0, |opened| opened.raw(doc)));
            }
        }
    }

    /// Resolves every string ordinal the segment's groups hold (key parts and distinct
    /// inputs) in one sorted dictionary walk per column, then builds the groups.
    fn harvest(self) -> io::Result<(Groups, u64)> {
        let group_strings = self
            .group
            .iter()
            .enumerate()
            .map(|(index, opened)| {
                opened.resolve(self.groups.keys().filter_map(|key| key.get(index).copied()))
            })
            .collect::<io::Result<Vec<_>>>()?;
        let input_strings = self
            .inputs
            .iter()
            .enumerate()
            .map(|(index, input)| match input {
                Some(opened) => opened.resolve(
                    self.groups
                        .values()
                        .filter_map(|accumulators| match accumulators.get(index) {
                            Some(SegmentAccumulator::Distinct(seen)) => Some(seen.iter().copied()),
                            _ => None,
                        })
                        .flatten(),
                ),
                None => Ok(None),
            })
            .collect::<io::Result<Vec<_>>>()?;
        let mut groups = Groups::with_capacity(self.groups.len());
        for (raw_key, accumulators) in self.groups {
            let key: Vec<Key> = raw_key
                .iter()
                .zip(&self.group)
                .zip(&group_strings)
                .map(|((raw, opened), strings)| opened.key(*raw, strings.as_ref()))
                .collect();
            let finished = accumulators
                .into_iter()
                .zip(&self.inputs)
                .zip(&input_strings)
                .map(|((accumulator, input), strings)| {
                    accumulator.finish(input.as_ref(), strings.as_ref())
                })
                .collect();
            groups.insert(key, finished);
        }
        Ok((groups, self.matched))
    }
}

/// The columns of an event row, opened once per segment for the row scan.
pub(crate) struct RowColumns {
    time: Column<i64>,
    /// Each string column with the values already resolved: resolving an ordinal walks the
    /// term dictionary, and the same few namespaces and reasons repeat on most rows.
    strings: Vec<(Option<StrColumn>, HashMap<u64, String>)>,
    occurrences: Column<i64>,
    count: Column<i64>,
}

impl RowColumns {
    pub(crate) fn open(segment: &SegmentReader) -> tantivy::Result<RowColumns> {
        let fast_fields = segment.fast_fields();
        Ok(RowColumns {
            time: fast_fields.i64("time_ms")?,
            strings: Field::ALL
                .iter()
                .map(|field| Ok((fast_fields.str(field.as_str())?, HashMap::new())))
                .collect::<tantivy::Result<_>>()?,
            occurrences: fast_fields.i64("occurrences")?,
            count: fast_fields.i64("count")?,
        })
    }

    /// The row of `doc` in [`kec_query::event_columns`] order, without the message.
    pub(crate) fn row(&mut self, doc: DocId) -> Vec<Value> {
        let mut row = Vec::with_capacity(Field::ALL.len() + 4);
        row.push(Value::Int(self.time.first(doc).unwrap_or_default()));
        for (column, resolved) in &mut self.strings {
            let text = match column {
                Some(column) => match column.term_ords(doc).next() {
                    Some(ordinal) => resolved
                        .entry(ordinal)
                        .or_insert_with(|| {
                            let mut text = String::new();
                            // An ordinal read from this column always resolves; an error
                            // leaves it empty.
                            let _found = column.ord_to_str(ordinal, &mut text);
                            text
                        })
                        .clone(),
                    None => String::new(),
                },
                None => String::new(),
            };
            row.push(Value::Str(text));
        }
        row.push(Value::Int(self.occurrences.first(doc).unwrap_or_default()));
        row.push(Value::Int(self.count.first(doc).unwrap_or_default()));
        row
    }
}

#[cfg(test)]
mod tests {
    use std::collections::{BTreeMap, BTreeSet};

    use kec_model::EventRecord;

    use crate::query::QueryRequest;
    use crate::query::value::{Output, Value};
    use crate::{EmbeddedStore, StoreConfig};

    const NOW_MS: i64 = 1_795_600_800_000; // 2026-11-25T07:20:00Z

    fn record(index: i64, name: String, reason: &str, occurrences: i64) -> EventRecord {
        let time_ms = NOW_MS - 3_600_000 + index * 1_000;
        EventRecord {
            seq: 1,
            cluster: "c1".into(),
            namespace: String::new(),
            name: format!("{name}.{index}"),
            uid: format!("u-{index}"),
            resource_version: "1".into(),
            api_version: "v1".into(),
            object: kec_model::ObjectRef {
                kind: "Node".into(),
                name,
                ..kec_model::ObjectRef::default()
            },
            reason: reason.into(),
            message: String::new(),
            event_type: "Normal".into(),
            source_component: String::new(),
            source_host: String::new(),
            reporting_controller: String::new(),
            reporting_instance: String::new(),
            action: String::new(),
            time_ms,
            time_is_receipt: false,
            first_ms: time_ms,
            // A first sighting: the store counts all of `count` as new occurrences.
            count: occurrences,
            occurrences,
            category: kec_model::Category::Other,
            node: String::new(),
            raw: kec_model::RawJson::null(),
        }
    }

    fn rows(store: &EmbeddedStore, query: &str) -> Vec<Vec<Value>> {
        let Ok(query) = kec_query::parse(query) else {
            panic!("{query} does not parse");
        };
        let request = QueryRequest {
            query,
            from_ms: NOW_MS - 7_200_000,
            to_ms: NOW_MS,
            now_ms: NOW_MS,
            max_rows: super::super::MAX_ROWS,
        };
        match store.query(&request).map(|result| result.output) {
            Ok(Output::Rows { rows, .. }) => rows,
            other => panic!("{other:?}"),
        }
    }

    /// The string and the number in each `[text, number]` row.
    fn by_text(rows: Vec<Vec<Value>>) -> BTreeMap<String, i64> {
        rows.into_iter()
            .map(|row| match row.as_slice() {
                [Value::Str(text), Value::Int(number)] => (text.clone(), *number),
                other => panic!("unexpected row {other:?}"),
            })
            .collect()
    }

    /// Grouping resolves each segment's name ordinals in one sorted dictionary walk: over
    /// thousands of distinct names in several segments it must count exactly what a
    /// brute-force pass over the records counts.
    #[test]
    fn grouping_by_many_distinct_names_equals_a_brute_force_count() {
        let Ok(dir) = tempfile::tempdir() else {
            panic!("tempdir");
        };
        let Ok(store) = EmbeddedStore::open(StoreConfig::new(dir.path())) else {
            panic!("open");
        };
        let reasons = ["NodeReady", "NodeNotReady", "Rebooted"];
        let mut records = Vec::new();
        for index in 0..3_000_i64 {
            // 1,700 names, most seen once or twice, scattered over ordinals and segments.
            let name = format!("node-{:04}", (index * 7_919) % 1_700);
            let reason = reasons
                .get((index % 3) as usize)
                .copied()
                .unwrap_or_default();
            records.push(record(index, name, reason, 1 + index % 5));
        }
        // Four commits: four segments, each with its own dictionary and ordinals.
        for chunk in records.chunks(750) {
            assert!(store.ingest(chunk.to_vec(), NOW_MS).is_ok());
            assert!(store.commit(NOW_MS).is_ok());
        }
        let mut counts: BTreeMap<String, i64> = BTreeMap::new();
        let mut sums: BTreeMap<String, i64> = BTreeMap::new();
        let mut names_per_reason: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
        for record in &records {
            *counts.entry(record.object.name.clone()).or_default() += 1;
            *sums.entry(record.object.name.clone()).or_default() += record.occurrences;
            names_per_reason
                .entry(record.reason.clone())
                .or_default()
                .insert(record.object.name.clone());
        }
        assert_eq!(counts.len(), 1_700);

        assert_eq!(
            by_text(rows(&store, "kind:Node | stats count by name")),
            counts
        );
        assert_eq!(
            by_text(rows(&store, "kind:Node | stats sum(occurrences) by name")),
            sums
        );
        let distinct: BTreeMap<String, i64> = names_per_reason
            .into_iter()
            .map(|(reason, names)| (reason, names.len() as i64))
            .collect();
        assert_eq!(
            by_text(rows(&store, "kind:Node | stats dc(name) by reason")),
            distinct
        );
    }
}
