//! What each fault looks like on the wire: the answers that replace the handler
//! ([`replacement`]) and the reshaping of the handler's answer ([`rewrite`]).

use std::time::{SystemTime, UNIX_EPOCH};

use axum::body::Body;
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use serde_json::Value;

use crate::faults::Fault;
use crate::scim::ScimError;

/// Name of the field [`Fault::Oversized`] adds.
pub const PADDING_FIELD: &str = "x-test-padding";

/// A SCIM `429` with `Retry-After` set to `retry_after` (seconds or an HTTP-date).
pub(crate) fn too_many_requests(detail: &str, retry_after: &str) -> Response {
    let mut resp = ScimError::new(429, detail).into_response();
    if let Ok(v) = HeaderValue::from_str(retry_after) {
        resp.headers_mut().insert(header::RETRY_AFTER, v);
    }
    resp
}

/// An IMF-fixdate at least `secs` after `now`: the current time is rounded up to a
/// whole second first, because the format cannot express fractions and a client
/// must never be told to come back earlier than intended.
pub(crate) fn http_date_after(now: SystemTime, secs: u64) -> String {
    let since = now.duration_since(UNIX_EPOCH).unwrap_or_default();
    let whole = since.as_secs() + u64::from(since.subsec_nanos() > 0);
    imf_fixdate(whole.saturating_add(secs))
}

/// Formats seconds since the Unix epoch as an IMF-fixdate (RFC 9110 §5.6.7), e.g.
/// `Sun, 06 Nov 1994 08:49:37 GMT`.
fn imf_fixdate(epoch_secs: u64) -> String {
    const MONTHS: [&str; 12] = [
        "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
    ];
    // 1970-01-01 was a Thursday.
    const WEEKDAYS: [&str; 7] = ["Thu", "Fri", "Sat", "Sun", "Mon", "Tue", "Wed"];
    let (days, rem) = (epoch_secs / 86_400, epoch_secs % 86_400);
    let (hour, min, sec) = (rem / 3600, rem / 60 % 60, rem % 60);
    // Civil date from a day count: years are taken to start on 1 March so the leap
    // day falls at the end, and counted in 400-year eras of 146,097 days.
    let z = days + 719_468; // days from 0000-03-01 to 1970-01-01
    let (era, day_of_era) = (z / 146_097, z % 146_097);
    let year_of_era =
        (day_of_era - day_of_era / 1460 + day_of_era / 36_524 - day_of_era / 146_096) / 365;
    let day_of_year = day_of_era - (365 * year_of_era + year_of_era / 4 - year_of_era / 100);
    let month_from_march = (5 * day_of_year + 2) / 153;
    let day = day_of_year - (153 * month_from_march + 2) / 5 + 1;
    let month = (month_from_march + 2) % 12; // 0-based, January = 0
    let year = era * 400 + year_of_era + u64::from(month < 2);
    format!(
        "{}, {day:02} {} {year} {hour:02}:{min:02}:{sec:02} GMT",
        WEEKDAYS[(days % 7) as usize],
        MONTHS[month as usize]
    )
}

/// Status codes hyper can send as a final answer; anything else becomes 500.
fn final_status(code: u16) -> StatusCode {
    StatusCode::from_u16(code)
        .ok()
        .filter(|s| !s.is_informational())
        .unwrap_or(StatusCode::INTERNAL_SERVER_ERROR)
}

/// A proxy-style HTML error page.
fn html_page(status: StatusCode) -> Response {
    let title = format!(
        "{} {}",
        status.as_u16(),
        status.canonical_reason().unwrap_or("Error")
    );
    let body = format!(
        "<!DOCTYPE html>\n<html><head><title>{title}</title></head>\n<body><h1>{title}</h1>\
         <p>The gateway could not get a valid answer from the upstream service.</p></body></html>\n"
    );
    let mut resp = (status, body).into_response();
    resp.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/html; charset=utf-8"),
    );
    resp
}

/// The answer sent instead of running the handler, for faults that replace it.
pub(crate) fn replacement(fault: &Fault) -> Option<Response> {
    match fault {
        Fault::RateLimit { retry_after_secs } => Some(too_many_requests(
            "rate limited",
            &retry_after_secs.to_string(),
        )),
        Fault::RateLimitHttpDate { retry_after_secs } => Some(too_many_requests(
            "rate limited",
            &http_date_after(SystemTime::now(), *retry_after_secs),
        )),
        Fault::Status(code) => {
            Some(ScimError::new(final_status(*code).as_u16(), "injected failure").into_response())
        }
        Fault::HtmlError(code) => Some(html_page(final_status(*code))),
        _ => None,
    }
}

/// Removes `field` from a list envelope that has it, else from the first resource
/// of a list, else from a single resource.
fn remove_field(v: &mut Value, field: &str) {
    let Some(obj) = v.as_object_mut() else {
        return;
    };
    if obj.contains_key("Resources") && obj.remove(field).is_none() {
        if let Some(first) = obj["Resources"].get_mut(0).and_then(Value::as_object_mut) {
            first.remove(field);
        }
    } else {
        obj.remove(field);
    }
}

/// Edits the JSON object in `bytes`; bodies that are not a JSON object stay as is.
fn edit_json(bytes: &[u8], edit: impl FnOnce(&mut Value)) -> Option<Vec<u8>> {
    let mut v: Value = serde_json::from_slice(bytes).ok()?;
    if !v.is_object() {
        return None;
    }
    edit(&mut v);
    serde_json::to_vec(&v).ok()
}

