//! Fuzzes the query-language parser: it never panics, and whatever parses prints to canonical
//! text that parses back to the same text.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    match kec_query::parse(text) {
        Ok(query) => {
            let printed = query.to_string();
            let again = kec_query::parse(&printed)
                .unwrap_or_else(|error| panic!("{text:?} printed as {printed:?}: {}", error.pretty()));
            assert_eq!(again.to_string(), printed);
        }
        Err(error) => {
            assert!(error.line >= 1 && error.column >= 1);
            let line = text.split('\n').nth(error.line - 1).unwrap_or_default();
            assert!(error.column <= line.chars().count() + 1, "{error:?}");
        }
    }
});
