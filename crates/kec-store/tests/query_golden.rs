//! Golden-file tests of the query language on the embedded store: every case of
//! `tests/golden/queries.txt` runs over the fixed events of `tests/golden/events.ndjson` and
//! its result must equal `tests/golden/<case>.txt`. `KEC_UPDATE_GOLDEN=1` rewrites the files
//! (then read the diff: a golden file is a claim that the result is right).

use std::path::{Path, PathBuf};

use kec_model::time::parse_time;
use kec_store::{EmbeddedStore, QueryRequest, StoreConfig};

const FROM: &str = "2026-11-25T10:00:00Z";
const NOW: &str = "2026-11-25T11:00:00Z";

fn golden_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/golden")
}

fn load(store: &EmbeddedStore, now_ms: i64) {
    let text = std::fs::read_to_string(golden_dir().join("events.ndjson")).unwrap();
    let mut records = Vec::new();
    for line in text.lines().filter(|line| !line.trim().is_empty()) {
        let value: serde_json::Value = serde_json::from_str(line).unwrap();
        let cluster = value["cluster"].as_str().unwrap().to_string();
        match kec_model::parse_value(value["event"].clone(), &cluster, now_ms).unwrap() {
            kec_model::ParsedLine::Observation(observation) => records.push(observation.record),
            other => panic!("{other:?}"),
        }
    }
    // One batch per record, in file order: repeats of an Event add their deltas.
    for record in records {
        let outcome = store.ingest(vec![record], now_ms).unwrap();
        assert_eq!(outcome.accepted, 1, "{outcome:?}");
    }
    store.commit(now_ms).unwrap();
}

/// `name: query` lines; a line starting with a space continues the previous query.
fn cases() -> Vec<(String, String)> {
    let text = std::fs::read_to_string(golden_dir().join("queries.txt")).unwrap();
    let mut cases: Vec<(String, String)> = Vec::new();
    for line in text.lines() {
        if line.starts_with('#') || line.trim().is_empty() {
            continue;
        }
        if line.starts_with(' ') {
            let (_, query) = cases.last_mut().expect("a continuation follows a case");
            query.push('\n');
            query.push_str(line);
            continue;
        }
        let (name, query) = line.split_once(": ").expect("`name: query`");
        cases.push((name.to_string(), query.to_string()));
    }
    cases
}

fn run(store: &EmbeddedStore, query: &str, from_ms: i64, now_ms: i64) -> String {
    let mut out = format!("# {}\n", query.replace('\n', "\n# "));
    let parsed = match kec_query::parse(query) {
        Ok(parsed) => parsed,
        Err(error) => {
            out.push_str(&format!("error: {}\n", error.pretty()));
            return out;
        }
    };
    let request = QueryRequest {
        query: parsed,
        from_ms,
        to_ms: now_ms,
        now_ms,
        max_rows: 1000,
    };
    match store.query(&request) {
        Ok(result) => {
            out.push_str(&format!(
                "query: {}\nmatched: {}, scanned: {}, scan_limited: {}, rows_limited: {}\n\n",
                result.query,
                result.matched.map_or("-".to_string(), |n| n.to_string()),
                result.scanned,
                result.scan_limited,
                result.rows_limited
            ));
            out.push_str(&result.to_text());
        }
        Err(error) => out.push_str(&format!("store error: {error}\n")),
    }
    out
}

