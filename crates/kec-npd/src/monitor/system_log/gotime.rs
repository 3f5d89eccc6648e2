//! Go's reference-time layouts (`"Jan _2 15:04:05"`, `"2006-01-02T15:04:05.999999999-07:00"`)
//! and a parser that follows Go's `time.Parse` rules: runs of spaces in the layout match runs
//! of spaces in the value, `_2` accepts a leading space, a fractional second after the seconds
//! is accepted even when the layout has none, all input must be consumed, and a missing year
//! becomes the current one (NPD's `formalizeTimestamp`). Zone: a numeric offset or `Z` in the
//! value wins; otherwise the given zone (NPD uses the host's local zone).

use jiff::civil::DateTime;
use jiff::tz::{Offset, TimeZone};

#[derive(Debug, Clone, PartialEq, Eq)]
enum Chunk {
    Literal(String),
    LongMonth,
    Month,
    NumMonth {
        zero: bool,
    },
    LongWeekDay,
    WeekDay,
    Day {
        zero: bool,
        under: bool,
    },
    LongYear,
    Year,
    Hour,
    Hour12 {
        zero: bool,
    },
    Minute {
        zero: bool,
    },
    Second {
        zero: bool,
    },
    PmUpper,
    PmLower,
    ZoneName,
    /// `-0700`, `-07:00`, `-07` (and `Z...` forms that also accept `Z`).
    NumZone {
        colon: bool,
        short: bool,
        z: bool,
    },
    /// `.000` (exactly n digits) or `.999` (optional, up to 9 digits).
    Fraction {
        digits: usize,
        optional: bool,
    },
}

/// A compiled Go time layout.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GoLayout {
    chunks: Vec<Chunk>,
    has_year: bool,
}

const SHORT_MONTHS: [&str; 12] = [
    "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
];
const LONG_MONTHS: [&str; 12] = [
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
];
const SHORT_DAYS: [&str; 7] = ["Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"];
const LONG_DAYS: [&str; 7] = [
    "Sunday",
    "Monday",
    "Tuesday",
    "Wednesday",
    "Thursday",
    "Friday",
    "Saturday",
];

/// The std chunk at the start of `rest`, and its length in bytes (Go's `nextStdChunk`).
fn std_chunk(rest: &str) -> Result<Option<(Chunk, usize)>, String> {
    let starts = |prefix: &str| rest.starts_with(prefix);
    let chunk = match rest.as_bytes().first() {
        Some(b'J') if starts("January") => (Chunk::LongMonth, 7),
        Some(b'J') if starts("Jan") => (Chunk::Month, 3),
        Some(b'M') if starts("Monday") => (Chunk::LongWeekDay, 6),
        Some(b'M') if starts("Mon") => (Chunk::WeekDay, 3),
        Some(b'M') if starts("MST") => (Chunk::ZoneName, 3),
        Some(b'0') if starts("002") => {
            return Err("day-of-year layouts (002, __2) are not supported".to_string());
        }
        Some(b'0') if starts("01") => (Chunk::NumMonth { zero: true }, 2),
        Some(b'0') if starts("02") => (
            Chunk::Day {
                zero: true,
                under: false,
            },
            2,
        ),
        Some(b'0') if starts("03") => (Chunk::Hour12 { zero: true }, 2),
        Some(b'0') if starts("04") => (Chunk::Minute { zero: true }, 2),
        Some(b'0') if starts("05") => (Chunk::Second { zero: true }, 2),
        Some(b'0') if starts("06") => (Chunk::Year, 2),
        Some(b'1') if starts("15") => (Chunk::Hour, 2),
        Some(b'1') => (Chunk::NumMonth { zero: false }, 1),
        Some(b'2') if starts("2006") => (Chunk::LongYear, 4),
        Some(b'2') => (
            Chunk::Day {
                zero: false,
                under: false,
            },
            1,
        ),
        Some(b'_') if starts("__2") => {
            return Err("day-of-year layouts (002, __2) are not supported".to_string());
        }
        Some(b'_') if starts("_2") && !starts("_2006") => (
            Chunk::Day {
                zero: false,
                under: true,
            },
            2,
        ),
        Some(b'3') => (Chunk::Hour12 { zero: false }, 1),
        Some(b'4') => (Chunk::Minute { zero: false }, 1),
        Some(b'5') => (Chunk::Second { zero: false }, 1),
        Some(b'P') if starts("PM") => (Chunk::PmUpper, 2),
        Some(b'p') if starts("pm") => (Chunk::PmLower, 2),
        Some(b'-') | Some(b'Z') => {
            let z = rest.starts_with('Z');
            let body = &rest[1..];
            if body.starts_with("070000") || body.starts_with("07:00:00") {
                return Err("zone offsets with seconds are not supported".to_string());
            } else if body.starts_with("0700") {
                (
                    Chunk::NumZone {
                        colon: false,
                        short: false,
                        z,
                    },
                    5,
                )
            } else if body.starts_with("07:00") {
                (
                    Chunk::NumZone {
                        colon: true,
                        short: false,
                        z,
                    },
                    6,
                )
            } else if body.starts_with("07") {
                (
                    Chunk::NumZone {
                        colon: false,
                        short: true,
                        z,
                    },
                    3,
                )
            } else {
                return Ok(None);
            }
        }
        Some(&separator @ (b'.' | b',')) => {
            let bytes = rest.as_bytes();
            match bytes.get(1) {
                Some(&digit @ (b'0' | b'9')) => {
                    let run = bytes[1..].iter().take_while(|b| **b == digit).count();
                    if bytes.get(1 + run).is_some_and(u8::is_ascii_digit) {
                        return Ok(None);
                    }
                    let _ = separator;
                    (
                        Chunk::Fraction {
                            digits: run,
                            optional: digit == b'9',
                        },
                        1 + run,
                    )
                }
                _ => return Ok(None),
            }
        }
        _ => return Ok(None),
    };
    Ok(Some(chunk))
}

