//! Parsers of the /proc files the system stats monitor reads. Each takes the file's text (tests
//! and the fuzz target feed arbitrary bytes) and never panics: a line it cannot read is
//! skipped, a file with nothing usable is a [`ProcParseError`].

use std::collections::BTreeMap;

/// A /proc file held nothing this parser could read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unexpected content: {0}")]
pub struct ProcParseError(pub &'static str);

fn number<T: std::str::FromStr>(field: Option<&str>) -> Option<T> {
    field?.parse().ok()
}

/// `/proc/loadavg`: the load averages.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct LoadAverage {
    pub load_1m: f64,
    pub load_5m: f64,
    pub load_15m: f64,
}

/// Parses `/proc/loadavg` (`0.52 0.58 0.59 2/467 12345`).
pub fn parse_loadavg(text: &str) -> Result<LoadAverage, ProcParseError> {
    let mut fields = text.split_whitespace();
    let mut next = || number::<f64>(fields.next()).filter(|load| load.is_finite());
    match (next(), next(), next()) {
        (Some(load_1m), Some(load_5m), Some(load_15m)) => Ok(LoadAverage {
            load_1m,
            load_5m,
            load_15m,
        }),
        _ => Err(ProcParseError("/proc/loadavg needs three load averages")),
    }
}

/// The time a CPU (or all of them) spent in each state, in USER_HZ ticks (the `cpu` lines of
/// `/proc/stat`). Fields a kernel does not report are 0.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct CpuTimes {
    pub user: u64,
    pub nice: u64,
    pub system: u64,
    pub idle: u64,
    pub iowait: u64,
    pub irq: u64,
    pub softirq: u64,
    pub steal: u64,
    pub guest: u64,
    pub guest_nice: u64,
}

impl CpuTimes {
    fn parse<'a>(fields: impl Iterator<Item = &'a str>) -> Option<CpuTimes> {
        let mut values = [0u64; 10];
        let mut count = 0;
        for (slot, field) in values.iter_mut().zip(fields) {
            *slot = field.parse().ok()?;
            count += 1;
        }
        // user, nice, system and idle are in every kernel since 2.6.
        if count < 4 {
            return None;
        }
        let [
            user,
            nice,
            system,
            idle,
            iowait,
            irq,
            softirq,
            steal,
            guest,
            guest_nice,
        ] = values;
        Some(CpuTimes {
            user,
            nice,
            system,
            idle,
            iowait,
            irq,
            softirq,
            steal,
            guest,
            guest_nice,
        })
    }
}

/// What the system stats monitor uses of `/proc/stat`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct KernelStat {
    /// The `cpu` line: all CPUs together.
    pub total: Option<CpuTimes>,
    /// The `cpuN` lines, in file order, with their N.
    pub per_cpu: Vec<(u32, CpuTimes)>,
    /// `intr`: interrupts serviced since boot.
    pub interrupts_total: Option<u64>,
    /// `processes`: forks since boot.
    pub processes_total: Option<u64>,
    /// `procs_running`.
    pub procs_running: Option<u64>,
    /// `procs_blocked`.
    pub procs_blocked: Option<u64>,
}

/// Parses `/proc/stat`.
pub fn parse_stat(text: &str) -> Result<KernelStat, ProcParseError> {
    let mut stat = KernelStat::default();
    for line in text.lines() {
        let mut fields = line.split_whitespace();
        let Some(key) = fields.next() else {
            continue;
        };
        match key {
            "cpu" => stat.total = CpuTimes::parse(fields),
            "intr" => stat.interrupts_total = number(fields.next()),
            "processes" => stat.processes_total = number(fields.next()),
            "procs_running" => stat.procs_running = number(fields.next()),
            "procs_blocked" => stat.procs_blocked = number(fields.next()),
            _ => {
                if let Some(index) = key.strip_prefix("cpu").and_then(|n| n.parse().ok())
                    && let Some(times) = CpuTimes::parse(fields)
                {
                    stat.per_cpu.push((index, times));
                }
            }
        }
    }
    if stat == KernelStat::default() {
        return Err(ProcParseError("/proc/stat has no cpu, intr or procs lines"));
    }
    Ok(stat)
}

