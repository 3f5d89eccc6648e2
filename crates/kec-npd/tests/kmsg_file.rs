//! shared/data/kmsg/kmsg.1.log (raw /dev/kmsg records from a GPU node) parses record for record.

use std::path::Path;

use kec_npd::monitor::system_log::kmsg::{KmsgItem, KmsgRecord, KmsgStream};

fn records() -> Vec<KmsgItem> {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/data/kmsg/kmsg.1.log");
    let mut file = std::fs::File::open(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let mut items = Vec::new();
    let mut stream = KmsgStream::new();
    let finished = stream.read_to_end(&mut file, |item| {
        items.push(item);
        true
    });
    assert!(matches!(finished, Ok(true)));
    // The file's last record has no trailing newline.
    stream.finish(&mut items);
    items
}

#[test]
fn every_record_parses_in_sequence() {
    let items = records();
    let records: Vec<&KmsgRecord> = items
        .iter()
        .map(|item| match item {
            KmsgItem::Record(record) => record,
            other => panic!("only records expected, got {other:?}"),
        })
        .collect();
    // Sequence numbers 3964..=4010 without a gap: 47 records.
    assert_eq!(records.len(), 47);
    let sequences: Vec<u64> = records.iter().map(|r| r.sequence).collect();
    assert_eq!(sequences, (3964..=4010).collect::<Vec<u64>>());
    assert!(
        records
            .iter()
            .all(|r| r.level == 6 && r.facility == 0 && r.flags == "-")
    );
    assert!(records.iter().all(|r| r.dictionary.is_empty()));
}

#[test]
fn exact_records() {
    let items = records();
    let record = |index: usize| match &items[index] {
        KmsgItem::Record(record) => record.clone(),
        other => panic!("{other:?}"),
    };
    assert_eq!(
        record(0),
        KmsgRecord {
            level: 6,
            facility: 0,
            sequence: 3964,
            timestamp_us: 206_764_307,
            flags: "-".into(),
            message: "nvidia-nvswitch2: open (major=510)".into(),
            dictionary: Vec::new(),
        }
    );
    assert_eq!(
        record(23).message,
        "wireguard: Copyright (C) 2015-2019 Jason A. Donenfeld <Jason@zx2c4.com>. All Rights Reserved."
    );
    // The large timestamp jump (about an hour after the previous record).
    assert_eq!(record(37).timestamp_us, 261_573_217);
    assert_eq!(record(38).sequence, 4002);
    assert_eq!(record(38).timestamp_us, 3_757_433_091);
    let last = record(46);
    assert_eq!(last.sequence, 4010);
    assert_eq!(last.timestamp_us, 57_631_398_464);
    assert_eq!(
        last.message,
        "IPv6: ADDRCONF(NETDEV_CHANGE): calic24dd7712a6: link becomes ready"
    );
}
