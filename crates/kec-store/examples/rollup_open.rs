//! Opens an existing data directory and prints how long the open took (the rollups are
//! rebuilt from the committed index then) and what the rollups hold:
//! `cargo run --release -p kec-store --example rollup_open -- <data-dir>`.

use std::time::Instant;

use kec_store::{EmbeddedStore, StoreConfig};

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
    Ok(())
}
