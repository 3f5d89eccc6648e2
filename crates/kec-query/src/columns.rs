//! Which columns exist after each pipe, and what kind of values they hold. Checking a query
//! here (rather than in each executor) gives every store the same errors, and tells executors
//! the shape of the result before they run anything.

use serde::{Deserialize, Serialize};

use crate::ast::{Aggregation, Function, Pipe, Query};
use crate::field::{Field, MESSAGE, NumberField, TIME};

/// What a column holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ColumnKind {
    /// An exact string value (groupable).
    String,
    /// Free text (the message): shown, never grouped.
    Text,
    /// A whole number.
    Integer,
    /// A number that may have a fraction (averages).
    Float,
    /// Epoch milliseconds.
    Time,
}

impl ColumnKind {
    fn is_numeric(self) -> bool {
        matches!(self, ColumnKind::Integer | ColumnKind::Float)
    }
}

/// A column of a result.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Column {
    pub name: String,
    pub kind: ColumnKind,
}

impl Column {
    fn new(name: impl Into<String>, kind: ColumnKind) -> Column {
        Column {
            name: name.into(),
            kind,
        }
    }
}

/// The columns of the records a search yields, in display order.
pub fn event_columns() -> Vec<Column> {
    let mut columns = vec![Column::new(TIME, ColumnKind::Time)];
    columns.extend(
        Field::ALL
            .iter()
            .map(|field| Column::new(field.as_str(), ColumnKind::String)),
    );
    columns.extend(
        NumberField::ALL
            .iter()
            .map(|field| Column::new(field.as_str(), ColumnKind::Integer)),
    );
    columns.push(Column::new(MESSAGE, ColumnKind::Text));
    columns
}

/// The shape of a query's result.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Shape {
    /// A table with these columns.
    Rows { columns: Vec<Column> },
    /// Time series: one per value of `by` (or one), of the aggregation's values.
    Series {
        value: Column,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        by: Option<Column>,
    },
}

/// A query that cannot run: a pipe names a missing column or one of the wrong kind.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct CheckError {
    /// Index of the offending pipe.
    pub pipe: usize,
    /// The name (column, alias) at fault, when one is: lets the parser point at it.
    pub name: Option<String>,
    pub message: String,
}

struct Checker {
    pipe: usize,
    columns: Vec<Column>,
}

impl Checker {
    fn error(&self, name: Option<&str>, message: String) -> CheckError {
        CheckError {
            pipe: self.pipe,
            name: name.map(str::to_string),
            message,
        }
    }

    fn column(&self, name: &str) -> Result<&Column, CheckError> {
        self.columns
            .iter()
            .find(|column| column.name == name)
            .ok_or_else(|| {
                let known: Vec<&str> = self.columns.iter().map(|c| c.name.as_str()).collect();
                self.error(
                    Some(name),
                    format!(
                        "no column `{name}` here: the rows have {}",
                        known.join(", ")
                    ),
                )
            })
    }

    fn groupable(&self, name: &str) -> Result<Column, CheckError> {
        let column = self.column(name)?.clone();
        if column.kind == ColumnKind::Text {
            return Err(self.error(
                Some(name),
                format!("`{name}` is free text and cannot be grouped: group by reason or category"),
            ));
        }
        Ok(column)
    }

    fn aggregation(&self, aggregation: &Aggregation) -> Result<Column, CheckError> {
        let output = aggregation.output_name();
        let function = aggregation.function;
        let kind = match (function, &aggregation.field) {
            (Function::Count, None) => ColumnKind::Integer,
            (Function::Count, Some(field)) => {
                return Err(self.error(
                    Some(field),
                    format!("count takes no column: use count, or dc({field}) for distinct values"),
                ));
            }
            (_, None) => {
                return Err(self.error(
                    None,
                    format!(
                        "{}() needs a column, e.g. {}(occurrences)",
                        function.as_str(),
                        function.as_str()
                    ),
                ));
            }
            (Function::Dc, Some(field)) => {
                self.groupable(field)?;
                ColumnKind::Integer
            }
            (_, Some(field)) => {
                let column = self.column(field)?;
                let allowed = match function {
                    Function::Min | Function::Max => {
                        column.kind.is_numeric() || column.kind == ColumnKind::Time
                    }
                    _ => column.kind.is_numeric(),
                };
                if !allowed {
                    return Err(self.error(
                        Some(field),
                        format!(
                            "{}({field}) needs a number column, and `{field}` is not one",
                            function.as_str()
                        ),
                    ));
                }
                if function == Function::Avg {
                    ColumnKind::Float
                } else {
                    column.kind
                }
            }
        };
        Ok(Column::new(output, kind))
    }

