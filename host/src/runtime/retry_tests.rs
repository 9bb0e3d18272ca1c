//! Unit tests of the retry rules and of the retry loop with a scripted sender.

use std::collections::VecDeque;
use std::sync::Mutex;

use http_body_util::BodyExt;

use super::*;

const SEC: Duration = Duration::from_secs(1);

fn request(method: Method, body: &'static [u8]) -> Request<WasiBody> {
    let body = http_body_util::Full::new(bytes::Bytes::from_static(body))
        .map_err(|e: std::convert::Infallible| match e {});
    let body = if body.is_end_stream() {
        http_body_util::Empty::new()
            .map_err(|e: std::convert::Infallible| match e {})
            .boxed_unsync()
    } else {
        body.boxed_unsync()
    };
    Request::builder()
        .method(method)
        .uri("http://127.0.0.1:1/scim/v2/Users?startIndex=1&count=100")
        .header("authorization", "Bearer secret")
        .body(body)
        .unwrap()
}

#[test]
fn only_requests_without_a_body_are_repeated_and_delete_only_if_unprocessed() {
    assert_eq!(Repeat::of(&request(Method::GET, b"")), Repeat::Always);
    assert_eq!(Repeat::of(&request(Method::HEAD, b"")), Repeat::Always);
    assert_eq!(Repeat::of(&request(Method::PUT, b"")), Repeat::Always);
    assert_eq!(
        Repeat::of(&request(Method::DELETE, b"")),
        Repeat::IfUnprocessed
    );
    assert_eq!(Repeat::of(&request(Method::POST, b"")), Repeat::Never);
    assert_eq!(Repeat::of(&request(Method::PATCH, b"")), Repeat::Never);
    assert_eq!(Repeat::of(&request(Method::PUT, b"{}")), Repeat::Never);
    assert_eq!(Repeat::of(&request(Method::GET, b"x")), Repeat::Never);
}

#[test]
fn transient_statuses_and_errors() {
    for code in [429, 502, 503, 504, 529] {
        assert!(Failure::of_status(code, None).is_some(), "{code}");
    }
    for code in [200, 204, 400, 401, 403, 404, 409, 500, 501] {
        assert_eq!(Failure::of_status(code, None), None, "{code}");
    }
    assert_eq!(
        Failure::of_status(429, Some(b"7")),
        Some(Failure::Status {
            code: 429,
            retry_after: Some(7 * SEC)
        })
    );
    assert_eq!(
        Failure::of_status(503, Some(b"later")),
        Some(Failure::Status {
            code: 503,
            retry_after: None
        })
    );
    let refused = std::io::Error::from(std::io::ErrorKind::ConnectionRefused);
    let unprocessed = Some(Failure::Transport { unprocessed: true });
    let ambiguous = Some(Failure::Transport { unprocessed: false });
    assert_eq!(Failure::of_error(&HttpError::Connect(refused)), unprocessed);
    assert_eq!(
        Failure::of_error(&HttpError::ConnectionTimeout),
        unprocessed
    );
    assert_eq!(
        Failure::of_error(&HttpError::HttpResponseTimeout),
        ambiguous
    );
    assert_eq!(
        Failure::of_error(&HttpError::ConnectionTerminated),
        ambiguous
    );
    for fatal in [
        HttpError::InternalError(Some("egress to x is not allowed by the host".into())),
        HttpError::HttpResponseBodySize(Some(10)),
        HttpError::HttpRequestDenied,
        HttpError::TlsCertificateError,
    ] {
        assert_eq!(Failure::of_error(&fatal), None, "{fatal:?}");
    }
}

#[test]
fn backoff_doubles_within_bounds_and_is_capped() {
    for attempt in 1..=12u32 {
        let ceiling = (BASE_BACKOFF * 2u32.pow(attempt - 1)).min(MAX_BACKOFF);
        for random in [0, 1, 12_345_678_901, u64::MAX / 3, u64::MAX] {
            let wait = backoff(attempt, random);
            assert!(
                wait >= ceiling / 2 && wait <= ceiling,
                "attempt {attempt}: {wait:?} outside {:?}..={ceiling:?}",
                ceiling / 2
            );
        }
    }
    assert_eq!(backoff(1, 0), Duration::from_millis(250));
    assert_eq!(backoff(3, 0), Duration::from_secs(1));
    assert_eq!(backoff(u32::MAX, u64::MAX), backoff(40, u64::MAX));
    assert!(backoff(40, 7) <= MAX_BACKOFF);
}

