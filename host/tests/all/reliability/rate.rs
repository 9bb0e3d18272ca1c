//! The client-side rate limiter against a server that enforces the same rate.

use super::*;

/// The rate of both the server's bucket and the host's limiter.
const RATE: f64 = 5.0;

#[test]
fn a_rate_limited_sync_of_2000_users_keeps_to_the_rate_and_never_gives_up() {
    let server = server(2000, 3);
    // Notion-like: the server answers 429 when its bucket is empty. A burst
    // of 2 absorbs the jitter of loopback latency between two requests sent
    // exactly one interval apart; the host itself sends no bursts (1).
    server.set_rate_limit(Some(RateLimit::new(RATE, 2)));
    let policy = RunPolicy {
        rate_limit: RateLimiter::new(RATE, 1),
        ..allowed(&server)
    };
    let (mut instance, metadata) = instance(&server, policy);
    let dir = tempfile::tempdir().unwrap();
    let target = dir.path().join("sync.c1z");

    // The sync as the CLI runs it, validation included; loading and
    // instantiating the component are not part of it.
    let before = server.request_count();
    let started = Instant::now();
    instance.validate().unwrap();
    let report = SyncRun::new(&mut instance, &metadata, &target)
        .unwrap()
        .run()
        .expect("no request gives up");
    let took = started.elapsed();

    let requests = &server.requests()[before..];
    let pages = requests.len();
    let limited = requests.iter().filter(|r| r.status == 429).count();
    // The validation request, 20 pages of users and one of groups.
    assert_eq!(pages, 22, "{requests:?}");
    assert_eq!(limited, 0, "the server never had to refuse a request");
    assert_eq!(instance.requests_retried(), 0);
    let ideal = Duration::from_secs_f64(pages as f64 / RATE);
    let bound = ideal.mul_f64(1.15);
    eprintln!(
        "rate-limited sync: {pages} requests in {took:.2?} (pages/rate {ideal:.2?}, bound {bound:.2?})"
    );
    assert!(
        took <= bound,
        "{pages} requests took {took:?}, more than 1.15 x pages/rate = {bound:?}"
    );
    assert_eq!(report.per_type[0].1.resources, 2000);
}

#[test]
fn one_limiter_can_pace_two_runs_that_share_a_budget() {
    let server = server(5, 1);
    let shared = RateLimiter::new(4.0, 1).unwrap();
    let policy = || RunPolicy {
        rate_limit: Some(shared.clone()),
        ..allowed(&server)
    };
    let (mut a, _) = instance(&server, policy());
    let (mut b, _) = instance(&server, policy());
    let started = Instant::now();
    for _ in 0..3 {
        a.validate().unwrap();
        b.validate().unwrap();
    }
    // Six requests through one bucket of 4 per second: the first at once,
    // then one every 250 ms.
    let took = started.elapsed();
    assert!(took >= Duration::from_millis(1250), "{took:?}");
    assert!(took < Duration::from_secs(3), "{took:?}");
}