    fn set_columns(&mut self, columns: Vec<Column>) -> Result<(), CheckError> {
        for (index, column) in columns.iter().enumerate() {
            if columns[..index]
                .iter()
                .any(|other| other.name == column.name)
            {
                return Err(self.error(
                    Some(&column.name),
                    format!(
                        "two columns would be called `{}`: name one with `as`",
                        column.name
                    ),
                ));
            }
        }
        self.columns = columns;
        Ok(())
    }
}

/// Checks every pipe of `query` against the columns the previous step yields and returns the
/// result's shape.
pub fn check(query: &Query) -> Result<Shape, CheckError> {
    let mut checker = Checker {
        pipe: 0,
        columns: event_columns(),
    };
    let last = query.pipes.len().saturating_sub(1);
    for (index, pipe) in query.pipes.iter().enumerate() {
        checker.pipe = index;
        match pipe {
            Pipe::Stats { aggregations, by } => {
                if aggregations.is_empty() {
                    return Err(
                        checker.error(None, "stats needs an aggregation, e.g. stats count".into())
                    );
                }
                let mut columns = Vec::new();
                for name in by {
                    columns.push(checker.groupable(name)?);
                }
                for aggregation in aggregations {
                    columns.push(checker.aggregation(aggregation)?);
                }
                checker.set_columns(columns)?;
            }
            Pipe::Timechart {
                span_ms,
                aggregation,
                by,
            } => {
                if index != last {
                    return Err(checker.error(
                        None,
                        "timechart makes a chart, so it must be the last pipe".into(),
                    ));
                }
                if *span_ms <= 0 {
                    return Err(checker.error(None, "span must be positive".into()));
                }
                match checker.columns.iter().find(|column| column.name == TIME) {
                    Some(column) if column.kind == ColumnKind::Time => {}
                    _ => {
                        return Err(checker.error(
                            None,
                            "timechart needs the event time, which the rows no longer have: put timechart right after the search, or keep `time` in the rows".into(),
                        ));
                    }
                }
                let value = checker.aggregation(aggregation)?;
                let by = by
                    .as_deref()
                    .map(|name| checker.groupable(name))
                    .transpose()?;
                return Ok(Shape::Series { value, by });
            }
            Pipe::Top { limit, field } => {
                if *limit == 0 {
                    return Err(checker.error(None, "top needs a limit of at least 1".into()));
                }
                let group = checker.groupable(field)?;
                match checker
                    .columns
                    .iter()
                    .find(|column| column.name == "occurrences")
                {
                    Some(column) if column.kind == ColumnKind::Integer => {}
                    _ => {
                        return Err(checker.error(
                            Some(field),
                            format!("top ranks by occurrences, which the rows no longer have: use stats count by {field} | sort -count | head {limit}"),
                        ));
                    }
                }
                checker.set_columns(vec![
                    group,
                    Column::new("occurrences", ColumnKind::Integer),
                    Column::new("records", ColumnKind::Integer),
                ])?;
            }
            Pipe::Sort { keys } => {
                if keys.is_empty() {
                    return Err(checker.error(None, "sort needs a column".into()));
                }
                for key in keys {
                    checker.column(&key.column)?;
                }
            }
            Pipe::Head { limit } => {
                if *limit == 0 {
                    return Err(checker.error(None, "head needs a limit of at least 1".into()));
                }
            }
            Pipe::Fields { fields } => {
                if fields.is_empty() {
                    return Err(checker.error(None, "fields needs a column".into()));
                }
                let mut columns = Vec::new();
                for name in fields {
                    columns.push(checker.column(name)?.clone());
                }
                checker.set_columns(columns)?;
            }
            Pipe::Dedup { fields } => {
                if fields.is_empty() {
                    return Err(checker.error(None, "dedup needs a column".into()));
                }
                for name in fields {
                    checker.column(name)?;
                }
            }
        }
    }
    Ok(Shape::Rows {
        columns: checker.columns,
    })
}
