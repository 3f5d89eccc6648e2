//! The system stats monitor over a fixture /proc and /sys: NPD's metric names, labels and
//! values, only the metrics the config enables, and the board the exporter reads.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};

use kec_npd::config::system_stats::SystemStatsConfig;
use kec_npd::monitor::system_stats::{SampleValue, StatSample, StatsCollector};
use kec_npd::{MonitorKind, MonitorOptions, load_monitor};
use tokio_util::sync::CancellationToken;

fn shared(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../../shared/data/npd-config")
        .join(name)
}

fn write(root: &Path, relative: &str, text: &str) {
    let path = root.join(relative);
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(path, text).unwrap();
}

/// A host with one disk `sda` (mounted at `/`, which is the fixture root itself), `lo` and
/// `eth0`, 2 CPUs.
fn fixture_root() -> tempfile::TempDir {
    let root = tempfile::tempdir().unwrap();
    let path = root.path();
    write(path, "proc/loadavg", "0.50 1.25 2.75 2/467 12345\n");
    write(
        path,
        "proc/stat",
        "cpu  300 10 200 5000 40 0 6 7 0 0\n\
         cpu0 150 5 100 2500 20 0 3 4 0 0\n\
         cpu1 150 5 100 2500 20 0 3 3 0 0\n\
         intr 99999 1 2 3\n\
         ctxt 5\n\
         btime 1700000000\n\
         processes 4242\n\
         procs_running 3\n\
         procs_blocked 1\n",
    );
    write(
        path,
        "proc/meminfo",
        "MemTotal:       1000 kB\nMemFree:         100 kB\nBuffers:          50 kB\n\
         Cached:          200 kB\nSlab:             50 kB\nActive(anon):    300 kB\n\
         Inactive(anon):   20 kB\nActive(file):    120 kB\nInactive(file):   80 kB\n\
         Unevictable:       4 kB\nDirty:             8 kB\nWriteback:         2 kB\n",
    );
    write(
        path,
        "proc/diskstats",
        "   8       0 sda 100 2 800 30 50 5 400 20 0 40 60 0 0 0 0\n\
            7       0 loop0 1 0 8 0 0 0 0 0 0 0 0 0 0 0 0\n\
            1       0 ram0 1 0 8 0 0 0 0 0 0 0 0 0 0 0 0\n",
    );
    write(
        path,
        "proc/net/dev",
        "Inter-|   Receive                                                |  Transmit\n \
         face |bytes    packets errs drop fifo frame compressed multicast|bytes    packets errs drop fifo colls carrier compressed\n    \
         lo: 1000 10 0 0 0 0 0 0 1000 10 0 0 0 0 0 0\n  \
         eth0: 5000 50 1 2 3 4 5 6 7000 70 7 8 9 10 11 12\n",
    );
    write(path, "proc/uptime", "81.97 160.02\n");
    write(path, "proc/sys/kernel/osrelease", "6.1.0-test\n");
    write(
        path,
        "proc/filesystems",
        "nodev\tsysfs\nnodev\tproc\n\text4\n",
    );
    write(
        path,
        "proc/1/mounts",
        "proc /proc proc rw 0 0\n/dev/sda1 / ext4 rw,relatime 0 0\n/dev/sda1 /var ext4 rw 0 0\n",
    );
    write(path, "etc/os-release", "ID=ubuntu\nVERSION=\"22.04 LTS\"\n");
    std::fs::create_dir_all(path.join("sys/block/sda")).unwrap();
    std::fs::create_dir_all(path.join("sys/block/ram0")).unwrap();
    root
}

fn options(root: &Path) -> MonitorOptions {
    let mut options = MonitorOptions::new(root.join("state"), "node-1");
    options.root = root.to_path_buf();
    options
}

fn config(json: &str) -> SystemStatsConfig {
    let value = serde_json::from_str(json).unwrap();
    SystemStatsConfig::from_value(Path::new("test.json"), &value).unwrap_or_else(|e| panic!("{e}"))
}

fn find<'a>(
    samples: &'a [StatSample],
    name: &str,
    labels: &[(&str, &str)],
) -> Option<&'a StatSample> {
    samples.iter().find(|sample| {
        sample.name == name
            && sample.labels.len() == labels.len()
            && sample
                .labels
                .iter()
                .zip(labels)
                .all(|((key, value), (want_key, want_value))| {
                    key == want_key && value == want_value
                })
    })
}

fn value(samples: &[StatSample], name: &str, labels: &[(&str, &str)]) -> SampleValue {
    find(samples, name, labels)
        .unwrap_or_else(|| panic!("no {name}{labels:?} in {samples:#?}"))
        .value
}

