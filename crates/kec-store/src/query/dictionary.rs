//! Term ordinals of a string column resolved to their strings in one sorted walk of the
//! column's dictionary. A lookup per ordinal decompresses a dictionary block each time; with
//! ~200,000 object names that was most of a grouped query's time. Facets and the grouped pipes
//! collect the ordinals they saw in a segment and resolve them here at harvest.

use std::io;

use tantivy::columnar::StrColumn;

/// Distinct ordinals of one column, ascending, with their strings.
#[derive(Debug, Default)]
pub(crate) struct ResolvedOrdinals {
    ordinals: Vec<u64>,
    texts: Vec<String>,
}

impl ResolvedOrdinals {
    /// Reads the strings of `ordinals` (any order, repeats allowed) from `column`'s dictionary
    /// in one sequential pass. An ordinal the dictionary does not hold, or a block that cannot
    /// be read, is an error: a grouping never silently loses or renames a value.
    pub(crate) fn read(
        column: &StrColumn,
        ordinals: impl IntoIterator<Item = u64>,
    ) -> io::Result<ResolvedOrdinals> {
        let mut ordinals: Vec<u64> = ordinals.into_iter().collect();
        // The dictionary's walk requires ascending ordinals (it asserts it).
        ordinals.sort_unstable();
        ordinals.dedup();
        let mut texts = Vec::with_capacity(ordinals.len());
        let complete = column
            .dictionary()
            .sorted_ords_to_term_cb(&ordinals, |bytes| {
                texts.push(String::from_utf8_lossy(bytes).into_owned());
            })?;
        if !complete || texts.len() != ordinals.len() {
            return Err(io::Error::new(
                io::ErrorKind::InvalidData,
                format!(
                    "term dictionary resolved {} of {} ordinals",
                    texts.len(),
                    ordinals.len()
                ),
            ));
        }
        Ok(ResolvedOrdinals { ordinals, texts })
    }

    /// The string of `ordinal`, if it was read.
    pub(crate) fn get(&self, ordinal: u64) -> Option<&str> {
        let at = self.ordinals.binary_search(&ordinal).ok()?;
        self.texts.get(at).map(String::as_str)
    }

    /// The ordinals read and their strings, ascending by ordinal.
    pub(crate) fn iter(&self) -> impl Iterator<Item = (u64, &str)> {
        self.ordinals
            .iter()
            .copied()
            .zip(self.texts.iter().map(String::as_str))
    }
}

#[cfg(test)]
mod tests {
    use tantivy::schema::{FAST, STRING, Schema};
    use tantivy::{Index, TantivyDocument};

    use super::*;

    /// A one-segment index whose `name` column holds `names`, and that column.
    fn column_of(names: &[String]) -> StrColumn {
        let mut builder = Schema::builder();
        let name = builder.add_text_field("name", STRING | FAST);
        let index = Index::create_in_ram(builder.build());
        let Ok(mut writer) = index.writer::<TantivyDocument>(15_000_000) else {
            panic!("writer");
        };
        for text in names {
            let mut doc = TantivyDocument::default();
            doc.add_text(name, text);
            assert!(writer.add_document(doc).is_ok());
        }
        assert!(writer.commit().is_ok());
        let Ok(reader) = index.reader() else {
            panic!("reader");
        };
        let searcher = reader.searcher();
        let Some(segment) = searcher.segment_readers().first() else {
            panic!("no segment");
        };
        match segment.fast_fields().str("name") {
            Ok(Some(column)) => column,
            _ => panic!("no name column"),
        }
    }

    #[test]
    fn unsorted_repeated_ordinals_resolve_like_one_lookup_each() {
        let names: Vec<String> = (0..5_000)
            .map(|n| format!("pod-{:05}", n * 7 % 5_000))
            .collect();
        let column = column_of(&names);
        let wanted: Vec<u64> = (0..column.num_terms() as u64)
            .rev()
            .step_by(3)
            .chain([4, 4, 0])
            .collect();
        let Ok(resolved) = ResolvedOrdinals::read(&column, wanted.iter().copied()) else {
            panic!("read failed");
        };
        for ordinal in wanted {
            let mut one_lookup = String::new();
            assert!(matches!(
                column.ord_to_str(ordinal, &mut one_lookup),
                Ok(true)
            ));
            assert_eq!(resolved.get(ordinal), Some(one_lookup.as_str()));
        }
        assert_eq!(resolved.get(2), None, "ordinal 2 was not asked for");
    }

    #[test]
    fn an_ordinal_beyond_the_dictionary_is_an_error() {
        let column = column_of(&["a".to_string(), "b".to_string()]);
        let result = ResolvedOrdinals::read(&column, [0, 1, 2]);
        assert!(result.is_err(), "ordinal 2 of a 2-term dictionary");
    }
}
