//! Times are milliseconds since the Unix epoch (UTC) in an `i64` everywhere in kec: they sort,
//! they fit ClickHouse's `Int64` and tantivy's fast fields, and they carry no time zone.

/// Milliseconds in a day; partitions are UTC days.
pub const DAY_MS: i64 = 86_400_000;

/// The UTC day (days since 1970-01-01) that holds `ms`.
pub fn day_of(ms: i64) -> i64 {
    ms.div_euclid(DAY_MS)
}

/// `jiff` timestamp to epoch milliseconds.
pub fn to_ms(ts: jiff::Timestamp) -> i64 {
    ts.as_millisecond()
}

/// Epoch milliseconds to an RFC 3339 string, or `None` when out of range.
pub fn format_ms(ms: i64) -> Option<String> {
    jiff::Timestamp::from_millisecond(ms)
        .ok()
        .map(|ts| ts.to_string())
}

/// Parses an RFC 3339 time (`2026-11-25T10:00:00Z`) or a plain integer of epoch milliseconds.
pub fn parse_time(text: &str) -> Option<i64> {
    let text = text.trim();
    if let Ok(ms) = text.parse::<i64>() {
        return Some(ms);
    }
    text.parse::<jiff::Timestamp>().ok().map(to_ms)
}

/// The current wall-clock time in epoch milliseconds.
pub fn now_ms() -> i64 {
    to_ms(jiff::Timestamp::now())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn day_of_handles_negative_times() {
        assert_eq!(day_of(0), 0);
        assert_eq!(day_of(DAY_MS - 1), 0);
        assert_eq!(day_of(DAY_MS), 1);
        assert_eq!(day_of(-1), -1);
    }

    #[test]
    fn parse_time_accepts_rfc3339_and_millis() {
        assert_eq!(parse_time("1970-01-01T00:00:01Z"), Some(1000));
        assert_eq!(parse_time("1500"), Some(1500));
        assert_eq!(parse_time("yesterday"), None);
        assert_eq!(format_ms(1000).as_deref(), Some("1970-01-01T00:00:01Z"));
    }
}
