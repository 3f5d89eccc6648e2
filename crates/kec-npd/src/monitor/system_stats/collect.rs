//! [`StatsCollector`]: one collection of NPD's system stats metrics from /proc and /sys
//! (NPD's `pkg/systemstatsmonitor/*_collector.go`), for the metrics the config enables.
//!
//! Values follow NPD's exported series. Where NPD records a cumulative kernel counter as
//! deltas into an OpenCensus Sum (disk, net, `cpu/usage_time`), the sum is the counter
//! itself, so kec exports the counter. Where NPD adds the whole cumulative counter into a Sum
//! at every interval (`system/processes_total`, `system/interrupts_total`, `system/cpu_stat`),
//! its series grows by the total each minute; kec exports the kernel's counter instead.

use std::collections::{BTreeSet, HashMap};
use std::path::{Path, PathBuf};

use super::board::{SampleValue, StatSample, prometheus_name};
use super::procfs::{self, CpuTimes, DISKSTATS_SECTOR_BYTES, ProcParseError};
use crate::config::system_stats::SystemStatsConfig;
use crate::monitor::MonitorOptions;

/// NPD's description of each metric (its Prometheus HELP text).
fn help(metric_id: &str) -> &'static str {
    match metric_id {
        "cpu/runnable_task_count" => {
            "The average number of runnable tasks in the run-queue during the last minute"
        }
        "cpu/usage_time" => "CPU usage, in seconds",
        "cpu/load_1m" => "CPU average load (1m)",
        "cpu/load_5m" => "CPU average load (5m)",
        "cpu/load_15m" => "CPU average load (15m)",
        "system/processes_total" => "Number of forks since boot.",
        "system/procs_running" => "Number of processes currently running.",
        "system/procs_blocked" => "Number of processes currently blocked.",
        "system/interrupts_total" => "Total number of interrupts serviced (cumulative).",
        "system/cpu_stat" => "Cumulative time each cpu spent in various stages.",
        "disk/io_time" => "The IO time spent on the disk, in ms",
        "disk/weighted_io" => "The weighted IO on the disk, in ms",
        "disk/avg_queue_len" => "The average queue length on the disk",
        "disk/operation_count" => "Disk operations count",
        "disk/merged_operation_count" => "Disk merged operations count",
        "disk/operation_bytes_count" => "Bytes transferred in disk operations",
        "disk/operation_time" => "Time spent in disk operations, in ms",
        "disk/bytes_used" => "Disk bytes used, in Bytes",
        "disk/percent_used" => "Disk usage in percentage of total space",
        "host/uptime" => "The uptime of the operating system",
        "memory/bytes_used" => "Memory usage by each memory state, in Bytes.",
        "memory/anonymous_used" => {
            "Anonymous memory usage, in Bytes. Summing values of all states yields the total anonymous memory used."
        }
        "memory/page_cache_used" => {
            "Page cache memory usage, in Bytes. Summing values of all states yields the total page cache memory used."
        }
        "memory/unevictable_used" => "Unevictable memory usage, in Bytes",
        "memory/dirty_used" => {
            "Dirty pages usage, in Bytes. Dirty means the memory is waiting to be written back to disk, and writeback means the memory is actively being written back to disk."
        }
        "memory/percent_used" => "Memory usage in percentage of total memory",
        _ => NET_METRICS
            .iter()
            .find(|(id, _)| *id == metric_id)
            .map(|(_, help)| *help)
            .unwrap_or(""),
    }
}

