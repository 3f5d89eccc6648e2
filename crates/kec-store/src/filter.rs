//! Filters shared by searches and aggregations: exact values on string fields, free text on the
//! message, and a time range. (The query language of a later milestone compiles to these and
//! more; this is the part the store executes today.)

use kec_model::EventRecord;
use serde::{Deserialize, Serialize};

/// A filterable, groupable string field of a record.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Field {
    Cluster,
    Namespace,
    Kind,
    Name,
    Type,
    Reason,
    Category,
    Node,
    Source,
}

impl Field {
    /// Every field, in schema order.
    pub const ALL: [Field; 9] = [
        Field::Cluster,
        Field::Namespace,
        Field::Kind,
        Field::Name,
        Field::Type,
        Field::Reason,
        Field::Category,
        Field::Node,
        Field::Source,
    ];

    /// The name used in the index, the API and queries.
    pub fn as_str(self) -> &'static str {
        match self {
            Field::Cluster => "cluster",
            Field::Namespace => "namespace",
            Field::Kind => "kind",
            Field::Name => "name",
            Field::Type => "type",
            Field::Reason => "reason",
            Field::Category => "category",
            Field::Node => "node",
            Field::Source => "source",
        }
    }

    pub fn parse(name: &str) -> Option<Field> {
        Field::ALL.into_iter().find(|field| field.as_str() == name)
    }

    /// The value of this field in `record`. `namespace` and `name` are the involved object's.
    pub fn value_of(self, record: &EventRecord) -> &str {
        match self {
            Field::Cluster => &record.cluster,
            Field::Namespace => {
                if record.object.namespace.is_empty() {
                    &record.namespace
                } else {
                    &record.object.namespace
                }
            }
            Field::Kind => &record.object.kind,
            Field::Name => &record.object.name,
            Field::Type => &record.event_type,
            Field::Reason => &record.reason,
            Field::Category => record.category.as_str(),
            Field::Node => &record.node,
            Field::Source => {
                if record.source_component.is_empty() {
                    &record.reporting_controller
                } else {
                    &record.source_component
                }
            }
        }
    }
}

/// `field` is one of `values` (or, with `negate`, none of them).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TermFilter {
    pub field: Field,
    pub values: Vec<String>,
    #[serde(default)]
    pub negate: bool,
}

/// Conditions a record must meet (all of them).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Filter {
    #[serde(default)]
    pub terms: Vec<TermFilter>,
    /// Words (or "quoted phrases") that must all appear in the message.
    #[serde(default)]
    pub text: Option<String>,
    /// Inclusive lower bound on the event time.
    #[serde(default)]
    pub from_ms: Option<i64>,
    /// Exclusive upper bound on the event time.
    #[serde(default)]
    pub to_ms: Option<i64>,
}

impl Filter {
    /// Adds `field = value`.
    pub fn with(mut self, field: Field, value: impl Into<String>) -> Filter {
        self.terms.push(TermFilter {
            field,
            values: vec![value.into()],
            negate: false,
        });
        self
    }

    pub fn between(mut self, from_ms: i64, to_ms: i64) -> Filter {
        self.from_ms = Some(from_ms);
        self.to_ms = Some(to_ms);
        self
    }
}
