//! kec's event model: what one stored observation of a Kubernetes Event is. No I/O.
//!
//! - [`record`]: [`EventRecord`], the normalized record, and [`ObjectRef`].
//! - [`convert`]: building records from core/v1 and events.k8s.io/v1 Events and watch frames.
//! - [`category`]: the reason/message classifier ([`Category`]).
//! - [`enrichment`]: what the eventer adds to an Event (node, owner workload, labels).
//! - [`time`]: millisecond timestamps and their day partitions.
//! - [`names`]: Kubernetes name rules (DNS-1123 labels).

pub mod category;
pub mod convert;
pub mod enrichment;
pub mod names;
pub mod record;
pub mod time;

pub use category::Category;
pub use convert::{Observation, ParsedLine, parse_document, parse_line, parse_value};
pub use record::{EventRecord, ObjectRef, RawJson};

/// Errors of the model layer: an input that is not a Kubernetes Event.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The input is not valid JSON.
    #[error("invalid JSON: {0}")]
    Json(#[source] serde_json::Error),
    /// The JSON is not an Event of a known API version (or a watch frame holding one).
    #[error("not a Kubernetes Event: {0}")]
    NotAnEvent(String),
    /// The JSON looks like an Event but a field has the wrong shape.
    #[error("invalid {api_version} Event: {source}")]
    InvalidEvent {
        api_version: &'static str,
        #[source]
        source: serde_json::Error,
    },
}

pub type Result<T, E = Error> = std::result::Result<T, E>;