#[test]
fn waits_honour_retry_after_attempts_caps_and_the_deadline() {
    let retries = Retries {
        max_attempts: 3,
        max_wait: 120 * SEC,
    };
    let limited = |secs| Failure::Status {
        code: 429,
        retry_after: Some(secs * SEC),
    };
    let reset = Failure::Transport { unprocessed: false };
    let w =
        |repeat, attempt, failure: &Failure, left| retries.wait(repeat, attempt, failure, left, 0);

    assert_eq!(w(Repeat::Always, 1, &limited(2), None), Ok(2 * SEC));
    let spread = retries.wait(Repeat::Always, 1, &limited(2), None, u64::MAX - 1);
    assert!(
        matches!(spread, Ok(d) if d > 2 * SEC && d <= 2 * SEC + SEC / 5),
        "{spread:?}"
    );
    assert_eq!(w(Repeat::Always, 1, &reset, None), Ok(backoff(1, 0)));
    assert_eq!(w(Repeat::Always, 3, &reset, None), Err(GiveUp::Exhausted));
    assert_eq!(
        w(Repeat::Always, 1, &limited(300), None),
        Err(GiveUp::TooLong { asked: 300 * SEC })
    );
    assert_eq!(
        w(Repeat::Always, 1, &limited(10), Some(5 * SEC)),
        Err(GiveUp::PastDeadline {
            wait: 10 * SEC,
            left: 5 * SEC
        })
    );
    // A zero Retry-After does not turn into a tight loop.
    assert_eq!(w(Repeat::Always, 2, &limited(0), None), Ok(backoff(2, 0)));
    assert_eq!(
        w(Repeat::Never, 1, &limited(1), None),
        Err(GiveUp::NotRepeatable)
    );
    // DELETE: a 429 or a refused connection, never an ambiguous failure.
    assert_eq!(w(Repeat::IfUnprocessed, 1, &limited(1), None), Ok(SEC));
    let refused = Failure::Transport { unprocessed: true };
    assert_eq!(
        w(Repeat::IfUnprocessed, 1, &refused, None),
        Ok(backoff(1, 0))
    );
    assert_eq!(
        w(Repeat::IfUnprocessed, 1, &reset, None),
        Err(GiveUp::NotRepeatable)
    );
    let gateway = Failure::Status {
        code: 503,
        retry_after: None,
    };
    assert_eq!(
        w(Repeat::IfUnprocessed, 1, &gateway, None),
        Err(GiveUp::NotRepeatable)
    );
    // One attempt means no retry; zero counts as one.
    for max_attempts in [0, 1] {
        let once = Retries {
            max_attempts,
            max_wait: SEC,
        };
        assert_eq!(
            once.wait(Repeat::Always, 1, &reset, None, 0),
            Err(GiveUp::Exhausted)
        );
    }
}

/// Answers each attempt with the next scripted status (or error), and
/// records what it was sent.
struct Script {
    answers: Mutex<VecDeque<Result<u16, HttpError>>>,
    seen: Mutex<Vec<(Method, String, Option<String>)>>,
}

impl Script {
    fn new(answers: Vec<Result<u16, HttpError>>) -> Script {
        Script {
            answers: Mutex::new(answers.into()),
            seen: Mutex::new(Vec::new()),
        }
    }
}

impl SendOnce for Script {
    type Extra = ();

