//! Query-language latencies on a synthetic store: ingests N events (kec-sim's skewed load over
//! 7 days), then runs each query R times over the whole week and prints p50 / p99.
//!
//! ```sh
//! cargo run --release -p kec-store --example query_bench -- 1000000 20
//! ```

use std::time::{Duration, Instant};

use kec_sim::synthetic::{SyntheticConfig, SyntheticLoad};
use kec_store::{EmbeddedStore, QueryRequest, StoreConfig};

const QUERIES: [&str; 9] = [
    "type:Warning | stats sum(occurrences) as n by namespace | sort -n | head 10",
    "* | top 10 reason",
    "* | timechart span=1h sum(occurrences) by type",
    "type:Warning reason:(BackOff OR Unhealthy) namespace:s* | stats sum(occurrences) as n, dc(name) by namespace, reason | sort -n | head 10",
    "\"connection refused\" | stats count by reason",
    "-type:Normal occurrences:>1 | stats count, avg(count), max(time) by category",
    "type:Warning | fields time, namespace, name, reason | head 100",
    "reason:BackOff | dedup namespace, name | fields time, namespace, name, message | head 50",
    "namespace:shop | sort -count | head 20",
];

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let events: u64 = args.next().map_or(Ok(1_000_000), |a| a.parse())?;
    let runs: usize = args.next().map_or(Ok(20), |a| a.parse())?;
    let dir = tempfile::tempdir()?;
    let store = EmbeddedStore::open(StoreConfig::new(dir.path()))?;
    let config = SyntheticConfig {
        events,
        ..SyntheticConfig::default()
    };
    let end_ms = config.end_ms;
    let from_ms = end_ms - 7 * kec_model::time::DAY_MS;
    let mut load = SyntheticLoad::new(config);
    let started = Instant::now();
    let mut clock_ms = from_ms;
    while let Some(batch) = load.next_batch(5_000) {
        clock_ms = batch
            .iter()
            .map(|r| r.time_ms)
            .max()
            .unwrap_or(clock_ms)
            .max(clock_ms);
        store.ingest(batch, clock_ms)?;
    }
    store.commit(clock_ms)?;
    let stats = store.stats()?;
    println!(
        "loaded {} records in {:.1} s ({} partitions)",
        stats.records,
        started.elapsed().as_secs_f64(),
        stats.partitions
    );
    for text in QUERIES {
        let query = kec_query::parse(text)?;
        let request = QueryRequest {
            query,
            from_ms,
            to_ms: end_ms,
            now_ms: end_ms,
            max_rows: 1000,
        };
        let mut durations = Vec::with_capacity(runs);
        let mut summary = String::new();
        for _ in 0..runs.max(1) {
            let started = Instant::now();
            let result = store.query(&request)?;
            durations.push(started.elapsed());
            summary = format!(
                "matched {:>8} scanned {:>7}{}",
                result.matched.unwrap_or_default(),
                result.scanned,
                if result.scan_limited {
                    " (scan limited)"
                } else {
                    ""
                }
            );
        }
        durations.sort_unstable();
        let at = |q: f64| {
            let index = ((durations.len() - 1) as f64 * q).round() as usize;
            durations
                .get(index)
                .copied()
                .unwrap_or(Duration::ZERO)
                .as_secs_f64()
                * 1000.0
        };
        println!(
            "p50 {:>9.2} ms  p99 {:>9.2} ms  {summary}  {text}",
            at(0.5),
            at(0.99)
        );
    }
    Ok(())
}
