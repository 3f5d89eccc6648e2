#![no_main]
//! kec-npd's filelog translator (NPD's kernel-monitor-filelog settings) and Go time layouts on
//! arbitrary text.

use std::sync::OnceLock;

use jiff::tz::TimeZone;
use kec_npd::config::system_log::FilelogConfig;
use kec_npd::monitor::system_log::filelog::Translator;
use kec_npd::monitor::system_log::gotime::GoLayout;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    // Regexes are compiled once: the target measures parsing, not compilation.
    static TRANSLATOR: OnceLock<Option<Translator>> = OnceLock::new();
    let translator = TRANSLATOR.get_or_init(|| {
        let config = FilelogConfig {
            timestamp: "^.{15}".into(),
            message: r"kernel: \[.*\] (.*)".into(),
            timestamp_format: "Jan _2 15:04:05".into(),
        };
        Translator::new(&config, TimeZone::UTC).ok()
    });
    if let Some(translator) = translator {
        let _ = translator.translate(text, 0);
    }
    // Split into layout | value at the first newline.
    if let Some((layout, value)) = text.split_once('\n')
        && let Ok(layout) = GoLayout::compile(layout)
    {
        let _ = layout.parse(value, &TimeZone::UTC, 2026);
    }
});
