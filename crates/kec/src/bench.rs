//! `kec bench store`: the storage benchmark of docs/BENCHMARKS.md.
//! `kec bench ui`: the same load, then the web UI's pages timed through the server's router
//! (the overview's panels together; the details page's table, which is its first result, and
//! its facets and histogram panels, each timed alone as the browser loads them).
//!
//! Generates synthetic observations (kec-sim's `synthetic`: zipf namespaces, ~40 reasons,
//! ~15 % Warning, ~200k objects over 7 days), ingests them through the store's real write path
//! (ledger, WAL with fsync per batch, tantivy), then times six queries.

use std::path::PathBuf;
use std::time::{Duration, Instant};

use anyhow::Context;
use kec_model::time::DAY_MS;
use kec_sim::synthetic::{SyntheticConfig, SyntheticLoad};
use kec_store::{AggregateRequest, EmbeddedStore, Field, Filter, SearchRequest, StoreConfig};

#[derive(Debug, clap::Subcommand)]
pub enum BenchCommand {
    /// Ingest N synthetic events into a fresh embedded store, then time the standard queries.
    Store(StoreBenchArgs),
    /// Log lines per second through a monitor's rules, then the RSS and CPU of `kec npd`.
    Npd(crate::bench_npd::NpdBenchArgs),
    /// Ingest N synthetic events, then time the UI's overview and details pages.
    Ui(StoreBenchArgs),
    /// A `kec eventer` process on the fake API server: relist rate into the center, its RSS,
    /// and watch-to-searchable latency.
    Eventer(crate::bench_eventer::EventerBenchArgs),
}

#[derive(Debug, clap::Args)]
pub struct StoreBenchArgs {
    /// Events to generate and ingest.
    #[arg(long, default_value_t = 1_000_000)]
    events: u64,
    /// Distinct involved objects.
    #[arg(long, default_value_t = 200_000)]
    objects: u64,
    /// Days the events span (ending 2026-11-25T00:00:00Z).
    #[arg(long, default_value_t = 7)]
    days: u32,
    /// Observations per ingest batch (one WAL fsync each).
    #[arg(long, default_value_t = 5_000)]
    batch: usize,
    /// Runs of each query.
    #[arg(long, default_value_t = 50)]
    runs: usize,
    /// Indexing threads of the store's writer.
    #[arg(long, default_value_t = 1)]
    writer_threads: usize,
    /// Store directory (default: a temporary directory, removed afterwards).
    #[arg(long)]
    data_dir: Option<PathBuf>,
    /// Random seed of the synthetic load.
    #[arg(long, default_value_t = 1)]
    seed: u64,
}

pub async fn run(command: BenchCommand) -> anyhow::Result<()> {
    match command {
        BenchCommand::Store(args) => tokio::task::spawn_blocking(move || store_bench(args))
            .await
            .context("the benchmark thread failed")?,
        BenchCommand::Npd(args) => crate::bench_npd::run(args).await,
        BenchCommand::Ui(args) => ui_bench(args).await,
        BenchCommand::Eventer(args) => crate::bench_eventer::run(args).await,
    }
}

/// A loaded benchmark store (its temporary directory lives as long as it does).
struct Loaded {
    store: EmbeddedStore,
    end_ms: i64,
    load: SyntheticLoad,
    _temp_dir: Option<tempfile::TempDir>,
}

