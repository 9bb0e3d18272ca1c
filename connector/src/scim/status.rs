//! Turning a non-2xx SCIM answer into a typed `connector-error`.
//!
//! The kind follows the HTTP status (the host decides on retries from the kind
//! alone); the message names the request and carries the server's SCIM
//! `detail`, or a short snippet of the body when there is none. Messages never
//! contain headers, and the token is scrubbed from body snippets in case a
//! server echoes it.

use crate::baton::connector::types::{ConnectorError, ErrorKind};
use crate::error::error;

use super::model::{from_item, ScimError};

/// Longest body snippet quoted in an error message, in characters.
const SNIPPET_CHARS: usize = 200;

/// The error kind for an HTTP status outside 2xx.
pub fn kind_for_status(status: u16) -> ErrorKind {
    match status {
        400 | 422 => ErrorKind::InvalidArgument,
        401 => ErrorKind::Unauthenticated,
        403 => ErrorKind::PermissionDenied,
        404 | 410 => ErrorKind::NotFound,
        408 => ErrorKind::DeadlineExceeded,
        409 => ErrorKind::AlreadyExists,
        412 => ErrorKind::FailedPrecondition,
        429 => ErrorKind::Unavailable,
        // A plain 500 is how Notion reports some deterministic refusals (e.g. a
        // duplicate email on PATCH), so retrying it blindly would not help.
        500 | 501 => ErrorKind::Internal,
        // 502, 503, 504, Notion's 529 "service_overload" and the other 5xx.
        502..=599 => ErrorKind::Unavailable,
        // wasi:http does not follow redirects; a 1xx or 3xx here means the base
        // URL points at something that is not the SCIM API.
        100..=199 | 300..=399 => ErrorKind::BadResponse,
        _ => ErrorKind::Internal,
    }
}

/// Builds the error for a non-2xx answer to `request` (e.g. `GET /Users?...`).
///
/// `now_unix_secs` is only needed for a `Retry-After` given as an HTTP date.
pub fn status_error(
    request: &str,
    status: u16,
    retry_after: Option<&str>,
    body: &[u8],
    secret: &str,
    now_unix_secs: Option<u64>,
) -> ConnectorError {
    let kind = kind_for_status(status);
    let mut e = error(
        kind,
        format!(
            "{request} failed with HTTP {status}: {}",
            describe_body(status, body, secret)
        ),
    );
    if kind == ErrorKind::Unavailable {
        e.retry_after_ms = retry_after.and_then(|v| parse_retry_after(v, now_unix_secs));
    }
    e
}

/// The SCIM `detail` of an error body, else a snippet of the body.
fn describe_body(status: u16, body: &[u8], secret: &str) -> String {
    let parsed = serde_json::from_slice(body)
        .ok()
        .and_then(from_item::<ScimError>);
    if let Some(scim) = parsed {
        let text = [scim.detail, scim.message]
            .into_iter()
            .flatten()
            .find(|t| !t.trim().is_empty());
        if let Some(text) = text {
            let mut out = snippet(&text, secret);
            if let Some(t) = scim.scim_type.filter(|t| !t.is_empty()) {
                out.push_str(&format!(" (scimType {})", snippet(&t, secret)));
            }
            // Only worth saying when the body disagrees with the HTTP status.
            if let Some(s) = scim.status.filter(|s| s.trim() != status.to_string()) {
                out.push_str(&format!(" (body status {})", snippet(&s, secret)));
            }
            return out;
        }
    }
    if body.is_empty() {
        return "empty body".into();
    }
    format!("body: {}", snippet(&String::from_utf8_lossy(body), secret))
}

/// Collapses whitespace, drops control characters, removes `secret` and cuts
/// the text to [`SNIPPET_CHARS`] characters (never inside a character).
///
/// Secrets shorter than 8 characters are not real Notion tokens (test servers
/// accept anything) and replacing them would garble every message.
pub fn snippet(text: &str, secret: &str) -> String {
    let scrubbed = if secret.len() < 8 {
        text.to_string()
    } else {
        text.replace(secret, "<redacted>")
    };
    let collapsed: String = scrubbed
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
        .chars()
        .filter(|c| !c.is_control())
        .collect();
    match collapsed.char_indices().nth(SNIPPET_CHARS) {
        Some((cut, _)) => format!("{}…", &collapsed[..cut]),
        None => collapsed,
    }
}

/// Parses `Retry-After` as delay seconds or as an IMF-fixdate HTTP date.
pub fn parse_retry_after(value: &str, now_unix_secs: Option<u64>) -> Option<u64> {
    let value = value.trim();
    if !value.is_empty() && value.bytes().all(|b| b.is_ascii_digit()) {
        // Absurdly large values saturate; the host caps its own waits.
        return Some(
            value
                .parse::<u64>()
                .unwrap_or(u64::MAX)
                .saturating_mul(1000),
        );
    }
    let at = parse_http_date(value)?;
    Some(at.saturating_sub(now_unix_secs?).saturating_mul(1000))
}