impl GoLayout {
    /// Compiles a layout; day-of-year and second-precision offsets are rejected.
    pub fn compile(layout: &str) -> Result<GoLayout, String> {
        let mut chunks = Vec::new();
        let mut literal = String::new();
        let mut rest = layout;
        while let Some(c) = rest.chars().next() {
            match std_chunk(rest)
                .map_err(|reason| format!("timestamp layout {layout:?}: {reason}"))?
            {
                Some((chunk, len)) => {
                    if !literal.is_empty() {
                        chunks.push(Chunk::Literal(std::mem::take(&mut literal)));
                    }
                    chunks.push(chunk);
                    rest = &rest[len..];
                }
                None => {
                    literal.push(c);
                    rest = &rest[c.len_utf8()..];
                }
            }
        }
        if !literal.is_empty() {
            chunks.push(Chunk::Literal(literal));
        }
        let has_year = chunks
            .iter()
            .any(|c| matches!(c, Chunk::LongYear | Chunk::Year));
        Ok(GoLayout { chunks, has_year })
    }

    /// Parses a value; `zone` applies when the value carries no offset, `current_year` when
    /// the layout has no year. Returns milliseconds since the Unix epoch.
    pub fn parse(&self, value: &str, zone: &TimeZone, current_year: i16) -> Result<i64, String> {
        let bad = |what: &str| format!("cannot parse {value:?} as {what}");
        let mut rest = value;
        let mut year: i64 = i64::from(current_year);
        let mut month: i64 = 1;
        let mut day: i64 = 1;
        let mut hour: i64 = 0;
        let mut minute: i64 = 0;
        let mut second: i64 = 0;
        let mut nanos: i64 = 0;
        let mut pm: Option<bool> = None;
        let mut offset: Option<i32> = None;
        for (index, chunk) in self.chunks.iter().enumerate() {
            match chunk {
                Chunk::Literal(text) => rest = skip(rest, text).ok_or_else(|| bad(text))?,
                Chunk::LongMonth => {
                    let (found, tail) = lookup(rest, &LONG_MONTHS).ok_or_else(|| bad("month"))?;
                    month = found + 1;
                    rest = tail;
                }
                Chunk::Month => {
                    let (found, tail) = lookup(rest, &SHORT_MONTHS).ok_or_else(|| bad("month"))?;
                    month = found + 1;
                    rest = tail;
                }
                Chunk::NumMonth { zero } => {
                    (month, rest) = number(rest, *zero).ok_or_else(|| bad("month"))?;
                    if !(1..=12).contains(&month) {
                        return Err(bad("month (out of range)"));
                    }
                }
                Chunk::LongWeekDay => {
                    rest = lookup(rest, &LONG_DAYS).ok_or_else(|| bad("weekday"))?.1;
                }
                Chunk::WeekDay => {
                    rest = lookup(rest, &SHORT_DAYS).ok_or_else(|| bad("weekday"))?.1;
                }
                Chunk::Day { zero, under } => {
                    if *under && rest.starts_with(' ') {
                        rest = &rest[1..];
                    }
                    (day, rest) = number(rest, *zero).ok_or_else(|| bad("day"))?;
                }
                Chunk::LongYear => {
                    let digits = rest.get(..4).ok_or_else(|| bad("year"))?;
                    if !digits.bytes().all(|b| b.is_ascii_digit()) {
                        return Err(bad("year"));
                    }
                    year = digits.parse().map_err(|_| bad("year"))?;
                    rest = &rest[4..];
                }
                Chunk::Year => {
                    let (two, tail) = number(rest, true).ok_or_else(|| bad("year"))?;
                    year = if two >= 69 { 1900 + two } else { 2000 + two };
                    rest = tail;
                }
                Chunk::Hour => {
                    (hour, rest) = number(rest, false).ok_or_else(|| bad("hour"))?;
                    if hour > 23 {
                        return Err(bad("hour (out of range)"));
                    }
                }
                Chunk::Hour12 { zero } => {
                    (hour, rest) = number(rest, *zero).ok_or_else(|| bad("hour"))?;
                    if hour > 12 {
                        return Err(bad("hour (out of range)"));
                    }
                }
                Chunk::Minute { zero } => {
                    (minute, rest) = number(rest, *zero).ok_or_else(|| bad("minute"))?;
                    if minute > 59 {
                        return Err(bad("minute (out of range)"));
                    }
                }
                Chunk::Second { zero } => {
                    (second, rest) = number(rest, *zero).ok_or_else(|| bad("second"))?;
                    if second > 59 {
                        return Err(bad("second (out of range)"));
                    }
                    // Go accepts a fractional second here when the layout has none next.
                    let next_is_fraction =
                        matches!(self.chunks.get(index + 1), Some(Chunk::Fraction { .. }));
                    let bytes = rest.as_bytes();
                    if !next_is_fraction
                        && matches!(bytes.first(), Some(b'.' | b','))
                        && bytes.get(1).is_some_and(u8::is_ascii_digit)
                    {
                        let len = 1 + bytes[1..].iter().take_while(|b| b.is_ascii_digit()).count();
                        nanos = fraction_nanos(&rest[1..len]);
                        rest = &rest[len..];
                    }
                }
                Chunk::PmUpper | Chunk::PmLower => {
                    let (am, p) = if *chunk == Chunk::PmUpper {
                        ("AM", "PM")
                    } else {
                        ("am", "pm")
                    };
                    let word = rest.get(..2).ok_or_else(|| bad("AM/PM"))?;
                    pm = Some(if word == p {
                        true
                    } else if word == am {
                        false
                    } else {
                        return Err(bad("AM/PM"));
                    });
                    rest = &rest[2..];
                }
                Chunk::ZoneName => {
                    let len = rest.bytes().take_while(u8::is_ascii_uppercase).count();
                    if !(3..=5).contains(&len) {
                        return Err(bad("time zone name"));
                    }
                    if matches!(&rest[..len], "UTC" | "GMT") {
                        offset = Some(0);
                    }
                    rest = &rest[len..];
                }
                Chunk::NumZone { colon, short, z } => {
                    if *z && rest.starts_with('Z') {
                        offset = Some(0);
                        rest = &rest[1..];
                        continue;
                    }
                    let sign = match rest.as_bytes().first() {
                        Some(b'+') => 1,
                        Some(b'-') => -1,
                        _ => return Err(bad("zone offset")),
                    };
                    let (hours, tail) =
                        number(&rest[1..], true).ok_or_else(|| bad("zone offset"))?;
                    let mut tail = tail;
                    let mut minutes = 0;
                    if !short {
                        if *colon {
                            tail = tail.strip_prefix(':').ok_or_else(|| bad("zone offset"))?;
                        }
                        (minutes, tail) = number(tail, true).ok_or_else(|| bad("zone offset"))?;
                    }
                    let seconds = sign * (hours * 3600 + minutes * 60);
                    offset = Some(i32::try_from(seconds).map_err(|_| bad("zone offset"))?);
                    rest = tail;
                }
                Chunk::Fraction { digits, optional } => {
                    let bytes = rest.as_bytes();
                    let has = matches!(bytes.first(), Some(b'.' | b','))
                        && bytes.get(1).is_some_and(u8::is_ascii_digit);
                    if !has {
                        if *optional {
                            continue;
                        }
                        return Err(bad("fractional second"));
                    }
                    let run = bytes[1..].iter().take_while(|b| b.is_ascii_digit()).count();
                    let take = if *optional { run } else { *digits };
                    if run < take || take > 9 {
                        return Err(bad("fractional second"));
                    }
                    nanos = fraction_nanos(&rest[1..1 + take]);
                    rest = &rest[1 + take..];
                }
            }
        }
        if !rest.is_empty() {
            return Err(format!("cannot parse {value:?}: extra text {rest:?}"));
        }
        match pm {
            Some(true) if hour < 12 => hour += 12,
            Some(false) if hour == 12 => hour = 0,
            _ => {}
        }
        let _ = self.has_year;
        let narrow = |n: i64| i8::try_from(n).map_err(|_| bad("date"));
        let datetime = DateTime::new(
            i16::try_from(year).map_err(|_| bad("year"))?,
            narrow(month)?,
            narrow(day)?,
            narrow(hour)?,
            narrow(minute)?,
            narrow(second)?,
            i32::try_from(nanos).map_err(|_| bad("fractional second"))?,
        )
        .map_err(|error| format!("cannot parse {value:?}: {error}"))?;
        let zoned = match offset {
            Some(seconds) => {
                let offset = Offset::from_seconds(seconds).map_err(|_| bad("zone offset"))?;
                datetime.to_zoned(TimeZone::fixed(offset))
            }
            None => datetime.to_zoned(zone.clone()),
        }
        .map_err(|error| format!("cannot parse {value:?}: {error}"))?;
        Ok(zoned.timestamp().as_millisecond())
    }