async fn ui_bench(args: StoreBenchArgs) -> anyhow::Result<()> {
    let runs = args.runs;
    let loaded = tokio::task::spawn_blocking(move || load_store(&args, "ui"))
        .await
        .context("the benchmark thread failed")??;
    let end_ms = loaded.end_ms;
    let state = kec_server::AppState::new(std::sync::Arc::new(loaded.store));
    let iso = |ms: i64| {
        jiff::Timestamp::from_millisecond(ms)
            .map(|ts| ts.to_string())
            .unwrap_or_default()
    };
    let (day_ago, six_hours_ago, end) = (
        iso(end_ms - DAY_MS),
        iso(end_ms - 6 * 3_600_000),
        iso(end_ms),
    );
    /// How far the ragged ranges sit from whole hours (17 min 23 s).
    const RAGGED_MS: i64 = 1_043_000;
    let pages = [
        (
            "overview, all clusters, 24 h (7 panels, 1 round trip)",
            format!("/overview?from={day_ago}&to={end}"),
        ),
        (
            "overview, all clusters, 6 h",
            format!("/overview?from={six_hours_ago}&to={end}"),
        ),
        (
            "overview, all clusters, 7 d",
            format!("/overview?from={}&to={end}", iso(end_ms - 7 * DAY_MS)),
        ),
        // A live range ("the last 24 hours" asked at 23:42:37) starts and ends inside an hour:
        // the rollups answer the whole hours and the index the two partial ones.
        (
            "overview, all clusters, 24 h not on whole hours",
            format!(
                "/overview?from={}&to={}",
                iso(end_ms - DAY_MS - RAGGED_MS),
                iso(end_ms - RAGGED_MS)
            ),
        ),
        (
            "overview, all clusters, 7 d not on whole hours",
            format!(
                "/overview?from={}&to={}",
                iso(end_ms - 7 * DAY_MS - RAGGED_MS),
                iso(end_ms - RAGGED_MS)
            ),
        ),
        (
            "details first result: table only (API, 50 rows + totals), 24 h",
            format!("/api/v1/events?limit=50&from={day_ago}&to={end}"),
        ),
        (
            "details first result: table panel (50 rows + exact totals), 24 h",
            format!("/events/results?from={day_ago}&to={end}"),
        ),
        (
            "details facets panel (7 facets, exact, one pass), 24 h",
            format!("/events/facets?from={day_ago}&to={end}"),
        ),
        (
            "details histogram panel, 24 h",
            format!("/events/histogram?from={day_ago}&to={end}"),
        ),
        (
            "details: one row opened (its raw Event), 24 h",
            String::new(),
        ),
        (
            "details first result: whole page (form + table), 24 h",
            format!("/events?from={day_ago}&to={end}"),
        ),
        (
            "details table, q=type:Warning reason:BackOff, 24 h",
            format!("/events/results?q=type%3AWarning%20reason%3ABackOff&from={day_ago}&to={end}"),
        ),
        (
            "details facets, q=type:Warning reason:BackOff, 24 h",
            format!("/events/facets?q=type%3AWarning%20reason%3ABackOff&from={day_ago}&to={end}"),
        ),
        (
            "details table, q=\"back-off\" -namespace:kube-system, 24 h",
            format!(
                "/events/results?q=%22back-off%22%20-namespace%3Akube-system&from={day_ago}&to={end}"
            ),
        ),
        ("clusters page", "/clusters".to_string()),
        (
            "nodes page, 24 h",
            format!("/nodes?from={day_ago}&to={end}"),
        ),
    ];
    // The row a user opens: the newest of the 24 h table.
    let newest = state
        .with_store(move |store| {
            store.search_events(&kec_store::EventPageRequest {
                search: kec_store::EventSearch {
                    // Every record: the empty filter's search.
                    search: kec_store::Filter::default().to_expr(),
                    cluster: None,
                    from_ms: end_ms - DAY_MS,
                    to_ms: end_ms,
                    now_ms: end_ms,
                },
                limit: 1,
                cursor: None,
                with_totals: false,
            })
        })
        .await
        .map_err(|error| anyhow::anyhow!("the newest record: {error}"))?;
    let record_uri = newest
        .records
        .first()
        .map(|record| format!("/events/record?t={}&seq={}", record.time_ms, record.seq))
        .context("the 24 h window holds no record")?;
    for (name, uri) in pages {
        let uri = if uri.is_empty() {
            record_uri.clone()
        } else {
            uri
        };
        let mut durations = Vec::with_capacity(runs);
        let mut bytes = 0;
        for _ in 0..runs.max(1) {
            let started = Instant::now();
            let (status, size) = kec_server::ui::get_page(&state, &uri)
                .await
                .map_err(|error| anyhow::anyhow!("{uri}: {error}"))?;
            durations.push(started.elapsed());
            anyhow::ensure!(status.is_success(), "{uri} answered {status}");
            bytes = size;
        }
        durations.sort_unstable();
        println!(
            "{name:<62} p50 {:>9.3} ms   p99 {:>9.3} ms   {bytes} bytes",
            percentile(&durations, 0.5).as_secs_f64() * 1000.0,
            percentile(&durations, 0.99).as_secs_f64() * 1000.0,
        );
    }
    drop(loaded.load);
    Ok(())
}

/// Peak resident set size of this process, from /proc (Linux), in bytes.
fn peak_rss_bytes() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|line| line.starts_with("VmHWM:"))?;
    let kib: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kib * 1024)
}

/// The value at `fraction` (0.5 = median) of a sorted list, rounded to the nearest rank.
pub(crate) fn percentile(sorted: &[Duration], fraction: f64) -> Duration {
    if sorted.is_empty() {
        return Duration::ZERO;
    }
    let index = ((sorted.len() as f64 - 1.0) * fraction).round() as usize;
    sorted[index.min(sorted.len() - 1)]
}