/// The `/proc/net/dev` metrics in the file's column order, with NPD's descriptions.
const NET_METRICS: [(&str, &str); 16] = [
    ("net/rx_bytes", "Cumulative count of bytes received."),
    ("net/rx_packets", "Cumulative count of packets received."),
    (
        "net/rx_errors",
        "Cumulative count of receive errors encountered.",
    ),
    (
        "net/rx_dropped",
        "Cumulative count of packets dropped while receiving.",
    ),
    ("net/rx_fifo", "Cumulative count of FIFO buffer errors."),
    ("net/rx_frame", "Cumulative count of packet framing errors."),
    (
        "net/rx_compressed",
        "Cumulative count of compressed packets received by the device driver.",
    ),
    (
        "net/rx_multicast",
        "Cumulative count of multicast frames received by the device driver.",
    ),
    ("net/tx_bytes", "Cumulative count of bytes transmitted."),
    ("net/tx_packets", "Cumulative count of packets transmitted."),
    (
        "net/tx_errors",
        "Cumulative count of transmit errors encountered.",
    ),
    (
        "net/tx_dropped",
        "Cumulative count of packets dropped while transmitting.",
    ),
    ("net/tx_fifo", "Cumulative count of FIFO buffer errors."),
    (
        "net/tx_collisions",
        "Cumulative count of collisions detected on the interface.",
    ),
    (
        "net/tx_carrier",
        "Cumulative count of carrier losses detected by the device driver.",
    ),
    (
        "net/tx_compressed",
        "Cumulative count of compressed packets transmitted by the device driver.",
    ),
];

/// USER_HZ: /proc/stat counts CPU time in ticks of 1/100 s (NPD assumes the same).
const CLOCK_TICKS_PER_SECOND: f64 = 100.0;

/// What a collection could not read; the rest of the metrics are still reported.
#[derive(Debug, thiserror::Error)]
pub enum CollectError {
    /// A file could not be read.
    #[error("cannot read {path}")]
    Read {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    /// A file's content made no sense.
    #[error("cannot parse {path}")]
    Parse {
        path: PathBuf,
        #[source]
        source: ProcParseError,
    },
}

fn read(path: &Path) -> Result<String, CollectError> {
    std::fs::read_to_string(path).map_err(|source| CollectError::Read {
        path: path.to_path_buf(),
        source,
    })
}

fn parsed<T>(path: &Path, result: Result<T, ProcParseError>) -> Result<T, CollectError> {
    result.map_err(|source| CollectError::Parse {
        path: path.to_path_buf(),
        source,
    })
}

/// One metric group's collection: appends samples, at the given time (ms).
type CollectGroup = fn(&mut StatsCollector, &mut Vec<StatSample>, i64) -> Result<(), CollectError>;

/// The previous disk reading, for `disk/avg_queue_len`.
#[derive(Debug, Clone, Copy)]
struct DiskHistory {
    weighted_io_ms: u64,
    sampled_ms: i64,
}

/// See the module documentation.
#[derive(Debug)]
pub struct StatsCollector {
    proc_dir: PathBuf,
    sys_dir: PathBuf,
    root: PathBuf,
    /// Enabled metric id -> Prometheus name.
    enabled: HashMap<String, String>,
    include_root_blk: bool,
    include_all_attached_blk: bool,
    exclude_interface: Option<regex::Regex>,
    /// `kernel_version` and `os_version` of `host/uptime`, read once as NPD does.
    host_labels: (String, String),
    disk_history: HashMap<String, DiskHistory>,
}

impl StatsCollector {
    /// A collector for `config`'s enabled metrics; host paths resolve under `options.root`.
    pub fn new(config: &SystemStatsConfig, options: &MonitorOptions) -> StatsCollector {
        let enabled = config
            .metrics
            .iter()
            .flat_map(|(_, metrics)| metrics)
            // NPD creates no metric for an empty display name.
            .filter(|(_, display_name)| !display_name.is_empty())
            .map(|(id, display_name)| (id.clone(), prometheus_name(display_name)))
            .collect();
        let proc_dir = options.host_path(&config.proc_path);
        let kernel_version = std::fs::read_to_string(proc_dir.join("sys/kernel/osrelease"))
            .map(|release| release.trim().to_string())
            .unwrap_or_default();
        let os_version = std::fs::read_to_string(options.host_path("/etc/os-release"))
            .map(|text| procfs::os_version(&procfs::parse_os_release(&text)))
            .unwrap_or_default();
        StatsCollector {
            proc_dir,
            sys_dir: options.host_path("/sys"),
            root: options.root.clone(),
            enabled,
            include_root_blk: config.include_root_blk,
            include_all_attached_blk: config.include_all_attached_blk,
            // Validated when the config was loaded; an empty pattern excludes nothing.
            exclude_interface: (!config.exclude_interface_regexp.is_empty())
                .then(|| regex::Regex::new(&config.exclude_interface_regexp).ok())
                .flatten(),
            host_labels: (kernel_version, os_version),
            disk_history: HashMap::new(),
        }
    }

