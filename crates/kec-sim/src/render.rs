//! Cheap renderers for the strings Kubernetes puts in an Event: RFC 3339 times, uids, the
//! random suffixes of generated names, and `<object>.<hex nanos>` Event names.
//!
//! They write straight into a `String` without `format!` because the synthetic load renders
//! millions of them and the benchmark measures the store, not the generator.

use rand::Rng;

/// The alphabet of `k8s.io/apimachinery/pkg/util/rand.String`: no vowels (no accidental words),
/// no `0`, `1`, `3` (look like letters). ReplicaSet hashes and pod suffixes use it.
const SAFE_ALPHABET: &[u8] = b"bcdfghjklmnpqrstvwxz2456789";

const HEX_DIGITS: &[u8; 16] = b"0123456789abcdef";

const MS_PER_SECOND: i64 = 1_000;
const SECONDS_PER_DAY: i64 = 86_400;

/// Year, month (1-12) and day (1-31) of a day counted from 1970-01-01, proleptic Gregorian.
///
/// Howard Hinnant's `civil_from_days`: exact for every `i64` day that fits a year in `i64`.
fn civil_from_days(days_since_epoch: i64) -> (i64, i64, i64) {
    let shifted = days_since_epoch + 719_468;
    let era = shifted.div_euclid(146_097);
    let day_of_era = shifted.rem_euclid(146_097);
    let year_of_era =
        (day_of_era - day_of_era / 1_460 + day_of_era / 36_524 - day_of_era / 146_096) / 365;
    let day_of_year = day_of_era - (365 * year_of_era + year_of_era / 4 - year_of_era / 100);
    let month_index = (5 * day_of_year + 2) / 153;
    let day = day_of_year - (153 * month_index + 2) / 5 + 1;
    let month = if month_index < 10 {
        month_index + 3
    } else {
        month_index - 9
    };
    let year = year_of_era + era * 400 + i64::from(month <= 2);
    (year, month, day)
}

/// Appends `value` as exactly `width` decimal digits (callers pass values that fit).
fn push_padded(out: &mut String, value: i64, width: u32) {
    let mut divisor = 10_i64.pow(width.saturating_sub(1));
    let mut rest = value.rem_euclid(10_i64.pow(width));
    while divisor > 0 {
        let digit = rest / divisor;
        out.push(char::from(b'0' + u8::try_from(digit).unwrap_or(0)));
        rest %= divisor;
        divisor /= 10;
    }
}

fn push_date_time(out: &mut String, ms: i64) {
    let seconds = ms.div_euclid(MS_PER_SECOND);
    let (year, month, day) = civil_from_days(seconds.div_euclid(SECONDS_PER_DAY));
    let second_of_day = seconds.rem_euclid(SECONDS_PER_DAY);
    // Years outside 0..=9999 cannot be written in RFC 3339; simulated clusters never get there.
    push_padded(out, year.clamp(0, 9_999), 4);
    out.push('-');
    push_padded(out, month, 2);
    out.push('-');
    push_padded(out, day, 2);
    out.push('T');
    push_padded(out, second_of_day / 3_600, 2);
    out.push(':');
    push_padded(out, second_of_day / 60 % 60, 2);
    out.push(':');
    push_padded(out, second_of_day % 60, 2);
}

/// `metav1.Time` as the API server writes it: whole seconds, UTC (`2026-11-25T10:00:00Z`).
pub(crate) fn time_seconds(ms: i64) -> String {
    let mut out = String::with_capacity(20);
    push_date_time(&mut out, ms);
    out.push('Z');
    out
}

/// `metav1.MicroTime` as the API server writes it: six fractional digits
/// (`2026-11-25T10:00:00.123456Z`). `extra_micros` (0-999) adds the sub-millisecond part.
pub(crate) fn time_micros(ms: i64, extra_micros: u32) -> String {
    let mut out = String::with_capacity(27);
    push_date_time(&mut out, ms);
    out.push('.');
    let micros = ms.rem_euclid(MS_PER_SECOND) * 1_000 + i64::from(extra_micros % 1_000);
    push_padded(&mut out, micros, 6);
    out.push('Z');
    out
}

/// A version-4 UUID (the format of every Kubernetes `metadata.uid`) from 128 random bits.
pub(crate) fn uuid_from_bits(high: u64, low: u64) -> String {
    // Version 4 in the 13th hex digit, RFC 4122 variant in the 17th, as `uuid.New()` makes them.
    let high = (high & 0xffff_ffff_ffff_0fff) | 0x0000_0000_0000_4000;
    let low = (low & 0x3fff_ffff_ffff_ffff) | 0x8000_0000_0000_0000;
    let mut out = String::with_capacity(36);
    for (position, nibble_index) in (0..32).enumerate() {
        if matches!(position, 8 | 12 | 16 | 20) {
            out.push('-');
        }
        let word = if nibble_index < 16 { high } else { low };
        let shift = 60 - 4 * (nibble_index % 16);
        out.push(char::from(HEX_DIGITS[((word >> shift) & 0xf) as usize]));
    }
    out
}

