//! kec's query language: a search, then pipes.
//!
//! ```text
//! type:Warning reason:(BackOff OR Unhealthy) namespace:prod-* "connection refused" -kind:Node
//! | stats sum(occurrences) as n by namespace, reason | sort -n | head 10
//! ```
//!
//! - [`field`]: the fields a query names ([`Field`] is the store's string fields).
//! - [`ast`]: [`Query`], the serializable AST every store executes.
//! - [`parse`](mod@parse): text -> AST, with errors that point at a column.
//! - [`print`]: AST -> canonical text (`Display`).
//! - [`columns`]: which columns each pipe yields; checks a query before it runs.
//! - [`error`]: errors that point at a column, [`ParseError`].

pub mod ast;
pub mod columns;
pub mod error;
pub mod field;
pub mod parse;
pub mod print;

pub use ast::{Aggregation, Bound, Expr, Function, Pipe, Query, SortKey, TimePoint};
pub use columns::{CheckError, Column, ColumnKind, Shape, check, event_columns};
pub use error::ParseError;
pub use field::{Field, NumberField, SearchField};
pub use parse::parse;
