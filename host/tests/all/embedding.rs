//! The host as a library: one engine and component shared by concurrent
//! runs, each confined to its own tenant.

use baton_host::runtime::{EgressPolicy, Origin, RunPolicy, Runtime, NOTION_COMPONENT};
use baton_host::sync::SyncRun;
use notion_scim_test_server::{Config, TestServer};

fn tenant(token: &str, users: usize) -> TestServer {
    TestServer::start(Config {
        token: token.into(),
        users,
        groups: 3,
        seed: users as u64,
    })
    .unwrap()
}

use super::notion_config as config;

fn only(base_url: &str) -> RunPolicy {
    RunPolicy {
        egress: EgressPolicy {
            allowed: vec![Origin::of_url(base_url).unwrap()],
        },
        ..Default::default()
    }
}

#[test]
fn two_tenants_sync_concurrently_from_one_compiled_component() {
    let (a, b) = (tenant("token-a", 230), tenant("token-b", 40));
    let runtime = Runtime::new().unwrap();
    let component = runtime.load(NOTION_COMPONENT).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let counts = std::thread::scope(|s| {
        let jobs = [(&a, "token-a"), (&b, "token-b")].map(|(server, token)| {
            let component = &component;
            let target = dir.path().join(format!("{token}.c1z"));
            s.spawn(move || {
                let mut instance = component.instantiate(only(&server.base_url())).unwrap();
                let metadata = instance.metadata().unwrap();
                instance
                    .configure(&metadata, &config(token, &server.base_url()))
                    .unwrap();
                instance.validate().unwrap();
                let report = SyncRun::new(&mut instance, &metadata, &target)
                    .unwrap()
                    .run()
                    .unwrap();
                report.summary.counts.resources
            })
        });
        jobs.map(|j| j.join().unwrap())
    });
    // Users + groups + the four roles of each tenant.
    assert_eq!(counts, [230 + 3 + 4, 40 + 3 + 4]);
    assert_eq!(a.request_count(), 1 + 3 + 1);
    assert_eq!(b.request_count(), 1 + 1 + 1);
}

#[test]
fn a_tenant_cannot_reach_the_other_tenants_server() {
    let (a, b) = (tenant("token-a", 5), tenant("token-b", 5));
    let runtime = Runtime::new().unwrap();
    let component = runtime.load(NOTION_COMPONENT).unwrap();
    // Allowed to reach A only, but configured (say, by a hostile config) to call B.
    let mut instance = component.instantiate(only(&a.base_url())).unwrap();
    let metadata = instance.metadata().unwrap();
    instance
        .configure(&metadata, &config("token-a", &b.base_url()))
        .unwrap();
    let err = instance.validate().unwrap_err().to_string();
    let b_origin = b.base_url().trim_end_matches("/scim/v2").to_string();
    assert!(
        err.contains(b_origin.trim_start_matches("http://")),
        "the refused origin is named: {err}"
    );
    assert_eq!(b.request_count(), 0, "nothing reached B");
    assert_eq!(a.request_count(), 0);
}

/// An embedder prepares instances ahead and queues them: the wait spends
/// none of the run limit, which starts at the first call.
#[test]
fn a_queued_instance_keeps_its_whole_run_limit() {
    let runtime = Runtime::new().unwrap();
    let component = runtime.load(NOTION_COMPONENT).unwrap();
    let policy = RunPolicy {
        run_timeout: std::time::Duration::from_millis(500),
        ..Default::default()
    };
    let mut instance = component.instantiate(policy).unwrap();
    std::thread::sleep(std::time::Duration::from_millis(800));
    instance
        .metadata()
        .expect("the run limit counts from the first call, not from instantiation");
}

