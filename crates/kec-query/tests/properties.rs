//! Property tests: the printer and the parser agree (print(parse(print(ast))) == print(ast) for
//! generated ASTs), and the parser never panics, whatever the text.

use kec_query::{
    Aggregation, Bound, Expr, Field, Function, NumberField, Pipe, Query, SortKey, TimePoint, parse,
};
use proptest::prelude::*;

fn field() -> impl Strategy<Value = Field> {
    proptest::sample::select(Field::ALL.to_vec())
}

/// Values: plain words, and text that needs quotes (spaces, quotes, backslashes, keywords).
fn value() -> impl Strategy<Value = String> {
    prop_oneof![
        "[a-zA-Z0-9][a-zA-Z0-9._/-]{0,12}",
        "[ a-z\"\\\\:()|*?-]{0,10}",
        "[a-z]{1,4}[:\\[\\]{}<>=][a-z0-9]{0,4}",
        Just("OR".to_string()),
        Just("-x".to_string()),
        Just("é ü 日本".to_string()),
    ]
}

fn pattern() -> impl Strategy<Value = String> {
    ("[a-z0-9]{0,5}", "[*?]", "[a-z0-9.-]{0,5}").prop_map(|(a, b, c)| format!("{a}{b}{c}"))
}

fn time_point() -> impl Strategy<Value = TimePoint> {
    prop_oneof![
        (0i64..4_000_000_000_000).prop_map(|ms| TimePoint::Absolute { ms }),
        (-100_000_000_000i64..100_000_000_000).prop_map(|offset_ms| TimePoint::Now { offset_ms }),
    ]
}

fn bound<T: std::fmt::Debug + Clone>(
    value: impl Strategy<Value = T>,
) -> impl Strategy<Value = Option<Bound<T>>> {
    proptest::option::of(
        (value, any::<bool>()).prop_map(|(value, inclusive)| Bound { value, inclusive }),
    )
}

fn leaf() -> impl Strategy<Value = Expr> {
    prop_oneof![
        Just(Expr::All),
        (field(), value()).prop_map(|(field, value)| Expr::Term { field, value }),
        (proptest::option::of(field()), pattern())
            .prop_map(|(field, pattern)| Expr::Wildcard { field, pattern }),
        "[a-z0-9]{1,8}".prop_map(|text| Expr::Text { text }),
        value().prop_map(|text| Expr::Text { text }),
        value().prop_map(|text| Expr::Phrase { text }),
        (
            proptest::sample::select(NumberField::ALL.to_vec()),
            bound(any::<i64>()),
            bound(any::<i64>())
        )
            .prop_map(|(field, lower, upper)| Expr::NumberRange {
                field,
                lower,
                upper
            }),
        (bound(time_point()), bound(time_point()))
            .prop_map(|(lower, upper)| Expr::TimeRange { lower, upper }),
    ]
}

fn expr() -> impl Strategy<Value = Expr> {
    leaf().prop_recursive(4, 32, 4, |inner| {
        prop_oneof![
            proptest::collection::vec(inner.clone(), 0..4)
                .prop_map(|clauses| Expr::And { clauses }),
            proptest::collection::vec(inner.clone(), 0..4).prop_map(|clauses| Expr::Or { clauses }),
            inner.prop_map(|clause| Expr::Not {
                clause: Box::new(clause)
            }),
        ]
    })
}

const GROUPABLE: [&str; 6] = ["namespace", "reason", "type", "kind", "name", "node"];

fn aggregation() -> impl Strategy<Value = Aggregation> {
    (
        proptest::sample::select(Function::ALL.to_vec()),
        proptest::sample::select(vec!["occurrences", "count", "time", "reason"]),
        proptest::option::of("a[a-z0-9_]{0,6}".prop_filter("not a keyword", |alias| alias != "as")),
    )
        .prop_map(|(function, field, alias)| Aggregation {
            function,
            field: (function != Function::Count).then(|| field.to_string()),
            alias,
        })
}

/// Pipes over event columns (not always valid together: the property only needs printing and
/// parsing to agree, so invalid combinations must fail the same way every time).
fn pipe() -> impl Strategy<Value = Pipe> {
    let column = proptest::sample::select(GROUPABLE.to_vec()).prop_map(str::to_string);
    prop_oneof![
        (
            proptest::collection::vec(aggregation(), 1..3),
            proptest::collection::vec(column.clone(), 0..3)
        )
            .prop_map(|(aggregations, by)| Pipe::Stats { aggregations, by }),
        (1u64..1000, column.clone()).prop_map(|(limit, field)| Pipe::Top { limit, field }),
        proptest::collection::vec((column.clone(), any::<bool>()), 1..3).prop_map(|keys| {
            Pipe::Sort {
                keys: keys
                    .into_iter()
                    .map(|(column, descending)| SortKey { column, descending })
                    .collect(),
            }
        }),
        (1u64..u64::MAX).prop_map(|limit| Pipe::Head { limit }),
        proptest::collection::vec(column.clone(), 1..4).prop_map(|fields| Pipe::Fields { fields }),
        proptest::collection::vec(column.clone(), 1..3).prop_map(|fields| Pipe::Dedup { fields }),
        (
            1i64..10_000_000_000,
            aggregation(),
            proptest::option::of(column)
        )
            .prop_map(|(span_ms, aggregation, by)| Pipe::Timechart {
                span_ms,
                aggregation,
                by
            }),
    ]
}