#[test]
fn npd_s_system_stats_config_collects_npd_s_series() {
    let root = fixture_root();
    let config = SystemStatsConfig::load(&shared("system-stats-monitor.json")).unwrap();
    let mut collector = StatsCollector::new(&config, &options(root.path()));
    let (samples, errors) = collector.collect(1_000);
    assert!(errors.is_empty(), "{errors:?}");

    assert_eq!(value(&samples, "cpu_load_1m", &[]), SampleValue::Float(0.5));
    assert_eq!(
        value(&samples, "cpu_load_15m", &[]),
        SampleValue::Float(2.75)
    );
    assert_eq!(
        value(&samples, "cpu_runnable_task_count", &[]),
        SampleValue::Float(0.5)
    );
    // NPD: gopsutil seconds times USER_HZ, i.e. ticks.
    assert_eq!(
        value(&samples, "cpu_usage_time", &[("state", "user")]),
        SampleValue::Float(300.0)
    );
    assert_eq!(
        value(&samples, "cpu_usage_time", &[("state", "steal")]),
        SampleValue::Float(7.0)
    );
    assert_eq!(
        value(&samples, "system_processes_total", &[]),
        SampleValue::Int(4242)
    );
    assert_eq!(
        value(&samples, "system_procs_running", &[]),
        SampleValue::Int(3)
    );
    assert_eq!(
        value(&samples, "system_procs_blocked", &[]),
        SampleValue::Int(1)
    );
    assert_eq!(
        value(&samples, "system_interrupts_total", &[]),
        SampleValue::Int(99999)
    );
    assert_eq!(
        value(
            &samples,
            "system_cpu_stat",
            &[("cpu", "cpu1"), ("stage", "softIRQ")]
        ),
        SampleValue::Float(0.03)
    );

    // includeRootBlk: the devices of /sys/block but RAM disks; loop0 is not one of them.
    assert_eq!(
        value(&samples, "disk_io_time", &[("device_name", "sda")]),
        SampleValue::Int(40)
    );
    assert_eq!(
        value(&samples, "disk_weighted_io", &[("device_name", "sda")]),
        SampleValue::Int(60)
    );
    assert!(find(&samples, "disk_io_time", &[("device_name", "loop0")]).is_none());
    assert!(find(&samples, "disk_io_time", &[("device_name", "ram0")]).is_none());
    assert_eq!(
        value(
            &samples,
            "disk_operation_count",
            &[("device_name", "sda"), ("direction", "write")]
        ),
        SampleValue::Int(50)
    );
    assert_eq!(
        value(
            &samples,
            "disk_merged_operation_count",
            &[("device_name", "sda"), ("direction", "read")]
        ),
        SampleValue::Int(2)
    );
    assert_eq!(
        value(
            &samples,
            "disk_operation_bytes_count",
            &[("device_name", "sda"), ("direction", "read")]
        ),
        SampleValue::Int(800 * 512)
    );
    assert_eq!(
        value(
            &samples,
            "disk_operation_time",
            &[("device_name", "sda"), ("direction", "write")]
        ),
        SampleValue::Int(20)
    );
    assert!(
        find(&samples, "disk_avg_queue_len", &[("device_name", "sda")]).is_none(),
        "no queue length before a second sample"
    );
    // The fixture's / is a real directory, so statvfs answers; one series per device.
    let used = find(
        &samples,
        "disk_bytes_used",
        &[
            ("device_name", "sda1"),
            ("fs_type", "ext4"),
            ("mount_option", "rw,relatime"),
            ("state", "used"),
        ],
    );
    assert!(used.is_some(), "{samples:#?}");
    assert_eq!(
        samples
            .iter()
            .filter(|s| s.name == "disk_bytes_used")
            .count(),
        2
    );
    assert!(find(&samples, "disk_percent_used", &[("device_name", "sda1")]).is_some());

    assert_eq!(
        value(
            &samples,
            "host_uptime",
            &[
                ("kernel_version", "6.1.0-test"),
                ("os_version", "ubuntu 22.04 LTS")
            ]
        ),
        SampleValue::Int(81)
    );

    let kib = |n: i64| SampleValue::Int(n * 1024);
    assert_eq!(
        value(&samples, "memory_bytes_used", &[("state", "free")]),
        kib(100)
    );
    assert_eq!(
        value(&samples, "memory_bytes_used", &[("state", "used")]),
        kib(1000 - 100 - 50 - 200 - 50)
    );
    assert_eq!(
        value(&samples, "memory_percent_used", &[("state", "used")]),
        SampleValue::Float(60.0)
    );
    assert_eq!(
        value(&samples, "memory_anonymous_used", &[("state", "inactive")]),
        kib(20)
    );
    assert_eq!(
        value(&samples, "memory_page_cache_used", &[("state", "active")]),
        kib(120)
    );
    assert_eq!(
        value(&samples, "memory_dirty_used", &[("state", "writeback")]),
        kib(2)
    );
    assert_eq!(value(&samples, "memory_unevictable_used", &[]), kib(4));

    // NPD's shipped config enables no net metric.
    assert!(samples.iter().all(|s| !s.name.starts_with("net_")));
}

