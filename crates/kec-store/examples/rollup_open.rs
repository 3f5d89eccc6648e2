//! Opens an existing data directory and prints how long the open took (the rollups are
//! rebuilt from the committed index then) and what the rollups hold; then times every rollup
//! dimension over ranges aligned to hours and ragged ones (whose edges the index answers):
//! `cargo run --release -p kec-store --example rollup_open -- <data-dir> [end-ms]`
//! (`end-ms` defaults to 2026-11-25T00:00Z, where `kec bench` loads end).

use std::time::{Duration, Instant};

use kec_store::{Dimension, EmbeddedStore, RollupQuery, StoreConfig};

const HOUR_MS: i64 = 3_600_000;
const DIMENSIONS: [Dimension; 9] = [
    Dimension::Total,
    Dimension::Type,
    Dimension::Cluster,
    Dimension::Namespace,
    Dimension::Kind,
    Dimension::Reason,
    Dimension::Category,
    Dimension::WarningObject,
    Dimension::ProblemNode,
];

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let Some(data_dir) = std::env::args().nth(1) else {
        return Err("usage: rollup_open <data-dir>".into());
    };
    let started = Instant::now();
    let store = EmbeddedStore::open(StoreConfig::new(&data_dir))?;
    let opened = started.elapsed();
    let stats = store.stats()?;
    let rollups = store.rollup_stats()?;
    println!(
        "open: {:.2} s for {} records in {} day partitions",
        opened.as_secs_f64(),
        stats.records,
        stats.partitions
    );
    println!(
        "rollups: {} minute buckets / {} cells, {} hour buckets / {} cells, {} strings, about {:.1} MiB",
        rollups.minute_buckets,
        rollups.minute_cells,
        rollups.hour_buckets,
        rollups.hour_cells,
        rollups.strings,
        rollups.approx_bytes as f64 / (1024.0 * 1024.0)
    );
    let end_ms: i64 = match std::env::args().nth(2) {
        Some(text) => text.parse()?,
        None => 1_795_564_800_000,
    };
    let ragged = 17 * 60_000 + 3_001;
    for (label, from_ms, to_ms) in [
        ("24 h aligned", end_ms - 24 * HOUR_MS, end_ms),
        (
            "24 h ragged",
            end_ms - 24 * HOUR_MS - ragged,
            end_ms - ragged,
        ),
        ("7 d aligned", end_ms - 168 * HOUR_MS, end_ms),
        (
            "7 d ragged",
            end_ms - 168 * HOUR_MS + ragged,
            end_ms - ragged,
        ),
    ] {
        let mut times: Vec<Duration> = Vec::new();
        for _ in 0..20 {
            let started = Instant::now();
            for dimension in DIMENSIONS {
                store.rollup_groups(&RollupQuery {
                    limit: 10,
                    ..RollupQuery::new(dimension, from_ms, to_ms)
                })?;
            }
            times.push(started.elapsed());
        }
        let mut viewed: Vec<Duration> = Vec::new();
        for _ in 0..20 {
            let started = Instant::now();
            let view = store.rollup_view(from_ms, to_ms)?;
            for dimension in DIMENSIONS {
                view.query(&RollupQuery {
                    limit: 10,
                    ..RollupQuery::new(dimension, from_ms, to_ms)
                })?;
            }
            viewed.push(started.elapsed());
        }
        let p50 = |times: &mut Vec<Duration>| {
            times.sort();
            times
                .get(times.len() / 2)
                .copied()
                .unwrap_or_default()
                .as_secs_f64()
                * 1000.0
        };
        println!(
            "{label}: the 9 dimensions (top 10 each) p50 {:.1} ms one by one, {:.1} ms through one view",
            p50(&mut times),
            p50(&mut viewed)
        );
    }
    Ok(())
}