    /// Whether the layout carries a year (else the current year is used).
    pub fn has_year(&self) -> bool {
        self.has_year
    }
}

/// Go's `skip`: a run of spaces in the layout matches a run of spaces in the value.
fn skip<'v>(mut value: &'v str, mut prefix: &str) -> Option<&'v str> {
    while let Some(first) = prefix.chars().next() {
        if first == ' ' {
            if value.chars().next().is_some_and(|c| c != ' ') {
                return None;
            }
            prefix = prefix.trim_start_matches(' ');
            value = value.trim_start_matches(' ');
            continue;
        }
        value = value.strip_prefix(first)?;
        prefix = &prefix[first.len_utf8()..];
    }
    Some(value)
}

/// Go's `getnum`: one or two digits (exactly two when `fixed`).
fn number(value: &str, fixed: bool) -> Option<(i64, &str)> {
    let bytes = value.as_bytes();
    let first = *bytes.first().filter(|b| b.is_ascii_digit())?;
    match bytes.get(1) {
        Some(second) if second.is_ascii_digit() => Some((
            i64::from(first - b'0') * 10 + i64::from(second - b'0'),
            &value[2..],
        )),
        _ if fixed => None,
        _ => Some((i64::from(first - b'0'), &value[1..])),
    }
}

/// Case-insensitive lookup of a name at the start of the value.
fn lookup<'v>(value: &'v str, names: &[&str]) -> Option<(i64, &'v str)> {
    names.iter().enumerate().find_map(|(index, name)| {
        let head = value.get(..name.len())?;
        head.eq_ignore_ascii_case(name)
            .then(|| (i64::try_from(index).unwrap_or(0), &value[name.len()..]))
    })
}

