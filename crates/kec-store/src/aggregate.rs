//! Grouped sums read straight from fast-field columns: counts of records and sums of
//! occurrences, optionally per value of one string field and per fixed time bucket.
//! This is what histograms, facets and top-N lists are made of.

use std::collections::HashMap;

use serde::{Deserialize, Serialize};
use tantivy::collector::{Collector, SegmentCollector};
use tantivy::columnar::{Column, StrColumn};
use tantivy::{DocId, Score, SegmentOrdinal, SegmentReader};

use crate::filter::{Field, Filter};

/// What to aggregate.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct AggregateRequest {
    pub filter: Filter,
    /// Group by the values of this field.
    #[serde(default)]
    pub group_by: Option<Field>,
    /// Group by time buckets of this many milliseconds (aligned to the epoch).
    #[serde(default)]
    pub bucket_ms: Option<i64>,
    /// Keep the `limit` groups with the most occurrences (0 keeps all). Applies per bucket
    /// set as a whole: the top groups are chosen over all buckets.
    #[serde(default)]
    pub limit: usize,
}

/// One group (and bucket) of an aggregation.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AggregateRow {
    /// Start of the time bucket, when bucketed.
    pub bucket_ms: Option<i64>,
    /// The group's value, when grouped.
    pub group: Option<String>,
    /// Stored records (observations) in the group.
    pub records: u64,
    /// Sum of occurrences in the group.
    pub occurrences: i64,
}

pub(crate) type GroupKey = (i64, String);
pub(crate) type GroupTotals = HashMap<GroupKey, (u64, i64)>;

/// Collects [`GroupTotals`] for one partition.
pub(crate) struct GroupCollector {
    pub group_by: Option<Field>,
    pub bucket_ms: Option<i64>,
}

pub(crate) struct GroupSegmentCollector {
    group_column: Option<StrColumn>,
    grouped: bool,
    time_column: Option<Column<i64>>,
    bucket_ms: Option<i64>,
    occurrences: Column<i64>,
    /// (bucket, term ordinal) -> (records, occurrences)
    totals: HashMap<(i64, u64), (u64, i64)>,
}

const NO_GROUP: u64 = u64::MAX;

impl Collector for GroupCollector {
    type Fruit = GroupTotals;
    type Child = GroupSegmentCollector;

    fn for_segment(
        &self,
        _segment_local_id: SegmentOrdinal,
        segment: &SegmentReader,
    ) -> tantivy::Result<GroupSegmentCollector> {
        let fast_fields = segment.fast_fields();
        let group_column = match self.group_by {
            Some(field) => fast_fields.str(field.as_str())?,
            None => None,
        };
        let time_column = match self.bucket_ms {
            Some(_) => Some(fast_fields.i64("time_ms")?),
            None => None,
        };
        Ok(GroupSegmentCollector {
            group_column,
            grouped: self.group_by.is_some(),
            time_column,
            bucket_ms: self.bucket_ms,
            occurrences: fast_fields.i64("occurrences")?,
            totals: HashMap::new(),
        })
    }

    fn requires_scoring(&self) -> bool {
        false
    }

    fn merge_fruits(&self, segment_fruits: Vec<GroupTotals>) -> tantivy::Result<GroupTotals> {
        let mut merged = GroupTotals::new();
        for fruit in segment_fruits {
            merge_into(&mut merged, fruit);
        }
        Ok(merged)
    }
}

pub(crate) fn merge_into(merged: &mut GroupTotals, fruit: GroupTotals) {
    for (key, (records, occurrences)) in fruit {
        let entry = merged.entry(key).or_insert((0, 0));
        entry.0 += records;
        entry.1 += occurrences;
    }
}

impl SegmentCollector for GroupSegmentCollector {
    type Fruit = GroupTotals;

    fn collect(&mut self, doc: DocId, _score: Score) {
        let bucket = match (&self.time_column, self.bucket_ms) {
            (Some(column), Some(bucket_ms)) => {
                column.first(doc).unwrap_or_default().div_euclid(bucket_ms) * bucket_ms
            }
            _ => 0,
        };
        let ordinal = match &self.group_column {
            Some(column) => column.term_ords(doc).next().unwrap_or(NO_GROUP),
            None => NO_GROUP,
        };
        let occurrences = self.occurrences.first(doc).unwrap_or_default();
        let entry = self.totals.entry((bucket, ordinal)).or_insert((0, 0));
        entry.0 += 1;
        entry.1 += occurrences;
    }

    fn harvest(self) -> GroupTotals {
        let mut totals = GroupTotals::with_capacity(self.totals.len());
        let mut text = String::new();
        for ((bucket, ordinal), value) in self.totals {
            text.clear();
            if self.grouped
                && ordinal != NO_GROUP
                && let Some(column) = &self.group_column
            {
                // An ordinal read from this column always resolves; an error leaves it empty.
                let _found = column.ord_to_str(ordinal, &mut text);
            }
            let entry = totals.entry((bucket, text.clone())).or_insert((0, 0));
            entry.0 += value.0;
            entry.1 += value.1;
        }
        totals
    }
}

/// Turns merged totals into rows: top `limit` groups by occurrences, rows sorted by bucket then
/// occurrences descending.
pub(crate) fn into_rows(request: &AggregateRequest, totals: GroupTotals) -> Vec<AggregateRow> {
    let grouped = request.group_by.is_some();
    let bucketed = request.bucket_ms.is_some();
    let keep: Option<std::collections::HashSet<String>> = if grouped && request.limit > 0 {
        let mut per_group: HashMap<&str, i64> = HashMap::new();
        for ((_, group), (_, occurrences)) in &totals {
            *per_group.entry(group.as_str()).or_default() += occurrences;
        }
        let mut ranked: Vec<(&str, i64)> = per_group.into_iter().collect();
        ranked.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(b.0)));
        Some(
            ranked
                .into_iter()
                .take(request.limit)
                .map(|(group, _)| group.to_string())
                .collect(),
        )
    } else {
        None
    };
    let mut rows: Vec<AggregateRow> = totals
        .into_iter()
        .filter(|((_, group), _)| keep.as_ref().is_none_or(|keep| keep.contains(group)))
        .map(|((bucket, group), (records, occurrences))| AggregateRow {
            bucket_ms: bucketed.then_some(bucket),
            group: grouped.then_some(group),
            records,
            occurrences,
        })
        .collect();
    rows.sort_by(|a, b| {
        a.bucket_ms
            .cmp(&b.bucket_ms)
            .then_with(|| b.occurrences.cmp(&a.occurrences))
            .then_with(|| a.group.cmp(&b.group))
    });
    rows
}
