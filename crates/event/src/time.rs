//! Event times: MozDef's timestamp format, and reading the many forms senders use.

use std::fmt;

use chrono::{DateTime, Datelike, NaiveDate, NaiveDateTime, TimeZone, Timelike, Utc};
use serde_json::Value;

/// Formats a time as MozDef did (`2017-08-24T22:49:42.123456+00:00`; no fraction when zero).
///
/// Every stored event formats three times, so the digits are written directly rather than
/// through `chrono`'s formatter (same output; checked against it in the tests).
pub fn format_timestamp(t: &DateTime<Utc>) -> String {
    let mut out = String::with_capacity(35);
    write_timestamp(&mut out, t);
    out
}

/// [`format_timestamp`] appended to `out` (to reuse a string's buffer).
pub fn write_timestamp(out: &mut String, t: &DateTime<Utc>) {
    let naive = t.naive_utc();
    let (date, time) = (naive.date(), naive.time());
    let (year, nanos) = (date.year(), time.nanosecond());
    // Years beyond four digits and leap seconds: chrono's own rules.
    if !(0..=9999).contains(&year) || nanos >= 1_000_000_000 {
        out.push_str(&t.to_rfc3339_opts(chrono::SecondsFormat::AutoSi, false));
        return;
    }
    let (frac, digits_n) = if nanos == 0 {
        (0, 0)
    } else if nanos % 1_000_000 == 0 {
        (nanos / 1_000_000, 3)
    } else if nanos % 1_000 == 0 {
        (nanos / 1_000, 6)
    } else {
        (nanos, 9)
    };
    // Written into a buffer and appended once: `YYYY-MM-DDTHH:MM:SS[.fffffffff]+00:00`.
    let mut b = *b"0000-00-00T00:00:00.000000000+00:00";
    fn digits(b: &mut [u8], mut v: u32) {
        for d in b.iter_mut().rev() {
            *d = b'0' + (v % 10) as u8;
            v /= 10;
        }
    }
    digits(&mut b[0..4], year as u32);
    digits(&mut b[5..7], date.month());
    digits(&mut b[8..10], date.day());
    digits(&mut b[11..13], time.hour());
    digits(&mut b[14..16], time.minute());
    digits(&mut b[17..19], time.second());
    let end = if digits_n > 0 {
        digits(&mut b[20..20 + digits_n], frac);
        20 + digits_n
    } else {
        19
    };
    b.copy_within(29..35, end);
    // Only ASCII digits and separators were written.
    if let Ok(text) = std::str::from_utf8(&b[..end + 6]) {
        out.push_str(text);
    }
}

/// Reads an RFC 3339 time to UTC, as `DateTime::parse_from_rfc3339` does; the form
/// [`write_timestamp`] writes (`YYYY-MM-DDTHH:MM:SS[.f]` then `+00:00` or `Z`), which the
/// rules read several times per event, without chrono's general parser.
pub fn read_rfc3339(s: &str) -> Option<DateTime<Utc>> {
    fast_rfc3339(s.as_bytes()).or_else(|| {
        DateTime::parse_from_rfc3339(s)
            .ok()
            .map(|t| t.with_timezone(&Utc))
    })
}

fn fast_rfc3339(b: &[u8]) -> Option<DateTime<Utc>> {
    fn num(b: &[u8]) -> Option<u32> {
        b.iter().try_fold(0u32, |n, &d| {
            d.is_ascii_digit().then(|| n * 10 + u32::from(d - b'0'))
        })
    }
    if b.len() < 20
        || b[4] != b'-'
        || b[7] != b'-'
        || b[10] != b'T'
        || b[13] != b':'
        || b[16] != b':'
    {
        return None;
    }
    let (rest, nanos) = match b.get(19) {
        Some(b'.') => {
            let n = b[20..].iter().take_while(|d| d.is_ascii_digit()).count();
            if n == 0 || n > 9 {
                return None;
            }
            let f = num(&b[20..20 + n])?;
            (&b[20 + n..], f * 10u32.pow(9 - n as u32))
        }
        _ => (&b[19..], 0),
    };
    if rest != b"+00:00" && rest != b"Z" {
        return None;
    }
    let sec = num(&b[17..19])?;
    // A leap second: chrono's rules.
    if sec > 59 {
        return None;
    }
    let date = NaiveDate::from_ymd_opt(num(&b[0..4])? as i32, num(&b[5..7])?, num(&b[8..10])?)?;
    let t = date.and_hms_nano_opt(num(&b[11..13])?, num(&b[14..16])?, sec, nanos)?;
    Some(t.and_utc())
}

