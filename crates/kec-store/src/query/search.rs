//! The details page's reads, on the query language's search part: a page of full records
//! newest first with a cursor and exact totals ([`EmbeddedStore::search_events`]), exact
//! grouped counts for facets and histograms in one pass ([`EmbeddedStore::facet_events`],
//! [`EmbeddedStore::group_events`]),
//! and one record by its time and sequence number ([`EmbeddedStore::record_at`]).
//!
//! Every read compiles [`EventSearch::expr`] through [`compile`](super::compile), the path
//! queries and filters take: there is no second hand-built query.

use std::collections::HashMap;

use kec_model::EventRecord;
use kec_query::{Bound, Expr, TimePoint};
use serde::{Deserialize, Serialize};
use tantivy::collector::sort_key::SortByStaticFastValue;
use tantivy::collector::{Collector, SegmentCollector, TopDocs};
use tantivy::columnar::{Column, StrColumn};
use tantivy::query::{BooleanQuery, Occur, Query, RangeQuery};
use tantivy::{DocId, Order, Score, SegmentOrdinal, SegmentReader, TantivyDocument, Term};

use super::compile;
use super::dictionary::ResolvedOrdinals;
use crate::aggregate::{
    AggregateRequest, AggregateRow, GroupCollector, GroupSegmentCollector, GroupTotals, into_rows,
    merge_into,
};
use crate::embedded::{EmbeddedStore, SearchPage};
use crate::filter::{Field, Filter};
use crate::{Error, Result};

/// Most records one page holds.
pub const MAX_PAGE: usize = 10_000;

/// A search of the query language over a window, optionally in one cluster.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EventSearch {
    /// The search part of a query (pipes are not run here).
    pub search: Expr,
    /// Only this cluster's records.
    #[serde(default)]
    pub cluster: Option<String>,
    /// Inclusive start of the event-time window.
    pub from_ms: i64,
    /// Exclusive end of the event-time window.
    pub to_ms: i64,
    /// The time `now` means in the search.
    pub now_ms: i64,
}

impl EventSearch {
    /// The whole condition: window, cluster and search.
    pub fn expr(&self) -> Expr {
        let mut clauses = vec![Expr::TimeRange {
            lower: Some(Bound {
                value: TimePoint::Absolute { ms: self.from_ms },
                inclusive: true,
            }),
            upper: Some(Bound {
                value: TimePoint::Absolute { ms: self.to_ms },
                inclusive: false,
            }),
        }];
        if let Some(cluster) = &self.cluster {
            clauses.push(Expr::Term {
                field: Field::Cluster,
                value: cluster.clone(),
            });
        }
        if self.search != Expr::All {
            clauses.push(self.search.clone());
        }
        Expr::And { clauses }
    }

    fn check(&self) -> Result<()> {
        if self.from_ms >= self.to_ms {
            return Err(Error::InvalidRequest(format!(
                "the range is empty: from ({}) must be before to ({})",
                self.from_ms, self.to_ms
            )));
        }
        Ok(())
    }

    /// The window the whole condition cannot leave (a `time:` range in the search narrows it).
    fn window(&self, expr: &Expr) -> Filter {
        let (from_ms, to_ms) = compile::time_window(expr, self.now_ms);
        Filter {
            from_ms,
            to_ms,
            ..Filter::default()
        }
    }
}

/// A page of an [`EventSearch`], newest first.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EventPageRequest {
    pub search: EventSearch,
    /// Records on the page (1 to [`MAX_PAGE`]).
    pub limit: usize,
    /// Where the previous page ended (its `next_cursor`).
    #[serde(default)]
    pub cursor: Option<String>,
    /// Also count the records and occurrences of the whole search (not only of this page).
    #[serde(default)]
    pub with_totals: bool,
}

