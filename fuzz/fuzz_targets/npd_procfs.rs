#![no_main]
//! kec-npd's /proc parsers (system stats monitor) on arbitrary text.

use kec_npd::monitor::system_stats::procfs;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    let _ = procfs::parse_loadavg(&text);
    let _ = procfs::parse_stat(&text);
    let _ = procfs::parse_meminfo(&text);
    let _ = procfs::parse_diskstats(&text);
    let _ = procfs::parse_net_dev(&text);
    let _ = procfs::parse_uptime(&text);
    let _ = procfs::parse_mounts(&text);
    let _ = procfs::parse_physical_filesystems(&text);
    let _ = procfs::os_version(&procfs::parse_os_release(&text));
});