    fn is_enabled(&self, metric_id: &str) -> bool {
        self.enabled.contains_key(metric_id)
    }

    fn any_enabled(&self, prefix: &str) -> bool {
        self.enabled.keys().any(|id| id.starts_with(prefix))
    }

    fn push(
        &self,
        samples: &mut Vec<StatSample>,
        metric_id: &str,
        labels: &[(&'static str, &str)],
        value: SampleValue,
    ) {
        if let Some(name) = self.enabled.get(metric_id) {
            samples.push(StatSample {
                name: name.clone(),
                help: help(metric_id),
                labels: labels
                    .iter()
                    .map(|(key, value)| (*key, (*value).to_string()))
                    .collect(),
                value,
            });
        }
    }

    /// One collection at `now_ms`: the samples read, and what could not be read.
    pub fn collect(&mut self, now_ms: i64) -> (Vec<StatSample>, Vec<CollectError>) {
        let mut samples = Vec::new();
        let mut errors = Vec::new();
        let groups: [CollectGroup; 6] = [
            Self::collect_load,
            Self::collect_cpu_stat,
            Self::collect_disk,
            Self::collect_host,
            Self::collect_memory,
            Self::collect_net,
        ];
        for group in groups {
            if let Err(error) = group(self, &mut samples, now_ms) {
                errors.push(error);
            }
        }
        (samples, errors)
    }

    fn collect_load(
        &mut self,
        samples: &mut Vec<StatSample>,
        _now_ms: i64,
    ) -> Result<(), CollectError> {
        if !self.any_enabled("cpu/load") && !self.is_enabled("cpu/runnable_task_count") {
            return Ok(());
        }
        let path = self.proc_dir.join("loadavg");
        let load = parsed(&path, procfs::parse_loadavg(&read(&path)?))?;
        self.push(
            samples,
            "cpu/runnable_task_count",
            &[],
            SampleValue::Float(load.load_1m),
        );
        self.push(
            samples,
            "cpu/load_1m",
            &[],
            SampleValue::Float(load.load_1m),
        );
        self.push(
            samples,
            "cpu/load_5m",
            &[],
            SampleValue::Float(load.load_5m),
        );
        self.push(
            samples,
            "cpu/load_15m",
            &[],
            SampleValue::Float(load.load_15m),
        );
        Ok(())
    }

    fn collect_cpu_stat(
        &mut self,
        samples: &mut Vec<StatSample>,
        _now_ms: i64,
    ) -> Result<(), CollectError> {
        if !self.is_enabled("cpu/usage_time") && !self.any_enabled("system/") {
            return Ok(());
        }
        let path = self.proc_dir.join("stat");
        let stat = parsed(&path, procfs::parse_stat(&read(&path)?))?;
        if let Some(total) = stat.total {
            // NPD records gopsutil's seconds times USER_HZ: ticks.
            for (state, ticks) in usage_states(&total) {
                self.push(
                    samples,
                    "cpu/usage_time",
                    &[("state", state)],
                    SampleValue::Float(ticks as f64),
                );
            }
        }
        let counts = [
            ("system/processes_total", stat.processes_total),
            ("system/procs_running", stat.procs_running),
            ("system/procs_blocked", stat.procs_blocked),
            ("system/interrupts_total", stat.interrupts_total),
        ];
        for (metric_id, count) in counts {
            if let Some(count) = count {
                let value = i64::try_from(count).unwrap_or(i64::MAX);
                self.push(samples, metric_id, &[], SampleValue::Int(value));
            }
        }
        if self.is_enabled("system/cpu_stat") {
            for (index, times) in &stat.per_cpu {
                let cpu = format!("cpu{index}");
                for (stage, ticks) in cpu_stat_stages(times) {
                    self.push(
                        samples,
                        "system/cpu_stat",
                        &[("cpu", &cpu), ("stage", stage)],
                        SampleValue::Float(ticks as f64 / CLOCK_TICKS_PER_SECOND),
                    );
                }
            }
        }
        Ok(())
    }

    /// The devices NPD's disk collector asks gopsutil for; empty means every device.
    fn disk_devices(&self, partitions: &[procfs::Mount]) -> BTreeSet<String> {
        let mut devices = BTreeSet::new();
        if self.include_root_blk {
            // What `lsblk -d -n -o NAME` lists: the top-level block devices but RAM disks.
            if let Ok(entries) = std::fs::read_dir(self.sys_dir.join("block")) {
                for entry in entries.flatten() {
                    let name = entry.file_name().to_string_lossy().into_owned();
                    if !name.starts_with("ram") {
                        devices.insert(name);
                    }
                }
            }
        }
        if self.include_all_attached_blk {
            for partition in partitions {
                let name = partition
                    .device
                    .strip_prefix("/dev/")
                    .unwrap_or(&partition.device);
                devices.insert(name.to_string());
            }
        }
        devices
    }

    /// Mounted file systems that need a device (gopsutil's `disk.Partitions(false)`), one
    /// per device.
    fn partitions(&self) -> Vec<procfs::Mount> {
        let filesystems = std::fs::read_to_string(self.proc_dir.join("filesystems"))
            .map(|text| procfs::parse_physical_filesystems(&text))
            .unwrap_or_default();
        let mounts = std::fs::read_to_string(self.proc_dir.join("1/mounts"))
            .or_else(|_| std::fs::read_to_string(self.proc_dir.join("self/mounts")))
            .map(|text| procfs::parse_mounts(&text))
            .unwrap_or_default();
        let mut seen = BTreeSet::new();
        mounts
            .into_iter()
            .filter(|mount| mount.device != "none" && filesystems.contains(&mount.fs_type))
            .filter(|mount| seen.insert(mount.device.clone()))
            .collect()
    }

    fn collect_disk(
        &mut self,
        samples: &mut Vec<StatSample>,
        now_ms: i64,
    ) -> Result<(), CollectError> {
        if !self.any_enabled("disk/") {
            return Ok(());
        }
        let needs_partitions = self.include_all_attached_blk
            || self.is_enabled("disk/bytes_used")
            || self.is_enabled("disk/percent_used");
        let partitions = if needs_partitions {
            self.partitions()
        } else {
            Vec::new()
        };
        let devices = self.disk_devices(&partitions);
        let path = self.proc_dir.join("diskstats");
        let disks = procfs::parse_diskstats(&read(&path)?);
        for disk in disks {
            if !devices.is_empty() && !devices.contains(&disk.name) {
                continue;
            }
            let device = disk.name.as_str();
            let int = |value: u64| SampleValue::Int(i64::try_from(value).unwrap_or(i64::MAX));
            self.push(
                samples,
                "disk/io_time",
                &[("device_name", device)],
                int(disk.io_ms),
            );
            self.push(
                samples,
                "disk/weighted_io",
                &[("device_name", device)],
                int(disk.weighted_io_ms),
            );
            let previous = self.disk_history.insert(
                disk.name.clone(),
                DiskHistory {
                    weighted_io_ms: disk.weighted_io_ms,
                    sampled_ms: now_ms,
                },
            );
            if let Some(previous) = previous {
                // NPD: the weighted IO time added per millisecond since the last sample.
                let elapsed_ms = now_ms.saturating_sub(previous.sampled_ms) as f64;
                let added = disk.weighted_io_ms.saturating_sub(previous.weighted_io_ms) as f64;
                let queue = if added > 0.0 && elapsed_ms > 0.0 {
                    added / elapsed_ms
                } else {
                    0.0
                };
                self.push(
                    samples,
                    "disk/avg_queue_len",
                    &[("device_name", device)],
                    SampleValue::Float(queue),
                );
            }
            let directions = [
                (
                    "read",
                    disk.reads,
                    disk.merged_reads,
                    disk.sectors_read,
                    disk.read_ms,
                ),
                (
                    "write",
                    disk.writes,
                    disk.merged_writes,
                    disk.sectors_written,
                    disk.write_ms,
                ),
            ];
            for (direction, operations, merged, sectors, milliseconds) in directions {
                let labels = [("device_name", device), ("direction", direction)];
                self.push(samples, "disk/operation_count", &labels, int(operations));
                self.push(samples, "disk/merged_operation_count", &labels, int(merged));
                self.push(
                    samples,
                    "disk/operation_bytes_count",
                    &labels,
                    int(sectors.saturating_mul(DISKSTATS_SECTOR_BYTES)),
                );
                self.push(samples, "disk/operation_time", &labels, int(milliseconds));
            }
        }
        for partition in &partitions {
            self.collect_disk_usage(samples, partition);
        }
        Ok(())
    }

    fn collect_disk_usage(&self, samples: &mut Vec<StatSample>, partition: &procfs::Mount) {
        let mount_point = Path::new(&partition.mount_point);
        let path = match mount_point.strip_prefix("/") {
            Ok(relative) => self.root.join(relative),
            Err(_) => self.root.join(mount_point),
        };
        let Ok(usage) = rustix::fs::statvfs(&path) else {
            return;
        };
        // gopsutil's disk.Usage: free is what unprivileged users may still use.
        let block = usage.f_frsize;
        let free = usage.f_bavail.saturating_mul(block);
        let used = usage
            .f_blocks
            .saturating_sub(usage.f_bfree)
            .saturating_mul(block);
        let device = partition
            .device
            .strip_prefix("/dev/")
            .unwrap_or(&partition.device);
        for (state, bytes) in [("free", free), ("used", used)] {
            self.push(
                samples,
                "disk/bytes_used",
                &[
                    ("device_name", device),
                    ("fs_type", &partition.fs_type),
                    ("mount_option", &partition.options),
                    ("state", state),
                ],
                SampleValue::Int(i64::try_from(bytes).unwrap_or(i64::MAX)),
            );
        }
        let total = used.saturating_add(free);
        if total > 0 {
            // NPD's view keeps only the device_name tag of this metric.
            self.push(
                samples,
                "disk/percent_used",
                &[("device_name", device)],
                SampleValue::Float(used as f64 / total as f64 * 100.0),
            );
        }
    }

    fn collect_host(
        &mut self,
        samples: &mut Vec<StatSample>,
        _now_ms: i64,
    ) -> Result<(), CollectError> {
        if !self.is_enabled("host/uptime") {
            return Ok(());
        }
        let path = self.proc_dir.join("uptime");
        let seconds = parsed(&path, procfs::parse_uptime(&read(&path)?))?;
        let (kernel_version, os_version) = &self.host_labels;
        self.push(
            samples,
            "host/uptime",
            &[
                ("kernel_version", kernel_version),
                ("os_version", os_version),
            ],
            SampleValue::Int(i64::try_from(seconds).unwrap_or(i64::MAX)),
        );
        Ok(())
    }

    fn collect_memory(
        &mut self,
        samples: &mut Vec<StatSample>,
        _now_ms: i64,
    ) -> Result<(), CollectError> {
        if !self.any_enabled("memory/") {
            return Ok(());
        }
        let path = self.proc_dir.join("meminfo");
        let meminfo = parsed(&path, procfs::parse_meminfo(&read(&path)?))?;
        let field = |name: &str| meminfo.get(name).copied();
        let int = |bytes: u64| SampleValue::Int(i64::try_from(bytes).unwrap_or(i64::MAX));
        let mut push_field = |metric_id: &str, labels: &[(&'static str, &str)], name: &str| {
            if let Some(bytes) = field(name) {
                self.push(samples, metric_id, labels, int(bytes));
            }
        };
        push_field("memory/bytes_used", &[("state", "free")], "MemFree");
        push_field("memory/bytes_used", &[("state", "buffered")], "Buffers");
        push_field("memory/bytes_used", &[("state", "cached")], "Cached");
        push_field("memory/bytes_used", &[("state", "slab")], "Slab");
        push_field("memory/dirty_used", &[("state", "dirty")], "Dirty");
        push_field("memory/dirty_used", &[("state", "writeback")], "Writeback");
        push_field(
            "memory/anonymous_used",
            &[("state", "active")],
            "Active(anon)",
        );
        push_field(
            "memory/anonymous_used",
            &[("state", "inactive")],
            "Inactive(anon)",
        );
        push_field(
            "memory/page_cache_used",
            &[("state", "active")],
            "Active(file)",
        );
        push_field(
            "memory/page_cache_used",
            &[("state", "inactive")],
            "Inactive(file)",
        );
        push_field("memory/unevictable_used", &[], "Unevictable");
        let parts = (
            field("MemTotal"),
            field("MemFree"),
            field("Buffers"),
            field("Cached"),
            field("Slab"),
        );
        if let (Some(total), Some(free), Some(buffers), Some(cached), Some(slab)) = parts {
            let used = total
                .saturating_sub(free)
                .saturating_sub(buffers)
                .saturating_sub(cached)
                .saturating_sub(slab);
            self.push(
                samples,
                "memory/bytes_used",
                &[("state", "used")],
                int(used),
            );
            if total > 0 {
                self.push(
                    samples,
                    "memory/percent_used",
                    &[("state", "used")],
                    SampleValue::Float(used as f64 / total as f64 * 100.0),
                );
            }
        }
        Ok(())
    }

    fn collect_net(
        &mut self,
        samples: &mut Vec<StatSample>,
        _now_ms: i64,
    ) -> Result<(), CollectError> {
        if !self.any_enabled("net/") {
            return Ok(());
        }
        let path = self.proc_dir.join("net/dev");
        for interface in procfs::parse_net_dev(&read(&path)?) {
            if self
                .exclude_interface
                .as_ref()
                .is_some_and(|exclude| exclude.is_match(&interface.interface))
            {
                continue;
            }
            for ((metric_id, _), counter) in NET_METRICS.iter().zip(interface.counters) {
                self.push(
                    samples,
                    metric_id,
                    &[("interface_name", &interface.interface)],
                    SampleValue::Int(i64::try_from(counter).unwrap_or(i64::MAX)),
                );
            }
        }
        Ok(())
    }
}

/// `cpu/usage_time`'s states in NPD's order.
fn usage_states(times: &CpuTimes) -> [(&'static str, u64); 10] {
    [
        ("user", times.user),
        ("system", times.system),
        ("idle", times.idle),
        ("nice", times.nice),
        ("iowait", times.iowait),
        ("irq", times.irq),
        ("softirq", times.softirq),
        ("steal", times.steal),
        ("guest", times.guest),
        ("guest_nice", times.guest_nice),
    ]
}

/// `system/cpu_stat`'s stages, spelled as NPD spells them.
fn cpu_stat_stages(times: &CpuTimes) -> [(&'static str, u64); 10] {
    [
        ("user", times.user),
        ("nice", times.nice),
        ("system", times.system),
        ("idle", times.idle),
        ("iowait", times.iowait),
        ("iRQ", times.irq),
        ("softIRQ", times.softirq),
        ("steal", times.steal),
        ("guest", times.guest),
        ("guestNice", times.guest_nice),
    ]
}