/// Beyond `max_runs_in_progress`, a run waits at its first call that may send a request
/// until a run ends (its instance is dropped), and its run clock starts only then; a
/// cancelled waiting run gives up at once.
#[test]
fn runs_beyond_the_budget_wait_their_turn_with_their_whole_run_limit() {
    use baton_host::runtime::{RuntimeError, RuntimeOptions};
    use std::sync::mpsc;
    use std::time::Duration;
    let runtime = Runtime::with_options(&RuntimeOptions {
        max_runs_in_progress: Some(1),
        ..Default::default()
    })
    .unwrap();
    let component = runtime.load(NOTION_COMPONENT).unwrap();
    let server = tenant("token-a", 20);
    let url = server.base_url();
    let start = |run_timeout: Duration| {
        let mut instance = component
            .instantiate(RunPolicy {
                run_timeout,
                ..only(&url)
            })
            .unwrap();
        // These send nothing: no turn needed.
        let metadata = instance.metadata().unwrap();
        instance
            .configure(&metadata, &config("token-a", &url))
            .unwrap();
        (instance, metadata)
    };
    let (mut first, metadata) = start(Duration::from_secs(60));
    first
        .configure(&metadata, &config("token-a", &url))
        .unwrap();
    first.validate().unwrap();

    // The second waits longer than its run limit, then runs within it.
    let (mut second, _) = start(Duration::from_millis(400));
    let (done, finished) = mpsc::channel();
    let waiting = std::thread::spawn(move || {
        done.send(second.validate()).unwrap();
        second
    });
    assert!(
        finished.recv_timeout(Duration::from_millis(700)).is_err(),
        "the second run waits while the first is in progress"
    );
    drop(first);
    finished
        .recv_timeout(Duration::from_secs(10))
        .unwrap()
        .expect("admitted once the first ended, with its whole run limit");
    let second = waiting.join().unwrap();

    // A third, cancelled while it waits for the second to end.
    let (mut third, _) = start(Duration::from_secs(60));
    let canceller = third.canceller();
    let waiting = std::thread::spawn(move || third.validate());
    std::thread::sleep(Duration::from_millis(200));
    canceller.cancel();
    let err = waiting.join().unwrap().unwrap_err();
    assert!(
        matches!(err, RuntimeError::Cancelled { call: "validate" }),
        "{err}"
    );
    drop(second);
}

/// `max_requests_in_flight` holds across runs: three tenants whose every answer takes
/// 150 ms, each with its own four slots, take at least the sum of their requests' times
/// when only one request may be in flight in the whole runtime.
#[test]
fn requests_in_flight_are_bounded_across_runs() {
    use baton_host::runtime::RuntimeOptions;
    use notion_scim_test_server::{Fault, Schedule, ScheduledFault};
    use std::time::{Duration, Instant};
    let runtime = Runtime::with_options(&RuntimeOptions {
        max_requests_in_flight: Some(1),
        ..Default::default()
    })
    .unwrap();
    let component = runtime.load(NOTION_COMPONENT).unwrap();
    let servers: Vec<TestServer> = (0..3).map(|_| tenant("token-a", 150)).collect();
    for server in &servers {
        server.inject(ScheduledFault::new(
            Fault::Delay(Duration::from_millis(150)),
            Schedule::always(),
        ));
    }
    let dir = tempfile::tempdir().unwrap();
    let started = Instant::now();
    std::thread::scope(|s| {
        for (i, server) in servers.iter().enumerate() {
            let (component, target) = (&component, dir.path().join(format!("{i}.c1z")));
            s.spawn(move || {
                let url = server.base_url();
                let mut instance = component.instantiate(only(&url)).unwrap();
                let metadata = instance.metadata().unwrap();
                instance
                    .configure(&metadata, &config("token-a", &url))
                    .unwrap();
                instance.validate().unwrap();
                SyncRun::new(&mut instance, &metadata, &target)
                    .unwrap()
                    .run()
                    .unwrap();
            });
        }
    });
    let elapsed = started.elapsed();
    let requests: usize = servers.iter().map(|s| s.request_count()).sum();
    let serial = Duration::from_millis(150) * requests as u32;
    assert!(
        elapsed >= serial,
        "{requests} requests of 150 ms one at a time take {serial:?}; took {elapsed:?}"
    );
}

/// The pooling allocator and a small address-space reservation run a sync as the
/// defaults do; an instance beyond the pool fails to instantiate, naming the cause.
#[test]
fn the_engine_can_pool_instances_and_reserve_less_address_space() {
    use baton_host::runtime::RuntimeOptions;
    let runtime = Runtime::with_options(&RuntimeOptions {
        pooling_instances: Some(2),
        memory_reservation: Some(64 << 20),
        ..Default::default()
    })
    .unwrap();
    let component = runtime.load(NOTION_COMPONENT).unwrap();
    let server = tenant("token-a", 230);
    let url = server.base_url();
    let dir = tempfile::tempdir().unwrap();
    let run = |target: &str| {
        let mut instance = component.instantiate(only(&url)).unwrap();
        let metadata = instance.metadata().unwrap();
        instance
            .configure(&metadata, &config("token-a", &url))
            .unwrap();
        instance.validate().unwrap();
        let report = SyncRun::new(&mut instance, &metadata, &dir.path().join(target))
            .unwrap()
            .run()
            .unwrap();
        report.summary.counts.resources
    };
    // Three runs one after the other through a pool of two: slots are reused.
    for target in ["a.c1z", "b.c1z", "c.c1z"] {
        assert_eq!(run(target), 230 + 3 + 4);
    }
    let held: Vec<_> = (0..2)
        .map(|_| component.instantiate(only(&url)).unwrap())
        .collect();
    let err = component
        .instantiate(only(&url))
        .err()
        .expect("a third live instance does not fit a pool of two");
    assert!(err.to_string().contains("instantiate"), "{err}");
    drop(held);
}