#[test]
fn golden_queries() {
    let dir = tempfile::tempdir().unwrap();
    let store = EmbeddedStore::open(StoreConfig::new(dir.path())).unwrap();
    let from_ms = parse_time(FROM).unwrap();
    let now_ms = parse_time(NOW).unwrap();
    load(&store, now_ms);
    let update = std::env::var_os("KEC_UPDATE_GOLDEN").is_some();
    let mut failures = Vec::new();
    let cases = cases();
    assert!(cases.len() >= 20, "{} cases", cases.len());
    for (name, query) in cases {
        let actual = run(&store, &query, from_ms, now_ms);
        let path = golden_dir().join(format!("{name}.txt"));
        if update {
            std::fs::write(&path, &actual).unwrap();
            continue;
        }
        let expected = std::fs::read_to_string(&path).unwrap_or_default();
        if expected != actual {
            failures.push(format!(
                "--- {name}: expected\n{expected}--- actual\n{actual}"
            ));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

/// The columnar path (stats first) and the in-memory path (stats after a pipe that keeps every
/// row) must agree on every aggregation.
#[test]
fn columnar_and_in_memory_aggregation_agree() {
    let dir = tempfile::tempdir().unwrap();
    let store = EmbeddedStore::open(StoreConfig::new(dir.path())).unwrap();
    let from_ms = parse_time(FROM).unwrap();
    let now_ms = parse_time(NOW).unwrap();
    load(&store, now_ms);
    let stats = "stats count, sum(occurrences), min(count), max(time), avg(occurrences), dc(reason) by cluster, namespace, type";
    for (search, tail) in [
        ("*", stats.to_string()),
        ("type:Warning", stats.to_string()),
        ("*", "top 4 node".to_string()),
        (
            "-cluster:staging",
            "timechart span=10m avg(count) by reason".to_string(),
        ),
        ("*", "timechart span=5m dc(name)".to_string()),
    ] {
        let columnar = kec_query::parse(&format!("{search} | {tail}")).unwrap();
        let in_memory = kec_query::parse(&format!("{search} | sort time | {tail}")).unwrap();
        let request = |query| QueryRequest {
            query,
            from_ms,
            to_ms: now_ms,
            now_ms,
            max_rows: 1000,
        };
        let a = store.query(&request(columnar)).unwrap();
        let b = store.query(&request(in_memory)).unwrap();
        assert_eq!(a.output, b.output, "{search} | {tail}");
        assert!(!b.scan_limited);
    }
}

/// Messages read at the end (shown, not sorted by) belong to their rows, across day partitions
/// and after pipes reorder the rows.
#[test]
fn deferred_messages_stay_with_their_rows_across_days() {
    let dir = tempfile::tempdir().unwrap();
    let store = EmbeddedStore::open(StoreConfig::new(dir.path())).unwrap();
    let now_ms = parse_time(NOW).unwrap();
    load(&store, now_ms);
    // The same Events a day earlier, under other uids and names: a second partition.
    let text = std::fs::read_to_string(golden_dir().join("events.ndjson")).unwrap();
    for line in text.lines() {
        let mut value: serde_json::Value = serde_json::from_str(line).unwrap();
        let cluster = value["cluster"].as_str().unwrap().to_string();
        let event = &mut value["event"];
        for key in ["firstTimestamp", "lastTimestamp"] {
            let time = event[key]
                .as_str()
                .unwrap()
                .replace("2026-11-25", "2026-11-24");
            event[key] = serde_json::Value::String(time);
        }
        let uid = format!("{}-yesterday", event["metadata"]["uid"].as_str().unwrap());
        event["metadata"]["uid"] = serde_json::Value::String(uid);
        let name = format!("{}-y", event["metadata"]["name"].as_str().unwrap());
        event["metadata"]["name"] = serde_json::Value::String(name);
        let object = format!("{}-y", event["involvedObject"]["name"].as_str().unwrap());
        event["involvedObject"]["name"] = serde_json::Value::String(object);
        let message = format!("{} (yesterday)", event["message"].as_str().unwrap());
        event["message"] = serde_json::Value::String(message);
        if let kec_model::ParsedLine::Observation(observation) =
            kec_model::parse_value(event.clone(), &cluster, now_ms).unwrap()
        {
            store.ingest(vec![observation.record], now_ms).unwrap();
        }
    }
    store.commit(now_ms).unwrap();
    assert_eq!(store.days().unwrap().len(), 2);
    let query = kec_query::parse("* | sort name, -time | fields name, time, message").unwrap();
    let result = store
        .query(&QueryRequest {
            query,
            from_ms: now_ms - 2 * kec_model::time::DAY_MS,
            to_ms: now_ms,
            now_ms,
            max_rows: 1000,
        })
        .unwrap();
    let kec_store::Output::Rows { rows, .. } = result.output else {
        panic!("rows expected")
    };
    assert_eq!(rows.len(), 32);
    let records = store
        .search(&kec_store::SearchRequest::newest(
            kec_store::Filter::default(),
            100,
        ))
        .unwrap()
        .records;
    for row in rows {
        let [
            kec_store::Value::Str(name),
            kec_store::Value::Int(time),
            kec_store::Value::Str(message),
        ] = row.as_slice()
        else {
            panic!("{row:?}")
        };
        assert!(
            records.iter().any(|record| &record.object.name == name
                && record.time_ms == *time
                && &record.message == message),
            "{name} {time} {message}"
        );
        assert_eq!(
            name.ends_with("-y"),
            message.ends_with("(yesterday)"),
            "{name}: {message}"
        );
    }
}
