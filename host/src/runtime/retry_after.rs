//! Reading a `Retry-After` header (RFC 9110 §10.2.3): delay seconds, or an
//! HTTP date in any of the three forms a recipient must accept.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// How long `value` asks the client to wait, seen from `now`.
///
/// `None` for anything that is neither form (the caller then backs off as
/// if there were no header). A date in the past asks for no wait; huge
/// second counts saturate, and the caller's cap decides what to make of them.
pub(crate) fn parse(value: &[u8], now: SystemTime) -> Option<Duration> {
    let value = std::str::from_utf8(value).ok()?.trim();
    if !value.is_empty() && value.bytes().all(|b| b.is_ascii_digit()) {
        let secs = value.parse::<u64>().unwrap_or(u64::MAX);
        return Some(Duration::from_secs(secs));
    }
    let at = UNIX_EPOCH + Duration::from_secs(http_date(value)?);
    Some(at.duration_since(now).unwrap_or(Duration::ZERO))
}

/// Seconds since the Unix epoch of an HTTP date: IMF-fixdate
/// (`Sun, 06 Nov 1994 08:49:37 GMT`), the obsolete RFC 850 form
/// (`Sunday, 06-Nov-94 08:49:37 GMT`) or C's asctime form
/// (`Sun Nov  6 08:49:37 1994`). The weekday is not checked.
fn http_date(value: &str) -> Option<u64> {
    let (day, month, year, time) = match value.split_once(", ") {
        Some((_weekday, rest)) => match rest.split(' ').collect::<Vec<_>>().as_slice() {
            [day, month, year, time, "GMT"] if year.len() == 4 => {
                (*day, *month, year.parse().ok()?, *time)
            }
            [date, time, "GMT"] => {
                let mut parts = date.split('-');
                let (day, month, yy) = (parts.next()?, parts.next()?, parts.next()?);
                if parts.next().is_some() || yy.len() != 2 {
                    return None;
                }
                // Two-digit years: RFC 9110 reads a date more than 50 years
                // ahead as the past; with the clock in this century that is 70..99.
                let yy: u64 = yy.parse().ok()?;
                (
                    day,
                    month,
                    if yy >= 70 { 1900 + yy } else { 2000 + yy },
                    *time,
                )
            }
            _ => return None,
        },
        None => match value.split_whitespace().collect::<Vec<_>>().as_slice() {
            [_weekday, month, day, time, year] if year.len() == 4 => {
                (*day, *month, year.parse().ok()?, *time)
            }
            _ => return None,
        },
    };
    let day: u64 = digits(day)?;
    let month = month_number(month)?;
    if !(1..=31).contains(&day) || year < 1970 {
        return None;
    }
    let mut hms = time.split(':').map(digits);
    let (h, m, s) = (hms.next()??, hms.next()??, hms.next()??);
    if hms.next().is_some() || h > 23 || m > 59 || s > 60 {
        return None;
    }
    Some(days_since_epoch(year, month, day) * 86_400 + h * 3600 + m * 60 + s)
}

/// A field of one or two ASCII digits.
fn digits(text: &str) -> Option<u64> {
    let ok = (1..=2).contains(&text.len()) && text.bytes().all(|b| b.is_ascii_digit());
    ok.then(|| text.parse().ok()).flatten()
}

fn month_number(name: &str) -> Option<u64> {
    const MONTHS: [&str; 12] = [
        "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
    ];
    MONTHS.iter().position(|m| *m == name).map(|i| i as u64 + 1)
}

/// Days from 1970-01-01 to a Gregorian date in 1970 or later.
fn days_since_epoch(year: u64, month: u64, day: u64) -> u64 {
    let leap = |y: u64| (y.is_multiple_of(4) && !y.is_multiple_of(100)) || y.is_multiple_of(400);
    // Whole years: 365 days each, plus the leap days before `year`.
    let leaps_before = |y: u64| (y - 1) / 4 - (y - 1) / 100 + (y - 1) / 400;
    let mut days = (year - 1970) * 365 + leaps_before(year) - leaps_before(1970);
    const BEFORE_MONTH: [u64; 12] = [0, 31, 59, 90, 120, 151, 181, 212, 243, 273, 304, 334];
    days += BEFORE_MONTH[(month - 1) as usize] + (day - 1);
    if month > 2 && leap(year) {
        days += 1;
    }
    days
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Sun, 06 Nov 1994 08:49:37 GMT.
    const EXAMPLE: u64 = 784_111_777;

    fn at(secs: u64) -> SystemTime {
        UNIX_EPOCH + Duration::from_secs(secs)
    }

    #[test]
    fn delay_seconds() {
        let now = SystemTime::now();
        assert_eq!(parse(b"0", now), Some(Duration::ZERO));
        assert_eq!(parse(b" 12 ", now), Some(Duration::from_secs(12)));
        assert_eq!(
            parse(b"99999999999999999999999", now),
            Some(Duration::from_secs(u64::MAX)),
            "saturates"
        );
    }

    #[test]
    fn the_three_date_forms_agree() {
        let now = at(EXAMPLE - 30);
        let want = Some(Duration::from_secs(30));
        assert_eq!(parse(b"Sun, 06 Nov 1994 08:49:37 GMT", now), want);
        assert_eq!(parse(b"Sunday, 06-Nov-94 08:49:37 GMT", now), want);
        assert_eq!(parse(b"Sun Nov  6 08:49:37 1994", now), want);
    }

    #[test]
    fn dates_in_the_past_ask_for_no_wait() {
        let now = at(EXAMPLE + 5);
        assert_eq!(
            parse(b"Sun, 06 Nov 1994 08:49:37 GMT", now),
            Some(Duration::ZERO)
        );
    }

    #[test]
    fn calendar_arithmetic_matches_known_dates() {
        assert_eq!(http_date("Thu, 01 Jan 1970 00:00:00 GMT"), Some(0));
        assert_eq!(
            http_date("Thu, 29 Feb 2024 00:00:00 GMT"),
            Some(1_709_164_800)
        );
        assert_eq!(
            http_date("Fri, 01 Mar 2024 00:00:00 GMT"),
            Some(1_709_251_200)
        );
        assert_eq!(
            http_date("Fri, 31 Dec 1999 23:59:59 GMT"),
            Some(946_684_799)
        );
        assert_eq!(
            http_date("Wed, 01 Mar 2000 00:00:00 GMT"),
            Some(951_868_800)
        );
        assert_eq!(
            http_date("Monday, 01-Jan-01 00:00:00 GMT"),
            Some(978_307_200)
        );
    }

    #[test]
    fn garbage_is_not_a_wait() {
        let now = at(EXAMPLE);
        for value in [
            "",
            "-1",
            "1.5",
            "soon",
            "12 s",
            "Sun, 06 Foo 1994 08:49:37 GMT",
            "Sun, 06 Nov 1994 25:49:37 GMT",
            "Sun, 06 Nov 1994 08:49 GMT",
            "Sun, 06 Nov 1994 08:49:37 CET",
            "Sun, 32 Nov 1994 08:49:37 GMT",
            "Sun, 06 Nov 1969 08:49:37 GMT",
            "Sun, 006 Nov 1994 08:49:37 GMT",
            "Sunday, 06-Nov-1994 08:49:37 GMT",
            "Sun Nov 6 08:49:37",
        ] {
            assert_eq!(parse(value.as_bytes(), now), None, "{value:?}");
        }
        assert_eq!(parse(b"\xff\xfe", now), None);
    }
}
