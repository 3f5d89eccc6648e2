//! The fields a query names: the store's filterable string fields ([`Field`]), the message,
//! the two numbers and the event time.

use kec_model::EventRecord;
use serde::{Deserialize, Serialize};

/// A filterable, groupable string field of a record (indexed untokenized, kept as a column).
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

    /// The field called `name`, if any.
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

/// A numeric field that ranges apply to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum NumberField {
    /// Occurrences this observation added (>= 1): sums of it are true event counts.
    Occurrences,
    /// The Event's cumulative count as Kubernetes reports it.
    Count,
}

impl NumberField {
    /// Both numeric fields.
    pub const ALL: [NumberField; 2] = [NumberField::Occurrences, NumberField::Count];

    /// The name used in queries and in the index.
    pub fn as_str(self) -> &'static str {
        match self {
            NumberField::Occurrences => "occurrences",
            NumberField::Count => "count",
        }
    }
}

/// Name of the free-text field.
pub const MESSAGE: &str = "message";
/// Name of the event-time field (epoch milliseconds).
pub const TIME: &str = "time";

/// What a field name in a search means.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SearchField {
    /// An exact-value string field.
    String(Field),
    /// The tokenized message.
    Message,
    /// A number.
    Number(NumberField),
    /// The event time.
    Time,
}

impl SearchField {
    /// Resolves a field name of a search (`occurrences` and `count` are numbers, `time` the
    /// event time, `message` the text).
    pub fn parse(name: &str) -> Option<SearchField> {
        if let Some(field) = Field::parse(name) {
            return Some(SearchField::String(field));
        }
        match name {
            MESSAGE => Some(SearchField::Message),
            TIME => Some(SearchField::Time),
            _ => NumberField::ALL
                .into_iter()
                .find(|field| field.as_str() == name)
                .map(SearchField::Number),
        }
    }

    /// Every field name a search accepts, for error messages.
    pub fn names() -> Vec<&'static str> {
        let mut names: Vec<&'static str> = Field::ALL.iter().map(|field| field.as_str()).collect();
        names.push(MESSAGE);
        names.extend(NumberField::ALL.iter().map(|field| field.as_str()));
        names.push(TIME);
        names
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_name_resolves_to_its_field() {
        for name in SearchField::names() {
            assert!(SearchField::parse(name).is_some(), "{name}");
        }
        assert_eq!(
            SearchField::parse("count"),
            Some(SearchField::Number(NumberField::Count))
        );
        assert_eq!(
            SearchField::parse("reason"),
            Some(SearchField::String(Field::Reason))
        );
        assert_eq!(SearchField::parse("Reason"), None);
        assert_eq!(SearchField::names().len(), 13);
    }
}