/// `SyncRun::progress` shows a paced sync from another thread while it runs.
#[test]
fn progress_is_readable_from_another_thread_while_the_sync_runs() {
    use baton_host::runtime::RateLimiter;
    use std::time::Duration;
    let runtime = Runtime::new().unwrap();
    let component = runtime.load(NOTION_COMPONENT).unwrap();
    let server = tenant("token-a", 600);
    let url = server.base_url();
    let mut instance = component
        .instantiate(RunPolicy {
            rate_limit: RateLimiter::new(8.0, 1),
            ..only(&url)
        })
        .unwrap();
    let metadata = instance.metadata().unwrap();
    instance
        .configure(&metadata, &config("token-a", &url))
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let sync = SyncRun::new(&mut instance, &metadata, &dir.path().join("p.c1z")).unwrap();
    let progress = sync.progress();
    let seen = std::thread::scope(|s| {
        let watcher = s.spawn(|| {
            let mut seen = Vec::new();
            for _ in 0..40 {
                std::thread::sleep(Duration::from_millis(50));
                seen.push(progress.snapshot());
            }
            seen
        });
        let report = sync.run().unwrap();
        (watcher.join().unwrap(), report)
    });
    let (snapshots, report) = seen;
    let during: Vec<_> = snapshots
        .iter()
        .filter(|s| s.resource_type.as_deref() == Some("user") && s.pages > 0)
        .collect();
    assert!(!during.is_empty(), "{snapshots:#?}");
    assert!(during
        .iter()
        .all(|s| s.requests > s.pages && s.objects >= s.pages * 100));
    let last = progress.snapshot();
    let pages: u64 = report.per_type.iter().map(|(_, s)| s.pages).sum();
    assert_eq!((last.pages, last.resource_type), (pages, None));
    assert_eq!(last.requests, instance.requests_sent());
}

/// A labelled run's error names the run; the error inside is the one an unlabelled run
/// gets.
#[test]
fn a_labelled_runs_error_names_it() {
    use baton_host::runtime::RuntimeError;
    use baton_host::sync::SyncError;
    use notion_scim_test_server::{Fault, FaultRule};
    let runtime = Runtime::new().unwrap();
    let component = runtime.load(NOTION_COMPONENT).unwrap();
    let server = tenant("token-a", 20);
    let url = server.base_url();
    let mut instance = component
        .instantiate(RunPolicy {
            label: Some("tenant-9".into()),
            ..only(&url)
        })
        .unwrap();
    let metadata = instance.metadata().unwrap();
    instance
        .configure(&metadata, &config("token-a", &url))
        .unwrap();
    // Validation fails: the runtime error names the run too.
    server.add_fault(FaultRule::new(Fault::Status(500), 1, Some(1)));
    let err = instance.validate().unwrap_err();
    assert!(
        err.to_string().starts_with("tenant-9: validate failed:"),
        "{err}"
    );
    assert!(
        matches!(err.unlabelled(), RuntimeError::Connector { .. }),
        "{err:?}"
    );
    // The first list request fails for good: nothing to save.
    server.add_fault(FaultRule::new(Fault::Status(500), 2, Some(1)));
    let dir = tempfile::tempdir().unwrap();
    let err = SyncRun::new(&mut instance, &metadata, &dir.path().join("l.c1z"))
        .unwrap()
        .run()
        .unwrap_err();
    assert!(
        err.to_string()
            .starts_with("tenant-9: list-resources failed:"),
        "{err}"
    );
    assert!(matches!(err.unlabelled(), SyncError::Runtime(_)), "{err:?}");
}

/// A configured instance of `component` for `server` (token `token-a`), made the async
/// way a platform's task makes it.
async fn prepared(
    component: &baton_host::runtime::ConnectorComponent,
    url: &str,
    policy: RunPolicy,
) -> (
    baton_host::runtime::ConnectorInstance,
    baton_host::bindings::types::ConnectorMetadata,
) {
    let mut instance = component.instantiate_async(policy).await.unwrap();
    let metadata = instance.metadata_async().await.unwrap();
    instance
        .configure_async(&metadata, &config("token-a", url))
        .await
        .unwrap();
    (instance, metadata)
}

