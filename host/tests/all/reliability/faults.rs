//! Transient faults: retried until the sync equals a clean one, or given up
//! after exactly the allowed attempts; other answers are never retried.

use super::*;

/// Every fault a correct client survives by retrying.
fn transient_faults() -> Vec<Fault> {
    vec![
        Fault::RateLimit {
            retry_after_secs: 1,
        },
        Fault::RateLimitHttpDate {
            retry_after_secs: 1,
        },
        Fault::Status(502),
        Fault::Status(503),
        Fault::Status(504),
        Fault::Status(529),
        Fault::HtmlError(502),
        Fault::HtmlError(503),
        Fault::Drop,
        Fault::Hang,
    ]
}

/// A seeded shuffle (xorshift), so the mix is the same on every run.
fn shuffled<T>(mut items: Vec<T>, seed: u64) -> Vec<T> {
    let mut state = seed.max(1);
    for i in (1..items.len()).rev() {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        items.swap(i, (state % (i as u64 + 1)) as usize);
    }
    items
}

#[test]
fn a_sync_through_every_transient_fault_and_lossless_anomaly_equals_a_clean_one() {
    let server = server(600, 8);
    let dir = tempfile::tempdir().unwrap();
    let clean = dir.path().join("clean.c1z");
    let clean_report = sync_into(&server, &clean).expect("the clean sync");

    // Every second GET fails, with each fault once per round in a seeded
    // order, so no request fails twice in a row and each fault is met.
    let faults = transient_faults();
    let rounds = 4;
    for round in 0..rounds {
        let order = shuffled(faults.clone(), 7 + round);
        for (i, fault) in order.into_iter().enumerate() {
            let ordinal = 2 * (round * faults.len() as u64 + i as u64 + 1);
            let rule = ScheduledFault::new(fault, Schedule::range(ordinal, Some(1)));
            server.inject(rule.only_method("GET"));
        }
    }
    let jitter = Fault::Delay(Duration::from_millis(30));
    server.inject(ScheduledFault::new(jitter, Schedule::probability(0.3, 11)));
    let anomalies: Vec<Anomaly> = Anomaly::ALL
        .into_iter()
        .filter(|a| a.is_lossless())
        .collect();
    for anomaly in &anomalies {
        server.enable_anomaly(*anomaly);
    }
    let before = server.request_count();

    let faulted = dir.path().join("faulted.c1z");
    let policy = RunPolicy {
        // A hanging request costs one request timeout.
        request_timeout: Duration::from_secs(1),
        max_retry_wait: Duration::from_secs(3),
        ..allowed(&server)
    };
    let (mut instance, metadata) = instance(&server, policy);
    instance.validate().expect("validation survives the faults");
    let report = SyncRun::new(&mut instance, &metadata, &faulted)
        .unwrap()
        .run()
        .expect("the faulted sync succeeds");

    let seen: Vec<u16> = server.requests()[before..]
        .iter()
        .map(|r| r.status)
        .collect();
    for status in [429, 502, 503, 504, 529, 0] {
        assert!(seen.contains(&status), "no {status} among {seen:?}");
    }
    let failed = seen.iter().filter(|s| **s != 200).count() as u64;
    assert!(
        failed >= faults.len() as u64,
        "every fault was met: {seen:?}"
    );
    assert_eq!(
        instance.requests_retried(),
        failed,
        "each failure retried once"
    );
    assert_eq!(instance.requests_sent(), seen.len() as u64);

    assert_same_content(&clean, &faulted);
    for ((rt, want), (_, got)) in clean_report.per_type.iter().zip(&report.per_type) {
        assert_eq!(
            (want.resources, want.entitlements, want.grants),
            (got.resources, got.entitlements, got.grants),
            "{rt}"
        );
    }
    // The repeats the anomaly served reach the host, which keeps one copy.
    let duplicates: u64 = report.per_type.iter().map(|(_, s)| s.duplicates).sum();
    assert!(duplicates > 0, "the duplicate anomaly was on");
    assert_eq!(report.summary.counts.duplicates, duplicates);
    eprintln!(
        "faulted sync: {} requests ({failed} failed and retried), anomalies {anomalies:?}, \
         {duplicates} duplicates",
        seen.len(),
    );
}

