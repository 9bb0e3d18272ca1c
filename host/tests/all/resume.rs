//! Resumable syncs (issue 13 point 3): a sync that fails part-way (an upstream error, the
//! run deadline, a cancellation) saves what it wrote as an unfinished sync with a
//! checkpoint; the next run resumes it under the same id, asks for no page already
//! written, and ends with what an uninterrupted sync gives. An unfinished sync of another
//! setup, or older than 7 days, is dropped with a line that says why.

use std::collections::BTreeSet;
use std::io::{Read, Write};
use std::path::Path;
use std::process::{Command, Output};
use std::time::Duration;

use baton_host::c1z::timestamp::UnixTime;
use baton_host::c1z::{C1zReader, EntitlementFilter, GrantFilter, ResourceFilter, MAGIC_V1};
use baton_host::runtime::{Limit, RateLimiter, RuntimeError};
use baton_host::sync::{SyncError, SyncReport, SyncRun};
use notion_scim_test_server::{Fault, FaultRule, RequestRecord, TestServer};

use super::{c1z_check, notion_with, server, sync_into, TOKEN};

/// Ids of everything a sync holds: resources, entitlements and grants.
type Content = (BTreeSet<String>, BTreeSet<String>, BTreeSet<String>);

fn content(file: &Path, sync_id: &str) -> Content {
    let reader = C1zReader::open(file).unwrap();
    let resources = reader
        .resources(sync_id, &ResourceFilter::default())
        .map(|r| {
            let id = r.unwrap().id.unwrap();
            format!("{}:{}", id.resource_type, id.resource)
        })
        .collect();
    let entitlements = reader
        .entitlements(sync_id, &EntitlementFilter::default())
        .map(|e| e.unwrap().id)
        .collect();
    let grants = reader
        .grants(sync_id, &GrantFilter::default())
        .map(|g| g.unwrap().id)
        .collect();
    (resources, entitlements, grants)
}

/// What an uninterrupted sync of `server` holds (synced into a file of its own).
fn uninterrupted(server: &TestServer, dir: &Path) -> Content {
    let file = dir.join("uninterrupted.c1z");
    let report = sync_into(server, &file).unwrap();
    content(&file, &report.summary.sync_id)
}

/// A sync into `target` with the run deadline and pace given, as the CLI runs it.
fn sync_paced(
    server: &TestServer,
    target: &Path,
    run_timeout: Duration,
    per_second: f64,
) -> Result<SyncReport, SyncError> {
    let (mut instance, metadata) = notion_with(&server.base_url(), TOKEN, |p| {
        p.run_timeout = run_timeout;
        p.rate_limit = RateLimiter::new(per_second, 1);
    });
    instance.validate()?;
    SyncRun::new(&mut instance, &metadata, target)?.run()
}

/// The `startIndex` of every page of users requested since request `since`.
fn user_pages(server: &TestServer, since: usize) -> Vec<u64> {
    page_starts(&server.requests()[since..], "/Users")
}

fn page_starts(requests: &[RequestRecord], path: &str) -> Vec<u64> {
    requests
        .iter()
        .filter(|r| r.path.ends_with(path))
        .filter_map(|r| {
            let query = r.query.as_deref()?;
            // The validation request asks for one item; pages ask for a page.
            if query.contains("count=1&") || query.ends_with("count=1") {
                return None;
            }
            query
                .split('&')
                .find_map(|kv| kv.strip_prefix("startIndex="))
                .and_then(|v| v.parse().ok())
        })
        .collect()
}

/// Checks an error is a saved stop and returns where it stopped and the sync saved.
fn stopped(result: Result<SyncReport, SyncError>) -> (String, String, SyncError) {
    match result {
        Err(SyncError::Stopped { at, saved, cause }) => (at, saved.sync_id, *cause),
        Err(e) => panic!("expected a saved stop, got: {e}"),
        Ok(_) => panic!("expected a saved stop, the sync finished"),
    }
}

/// (sync id, finished) of each sync run in the file, oldest first.
fn runs(file: &Path) -> Vec<(String, bool)> {
    C1zReader::open(file)
        .unwrap()
        .syncs()
        .unwrap()
        .into_iter()
        .map(|s| (s.sync_id.clone(), s.is_finished()))
        .collect()
}

