//! `kec bench npd`: log lines per second per core through a system log monitor's rules
//! (kec-npd's [`kec_npd::bench_lines`]); the footprint of the running agent with the default
//! configs (resident memory and CPU, sampled from /proc while it idles); then, with the agent
//! reporting to kec-testkit's fake API server and reading its kernel log from a pipe, the time
//! from a kernel log line to its Event on the API server and the agent's CPU use while fed
//! 1,000 lines of real kernel log a second.
//!
//! The agent is a separate process: the slim `kec-npd` binary next to this one when it was
//! built (what deploy/npd/daemonset.yaml runs), else `kec npd`.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use kec_npd::config::system_log::SystemLogConfig;
use kec_testkit::{FakeApiServer, FakeApiServerConfig};

#[derive(Debug, clap::Args)]
pub struct NpdBenchArgs {
    /// The system log monitor whose rules are timed.
    #[arg(long, default_value = "deploy/npd/config/kernel-monitor.json")]
    config: PathBuf,
    /// Log lines to feed, one per line; raw /dev/kmsg records (`prio,seq,usec,flags;message`)
    /// are reduced to their message. Cycled up to --lines.
    #[arg(long, default_value = "../shared/data/kmsg/kmsg.1.log")]
    log_file: PathBuf,
    /// Lines fed through the rules.
    #[arg(long, default_value_t = 2_000_000)]
    lines: u64,
    /// Directory of the default configs `kec npd` runs with for the footprint.
    #[arg(long, default_value = "deploy/npd/config")]
    config_dir: PathBuf,
    /// How long the footprint of `kec npd` is sampled; 0 skips it.
    #[arg(long, default_value_t = 20)]
    rss_seconds: u64,
    /// The agent program: default `kec-npd` beside this executable if it exists, else this
    /// executable's `npd` command; a program named `kec` is run as `kec npd`.
    #[arg(long)]
    agent: Option<PathBuf>,
    /// Kernel log lines timed from the pipe to their Event on the API server; 0 skips.
    /// At most 25: client-go's spam filter lets a source write 25 Events at once.
    #[arg(long, default_value_t = 20, value_parser = clap::value_parser!(u32).range(0..=25))]
    latency_runs: u32,
    /// How long the agent is fed real kernel log for the CPU measurement; 0 skips.
    #[arg(long, default_value_t = 20)]
    feed_seconds: u64,
    /// Kernel log lines per second fed for the CPU measurement.
    #[arg(long, default_value_t = 1000)]
    feed_rate: u32,
    /// What the agent reads its kmsg records from: a `pipe` (read as the /dev/kmsg device is,
    /// blocking) or a regular `file` (followed like `tail -f`, polled every 100 ms).
    #[arg(long, value_enum, default_value_t = KmsgSource::Pipe)]
    kmsg_source: KmsgSource,
}

/// See [`NpdBenchArgs::kmsg_source`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
enum KmsgSource {
    Pipe,
    File,
}

/// The program and leading arguments that start the agent.
fn agent_command(args: &NpdBenchArgs) -> anyhow::Result<tokio::process::Command> {
    let executable = std::env::current_exe().context("cannot find the kec executable")?;
    let slim = executable.with_file_name("kec-npd");
    let mut command = match &args.agent {
        // The full binary runs the agent as its `npd` command.
        Some(agent) if agent.file_name().is_some_and(|name| name == "kec") => {
            let mut command = tokio::process::Command::new(agent);
            command.arg("npd");
            command
        }
        Some(agent) => tokio::process::Command::new(agent),
        None if slim.is_file() => tokio::process::Command::new(slim),
        None => {
            let mut command = tokio::process::Command::new(executable);
            command.arg("npd");
            command
        }
    };
    command
        .env("KEC_LOG", "warn")
        // As deploy/npd/daemonset.yaml runs it: mimalloc's transparent huge pages would add
        // about 20 MiB of resident memory to an agent that needs a few, and freed start-up
        // memory would stay resident.
        .env("MIMALLOC_ALLOW_THP", "0")
        .env("MIMALLOC_PURGE_DELAY", "0")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .kill_on_drop(true);
    Ok(command)
}

fn describe(command: &tokio::process::Command) -> String {
    let std_command = command.as_std();
    std::iter::once(std_command.get_program())
        .chain(std_command.get_args().take(1).filter(|arg| *arg == "npd"))
        .map(|part| part.to_string_lossy().into_owned())
        .collect::<Vec<_>>()
        .join(" ")
}