#[test]
fn items_repeated_across_pages_are_kept_once_and_counted_in_the_summary() {
    // 250 users in three pages; with the anomaly, pages 2 and 3 each start
    // with the last user of the page before: 2 users, each with a role grant,
    // come twice. The one group (3 members) is on a single page.
    let server = server(250, 1);
    let dir = tempfile::tempdir().unwrap();
    let clean = dir.path().join("clean.c1z");
    let clean_report = sync_into(&server, &clean).expect("the clean sync");
    assert_eq!(clean_report.summary.counts.duplicates, 0);

    server.enable_anomaly(Anomaly::DuplicateAcrossPages);
    let shifted = dir.path().join("shifted.c1z");
    let report = sync_into(&server, &shifted).expect("the sync with repeats");
    let users = &report.per_type.iter().find(|(t, _)| t == "user").unwrap().1;
    assert_eq!((users.pages, users.duplicates), (3, 4), "{users:?}");
    assert_eq!(report.summary.counts.duplicates, 4);
    assert_eq!(
        report.summary.counts.resources,
        clean_report.summary.counts.resources
    );
    assert_same_content(&clean, &shifted);
}

#[test]
fn a_request_that_keeps_failing_is_given_up_after_exactly_max_attempts() {
    let server = server(5, 1);
    let previous = Previous::write(&server);
    server.inject(on_user_pages(Fault::Status(503)));
    let before = statuses(&server, "/Users").len();

    let (mut instance, metadata) = instance(&server, quick_retries(&server));
    instance.validate().unwrap();
    let result = SyncRun::new(&mut instance, &metadata, &previous.path)
        .unwrap()
        .run();
    assert_eq!(
        failure(result),
        "list-resources failed: unavailable: GET /Users?startIndex=1&count=100 failed with \
         HTTP 503: injected failure"
    );
    let after = statuses(&server, "/Users");
    assert_eq!(after[before..], [200, 503, 503, 503, 503, 503]);
    assert_eq!(instance.requests_retried(), 4);
    previous.assert_intact();

    // The number is configurable; 1 turns retries off.
    server.clear_faults();
    server.inject(on_user_pages(Fault::Status(503)));
    let before = statuses(&server, "/Users").len();
    let once = RunPolicy {
        max_attempts: 1,
        ..quick_retries(&server)
    };
    failure(sync_with(&server, &previous.path, once));
    assert_eq!(statuses(&server, "/Users")[before..], [200, 503]);
    previous.assert_intact();
}

#[test]
fn a_dropped_connection_that_never_heals_ends_in_a_transport_error() {
    let server = server(5, 1);
    let previous = Previous::write(&server);
    server.inject(on_user_pages(Fault::Drop));
    let before = statuses(&server, "/Users").len();
    let message = failure(sync_with(&server, &previous.path, quick_retries(&server)));
    assert!(
        message
            .starts_with("list-resources failed: unavailable: GET /Users?startIndex=1&count=100: "),
        "{message}"
    );
    assert_eq!(statuses(&server, "/Users")[before..], [200, 0, 0, 0, 0, 0]);
    previous.assert_intact();
}

#[test]
fn client_errors_are_not_retried() {
    let cases = [
        (
            400,
            "list-resources failed: invalid argument: GET /Users?startIndex=1&count=100 failed \
             with HTTP 400: injected failure",
        ),
        (
            404,
            "list-resources failed: not found: GET /Users?startIndex=1&count=100 failed with \
             HTTP 404: injected failure",
        ),
        (
            500,
            "list-resources failed: internal error: GET /Users?startIndex=1&count=100 failed \
             with HTTP 500: injected failure",
        ),
    ];
    for (status, want) in cases {
        let server = server(5, 1);
        let previous = Previous::write(&server);
        server.inject(on_user_pages(Fault::Status(status)));
        let before = statuses(&server, "/Users").len();
        let message = failure(sync_with(&server, &previous.path, quick_retries(&server)));
        assert_eq!(message, want);
        assert_eq!(statuses(&server, "/Users")[before..], [200, status]);
        previous.assert_intact();
    }
}