/// `sync::spawn` runs paced syncs as tasks: on a runtime of two worker threads, forty
/// syncs that each wait on their own rate limiter are all in progress at once, and each
/// ends complete.
#[test]
fn many_paced_syncs_run_at_once_on_two_threads() {
    use baton_host::runtime::RateLimiter;
    use baton_host::sync::{spawn, SyncJob};
    use std::time::Duration;
    let threads = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let runtime = Runtime::new().unwrap();
    let component = runtime.load(NOTION_COMPONENT).unwrap();
    let servers: Vec<TestServer> = (0..40).map(|_| tenant("token-a", 150)).collect();
    let dir = tempfile::tempdir().unwrap();
    threads.block_on(async {
        let mut handles = Vec::new();
        for (i, server) in servers.iter().enumerate() {
            let url = server.base_url();
            let policy = RunPolicy {
                // Three list requests: about half a second each, mostly waiting.
                rate_limit: RateLimiter::new(4.0, 1),
                label: Some(format!("tenant-{i}")),
                ..only(&url)
            };
            let (instance, metadata) = prepared(&component, &url, policy).await;
            let target = dir.path().join(format!("{i}.c1z"));
            handles.push(spawn(SyncJob::new(instance, metadata, target)));
        }
        let mut most_at_once = 0;
        while !handles.iter().all(|h| h.is_finished()) {
            let at_once = handles
                .iter()
                .filter(|h| !h.is_finished() && h.progress().requests >= 1)
                .count();
            most_at_once = most_at_once.max(at_once);
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        for handle in handles {
            let report = handle.wait().await.unwrap();
            assert_eq!(report.summary.counts.resources, 150 + 3 + 4);
        }
        assert!(
            most_at_once >= 30,
            "at most {most_at_once} of 40 paced syncs were in progress at once on 2 threads"
        );
    });
}

/// A spawned sync is cancelled from its handle while it waits on its pace: it stops at
/// once with its progress saved, and its error names it.
#[test]
fn a_spawned_sync_is_cancelled_from_its_handle() {
    use baton_host::runtime::{RateLimiter, RuntimeError};
    use baton_host::sync::{spawn, SyncError, SyncJob};
    use std::time::{Duration, Instant};
    let threads = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let runtime = Runtime::new().unwrap();
    let component = runtime.load(NOTION_COMPONENT).unwrap();
    let server = tenant("token-a", 600);
    let url = server.base_url();
    let dir = tempfile::tempdir().unwrap();
    threads.block_on(async {
        let policy = RunPolicy {
            rate_limit: RateLimiter::new(1.0, 1),
            label: Some("tenant-c".into()),
            ..only(&url)
        };
        let (instance, metadata) = prepared(&component, &url, policy).await;
        let handle = spawn(SyncJob::new(instance, metadata, dir.path().join("c.c1z")));
        while handle.progress().pages < 1 {
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        let cancelled = Instant::now();
        handle.cancel();
        let err = handle.wait().await.unwrap_err();
        assert!(cancelled.elapsed() < Duration::from_secs(1), "{err}");
        assert!(err.to_string().starts_with("tenant-c: "), "{err}");
        let SyncError::Stopped { cause, .. } = err.unlabelled() else {
            panic!("the progress is saved: {err:?}");
        };
        assert!(
            matches!(**cause, SyncError::Runtime(RuntimeError::Cancelled { .. })),
            "{cause}"
        );
    });
}

/// Cancelled while its upstream takes 10 s to answer, a sync stops at once; with no page
/// written, the target is left as it was (there is none here).
#[test]
fn a_sync_waiting_on_a_slow_response_is_cancelled_at_once() {
    use baton_host::runtime::RuntimeError;
    use baton_host::sync::{spawn, SyncError, SyncJob};
    use notion_scim_test_server::{Fault, FaultRule};
    use std::time::{Duration, Instant};
    let threads = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let runtime = Runtime::new().unwrap();
    let component = runtime.load(NOTION_COMPONENT).unwrap();
    let server = tenant("token-a", 50);
    let url = server.base_url();
    server.add_fault(FaultRule::new(
        Fault::Delay(Duration::from_secs(10)),
        1,
        None,
    ));
    let dir = tempfile::tempdir().unwrap();
    let target = dir.path().join("slow.c1z");
    threads.block_on(async {
        let (instance, metadata) = prepared(&component, &url, only(&url)).await;
        let handle = spawn(SyncJob::new(instance, metadata, target.clone()));
        while handle.progress().requests < 1 {
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
        let cancelled = Instant::now();
        handle.cancel();
        let err = handle.wait().await.unwrap_err();
        assert!(cancelled.elapsed() < Duration::from_secs(1), "{err}");
        assert!(
            matches!(err, SyncError::Runtime(RuntimeError::Cancelled { .. })),
            "{err:?}"
        );
    });
    assert!(!target.exists(), "nothing was written");
}
