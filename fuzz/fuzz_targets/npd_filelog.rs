#![no_main]
//! kec-npd's filelog translator (NPD's kernel-monitor-filelog settings) and Go time layouts on
//! arbitrary text.

use jiff::tz::TimeZone;
use kec_npd::config::system_log::FilelogConfig;
use kec_npd::monitor::system_log::filelog::Translator;
use kec_npd::monitor::system_log::gotime::GoLayout;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let config = FilelogConfig {
        timestamp: "^.{15}".into(),
        message: r"kernel: \[.*\] (.*)".into(),
        timestamp_format: "Jan _2 15:04:05".into(),
    };
    if let Ok(translator) = Translator::new(&config, TimeZone::UTC) {
        let _ = translator.translate(text, 0);
    }
    // Split into layout | value at the first newline.
    if let Some((layout, value)) = text.split_once('\n')
        && let Ok(layout) = GoLayout::compile(layout)
    {
        let _ = layout.parse(value, &TimeZone::UTC, 2026);
    }
});
