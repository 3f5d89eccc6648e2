//! The examples of docs/QUERY.md parse (and the sketch of the design is refused where the doc
//! says it is).

fn examples() -> Vec<String> {
    let doc = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../../docs/QUERY.md"))
        .expect("docs/QUERY.md");
    let section = doc
        .split("## Examples")
        .nth(1)
        .expect("an Examples section");
    section
        .split("```")
        .nth(1)
        .expect("a code block")
        .lines()
        .map(str::trim)
        .filter(|line| !line.is_empty() && !line.starts_with('#'))
        .map(str::to_string)
        .collect()
}

#[test]
fn every_documented_example_parses() {
    let examples = examples();
    assert!(examples.len() >= 6, "{examples:?}");
    for example in examples {
        if let Err(error) = kec_query::parse(&example) {
            panic!("{example}\n{}", error.pretty());
        }
    }
}

#[test]
fn the_two_queries_of_the_sketch_parse() {
    for query in [
        "type:Warning reason:(BackOff OR Unhealthy) namespace:prod-* | stats sum(occurrences) as n by namespace, reason | sort -n | head 10",
        "type:Warning reason:(BackOff OR Unhealthy) namespace:prod-* | timechart span=5m sum(occurrences) by type",
    ] {
        assert!(kec_query::parse(query).is_ok(), "{query}");
    }
}