/// One grouping of an [`EventSearch`]: per value of a field, per time bucket, or both.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Grouping {
    #[serde(default)]
    pub group_by: Option<Field>,
    /// Bucket width in milliseconds (aligned to the epoch).
    #[serde(default)]
    pub bucket_ms: Option<i64>,
    /// Keep the `limit` values with the most occurrences (0 keeps all); counts stay exact.
    #[serde(default)]
    pub limit: usize,
}

impl Grouping {
    fn request(&self) -> AggregateRequest {
        AggregateRequest {
            filter: Filter::default(),
            group_by: self.group_by,
            bucket_ms: self.bucket_ms,
            limit: self.limit,
        }
    }
}

/// Several [`GroupCollector`]s fed by one pass over the matches.
struct Groupings(Vec<GroupCollector>);

struct GroupingsSegment(Vec<GroupSegmentCollector>);

impl Collector for Groupings {
    type Fruit = Vec<GroupTotals>;
    type Child = GroupingsSegment;

    fn for_segment(
        &self,
        segment_local_id: SegmentOrdinal,
        segment: &SegmentReader,
    ) -> tantivy::Result<GroupingsSegment> {
        self.0
            .iter()
            .map(|collector| collector.for_segment(segment_local_id, segment))
            .collect::<tantivy::Result<_>>()
            .map(GroupingsSegment)
    }

    fn requires_scoring(&self) -> bool {
        false
    }

    fn merge_fruits(&self, fruits: Vec<Vec<GroupTotals>>) -> tantivy::Result<Vec<GroupTotals>> {
        let mut merged: Vec<GroupTotals> = self.0.iter().map(|_| GroupTotals::new()).collect();
        for fruit in fruits {
            for (into, totals) in merged.iter_mut().zip(fruit) {
                merge_into(into, totals);
            }
        }
        Ok(merged)
    }
}

impl SegmentCollector for GroupingsSegment {
    type Fruit = Vec<GroupTotals>;

    fn collect(&mut self, doc: DocId, score: Score) {
        for collector in &mut self.0 {
            collector.collect(doc, score);
        }
    }

    fn harvest(self) -> Vec<GroupTotals> {
        self.0.into_iter().map(SegmentCollector::harvest).collect()
    }
}

/// Records and occurrences of every match: a count and a sum per doc, nothing hashed.
struct TotalsCollector;

struct TotalsSegment {
    occurrences: Column<i64>,
    records: u64,
    sum: i64,
}

impl Collector for TotalsCollector {
    type Fruit = (u64, i64);
    type Child = TotalsSegment;

    fn for_segment(
        &self,
        _segment_local_id: SegmentOrdinal,
        segment: &SegmentReader,
    ) -> tantivy::Result<TotalsSegment> {
        Ok(TotalsSegment {
            occurrences: segment.fast_fields().i64("occurrences")?,
            records: 0,
            sum: 0,
        })
    }

    fn requires_scoring(&self) -> bool {
        false
    }

    fn merge_fruits(&self, fruits: Vec<(u64, i64)>) -> tantivy::Result<(u64, i64)> {
        Ok(fruits
            .into_iter()
            .fold((0, 0), |(records, sum), (more, more_sum)| {
                (records + more, sum + more_sum)
            }))
    }
}

impl SegmentCollector for TotalsSegment {
    type Fruit = (u64, i64);

    fn collect(&mut self, doc: DocId, _score: Score) {
        self.records += 1;
        self.sum += self.occurrences.first(doc).unwrap_or_default();
    }

    fn harvest(self) -> (u64, i64) {
        (self.records, self.sum)
    }
}

/// (records, occurrences) per value.
type ValueTotals = HashMap<String, Totals>;

/// Records and occurrences per value of several string fields (facets) in one pass: each
/// segment counts into arrays indexed by term ordinal, resolved to strings once at harvest.
struct FieldsCollector(Vec<Field>);

struct FieldsSegment {
    occurrences: Column<i64>,
    /// Per field: its column (if any doc has a value) and totals per ordinal, the last slot
    /// for docs without a value.
    fields: Vec<(Option<StrColumn>, Vec<Totals>)>,
}

/// (records, occurrences).
type Totals = (u64, i64);

