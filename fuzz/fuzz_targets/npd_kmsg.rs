#![no_main]
//! kec-npd's /dev/kmsg record parser on arbitrary bytes, split into arbitrary reads.

use kec_npd::monitor::system_log::kmsg::KmsgStream;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let mut stream = KmsgStream::new();
    let mut out = Vec::new();
    // The first byte picks where the input is split into two reads.
    let split = data.first().map_or(0, |b| usize::from(*b)).min(data.len());
    stream.feed(&data[..split], &mut out);
    stream.feed(&data[split..], &mut out);
    stream.finish(&mut out);
});
