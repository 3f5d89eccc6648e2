//! `kec bench eventer`: the eventer on the fake API server, as a separate `kec eventer` process
//! (so its memory is its own), delivering to an in-process center.
//!
//! 1. **Relist throughput**: N live Events exist before the eventer starts; the time from its
//!    start until the center holds all N occurrences gives events/s through LIST, routing,
//!    enrichment, the center sink's spool and the center's ingest.
//! 2. **RSS** of the eventer process after that relist (VmRSS, and the peak VmHWM).
//! 3. **Watch-to-searchable latency**: Events written one by one at a steady rate; each one's
//!    time from the write on the API server until a search of the center's store finds it
//!    (the store commits its index about once a second), p50 / p99 / max.

use std::net::SocketAddr;
use std::process::Stdio;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::Context;
use kec_store::EmbeddedStore;
use kec_testkit::{FakeApiServer, FakeApiServerConfig, InvolvedObject};
use tokio_util::sync::CancellationToken;

use crate::ServerArgs;
use crate::bench::percentile;

#[derive(Debug, clap::Args)]
pub struct EventerBenchArgs {
    /// Live Events on the API server when the eventer starts (the relist).
    #[arg(long, default_value_t = 100_000)]
    events: usize,
    /// Events written one by one afterwards, for the latency figures.
    #[arg(long, default_value_t = 200)]
    latency_events: usize,
    /// Rate of those writes, per second.
    #[arg(long, default_value_t = 50)]
    latency_rate: u32,
}

const CLUSTER: &str = "bench";

/// Occurrences the center holds for the bench cluster.
fn stored(store: &EmbeddedStore) -> u64 {
    store
        .clusters()
        .ok()
        .and_then(|clusters| clusters.into_iter().find(|info| info.name == CLUSTER))
        .map_or(0, |info| info.occurrences.max(0) as u64)
}

/// Records a search finds in a namespace (what the index has committed).
fn searchable(store: &EmbeddedStore, namespace: &str) -> u64 {
    let filter = kec_store::Filter {
        terms: vec![kec_store::TermFilter {
            field: kec_store::Field::Namespace,
            values: vec![namespace.to_string()],
            negate: false,
        }],
        ..kec_store::Filter::default()
    };
    let request = kec_store::SearchRequest {
        with_totals: true,
        ..kec_store::SearchRequest::newest(filter, 1)
    };
    store
        .search(&request)
        .ok()
        .and_then(|page| page.total_records)
        .unwrap_or(0)
}

/// The eventer's `kec_eventer_events_received_total` (0 until it answers).
async fn received(client: &reqwest::Client, url: &str) -> u64 {
    let Ok(response) = client.get(url).send().await else {
        return 0;
    };
    let text = response.text().await.unwrap_or_default();
    text.lines()
        .find_map(|line| line.strip_prefix("kec_eventer_events_received_total "))
        .and_then(|value| value.trim().parse().ok())
        .unwrap_or(0)
}

