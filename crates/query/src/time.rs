//! Times: RFC 3339, dates, epoch values and date math (`now-15m`, `now-1d/d`).

use std::fmt;

use chrono::{DateTime, Datelike, Duration, NaiveDate, TimeZone, Timelike, Utc};

/// A time expression that could not be read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TimeError {
    /// What is wrong.
    pub message: String,
    /// Byte offset in the expression.
    pub offset: usize,
}

impl fmt::Display for TimeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} at position {}", self.message, self.offset)
    }
}

impl std::error::Error for TimeError {}

fn terr<T>(message: impl Into<String>, offset: usize) -> Result<T, TimeError> {
    Err(TimeError {
        message: message.into(),
        offset,
    })
}

/// Reads a time: RFC 3339, a date (`2026-11-22`, midnight UTC), epoch seconds or milliseconds,
/// or date math: `now`, `now-15m`, `now+1h`, `now-1d/d` (units y M w d h H m s).
///
/// Times outside the years 0 to 9999 are refused: no event has them, and beyond them times
/// overflow what the store and chrono hold.
pub fn parse_time(s: &str, now: DateTime<Utc>) -> Result<DateTime<Utc>, TimeError> {
    let t = parse_any_time(s.trim(), now)?;
    if (0..=9999).contains(&t.year()) {
        Ok(t)
    } else {
        terr(format!("{t} is out of range (years 0 to 9999)"), 0)
    }
}

fn parse_any_time(s: &str, now: DateTime<Utc>) -> Result<DateTime<Utc>, TimeError> {
    if let Some(rest) = s.strip_prefix("now") {
        return date_math(rest, now, 3);
    }
    if let Ok(t) = DateTime::parse_from_rfc3339(s) {
        return Ok(t.with_timezone(&Utc));
    }
    if let Ok(t) = chrono::NaiveDateTime::parse_from_str(s, "%Y-%m-%dT%H:%M:%S%.f") {
        return Ok(Utc.from_utc_datetime(&t));
    }
    if let Ok(d) = NaiveDate::parse_from_str(s, "%Y-%m-%d") {
        if let Some(t) = d.and_hms_opt(0, 0, 0) {
            return Ok(Utc.from_utc_datetime(&t));
        }
    }
    if !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit()) {
        let n: i64 = match s.parse() {
            Ok(n) => n,
            Err(_) => return terr("epoch value out of range", 0),
        };
        // 12+ digits: milliseconds.
        let t = if s.len() >= 12 {
            Utc.timestamp_millis_opt(n).single()
        } else {
            Utc.timestamp_opt(n, 0).single()
        };
        return t.map_or_else(|| terr("epoch value out of range", 0), Ok);
    }
    terr(
        format!("'{s}' is not a time (expected RFC 3339, YYYY-MM-DD, epoch, or now-15m)"),
        0,
    )
}

fn date_math(rest: &str, now: DateTime<Utc>, off: usize) -> Result<DateTime<Utc>, TimeError> {
    DateMath::compile(rest, off)?.apply(now)
}

/// One step of date math.
#[derive(Debug, Clone, PartialEq, Eq)]
enum MathOp {
    /// `+N<unit>` / `-N<unit>` (N signed), at this offset of the expression.
    Add(i64, char, usize),
    /// `/<unit>`, at this offset.
    Round(char, usize),
}

/// Date math after `now` (`-15m`, `-1d/d`), read once and applied at any time: a rule's
/// `now-15m` is evaluated for every event, without reading the text again.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DateMath {
    ops: Vec<MathOp>,
}

