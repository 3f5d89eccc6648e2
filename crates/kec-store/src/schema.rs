//! The tantivy schema of a day partition and the mapping between records and documents.
//!
//! Filterable string fields are indexed untokenized and kept as fast fields (columnar) so that
//! facets and top-N read columns instead of documents. The message is tokenized for free-text
//! search. The whole record (with the original object) is one stored JSON blob in the
//! zstd-compressed doc store: it is read only for the rows a page shows.

use kec_model::EventRecord;
use tantivy::TantivyDocument;
use tantivy::schema::{
    FAST, Field as IndexField, IndexRecordOption, STORED, Schema, TextFieldIndexing, TextOptions,
};

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
    pub doc: IndexField,
    /// The untokenized string fields, in [`Field::ALL`] order.
    strings: Vec<IndexField>,
}

impl EventSchema {
    pub fn new() -> EventSchema {
        // Nothing is scored (results sort by time), so no field keeps norms; numbers are only
        // fast (columnar) fields: range filters scan columns instead of a term per value.
        let mut builder = Schema::builder();
        let seq = builder.add_u64_field("seq", FAST);
        let time_ms = builder.add_i64_field("time_ms", FAST);
        let occurrences = builder.add_i64_field("occurrences", FAST);
        let count = builder.add_i64_field("count", FAST);
        let message_options = TextOptions::default().set_indexing_options(
            TextFieldIndexing::default()
                .set_tokenizer("default")
                .set_index_option(IndexRecordOption::WithFreqsAndPositions)
                .set_fieldnorms(false),
        );
        let message = builder.add_text_field("message", message_options);
        let doc = builder.add_bytes_field("doc", STORED);
        let string_options = TextOptions::default()
            .set_indexing_options(
                TextFieldIndexing::default()
                    .set_tokenizer("raw")
                    .set_index_option(IndexRecordOption::Basic)
                    .set_fieldnorms(false),
            )
            .set_fast("raw");
        let strings = Field::ALL
            .iter()
            .map(|field| builder.add_text_field(field.as_str(), string_options.clone()))
            .collect();
        EventSchema {
            schema: builder.build(),
            seq,
            time_ms,
            occurrences,
            count,
            message,
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
        crate::codec::decode(bytes)
    }
}

impl Default for EventSchema {
    fn default() -> Self {
        EventSchema::new()
    }
}