#[test]
fn avg_queue_len_is_weighted_io_per_millisecond_between_samples() {
    let root = fixture_root();
    let config = config(
        r#"{"disk": {"lsblkTimeout": "1s", "metricsConfigs": {"disk/avg_queue_len": {"displayName": "disk/avg_queue_len"}}},
            "invokeInterval": "1s"}"#,
    );
    let mut collector = StatsCollector::new(&config, &options(root.path()));
    let (first, _) = collector.collect(10_000);
    assert!(first.is_empty(), "{first:?}");
    // 60 -> 1060 ms of weighted IO over 500 ms: a queue of 2.
    write(
        root.path(),
        "proc/diskstats",
        "   8       0 sda 100 2 800 30 50 5 400 20 0 40 1060 0 0 0 0\n",
    );
    let (second, errors) = collector.collect(10_500);
    assert!(errors.is_empty(), "{errors:?}");
    // No includeRootBlk / includeAllAttachedBlk: every device, as gopsutil with no names.
    assert_eq!(second.len(), 1, "only the enabled metric: {second:?}");
    assert_eq!(
        value(&second, "disk_avg_queue_len", &[("device_name", "sda")]),
        SampleValue::Float(2.0)
    );
}

#[test]
fn net_counters_use_display_names_and_skip_excluded_interfaces() {
    let root = fixture_root();
    let config = config(
        r#"{"net": {"excludeInterfaceRegexp": "^lo$", "metricsConfigs": {
                "net/rx_bytes": {"displayName": "net/rx_bytes"},
                "net/tx_carrier": {"displayName": "net/tx_carrier"},
                "net/rx_errors": {"displayName": ""}}}}"#,
    );
    let mut collector = StatsCollector::new(&config, &options(root.path()));
    let (samples, errors) = collector.collect(0);
    assert!(errors.is_empty(), "{errors:?}");
    assert_eq!(
        value(&samples, "net_rx_bytes", &[("interface_name", "eth0")]),
        SampleValue::Int(5000)
    );
    assert_eq!(
        value(&samples, "net_tx_carrier", &[("interface_name", "eth0")]),
        SampleValue::Int(11)
    );
    assert!(find(&samples, "net_rx_bytes", &[("interface_name", "lo")]).is_none());
    assert!(
        samples.iter().all(|s| s.name != "net_rx_errors"),
        "an empty displayName disables the metric, as in NPD"
    );
    assert_eq!(samples.len(), 2);
}

#[test]
fn unreadable_or_garbage_files_are_errors_and_the_rest_is_still_collected() {
    let root = fixture_root();
    write(root.path(), "proc/loadavg", "garbage\n");
    std::fs::remove_file(root.path().join("proc/meminfo")).unwrap();
    let config = SystemStatsConfig::load(&shared("system-stats-monitor.json")).unwrap();
    let mut collector = StatsCollector::new(&config, &options(root.path()));
    let (samples, errors) = collector.collect(0);
    let messages: Vec<String> = errors.iter().map(ToString::to_string).collect();
    assert_eq!(messages.len(), 2, "{messages:?}");
    assert!(
        messages.iter().any(|m| m.contains("loadavg")),
        "{messages:?}"
    );
    assert!(
        messages.iter().any(|m| m.contains("meminfo")),
        "{messages:?}"
    );
    assert!(
        find(
            &samples,
            "host_uptime",
            &[
                ("kernel_version", "6.1.0-test"),
                ("os_version", "ubuntu 22.04 LTS")
            ]
        )
        .is_some()
    );
    assert!(
        samples
            .iter()
            .all(|s| !s.name.starts_with("cpu_load") && !s.name.starts_with("memory_"))
    );
}

#[tokio::test]
async fn the_monitor_publishes_every_interval_and_clears_the_board_when_stopped() {
    let root = fixture_root();
    write(
        root.path(),
        "stats.json",
        r#"{"host": {"metricsConfigs": {"host/uptime": {"displayName": "host/uptime"}}},
            "disk": {"lsblkTimeout": "10ms"}, "invokeInterval": "50ms"}"#,
    );
    let mut options = options(root.path());
    let now = Arc::new(AtomicI64::new(0));
    let clock_now = now.clone();
    options.clock = Arc::new(move || clock_now.load(Ordering::Relaxed));
    let board = options.stats_board.clone();
    let monitor = load_monitor(
        MonitorKind::SystemStats,
        &root.path().join("stats.json"),
        &options,
    )
    .unwrap_or_else(|e| panic!("{e}"));
    let cancel = CancellationToken::new();
    let mut status_rx = monitor.start(cancel.clone());
    let uptime = |board: &kec_npd::monitor::system_stats::StatsBoard| {
        board
            .snapshot()
            .iter()
            .find(|s| s.name == "host_uptime")
            .map(|s| s.value)
    };
    let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(5);
    while uptime(&board) != Some(SampleValue::Int(81)) {
        assert!(tokio::time::Instant::now() < deadline, "never published");
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
    }
    write(root.path(), "proc/uptime", "142.5 1.0\n");
    while uptime(&board) != Some(SampleValue::Int(142)) {
        assert!(
            tokio::time::Instant::now() < deadline,
            "not collected again"
        );
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
    }
    cancel.cancel();
    assert!(
        status_rx.recv().await.is_none(),
        "no statuses, closed when stopped"
    );
    assert!(board.snapshot().is_empty());
}