/// `#[serde(with)]` of the event's times: written as [`format_timestamp`], read as RFC 3339.
pub(crate) mod ts {
    use chrono::{DateTime, Utc};
    use serde::{Deserialize, Deserializer, Serializer};

    use super::format_timestamp;

    pub fn serialize<S: Serializer>(t: &DateTime<Utc>, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&format_timestamp(t))
    }
    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<DateTime<Utc>, D::Error> {
        let s = String::deserialize(d)?;
        match super::read_rfc3339(&s) {
            Some(t) => Ok(t),
            None => DateTime::parse_from_rfc3339(&s)
                .map(|t| t.with_timezone(&Utc))
                .map_err(serde::de::Error::custom),
        }
    }
}

/// A timestamp that could not be read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TimeError {
    /// The value as sent.
    pub value: String,
}

impl fmt::Display for TimeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "cannot parse time '{}' (expected RFC 3339/ISO 8601, epoch seconds/ms/µs/ns, or a syslog date like 'Oct 27 14:01:12')",
            self.value
        )
    }
}

impl std::error::Error for TimeError {}

/// Scales an epoch number to seconds by magnitude, as MozDef's `toUTC` did (10 digits =
/// seconds; 13 = milliseconds; 16 = microseconds; 19 = nanoseconds).
fn from_epoch_int(n: u128) -> Option<DateTime<Utc>> {
    if n == 0 {
        return Utc.timestamp_opt(0, 0).single();
    }
    let digits = n.ilog10() + 1;
    let (secs, nanos) = if digits <= 10 {
        (n, 0)
    } else {
        let div = 10u128.checked_pow(digits - 10)?;
        (n / div, (n % div) * 1_000_000_000 / div)
    };
    Utc.timestamp_opt(i64::try_from(secs).ok()?, u32::try_from(nanos).ok()?)
        .single()
}

fn from_epoch(n: f64) -> Option<DateTime<Utc>> {
    if !n.is_finite() {
        return None;
    }
    if n <= 0.0 {
        return Utc.timestamp_opt(0, 0).single();
    }
    let mut secs = n;
    let magnitude = n.log10().floor() as i32;
    if magnitude > 9 {
        secs = n / 10f64.powi(magnitude - 9);
    }
    let whole = secs.trunc() as i64;
    // Microsecond precision: what a double holds reliably for current epochs.
    let nanos = (((secs - secs.trunc()) * 1e6).round() as u32).min(999_999) * 1000;
    Utc.timestamp_opt(whole, nanos.min(999_999_999)).single()
}

const NAIVE_FORMATS: &[&str] = &[
    "%Y-%m-%dT%H:%M:%S%.f",
    "%Y-%m-%d %H:%M:%S%.f",
    "%Y/%m/%d %H:%M:%S%.f",
    "%Y-%m-%dT%H:%M",
    "%d/%b/%Y:%H:%M:%S",
    "%b %d %Y %H:%M:%S",
    "%a %b %d %H:%M:%S %Y",
];

const ZONED_FORMATS: &[&str] = &[
    "%Y-%m-%d %H:%M:%S%.f%:z",
    "%Y-%m-%d %H:%M:%S%.f %z",
    "%Y-%m-%dT%H:%M:%S%.f%z",
    "%d/%b/%Y:%H:%M:%S %z",
    "%Y/%m/%d %H:%M:%S%.f %z",
];