/// Reshapes the handler's answer for faults that let it run.
pub(crate) async fn rewrite(fault: &Fault, resp: Response) -> Response {
    if !fault.rewrites_response() {
        return resp;
    }
    let (mut parts, body) = resp.into_parts();
    let Ok(bytes) = axum::body::to_bytes(body, usize::MAX).await else {
        return ScimError::new(500, "could not buffer the response").into_response();
    };
    let new_body = match fault {
        // Half the bytes, with a Content-Length that matches them: the HTTP layer
        // sees a complete message and only a JSON parser notices the cut.
        Fault::TruncatedBody => Some(bytes[..bytes.len() / 2].to_vec()),
        Fault::WrongContentType => {
            parts.headers.insert(
                header::CONTENT_TYPE,
                HeaderValue::from_static("text/html; charset=utf-8"),
            );
            None
        }
        Fault::Oversized { pad_bytes } => edit_json(&bytes, |v| {
            v[PADDING_FIELD] = Value::from("x".repeat(*pad_bytes));
        }),
        Fault::MissingField(field) => edit_json(&bytes, |v| remove_field(v, field)),
        _ => None,
    };
    // The length is recomputed from the new body.
    parts.headers.remove(header::CONTENT_LENGTH);
    let body = match new_body {
        Some(b) => Body::from(b),
        None => Body::from(bytes),
    };
    Response::from_parts(parts, body)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scim::scim_response;
    use serde_json::json;
    use std::time::Duration;

    async fn body_of(resp: Response) -> Vec<u8> {
        axum::body::to_bytes(resp.into_body(), usize::MAX)
            .await
            .unwrap()
            .to_vec()
    }

    fn page() -> Response {
        scim_response(
            StatusCode::OK,
            &json!({"totalResults": 2, "Resources": [{"id": "a", "userName": "x"}, {"id": "b"}]}),
        )
    }

    #[test]
    fn imf_fixdates_match_known_instants() {
        let cases = [
            (0, "Thu, 01 Jan 1970 00:00:00 GMT"),
            (784_111_777, "Sun, 06 Nov 1994 08:49:37 GMT"),
            (951_782_400, "Tue, 29 Feb 2000 00:00:00 GMT"),
            (1_709_164_800, "Thu, 29 Feb 2024 00:00:00 GMT"),
            (4_102_444_800, "Fri, 01 Jan 2100 00:00:00 GMT"),
            (253_402_300_799, "Fri, 31 Dec 9999 23:59:59 GMT"),
        ];
        for (secs, want) in cases {
            assert_eq!(imf_fixdate(secs), want);
        }
    }

    #[test]
    fn http_dates_round_up_to_whole_seconds() {
        let now = UNIX_EPOCH + Duration::from_millis(784_111_777_250);
        assert_eq!(http_date_after(now, 2), "Sun, 06 Nov 1994 08:49:40 GMT");
        let exact = UNIX_EPOCH + Duration::from_secs(784_111_777);
        assert_eq!(http_date_after(exact, 0), "Sun, 06 Nov 1994 08:49:37 GMT");
    }

    #[tokio::test]
    async fn replacements_have_the_right_status_and_type() {
        let r = replacement(&Fault::Status(101)).unwrap();
        assert_eq!(r.status(), 500);
        let r = replacement(&Fault::HtmlError(502)).unwrap();
        assert_eq!(r.status(), 502);
        let html = String::from_utf8(body_of(r).await).unwrap();
        assert!(html.contains("<title>502 Bad Gateway</title>"), "{html}");
        assert!(replacement(&Fault::TruncatedBody).is_none());
        assert!(replacement(&Fault::Drop).is_none());
    }

    #[tokio::test]
    async fn rewrites_cut_pad_and_strip() {
        let full = body_of(page()).await;
        let cut = body_of(rewrite(&Fault::TruncatedBody, page()).await).await;
        assert_eq!(cut, full[..full.len() / 2]);
        assert!(serde_json::from_slice::<Value>(&cut).is_err());

        let padded = rewrite(&Fault::Oversized { pad_bytes: 5000 }, page()).await;
        let v: Value = serde_json::from_slice(&body_of(padded).await).unwrap();
        assert_eq!(v[PADDING_FIELD].as_str().unwrap().len(), 5000);
        assert_eq!(v["Resources"][1]["id"], "b");

        let missing = |f: &str| Fault::MissingField(f.into());
        let v: Value =
            serde_json::from_slice(&body_of(rewrite(&missing("id"), page()).await).await).unwrap();
        assert_eq!(v["Resources"], json!([{"userName": "x"}, {"id": "b"}]));
        let v: Value =
            serde_json::from_slice(&body_of(rewrite(&missing("totalResults"), page()).await).await)
                .unwrap();
        assert!(v.get("totalResults").is_none() && v["Resources"][0]["id"] == "a");
        let single = scim_response(StatusCode::OK, &json!({"id": "a", "userName": "x"}));
        let v: Value =
            serde_json::from_slice(&body_of(rewrite(&missing("id"), single).await).await).unwrap();
        assert_eq!(v, json!({"userName": "x"}));

        // A body that is not a JSON object passes through untouched.
        let empty = StatusCode::NO_CONTENT.into_response();
        let r = rewrite(&Fault::Oversized { pad_bytes: 10 }, empty).await;
        assert_eq!(r.status(), 204);
        assert!(body_of(r).await.is_empty());
    }
}
