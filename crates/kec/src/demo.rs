//! `kec demo`: the center on the embedded store plus a simulated cluster, so a newcomer sees
//! everything in one command. The simulation plays realistic incidents into a fake Kubernetes
//! API server (kec-testkit's, the one the tests use), and a real `kec eventer` watches it and
//! delivers to the center: the demo exercises the real collection path.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use kec_eventer::{
    CenterSinkConfig, EventerConfig, KubeConnection, KubernetesSourceConfig, SinkConfig,
};
use kec_sim::demo::DemoCluster;
use kec_store::EmbeddedStore;
use kec_testkit::{FakeApiServer, FakeApiServerConfig};
use tokio_util::sync::CancellationToken;

use crate::{ServerArgs, server_config, shutdown_on_signals};

/// Options of `kec demo`.
#[derive(Debug, clap::Args)]
pub struct DemoArgs {
    /// Address to listen on.
    #[arg(long, default_value = "127.0.0.1:8080")]
    listen: std::net::SocketAddr,
    /// Keep the store here (default: a temporary directory removed on exit).
    #[arg(long)]
    data_dir: Option<PathBuf>,
    /// Seed of the simulation: the same seed plays the same incidents.
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// Hours of history to play at start, so charts have something to show.
    #[arg(long, default_value_t = 6, value_parser = clap::value_parser!(u32).range(0..=72))]
    history_hours: u32,
    /// Stop after this many seconds of live play (default: run until Ctrl-C).
    #[arg(long)]
    duration_seconds: Option<u64>,
}

pub async fn run(args: DemoArgs) -> anyhow::Result<()> {
    let temp_dir;
    let data_dir = match &args.data_dir {
        Some(dir) => dir.clone(),
        None => {
            temp_dir = tempfile::Builder::new()
                .prefix("kec-demo-")
                .tempdir()
                .context(
                    "cannot create a temporary directory for the demo store; pass --data-dir",
                )?;
            temp_dir.path().to_path_buf()
        }
    };
    let server_args = ServerArgs {
        listen: args.listen,
        data_dir: data_dir.clone(),
        retention_days: 90,
    };
    let shutdown = shutdown_on_signals();
    if let Some(seconds) = args.duration_seconds {
        let stop = shutdown.clone();
        tokio::spawn(async move {
            tokio::time::sleep(Duration::from_secs(seconds)).await;
            stop.cancel();
        });
    }
    // The server stops only after the simulated cluster has delivered its last batch.
    let server_stop = CancellationToken::new();
    let (address_tx, address_rx) = tokio::sync::oneshot::channel();
    let server = tokio::spawn(kec_server::serve(
        server_config(&server_args),
        server_stop.clone(),
        move |address, state| {
            let _receiver_gone = address_tx.send((address, state.store.clone()));
        },
    ));
    let (address, store) = match address_rx.await {
        Ok(listening) => listening,
        Err(_) => {
            return match server.await {
                Ok(Err(error)) => Err(error).context(
                    "the demo's server could not start; is the port free? try --listen 127.0.0.1:0",
                ),
                _ => Err(anyhow::anyhow!(
                    "the demo's server stopped before it listened"
                )),
            };
        }
    };
    let base = format!("http://{address}");
    let player = tokio::spawn(play(
        args.seed,
        args.history_hours,
        base.clone(),
        store,
        shutdown.clone(),
    ));
    println!("kec demo is running: open {base}/events");
    println!("  store: {}", data_dir.display());
    println!(
        "  look at: Warning events (a crash-looping pod in `shop`, OOM kills, a node going NotReady \
         with evictions), then expand a row to see the raw Event; Ctrl-C stops the demo"
    );
    let played = player
        .await
        .context("the demo cluster stopped unexpectedly")?;
    server_stop.cancel();
    server.await.context("the demo's server task failed")??;
    let played = played?;
    println!(
        "demo stopped: the simulated cluster produced {} occurrences; the center acknowledged {}",
        played.produced, played.acknowledged
    );
    Ok(())
}

/// Occurrence totals of a demo run.
struct Played {
    /// Ground truth: what the simulated cluster's API server was given.
    produced: u64,
    /// What the center's store holds for the demo cluster, delivered by the eventer.
    acknowledged: u64,
}

/// Plays the simulated cluster into a fake Kubernetes API server and runs a real `kec
/// eventer` against it, delivering to the center at `base`, until `stop`.
async fn play(
    seed: u64,
    history_hours: u32,
    base: String,
    store: Arc<EmbeddedStore>,
    stop: CancellationToken,
) -> anyhow::Result<Played> {
    let start_ms = kec_model::time::now_ms() - i64::from(history_hours) * 3_600_000;
    let mut cluster = DemoCluster::new(seed, start_ms);
    let api = FakeApiServer::start(FakeApiServerConfig {
        // The simulation is the whole cluster: no control-plane Events of the fake's own.
        startup_events: false,
        // Loading hours of history at once writes tens of thousands of changes.
        watch_history_size: 200_000,
        ..FakeApiServerConfig::default()
    })
    .await
    .context("cannot start the demo's simulated API server")?;
    let handle = api.handle();
    let state_dir = tempfile::Builder::new()
        .prefix("kec-demo-eventer-")
        .tempdir()
        .context("cannot create the demo eventer's state directory")?;
    let source = KubernetesSourceConfig {
        connection: KubeConnection::Url {
            server_url: api.url(),
        },
        ..KubernetesSourceConfig::default()
    };
    let center = CenterSinkConfig::new(&base, cluster.cluster_name());
    let mut config = EventerConfig::new(source, vec![SinkConfig::Center(center)]);
    config.state_dir = state_dir.path().to_path_buf();
    let eventer = config
        .build()
        .await
        .context("the demo's eventer could not start")?;
    // The history goes in a simulated minute at a time, to keep memory low.
    let mut simulated_ms = start_ms;
    loop {
        let now = kec_model::time::now_ms();
        simulated_ms = (simulated_ms + 60_000).min(now);
        let frames = cluster.advance_to(simulated_ms);
        handle
            .load_watch_frames(&frames)
            .context("the simulated API server refused the demo's objects")?;
        if stop.is_cancelled() {
            break;
        }
        if simulated_ms < now {
            continue; // still catching up on history
        }
        tokio::select! {
            () = stop.cancelled() => break,
            () = tokio::time::sleep(Duration::from_secs(1)) => {}
        }
    }
    let produced = handle.total_occurrences();
    let delivered = || {
        store
            .clusters()
            .ok()
            .and_then(|clusters| {
                clusters
                    .into_iter()
                    .find(|info| info.name == cluster.cluster_name())
            })
            .map_or(0, |info| info.occurrences.max(0) as u64)
    };
    // Give the eventer a moment to deliver what was written last.
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    while delivered() < produced && tokio::time::Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    eventer.shutdown().await;
    api.shutdown().await;
    Ok(Played {
        produced,
        acknowledged: delivered(),
    })
}