    fn send(
        &self,
        request: Request<WasiBody>,
    ) -> impl Future<Output = Result<(Response<WasiBody>, ()), HttpError>> + Send {
        let auth = request
            .headers()
            .get("authorization")
            .map(|v| v.to_str().unwrap().to_string());
        self.seen
            .lock()
            .unwrap()
            .push((request.method().clone(), request.uri().to_string(), auth));
        let answer = self.answers.lock().unwrap().pop_front().expect("scripted");
        async move {
            let status = answer?;
            let empty = http_body_util::Empty::new()
                .map_err(|e: std::convert::Infallible| match e {})
                .boxed_unsync();
            let mut response = Response::new(empty);
            *response.status_mut() = http::StatusCode::from_u16(status).unwrap();
            Ok((response, ()))
        }
    }
}

fn fast() -> Retries {
    Retries {
        max_attempts: 4,
        max_wait: Duration::from_millis(1),
    }
}

async fn status_of(script: &Script, request: Request<WasiBody>) -> Result<u16, String> {
    let retried = AtomicU64::new(0);
    send(fast(), request, None, script, &retried)
        .await
        .map(|(r, ())| r.status().as_u16())
        .map_err(|e| e.to_string())
}

#[tokio::test]
async fn a_get_is_rebuilt_for_each_attempt_until_it_succeeds() {
    let script = Script::new(vec![
        Ok(503),
        Err(HttpError::ConnectionTerminated),
        Ok(429),
        Ok(200),
    ]);
    let retried = AtomicU64::new(0);
    let (response, ()) = send(fast(), request(Method::GET, b""), None, &script, &retried)
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    assert_eq!(retried.load(Ordering::Relaxed), 3);
    let seen = script.seen.lock().unwrap();
    assert_eq!(seen.len(), 4);
    assert!(
        seen.iter().all(|s| *s == seen[0]),
        "identical attempts: {seen:?}"
    );
    assert_eq!(seen[0].2.as_deref(), Some("Bearer secret"));
}

#[tokio::test]
async fn the_guest_gets_the_last_answer_when_attempts_run_out() {
    let script = Script::new((0..4).map(|_| Ok(503)).collect());
    assert_eq!(status_of(&script, request(Method::GET, b"")).await, Ok(503));
    assert_eq!(script.seen.lock().unwrap().len(), 4);

    let script = Script::new(
        (0..4)
            .map(|_| Err(HttpError::HttpResponseTimeout))
            .collect(),
    );
    let err = status_of(&script, request(Method::GET, b""))
        .await
        .unwrap_err();
    assert_eq!(err, HttpError::HttpResponseTimeout.to_string());
}

#[tokio::test]
async fn other_answers_and_bodies_get_one_attempt() {
    for status in [400, 404, 500] {
        let script = Script::new(vec![Ok(status)]);
        assert_eq!(
            status_of(&script, request(Method::GET, b"")).await,
            Ok(status)
        );
    }
    let script = Script::new(vec![Ok(503)]);
    assert_eq!(
        status_of(&script, request(Method::POST, b"{}")).await,
        Ok(503)
    );
    let script = Script::new(vec![Err(HttpError::ConnectionTerminated)]);
    assert!(status_of(&script, request(Method::PATCH, b"{}"))
        .await
        .is_err());
    let script = Script::new(vec![Ok(504)]);
    assert_eq!(
        status_of(&script, request(Method::DELETE, b"")).await,
        Ok(504)
    );
    let script = Script::new(vec![Ok(429), Ok(204)]);
    assert_eq!(
        status_of(&script, request(Method::DELETE, b"")).await,
        Ok(204)
    );
}

#[tokio::test]
async fn no_wait_passes_the_deadline() {
    let script = Script::new(vec![Ok(503), Ok(200)]);
    let retries = Retries {
        max_attempts: 5,
        max_wait: 120 * SEC,
    };
    let retried = AtomicU64::new(0);
    let deadline = Instant::now() + Duration::from_millis(100);
    let started = Instant::now();
    let (response, ()) = send(
        retries,
        request(Method::GET, b""),
        Some(deadline),
        &script,
        &retried,
    )
    .await
    .unwrap();
    // The first backoff (250 ms or more) would end after the deadline.
    assert_eq!(response.status(), 503);
    assert!(started.elapsed() < Duration::from_millis(100));
    assert_eq!(retried.load(Ordering::Relaxed), 0);
}
