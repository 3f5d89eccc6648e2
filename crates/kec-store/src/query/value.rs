//! What a query returns: rows of [`Value`]s under typed columns, or time series; plus the
//! plain-text table a terminal (and the golden files) show.

use std::cmp::Ordering;
use std::fmt::Write;

use kec_query::{Column, ColumnKind};
use serde::{Deserialize, Serialize};

/// One cell.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum Value {
    /// No value (a missing aggregate, e.g. the average of nothing).
    Null,
    /// A whole number (times are epoch milliseconds).
    Int(i64),
    /// A number with a fraction (averages).
    Float(f64),
    /// A string.
    Str(String),
}

impl Value {
    /// The number in this cell, if it holds one.
    pub fn as_f64(&self) -> Option<f64> {
        match self {
            Value::Int(number) => Some(*number as f64),
            Value::Float(number) => Some(*number),
            _ => None,
        }
    }

    /// A total order: null < numbers (by value) < strings (bytewise).
    pub fn total_cmp(&self, other: &Value) -> Ordering {
        fn rank(value: &Value) -> u8 {
            match value {
                Value::Null => 0,
                Value::Int(_) | Value::Float(_) => 1,
                Value::Str(_) => 2,
            }
        }
        match (self, other) {
            (Value::Int(a), Value::Int(b)) => a.cmp(b),
            (Value::Str(a), Value::Str(b)) => a.cmp(b),
            _ => match (self.as_f64(), other.as_f64()) {
                (Some(a), Some(b)) => a.total_cmp(&b),
                _ => rank(self).cmp(&rank(other)),
            },
        }
    }

    /// A hashable form for grouping and distinct counts (floats by their bits).
    pub(crate) fn key(&self) -> Key {
        match self {
            Value::Null => Key::Null,
            Value::Int(number) => Key::Int(*number),
            Value::Float(number) => Key::Float(number.to_bits()),
            Value::Str(text) => Key::Str(text.clone()),
        }
    }

    /// The cell as text, times in RFC 3339 when `kind` says it is one.
    pub fn display(&self, kind: ColumnKind) -> String {
        match (self, kind) {
            (Value::Null, _) => String::new(),
            (Value::Int(ms), ColumnKind::Time) => {
                kec_model::time::format_ms(*ms).unwrap_or_else(|| ms.to_string())
            }
            (Value::Int(number), _) => number.to_string(),
            (Value::Float(number), _) => {
                let rounded = (number * 1000.0).round() / 1000.0;
                rounded.to_string()
            }
            (Value::Str(text), _) => text.clone(),
        }
    }
}

/// A hashable, comparable cell.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub(crate) enum Key {
    Null,
    Int(i64),
    Float(u64),
    Str(String),
}

impl Key {
    pub(crate) fn into_value(self) -> Value {
        match self {
            Key::Null => Value::Null,
            Key::Int(number) => Value::Int(number),
            Key::Float(bits) => Value::Float(f64::from_bits(bits)),
            Key::Str(text) => Value::Str(text),
        }
    }
}

/// One line of a chart.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SeriesLine {
    /// The `by` column's value of this line (the aggregation's name without `by`).
    pub name: String,
    /// One value per bucket (null where nothing was aggregated, for min/max/avg).
    pub values: Vec<Value>,
}

/// The result proper.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Output {
    /// A table.
    Rows {
        columns: Vec<Column>,
        rows: Vec<Vec<Value>>,
    },
    /// Time series over the same buckets.
    Series {
        span_ms: i64,
        /// Start of each bucket, epoch milliseconds.
        buckets: Vec<i64>,
        /// What the values are.
        value: Column,
        /// What splits the lines, if anything.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        by: Option<Column>,
        /// Lines with the largest totals first.
        series: Vec<SeriesLine>,
        /// Lines left out beyond the largest ones.
        #[serde(default)]
        other_series: usize,
    },
}

/// A query's answer and how complete it is.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct QueryResult {
    /// The query as the server understood it (canonical text).
    pub query: String,
    pub output: Output,
    /// Records the search matched, when known exactly (aggregations count them all).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub matched: Option<u64>,
    /// Records read to compute the result.
    pub scanned: u64,
    /// The search matched more records than a row-by-row pipe reads: the result covers the
    /// newest `scanned` ones only.
    pub scan_limited: bool,
    /// The result had more rows than returned: the rest were cut.
    pub rows_limited: bool,
}

impl QueryResult {
    /// The result as one table: rows as they are; series as a `time` column and one column per
    /// line (what CSV and text tables show).
    pub fn table(&self) -> (Vec<Column>, Vec<Vec<Value>>) {
        match &self.output {
            Output::Rows { columns, rows } => (columns.clone(), rows.clone()),
            Output::Series {
                buckets,
                value,
                series,
                ..
            } => {
                let mut columns = vec![Column {
                    name: kec_query::field::TIME.to_string(),
                    kind: ColumnKind::Time,
                }];
                columns.extend(series.iter().map(|line| Column {
                    name: line.name.clone(),
                    kind: value.kind,
                }));
                let rows =
                    buckets
                        .iter()
                        .enumerate()
                        .map(|(index, bucket)| {
                            let mut row = vec![Value::Int(*bucket)];
                            row.extend(series.iter().map(|line| {
                                line.values.get(index).cloned().unwrap_or(Value::Null)
                            }));
                            row
                        })
                        .collect();
                (columns, rows)
            }
        }
    }

    /// A plain-text table of the result (series as one column per line), for terminals and
    /// golden files.
    pub fn to_text(&self) -> String {
        let (columns, rows) = self.table();
        let header: Vec<String> = columns.iter().map(|column| column.name.clone()).collect();
        let kinds: Vec<ColumnKind> = columns.iter().map(|column| column.kind).collect();
        let cells: Vec<Vec<String>> = rows
            .iter()
            .map(|row| {
                row.iter()
                    .zip(&kinds)
                    .map(|(value, kind)| value.display(*kind).replace('\n', " "))
                    .collect()
            })
            .collect();
        let mut widths: Vec<usize> = header.iter().map(|name| name.chars().count()).collect();
        for row in &cells {
            for (width, cell) in widths.iter_mut().zip(row) {
                *width = (*width).max(cell.chars().count());
            }
        }
        let numeric: Vec<bool> = kinds
            .iter()
            .map(|kind| matches!(kind, ColumnKind::Integer | ColumnKind::Float))
            .collect();
        let mut text = String::new();
        let line = |cells: &[String], text: &mut String| {
            let mut out = String::new();
            for (index, cell) in cells.iter().enumerate() {
                let width = widths.get(index).copied().unwrap_or_default();
                if index > 0 {
                    out.push_str("  ");
                }
                if numeric.get(index).copied().unwrap_or(false) {
                    let _ = write!(out, "{cell:>width$}");
                } else {
                    let _ = write!(out, "{cell:<width$}");
                }
            }
            text.push_str(out.trim_end());
            text.push('\n');
        };
        line(&header, &mut text);
        let rule: Vec<String> = widths.iter().map(|width| "-".repeat(*width)).collect();
        line(&rule, &mut text);
        for row in &cells {
            line(row, &mut text);
        }
        text
    }
}
