//! Crash safety: an interrupted or killed sync never replaces the previous
//! c1z, and leaves no temporary files behind (at once for SIGINT/SIGTERM,
//! by the next run for SIGKILL).

use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use notion_scim_test_server::{Fault, FaultRule, TestServer};

use super::{server, sync_into, TOKEN};

fn temp_files(dir: &Path) -> Vec<String> {
    std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.ends_with(".tmp"))
        .collect()
}

/// Starts a sync whose list pages (after the first) take seconds each, and
/// waits until it is writing its temp database.
fn start_slow_sync(server: &TestServer, target: &Path) -> Child {
    let next = server.request_count() as u64 + 1;
    // Validation and the first page are quick; every later page is slow.
    server.add_fault(FaultRule {
        fault: Fault::Delay(Duration::from_secs(3)),
        first_request: next + 2,
        count: None,
    });
    let child = Command::new(env!("CARGO_BIN_EXE_baton-notion"))
        .args([
            "--base-url",
            &server.base_url(),
            "-f",
            target.to_str().unwrap(),
            "--log-format",
            "json",
        ])
        .env("BATON_SCIM_TOKEN", TOKEN)
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let dir = target.parent().unwrap();
    let deadline = Instant::now() + Duration::from_secs(60);
    while temp_files(dir).is_empty() || (server.request_count() as u64) < next + 2 {
        assert!(Instant::now() < deadline, "the sync never started writing");
        std::thread::sleep(Duration::from_millis(20));
    }
    child
}

fn signal(child: &Child, name: &str) {
    let status = Command::new("kill")
        .args([&format!("-{name}"), &child.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
}

#[test]
fn sigint_and_sigterm_leave_the_previous_file_and_no_temp_files() {
    for (sig, code) in [("INT", 130), ("TERM", 143)] {
        let server = server(250, 5);
        let dir = tempfile::tempdir().unwrap();
        let target = dir.path().join("sync.c1z");
        sync_into(&server, &target).unwrap();
        let before = std::fs::read(&target).unwrap();

        let child = start_slow_sync(&server, &target);
        signal(&child, sig);
        let out = child.wait_with_output().unwrap();
        assert_eq!(
            out.status.code(),
            Some(code),
            "SIG{sig}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        assert!(String::from_utf8_lossy(&out.stderr).contains("was not changed"));
        assert_eq!(
            std::fs::read(&target).unwrap(),
            before,
            "SIG{sig}: the previous c1z is intact"
        );
        assert_eq!(
            temp_files(dir.path()),
            Vec::<String>::new(),
            "SIG{sig}: no temp files"
        );
    }
}

#[test]
fn after_sigkill_the_next_run_removes_the_leftovers() {
    let server = server(250, 5);
    let dir = tempfile::tempdir().unwrap();
    let target = dir.path().join("sync.c1z");
    sync_into(&server, &target).unwrap();
    let before = std::fs::read(&target).unwrap();

    let mut child = start_slow_sync(&server, &target);
    signal(&child, "KILL");
    child.wait().unwrap();
    assert_eq!(
        std::fs::read(&target).unwrap(),
        before,
        "the previous c1z is intact"
    );
    assert!(
        !temp_files(dir.path()).is_empty(),
        "a killed process cannot clean up"
    );

    server.clear_faults();
    sync_into(&server, &target).expect("the next sync succeeds");
    assert_eq!(
        temp_files(dir.path()),
        Vec::<String>::new(),
        "the next run removed the leftovers"
    );
}
