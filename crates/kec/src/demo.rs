//! `kec demo`: the center on the embedded store plus a simulated cluster that plays realistic
//! incidents through the real ingest API, so a newcomer sees everything in one command.

use std::path::PathBuf;
use std::time::Duration;

use anyhow::Context;
use kec_sim::demo::DemoCluster;
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
        move |address, _| {
            let _receiver_gone = address_tx.send(address);
        },
    ));
    let address = match address_rx.await {
        Ok(address) => address,
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
    /// Ground truth: what the simulated cluster produced.
    produced: u64,
    /// What the center's ingest API answered it added.
    acknowledged: u64,
}

/// Plays the simulated cluster into the center until `stop`.
async fn play(
    seed: u64,
    history_hours: u32,
    base: String,
    stop: CancellationToken,
) -> anyhow::Result<Played> {
    let client = reqwest::Client::builder()
        .timeout(Duration::from_secs(30))
        .build()?;
    let start_ms = kec_model::time::now_ms() - i64::from(history_hours) * 3_600_000;
    let mut cluster = DemoCluster::new(seed, start_ms);
    let url = format!("{base}/api/v1/clusters/{}/events", cluster.cluster_name());
    // The history is played a simulated minute at a time to keep memory low.
    let mut simulated_ms = start_ms;
    let mut acknowledged = 0u64;
    loop {
        let now = kec_model::time::now_ms();
        simulated_ms = (simulated_ms + 60_000).min(now);
        let frames = cluster.advance_to(simulated_ms);
        for chunk in frames.chunks(2000) {
            let mut body = Vec::with_capacity(chunk.len() * 800);
            for frame in chunk {
                serde_json::to_writer(&mut body, frame)?;
                body.push(b'\n');
            }
            match send_with_retry(&client, &url, body, &stop).await? {
                Some(occurrences) => acknowledged += occurrences,
                None => {
                    return Ok(Played {
                        produced: cluster.occurrences_produced(),
                        acknowledged,
                    });
                }
            }
        }
        if stop.is_cancelled() {
            return Ok(Played {
                produced: cluster.occurrences_produced(),
                acknowledged,
            });
        }
        if simulated_ms < now {
            continue; // still catching up on history
        }
        tokio::select! {
            _ = stop.cancelled() => return Ok(Played { produced: cluster.occurrences_produced(), acknowledged }),
            _ = tokio::time::sleep(Duration::from_secs(1)) => {}
        }
    }
}

/// Sends one batch until the center takes it; returns the occurrences it added, or `None` when
/// stopped before it could be delivered.
async fn send_with_retry(
    client: &reqwest::Client,
    url: &str,
    body: Vec<u8>,
    stop: &CancellationToken,
) -> anyhow::Result<Option<u64>> {
    let mut delay = Duration::from_millis(200);
    loop {
        let result = client
            .post(url)
            .header("content-type", "application/x-ndjson")
            .body(body.clone())
            .send()
            .await;
        match result {
            Ok(response) if response.status().is_success() => {
                let answer: serde_json::Value = response.json().await?;
                if let Some(rejected) = answer["rejected"].as_array().filter(|r| !r.is_empty()) {
                    anyhow::bail!("the center rejected demo events: {rejected:?}");
                }
                return Ok(answer["occurrences"].as_u64());
            }
            Ok(response) if response.status().is_client_error() => {
                let status = response.status();
                let text = response.text().await.unwrap_or_default();
                anyhow::bail!("the center refused the demo's batch ({status}): {text}");
            }
            Ok(response) => tracing::warn!(status = %response.status(), "ingest failed; retrying"),
            Err(error) => tracing::warn!(%error, "ingest failed; retrying"),
        }
        tokio::select! {
            _ = stop.cancelled() => return Ok(None),
            _ = tokio::time::sleep(delay) => {}
        }
        delay = (delay * 2).min(Duration::from_secs(5));
    }
}