/// Parses `/proc/meminfo` into its fields in bytes (the file says kB, which is KiB).
pub fn parse_meminfo(text: &str) -> Result<BTreeMap<String, u64>, ProcParseError> {
    let mut fields = BTreeMap::new();
    for line in text.lines() {
        let Some((name, rest)) = line.split_once(':') else {
            continue;
        };
        let mut parts = rest.split_whitespace();
        let Some(value) = number::<u64>(parts.next()) else {
            continue;
        };
        let bytes = match parts.next() {
            Some("kB") => value.saturating_mul(1024),
            None => value,
            Some(_) => continue,
        };
        fields.insert(name.trim().to_string(), bytes);
    }
    if fields.is_empty() {
        return Err(ProcParseError("/proc/meminfo has no fields"));
    }
    Ok(fields)
}

/// One line of `/proc/diskstats` (the kernel's `Documentation/admin-guide/iostats.rst`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DiskStats {
    pub name: String,
    pub reads: u64,
    pub merged_reads: u64,
    pub sectors_read: u64,
    pub read_ms: u64,
    pub writes: u64,
    pub merged_writes: u64,
    pub sectors_written: u64,
    pub write_ms: u64,
    pub io_ms: u64,
    pub weighted_io_ms: u64,
}

/// Bytes per sector in `/proc/diskstats`, whatever the device's own sector size.
pub const DISKSTATS_SECTOR_BYTES: u64 = 512;

/// Parses `/proc/diskstats`; lines with fewer than 14 fields are skipped.
pub fn parse_diskstats(text: &str) -> Vec<DiskStats> {
    text.lines()
        .filter_map(|line| {
            let fields: Vec<&str> = line.split_whitespace().collect();
            let name = fields.get(2)?;
            let value = |index: usize| number::<u64>(fields.get(index).copied());
            Some(DiskStats {
                name: (*name).to_string(),
                reads: value(3)?,
                merged_reads: value(4)?,
                sectors_read: value(5)?,
                read_ms: value(6)?,
                writes: value(7)?,
                merged_writes: value(8)?,
                sectors_written: value(9)?,
                write_ms: value(10)?,
                io_ms: value(12)?,
                weighted_io_ms: value(13)?,
            })
        })
        .collect()
}

/// The counters of one interface in `/proc/net/dev`, in the file's column order:
/// receive bytes, packets, errs, drop, fifo, frame, compressed, multicast; then transmit
/// bytes, packets, errs, drop, fifo, colls, carrier, compressed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NetDevStats {
    pub interface: String,
    pub counters: [u64; 16],
}

/// Parses `/proc/net/dev`; the two header lines and unreadable lines are skipped.
pub fn parse_net_dev(text: &str) -> Vec<NetDevStats> {
    text.lines()
        .filter_map(|line| {
            let (interface, rest) = line.split_once(':')?;
            let interface = interface.trim();
            if interface.is_empty() || interface.contains('|') {
                return None;
            }
            let mut counters = [0u64; 16];
            let mut fields = rest.split_whitespace();
            for counter in &mut counters {
                *counter = number(fields.next())?;
            }
            Some(NetDevStats {
                interface: interface.to_string(),
                counters,
            })
        })
        .collect()
}

/// Parses `/proc/uptime` into whole seconds since boot.
pub fn parse_uptime(text: &str) -> Result<u64, ProcParseError> {
    number::<f64>(text.split_whitespace().next())
        .filter(|seconds| seconds.is_finite() && *seconds >= 0.0)
        // Truncated as NPD's gopsutil does; `as` saturates.
        .map(|seconds| seconds as u64)
        .ok_or(ProcParseError("/proc/uptime needs the seconds since boot"))
}

/// One line of `/proc/<pid>/mounts`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Mount {
    pub device: String,
    pub mount_point: String,
    pub fs_type: String,
    pub options: String,
}

