//! The query AST: what the parser produces, the printer prints, the API and the UI exchange and
//! every store executes. It is plain data (serde, `"type"`-tagged enums); it holds no positions,
//! so two queries that mean the same print the same.

use serde::{Deserialize, Serialize};

use crate::field::{Field, NumberField};

/// A whole query: a search, then pipes applied in order to what it matched.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Query {
    /// Which records take part.
    pub search: Expr,
    /// What is done with them, in order.
    #[serde(default)]
    pub pipes: Vec<Pipe>,
}

/// A condition on a record.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Expr {
    /// Every record (`*` or an empty search).
    All,
    /// The string field has exactly this value.
    Term { field: Field, value: String },
    /// The string field (or, with no field, a word of the message) matches a pattern where `*`
    /// is any run of characters and `?` any one character.
    Wildcard {
        #[serde(default, skip_serializing_if = "Option::is_none")]
        field: Option<Field>,
        pattern: String,
    },
    /// A word of the message (case-insensitive; text that splits into several words must
    /// have them in order, as a phrase).
    Text { text: String },
    /// Words of the message, next to each other in this order.
    Phrase { text: String },
    /// A number within bounds (a missing bound is open).
    NumberRange {
        field: NumberField,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        lower: Option<Bound<i64>>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        upper: Option<Bound<i64>>,
    },
    /// The event time within bounds.
    TimeRange {
        #[serde(default, skip_serializing_if = "Option::is_none")]
        lower: Option<Bound<TimePoint>>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        upper: Option<Bound<TimePoint>>,
    },
    /// Every clause holds (no clause: every record).
    And { clauses: Vec<Expr> },
    /// At least one clause holds (no clause: no record).
    Or { clauses: Vec<Expr> },
    /// The clause does not hold.
    Not { clause: Box<Expr> },
}

/// One end of a range.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Bound<T> {
    pub value: T,
    /// Whether `value` itself is inside the range.
    pub inclusive: bool,
}

/// A point in time: fixed, or relative to the moment the query runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum TimePoint {
    /// Epoch milliseconds.
    Absolute { ms: i64 },
    /// `now` plus this offset (negative: in the past).
    Now { offset_ms: i64 },
}

impl TimePoint {
    /// Epoch milliseconds of this point when the query runs at `now_ms` (saturating).
    pub fn resolve(self, now_ms: i64) -> i64 {
        match self {
            TimePoint::Absolute { ms } => ms,
            TimePoint::Now { offset_ms } => now_ms.saturating_add(offset_ms),
        }
    }
}

/// A step applied to the rows coming out of the search or the previous pipe.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Pipe {
    /// One row per group of `by` values with the aggregations' results (one row in all
    /// without `by`).
    Stats {
        aggregations: Vec<Aggregation>,
        #[serde(default)]
        by: Vec<String>,
    },
    /// The aggregation per time bucket of `span_ms`, one series per value of `by`: a chart.
    /// Must be the last pipe.
    Timechart {
        span_ms: i64,
        aggregation: Aggregation,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        by: Option<String>,
    },
    /// The `limit` values of `field` with the most occurrences, with their occurrences and
    /// records.
    Top { limit: u64, field: String },
    /// Rows ordered by these columns (the first decides, the next break ties).
    Sort { keys: Vec<SortKey> },
    /// The first `limit` rows.
    Head { limit: u64 },
    /// Only these columns, in this order.
    Fields { fields: Vec<String> },
    /// Only the first row of each combination of these columns' values.
    Dedup { fields: Vec<String> },
}

/// An aggregation of `stats` or `timechart`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Aggregation {
    pub function: Function,
    /// The column aggregated (none for `count`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub field: Option<String>,
    /// The result column's name (default: `count`, or `function(field)`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub alias: Option<String>,
}

impl Aggregation {
    /// The name of the result column.
    pub fn output_name(&self) -> String {
        if let Some(alias) = &self.alias {
            return alias.clone();
        }
        match &self.field {
            Some(field) => format!("{}({field})", self.function.as_str()),
            None => self.function.as_str().to_string(),
        }
    }
}

/// An aggregation function.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Function {
    /// Number of rows (stored records: observations, not occurrences).
    Count,
    /// Sum of a number.
    Sum,
    /// Smallest value of a number or time.
    Min,
    /// Largest value of a number or time.
    Max,
    /// Mean of a number.
    Avg,
    /// Number of distinct values.
    Dc,
}

impl Function {
    /// Every function.
    pub const ALL: [Function; 6] = [
        Function::Count,
        Function::Sum,
        Function::Min,
        Function::Max,
        Function::Avg,
        Function::Dc,
    ];

    /// The name in queries.
    pub fn as_str(self) -> &'static str {
        match self {
            Function::Count => "count",
            Function::Sum => "sum",
            Function::Min => "min",
            Function::Max => "max",
            Function::Avg => "avg",
            Function::Dc => "dc",
        }
    }

    /// The function called `name` (`distinct_count` is `dc`).
    pub fn parse(name: &str) -> Option<Function> {
        if name.eq_ignore_ascii_case("distinct_count") {
            return Some(Function::Dc);
        }
        Function::ALL
            .into_iter()
            .find(|function| function.as_str().eq_ignore_ascii_case(name))
    }
}

/// A column to sort by.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SortKey {
    pub column: String,
    /// Largest first.
    #[serde(default)]
    pub descending: bool,
}

impl Query {
    /// A query that matches `search` with no pipes.
    pub fn search(search: Expr) -> Query {
        Query {
            search,
            pipes: Vec::new(),
        }
    }
}