fn log_messages(path: &Path) -> anyhow::Result<Vec<String>> {
    let text = std::fs::read_to_string(path)
        .with_context(|| format!("cannot read the log {}", path.display()))?;
    let messages: Vec<String> = text
        .lines()
        .map(|line| match line.split_once(';') {
            // A kmsg record: the header has no spaces.
            Some((header, message)) if !header.contains(' ') => message.to_string(),
            _ => line.to_string(),
        })
        .filter(|message| !message.is_empty())
        .collect();
    if messages.is_empty() {
        bail!("{} holds no log lines", path.display());
    }
    Ok(messages)
}

/// `VmRSS` and `VmHWM` of a process, in KiB.
pub(crate) fn memory_kib(pid: u32) -> Option<(u64, u64)> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let field = |name: &str| {
        status
            .lines()
            .find_map(|line| line.strip_prefix(name))
            .and_then(|rest| rest.split_whitespace().next())
            .and_then(|kib| kib.parse::<u64>().ok())
    };
    Some((field("VmRSS:")?, field("VmHWM:")?))
}

/// User + system CPU time of a process, in clock ticks (fields 14 and 15 of /proc/pid/stat).
fn cpu_ticks(pid: u32) -> Option<u64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // The command name may hold spaces; fields start after its closing parenthesis.
    let (_, rest) = stat.rsplit_once(')')?;
    let fields: Vec<&str> = rest.split_whitespace().collect();
    let user = fields.get(11)?.parse::<u64>().ok()?;
    let system = fields.get(12)?.parse::<u64>().ok()?;
    Some(user + system)
}

/// The default monitors: every system log config of `config_dir`, and its native checks.
fn default_monitor_flags(config_dir: &Path) -> anyhow::Result<Vec<String>> {
    let mut system_log = Vec::new();
    let mut native = Vec::new();
    let entries = std::fs::read_dir(config_dir)
        .with_context(|| format!("cannot read {}", config_dir.display()))?;
    for entry in entries {
        let path = entry?.path();
        if path.extension().and_then(|extension| extension.to_str()) != Some("json") {
            continue;
        }
        if path.file_name().and_then(|name| name.to_str()) == Some("native-checks.json") {
            native.push(path.display().to_string());
        } else {
            system_log.push(path.display().to_string());
        }
    }
    system_log.sort();
    let mut flags = vec![format!(
        "--config.system-log-monitor={}",
        system_log.join(",")
    )];
    if !native.is_empty() {
        flags.push(format!("--config.native-checks={}", native.join(",")));
    }
    Ok(flags)
}