impl Collector for FieldsCollector {
    type Fruit = Vec<ValueTotals>;
    type Child = FieldsSegment;

    fn for_segment(
        &self,
        _segment_local_id: SegmentOrdinal,
        segment: &SegmentReader,
    ) -> tantivy::Result<FieldsSegment> {
        let fast_fields = segment.fast_fields();
        let fields = self
            .0
            .iter()
            .map(|field| {
                let column = fast_fields.str(field.as_str())?;
                let slots = column.as_ref().map_or(0, |column| column.num_terms()) + 1;
                Ok((column, vec![(0, 0); slots]))
            })
            .collect::<tantivy::Result<_>>()?;
        Ok(FieldsSegment {
            occurrences: fast_fields.i64("occurrences")?,
            fields,
        })
    }

    fn requires_scoring(&self) -> bool {
        false
    }

    fn merge_fruits(
        &self,
        fruits: Vec<std::io::Result<Vec<ValueTotals>>>,
    ) -> tantivy::Result<Vec<ValueTotals>> {
        let mut merged: Vec<ValueTotals> = self.0.iter().map(|_| ValueTotals::new()).collect();
        for fruit in fruits {
            for (into, totals) in merged.iter_mut().zip(fruit?) {
                merge_values(into, totals);
            }
        }
        Ok(merged)
    }
}

fn merge_values(into: &mut ValueTotals, more: ValueTotals) {
    for (value, (records, occurrences)) in more {
        let entry = into.entry(value).or_insert((0, 0));
        entry.0 += records;
        entry.1 += occurrences;
    }
}

impl SegmentCollector for FieldsSegment {
    /// A dictionary that cannot be read fails the search (never a silently short facet).
    type Fruit = std::io::Result<Vec<ValueTotals>>;

    fn collect(&mut self, doc: DocId, _score: Score) {
        let occurrences = self.occurrences.first(doc).unwrap_or_default();
        for (column, totals) in &mut self.fields {
            let missing = totals.len() - 1;
            let slot = column
                .as_ref()
                .and_then(|column| column.ords().first(doc))
                .map_or(missing, |ordinal| {
                    usize::try_from(ordinal).map_or(missing, |ordinal| ordinal.min(missing))
                });
            if let Some(entry) = totals.get_mut(slot) {
                entry.0 += 1;
                entry.1 += occurrences;
            }
        }
    }

    fn harvest(self) -> std::io::Result<Vec<ValueTotals>> {
        self.fields
            .into_iter()
            .map(|(column, totals)| {
                let missing = totals.len() - 1;
                let mut values = ValueTotals::new();
                if let Some(column) = &column {
                    // The ordinals counted, resolved in one sorted dictionary walk.
                    let counted = (0..missing)
                        .filter(|slot| totals.get(*slot).is_some_and(|(records, _)| *records > 0))
                        .map(|slot| slot as u64);
                    let resolved = ResolvedOrdinals::read(column, counted)?;
                    for (ordinal, text) in resolved.iter() {
                        if let Some((records, occurrences)) = usize::try_from(ordinal)
                            .ok()
                            .and_then(|slot| totals.get(slot).copied())
                        {
                            let entry = values.entry(text.to_string()).or_insert((0, 0));
                            entry.0 += records;
                            entry.1 += occurrences;
                        }
                    }
                }
                if let Some((records, occurrences)) = totals.get(missing).copied()
                    && records > 0
                {
                    let entry = values.entry(String::new()).or_insert((0, 0));
                    entry.0 += records;
                    entry.1 += occurrences;
                }
                Ok(values)
            })
            .collect()
    }
}

/// The `limit` values with the most occurrences (0: all), most first, ties by value.
fn top_values(values: ValueTotals, limit: usize) -> Vec<AggregateRow> {
    let mut rows: Vec<AggregateRow> = values
        .into_iter()
        .map(|(value, (records, occurrences))| AggregateRow {
            bucket_ms: None,
            group: Some(value),
            records,
            occurrences,
        })
        .collect();
    rows.sort_by(|a, b| {
        b.occurrences
            .cmp(&a.occurrences)
            .then_with(|| a.group.cmp(&b.group))
    });
    if limit > 0 {
        rows.truncate(limit);
    }
    rows
}