#[test]
fn an_upstream_failure_saves_the_progress_and_the_next_run_resumes_it() {
    let server = server(1_000, 3);
    let dir = tempfile::tempdir().unwrap();
    let target = dir.path().join("sync.c1z");
    let first = sync_into(&server, &target).unwrap().summary.sync_id;

    // Validation, three pages of users, then the fourth page fails for good (500 is not
    // retried).
    let start = server.request_count();
    server.add_fault(FaultRule::new(
        Fault::Status(500),
        start as u64 + 5,
        Some(1),
    ));
    let (at, unfinished, cause) = stopped(sync_into(&server, &target));
    assert_eq!(at, "resource type user, after page 3 of its listing");
    assert!(
        matches!(cause, SyncError::Runtime(RuntimeError::Connector { .. })),
        "{cause}"
    );
    assert_eq!(user_pages(&server, start), [1, 101, 201, 301]);
    // The finished sync and the unfinished one; the readers still show the finished one.
    assert_eq!(
        runs(&target),
        [(first.clone(), true), (unfinished.clone(), false)]
    );
    let reader = C1zReader::open(&target).unwrap();
    assert_eq!(
        reader.latest_finished_sync().unwrap().unwrap().sync_id,
        first
    );
    assert_eq!(reader.select_sync(None).unwrap().sync_id, first);
    drop(reader);
    c1z_check(&target, false);

    let start = server.request_count();
    let report = sync_into(&server, &target).unwrap();
    assert_eq!(report.summary.sync_id, unfinished, "the same sync id");
    assert_eq!(
        report.resumed_at.as_deref(),
        Some("resource type user, after page 3 of its listing")
    );
    // No page already written is asked for again; only validation is repeated.
    assert_eq!(
        user_pages(&server, start),
        [301, 401, 501, 601, 701, 801, 901]
    );
    let users = report.per_type.iter().find(|(t, _)| t == "user").unwrap();
    assert_eq!(
        (users.1.pages, users.1.resources),
        (10, 1_000),
        "the report covers the whole sync"
    );
    assert_eq!(report.summary.counts.resources, 1_007);
    assert_eq!(runs(&target), [(first, true), (unfinished.clone(), true)]);
    assert_eq!(
        content(&target, &unfinished),
        uninterrupted(&server, dir.path()),
        "a resumed sync holds what an uninterrupted one does"
    );
    c1z_check(&target, false);
}

#[test]
fn a_deadline_and_a_cancellation_save_the_progress_and_a_third_run_finishes() {
    let server = server(1_000, 3);
    let dir = tempfile::tempdir().unwrap();
    let target = dir.path().join("sync.c1z");

    // 5 requests a second for 1 s: validation and a few pages.
    let (at, first, cause) = stopped(sync_paced(&server, &target, Duration::from_secs(1), 5.0));
    // The deadline itself, or the pace refusing a request that would wait past it.
    assert!(
        matches!(
            cause,
            SyncError::Runtime(RuntimeError::Limit {
                limit: Limit::RunTime { .. },
                ..
            })
        ) || cause.to_string().contains("past the call's time limit"),
        "{cause}"
    );
    eprintln!("the deadline stopped the sync in {at}");
    assert_eq!(runs(&target), [(first.clone(), false)]);

    // A resumed run, cancelled from another thread while it waits on its pace.
    let start = server.request_count();
    let (mut instance, metadata) = notion_with(&server.base_url(), TOKEN, |p| {
        p.rate_limit = RateLimiter::new(4.0, 1);
    });
    instance.validate().unwrap();
    let canceller = instance.canceller();
    let cancelling = std::thread::spawn(move || {
        std::thread::sleep(Duration::from_millis(900));
        canceller.cancel();
    });
    let result = SyncRun::new(&mut instance, &metadata, &target)
        .unwrap()
        .run();
    cancelling.join().unwrap();
    let (at_second, second, cause) = stopped(result);
    assert!(
        matches!(cause, SyncError::Runtime(RuntimeError::Cancelled { .. })),
        "{cause}"
    );
    assert_eq!(
        second, first,
        "a resumed sync keeps its id when it stops again"
    );
    assert_ne!(at_second, at, "the second run got further");
    let second_pages = user_pages(&server, start);
    assert!(
        !second_pages.is_empty() && second_pages[0] > 1,
        "it resumed where the first stopped: {second_pages:?}"
    );
    assert_eq!(runs(&target), [(first.clone(), false)]);

    let start = server.request_count();
    let report = sync_into(&server, &target).unwrap();
    assert_eq!(report.summary.sync_id, first);
    let third_pages = user_pages(&server, start);
    let mut all: Vec<u64> = user_pages(&server, 0);
    all.sort_unstable();
    all.dedup();
    assert_eq!(all, (0..10).map(|p| 1 + p * 100).collect::<Vec<_>>());
    for page in &third_pages {
        assert!(!second_pages.contains(page), "page {page} asked twice");
    }
    assert_eq!(runs(&target), [(first.clone(), true)]);
    assert_eq!(content(&target, &first), uninterrupted(&server, dir.path()));
}