/// Digits after the decimal point as nanoseconds (extra digits beyond 9 are truncated).
fn fraction_nanos(digits: &str) -> i64 {
    let mut nanos: i64 = 0;
    let mut scale = 100_000_000;
    for digit in digits.bytes().take(9) {
        nanos += i64::from(digit - b'0') * scale;
        scale /= 10;
    }
    nanos
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(layout: &str, value: &str) -> Result<i64, String> {
        GoLayout::compile(layout)?.parse(value, &TimeZone::UTC, 2026)
    }

    fn ms(text: &str) -> i64 {
        text.parse::<jiff::Timestamp>()
            .map(|t| t.as_millisecond())
            .unwrap_or(i64::MIN)
    }

    #[test]
    fn syslog_layout_of_kernel_monitor_filelog() {
        // kernel-monitor-filelog.json: "timestamp": "^.{15}", "timestampFormat": "Jan _2 15:04:05"
        assert_eq!(
            parse("Jan _2 15:04:05", "Jan  2 15:04:05"),
            Ok(ms("2026-01-02T15:04:05Z"))
        );
        assert_eq!(
            parse("Jan _2 15:04:05", "Nov 25 19:45:24"),
            Ok(ms("2026-11-25T19:45:24Z"))
        );
        assert_eq!(
            parse("Jan _2 15:04:05", "nov 25 19:45:24"),
            Ok(ms("2026-11-25T19:45:24Z"))
        );
    }

    #[test]
    fn rfc3339_nano_layout_of_docker_monitor_filelog() {
        let layout = "2006-01-02T15:04:05.999999999-07:00";
        assert_eq!(
            parse(layout, "2016-10-24T07:03:32.123456789+08:00"),
            Ok(ms("2016-10-23T23:03:32.123Z"))
        );
        // The optional fraction may be absent or shorter.
        assert_eq!(
            parse(layout, "2016-10-24T07:03:32-07:00"),
            Ok(ms("2016-10-24T14:03:32Z"))
        );
        assert_eq!(
            parse(layout, "2016-10-24T07:03:32.5+00:00"),
            Ok(ms("2016-10-24T07:03:32.5Z"))
        );
    }

    #[test]
    fn z_layout_of_windows_containerd_monitor() {
        let layout = "2006-01-02T15:04:05.999999999Z";
        assert_eq!(
            parse(layout, "2024-03-01T10:00:00.25Z"),
            Ok(ms("2024-03-01T10:00:00.25Z"))
        );
    }

    #[test]
    fn go_parse_rules() {
        // A fraction after seconds is accepted without a fraction in the layout.
        assert_eq!(
            parse("15:04:05", "10:00:01.5"),
            Ok(ms("2026-01-01T10:00:01.5Z"))
        );
        assert_eq!(
            parse("3:04PM Jan 2 2006", "3:04PM Feb 3 2020"),
            Ok(ms("2020-02-03T15:04:00Z"))
        );
        assert_eq!(
            parse("Z0700 2006", "-0130 2020"),
            Ok(ms("2020-01-01T01:30:00Z"))
        );
        assert!(parse("Jan _2 15:04:05", "Jan  2 15:04:05 extra").is_err());
        assert!(parse("Jan _2 15:04:05", "Foo  2 15:04:05").is_err());
        assert!(parse("2006-01-02", "2021-02-30").is_err());
        assert!(parse("15:04:05", "24:00:00").is_err());
        assert!(GoLayout::compile("2006 002").is_err());
    }

    #[test]
    fn local_zone_applies_without_offset() {
        let zone = TimeZone::fixed(Offset::from_hours(2).unwrap_or(Offset::UTC));
        let layout = GoLayout::compile("2006-01-02 15:04:05").unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(
            layout.parse("2020-01-01 02:00:00", &zone, 2026),
            Ok(ms("2020-01-01T00:00:00Z"))
        );
    }
}