#[test]
fn retry_after_is_honoured_in_seconds_and_as_an_http_date() {
    let forms = [
        Fault::RateLimit {
            retry_after_secs: 2,
        },
        Fault::RateLimitHttpDate {
            retry_after_secs: 2,
        },
    ];
    for fault in forms {
        let server = server(5, 1);
        let rule = ScheduledFault::new(fault.clone(), Schedule::range(2, Some(1)));
        server.inject(rule.only_method("GET").only_path("/Users"));
        let (mut instance, metadata) = instance(&server, allowed(&server));
        instance.validate().unwrap();
        let dir = tempfile::tempdir().unwrap();
        let started = Instant::now();
        SyncRun::new(&mut instance, &metadata, &dir.path().join("sync.c1z"))
            .unwrap()
            .run()
            .expect("the sync succeeds after waiting");
        let took = started.elapsed();
        // The date is at least 2 s ahead of the server's clock, rounded up to
        // a whole second: the host waits 2 to 3 s (plus up to 10 % spread).
        assert!(took >= Duration::from_millis(1950), "{fault:?}: {took:?}");
        assert!(took < Duration::from_secs(5), "{fault:?}: {took:?}");
        assert_eq!(statuses(&server, "/Users"), [200, 429, 200], "{fault:?}");
        assert_eq!(instance.requests_retried(), 1);
    }
}

#[test]
fn a_retry_after_longer_than_the_host_waits_fails_at_once_and_says_so() {
    let server = server(5, 1);
    let previous = Previous::write(&server);
    let fault = Fault::RateLimit {
        retry_after_secs: 600,
    };
    server.inject(on_user_pages(fault));
    let before = statuses(&server, "/Users").len();
    let (message, took) = timed_sync(&server, &previous.path, allowed(&server));
    assert!(took < Duration::from_secs(2), "{took:?}");
    assert_eq!(
        message,
        "list-resources failed: unavailable: GET /Users?startIndex=1&count=100 failed with \
         HTTP 429: rate limited (the server asked to retry after 10 min)"
    );
    assert_eq!(statuses(&server, "/Users")[before..], [200, 429]);
    previous.assert_intact();
}

#[test]
fn no_retry_wait_outlives_the_call_deadline() {
    let server = server(5, 1);
    let previous = Previous::write(&server);
    server.inject(on_user_pages(Fault::RateLimit {
        retry_after_secs: 1,
    }));
    let before = statuses(&server, "/Users").len();
    let policy = RunPolicy {
        call_timeout: Duration::from_millis(2800),
        max_attempts: 10,
        ..allowed(&server)
    };
    let (message, took) = timed_sync(&server, &previous.path, policy);
    // Attempts at about 0 s, 1 s and 2 s; a third wait of 1 s would end
    // after the deadline at 2.8 s, so the host hands the guest the 429 instead.
    assert!(took < Duration::from_millis(2800), "{took:?}");
    assert_eq!(
        message,
        "list-resources failed: unavailable: GET /Users?startIndex=1&count=100 failed with \
         HTTP 429: rate limited (the server asked to retry after 1 s)"
    );
    assert_eq!(statuses(&server, "/Users")[before..], [200, 429, 429, 429]);
    previous.assert_intact();
}

#[test]
fn a_request_still_waiting_at_the_call_deadline_is_stopped_there_and_never_retried() {
    let server = server(5, 1);
    let previous = Previous::write(&server);
    let hang_once = ScheduledFault::new(Fault::Hang, Schedule::range(2, Some(1)));
    server.inject(hang_once.only_method("GET").only_path("/Users"));
    let before = statuses(&server, "/Users").len();
    // Left alone, the hung attempt would time out at 1.5 s and be retried
    // at about 2 s; the call's deadline at 1 s ends both.
    let policy = RunPolicy {
        call_timeout: Duration::from_secs(1),
        request_timeout: Duration::from_millis(1500),
        ..allowed(&server)
    };
    let (mut instance, metadata) = instance(&server, policy);
    instance.validate().unwrap();
    let started = Instant::now();
    let result = SyncRun::new(&mut instance, &metadata, &previous.path)
        .unwrap()
        .run();
    assert!(started.elapsed() < Duration::from_millis(1400));
    assert_eq!(
        failure(result),
        "the connector exceeded its time limit of 1 s per call in `list-resources`"
    );
    // The instance is still alive (its request tasks with it): nothing more is sent.
    std::thread::sleep(Duration::from_millis(2500).saturating_sub(started.elapsed()));
    assert_eq!(statuses(&server, "/Users")[before..], [200, 0]);
    assert_eq!(instance.requests_retried(), 0);
    previous.assert_intact();
}

/// Validates, then runs a sync that must fail; returns its message and how
/// long the sync itself took.
fn timed_sync(server: &TestServer, target: &Path, policy: RunPolicy) -> (String, Duration) {
    let (mut instance, metadata) = instance(server, policy);
    instance.validate().unwrap();
    let started = Instant::now();
    let result = SyncRun::new(&mut instance, &metadata, target)
        .unwrap()
        .run();
    (failure(result), started.elapsed())
}