/// The records after `(time_ms, seq)` in newest-first order.
fn older_than(store: &EmbeddedStore, (time_ms, seq): (i64, u64)) -> Box<dyn Query> {
    let schema = store.schema();
    let time = |ms| Term::from_field_i64(schema.time_ms, ms);
    let older: Box<dyn Query> = Box::new(RangeQuery::new(
        std::ops::Bound::Unbounded,
        std::ops::Bound::Excluded(time(time_ms)),
    ));
    let same_time_lower_seq: Box<dyn Query> = Box::new(BooleanQuery::new(vec![
        (
            Occur::Must,
            Box::new(RangeQuery::new(
                std::ops::Bound::Included(time(time_ms)),
                std::ops::Bound::Included(time(time_ms)),
            )) as Box<dyn Query>,
        ),
        (
            Occur::Must,
            Box::new(RangeQuery::new(
                std::ops::Bound::Unbounded,
                std::ops::Bound::Excluded(Term::from_field_u64(schema.seq, seq)),
            )),
        ),
    ]));
    Box::new(BooleanQuery::new(vec![
        (Occur::Should, older),
        (Occur::Should, same_time_lower_seq),
    ]))
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

impl EmbeddedStore {
    /// A page of the records an [`EventSearch`] matches, newest first (by time, then by
    /// sequence number), with the exact number of records and occurrences of the whole
    /// search when asked. The totals and the first page are read in one pass.
    pub fn search_events(&self, request: &EventPageRequest) -> Result<SearchPage> {
        request.search.check()?;
        let limit = request.limit.clamp(1, MAX_PAGE);
        let cursor = request.cursor.as_deref().map(parse_cursor).transpose()?;
        let expr = request.search.expr();
        let mut partitions = self.partitions_for(&request.search.window(&expr))?;
        partitions.reverse();
        let mut page = SearchPage::default();
        let (mut total_records, mut total_occurrences) = (0u64, 0i64);
        for partition in &partitions {
            let searcher = partition.reader.searcher();
            let base = compile::compile(&expr, self.schema(), request.search.now_ms)?;
            // One more than the page, to know whether another follows.
            let wanted = (limit + 1).saturating_sub(page.records.len());
            if wanted == 0 && !request.with_totals {
                break;
            }
            let top = TopDocs::with_limit(wanted.max(1)).order_by((
                (
                    SortByStaticFastValue::<i64>::for_field("time_ms"),
                    Order::Desc,
                ),
                (SortByStaticFastValue::<u64>::for_field("seq"), Order::Desc),
            ));
            let totals = TotalsCollector;
            let hits = match (cursor, request.with_totals) {
                (None, true) => {
                    let ((records, occurrences), hits) = searcher.search(&base, &(totals, top))?;
                    total_records += records;
                    total_occurrences += occurrences;
                    hits
                }
                (None, false) => searcher.search(&base, &top)?,
                (Some(cursor), with_totals) => {
                    if with_totals {
                        let (records, occurrences) = searcher.search(&base, &totals)?;
                        total_records += records;
                        total_occurrences += occurrences;
                    }
                    let after = BooleanQuery::new(vec![
                        (Occur::Must, base),
                        (Occur::Must, older_than(self, cursor)),
                    ]);
                    searcher.search(&after, &top)?
                }
            };
            if wanted == 0 {
                continue;
            }
            for (_key, address) in hits {
                let document: TantivyDocument = searcher.doc(address)?;
                page.records.push(self.schema().record(&document)?);
            }
        }
        if page.records.len() > limit {
            page.records.truncate(limit);
            if let Some(last) = page.records.last() {
                page.next_cursor = Some(format!("{}.{}", last.time_ms, last.seq));
            }
        }
        if request.with_totals {
            page.total_records = Some(total_records);
            page.total_occurrences = Some(total_occurrences);
        }
        Ok(page)
    }

    /// Exact counts of records and sums of occurrences of an [`EventSearch`], one result per
    /// grouping (facets, histograms), every grouping fed by the same single pass over the
    /// matches: never a sample.
    pub fn group_events(
        &self,
        search: &EventSearch,
        groupings: &[Grouping],
    ) -> Result<Vec<Vec<AggregateRow>>> {
        search.check()?;
        for grouping in groupings {
            if grouping.bucket_ms.is_some_and(|bucket_ms| bucket_ms <= 0) {
                return Err(Error::InvalidRequest(
                    "bucket must be a positive number of milliseconds".into(),
                ));
            }
        }
        let expr = search.expr();
        let collector = Groupings(
            groupings
                .iter()
                .map(|grouping| GroupCollector {
                    group_by: grouping.group_by,
                    bucket_ms: grouping.bucket_ms,
                })
                .collect(),
        );
        let mut merged: Vec<GroupTotals> = groupings.iter().map(|_| GroupTotals::new()).collect();
        for partition in self.partitions_for(&search.window(&expr))? {
            let searcher = partition.reader.searcher();
            let query = compile::compile(&expr, self.schema(), search.now_ms)?;
            for (into, totals) in merged.iter_mut().zip(searcher.search(&query, &collector)?) {
                merge_into(into, totals);
            }
        }
        Ok(groupings
            .iter()
            .zip(merged)
            .map(|(grouping, totals)| into_rows(&grouping.request(), totals))
            .collect())
    }

    /// Exact records and occurrences per value of each field (facets), the `limit` values with
    /// the most occurrences of each (0: all), most first; all fields counted in one pass.
    pub fn facet_events(
        &self,
        search: &EventSearch,
        fields: &[Field],
        limit: usize,
    ) -> Result<Vec<Vec<AggregateRow>>> {
        search.check()?;
        let expr = search.expr();
        let collector = FieldsCollector(fields.to_vec());
        let mut merged: Vec<ValueTotals> = fields.iter().map(|_| ValueTotals::new()).collect();
        for partition in self.partitions_for(&search.window(&expr))? {
            let searcher = partition.reader.searcher();
            let query = compile::compile(&expr, self.schema(), search.now_ms)?;
            for (into, totals) in merged.iter_mut().zip(searcher.search(&query, &collector)?) {
                merge_values(into, totals);
            }
        }
        Ok(merged
            .into_iter()
            .map(|values| top_values(values, limit))
            .collect())
    }

    /// The record stored with this event time and sequence number (what a table row names),
    /// if it is still stored.
    pub fn record_at(&self, time_ms: i64, seq: u64) -> Result<Option<EventRecord>> {
        let window = Filter::default().between(time_ms, time_ms.saturating_add(1));
        let schema = self.schema();
        for partition in self.partitions_for(&window)? {
            let searcher = partition.reader.searcher();
            let query = BooleanQuery::new(vec![
                (
                    Occur::Must,
                    Box::new(RangeQuery::new(
                        std::ops::Bound::Included(Term::from_field_i64(schema.time_ms, time_ms)),
                        std::ops::Bound::Included(Term::from_field_i64(schema.time_ms, time_ms)),
                    )) as Box<dyn Query>,
                ),
                (
                    Occur::Must,
                    Box::new(RangeQuery::new(
                        std::ops::Bound::Included(Term::from_field_u64(schema.seq, seq)),
                        std::ops::Bound::Included(Term::from_field_u64(schema.seq, seq)),
                    )),
                ),
            ]);
            let hits = searcher.search(&query, &TopDocs::with_limit(1).order_by_score())?;
            if let Some((_score, address)) = hits.into_iter().next() {
                let document: TantivyDocument = searcher.doc(address)?;
                return Ok(Some(schema.record(&document)?));
            }
        }
        Ok(None)
    }
}
