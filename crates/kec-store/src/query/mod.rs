//! Running a [`kec_query::Query`] on the embedded store.
//!
//! - [`compile`](mod@compile): the search -> one tantivy query (filters compile through it too).
//! - [`collect`]: grouped aggregation from columns, and the bounded newest-first row scan.
//! - [`dictionary`]: a segment's term ordinals resolved in one sorted dictionary walk.
//! - [`pipes`]: the pipes in memory, over tables.
//! - [`matcher`]: a search tested on one record in memory (the live tail).
//! - [`search`]: the details page's reads: pages of records, exact groupings, one record.
//! - [`value`]: [`QueryResult`], rows or series, and its text table.
//!
//! A query runs in one of two ways. When the first pipe aggregates (`stats`, `top`,
//! `timechart`) it is computed over every matching record straight from fast-field columns
//! and later pipes work on its (small) table. Otherwise the newest matching records are read
//! row by row from columns (at most [`SCAN_LIMIT`], or [`SCAN_LIMIT_WITH_MESSAGE`] when a pipe
//! sorts or dedups by the message, which lives in the doc store) and every pipe runs in memory;
//! the result then says it is limited. A message that is only shown is read at the end, for the
//! rows returned.

pub(crate) mod collect;
pub(crate) mod compile;
pub(crate) mod dictionary;
pub mod matcher;
pub(crate) mod pipes;
pub mod search;
pub mod value;

use kec_query::{Bound, ColumnKind, Expr, Pipe, Query, Shape, TimePoint};
use serde::{Deserialize, Serialize};
use tantivy::collector::sort_key::SortByStaticFastValue;
use tantivy::collector::{Count, TopDocs};
use tantivy::{Order, TantivyDocument};

use self::collect::{GroupingCollector, RowColumns, Source};
pub use self::matcher::RecordMatcher;
use self::pipes::{ChartRange, Groups, Step, Table};
pub use self::search::{EventPageRequest, EventSearch, Grouping};
pub use self::value::{Output, QueryResult, SeriesLine, Value};
use crate::embedded::EmbeddedStore;
use crate::filter::Filter;
use crate::{Error, Result};

/// Most records read row by row for pipes that need rows.
pub const SCAN_LIMIT: usize = 100_000;
/// Most records read row by row when a pipe sorts or dedups by the message (doc store).
pub const SCAN_LIMIT_WITH_MESSAGE: usize = 10_000;
/// Most rows a result returns.
pub const MAX_ROWS: usize = 10_000;

/// A query and the window it runs over.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct QueryRequest {
    pub query: Query,
    /// Inclusive start of the event-time window.
    pub from_ms: i64,
    /// Exclusive end of the event-time window.
    pub to_ms: i64,
    /// The time `now` means in the query.
    pub now_ms: i64,
    /// Most rows returned (at most [`MAX_ROWS`]).
    pub max_rows: usize,
}

impl EmbeddedStore {
    /// Runs a query: its search over `[from_ms, to_ms)`, then its pipes.
    pub fn query(&self, request: &QueryRequest) -> Result<QueryResult> {
        let shape = kec_query::check(&request.query)
            .map_err(|error| Error::InvalidRequest(error.message))?;
        if request.from_ms >= request.to_ms {
            return Err(Error::InvalidRequest(format!(
                "the range is empty: from ({}) must be before to ({})",
                request.from_ms, request.to_ms
            )));
        }
        let window = Expr::TimeRange {
            lower: Some(Bound {
                value: TimePoint::Absolute {
                    ms: request.from_ms,
                },
                inclusive: true,
            }),
            upper: Some(Bound {
                value: TimePoint::Absolute { ms: request.to_ms },
                inclusive: false,
            }),
        };
        let search = Expr::And {
            clauses: vec![window, request.query.search.clone()],
        };
        let range = ChartRange {
            from_ms: request.from_ms,
            to_ms: request.to_ms,
        };
        let pipes = &request.query.pipes;
        let mut deferred = None;
        let (mut step, rest, matched, scanned, scan_limited) = match pipes.first() {
            Some(first @ (Pipe::Stats { .. } | Pipe::Top { .. } | Pipe::Timechart { .. })) => {
                let (step, matched) =
                    self.aggregate_first(&search, first, range, request.now_ms)?;
                (step, &pipes[1..], Some(matched), matched, false)
            }
            _ => {
                let (table, matched, limited, messages) =
                    self.scan(&search, pipes, &shape, request)?;
                deferred = messages;
                let scanned = table.rows.len() as u64;
                (
                    Step::Table(table),
                    &pipes[..],
                    Some(matched),
                    scanned,
                    limited,
                )
            }
        };
        for pipe in rest {
            step = match step {
                Step::Table(table) => pipes::apply(table, pipe, range)?,
                Step::Chart(_) => {
                    return Err(Error::InvalidRequest(
                        "timechart must be the last pipe".into(),
                    ));
                }
            };
        }
        let max_rows = request.max_rows.clamp(1, MAX_ROWS);
        let (output, rows_limited) = match step {
            Step::Table(mut table) => {
                let limited = table.rows.len() > max_rows;
                table.rows.truncate(max_rows);
                if let Some(messages) = deferred {
                    messages.fill(&mut table, self)?;
                }
                (
                    Output::Rows {
                        columns: table.columns,
                        rows: table.rows,
                    },
                    limited,
                )
            }
            Step::Chart(output) => (output, false),
        };
        Ok(QueryResult {
            query: request.query.to_string(),
            output,
            matched,
            scanned,
            scan_limited,
            rows_limited,
        })
    }