async fn footprint(args: &NpdBenchArgs) -> anyhow::Result<()> {
    let state_dir = tempfile::Builder::new()
        .prefix("kec-bench-npd-")
        .tempdir()?;
    let mut command = agent_command(args)?;
    command
        .args(default_monitor_flags(&args.config_dir)?)
        .arg(format!("--state-dir={}", state_dir.path().display()))
        .arg("--hostname-override=bench-node")
        // An API server that never answers: the exporter and its client exist and keep
        // trying to read the Node, as on a node whose API server is down.
        .arg("--apiserver-override=http://127.0.0.1:9?inClusterConfig=false")
        .arg("--port=0")
        .arg("--prometheus-port=0");
    let agent = describe(&command);
    let mut child = command.spawn().context("cannot start kec npd")?;
    let pid = child.id().context("kec npd exited at once")?;
    // Let it start (configs, regexes, journalctl, first native checks) before sampling.
    tokio::time::sleep(Duration::from_secs(3)).await;
    let started = Instant::now();
    let ticks_at_start = cpu_ticks(pid).context("kec npd is not running")?;
    let mut max_rss_kib = 0;
    let mut hwm_kib = 0;
    while started.elapsed() < Duration::from_secs(args.rss_seconds) {
        if let Some((rss, hwm)) = memory_kib(pid) {
            max_rss_kib = max_rss_kib.max(rss);
            hwm_kib = hwm;
        } else {
            bail!("kec npd stopped during the measurement");
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    let ticks = cpu_ticks(pid).unwrap_or(ticks_at_start) - ticks_at_start;
    let seconds = started.elapsed().as_secs_f64();
    // Linux reports CPU time in USER_HZ ticks, 100 per second.
    let core_percent = ticks as f64 / 100.0 / seconds * 100.0;
    child.start_kill().ok();
    child.wait().await.ok();
    println!(
        "{agent}, default configs (MIMALLOC_ALLOW_THP=0 MIMALLOC_PURGE_DELAY=0), idle {seconds:.0} s: RSS max {:.1} MiB, peak (VmHWM) {:.1} MiB, CPU {core_percent:.2} % of a core",
        max_rss_kib as f64 / 1024.0,
        hwm_kib as f64 / 1024.0,
    );
    Ok(())
}

pub async fn run(args: NpdBenchArgs) -> anyhow::Result<()> {
    let config = SystemLogConfig::load(&args.config)
        .map_err(|error| anyhow::anyhow!("{error}"))
        .context("cannot load the monitor config")?;
    let messages = log_messages(&args.log_file)?;
    let total = args.lines;
    let report =
        tokio::task::spawn_blocking(move || kec_npd::bench_lines(&config, &messages, total))
            .await
            .context("the benchmark thread failed")?
            .map_err(|error| anyhow::anyhow!("{error}"))?;
    println!(
        "rules of {}: {} lines in {:.2} s = {:.0} lines/s on one core ({} statuses)",
        args.config.display(),
        report.lines,
        report.seconds,
        report.lines_per_second,
        report.statuses
    );
    if args.rss_seconds > 0 {
        footprint(&args).await?;
    }
    if args.latency_runs > 0 || args.feed_seconds > 0 {
        let messages = log_messages(&args.log_file)?;
        latency_and_cpu(&args, &messages).await?;
    }
    Ok(())
}

/// Writes /dev/kmsg records (`priority,sequence,microseconds,flags;message`) stamped with the
/// current uptime to the agent's kernel log pipe (or file).
struct KmsgPipe {
    pipe: std::fs::File,
    next_sequence: u64,
}

impl KmsgPipe {
    /// Creates the pipe. It is opened for reading and writing, so that neither this end nor
    /// the agent's blocks in open(2) and the agent never sees end-of-file.
    fn create(path: &Path, source: KmsgSource) -> anyhow::Result<KmsgPipe> {
        if source == KmsgSource::File {
            let file = std::fs::OpenOptions::new()
                .create_new(true)
                .append(true)
                .open(path)
                .with_context(|| format!("cannot create {}", path.display()))?;
            return Ok(KmsgPipe {
                pipe: file,
                next_sequence: 1,
            });
        }
        let status = std::process::Command::new("mkfifo")
            .arg(path)
            .status()
            .context("cannot run mkfifo")?;
        if !status.success() {
            bail!("mkfifo {} failed: {status}", path.display());
        }
        let pipe = std::fs::OpenOptions::new()
            .read(true)
            .write(true)
            .open(path)
            .with_context(|| format!("cannot open the pipe {}", path.display()))?;
        Ok(KmsgPipe {
            pipe,
            next_sequence: 1,
        })
    }

    fn uptime_us() -> anyhow::Result<u64> {
        let text = std::fs::read_to_string("/proc/uptime").context("cannot read /proc/uptime")?;
        let seconds: f64 = text
            .split_whitespace()
            .next()
            .and_then(|field| field.parse().ok())
            .context("cannot parse /proc/uptime")?;
        Ok((seconds * 1e6) as u64)
    }

    /// Writes the messages as records in one write.
    fn write(&mut self, messages: &[&str]) -> anyhow::Result<()> {
        let usec = KmsgPipe::uptime_us()?;
        let mut records = String::new();
        for message in messages {
            records.push_str(&format!("6,{},{usec},-;{message}\n", self.next_sequence));
            self.next_sequence += 1;
        }
        self.pipe
            .write_all(records.as_bytes())
            .context("cannot write to the kernel log pipe")
    }
}

/// The `percent`th percentile of sorted values (nearest rank).
fn percentile(sorted: &[Duration], percent: usize) -> Duration {
    let rank = (sorted.len() * percent).div_ceil(100).max(1);
    sorted.get(rank - 1).copied().unwrap_or_default()
}

async fn wait_for(
    what: &str,
    timeout: Duration,
    mut done: impl FnMut() -> bool,
) -> anyhow::Result<()> {
    let deadline = Instant::now() + timeout;
    while !done() {
        if Instant::now() > deadline {
            bail!("timed out after {timeout:?} waiting for {what}");
        }
        tokio::time::sleep(Duration::from_millis(1)).await;
    }
    Ok(())
}

async fn latency_and_cpu(args: &NpdBenchArgs, log: &[String]) -> anyhow::Result<()> {
    const NODE: &str = "bench-node";
    let api = FakeApiServer::start(FakeApiServerConfig {
        initial_nodes: vec![NODE.to_string()],
        ..FakeApiServerConfig::default()
    })
    .await
    .context("cannot start the fake API server")?;
    let handle = api.handle();
    let work = tempfile::Builder::new()
        .prefix("kec-bench-npd-")
        .tempdir()?;
    let kmsg_path = work.path().join("kmsg");
    let mut pipe = KmsgPipe::create(&kmsg_path, args.kmsg_source)?;
    // The kernel monitor config, unchanged but for where it reads kmsg from.
    let mut monitor: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(&args.config)
            .with_context(|| format!("cannot read {}", args.config.display()))?,
    )
    .with_context(|| format!("{} is not JSON", args.config.display()))?;
    monitor["logPath"] = serde_json::Value::String(kmsg_path.display().to_string());
    let monitor_path = work.path().join("kernel-monitor.json");
    std::fs::write(&monitor_path, serde_json::to_vec_pretty(&monitor)?)?;
    let state_dir = work.path().join("state");

    let mut command = agent_command(args)?;
    command
        .arg(format!(
            "--config.system-log-monitor={}",
            monitor_path.display()
        ))
        .arg(format!("--state-dir={}", state_dir.display()))
        .arg(format!("--hostname-override={NODE}"))
        .arg(format!(
            "--apiserver-override={}?inClusterConfig=false",
            api.url()
        ))
        .arg("--port=0")
        .arg("--prometheus-port=0");
    let agent = describe(&command);
    let mut child = command.spawn().context("cannot start the agent")?;
    let pid = child.id().context("the agent exited at once")?;
    // Ready when it has read its Node and published the monitor's initial conditions.
    wait_for(
        "the agent's first node status PATCH",
        Duration::from_secs(30),
        || {
            handle.requests().iter().any(|request| {
                request.method == "PATCH"
                    && request.path.ends_with(&format!("/nodes/{NODE}/status"))
            })
        },
    )
    .await?;

    if args.latency_runs > 0 {
        let mut latencies = Vec::new();
        for run in 0..args.latency_runs {
            // Runs apart, so that each Event is written on its own.
            tokio::time::sleep(Duration::from_millis(200)).await;
            let seen = handle
                .requests()
                .iter()
                .map(|request| request.sequence)
                .max()
                .unwrap_or(0);
            let message = format!(
                "Killed process {} (bench) total-vm:1024kB, anon-rss:512kB, file-rss:0kB, shmem-rss:0kB",
                10_000 + run
            );
            let written = Instant::now();
            pipe.write(&[&message])?;
            let mut report = None;
            wait_for("the Event of an OOM kill", Duration::from_secs(10), || {
                report = handle
                    .requests()
                    .into_iter()
                    .find(|request| request.sequence > seen && request.path.contains("/events"));
                report.is_some()
            })
            .await?;
            let latency = written.elapsed();
            if let Some(report) = report
                && !String::from_utf8_lossy(&report.body).contains("Killed process")
            {
                bail!(
                    "the Event written after run {run} is not the OOM kill: {} {}",
                    report.method,
                    report.path
                );
            }
            latencies.push(latency);
        }
        latencies.sort();
        let milliseconds = |duration: Duration| duration.as_secs_f64() * 1000.0;
        println!(
            "{agent}: kernel log line ({:?}) -> its Event on the API server, {} runs: p50 {:.1} ms, p99 {:.1} ms, max {:.1} ms",
            args.kmsg_source,
            latencies.len(),
            milliseconds(percentile(&latencies, 50)),
            milliseconds(percentile(&latencies, 99)),
            milliseconds(latencies.last().copied().unwrap_or_default()),
        );
    }

    if args.feed_seconds > 0 {
        let per_tick = (args.feed_rate / 100).max(1) as usize;
        let mut lines = log.iter().map(String::as_str).cycle();
        let ticks_at_start = cpu_ticks(pid).context("the agent is not running")?;
        let started = Instant::now();
        let mut ticker = tokio::time::interval(Duration::from_millis(10));
        ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Burst);
        let mut fed = 0u64;
        while started.elapsed() < Duration::from_secs(args.feed_seconds) {
            ticker.tick().await;
            let batch: Vec<&str> = lines.by_ref().take(per_tick).collect();
            pipe.write(&batch)?;
            fed += batch.len() as u64;
        }
        let seconds = started.elapsed().as_secs_f64();
        // The agent finishes what is in the pipe before its CPU time is read; that time is
        // still the cost of the lines fed in `seconds`.
        tokio::time::sleep(Duration::from_millis(500)).await;
        let ticks = cpu_ticks(pid)
            .context("the agent stopped while fed")?
            .saturating_sub(ticks_at_start);
        let (rss_kib, hwm_kib) = memory_kib(pid).unwrap_or_default();
        println!(
            "{agent}: fed {fed} kernel log lines ({:?}) in {seconds:.1} s ({:.0} lines/s): CPU {:.2} % of a core; RSS {:.1} MiB, peak {:.1} MiB",
            args.kmsg_source,
            fed as f64 / seconds,
            ticks as f64 / 100.0 / seconds * 100.0,
            rss_kib as f64 / 1024.0,
            hwm_kib as f64 / 1024.0,
        );
    }
    child.start_kill().ok();
    child.wait().await.ok();
    api.shutdown().await;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kmsg_records_are_reduced_to_their_message() {
        let directory = tempfile::tempdir().unwrap();
        let path = directory.path().join("log");
        std::fs::write(
            &path,
            "6,1,100,-;INFO: task docker:7 blocked for more than 120 seconds.\nplain line; with a semicolon\n\n",
        )
        .unwrap();
        assert_eq!(
            log_messages(&path).unwrap(),
            [
                "INFO: task docker:7 blocked for more than 120 seconds.",
                "plain line; with a semicolon"
            ]
        );
    }

    #[test]
    fn percentiles_are_nearest_rank() {
        let values: Vec<Duration> = (1..=20).map(Duration::from_millis).collect();
        assert_eq!(percentile(&values, 50), Duration::from_millis(10));
        assert_eq!(percentile(&values, 99), Duration::from_millis(20));
        assert_eq!(percentile(&values[..1], 99), Duration::from_millis(1));
        assert_eq!(percentile(&[], 50), Duration::ZERO);
    }

    #[test]
    fn kmsg_pipe_writes_sequenced_records() {
        let directory = tempfile::tempdir().unwrap();
        let path = directory.path().join("kmsg");
        let mut pipe = KmsgPipe::create(&path, KmsgSource::Pipe).unwrap();
        pipe.write(&["first", "second"]).unwrap();
        let mut reader = pipe.pipe.try_clone().unwrap();
        let mut buffer = [0u8; 256];
        let read = std::io::Read::read(&mut reader, &mut buffer).unwrap();
        let text = String::from_utf8_lossy(&buffer[..read]).into_owned();
        let records: Vec<&str> = text.lines().collect();
        assert_eq!(records.len(), 2, "{text}");
        assert!(
            records[0].starts_with("6,1,") && records[0].ends_with(",-;first"),
            "{text}"
        );
        assert!(
            records[1].starts_with("6,2,") && records[1].ends_with(",-;second"),
            "{text}"
        );
    }

    #[test]
    fn kmsg_file_appends_records() {
        let directory = tempfile::tempdir().unwrap();
        let path = directory.path().join("kmsg");
        let mut file = KmsgPipe::create(&path, KmsgSource::File).unwrap();
        file.write(&["first"]).unwrap();
        file.write(&["second"]).unwrap();
        let text = std::fs::read_to_string(&path).unwrap();
        let records: Vec<&str> = text.lines().collect();
        assert_eq!(records.len(), 2, "{text}");
        assert!(
            records[1].starts_with("6,2,") && records[1].ends_with(",-;second"),
            "{text}"
        );
    }

    #[test]
    fn this_process_has_memory_and_cpu_figures() {
        let pid = std::process::id();
        let (rss, hwm) = memory_kib(pid).unwrap();
        assert!(rss > 0 && hwm >= rss);
        assert!(cpu_ticks(pid).is_some());
    }
}
