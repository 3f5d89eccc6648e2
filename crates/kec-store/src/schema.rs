//! The tantivy schema of a day partition and the mapping between records and documents.
//!
//! Filterable string fields are indexed untokenized and kept as fast fields (columnar) so that
//! facets and top-N read columns instead of documents. The message is tokenized for free-text
//! search. The whole record (with the original object) is one stored JSON blob in the
//! zstd-compressed doc store: it is read only for the rows a page shows.

use kec_model::EventRecord;
use tantivy::TantivyDocument;
use tantivy::schema::{FAST, Field as IndexField, INDEXED, STORED, STRING, Schema, TEXT};

use crate::filter::Field;

/// Field handles of a partition's schema.
#[derive(Debug, Clone)]
pub struct EventSchema {
    pub schema: Schema,
    pub seq: IndexField,
    pub time_ms: IndexField,
    pub occurrences: IndexField,
    pub count: IndexField,
    pub message: IndexField,
    pub object_uid: IndexField,
    pub doc: IndexField,
    /// The untokenized string fields, in [`Field::ALL`] order.
    strings: Vec<IndexField>,
}

impl EventSchema {
    pub fn new() -> EventSchema {
        let mut builder = Schema::builder();
        let seq = builder.add_u64_field("seq", FAST | INDEXED);
        let time_ms = builder.add_i64_field("time_ms", FAST | INDEXED);
        let occurrences = builder.add_i64_field("occurrences", FAST);
        let count = builder.add_i64_field("count", FAST);
        let message = builder.add_text_field("message", TEXT);
        let object_uid = builder.add_text_field("object_uid", STRING);
        let doc = builder.add_bytes_field("doc", STORED);
        let strings = Field::ALL
            .iter()
            .map(|field| builder.add_text_field(field.as_str(), STRING | FAST))
            .collect();
        EventSchema {
            schema: builder.build(),
            seq,
            time_ms,
            occurrences,
            count,
            message,
            object_uid,
            doc,
            strings,
        }
    }

    /// The index field of a filterable string field.
    pub fn string_field(&self, field: Field) -> IndexField {
        // Field::ALL and `strings` are built in the same order; the index is in range.
        self.strings[field as usize]
    }

    /// Builds the document of `record`; `encoded` is its JSON line (shared with the WAL).
    pub fn document(&self, record: &EventRecord, encoded: &[u8]) -> TantivyDocument {
        let mut document = TantivyDocument::new();
        document.add_u64(self.seq, record.seq);
        document.add_i64(self.time_ms, record.time_ms);
        document.add_i64(self.occurrences, record.occurrences);
        document.add_i64(self.count, record.count);
        document.add_text(self.message, &record.message);
        if !record.object.uid.is_empty() {
            document.add_text(self.object_uid, &record.object.uid);
        }
        for field in Field::ALL {
            document.add_text(self.string_field(field), field.value_of(record));
        }
        document.add_bytes(self.doc, encoded);
        document
    }

    /// Decodes the stored record of a document.
    pub fn record(&self, document: &TantivyDocument) -> crate::Result<EventRecord> {
        use tantivy::schema::Value;
        let bytes = document
            .get_first(self.doc)
            .and_then(|value| value.as_bytes())
            .ok_or_else(|| crate::Error::Corrupt("document has no stored record".into()))?;
        serde_json::from_slice(bytes).map_err(|error| crate::Error::Corrupt(error.to_string()))
    }
}

impl Default for EventSchema {
    fn default() -> Self {
        EventSchema::new()
    }
}