pub async fn run(args: EventerBenchArgs) -> anyhow::Result<()> {
    let api = FakeApiServer::start(FakeApiServerConfig {
        startup_events: false,
        watch_history_size: args.events + args.latency_events + 10_000,
        ..FakeApiServerConfig::default()
    })
    .await
    .context("cannot start the fake API server")?;
    let handle = api.handle();
    eprintln!("creating {} Events on the fake API server ...", args.events);
    handle
        .generate_events("bench", args.events)
        .context("cannot create the Events")?;

    let center_dir = tempfile::tempdir().context("cannot create the center's directory")?;
    let server_args = ServerArgs {
        listen: SocketAddr::from(([127, 0, 0, 1], 0)),
        data_dir: center_dir.path().to_path_buf(),
        retention_days: 90,
    };
    let server_stop = CancellationToken::new();
    let (listening_tx, listening_rx) = tokio::sync::oneshot::channel();
    let server = tokio::spawn(kec_server::serve(
        crate::server_config(&server_args),
        server_stop.clone(),
        move |address, state| {
            let _receiver_gone = listening_tx.send((address, state.store.clone()));
        },
    ));
    let (address, store): (SocketAddr, Arc<EmbeddedStore>) =
        listening_rx.await.context("the center did not start")?;

    let state_dir = tempfile::tempdir().context("cannot create the eventer's state directory")?;
    let exe = std::env::current_exe().context("cannot find the kec binary")?;
    let metrics_port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|listener| listener.local_addr())
        .map(|address| address.port())
        .context("cannot find a free port for the eventer's /metrics")?;
    let started = Instant::now();
    let mut eventer = tokio::process::Command::new(exe)
        .arg("eventer")
        .arg(format!(
            "--source=kubernetes:{}?inClusterConfig=false",
            api.url()
        ))
        .arg(format!("--sink=kec:http://{address}?cluster={CLUSTER}"))
        .arg("--state-dir")
        .arg(state_dir.path())
        .args(["--healthz-ip", "127.0.0.1", "--healthz-port"])
        .arg(metrics_port.to_string())
        // No kubeconfig: the plain URL is used.
        .env_remove("KUBECONFIG")
        .env("HOME", state_dir.path())
        .env("KEC_LOG", "warn")
        // As in deploy/eventer: mimalloc without transparent huge pages.
        .env("MIMALLOC_ALLOW_THP", "0")
        .stdin(Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .context("cannot start kec eventer")?;
    let pid = eventer.id().context("the eventer has no pid")?;
    eprintln!("eventer running (pid {pid}); waiting for the relist to reach the center ...");
    let metrics_url = format!("http://127.0.0.1:{metrics_port}/metrics");
    let client = kec_eventer::sinks::http::client(Duration::from_secs(5))?;
    let mut received_all = None;
    let deadline = Instant::now() + Duration::from_secs(600);
    while stored(&store) < args.events as u64 {
        if received_all.is_none() && received(&client, &metrics_url).await >= args.events as u64 {
            received_all = Some(started.elapsed());
        }
        if Instant::now() > deadline {
            anyhow::bail!(
                "the center holds {} of {} occurrences after 10 minutes; see the eventer's log",
                stored(&store),
                args.events
            );
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let relist = started.elapsed();
    let received_all = received_all.unwrap_or(relist);
    let (rss_kib, hwm_kib) = crate::bench_npd::memory_kib(pid).unwrap_or((0, 0));

    eprintln!(
        "writing {} Events at {}/s for the latency figures ...",
        args.latency_events, args.latency_rate
    );
    let recorder = handle.event_recorder("kubelet", "node-1");
    let interval = Duration::from_secs_f64(1.0 / f64::from(args.latency_rate.max(1)));
    let mut written = Vec::with_capacity(args.latency_events);
    let mut seen = vec![None; args.latency_events];
    let mut next_write = Instant::now();
    while seen.last().is_some_and(Option::is_none) {
        let now = Instant::now();
        if written.len() < args.latency_events && now >= next_write {
            let index = written.len();
            recorder
                .record(
                    &InvolvedObject::new("Pod", "latency", &format!("pod-{index}")),
                    "Warning",
                    "BackOff",
                    "Back-off restarting failed container",
                )
                .context("cannot write an Event")?;
            written.push(Instant::now());
            next_write += interval;
        }
        let count = searchable(&store, "latency") as usize;
        let now = Instant::now();
        for slot in seen.iter_mut().take(count.min(written.len())) {
            slot.get_or_insert(now);
        }
        if now.duration_since(*written.first().unwrap_or(&now)) > Duration::from_secs(300) {
            anyhow::bail!("latency Events did not all reach the center within 5 minutes");
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    let mut latencies: Vec<Duration> = written
        .iter()
        .zip(&seen)
        .filter_map(|(write, seen)| Some(seen.as_ref()?.duration_since(*write)))
        .collect();
    latencies.sort();

    let _ = eventer.start_kill();
    let _ = eventer.wait().await;
    server_stop.cancel();
    let _ = server.await;
    api.shutdown().await;

    let rate = args.events as f64 / relist.as_secs_f64();
    println!(
        "kec bench eventer: {} live Events relisted through the eventer into the center",
        args.events
    );
    println!(
        "  relist to center: {:.2} s, {rate:.0} events/s (target >= 50000); the eventer had read all of them after {:.2} s ({:.0} events/s)",
        relist.as_secs_f64(),
        received_all.as_secs_f64(),
        args.events as f64 / received_all.as_secs_f64()
    );
    println!(
        "  eventer RSS after the relist: {:.1} MiB, peak {:.1} MiB (target <= 40)",
        rss_kib as f64 / 1024.0,
        hwm_kib as f64 / 1024.0
    );
    println!(
        "  watch-to-searchable latency over {} Events at {}/s: p50 {} ms, p99 {} ms, max {} ms (target p99 <= 2000)",
        latencies.len(),
        args.latency_rate,
        percentile(&latencies, 0.5).as_millis(),
        percentile(&latencies, 0.99).as_millis(),
        latencies.last().copied().unwrap_or_default().as_millis()
    );
    Ok(())
}