fn time_query(
    name: &str,
    runs: usize,
    mut query: impl FnMut(usize) -> kec_store::Result<usize>,
) -> anyhow::Result<()> {
    let mut durations = Vec::with_capacity(runs);
    let mut rows = 0;
    for run in 0..runs.max(1) {
        let started = Instant::now();
        rows = query(run)?;
        durations.push(started.elapsed());
    }
    durations.sort_unstable();
    println!(
        "{name:<44} p50 {:>9.3} ms   p99 {:>9.3} ms   rows {rows}",
        percentile(&durations, 0.5).as_secs_f64() * 1000.0,
        percentile(&durations, 0.99).as_secs_f64() * 1000.0,
    );
    Ok(())
}

/// Generates and ingests the synthetic load, reopens the store and prints the ingest figures.
fn load_store(args: &StoreBenchArgs, what: &str) -> anyhow::Result<Loaded> {
    let mut temp_dir = None;
    let data_dir = match &args.data_dir {
        Some(dir) => dir.clone(),
        None => {
            let dir = tempfile::Builder::new().prefix("kec-bench-").tempdir()?;
            let path = dir.path().to_path_buf();
            temp_dir = Some(dir);
            path
        }
    };
    let synthetic = SyntheticConfig {
        events: args.events,
        objects: args.objects,
        days: args.days,
        seed: args.seed,
        ..SyntheticConfig::default()
    };
    let end_ms = synthetic.end_ms;
    let mut load = SyntheticLoad::new(synthetic);
    let mut config = StoreConfig::new(&data_dir);
    config.writer_threads = args.writer_threads;
    config.writer_memory_bytes = 64 * 1024 * 1024 * args.writer_threads.max(1);
    let store = EmbeddedStore::open(config).context("cannot open the benchmark store")?;

    println!(
        "kec bench {what}: {} events, {} objects, {} days, batch {}, {} writer thread(s), store {}",
        args.events,
        args.objects,
        args.days,
        args.batch,
        args.writer_threads,
        data_dir.display()
    );
    let mut ingest_time = Duration::ZERO;
    let mut generated = 0u64;
    let mut stored = 0u64;
    let mut occurrences = 0i64;
    let mut last_commit = Instant::now();
    let mut last_report = Instant::now();
    // The clock follows the load, as if the events arrived live: the ledger forgets Event
    // objects a day after their last observation, as it does in a running server.
    let mut clock_ms = 0;
    let wall_started = Instant::now();
    while let Some(batch) = load.next_batch(args.batch) {
        generated += batch.len() as u64;
        clock_ms = batch
            .iter()
            .map(|record| record.time_ms)
            .max()
            .unwrap_or(clock_ms)
            .max(clock_ms);
        let started = Instant::now();
        let outcome = store.ingest(batch, clock_ms)?;
        if last_commit.elapsed() >= Duration::from_secs(1) {
            store.commit(clock_ms)?;
            last_commit = Instant::now();
        }
        ingest_time += started.elapsed();
        stored += outcome.accepted;
        occurrences += outcome.occurrences;
        anyhow::ensure!(
            outcome.rejected.is_empty(),
            "the store rejected synthetic events: {:?}",
            &outcome.rejected[..1]
        );
        if last_report.elapsed() >= Duration::from_secs(5) {
            eprintln!(
                "  ingested {generated}/{} ({:.0} events/s so far)",
                args.events,
                generated as f64 / ingest_time.as_secs_f64()
            );
            last_report = Instant::now();
        }
    }
    let started = Instant::now();
    store.commit(clock_ms)?;
    ingest_time += started.elapsed();
    // Let segment merges finish, as they would in a running server, before measuring size.
    store.close(clock_ms)?;
    drop(store);
    let store = EmbeddedStore::open(StoreConfig::new(&data_dir))?;
    let stats = store.stats()?;
    let wall = wall_started.elapsed();
    println!(
        "ingest: {generated} observations ({stored} stored, {occurrences} occurrences) in {:.1} s \
         inside the store's ingest and commit calls = {:.0} events/s",
        ingest_time.as_secs_f64(),
        generated as f64 / ingest_time.as_secs_f64()
    );
    println!(
        "wall clock including generating the load on the same cores: {:.1} s = {:.0} events/s",
        wall.as_secs_f64(),
        generated as f64 / wall.as_secs_f64()
    );
    println!(
        "disk: {} bytes for {} records = {:.1} bytes/event ({} day partitions)",
        stats.bytes_on_disk,
        stats.records,
        stats.bytes_on_disk as f64 / stats.records.max(1) as f64,
        stats.partitions
    );
    if let Some(rss) = peak_rss_bytes() {
        println!("peak RSS: {:.1} MiB", rss as f64 / 1_048_576.0);
    }
    Ok(Loaded {
        store,
        end_ms,
        load,
        _temp_dir: temp_dir,
    })
}

