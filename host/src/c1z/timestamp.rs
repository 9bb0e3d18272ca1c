//! UTC timestamps in the text layouts a c1z uses, without a date library.
//!
//! SQLite `datetime` columns hold TEXT like `2026-02-21 22:40:44.123456789` (Go layout
//! `2006-01-02 15:04:05.999999999`: space separator, trailing fractional zeros trimmed, the
//! dot gone when the fraction is zero, no zone). Go's driver parses that back as UTC, which
//! is why we always write UTC. The civil-date conversion is the classic days-from-civil
//! algorithm on the proleptic Gregorian calendar.

use std::time::{SystemTime, UNIX_EPOCH};

/// Seconds and nanoseconds since the Unix epoch, UTC.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct UnixTime {
    /// Whole seconds (negative before 1970).
    pub secs: i64,
    /// Nanoseconds within the second, `0..1_000_000_000`.
    pub nanos: u32,
}

impl UnixTime {
    /// The current time.
    pub fn now() -> UnixTime {
        let d = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap_or_default();
        UnixTime {
            secs: i64::try_from(d.as_secs()).unwrap_or(i64::MAX),
            nanos: d.subsec_nanos(),
        }
    }

    /// `YYYY-MM-DD HH:MM:SS[.fffffffff]` with trailing fractional zeros trimmed: the layout
    /// the c1z `datetime` columns hold.
    pub fn to_db_text(self) -> String {
        let mut s = self.date_time(' ');
        if self.nanos != 0 {
            let frac = format!("{:09}", self.nanos);
            s.push('.');
            s.push_str(frac.trim_end_matches('0'));
        }
        s
    }

    /// RFC 3339 in UTC. With `fraction`, 0, 3, 6 or 9 fractional digits as protojson prints
    /// a `google.protobuf.Timestamp`; without, whole seconds as `baton syncs` prints them.
    pub fn to_rfc3339(self, fraction: bool) -> String {
        let mut s = self.date_time('T');
        if fraction && self.nanos != 0 {
            let digits = if self.nanos.is_multiple_of(1_000_000) {
                format!(".{:03}", self.nanos / 1_000_000)
            } else if self.nanos.is_multiple_of(1_000) {
                format!(".{:06}", self.nanos / 1_000)
            } else {
                format!(".{:09}", self.nanos)
            };
            s.push_str(&digits);
        }
        s.push('Z');
        s
    }

    /// Parses the TEXT layouts Go's SQLite driver accepts (`c1z-format.md` 3.4):
    /// `YYYY-MM-DD`, optionally followed by ` ` or `T` and `HH:MM[:SS[.f…]]`, optionally
    /// ending in `Z` or `±HH:MM`. Values without an offset are UTC.
    pub fn parse_db_text(text: &str) -> Option<UnixTime> {
        let s = text.trim();
        let s = s.strip_suffix('Z').unwrap_or(s);
        // Checked: a file may hold any text here, and byte 10 may fall inside a character.
        let (date, rest) = s.split_at_checked(s.len().min(10))?;
        let year: i64 = num(date.get(0..4)?)?;
        let month: u32 = num(date.get(5..7)?)?;
        let day: u32 = num(date.get(8..10)?)?;
        if date.as_bytes()[4] != b'-' || date.as_bytes()[7] != b'-' {
            return None;
        }
        if !(1..=12).contains(&month) || day == 0 || day > days_in_month(year, month) {
            return None;
        }
        let mut secs = days_from_civil(year, month, day) * 86_400;
        let mut nanos = 0;
        if !rest.is_empty() {
            let rest = rest.strip_prefix([' ', 'T'])?;
            let (clock, offset) = split_offset(rest)?;
            let (hms, frac) = match clock.split_once('.') {
                Some((hms, frac)) => (hms, Some(frac)),
                None => (clock, None),
            };
            let mut parts = hms.split(':');
            let hour: i64 = num(parts.next()?)?;
            let minute: i64 = num(parts.next()?)?;
            let second: i64 = match parts.next() {
                Some(p) => num(p)?,
                None if frac.is_none() => 0,
                None => return None,
            };
            if parts.next().is_some() || hour > 23 || minute > 59 || second > 59 {
                return None;
            }
            if let Some(frac) = frac {
                if frac.is_empty() || frac.len() > 9 || !frac.bytes().all(|b| b.is_ascii_digit()) {
                    return None;
                }
                nanos = format!("{frac:0<9}").parse().ok()?;
            }
            secs += hour * 3600 + minute * 60 + second - offset;
        }
        Some(UnixTime { secs, nanos })
    }