/// Parses `Sun, 06 Nov 1994 08:49:37 GMT` into Unix seconds.
fn parse_http_date(value: &str) -> Option<u64> {
    let (_weekday, rest) = value.split_once(", ")?;
    let parts: Vec<&str> = rest.split(' ').collect();
    let [day, month, year, time, "GMT"] = parts.as_slice() else {
        return None;
    };
    const MONTHS: [&str; 12] = [
        "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
    ];
    let month = MONTHS.iter().position(|m| m == month)? as u64 + 1;
    let day: u64 = day.parse().ok().filter(|d| (1..=31).contains(d))?;
    // IMF-fixdate years have four digits; a longer one would overflow the day count.
    let year: u64 = year.parse().ok().filter(|y| (1970..=9999).contains(y))?;
    let hms: Vec<u64> = time
        .split(':')
        .map(|p| p.parse().ok())
        .collect::<Option<_>>()?;
    let [h, m, s] = hms.as_slice() else {
        return None;
    };
    if *h > 23 || *m > 59 || *s > 60 {
        return None;
    }
    Some(days_from_civil(year, month, day) * 86_400 + h * 3600 + m * 60 + s)
}

/// Days since 1970-01-01 of a proleptic Gregorian date (year >= 1970).
fn days_from_civil(year: u64, month: u64, day: u64) -> u64 {
    // Shift the year to start in March so that the leap day is the last day.
    let y = if month <= 2 { year - 1 } else { year };
    let era = y / 400;
    let yoe = y - era * 400;
    let mp = (month + 9) % 12;
    let doy = (153 * mp + 2) / 5 + day - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statuses_map_to_kinds() {
        use ErrorKind::*;
        let cases = [
            (400, InvalidArgument),
            (401, Unauthenticated),
            (403, PermissionDenied),
            (404, NotFound),
            (408, DeadlineExceeded),
            (409, AlreadyExists),
            (429, Unavailable),
            (500, Internal),
            (502, Unavailable),
            (503, Unavailable),
            (504, Unavailable),
            (529, Unavailable),
            (302, BadResponse),
            (418, Internal),
        ];
        for (status, kind) in cases {
            assert_eq!(kind_for_status(status), kind, "{status}");
        }
    }

    #[test]
    fn messages_carry_the_scim_detail_or_a_snippet() {
        let long = "x".repeat(500);
        let cases: &[(u16, &str, &str)] = &[
            (
                404,
                r#"{"status":"404","detail":"User not found"}"#,
                "GET /Users/u failed with HTTP 404: User not found",
            ),
            (
                409,
                r#"{"status":409,"scimType":"uniqueness","detail":"exists"}"#,
                "HTTP 409: exists (scimType uniqueness)",
            ),
            (
                400,
                r#"{"status":"409","detail":"odd"}"#,
                "odd (body status 409)",
            ),
            (
                429,
                r#"{"object":"error","status":429,"message":"slow down"}"#,
                "HTTP 429: slow down",
            ),
            (
                502,
                "<html>\n  Bad   gateway</html>",
                "HTTP 502: body: <html> Bad gateway</html>",
            ),
            (500, "", "HTTP 500: empty body"),
            (
                401,
                r#"{"detail":"bad token secret123"}"#,
                "bad token <redacted>",
            ),
            (503, r#"{"status":"503"}"#, r#"body: {"status":"503"}"#),
        ];
        for (status, body, want) in cases {
            let e = status_error(
                "GET /Users/u",
                *status,
                None,
                body.as_bytes(),
                "secret123",
                None,
            );
            assert!(e.message.contains(want), "{status} {body}: {}", e.message);
            assert!(!e.message.contains("secret123"));
        }
        let e = status_error("GET /x", 502, None, long.as_bytes(), "s", None);
        assert!(e.message.chars().count() < 260, "{}", e.message);
        let e = status_error("GET /x", 502, None, "é".repeat(300).as_bytes(), "s", None);
        assert!(e.message.ends_with('…'));
    }

    #[test]
    fn retry_after_only_on_unavailable() {
        let e = status_error("GET /x", 429, Some("7"), b"", "", None);
        assert_eq!(e.retry_after_ms, Some(7000));
        let e = status_error("GET /x", 400, Some("7"), b"", "", None);
        assert_eq!(e.retry_after_ms, None);
    }

    #[test]
    fn retry_after_forms() {
        // 784111777 = Sun, 06 Nov 1994 08:49:37 GMT.
        let now = Some(784_111_777 - 30);
        let cases: &[(&str, Option<u64>, Option<u64>)] = &[
            ("0", None, Some(0)),
            (" 12 ", None, Some(12_000)),
            ("99999999999999999999999", None, Some(u64::MAX)),
            ("-1", None, None),
            ("1.5", None, None),
            ("", None, None),
            ("Sun, 06 Nov 1994 08:49:37 GMT", now, Some(30_000)),
            ("Sun, 06 Nov 1994 08:49:37 GMT", None, None),
            (
                "Sun, 06 Nov 1994 08:49:37 GMT",
                Some(784_111_777 + 5),
                Some(0),
            ),
            (
                "Thu, 29 Feb 2024 00:00:00 GMT",
                Some(1_709_164_800),
                Some(0),
            ),
            ("Sun, 06 Foo 1994 08:49:37 GMT", now, None),
            ("Sun, 06 Nov 99999999999999 08:49:37 GMT", now, None),
            (
                "Fri, 31 Dec 9999 23:59:59 GMT",
                Some(0),
                Some(253_402_300_799_000),
            ),
            ("Sun, 06 Nov 1994 25:49:37 GMT", now, None),
            ("Sunday, 06-Nov-94 08:49:37 GMT", now, None),
        ];
        for (value, now, want) in cases {
            assert_eq!(parse_retry_after(value, *now), *want, "{value}");
        }
    }
}