fn query() -> impl Strategy<Value = Query> {
    (expr(), proptest::collection::vec(pipe(), 0..4))
        .prop_map(|(search, pipes)| Query { search, pipes })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]

    #[test]
    fn printing_is_a_fixed_point_of_parsing(query in query()) {
        let printed = query.to_string();
        // The search alone always parses; with pipes, the checker may refuse the combination.
        let search_only = Query { search: query.search.clone(), pipes: Vec::new() }.to_string();
        let reparsed = parse(&search_only)
            .map_err(|error| TestCaseError::fail(format!("{search_only:?}: {}", error.pretty())))?;
        prop_assert_eq!(reparsed.to_string(), search_only);
        match parse(&printed) {
            Ok(reparsed) => prop_assert_eq!(reparsed.to_string(), printed),
            Err(error) => prop_assert!(
                kec_query::check(&query).is_err(),
                "{:?} failed to parse but checks: {}", printed, error.pretty()
            ),
        }
    }

    #[test]
    fn valid_queries_survive_json(query in query()) {
        let json = serde_json::to_string(&query).map_err(|e| TestCaseError::fail(e.to_string()))?;
        let back: Query = serde_json::from_str(&json).map_err(|e| TestCaseError::fail(e.to_string()))?;
        prop_assert_eq!(back, query);
    }

    #[test]
    fn the_parser_never_panics(text in "\\PC{0,80}") {
        let _result = parse(&text);
    }

    #[test]
    fn the_parser_never_panics_on_query_like_text(
        parts in proptest::collection::vec(
            proptest::sample::select(vec![
                "type:", "Warning", "(", ")", "\"", "OR", "AND", "NOT", "-", "*", "?", ":", "[", "]",
                "{", "}", " TO ", ">", "<=", "now-1h", "count:", "time:", "|", "stats", "sum(",
                "occurrences", "as", "by", ",", "sort", "head", "timechart", "span=", "5m", " ",
                "\n", "\\", "é", "0", "99999999999999999999", "message:", "x:", "name:",
                "a*", "-", "+", "/", "dc(", "name", ")", "top", "fields", "dedup", "10",
            ]),
            0..30,
        )
    ) {
        let text: String = parts.concat();
        if let Ok(query) = parse(&text) {
            // Whatever parses prints to text that parses back to the same canonical text.
            let printed = query.to_string();
            let again = parse(&printed)
                .map_err(|error| TestCaseError::fail(format!("{text:?} -> {printed:?}: {}", error.pretty())))?;
            prop_assert_eq!(again.to_string(), printed);
        }
        if let Err(error) = parse(&text) {
            // The column is always on the text (or just after its end).
            let line = text.split('\n').nth(error.line - 1).unwrap_or_default();
            prop_assert!(error.column >= 1 && error.column <= line.chars().count() + 1, "{:?}: {:?}", text, error);
        }
    }
}

#[test]
fn canonical_text_of_the_issue_query() {
    let query = parse(
        r#"type:Warning reason:(BackOff OR Unhealthy) namespace:prod-* "connection refused" -kind:Node
        | stats sum(occurrences) as n by namespace, reason | sort -n | head 10"#,
    )
    .unwrap();
    assert_eq!(
        query.to_string(),
        r#"type:Warning reason:(BackOff OR Unhealthy) namespace:prod-* "connection refused" -kind:Node | stats sum(occurrences) as n by namespace, reason | sort -n | head 10"#
    );
}

#[test]
fn printer_quotes_and_parenthesises_only_when_needed() {
    let cases = [
        ("a OR b c", "a OR b c"),
        ("(a OR b) c", "(a OR b) c"),
        ("-(a b)", "-(a b)"),
        ("NOT (a OR b)", "-(a OR b)"),
        ("name:\"a b\" reason:\"OR\"", "name:\"a b\" reason:\"OR\""),
        ("count:[2 TO 10]", "count:[2 TO 10]"),
        ("count:{2 TO *]", "count:>2"),
        ("count:5", "count:[5 TO 5]"),
        ("time:[now-90m TO now]", "time:[now-90m TO now]"),
        ("time:>=1764064800000", "time:>=2025-11-25T10:00:00Z"),
        ("time:<now+1d", "time:<now+1d"),
        ("| head 3", "* | head 3"),
        (
            "x | timechart span=300s count by type",
            "x | timechart span=5m count by type",
        ),
        ("(a b) c", "a b c"),
    ];
    for (text, canonical) in cases {
        let query = parse(text).unwrap_or_else(|error| panic!("{text}: {}", error.pretty()));
        assert_eq!(query.to_string(), canonical, "{text}");
    }
}
