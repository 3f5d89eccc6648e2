//! kec's event store.
//!
//! - [`ledger`]: the occurrence ledger: which observations add occurrences, and how many.
//! - [`codec`]: the stored form of a record (original Event text + what only the store knows).
//! - [`wal`]: the write-ahead log that makes an acknowledged batch survive kill -9.
//! - [`meta`]: SQLite metadata: clusters, ledger state, checkpoints.
//! - [`schema`]: the tantivy schema and the mapping between records and documents.
//! - [`filter`]: the filters that searches and aggregations share.
//! - [`aggregate`]: grouped sums over fast fields (histograms, top-N).
//! - [`rollup`]: per-minute and per-hour sums kept at ingest, so the overview reads no documents.
//! - [`query`]: running a query-language [`kec_query::Query`]: search, then pipes.
//! - [`embedded`]: [`EmbeddedStore`], tantivy day partitions + WAL + SQLite behind one API.

pub mod aggregate;
pub mod codec;
pub mod embedded;
pub mod filter;
pub mod ledger;
pub mod meta;
pub mod query;
pub mod rollup;
pub mod schema;
pub mod wal;

pub use aggregate::{AggregateRequest, AggregateRow};
pub use embedded::{
    ClusterInfo, EmbeddedStore, IngestOutcome, SearchPage, SearchRequest, StoreConfig, StoreStats,
    TimelinePoint,
};
pub use filter::{Field, Filter, TermFilter};
pub use query::{EventPageRequest, EventSearch, Grouping, RecordMatcher};
pub use query::{Output, QueryRequest, QueryResult, SeriesLine, Value};
pub use rollup::{Dimension, RollupAnswer, RollupQuery, RollupStats, RollupView};

/// Errors of the store.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A file or directory of the store could not be read or written.
    #[error("store i/o on {path}: {source}")]
    Io {
        path: std::path::PathBuf,
        #[source]
        source: std::io::Error,
    },
    /// The tantivy index failed.
    #[error("event index: {0}")]
    Index(#[from] tantivy::TantivyError),
    /// The SQLite metadata database failed.
    #[error("metadata database: {0}")]
    Sqlite(#[from] rusqlite::Error),
    /// A stored record could not be decoded (a bug or a corrupted store).
    #[error("stored record is corrupt: {0}")]
    Corrupt(String),
    /// The request itself is invalid (bad cursor, bad filter value).
    #[error("invalid request: {0}")]
    InvalidRequest(String),
    /// Another process (or store) has the data directory open.
    #[error(
        "the data directory {path} is in use by another kec process ({reason}): stop it or choose another --data-dir"
    )]
    InUse {
        path: std::path::PathBuf,
        reason: String,
    },
    /// A lock was poisoned by a panic in another thread.
    #[error("store lock poisoned")]
    Poisoned,
}

impl Error {
    pub(crate) fn io(path: impl Into<std::path::PathBuf>, source: std::io::Error) -> Error {
        Error::Io {
            path: path.into(),
            source,
        }
    }

    /// True when the caller did something wrong (maps to HTTP 400); false for server faults.
    pub fn is_client_error(&self) -> bool {
        matches!(self, Error::InvalidRequest(_))
    }
}

impl<T> From<std::sync::PoisonError<T>> for Error {
    fn from(_: std::sync::PoisonError<T>) -> Error {
        Error::Poisoned
    }
}

pub type Result<T, E = Error> = std::result::Result<T, E>;