/// Undoes the octal escapes (`\040` for a space) the kernel writes in mount fields.
fn unescape_mount_field(field: &str) -> String {
    let bytes = field.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut index = 0;
    while index < bytes.len() {
        let escaped = bytes
            .get(index + 1..index + 4)
            .filter(|digits| {
                bytes[index] == b'\\' && digits.iter().all(|d| (b'0'..=b'7').contains(d))
            })
            .and_then(|digits| u8::from_str_radix(std::str::from_utf8(digits).ok()?, 8).ok());
        match escaped {
            Some(byte) => {
                out.push(byte);
                index += 4;
            }
            None => {
                out.push(bytes[index]);
                index += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// Parses `/proc/<pid>/mounts`; lines with fewer than four fields are skipped.
pub fn parse_mounts(text: &str) -> Vec<Mount> {
    text.lines()
        .filter_map(|line| {
            let mut fields = line.split_whitespace();
            Some(Mount {
                device: unescape_mount_field(fields.next()?),
                mount_point: unescape_mount_field(fields.next()?),
                fs_type: fields.next()?.to_string(),
                options: fields.next()?.to_string(),
            })
        })
        .collect()
}

/// The file systems of `/proc/filesystems` that need a device (lines without `nodev`).
pub fn parse_physical_filesystems(text: &str) -> Vec<String> {
    text.lines()
        .filter(|line| !line.starts_with("nodev"))
        .filter_map(|line| line.split_whitespace().next())
        .map(str::to_string)
        .collect()
}

/// Parses `/etc/os-release` (`KEY=value`, values optionally quoted).
pub fn parse_os_release(text: &str) -> BTreeMap<String, String> {
    text.lines()
        .filter_map(|line| {
            let (key, value) = line.trim().split_once('=')?;
            if key.starts_with('#') {
                return None;
            }
            let value = value.trim();
            let value = value
                .strip_prefix('"')
                .and_then(|v| v.strip_suffix('"'))
                .or_else(|| value.strip_prefix('\'').and_then(|v| v.strip_suffix('\'')))
                .unwrap_or(value);
            Some((key.to_string(), value.to_string()))
        })
        .collect()
}

/// NPD's `os_version` label from `/etc/os-release`: `cos <VERSION>-<BUILD_ID>` on COS,
/// `<ID> <VERSION>` on the distributions NPD knows, empty otherwise (NPD refuses to start).
pub fn os_version(os_release: &BTreeMap<String, String>) -> String {
    let field = |key: &str| os_release.get(key).map(String::as_str).unwrap_or("");
    match field("ID") {
        "cos" => format!("cos {}-{}", field("VERSION"), field("BUILD_ID")),
        "debian" | "ubuntu" | "centos" | "rocky" | "rhel" | "ol" | "amzn" | "sles" | "mariner"
        | "azurelinux" | "flatcar" => format!("{} {}", field("ID"), field("VERSION")),
        _ => String::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn loadavg_is_read_and_garbage_is_an_error() {
        let load = parse_loadavg("0.52 1.58 2.59 2/467 12345\n").unwrap();
        assert_eq!(
            (load.load_1m, load.load_5m, load.load_15m),
            (0.52, 1.58, 2.59)
        );
        assert!(parse_loadavg("0.52 NaN").is_err());
        assert!(parse_loadavg("").is_err());
    }

    #[test]
    fn stat_reads_totals_per_cpu_and_process_counts() {
        let text = "cpu  2589306 40 319117 1326242 10763 0 2309 1753 0 0\n\
                    cpu0 1265550 19 151654 702028 3992 0 356 894 0 0\n\
                    cpu1 1 2 3 4\n\
                    intr 123456 0 9 0\n\
                    ctxt 99\n\
                    processes 4242\n\
                    procs_running 3\n\
                    procs_blocked 1\n";
        let stat = parse_stat(text).unwrap();
        let total = stat.total.unwrap();
        assert_eq!(
            (total.user, total.steal, total.guest_nice),
            (2589306, 1753, 0)
        );
        assert_eq!(stat.per_cpu.len(), 2);
        assert_eq!(stat.per_cpu[1].0, 1);
        assert_eq!(stat.per_cpu[1].1.idle, 4);
        assert_eq!(stat.per_cpu[1].1.iowait, 0, "absent fields are 0");
        assert_eq!(stat.interrupts_total, Some(123456));
        assert_eq!(stat.processes_total, Some(4242));
        assert_eq!((stat.procs_running, stat.procs_blocked), (Some(3), Some(1)));
        assert!(parse_stat("nothing here\n").is_err());
    }

    #[test]
    fn meminfo_is_in_bytes() {
        let fields =
            parse_meminfo("MemTotal:       16384 kB\nHugePages_Total:       2\nbad line\n")
                .unwrap();
        assert_eq!(fields["MemTotal"], 16384 * 1024);
        assert_eq!(fields["HugePages_Total"], 2);
        assert!(parse_meminfo("").is_err());
    }

    #[test]
    fn diskstats_lines_with_missing_fields_are_skipped() {
        let text = "   8       0 sda 100 2 800 30 50 5 400 20 0 40 60 0 0 0 0\n\
                    259 0 nvme0n1 1 2\n";
        let disks = parse_diskstats(text);
        assert_eq!(disks.len(), 1);
        let sda = &disks[0];
        assert_eq!(sda.name, "sda");
        assert_eq!(
            (sda.reads, sda.merged_reads, sda.sectors_read, sda.read_ms),
            (100, 2, 800, 30)
        );
        assert_eq!(
            (
                sda.writes,
                sda.merged_writes,
                sda.sectors_written,
                sda.write_ms
            ),
            (50, 5, 400, 20)
        );
        assert_eq!((sda.io_ms, sda.weighted_io_ms), (40, 60));
    }

    #[test]
    fn net_dev_skips_headers() {
        let text = "Inter-|   Receive                                                |  Transmit\n \
                    face |bytes    packets errs drop fifo frame compressed multicast|bytes    packets errs drop fifo colls carrier compressed\n    \
                    lo: 3199 593 1 2 3 4 5 6 7 8 9 10 11 12 13 14\n\
                    eth0:1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16\n\
                    bad: 1 2\n";
        let interfaces = parse_net_dev(text);
        assert_eq!(interfaces.len(), 2);
        assert_eq!(interfaces[0].interface, "lo");
        assert_eq!(interfaces[0].counters[0], 3199);
        assert_eq!(interfaces[0].counters[15], 14);
        assert_eq!(interfaces[1].interface, "eth0");
        assert_eq!(interfaces[1].counters[8], 9, "tx bytes");
    }

    #[test]
    fn uptime_is_truncated_to_seconds() {
        assert_eq!(parse_uptime("81.97 160.02\n").unwrap(), 81);
        assert!(parse_uptime("-1 2").is_err());
        assert!(parse_uptime("").is_err());
    }

    #[test]
    fn mounts_unescape_spaces() {
        let mounts = parse_mounts("/dev/sda1 /mnt/my\\040disk ext4 rw,relatime 0 0\nshort line\n");
        assert_eq!(mounts.len(), 1);
        assert_eq!(mounts[0].mount_point, "/mnt/my disk");
        assert_eq!(mounts[0].fs_type, "ext4");
        assert_eq!(mounts[0].options, "rw,relatime");
        assert_eq!(
            unescape_mount_field("a\\04"),
            "a\\04",
            "a cut escape stays as it is"
        );
    }

    #[test]
    fn physical_filesystems_exclude_nodev() {
        assert_eq!(
            parse_physical_filesystems("nodev\tsysfs\n\text4\nnodev\tproc\n\txfs\n"),
            ["ext4", "xfs"]
        );
    }

    #[test]
    fn os_version_as_npd_spells_it() {
        let cos = parse_os_release("ID=cos\nVERSION=73\nBUILD_ID=11647.217.0\n");
        assert_eq!(os_version(&cos), "cos 73-11647.217.0");
        let ubuntu = parse_os_release("ID=ubuntu\nVERSION=\"22.04.4 LTS (Jammy Jellyfish)\"\n");
        assert_eq!(os_version(&ubuntu), "ubuntu 22.04.4 LTS (Jammy Jellyfish)");
        assert_eq!(os_version(&parse_os_release("ID=nixos\n")), "");
    }
}