/// Reads a timestamp the way MozDef's `toUTC` did: numbers and digit strings are epochs
/// (scaled by magnitude), strings are ISO 8601/RFC 3339 (with or without zone, `T` or space),
/// RFC 2822, Apache's `10/Oct/2000:13:55:36 -0700`, or syslog's `Oct 27 14:01:12` (no year:
/// the year of `now`, or the previous one if that would be more than a day ahead). Times without
/// a zone are in `default_tz`.
pub fn parse_timestamp(
    v: &Value,
    now: DateTime<Utc>,
    default_tz: chrono_tz::Tz,
) -> Result<DateTime<Utc>, TimeError> {
    let bad = || TimeError {
        value: match v {
            Value::String(s) => s.clone(),
            other => other.to_string(),
        },
    };
    match v {
        Value::Number(n) => match n.as_u64() {
            Some(u) => from_epoch_int(u128::from(u)),
            None if n.as_i64().is_some_and(|i| i < 0) => Utc.timestamp_opt(0, 0).single(),
            None => n.as_f64().and_then(from_epoch),
        }
        .ok_or_else(bad),
        Value::String(s) => parse_time_str(s, now, default_tz).ok_or_else(bad),
        _ => Err(bad()),
    }
}

fn local(tz: chrono_tz::Tz, t: NaiveDateTime) -> Option<DateTime<Utc>> {
    tz.from_local_datetime(&t)
        .earliest()
        .map(|t| t.with_timezone(&Utc))
}

fn parse_time_str(s: &str, now: DateTime<Utc>, tz: chrono_tz::Tz) -> Option<DateTime<Utc>> {
    let s = s.trim();
    if s.is_empty() {
        return None;
    }
    if s.bytes().all(|b| b.is_ascii_digit()) {
        return s.parse::<u128>().ok().and_then(from_epoch_int);
    }
    if s.bytes().all(|b| b.is_ascii_digit() || b == b'.')
        && s.bytes().filter(|&b| b == b'.').count() == 1
    {
        return s.parse::<f64>().ok().and_then(from_epoch);
    }
    if let Ok(t) = DateTime::parse_from_rfc3339(s) {
        return Some(t.with_timezone(&Utc));
    }
    // "Z" with a space separator or other ISO variants.
    let z = s
        .strip_suffix('Z')
        .or_else(|| s.strip_suffix(" UTC"))
        .or_else(|| s.strip_suffix(" GMT"));
    if let Some(base) = z {
        for f in NAIVE_FORMATS {
            if let Ok(t) = NaiveDateTime::parse_from_str(base, f) {
                return Some(Utc.from_utc_datetime(&t));
            }
        }
    }
    for f in ZONED_FORMATS {
        if let Ok(t) = DateTime::parse_from_str(s, f) {
            return Some(t.with_timezone(&Utc));
        }
    }
    if let Ok(t) = DateTime::parse_from_rfc2822(s) {
        return Some(t.with_timezone(&Utc));
    }
    for f in NAIVE_FORMATS {
        if let Ok(t) = NaiveDateTime::parse_from_str(s, f) {
            return local(tz, t);
        }
    }
    if let Ok(d) = NaiveDate::parse_from_str(s, "%Y-%m-%d") {
        return local(tz, d.and_hms_opt(0, 0, 0)?);
    }
    syslog_date(s, now, tz)
}

