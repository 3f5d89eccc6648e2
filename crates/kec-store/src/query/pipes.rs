//! Pipes applied in memory to a table: `stats`, `top`, `sort`, `head`, `fields`, `dedup`, and
//! `timechart` into series. The columnar fast path ([`super::collect`]) produces the same
//! [`Groups`] these functions finish, so both paths give identical results.

use std::collections::{HashMap, HashSet};

use kec_query::{Aggregation, Column, ColumnKind, Function, Pipe, SortKey};

use super::value::{Key, Output, SeriesLine, Value};
use crate::{Error, Result};

/// Most buckets a timechart may have.
pub const MAX_BUCKETS: i64 = 10_000;
/// Most lines a timechart returns (those with the largest totals).
pub const MAX_SERIES: usize = 20;

/// Rows under typed columns.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Table {
    pub columns: Vec<Column>,
    pub rows: Vec<Vec<Value>>,
}

/// A running aggregate.
#[derive(Debug, Clone)]
pub(crate) enum Accumulator {
    Count(u64),
    Sum { int: i128, float: f64, floats: bool },
    Min(Option<Value>),
    Max(Option<Value>),
    Avg { sum: f64, values: u64 },
    Distinct(HashSet<Key>),
}

impl Accumulator {
    pub fn new(function: Function) -> Accumulator {
        match function {
            Function::Count => Accumulator::Count(0),
            Function::Sum => Accumulator::Sum {
                int: 0,
                float: 0.0,
                floats: false,
            },
            Function::Min => Accumulator::Min(None),
            Function::Max => Accumulator::Max(None),
            Function::Avg => Accumulator::Avg {
                sum: 0.0,
                values: 0,
            },
            Function::Dc => Accumulator::Distinct(HashSet::new()),
        }
    }

    /// Adds one row's value (ignored by `count`; nulls are skipped by the others).
    pub fn add(&mut self, value: &Value) {
        match self {
            Accumulator::Count(count) => *count += 1,
            Accumulator::Sum { int, float, floats } => match value {
                Value::Int(number) => *int += i128::from(*number),
                Value::Float(number) => {
                    *float += number;
                    *floats = true;
                }
                _ => {}
            },
            Accumulator::Min(current) => {
                let smaller = current
                    .as_ref()
                    .is_none_or(|held| value.total_cmp(held).is_lt());
                if !matches!(value, Value::Null) && smaller {
                    *current = Some(value.clone());
                }
            }
            Accumulator::Max(current) => {
                let larger = current
                    .as_ref()
                    .is_none_or(|held| value.total_cmp(held).is_gt());
                if !matches!(value, Value::Null) && larger {
                    *current = Some(value.clone());
                }
            }
            Accumulator::Avg { sum, values } => {
                if let Some(number) = value.as_f64() {
                    *sum += number;
                    *values += 1;
                }
            }
            Accumulator::Distinct(seen) => {
                if !matches!(value, Value::Null) {
                    seen.insert(value.key());
                }
            }
        }
    }

    /// Folds another partial result of the same function into this one.
    pub fn merge(&mut self, other: Accumulator) {
        match (self, other) {
            (Accumulator::Count(count), Accumulator::Count(more)) => *count += more,
            (
                Accumulator::Sum { int, float, floats },
                Accumulator::Sum {
                    int: more_int,
                    float: more_float,
                    floats: more_floats,
                },
            ) => {
                *int += more_int;
                *float += more_float;
                *floats |= more_floats;
            }
            (this @ Accumulator::Min(_), Accumulator::Min(Some(value)))
            | (this @ Accumulator::Max(_), Accumulator::Max(Some(value))) => this.add(&value),
            (
                Accumulator::Avg { sum, values },
                Accumulator::Avg {
                    sum: more,
                    values: count,
                },
            ) => {
                *sum += more;
                *values += count;
            }
            (Accumulator::Distinct(seen), Accumulator::Distinct(more)) => seen.extend(more),
            _ => {}
        }
    }

    /// The aggregate's value.
    pub fn finish(self) -> Value {
        match self {
            Accumulator::Count(count) => Value::Int(i64::try_from(count).unwrap_or(i64::MAX)),
            Accumulator::Sum { int, float, floats } => {
                if floats {
                    Value::Float(int as f64 + float)
                } else {
                    Value::Int(i64::try_from(int).unwrap_or(if int < 0 {
                        i64::MIN
                    } else {
                        i64::MAX
                    }))
                }
            }
            Accumulator::Min(value) | Accumulator::Max(value) => value.unwrap_or(Value::Null),
            Accumulator::Avg { sum, values } => {
                if values == 0 {
                    Value::Null
                } else {
                    Value::Float(sum / values as f64)
                }
            }
            Accumulator::Distinct(seen) => {
                Value::Int(i64::try_from(seen.len()).unwrap_or(i64::MAX))
            }
        }
    }
}