/// `baton-notion` against `server` into `file`, with `args` and the token `token`.
fn notion_cli(server: &TestServer, file: &Path, token: &str, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_baton-notion"))
        .args(["--base-url", &server.base_url(), "-f"])
        .arg(file)
        .args(["--log-format", "console", "--rate-limit", "0"])
        .args(args)
        .env("BATON_SCIM_TOKEN", token)
        .env_remove("BATON_FRESH_SYNC")
        .env_remove("BATON_FRESH_HISTORY")
        .env_remove("BATON_KEEP_SYNC_COUNT")
        .env_remove("BATON_SKIP_CLEANUP")
        .output()
        .unwrap()
}

/// Leaves an unfinished sync of `server` in `target` (its fourth request fails) and
/// returns its id.
fn leave_unfinished(server: &TestServer, target: &Path) -> String {
    server.add_fault(FaultRule::new(
        Fault::Status(500),
        server.request_count() as u64 + 4,
        Some(1),
    ));
    stopped(sync_into(server, target)).1
}

#[test]
fn the_cli_says_where_it_stopped_and_the_readers_show_the_finished_sync() {
    let server = server(1_000, 3);
    let dir = tempfile::tempdir().unwrap();
    let target = dir.path().join("sync.c1z");
    let first = sync_into(&server, &target).unwrap().summary.sync_id;
    let baton = |args: &[&str]| {
        Command::new(env!("CARGO_BIN_EXE_baton"))
            .arg("-f")
            .arg(&target)
            .args(args)
            .output()
            .unwrap()
    };
    let before = baton(&["resources"]);

    server.add_fault(FaultRule::new(
        Fault::Status(500),
        server.request_count() as u64 + 3,
        Some(1),
    ));
    let out = notion_cli(&server, &target, TOKEN, &[]);
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&out.stderr);
    let errors: Vec<&str> = stderr.lines().filter(|l| l.contains("ERROR")).collect();
    assert_eq!(errors.len(), 1, "{stderr}");
    for needle in [
        "HTTP 500",
        "the sync stopped in resource type user, after page 1 of its listing",
        "its progress is saved in",
        "the next sync into it resumes there",
    ] {
        assert!(errors[0].contains(needle), "{needle}: {stderr}");
    }
    assert!(!stderr.contains("was not changed"), "{stderr}");
    let unfinished = runs(&target)[1].0.clone();

    // Both listings and stats show the finished sync, and say an unfinished one exists.
    let after = baton(&["resources"]);
    assert_eq!(
        after.stdout, before.stdout,
        "the newest finished sync is shown"
    );
    for args in [&["resources"][..], &["stats"][..]] {
        let out = baton(args);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(
            stderr.contains(&format!("also holds an unfinished sync {unfinished}"))
                && stderr.contains(&format!("the newest finished sync {first}")),
            "{args:?}: {stderr}"
        );
    }
    // `baton syncs` lists both.
    let syncs = String::from_utf8_lossy(&baton(&["syncs"]).stdout).into_owned();
    assert!(
        syncs.contains(&first) && syncs.contains(&unfinished),
        "{syncs}"
    );

    let out = notion_cli(&server, &target, TOKEN, &[]);
    assert!(out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains(&format!(
            "resuming the unfinished sync {unfinished} at resource type user, after page 1"
        )),
        "{stderr}"
    );
    assert_eq!(runs(&target), [(first, true), (unfinished, true)]);
    // Nothing to warn about any more.
    assert!(baton(&["resources"]).stderr.is_empty());
}

