//! How numbers, times and durations read on the page.

use kec_model::time::DAY_MS;

const SECOND_MS: i64 = 1_000;
const MINUTE_MS: i64 = 60_000;
const HOUR_MS: i64 = 3_600_000;

/// A narrow no-break space: groups thousands (`4 812`) without ever breaking the number.
const GROUP_SEPARATOR: char = '\u{202f}';

/// `4 812 309`: exact, grouped by thousands.
pub(crate) fn count(value: i64) -> String {
    let digits = value.unsigned_abs().to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3 + 1);
    if value < 0 {
        out.push('-');
    }
    for (position, digit) in digits.chars().enumerate() {
        if position > 0 && (digits.len() - position).is_multiple_of(3) {
            out.push(GROUP_SEPARATOR);
        }
        out.push(digit);
    }
    out
}

/// `987`, `1.2k`, `12k`, `3.4M`: short, for table cells (the exact figure goes in a tooltip).
pub(crate) fn compact(value: i64) -> String {
    let magnitude = value.unsigned_abs();
    let sign = if value < 0 { "-" } else { "" };
    let scaled = |unit: u64, suffix: &str| {
        let tenths = magnitude / (unit / 10);
        if tenths < 100 && !tenths.is_multiple_of(10) {
            format!("{sign}{}.{}{suffix}", tenths / 10, tenths % 10)
        } else {
            format!("{sign}{}{suffix}", magnitude / unit)
        }
    };
    match magnitude {
        0..1_000 => value.to_string(),
        1_000..1_000_000 => scaled(1_000, "k"),
        1_000_000..1_000_000_000 => scaled(1_000_000, "M"),
        _ => scaled(1_000_000_000, "G"),
    }
}

fn timestamp(ms: i64) -> Option<jiff::Timestamp> {
    jiff::Timestamp::from_millisecond(ms).ok()
}

/// `2026-11-25T10:00:03Z`: for `<time datetime>` and links (whole seconds).
pub(crate) fn iso(ms: i64) -> String {
    timestamp(ms.div_euclid(SECOND_MS) * SECOND_MS)
        .map(|ts| ts.strftime("%Y-%m-%dT%H:%M:%SZ").to_string())
        .unwrap_or_else(|| ms.to_string())
}

/// `2026-11-25 10:00:03 UTC`: for tooltips and the range line.
pub(crate) fn absolute(ms: i64) -> String {
    timestamp(ms)
        .map(|ts| ts.strftime("%Y-%m-%d %H:%M:%S UTC").to_string())
        .unwrap_or_else(|| format!("{ms} ms"))
}

/// `10:00 UTC` within a day of `now_ms`, else `2026-11-25 10:00 UTC`.
pub(crate) fn short_absolute(ms: i64, now_ms: i64) -> String {
    let format = if (now_ms - ms).abs() < DAY_MS {
        "%H:%M UTC"
    } else {
        "%Y-%m-%d %H:%M UTC"
    };
    timestamp(ms)
        .map(|ts| ts.strftime(format).to_string())
        .unwrap_or_else(|| format!("{ms} ms"))
}

/// `12s`, `4m`, `3h`, `2d`: the rounded size of a duration.
pub(crate) fn span(ms: i64) -> String {
    let ms = ms.abs();
    match ms {
        ms if ms < MINUTE_MS => format!("{}s", ms / SECOND_MS),
        ms if ms < 90 * MINUTE_MS => format!("{}m", ms / MINUTE_MS),
        ms if ms < 36 * HOUR_MS => format!("{}h", ms / HOUR_MS),
        ms => format!("{}d", ms / DAY_MS),
    }
}

/// `12s ago`, `3h ago`, `in 2m`; a date past 30 days.
pub(crate) fn relative(ms: i64, now_ms: i64) -> String {
    let age = now_ms - ms;
    if age.abs() < 5 * SECOND_MS {
        return "just now".into();
    }
    if age > 30 * DAY_MS {
        return timestamp(ms)
            .map(|ts| ts.strftime("%Y-%m-%d").to_string())
            .unwrap_or_else(|| format!("{ms} ms"));
    }
    if age < 0 {
        format!("in {}", span(age))
    } else {
        format!("{} ago", span(age))
    }
}

/// A relative time parameter (`now-90m`, `now-7h`, `now-8d`) reaching at least `ms` back.
pub(crate) fn lookback_param(ms: i64) -> String {
    let ms = ms.max(MINUTE_MS);
    let up = |unit: i64| (ms + unit - 1) / unit;
    if ms % DAY_MS == 0 {
        format!("now-{}d", ms / DAY_MS)
    } else if ms % HOUR_MS == 0 {
        format!("now-{}h", ms / HOUR_MS)
    } else if ms <= 2 * HOUR_MS {
        format!("now-{}m", up(MINUTE_MS))
    } else if ms <= 3 * DAY_MS {
        format!("now-{}h", up(HOUR_MS))
    } else {
        format!("now-{}d", up(DAY_MS))
    }
}

/// `5-minute`, `1-hour`, `30-second`: a bucket width as an adjective.
pub(crate) fn bucket_label(ms: i64) -> String {
    let (amount, unit) = match ms {
        ms if ms % DAY_MS == 0 => (ms / DAY_MS, "day"),
        ms if ms % HOUR_MS == 0 => (ms / HOUR_MS, "hour"),
        ms if ms % MINUTE_MS == 0 => (ms / MINUTE_MS, "minute"),
        ms => (ms / SECOND_MS, "second"),
    };
    format!("{amount}-{unit}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_are_grouped_and_compact() {
        assert_eq!(count(0), "0");
        assert_eq!(count(4812), "4\u{202f}812");
        assert_eq!(count(-1_234_567), "-1\u{202f}234\u{202f}567");
        assert_eq!(compact(999), "999");
        assert_eq!(compact(1000), "1k");
        assert_eq!(compact(1234), "1.2k");
        assert_eq!(compact(12_345), "12k");
        assert_eq!(compact(3_400_000), "3.4M");
        assert_eq!(compact(i64::MIN), "-9223372036G");
    }

    #[test]
    fn times_read_relative_and_absolute() {
        let now = 100 * DAY_MS;
        assert_eq!(relative(now - 2_000, now), "just now");
        assert_eq!(relative(now - 12_000, now), "12s ago");
        assert_eq!(relative(now - 3 * HOUR_MS, now), "3h ago");
        assert_eq!(relative(now + 2 * MINUTE_MS, now), "in 2m");
        assert_eq!(relative(now - 40 * DAY_MS, now), "1970-03-02");
        assert_eq!(absolute(1_000), "1970-01-01 00:00:01 UTC");
        assert_eq!(iso(1_999), "1970-01-01T00:00:01Z");
    }

    #[test]
    fn lookbacks_round_up() {
        assert_eq!(lookback_param(90 * MINUTE_MS + 1), "now-91m");
        assert_eq!(lookback_param(5 * HOUR_MS), "now-5h");
        assert_eq!(lookback_param(10 * DAY_MS - 1), "now-10d");
        assert_eq!(lookback_param(2 * HOUR_MS), "now-2h");
        assert_eq!(lookback_param(48 * HOUR_MS), "now-2d");
        assert_eq!(bucket_label(300_000), "5-minute");
        assert_eq!(bucket_label(HOUR_MS), "1-hour");
    }
}