/// Accumulators per group key.
pub(crate) type Groups = HashMap<Vec<Key>, Vec<Accumulator>>;

/// Merges `more` into `groups`.
pub(crate) fn merge_groups(groups: &mut Groups, more: Groups) {
    for (key, accumulators) in more {
        match groups.get_mut(&key) {
            Some(existing) => {
                for (existing, accumulator) in existing.iter_mut().zip(accumulators) {
                    existing.merge(accumulator);
                }
            }
            None => {
                groups.insert(key, accumulators);
            }
        }
    }
}

fn index_of(columns: &[Column], name: &str) -> Result<usize> {
    columns
        .iter()
        .position(|column| column.name == name)
        .ok_or_else(|| Error::InvalidRequest(format!("no column `{name}`")))
}

/// The kind of an aggregation's result over `input` (`None` for count).
pub(crate) fn aggregation_kind(function: Function, input: Option<ColumnKind>) -> ColumnKind {
    match function {
        Function::Count | Function::Dc => ColumnKind::Integer,
        Function::Avg => ColumnKind::Float,
        Function::Sum | Function::Min | Function::Max => input.unwrap_or(ColumnKind::Integer),
    }
}

/// Groups the rows of `table` by `key_of` and aggregates `aggregations` over them.
fn group_rows(
    table: &Table,
    key_of: impl Fn(&[Value]) -> Option<Vec<Key>>,
    aggregations: &[Aggregation],
) -> Result<Groups> {
    let inputs: Vec<Option<usize>> = aggregations
        .iter()
        .map(|aggregation| {
            aggregation
                .field
                .as_deref()
                .map(|name| index_of(&table.columns, name))
                .transpose()
        })
        .collect::<Result<_>>()?;
    let mut groups = Groups::new();
    for row in &table.rows {
        let Some(key) = key_of(row) else { continue };
        let accumulators = groups.entry(key).or_insert_with(|| {
            aggregations
                .iter()
                .map(|aggregation| Accumulator::new(aggregation.function))
                .collect()
        });
        for (accumulator, input) in accumulators.iter_mut().zip(&inputs) {
            let value = input
                .and_then(|index| row.get(index))
                .unwrap_or(&Value::Null);
            accumulator.add(value);
        }
    }
    Ok(groups)
}

/// The table `stats` yields from finished groups: one row per group, ordered by the group's
/// values (one row of empty aggregates when nothing matched and there is no `by`).
pub(crate) fn stats_table(
    by_columns: Vec<Column>,
    aggregations: &[Aggregation],
    input_kinds: &[Option<ColumnKind>],
    mut groups: Groups,
) -> Table {
    if by_columns.is_empty() && groups.is_empty() {
        groups.insert(
            Vec::new(),
            aggregations
                .iter()
                .map(|aggregation| Accumulator::new(aggregation.function))
                .collect(),
        );
    }
    let mut columns = by_columns;
    for (aggregation, input) in aggregations.iter().zip(input_kinds) {
        columns.push(Column {
            name: aggregation.output_name(),
            kind: aggregation_kind(aggregation.function, *input),
        });
    }
    let mut rows: Vec<Vec<Value>> = groups
        .into_iter()
        .map(|(key, accumulators)| {
            key.into_iter()
                .map(Key::into_value)
                .chain(accumulators.into_iter().map(Accumulator::finish))
                .collect()
        })
        .collect();
    let key_length = columns.len() - aggregations.len();
    rows.sort_by(|a, b| {
        for index in 0..key_length {
            let order = a[index].total_cmp(&b[index]);
            if order.is_ne() {
                return order;
            }
        }
        std::cmp::Ordering::Equal
    });
    Table { columns, rows }
}

/// `top`: the stats table `[field, occurrences, records]` ranked by occurrences.
pub(crate) fn top_table(mut table: Table, limit: u64) -> Table {
    table.rows.sort_by(|a, b| {
        let occurrences = |row: &[Value]| row.get(1).cloned().unwrap_or(Value::Null);
        occurrences(b)
            .total_cmp(&occurrences(a))
            .then_with(|| a[0].total_cmp(&b[0]))
    });
    table
        .rows
        .truncate(usize::try_from(limit).unwrap_or(usize::MAX));
    table
}

