//! Go's `time.ParseDuration`: `"300ms"`, `"-1.5h"`, `"2h45m"`, `"0"`.

/// Nanoseconds per unit, as Go spells the units.
const UNITS: &[(&str, i128)] = &[
    ("ns", 1),
    ("us", 1_000),
    ("\u{b5}s", 1_000),
    ("\u{3bc}s", 1_000),
    ("ms", 1_000_000),
    ("s", 1_000_000_000),
    ("m", 60_000_000_000),
    ("h", 3_600_000_000_000),
];

/// Parses a Go duration string into nanoseconds (may be negative, like Go's).
pub fn parse_go_duration(text: &str) -> Result<i64, String> {
    let invalid =
        || format!("invalid duration {text:?} (Go syntax, e.g. \"30s\", \"5m\", \"1h30m\")");
    let (negative, mut rest) = match text.as_bytes().first() {
        Some(b'-') => (true, &text[1..]),
        Some(b'+') => (false, &text[1..]),
        _ => (false, text),
    };
    if rest == "0" {
        return Ok(0);
    }
    if rest.is_empty() {
        return Err(invalid());
    }
    let mut total: i128 = 0;
    while !rest.is_empty() {
        let integer_len = rest.bytes().take_while(u8::is_ascii_digit).count();
        let (integer, after) = rest.split_at(integer_len);
        let (fraction, after) = match after.strip_prefix('.') {
            Some(tail) => {
                let len = tail.bytes().take_while(u8::is_ascii_digit).count();
                tail.split_at(len)
            }
            None => ("", after),
        };
        if integer.is_empty() && fraction.is_empty() {
            return Err(invalid());
        }
        let unit_len = after
            .char_indices()
            .find(|(_, c)| c.is_ascii_digit() || *c == '.')
            .map_or(after.len(), |(index, _)| index);
        let (unit, tail) = after.split_at(unit_len);
        let Some(&(_, scale)) = UNITS.iter().find(|(name, _)| *name == unit) else {
            return Err(if unit.is_empty() {
                format!("missing unit in duration {text:?}")
            } else {
                format!("unknown unit {unit:?} in duration {text:?}")
            });
        };
        let whole: i128 = if integer.is_empty() {
            0
        } else {
            integer.parse().map_err(|_| invalid())?
        };
        let mut part = whole.checked_mul(scale).ok_or_else(invalid)?;
        let mut divisor: i128 = 1;
        let mut fraction_value: i128 = 0;
        for digit in fraction.bytes().take(18) {
            fraction_value = fraction_value * 10 + i128::from(digit - b'0');
            divisor *= 10;
        }
        part += fraction_value * scale / divisor;
        total = total.checked_add(part).ok_or_else(invalid)?;
        if total > i128::from(i64::MAX) {
            return Err(invalid());
        }
        rest = tail;
    }
    let signed = if negative { -total } else { total };
    i64::try_from(signed).map_err(|_| invalid())
}

#[cfg(test)]
mod tests {
    use super::parse_go_duration;

    #[test]
    fn parses_the_forms_npd_configs_use() {
        assert_eq!(parse_go_duration("5m"), Ok(300_000_000_000));
        assert_eq!(parse_go_duration("30s"), Ok(30_000_000_000));
        assert_eq!(parse_go_duration("0"), Ok(0));
        assert_eq!(parse_go_duration("10h"), Ok(36_000_000_000_000));
        assert_eq!(parse_go_duration("1h30m"), Ok(5_400_000_000_000));
        assert_eq!(parse_go_duration("1.5s"), Ok(1_500_000_000));
        assert_eq!(parse_go_duration("300ms"), Ok(300_000_000));
        assert_eq!(parse_go_duration("-2s"), Ok(-2_000_000_000));
        assert_eq!(parse_go_duration("1\u{b5}s"), Ok(1_000));
    }

    #[test]
    fn rejects_what_go_rejects() {
        for bad in ["", "5", "s", "5x", "1.s.", "-", "5 m", "99999999999999h"] {
            assert!(
                parse_go_duration(bad).is_err(),
                "{bad:?} should be rejected"
            );
        }
    }
}