    fn window_filter(search: &Expr, now_ms: i64) -> Filter {
        let (from_ms, to_ms) = compile::time_window(search, now_ms);
        Filter {
            from_ms,
            to_ms,
            ..Filter::default()
        }
    }

    /// `stats`, `top` or `timechart` over every match, from columns.
    fn aggregate_first(
        &self,
        search: &Expr,
        pipe: &Pipe,
        range: ChartRange,
        now_ms: i64,
    ) -> Result<(Step, u64)> {
        let event_columns = kec_query::event_columns();
        let source = |name: &str| {
            Source::of_column(name).ok_or_else(|| {
                Error::InvalidRequest(format!("`{name}` cannot be grouped or aggregated"))
            })
        };
        let column = |name: &str| {
            event_columns
                .iter()
                .find(|column| column.name == name)
                .cloned()
                .ok_or_else(|| Error::InvalidRequest(format!("no column `{name}`")))
        };
        let top_aggregations;
        let (group, aggregations, by): (Vec<Source>, &[kec_query::Aggregation], Vec<&String>) =
            match pipe {
                Pipe::Stats { aggregations, by } => (
                    by.iter().map(|name| source(name)).collect::<Result<_>>()?,
                    aggregations,
                    by.iter().collect(),
                ),
                Pipe::Top { field, .. } => {
                    top_aggregations = pipes::top_aggregations();
                    (vec![source(field)?], &top_aggregations[..], vec![field])
                }
                Pipe::Timechart {
                    span_ms,
                    aggregation,
                    by,
                } => {
                    let mut group = vec![Source::Bucket((*span_ms).max(1))];
                    if let Some(by) = by {
                        group.push(source(by)?);
                    }
                    (
                        group,
                        std::slice::from_ref(aggregation),
                        by.iter().collect(),
                    )
                }
                _ => return Err(Error::InvalidRequest("not an aggregation".into())),
            };
        let collector = GroupingCollector {
            group,
            aggregations: aggregations
                .iter()
                .map(|aggregation| {
                    Ok((
                        aggregation.function,
                        aggregation.field.as_deref().map(source).transpose()?,
                    ))
                })
                .collect::<Result<_>>()?,
        };
        let mut groups = Groups::new();
        let mut matched = 0;
        for partition in self.partitions_for(&Self::window_filter(search, now_ms))? {
            let query = compile::compile(search, self.schema(), now_ms)?;
            let searcher = partition.reader.searcher();
            let (more, count) = searcher.search(&query, &collector)?;
            pipes::merge_groups(&mut groups, more);
            matched += count;
        }
        let input_kinds = pipes::input_kinds(&event_columns, aggregations);
        let by_columns = by
            .iter()
            .map(|name| column(name))
            .collect::<Result<Vec<_>>>()?;
        let step = match pipe {
            Pipe::Timechart {
                span_ms,
                aggregation,
                ..
            } => {
                let value = kec_query::Column {
                    name: aggregation.output_name(),
                    kind: pipes::aggregation_kind(
                        aggregation.function,
                        input_kinds.first().copied().flatten(),
                    ),
                };
                Step::Chart(pipes::series(
                    (*span_ms).max(1),
                    range,
                    aggregation,
                    value,
                    by_columns.into_iter().next(),
                    groups,
                )?)
            }
            Pipe::Top { limit, .. } => Step::Table(pipes::top_table(
                pipes::stats_table(by_columns, aggregations, &input_kinds, groups),
                *limit,
            )),
            _ => Step::Table(pipes::stats_table(
                by_columns,
                aggregations,
                &input_kinds,
                groups,
            )),
        };
        Ok((step, matched))
    }