/// The aggregations of `top`.
pub(crate) fn top_aggregations() -> [Aggregation; 2] {
    [
        Aggregation {
            function: Function::Sum,
            field: Some("occurrences".into()),
            alias: Some("occurrences".into()),
        },
        Aggregation {
            function: Function::Count,
            field: None,
            alias: Some("records".into()),
        },
    ]
}

/// Time range of a timechart, to lay out its buckets.
#[derive(Debug, Clone, Copy)]
pub(crate) struct ChartRange {
    pub from_ms: i64,
    pub to_ms: i64,
}

/// Series from groups keyed `[bucket start, by value?]`.
pub(crate) fn series(
    span_ms: i64,
    range: ChartRange,
    aggregation: &Aggregation,
    value: Column,
    by: Option<Column>,
    groups: Groups,
) -> Result<Output> {
    let start = range.from_ms.div_euclid(span_ms) * span_ms;
    let buckets_wanted = (range.to_ms.saturating_sub(start) + span_ms - 1) / span_ms;
    if buckets_wanted > MAX_BUCKETS {
        return Err(Error::InvalidRequest(format!(
            "span {} over this range makes {buckets_wanted} buckets; at most {MAX_BUCKETS}: choose a larger span or a shorter range",
            kec_query::print::format_duration(span_ms)
        )));
    }
    let bucket_count = usize::try_from(buckets_wanted.max(0)).unwrap_or_default();
    let buckets: Vec<i64> = (0..bucket_count)
        .map(|index| start + span_ms * index as i64)
        .collect();
    let empty = match aggregation.function {
        Function::Count | Function::Sum | Function::Dc => Value::Int(0),
        _ => Value::Null,
    };
    let mut lines: HashMap<String, Vec<Value>> = HashMap::new();
    for (key, accumulators) in groups {
        let Some(Key::Int(bucket)) = key.first() else {
            continue;
        };
        let Ok(index) = usize::try_from((bucket - start).div_euclid(span_ms)) else {
            continue;
        };
        if index >= bucket_count {
            continue;
        }
        let name = match key.get(1) {
            Some(group) => group.clone().into_value().display(ColumnKind::String),
            None => aggregation.output_name(),
        };
        let line = lines
            .entry(name)
            .or_insert_with(|| vec![empty.clone(); bucket_count]);
        if let Some(accumulator) = accumulators.into_iter().next() {
            line[index] = accumulator.finish();
        }
    }
    let mut series: Vec<SeriesLine> = lines
        .into_iter()
        .map(|(name, values)| SeriesLine { name, values })
        .collect();
    let total = |line: &SeriesLine| line.values.iter().filter_map(Value::as_f64).sum::<f64>();
    series.sort_by(|a, b| {
        total(b)
            .total_cmp(&total(a))
            .then_with(|| a.name.cmp(&b.name))
    });
    let other_series = series.len().saturating_sub(MAX_SERIES);
    series.truncate(MAX_SERIES);
    Ok(Output::Series {
        span_ms,
        buckets,
        value,
        by,
        series,
        other_series,
    })
}

/// What a pipe turns a table into.
pub(crate) enum Step {
    Table(Table),
    Chart(Output),
}

