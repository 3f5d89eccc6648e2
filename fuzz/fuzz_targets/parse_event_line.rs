//! Fuzzes the parser of ingest lines (Events of both API versions and watch frames).
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(kec_model::ParsedLine::Observation(observation)) =
        kec_model::parse_line(data, "fuzz", 0)
    {
        assert!(observation.record.count >= 1);
        assert!(observation.record.first_ms <= observation.record.time_ms);
    }
});