impl DateMath {
    /// Reads the date math of `now<rest>` (`rest` starts at offset `off` of the expression).
    fn compile(mut rest: &str, mut off: usize) -> Result<DateMath, TimeError> {
        let mut ops = Vec::new();
        while !rest.is_empty() {
            let op = rest.as_bytes()[0];
            match op {
                b'+' | b'-' => {
                    let digits = rest[1..].bytes().take_while(u8::is_ascii_digit).count();
                    if digits == 0 {
                        return terr("expected a number after '+'/'-'", off + 1);
                    }
                    let n: i64 = rest[1..1 + digits]
                        .parse()
                        .or_else(|_| terr("number too large", off + 1))?;
                    let Some(unit) = rest[1 + digits..].chars().next() else {
                        return terr("expected a unit (y M w d h m s)", off + 1 + digits);
                    };
                    let n = if op == b'-' { -n } else { n };
                    ops.push(MathOp::Add(n, unit, off + 1 + digits));
                    let used = 1 + digits + unit.len_utf8();
                    rest = &rest[used..];
                    off += used;
                }
                b'/' => {
                    let Some(unit) = rest[1..].chars().next() else {
                        return terr("expected a unit after '/'", off + 1);
                    };
                    ops.push(MathOp::Round(unit, off + 1));
                    let used = 1 + unit.len_utf8();
                    rest = &rest[used..];
                    off += used;
                }
                _ => return terr("expected '+', '-' or '/' in date math", off),
            }
        }
        Ok(DateMath { ops })
    }

    /// Reads `now…` (surrounding blanks allowed); `None` when `s` is not date math.
    pub fn parse(s: &str) -> Option<Result<DateMath, TimeError>> {
        let t = s.trim();
        let rest = t.strip_prefix("now")?;
        Some(DateMath::compile(rest, 3))
    }

    /// The time at `now`, as [`parse_time`] reads the expression (years 0 to 9999).
    pub fn at(&self, now: DateTime<Utc>) -> Result<DateTime<Utc>, TimeError> {
        let t = self.apply(now)?;
        if (0..=9999).contains(&t.year()) {
            Ok(t)
        } else {
            terr(format!("{t} is out of range (years 0 to 9999)"), 0)
        }
    }

    fn apply(&self, mut t: DateTime<Utc>) -> Result<DateTime<Utc>, TimeError> {
        for op in &self.ops {
            match *op {
                MathOp::Add(n, unit, at) => {
                    t = add_unit(t, n, unit).ok_or_else(|| TimeError {
                        message: format!(
                            "unknown unit '{unit}' or time out of range (units: y M w d h m s)"
                        ),
                        offset: at,
                    })?;
                }
                MathOp::Round(unit, at) => {
                    t = round_down(t, unit).ok_or_else(|| TimeError {
                        message: format!("unknown rounding unit '{unit}'"),
                        offset: at,
                    })?;
                }
            }
        }
        Ok(t)
    }
}

fn add_unit(t: DateTime<Utc>, n: i64, unit: char) -> Option<DateTime<Utc>> {
    let months = |m: i64| -> Option<DateTime<Utc>> {
        let m32 = u32::try_from(m.unsigned_abs()).ok()?;
        if m >= 0 {
            t.checked_add_months(chrono::Months::new(m32))
        } else {
            t.checked_sub_months(chrono::Months::new(m32))
        }
    };
    match unit {
        'y' => months(n.checked_mul(12)?),
        'M' => months(n),
        'w' => t.checked_add_signed(Duration::try_weeks(n)?),
        'd' => t.checked_add_signed(Duration::try_days(n)?),
        'h' | 'H' => t.checked_add_signed(Duration::try_hours(n)?),
        'm' => t.checked_add_signed(Duration::try_minutes(n)?),
        's' => t.checked_add_signed(Duration::try_seconds(n)?),
        _ => None,
    }
}

fn round_down(t: DateTime<Utc>, unit: char) -> Option<DateTime<Utc>> {
    let d = t.date_naive();
    let day = |d: NaiveDate| d.and_hms_opt(0, 0, 0).map(|x| Utc.from_utc_datetime(&x));
    match unit {
        'y' => day(NaiveDate::from_ymd_opt(d.year(), 1, 1)?),
        'M' => day(NaiveDate::from_ymd_opt(d.year(), d.month(), 1)?),
        'w' => day(d - Duration::days(i64::from(d.weekday().num_days_from_monday()))),
        'd' => day(d),
        'h' | 'H' => t.with_minute(0)?.with_second(0)?.with_nanosecond(0),
        'm' => t.with_second(0)?.with_nanosecond(0),
        's' => t.with_nanosecond(0),
        _ => None,
    }
}