/// `Oct 27 14:01:12`, `Oct  7 14:01:12`, optionally with fractional seconds.
fn syslog_date(s: &str, now: DateTime<Utc>, tz: chrono_tz::Tz) -> Option<DateTime<Utc>> {
    let mut parts = s.split_whitespace();
    let (mon, day, time) = (parts.next()?, parts.next()?, parts.next()?);
    if parts.next().is_some() {
        return None;
    }
    let year = now.with_timezone(&tz).year();
    let build = |y: i32| {
        NaiveDateTime::parse_from_str(&format!("{y} {mon} {day} {time}"), "%Y %b %d %H:%M:%S%.f")
            .ok()
            .and_then(|t| local(tz, t))
    };
    let t = build(year)?;
    if t > now + chrono::Duration::days(1) {
        return build(year - 1);
    }
    Some(t)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The fast path reads what chrono reads, and the same time; anything else falls back.
    #[test]
    fn read_rfc3339_matches_chrono() {
        let chrono_read = |s: &str| {
            DateTime::parse_from_rfc3339(s)
                .ok()
                .map(|t| t.with_timezone(&Utc))
        };
        let mut x: u64 = 0x2545_F491_4F6C_DD1D;
        let mut next = || {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x
        };
        for i in 0..20_000 {
            let secs = (next() % 315_537_897_600) as i64 - 62_167_219_200;
            let nanos = match i % 3 {
                0 => 0,
                1 => (next() % 1000) as u32 * 1_000_000,
                _ => (next() % 1_000_000_000) as u32,
            };
            let t = DateTime::from_timestamp(secs, nanos).expect("in range");
            let text = format_timestamp(&t);
            assert_eq!(read_rfc3339(&text), Some(t), "{text}");
            assert_eq!(chrono_read(&text), Some(t), "{text}");
        }
        for s in [
            "2026-11-30T10:00:00Z",
            "2026-11-30T10:00:00.1Z",
            "2026-11-30T10:00:00.12+00:00",
            "2026-11-30T10:00:00.1234567+00:00",
            "2026-11-30T10:00:00.123456789Z",
            "2026-11-30T10:00:00.1234567891Z",
            "2026-11-30T10:00:00.Z",
            "2026-11-30T10:00:00+01:00",
            "2026-11-30T10:00:00-00:00",
            "2026-11-30t10:00:00z",
            "2026-11-30 10:00:00Z",
            "2026-02-30T10:00:00Z",
            "2026-13-01T10:00:00Z",
            "2026-11-30T24:00:00Z",
            "2026-11-30T10:60:00Z",
            "2016-12-31T23:59:60Z",
            "2016-12-31T23:59:60.5+00:00",
            "2026-11-30T10:00:61Z",
            "2026-11-30T1a:00:00Z",
            "-026-11-30T10:00:00Z",
            "+2026-11-30T10:00:00Z",
            "2026-11-30T10:00:00+00:00x",
            "2026-11-30T10:00:00",
            "",
            "é026-11-30T10:00:00Z",
        ] {
            assert_eq!(read_rfc3339(s), chrono_read(s), "{s:?}");
        }
    }

    #[test]
    fn format_timestamp_matches_chrono() {
        let chrono_fmt =
            |t: &DateTime<Utc>| t.to_rfc3339_opts(chrono::SecondsFormat::AutoSi, false);
        let mut x: u64 = 0x9E37_79B9_7F4A_7C15;
        let mut next = || {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x
        };
        let mut checked = 0;
        for i in 0..20_000 {
            // Seconds from year 0 to 9999 and around the epoch; each kind of fraction.
            let secs = match i % 3 {
                0 => (next() % 315_537_897_600) as i64 - 62_167_219_200,
                1 => (next() % 4_000_000_000) as i64,
                _ => 1_795_000_000 + (next() % 1_000_000) as i64,
            };
            let r = next();
            let nanos = match i % 4 {
                0 => 0,
                1 => (r % 1000) as u32 * 1_000_000,
                2 => (r % 1_000_000) as u32 * 1_000,
                _ => (r % 1_000_000_000) as u32,
            };
            let t = DateTime::from_timestamp(secs, nanos).expect("in range");
            assert_eq!(format_timestamp(&t), chrono_fmt(&t), "{secs} {nanos}");
            checked += 1;
        }
        assert_eq!(checked, 20_000);
        for t in [
            DateTime::from_timestamp(-62_167_219_201, 5).expect("year -1"),
            DateTime::from_timestamp(253_402_300_800, 0).expect("year 10000"),
            DateTime::from_timestamp(1_483_228_799, 1_500_000_000).expect("leap second"),
        ] {
            assert_eq!(format_timestamp(&t), chrono_fmt(&t));
        }
        let t = DateTime::from_timestamp(1_503_614_982, 123_456_000).expect("valid");
        assert_eq!(format_timestamp(&t), "2017-08-24T22:49:42.123456+00:00");
    }

    fn now() -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 11, 22, 12, 0, 0).unwrap()
    }

    fn p(v: Value) -> String {
        format_timestamp(&parse_timestamp(&v, now(), chrono_tz::UTC).unwrap())
    }

    #[test]
    fn epochs_by_magnitude() {
        assert_eq!(p(Value::from(1_503_614_982)), "2017-08-24T22:49:42+00:00");
        assert_eq!(
            p(Value::from(1_503_614_982_123u64)),
            "2017-08-24T22:49:42.123+00:00"
        );
        assert_eq!(
            p(Value::from(1_503_614_982_123_456u64)),
            "2017-08-24T22:49:42.123456+00:00"
        );
        assert_eq!(
            p(Value::from("1503614982000000000")),
            "2017-08-24T22:49:42+00:00"
        );
        assert_eq!(
            p(Value::from(1_503_614_982.5)),
            "2017-08-24T22:49:42.500+00:00"
        );
        assert_eq!(p(Value::from(0)), "1970-01-01T00:00:00+00:00");
    }

    #[test]
    fn strings() {
        assert_eq!(
            p(Value::from("2017-08-24T22:49:42+00:00")),
            "2017-08-24T22:49:42+00:00"
        );
        assert_eq!(
            p(Value::from("2017-08-24T22:49:42.5Z")),
            "2017-08-24T22:49:42.500+00:00"
        );
        assert_eq!(
            p(Value::from("2017-08-24 22:49:42")),
            "2017-08-24T22:49:42+00:00"
        );
        assert_eq!(
            p(Value::from("2017-08-24T22:49:42")),
            "2017-08-24T22:49:42+00:00"
        );
        assert_eq!(
            p(Value::from("2017-08-24T22:49:42-07:00")),
            "2017-08-25T05:49:42+00:00"
        );
        assert_eq!(
            p(Value::from("2017-08-24 22:49:42 UTC")),
            "2017-08-24T22:49:42+00:00"
        );
        assert_eq!(
            p(Value::from("Thu, 24 Aug 2017 22:49:42 +0000")),
            "2017-08-24T22:49:42+00:00"
        );
        assert_eq!(
            p(Value::from("10/Oct/2000:13:55:36 -0700")),
            "2000-10-10T20:55:36+00:00"
        );
        assert_eq!(
            p(Value::from("Oct 27 14:01:12")),
            "2026-10-27T14:01:12+00:00"
        );
        assert_eq!(
            p(Value::from("Nov  7 01:02:03")),
            "2026-11-07T01:02:03+00:00"
        );
        // A year-less date more than a day ahead is last year's.
        assert_eq!(
            p(Value::from("Dec 31 23:00:00")),
            "2025-12-31T23:00:00+00:00"
        );
    }

    #[test]
    fn default_timezone_applies_to_zoneless_times() {
        let t = parse_timestamp(
            &Value::from("2017-08-24 22:49:42"),
            now(),
            chrono_tz::Europe::Paris,
        )
        .unwrap();
        assert_eq!(format_timestamp(&t), "2017-08-24T20:49:42+00:00");
    }

    #[test]
    fn garbage_is_an_error_naming_the_value() {
        for v in [
            Value::from("yesterday-ish"),
            Value::from(""),
            Value::Bool(true),
            Value::from("Foo 99 99:99:99"),
        ] {
            let e = parse_timestamp(&v, now(), chrono_tz::UTC).unwrap_err();
            assert!(e.to_string().contains("cannot parse time"), "{e}");
        }
        let e = parse_timestamp(&Value::from("yesterday-ish"), now(), chrono_tz::UTC).unwrap_err();
        assert!(e.to_string().contains("yesterday-ish"));
    }
}