/// A random version-4 UUID.
pub(crate) fn uuid(rng: &mut impl Rng) -> String {
    uuid_from_bits(rng.random(), rng.random())
}

/// `length` characters of the safe alphabet chosen by the bits of `bits` (5 bits a character,
/// so up to 12 characters from one `u64`).
pub(crate) fn push_token_from_bits(out: &mut String, mut bits: u64, length: usize) {
    for _ in 0..length {
        let index = (bits & 0x1f) as usize % SAFE_ALPHABET.len();
        out.push(char::from(SAFE_ALPHABET[index]));
        bits >>= 5;
    }
}

/// A random token of the safe alphabet, like a ReplicaSet's pod-template-hash or a pod suffix.
pub(crate) fn token(rng: &mut impl Rng, length: usize) -> String {
    let mut out = String::with_capacity(length);
    let mut remaining = length;
    while remaining > 0 {
        let chunk = remaining.min(12);
        push_token_from_bits(&mut out, rng.random(), chunk);
        remaining -= chunk;
    }
    out
}

/// An Event name as client-go makes it: `<involved object name>.<UnixNano in hex>`.
pub(crate) fn event_name(object_name: &str, unix_nanos: i64) -> String {
    let mut out = String::with_capacity(object_name.len() + 17);
    out.push_str(object_name);
    out.push('.');
    push_hex(&mut out, unix_nanos.max(0).unsigned_abs());
    out
}

/// Appends `value` in lowercase hex without leading zeros (Go's `%x`).
pub(crate) fn push_hex(out: &mut String, value: u64) {
    if value == 0 {
        out.push('0');
        return;
    }
    let digits = (64 - value.leading_zeros()).div_ceil(4);
    for index in (0..digits).rev() {
        out.push(char::from(
            HEX_DIGITS[((value >> (4 * index)) & 0xf) as usize],
        ));
    }
}

/// Appends `value` in decimal.
pub(crate) fn push_decimal(out: &mut String, value: u64) {
    let mut buffer = [0_u8; 20];
    let mut position = buffer.len();
    let mut rest = value;
    loop {
        position -= 1;
        buffer[position] = b'0' + (rest % 10) as u8;
        rest /= 10;
        if rest == 0 {
            break;
        }
    }
    for digit in &buffer[position..] {
        out.push(char::from(*digit));
    }
}

/// SplitMix64: a cheap, well-mixed hash of one `u64`, used to derive stable per-object
/// properties from an index instead of storing them.
pub(crate) fn mix64(value: u64) -> u64 {
    let mut mixed = value.wrapping_add(0x9e37_79b9_7f4a_7c15);
    mixed = (mixed ^ (mixed >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    mixed = (mixed ^ (mixed >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    mixed ^ (mixed >> 31)
}

#[cfg(test)]
// Tests may unwrap: a panic is how they fail.
#[allow(clippy::unwrap_used)]
mod tests {
    use rand::SeedableRng;

    use super::*;

    fn jiff_seconds(ms: i64) -> String {
        let timestamp = jiff::Timestamp::from_millisecond(ms).unwrap();
        timestamp.strftime("%Y-%m-%dT%H:%M:%SZ").to_string()
    }

    #[test]
    fn times_match_jiff() {
        let mut rng = rand::rngs::SmallRng::seed_from_u64(3);
        for ms in [0_i64, 951_782_400_000, 1_795_564_800_000, 4_102_444_799_999] {
            assert_eq!(time_seconds(ms), jiff_seconds(ms), "{ms}");
        }
        for _ in 0..10_000 {
            let ms = rng.random_range(0..4_102_444_800_000_i64);
            assert_eq!(time_seconds(ms), jiff_seconds(ms), "{ms}");
            let micros = time_micros(ms, 7);
            let parsed: jiff::Timestamp = micros.parse().unwrap();
            assert_eq!(parsed.as_microsecond(), ms * 1_000 + 7, "{micros}");
        }
    }

    #[test]
    fn uuid_and_names_have_kubernetes_shapes() {
        let uid = uuid_from_bits(u64::MAX, 0);
        assert_eq!(uid, "ffffffff-ffff-4fff-8000-000000000000");
        assert_eq!(uid.len(), 36);
        assert_eq!(
            event_name("web-1", 0x1879_a1b2_c3d4_e5f6),
            "web-1.1879a1b2c3d4e5f6"
        );
        let mut rng = rand::rngs::SmallRng::seed_from_u64(1);
        let suffix = token(&mut rng, 5);
        assert_eq!(suffix.len(), 5);
        assert!(suffix.bytes().all(|byte| SAFE_ALPHABET.contains(&byte)));
        assert_eq!(token(&mut rng, 30).len(), 30);
        let mut decimal = String::new();
        push_decimal(&mut decimal, 0);
        push_decimal(&mut decimal, 18_446_744_073_709_551_615);
        assert_eq!(decimal, "018446744073709551615");
    }
}