/// Applies one pipe to a table in memory.
pub(crate) fn apply(table: Table, pipe: &Pipe, range: ChartRange) -> Result<Step> {
    match pipe {
        Pipe::Stats { aggregations, by } => {
            let by_indexes: Vec<usize> = by
                .iter()
                .map(|name| index_of(&table.columns, name))
                .collect::<Result<_>>()?;
            let groups = group_rows(
                &table,
                |row| {
                    Some(
                        by_indexes
                            .iter()
                            .map(|index| row.get(*index).map_or(Key::Null, Value::key))
                            .collect(),
                    )
                },
                aggregations,
            )?;
            let by_columns = by_indexes
                .iter()
                .filter_map(|index| table.columns.get(*index).cloned())
                .collect();
            let input_kinds = input_kinds(&table.columns, aggregations);
            Ok(Step::Table(stats_table(
                by_columns,
                aggregations,
                &input_kinds,
                groups,
            )))
        }
        Pipe::Top { limit, field } => {
            let aggregations = top_aggregations();
            let step = apply(
                table,
                &Pipe::Stats {
                    aggregations: aggregations.to_vec(),
                    by: vec![field.clone()],
                },
                range,
            )?;
            match step {
                Step::Table(stats) => Ok(Step::Table(top_table(stats, *limit))),
                chart => Ok(chart),
            }
        }
        Pipe::Timechart {
            span_ms,
            aggregation,
            by,
        } => {
            let time = index_of(&table.columns, kec_query::field::TIME)?;
            let by_index = by
                .as_deref()
                .map(|name| index_of(&table.columns, name))
                .transpose()?;
            let span = (*span_ms).max(1);
            let groups = group_rows(
                &table,
                |row| {
                    let Some(Value::Int(ms)) = row.get(time) else {
                        return None;
                    };
                    let mut key = vec![Key::Int(ms.div_euclid(span) * span)];
                    if let Some(index) = by_index {
                        key.push(row.get(index).map_or(Key::Null, Value::key));
                    }
                    Some(key)
                },
                std::slice::from_ref(aggregation),
            )?;
            let input = input_kinds(&table.columns, std::slice::from_ref(aggregation));
            let value = Column {
                name: aggregation.output_name(),
                kind: aggregation_kind(aggregation.function, input.first().copied().flatten()),
            };
            let by_column = by_index.and_then(|index| table.columns.get(index).cloned());
            Ok(Step::Chart(series(
                span,
                range,
                aggregation,
                value,
                by_column,
                groups,
            )?))
        }
        Pipe::Sort { keys } => Ok(Step::Table(sort(table, keys)?)),
        Pipe::Head { limit } => {
            let mut table = table;
            table
                .rows
                .truncate(usize::try_from(*limit).unwrap_or(usize::MAX));
            Ok(Step::Table(table))
        }
        Pipe::Fields { fields } => {
            let indexes: Vec<usize> = fields
                .iter()
                .map(|name| index_of(&table.columns, name))
                .collect::<Result<_>>()?;
            let columns = indexes
                .iter()
                .filter_map(|index| table.columns.get(*index).cloned())
                .collect();
            let rows = table
                .rows
                .into_iter()
                .map(|row| {
                    indexes
                        .iter()
                        .map(|index| row.get(*index).cloned().unwrap_or(Value::Null))
                        .collect()
                })
                .collect();
            Ok(Step::Table(Table { columns, rows }))
        }
        Pipe::Dedup { fields } => {
            let indexes: Vec<usize> = fields
                .iter()
                .map(|name| index_of(&table.columns, name))
                .collect::<Result<_>>()?;
            let mut seen: HashSet<Vec<Key>> = HashSet::new();
            let Table { columns, rows } = table;
            let rows = rows
                .into_iter()
                .filter(|row| {
                    seen.insert(
                        indexes
                            .iter()
                            .map(|index| row.get(*index).map_or(Key::Null, Value::key))
                            .collect(),
                    )
                })
                .collect();
            Ok(Step::Table(Table { columns, rows }))
        }
    }
}

/// The kinds of the columns the aggregations read (`None` for count).
pub(crate) fn input_kinds(
    columns: &[Column],
    aggregations: &[Aggregation],
) -> Vec<Option<ColumnKind>> {
    aggregations
        .iter()
        .map(|aggregation| {
            aggregation.field.as_deref().and_then(|name| {
                columns
                    .iter()
                    .find(|column| column.name == name)
                    .map(|column| column.kind)
            })
        })
        .collect()
}

