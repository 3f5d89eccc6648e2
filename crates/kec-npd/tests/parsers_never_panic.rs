//! Property tests: the outside-input parsers never panic, whatever the bytes.

use jiff::tz::TimeZone;
use kec_npd::config::system_log::FilelogConfig;
use kec_npd::monitor::system_log::filelog::Translator;
use kec_npd::monitor::system_log::gotime::GoLayout;
use kec_npd::monitor::system_log::journald::parse_entry;
use kec_npd::monitor::system_log::kmsg::{KmsgItem, KmsgStream, parse_record};
use proptest::prelude::*;

proptest! {
    #[test]
    fn kmsg_stream_never_panics(chunks in proptest::collection::vec(proptest::collection::vec(any::<u8>(), 0..200), 0..8)) {
        let mut stream = KmsgStream::new();
        let mut out = Vec::new();
        for chunk in &chunks {
            stream.feed(chunk, &mut out);
        }
        stream.finish(&mut out);
        for item in out {
            if let KmsgItem::Gap { expected, next, missed } = item {
                prop_assert_eq!(next - expected, missed);
            }
        }
    }

    #[test]
    fn kmsg_records_round_trip(level in 0u8..8, facility in 0u32..24, sequence in any::<u64>(), usec in any::<u64>(), message in "[ -~]{0,60}") {
        let escaped = message.replace('\\', "\\x5c");
        let line = format!("{},{sequence},{usec},-;{escaped}", u32::from(level) + facility * 8);
        let record = parse_record(line.as_bytes(), &[]);
        prop_assert!(record.is_ok());
        let record = record.unwrap_or_else(|e| panic!("{e}"));
        prop_assert_eq!(record.level, level);
        prop_assert_eq!(record.facility, facility);
        prop_assert_eq!(record.sequence, sequence);
        prop_assert_eq!(record.timestamp_us, usec);
        prop_assert_eq!(record.message, message);
    }

    #[test]
    fn go_layouts_and_values_never_panic(layout in "[A-Za-z0-9_:. ,+-]{0,40}", value in "\\PC{0,40}") {
        if let Ok(layout) = GoLayout::compile(&layout) {
            let _ = layout.parse(&value, &TimeZone::UTC, 2026);
        }
    }

    #[test]
    fn filelog_lines_never_panic(line in "\\PC{0,120}") {
        let translator = Translator::new(
            &FilelogConfig {
                timestamp: "^.{15}".into(),
                message: r"kernel: \[.*\] (.*)".into(),
                timestamp_format: "Jan _2 15:04:05".into(),
            },
            TimeZone::UTC,
        );
        prop_assert!(translator.is_ok());
        if let Ok(translator) = translator {
            let _ = translator.translate(&line, 0);
        }
    }

    #[test]
    fn journal_lines_never_panic(line in "\\PC{0,120}") {
        let _ = parse_entry(&line);
    }
}

proptest! {
    #[test]
    fn procfs_parsers_never_panic(text in "(\\PC|\\n|\\\\[0-7]{0,3}|:| ){0,300}") {
        use kec_npd::monitor::system_stats::procfs;
        let _ = procfs::parse_loadavg(&text);
        let _ = procfs::parse_stat(&text);
        let _ = procfs::parse_meminfo(&text);
        let _ = procfs::parse_diskstats(&text);
        let _ = procfs::parse_net_dev(&text);
        let _ = procfs::parse_uptime(&text);
        let _ = procfs::parse_physical_filesystems(&text);
        let _ = procfs::os_version(&procfs::parse_os_release(&text));
        for mount in procfs::parse_mounts(&text) {
            prop_assert!(!mount.fs_type.is_empty());
        }
    }
}