#[test]
fn an_unfinished_sync_of_another_setup_too_old_or_refused_is_dropped_with_a_line() {
    let server = server(300, 2);
    let other = super::server(300, 2);
    let dir = tempfile::tempdir().unwrap();
    let target = dir.path().join("sync.c1z");
    let expect_dropped = |out: &Output, unfinished: &str, why: &str| {
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(out.status.success(), "{stderr}");
        let line = format!(
            "dropping the unfinished sync {unfinished} in the c1z: {why}; starting a new sync"
        );
        assert!(stderr.contains(&line), "{line}\n{stderr}");
        assert!(!stderr.contains(TOKEN), "{stderr}");
        let runs = runs(&target);
        assert!(
            runs.iter()
                .all(|(id, finished)| *finished && id != unfinished),
            "{runs:?}"
        );
    };

    // Another base URL.
    let unfinished = leave_unfinished(&server, &target);
    let out = notion_cli(&other, &target, TOKEN, &[]);
    let why = format!(
        "it was started with another configuration (`base-url` was {}, now {})",
        server.base_url(),
        other.base_url()
    );
    expect_dropped(&out, &unfinished, &why);

    // Another token. The test-server accepts only one, so the saved checkpoint is given
    // another token's fingerprint.
    let unfinished = leave_unfinished(&server, &target);
    rewrite_c1z(&target, |conn| {
        let token: String = conn
            .query_row(
                "SELECT sync_token FROM v1_sync_runs WHERE ended_at IS NULL",
                [],
                |r| r.get(0),
            )
            .unwrap();
        let mut checkpoint: serde_json::Value = serde_json::from_str(&token).unwrap();
        let fingerprint = checkpoint["owner"]["config"]["scim-token"]
            .as_str()
            .unwrap();
        assert!(fingerprint.starts_with("fingerprint:"), "{fingerprint}");
        assert!(!token.contains(TOKEN), "the token itself is never saved");
        checkpoint["owner"]["config"]["scim-token"] = "fingerprint:0000000000000000".into();
        set_unfinished(conn, "sync_token", &checkpoint.to_string());
    });
    let out = notion_cli(&server, &target, TOKEN, &[]);
    expect_dropped(
        &out,
        &unfinished,
        "it was started with another configuration (`scim-token` has another value)",
    );

    // Older than 7 days.
    let unfinished = leave_unfinished(&server, &target);
    let eight_days_ago = UnixTime {
        secs: UnixTime::now().secs - 8 * 24 * 3600,
        nanos: 0,
    };
    rewrite_c1z(&target, |conn| {
        set_unfinished(conn, "started_at", &eight_days_ago.to_db_text())
    });
    let out = notion_cli(&server, &target, TOKEN, &[]);
    expect_dropped(
        &out,
        &unfinished,
        "it started 8 days ago, more than the 7 days a sync may be resumed in",
    );

    // Asked for.
    let unfinished = leave_unfinished(&server, &target);
    let out = notion_cli(&server, &target, TOKEN, &["--fresh-sync"]);
    expect_dropped(
        &out,
        &unfinished,
        "a fresh sync was asked for (--fresh-sync)",
    );

    // A Go syncer's unfinished sync (its own JSON in sync_token).
    let unfinished = leave_unfinished(&server, &target);
    rewrite_c1z(&target, |conn| {
        set_unfinished(
            conn,
            "sync_token",
            r#"{"actions":[],"current_action":null}"#,
        )
    });
    let out = notion_cli(&server, &target, TOKEN, &[]);
    expect_dropped(
        &out,
        &unfinished,
        "its checkpoint was not written by this host",
    );
    c1z_check(&target, false);
}

/// Sets `column` of the unfinished sync run to `value`.
fn set_unfinished(conn: &rusqlite::Connection, column: &str, value: &str) {
    let sql = format!("UPDATE v1_sync_runs SET {column} = ?1 WHERE ended_at IS NULL");
    assert_eq!(
        conn.execute(&sql, [value]).unwrap(),
        1,
        "one unfinished sync"
    );
}

/// Edits the database inside a c1z in place (for states a test cannot reach otherwise:
/// an old sync, another syncer's checkpoint).
fn rewrite_c1z(path: &Path, edit: impl FnOnce(&rusqlite::Connection)) {
    let bytes = std::fs::read(path).unwrap();
    assert_eq!(&bytes[..MAGIC_V1.len()], MAGIC_V1);
    let mut db = Vec::new();
    zstd::Decoder::new(&bytes[MAGIC_V1.len()..])
        .unwrap()
        .read_to_end(&mut db)
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let db_path = dir.path().join("db");
    std::fs::write(&db_path, db).unwrap();
    let conn = rusqlite::Connection::open(&db_path).unwrap();
    edit(&conn);
    conn.close().unwrap();
    let mut out = MAGIC_V1.to_vec();
    let mut encoder = zstd::Encoder::new(&mut out, 3).unwrap();
    encoder
        .write_all(&std::fs::read(&db_path).unwrap())
        .unwrap();
    encoder.finish().unwrap();
    std::fs::write(path, out).unwrap();
}