fn sort(mut table: Table, keys: &[SortKey]) -> Result<Table> {
    let indexes: Vec<(usize, bool)> = keys
        .iter()
        .map(|key| Ok((index_of(&table.columns, &key.column)?, key.descending)))
        .collect::<Result<_>>()?;
    // Stable: rows equal on every key keep their order (newest first for raw events).
    table.rows.sort_by(|a, b| {
        for (index, descending) in &indexes {
            let null = Value::Null;
            let order = a
                .get(*index)
                .unwrap_or(&null)
                .total_cmp(b.get(*index).unwrap_or(&null));
            let order = if *descending { order.reverse() } else { order };
            if order.is_ne() {
                return order;
            }
        }
        std::cmp::Ordering::Equal
    });
    Ok(table)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn table() -> Table {
        let column = |name: &str, kind| Column {
            name: name.into(),
            kind,
        };
        Table {
            columns: vec![
                column("namespace", ColumnKind::String),
                column("occurrences", ColumnKind::Integer),
                column("time", ColumnKind::Time),
            ],
            rows: vec![
                vec![Value::Str("b".into()), Value::Int(3), Value::Int(60_000)],
                vec![Value::Str("a".into()), Value::Int(1), Value::Int(0)],
                vec![Value::Str("b".into()), Value::Int(5), Value::Int(1_000)],
            ],
        }
    }

    const RANGE: ChartRange = ChartRange {
        from_ms: 0,
        to_ms: 120_000,
    };

    fn run(query: &str) -> Step {
        let query = kec_query::parse(query).unwrap();
        let mut step = Step::Table(table());
        for pipe in &query.pipes {
            let Step::Table(table) = step else {
                panic!("chart before the end")
            };
            step = apply(table, pipe, RANGE).unwrap();
        }
        step
    }

    fn rows(step: Step) -> Vec<Vec<Value>> {
        match step {
            Step::Table(table) => table.rows,
            Step::Chart(output) => panic!("{output:?}"),
        }
    }

    #[test]
    fn stats_groups_sums_and_averages() {
        let rows = rows(run(
            "* | stats count, sum(occurrences) as n, avg(occurrences), dc(time), max(time) by namespace",
        ));
        assert_eq!(
            rows,
            vec![
                vec![
                    Value::Str("a".into()),
                    Value::Int(1),
                    Value::Int(1),
                    Value::Float(1.0),
                    Value::Int(1),
                    Value::Int(0)
                ],
                vec![
                    Value::Str("b".into()),
                    Value::Int(2),
                    Value::Int(8),
                    Value::Float(4.0),
                    Value::Int(2),
                    Value::Int(60_000)
                ],
            ]
        );
    }

    #[test]
    fn stats_of_nothing_is_one_row_of_zeros_and_nulls() {
        let rows = rows(run(
            "* | dedup namespace | head 1 | fields namespace, occurrences | stats count | stats count, sum(count), avg(count)",
        ));
        assert_eq!(
            rows,
            vec![vec![Value::Int(1), Value::Int(1), Value::Float(1.0)]]
        );
        let mut empty = table();
        empty.rows.clear();
        let query = kec_query::parse("* | stats count, avg(occurrences), min(time)").unwrap();
        let Ok(Step::Table(result)) = apply(empty, &query.pipes[0], RANGE) else {
            panic!()
        };
        assert_eq!(
            result.rows,
            vec![vec![Value::Int(0), Value::Null, Value::Null]]
        );
    }

    #[test]
    fn sort_is_stable_and_head_dedup_fields_cut() {
        assert_eq!(
            rows(run("* | sort namespace | fields occurrences")),
            vec![
                vec![Value::Int(1)],
                vec![Value::Int(3)],
                vec![Value::Int(5)]
            ]
        );
        assert_eq!(
            rows(run("* | sort -occurrences | head 2 | fields occurrences")),
            vec![vec![Value::Int(5)], vec![Value::Int(3)]]
        );
        assert_eq!(
            rows(run("* | dedup namespace | fields namespace, occurrences")),
            vec![
                vec![Value::Str("b".into()), Value::Int(3)],
                vec![Value::Str("a".into()), Value::Int(1)]
            ]
        );
    }

    #[test]
    fn top_ranks_by_occurrences() {
        assert_eq!(
            rows(run("* | top 1 namespace")),
            vec![vec![Value::Str("b".into()), Value::Int(8), Value::Int(2)]]
        );
    }

    #[test]
    fn timechart_fills_empty_buckets() {
        let Step::Chart(Output::Series {
            buckets,
            series,
            other_series,
            ..
        }) = run("* | timechart span=1m sum(occurrences) by namespace")
        else {
            panic!("not a chart")
        };
        assert_eq!(buckets, vec![0, 60_000]);
        assert_eq!(other_series, 0);
        assert_eq!(
            series,
            vec![
                SeriesLine {
                    name: "b".into(),
                    values: vec![Value::Int(5), Value::Int(3)]
                },
                SeriesLine {
                    name: "a".into(),
                    values: vec![Value::Int(1), Value::Int(0)]
                },
            ]
        );
        let Step::Chart(Output::Series { series, .. }) =
            run("* | timechart span=1m avg(occurrences)")
        else {
            panic!("not a chart")
        };
        assert_eq!(
            series,
            vec![SeriesLine {
                name: "avg(occurrences)".into(),
                values: vec![Value::Float(3.0), Value::Float(3.0)]
            }]
        );
    }

    #[test]
    fn too_many_buckets_is_an_error() {
        let query = kec_query::parse("* | timechart span=1ms count").unwrap();
        let range = ChartRange {
            from_ms: 0,
            to_ms: 1_000_000,
        };
        assert!(matches!(
            apply(table(), &query.pipes[0], range),
            Err(Error::InvalidRequest(_))
        ));
    }
}