    /// The newest matching records as event rows. Returns the table, how many matched,
    /// whether the scan limit cut what the pipes needed, and the messages still to read.
    fn scan(
        &self,
        search: &Expr,
        pipes: &[Pipe],
        shape: &Shape,
        request: &QueryRequest,
    ) -> Result<(Table, u64, bool, Option<DeferredMessages>)> {
        let message_shown = match shape {
            Shape::Rows { columns } => columns.iter().any(|c| c.kind == ColumnKind::Text),
            Shape::Series { .. } => false,
        };
        let message_in_pipes = pipes.iter().any(|pipe| match pipe {
            Pipe::Sort { keys } => keys
                .iter()
                .any(|key| key.column == kec_query::field::MESSAGE),
            Pipe::Dedup { fields } => fields.iter().any(|f| f == kec_query::field::MESSAGE),
            _ => false,
        });
        // A message only shown is read for the rows left at the end; one a pipe sorts or
        // dedups by is read for every scanned row.
        let needs_message = message_in_pipes;
        let mut deferred = (message_shown && !message_in_pipes).then(DeferredMessages::default);
        // Rows needed when the pipes only cut (fields, head): no more than they keep.
        let mut wanted: Option<usize> = Some(request.max_rows.clamp(1, MAX_ROWS));
        for pipe in pipes {
            match pipe {
                Pipe::Fields { .. } => {}
                Pipe::Head { limit } => {
                    let limit = usize::try_from(*limit).unwrap_or(usize::MAX);
                    wanted = wanted.map(|rows| rows.min(limit));
                    break;
                }
                _ => {
                    wanted = None;
                    break;
                }
            }
        }
        let scan_limit = if needs_message {
            SCAN_LIMIT_WITH_MESSAGE
        } else {
            SCAN_LIMIT
        };
        let limit = wanted.unwrap_or(scan_limit).min(scan_limit);
        let mut partitions = self.partitions_for(&Self::window_filter(search, request.now_ms))?;
        partitions.reverse();
        let mut rows: Vec<Vec<Value>> = Vec::new();
        let mut matched = 0u64;
        for partition in partitions {
            let query = compile::compile(search, self.schema(), request.now_ms)?;
            let searcher = partition.reader.searcher();
            let remaining = limit - rows.len().min(limit);
            if remaining == 0 {
                matched += searcher.search(&query, &Count)? as u64;
                continue;
            }
            let top = TopDocs::with_limit(remaining).order_by((
                (
                    SortByStaticFastValue::<i64>::for_field("time_ms"),
                    Order::Desc,
                ),
                (SortByStaticFastValue::<u64>::for_field("seq"), Order::Desc),
            ));
            let (count, hits) = searcher.search(&query, &(Count, top))?;
            if let Some(deferred) = &mut deferred {
                deferred.searchers.push(searcher.clone());
            }
            matched += count as u64;
            let mut columns: std::collections::HashMap<u32, RowColumns> =
                std::collections::HashMap::new();
            for (_key, address) in hits {
                let segment_columns = match columns.entry(address.segment_ord) {
                    std::collections::hash_map::Entry::Occupied(entry) => entry.into_mut(),
                    std::collections::hash_map::Entry::Vacant(entry) => entry.insert(
                        RowColumns::open(searcher.segment_reader(address.segment_ord))?,
                    ),
                };
                let mut row = segment_columns.row(address.doc_id);
                if needs_message {
                    let document: TantivyDocument = searcher.doc(address)?;
                    row.push(Value::Str(self.schema().record(&document)?.message));
                } else if let Some(deferred) = &mut deferred {
                    // A placeholder: the index of the row's document, read at the end.
                    row.push(Value::Int(deferred.addresses.len() as i64));
                    deferred
                        .addresses
                        .push((deferred.searchers.len().saturating_sub(1), address));
                } else {
                    row.push(Value::Null);
                }
                rows.push(row);
            }
        }
        let limited = wanted.is_none() && matched > rows.len() as u64;
        Ok((
            Table {
                columns: kec_query::event_columns(),
                rows,
            },
            matched,
            limited,
            deferred,
        ))
    }
}

/// Messages not read during the scan: the message column holds each row's index into
/// `addresses` until [`DeferredMessages::fill`] reads the documents of the rows left.
#[derive(Default)]
struct DeferredMessages {
    searchers: Vec<tantivy::Searcher>,
    /// (index into `searchers`, document) per scanned row.
    addresses: Vec<(usize, tantivy::DocAddress)>,
}

impl DeferredMessages {
    fn fill(&self, table: &mut Table, store: &EmbeddedStore) -> Result<()> {
        let Some(column) = table
            .columns
            .iter()
            .position(|column| column.kind == ColumnKind::Text)
        else {
            return Ok(());
        };
        for row in &mut table.rows {
            let Some(cell) = row.get_mut(column) else {
                continue;
            };
            let Value::Int(placeholder) = *cell else {
                continue;
            };
            let found = usize::try_from(placeholder)
                .ok()
                .and_then(|index| self.addresses.get(index))
                .and_then(|(searcher, address)| Some((self.searchers.get(*searcher)?, *address)));
            let Some((searcher, address)) = found else {
                return Err(Error::Corrupt(format!("no document for row {placeholder}")));
            };
            let document: TantivyDocument = searcher.doc(address)?;
            *cell = Value::Str(store.schema().record(&document)?.message);
        }
        Ok(())
    }
}
