//! Timestamps: RFC 3339 (RFC 5424 and rsyslog's forward format) and BSD (`Mmm dd hh:mm:ss`),
//! resolved to instants with the default time zone and the reference clock of [`ParseOptions`].
//!
//! [`ParseOptions`]: crate::ParseOptions

use chrono::{
    DateTime, Datelike, FixedOffset, LocalResult, NaiveDate, NaiveDateTime, NaiveTime, Offset,
    TimeDelta, TimeZone, Utc,
};

/// Time zone used for timestamps that carry no offset (RFC 3164 dates, zone-less ISO dates).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DefaultTz {
    /// A fixed offset from UTC.
    Fixed(FixedOffset),
    /// An IANA zone (daylight saving time applies).
    Named(chrono_tz::Tz),
}

impl Default for DefaultTz {
    /// UTC.
    fn default() -> Self {
        DefaultTz::Fixed(Utc.fix())
    }
}

impl From<FixedOffset> for DefaultTz {
    fn from(o: FixedOffset) -> Self {
        DefaultTz::Fixed(o)
    }
}

impl From<chrono_tz::Tz> for DefaultTz {
    fn from(tz: chrono_tz::Tz) -> Self {
        DefaultTz::Named(tz)
    }
}

impl From<Utc> for DefaultTz {
    fn from(_: Utc) -> Self {
        DefaultTz::default()
    }
}

impl DefaultTz {
    /// The calendar year of the instant `now` in this zone.
    pub fn year_of(&self, now: DateTime<Utc>) -> i32 {
        match self {
            DefaultTz::Fixed(o) => now.with_timezone(o).year(),
            DefaultTz::Named(tz) => now.with_timezone(tz).year(),
        }
    }

    /// Interprets a wall-clock time in this zone. Ambiguous times (DST fall-back) take the
    /// earlier instant; times in a DST gap take the offset in force just before the gap.
    pub fn localize(&self, naive: NaiveDateTime) -> Option<DateTime<FixedOffset>> {
        match self {
            DefaultTz::Fixed(o) => o.from_local_datetime(&naive).single(),
            DefaultTz::Named(tz) => match tz.from_local_datetime(&naive) {
                LocalResult::Single(d) | LocalResult::Ambiguous(d, _) => {
                    Some(d.with_timezone(&d.offset().fix()))
                }
                LocalResult::None => {
                    let before = naive.checked_sub_signed(TimeDelta::hours(3))?;
                    let off = tz.offset_from_utc_datetime(&before).fix();
                    off.from_local_datetime(&naive).single()
                }
            },
        }
    }
}