    fn date_time(self, sep: char) -> String {
        let days = self.secs.div_euclid(86_400);
        let sod = self.secs.rem_euclid(86_400);
        let (y, m, d) = civil_from_days(days);
        format!(
            "{y:04}-{m:02}-{d:02}{sep}{:02}:{:02}:{:02}",
            sod / 3600,
            sod % 3600 / 60,
            sod % 60
        )
    }
}

/// Splits a trailing `±HH:MM` zone off a clock string; returns the offset in seconds.
fn split_offset(clock: &str) -> Option<(&str, i64)> {
    let n = clock.len();
    if n > 6 && clock.is_char_boundary(n - 6) {
        let (head, zone) = clock.split_at(n - 6);
        let b = zone.as_bytes();
        if (b[0] == b'+' || b[0] == b'-') && b[3] == b':' {
            let h: i64 = num(&zone[1..3])?;
            let m: i64 = num(&zone[4..6])?;
            let sign = if b[0] == b'-' { -1 } else { 1 };
            return Some((head, sign * (h * 3600 + m * 60)));
        }
    }
    Some((clock, 0))
}

fn num<T: std::str::FromStr>(s: &str) -> Option<T> {
    if s.is_empty() || !s.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    s.parse().ok()
}

fn is_leap(y: i64) -> bool {
    y % 4 == 0 && (y % 100 != 0 || y % 400 == 0)
}

fn days_in_month(y: i64, m: u32) -> u32 {
    match m {
        2 if is_leap(y) => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

/// Days since 1970-01-01 of a proleptic Gregorian date.
pub fn days_from_civil(year: i64, month: u32, day: u32) -> i64 {
    // Count years from March so the leap day is the last day of the "year".
    let y = if month <= 2 { year - 1 } else { year };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (i64::from(month) + 9) % 12;
    let doy = (153 * mp + 2) / 5 + i64::from(day) - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// The proleptic Gregorian (year, month, day) of a day count since 1970-01-01.
pub fn civil_from_days(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let month = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let year = yoe + era * 400 + i64::from(month <= 2);
    (year, month, day)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(secs: i64, nanos: u32) -> UnixTime {
        UnixTime { secs, nanos }
    }

    #[test]
    fn formats_db_layout_with_trimmed_fraction() {
        assert_eq!(t(0, 0).to_db_text(), "1970-01-01 00:00:00");
        assert_eq!(
            t(1_771_713_644, 123_456_789).to_db_text(),
            "2026-02-21 22:40:44.123456789"
        );
        assert_eq!(
            t(1_771_713_644, 500_000_000).to_db_text(),
            "2026-02-21 22:40:44.5"
        );
        assert_eq!(t(951_782_400, 0).to_db_text(), "2000-02-29 00:00:00");
        assert_eq!(t(-1, 0).to_db_text(), "1969-12-31 23:59:59");
    }

    #[test]
    fn formats_rfc3339_like_protojson() {
        let x = t(1_765_989_085, 57_185_000);
        assert_eq!(x.to_rfc3339(true), "2025-12-17T16:31:25.057185Z");
        assert_eq!(x.to_rfc3339(false), "2025-12-17T16:31:25Z");
        assert_eq!(t(1, 5_000_000).to_rfc3339(true), "1970-01-01T00:00:01.005Z");
        assert_eq!(t(1, 7).to_rfc3339(true), "1970-01-01T00:00:01.000000007Z");
    }

    #[test]
    fn parses_go_layouts() {
        let x = UnixTime::parse_db_text("2025-12-17 16:31:25.057185").unwrap();
        assert_eq!(x, t(1_765_989_085, 57_185_000));
        assert_eq!(
            UnixTime::parse_db_text("2025-12-17T16:31:25Z").unwrap(),
            t(1_765_989_085, 0)
        );
        assert_eq!(
            UnixTime::parse_db_text("2025-12-17 17:31:25+01:00").unwrap(),
            t(1_765_989_085, 0)
        );
        assert_eq!(
            UnixTime::parse_db_text("2025-12-17 16:31").unwrap(),
            t(1_765_989_060, 0)
        );
        assert_eq!(
            UnixTime::parse_db_text("2025-12-17").unwrap(),
            t(1_765_929_600, 0)
        );
        for bad in [
            "",
            "2025-13-01",
            "2025-02-30",
            "2025-12-17 25:00",
            "yesterday",
            "2025-12-17 1:2:3.x",
        ] {
            assert_eq!(UnixTime::parse_db_text(bad), None, "{bad}");
        }
    }

    #[test]
    fn round_trips_every_day_of_several_centuries() {
        for days in (-800_000..800_000).step_by(97) {
            let (y, m, d) = civil_from_days(days);
            assert_eq!(days_from_civil(y, m, d), days);
        }
        let now = UnixTime::now();
        assert_eq!(UnixTime::parse_db_text(&now.to_db_text()), Some(now));
    }
}