fn store_bench(args: StoreBenchArgs) -> anyhow::Result<()> {
    let Loaded {
        store,
        end_ms,
        load,
        _temp_dir,
    } = load_store(&args, "store")?;
    let (namespace, kind, name) = load.busy_object();
    let word = load.rare_message_word();
    let day_ago = end_ms - DAY_MS;
    let week_ago = end_ms - 7 * DAY_MS;
    let reasons = [
        "BackOff",
        "Unhealthy",
        "FailedScheduling",
        "Pulled",
        "Started",
    ];
    let namespaces: Vec<String> = store
        .aggregate(&AggregateRequest {
            filter: Filter::default(),
            group_by: Some(Field::Namespace),
            bucket_ms: None,
            limit: 5,
        })?
        .into_iter()
        .filter_map(|row| row.group)
        .collect();
    anyhow::ensure!(!namespaces.is_empty(), "the benchmark store is empty");

    time_query("pod timeline, points from columns", args.runs, |_| {
        Ok(store
            .timeline_points("bench", &namespace, &kind, &name, 10_000)?
            .len())
    })?;
    time_query("pod timeline, 100 newest full records", args.runs, |_| {
        let filter = Filter::default()
            .with(Field::Cluster, "bench")
            .with(Field::Namespace, namespace.clone())
            .with(Field::Kind, kind.clone())
            .with(Field::Name, name.clone());
        Ok(store
            .search(&SearchRequest::newest(filter, 100))?
            .records
            .len())
    })?;
    time_query(
        "pod timeline, all full records (max 10k)",
        args.runs.min(5),
        |_| {
            Ok(store
                .timeline("bench", &namespace, &kind, &name, 10_000)?
                .len())
        },
    )?;
    time_query("message word, last 24 h, newest 100", args.runs, |_| {
        let filter = Filter {
            text: Some(word.to_string()),
            ..Filter::default()
        }
        .between(day_ago, end_ms);
        Ok(store
            .search(&SearchRequest::newest(filter, 100))?
            .records
            .len())
    })?;
    time_query("Warning occurrences by reason, 24 h", args.runs, |_| {
        let filter = Filter::default()
            .with(Field::Type, "Warning")
            .between(day_ago, end_ms);
        Ok(store
            .aggregate(&AggregateRequest {
                filter,
                group_by: Some(Field::Reason),
                bucket_ms: None,
                limit: 0,
            })?
            .len())
    })?;
    time_query("5-minute histogram by type, 24 h", args.runs, |_| {
        let filter = Filter::default().between(day_ago, end_ms);
        Ok(store
            .aggregate(&AggregateRequest {
                filter,
                group_by: Some(Field::Type),
                bucket_ms: Some(300_000),
                limit: 0,
            })?
            .len())
    })?;
    time_query("namespace + reason, 7 d, newest 50", args.runs, |run| {
        let filter = Filter::default()
            .with(Field::Namespace, namespaces[run % namespaces.len()].clone())
            .with(Field::Reason, reasons[run % reasons.len()])
            .between(week_ago, end_ms);
        Ok(store
            .search(&SearchRequest::newest(filter, 50))?
            .records
            .len())
    })?;
    time_query(
        "top namespaces by Warning occurrences, 7 d",
        args.runs,
        |_| {
            let filter = Filter::default()
                .with(Field::Type, "Warning")
                .between(week_ago, end_ms);
            Ok(store
                .aggregate(&AggregateRequest {
                    filter,
                    group_by: Some(Field::Namespace),
                    bucket_ms: None,
                    limit: 10,
                })?
                .len())
        },
    )?;
    if let Some(rss) = peak_rss_bytes() {
        println!(
            "peak RSS after queries: {:.1} MiB",
            rss as f64 / 1_048_576.0
        );
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percentiles_pick_from_the_sorted_list() {
        let sorted: Vec<Duration> = (1..=100).map(Duration::from_millis).collect();
        assert_eq!(percentile(&sorted, 0.5), Duration::from_millis(51));
        assert_eq!(percentile(&sorted, 0.99), Duration::from_millis(99));
        assert_eq!(percentile(&[], 0.99), Duration::ZERO);
    }
}