/// A syntax error: byte offset (relative to the slice given to the parser) and what was expected.
pub(crate) type SynErr = (usize, &'static str);

#[inline]
fn digit_at(b: &[u8], i: usize) -> Option<u32> {
    match b.get(i) {
        Some(c) if c.is_ascii_digit() => Some(u32::from(c - b'0')),
        _ => None,
    }
}

/// Exactly `n` digits at `i`.
#[inline]
fn fixed_digits(b: &[u8], i: usize, n: usize, what: &'static str) -> Result<u32, SynErr> {
    let mut v = 0u32;
    for k in 0..n {
        let d = digit_at(b, i + k).ok_or((i + k, what))?;
        v = v * 10 + d;
    }
    Ok(v)
}

/// One or two digits at `i`; returns (value, end).
#[inline]
fn one_or_two_digits(b: &[u8], i: usize) -> Option<(u32, usize)> {
    let first = digit_at(b, i)?;
    match digit_at(b, i + 1) {
        Some(second) => {
            if digit_at(b, i + 2).is_some() {
                None
            } else {
                Some((first * 10 + second, i + 2))
            }
        }
        None => Some((first, i + 1)),
    }
}

#[inline]
fn expect(b: &[u8], i: usize, c: u8, what: &'static str) -> Result<(), SynErr> {
    if b.get(i) == Some(&c) {
        Ok(())
    } else {
        Err((i, what))
    }
}

/// Fractional seconds starting after the '.' at `i`: returns (nanoseconds, end).
/// `max_digits` = Some(9) rejects longer fractions; None truncates them.
fn fraction(b: &[u8], i: usize, max_digits: Option<usize>) -> Result<(u32, usize), SynErr> {
    let mut j = i;
    let mut nanos = 0u32;
    while let Some(d) = digit_at(b, j) {
        let n = j - i;
        if n < 9 {
            nanos = nanos * 10 + d;
        } else if max_digits.is_some_and(|m| n >= m) {
            return Err((j, "at most 9 fractional-second digits"));
        }
        j += 1;
    }
    let n = j - i;
    if n == 0 {
        return Err((i, "fractional-second digits"));
    }
    for _ in n..9 {
        nanos *= 10;
    }
    Ok((nanos, j))
}

/// Wall-clock time, mapping a leap second (`:60`) onto chrono's leap-second representation.
fn make_time(h: u32, m: u32, s: u32, nanos: u32) -> Option<NaiveTime> {
    if s == 60 {
        NaiveTime::from_hms_nano_opt(h, m, 59, nanos.checked_add(1_000_000_000)?)
    } else {
        NaiveTime::from_hms_nano_opt(h, m, s, nanos)
    }
}

/// A parsed RFC 3339 / ISO 8601 timestamp.
#[derive(Debug)]
pub(crate) struct Iso {
    pub naive: NaiveDateTime,
    pub offset: Option<FixedOffset>,
    pub end: usize,
}

impl Iso {
    pub fn resolve(&self, tz: &DefaultTz) -> Option<DateTime<FixedOffset>> {
        match self.offset {
            Some(o) => o.from_local_datetime(&self.naive).single(),
            None => tz.localize(self.naive),
        }
    }
}

#[inline]
fn is_sep(c: u8) -> bool {
    c == b' ' || c == b'\t'
}

/// Parses `YYYY-MM-DDThh:mm:ss[.frac](Z|±hh:mm)` at `i`. It must end at the end of `b` or
/// before a space. Strict mode (RFC 5424): upper-case `T`/`Z`, an offset is required and
/// at most 9 fractional digits. Lenient mode also accepts lower case, `±hhmm`, `±hh` and no offset.
pub(crate) fn parse_rfc3339(b: &[u8], i: usize, strict: bool) -> Result<Iso, SynErr> {
    let year = fixed_digits(b, i, 4, "4-digit year")?;
    expect(b, i + 4, b'-', "'-' after the year")?;
    let month = fixed_digits(b, i + 5, 2, "2-digit month")?;
    expect(b, i + 7, b'-', "'-' after the month")?;
    let day = fixed_digits(b, i + 8, 2, "2-digit day")?;
    match b.get(i + 10) {
        Some(b'T') => {}
        Some(b't') if !strict => {}
        _ => return Err((i + 10, "'T' between date and time")),
    }
    let hour = fixed_digits(b, i + 11, 2, "2-digit hour")?;
    expect(b, i + 13, b':', "':' after the hour")?;
    let minute = fixed_digits(b, i + 14, 2, "2-digit minute")?;
    expect(b, i + 16, b':', "':' after the minute")?;
    let second = fixed_digits(b, i + 17, 2, "2-digit second")?;
    let mut j = i + 19;
    let mut nanos = 0;
    if b.get(j) == Some(&b'.') {
        let (n, end) = fraction(b, j + 1, if strict { Some(9) } else { None })?;
        nanos = n;
        j = end;
    }
    let offset = match b.get(j) {
        Some(b'Z') => {
            j += 1;
            Some(Utc.fix())
        }
        Some(b'z') if !strict => {
            j += 1;
            Some(Utc.fix())
        }
        Some(&c @ (b'+' | b'-')) => {
            let oh = fixed_digits(b, j + 1, 2, "2-digit offset hours")?;
            let om = if b.get(j + 3) == Some(&b':') {
                let m = fixed_digits(b, j + 4, 2, "2-digit offset minutes")?;
                j += 6;
                m
            } else if strict {
                return Err((j + 3, "':' in the UTC offset"));
            } else if let Ok(m) = fixed_digits(b, j + 3, 2, "") {
                j += 5;
                m
            } else {
                j += 3;
                0
            };
            if om > 59 {
                return Err((j, "offset minutes below 60"));
            }
            let secs = i32::try_from(oh * 3600 + om * 60).map_err(|_| (j, "a valid UTC offset"))?;
            let secs = if c == b'-' { -secs } else { secs };
            Some(FixedOffset::east_opt(secs).ok_or((j, "a UTC offset within ±24h"))?)
        }
        _ if strict => return Err((j, "'Z' or a UTC offset")),
        _ => None,
    };
    if let Some(&c) = b.get(j) {
        if c != b' ' {
            return Err((j, "space after the timestamp"));
        }
    }
    let date = NaiveDate::from_ymd_opt(
        i32::try_from(year).map_err(|_| (i, "a valid year"))?,
        month,
        day,
    )
    .ok_or((i, "a valid calendar date"))?;
    let time = make_time(hour, minute, second, nanos).ok_or((i + 11, "a valid time of day"))?;
    Ok(Iso {
        naive: NaiveDateTime::new(date, time),
        offset,
        end: j,
    })
}

/// A BSD (RFC 3164) timestamp, syntactically valid; calendar validity is checked on resolve.
#[derive(Debug)]
pub(crate) struct Bsd {
    pub month: u32,
    pub day: u32,
    pub year: Option<i32>,
    pub hour: u32,
    pub minute: u32,
    pub second: u32,
    pub nanos: u32,
    pub end: usize,
}

fn month_number(m: &[u8]) -> Option<u32> {
    let [a, b, c] = m else { return None };
    let key = [
        a.to_ascii_lowercase(),
        b.to_ascii_lowercase(),
        c.to_ascii_lowercase(),
    ];
    Some(match &key {
        b"jan" => 1,
        b"feb" => 2,
        b"mar" => 3,
        b"apr" => 4,
        b"may" => 5,
        b"jun" => 6,
        b"jul" => 7,
        b"aug" => 8,
        b"sep" => 9,
        b"oct" => 10,
        b"nov" => 11,
        b"dec" => 12,
        _ => return None,
    })
}

fn skip_spaces(b: &[u8], mut i: usize) -> usize {
    while b.get(i) == Some(&b' ') {
        i += 1;
    }
    i
}

/// Parses `Mmm dd hh:mm:ss`, `Mmm dd yyyy hh:mm:ss` (optionally `.frac` and a trailing `:`)
/// at `i`. Returns None when the text does not have that shape.
pub(crate) fn parse_bsd(b: &[u8], i: usize) -> Option<Bsd> {
    let month = month_number(b.get(i..i + 3)?)?;
    let mut j = i + 3;
    if b.get(j) != Some(&b' ') {
        return None;
    }
    j = skip_spaces(b, j);
    let (day, end) = one_or_two_digits(b, j)?;
    if b.get(end) != Some(&b' ') {
        return None;
    }
    j = skip_spaces(b, end);
    // Optional year: 4 digits followed by a space.
    let mut year = None;
    if let Ok(y) = fixed_digits(b, j, 4, "") {
        if b.get(j + 4) == Some(&b' ') {
            year = Some(i32::try_from(y).ok()?);
            j = skip_spaces(b, j + 4);
        }
    }
    let (hour, end) = one_or_two_digits(b, j)?;
    if b.get(end) != Some(&b':') {
        return None;
    }
    let (minute, end) = one_or_two_digits(b, end + 1)?;
    if b.get(end) != Some(&b':') {
        return None;
    }
    let (second, mut end) = one_or_two_digits(b, end + 1)?;
    let mut nanos = 0;
    if b.get(end) == Some(&b'.') {
        let (n, e) = fraction(b, end + 1, None).ok()?;
        nanos = n;
        end = e;
    }
    if b.get(end) == Some(&b':') {
        end += 1;
    }
    match b.get(end) {
        None => {}
        Some(&c) if is_sep(c) => {}
        Some(_) => return None,
    }
    Some(Bsd {
        month,
        day,
        year,
        hour,
        minute,
        second,
        nanos,
        end,
    })
}

impl Bsd {
    /// The instant, with the year taken from the message or else from `now` (the previous
    /// year when that would put the timestamp more than a day after `now`).
    pub fn resolve(&self, tz: &DefaultTz, now: DateTime<Utc>) -> Option<DateTime<FixedOffset>> {
        let time = make_time(self.hour, self.minute, self.second, self.nanos)?;
        let at = |year: i32| -> Option<DateTime<FixedOffset>> {
            let date = NaiveDate::from_ymd_opt(year, self.month, self.day)?;
            tz.localize(NaiveDateTime::new(date, time))
        };
        if let Some(y) = self.year {
            return at(y);
        }
        let year = tz.year_of(now);
        let candidate = at(year)?;
        if candidate.with_timezone(&Utc) > now + TimeDelta::days(1) {
            at(year - 1)
        } else {
            Some(candidate)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn iso(s: &str, strict: bool) -> Result<DateTime<FixedOffset>, SynErr> {
        let p = parse_rfc3339(s.as_bytes(), 0, strict)?;
        Ok(p.resolve(&DefaultTz::default()).unwrap())
    }

    #[test]
    fn rfc3339_variants() {
        assert_eq!(
            iso("2003-10-11T22:14:15.003Z", true).unwrap().to_rfc3339(),
            "2003-10-11T22:14:15.003+00:00"
        );
        assert_eq!(
            iso("1985-04-12T19:20:50.52+04:00", true)
                .unwrap()
                .timestamp_subsec_nanos(),
            520_000_000
        );
        assert_eq!(
            iso("2003-08-24T05:14:15.123456789+07:00", true)
                .unwrap()
                .timestamp_subsec_nanos(),
            123_456_789
        );
        assert!(iso("2003-08-24T05:14:15.1122334455+07:00", true).is_err());
        assert_eq!(
            iso("2003-08-24T05:14:15.1122334455+07:00", false)
                .unwrap()
                .timestamp_subsec_nanos(),
            112_233_445
        );
        assert!(iso("2003-08-24T05:14:15", true).is_err());
        assert!(iso("2003-08-24T05:14:15", false).is_ok());
        assert_eq!(
            iso("2003-08-24t05:14:15+0530", false)
                .unwrap()
                .offset()
                .local_minus_utc(),
            5 * 3600 + 1800
        );
        assert!(iso("2019-02-29T00:00:00Z", false).is_err());
        assert!(iso("2019-13-01T00:00:00Z", false).is_err());
        assert!(iso("2019-01-01T24:00:00Z", false).is_err());
        assert!(iso("2019-01-01T00:00:00Zx", false).is_err());
        // leap second
        assert!(iso("2016-12-31T23:59:60Z", true).is_ok());
    }

    #[test]
    fn bsd_year_resolution() {
        let now = Utc.with_ymd_and_hms(2026, 1, 1, 0, 30, 0).unwrap();
        let tz = DefaultTz::default();
        let dec = parse_bsd(b"Dec 31 23:50:00", 0).unwrap();
        assert_eq!(dec.resolve(&tz, now).unwrap().year(), 2025);
        let jan = parse_bsd(b"Jan  1 00:20:00", 0).unwrap();
        assert_eq!(jan.resolve(&tz, now).unwrap().year(), 2026);
        // up to a day in the future stays in this year
        let jan2 = parse_bsd(b"Jan 2 00:20:00", 0).unwrap();
        assert_eq!(jan2.resolve(&tz, now).unwrap().year(), 2026);
        let jan3 = parse_bsd(b"Jan 3 00:20:00", 0).unwrap();
        assert_eq!(jan3.resolve(&tz, now).unwrap().year(), 2025);
        // the local year counts: 2025-12-31T23:30Z is already 2026 in Paris
        let paris = DefaultTz::Named(chrono_tz::Europe::Paris);
        let now = Utc.with_ymd_and_hms(2025, 12, 31, 23, 30, 0).unwrap();
        let r = jan.resolve(&paris, now).unwrap();
        assert_eq!(r.to_rfc3339(), "2026-01-01T00:20:00+01:00");
    }

    #[test]
    fn bsd_shapes() {
        assert!(parse_bsd(b"Oct  7 01:02:03", 0).is_some());
        assert!(parse_bsd(b"OCT 11 22:14:15 host", 0).is_some());
        assert!(parse_bsd(b"Oct 11 22:14:15: %SYS", 0).is_some());
        let y = parse_bsd(b"Dec 28 2008 16:49:07 x", 0).unwrap();
        assert_eq!(y.year, Some(2008));
        assert_eq!(y.end, 20);
        let f = parse_bsd(b"Mar  1 18:46:11.123 x", 0).unwrap();
        assert_eq!(f.nanos, 123_000_000);
        assert!(parse_bsd(b"Mary had a lamb", 0).is_none());
        assert!(parse_bsd(b"Oct 11 22:14", 0).is_none());
        assert!(parse_bsd(b"Oct 111 22:14:15", 0).is_none());
        assert!(parse_bsd(b"Oct 11 22:14:15x", 0).is_none());
        // calendar-invalid dates parse but do not resolve
        let feb = parse_bsd(b"Feb 29 14:07:19", 0).unwrap();
        let now = Utc.with_ymd_and_hms(2019, 12, 1, 0, 0, 0).unwrap();
        assert!(feb.resolve(&DefaultTz::default(), now).is_none());
    }

    #[test]
    fn dst_gap_and_overlap() {
        let tz = DefaultTz::Named(chrono_tz::Europe::Paris);
        // 2026-03-29 02:30 does not exist in Paris: offset before the gap (+01:00)
        let gap = NaiveDate::from_ymd_opt(2026, 3, 29)
            .unwrap()
            .and_hms_opt(2, 30, 0)
            .unwrap();
        assert_eq!(tz.localize(gap).unwrap().offset().local_minus_utc(), 3600);
        // 2026-10-25 02:30 exists twice: the earlier (+02:00)
        let overlap = NaiveDate::from_ymd_opt(2026, 10, 25)
            .unwrap()
            .and_hms_opt(2, 30, 0)
            .unwrap();
        assert_eq!(
            tz.localize(overlap).unwrap().offset().local_minus_utc(),
            7200
        );
    }
}
