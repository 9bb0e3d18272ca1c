//! Crash safety: an interrupted or killed sync never replaces the previous
//! c1z with anything but a complete new one, and leaves no temporary files
//! behind (at once for SIGINT/SIGTERM, by the next run for SIGKILL).
//!
//! Kill points, in the order a sync reaches them: while a list page is being
//! fetched (SIGINT and SIGTERM then stop the listing and save its progress when a page
//! was written, see `resume.rs`); while the temp database is finished (dangling-reference check,
//! lookup indexes, commit); while the earlier syncs kept in the file are
//! copied from the decompressed previous file (which is also the cleanup: the
//! syncs beyond the keep count are the ones not copied); while it is compressed into the `.c1z.tmp` file;
//! just after the rename over the target; and a sweep of delays across the
//! compression and the rename. The later points are found from outside, with
//! no hook in the host: the sync's JSON log says when the last resource type
//! is written (`finish` starts right after), the `.c1z.tmp` file appears when
//! compression starts, and the target's inode changes at the rename. Each
//! test prints the point it actually hit, and fails rather than passing when
//! it cannot reach that point.

use std::io::{BufRead, BufReader};
use std::os::unix::fs::MetadataExt;
use std::os::unix::process::ExitStatusExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use baton_host::c1z::C1zReader;
use notion_scim_test_server::{Fault, FaultRule, TestServer};
use serde_json::Value;

use super::{c1z_check, server, sync_into, TOKEN};

/// What SIGINT/SIGTERM print when the target was left as it was.
const NOT_CHANGED: &str = "interrupted; the c1z file was not changed";
/// What they print when the signal came after the new file had replaced the target.
const REPLACED: &str = "interrupted after the sync finished; the new c1z file was written";

/// A tenant big enough for the later kill points to last tens of milliseconds
/// in a debug build (finishing the db and compressing ~60-100 ms each), and
/// small enough for a sync to take about a second.
fn mid_size_server() -> TestServer {
    server(3_000, 20)
}

#[derive(Clone, Copy, Debug)]
enum Sig {
    Int,
    Term,
    Kill,
}

impl Sig {
    const ALL: [Sig; 3] = [Sig::Int, Sig::Term, Sig::Kill];

    fn name(self) -> &'static str {
        match self {
            Sig::Int => "SIGINT",
            Sig::Term => "SIGTERM",
            Sig::Kill => "SIGKILL",
        }
    }

    fn number(self) -> libc::c_int {
        match self {
            Sig::Int => libc::SIGINT,
            Sig::Term => libc::SIGTERM,
            Sig::Kill => libc::SIGKILL,
        }
    }

    /// The exit code of a process that handled the signal; `None` for SIGKILL.
    fn exit_code(self) -> Option<i32> {
        match self {
            Sig::Int => Some(130),
            Sig::Term => Some(143),
            Sig::Kill => None,
        }
    }
}

fn temp_files(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.ends_with(".tmp"))
        .collect();
    names.sort();
    names
}

fn inode(path: &Path) -> u64 {
    std::fs::metadata(path).unwrap().ino()
}

/// The c1z a killed sync must leave, or replace with a complete new one.
struct Previous {
    bytes: Vec<u8>,
    sync_id: String,
    stats: std::collections::BTreeMap<String, u64>,
}

impl Previous {
    fn read(target: &Path) -> Previous {
        let reader = C1zReader::open(target).expect("the previous c1z opens");
        let sync = reader.latest_finished_sync().unwrap().expect("a sync");
        Previous {
            bytes: std::fs::read(target).unwrap(),
            stats: reader.stats(&sync).unwrap(),
            sync_id: sync.sync_id,
        }
    }
}

/// What a killed sync left at the target.
#[derive(Debug, PartialEq, Eq)]
enum Left {
    /// The previous file, byte for byte.
    Previous,
    /// A complete new c1z: another finished sync holding the same objects.
    New,
}

/// Whether the target is the previous file or a complete new sync of the same
/// tenant; panics on anything else (a truncated or half-written file).
fn left_at(target: &Path, previous: &Previous) -> Left {
    let bytes = std::fs::read(target).expect("the target exists");
    if bytes == previous.bytes {
        return Left::Previous;
    }
    let reader = C1zReader::open(target)
        .unwrap_or_else(|e| panic!("the target changed and is not a valid c1z: {e}"));
    let sync = reader
        .latest_finished_sync()
        .unwrap()
        .expect("a changed target holds a finished sync");
    assert_ne!(sync.sync_id, previous.sync_id);
    assert_eq!(
        reader.stats(&sync).unwrap(),
        previous.stats,
        "a changed target holds the whole sync"
    );
    // With the default keep count of 2, the previous newest sync is kept beside it.
    let ids: Vec<String> = reader
        .syncs()
        .unwrap()
        .into_iter()
        .map(|s| s.sync_id)
        .collect();
    assert!(
        ids.len() == 2 && ids.contains(&previous.sync_id),
        "the new sync and the previous one: {ids:?}"
    );
    Left::New
}

/// A `baton-notion` sync in a child process; its JSON log lines are collected
/// as they are written.
struct Run {
    child: Child,
    log: Arc<Mutex<Vec<Value>>>,
    reader: Option<JoinHandle<()>>,
}

impl Run {
    fn start(server: &TestServer, target: &Path) -> Run {
        let mut child = Command::new(env!("CARGO_BIN_EXE_baton-notion"))
            .args([
                "--base-url",
                &server.base_url(),
                "-f",
                target.to_str().unwrap(),
                "--log-format",
                "json",
                "--rate-limit",
                "0",
            ])
            .env("BATON_SCIM_TOKEN", TOKEN)
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let stderr = child.stderr.take().unwrap();
        let log = Arc::new(Mutex::new(Vec::new()));
        let sink = Arc::clone(&log);
        let reader = std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines() {
                let line = line.unwrap();
                let value = serde_json::from_str(&line)
                    .unwrap_or_else(|_| panic!("stderr is JSON log lines: {line}"));
                sink.lock().unwrap().push(value);
            }
        });
        Run {
            child,
            log,
            reader: Some(reader),
        }
    }

    fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Whether a line with this message (and resource type, if given) was logged.
    fn logged(&self, message: &str, resource_type: Option<&str>) -> bool {
        self.log.lock().unwrap().iter().any(|v| {
            v["message"] == message
                && resource_type.is_none_or(|t| v["resource_type"].as_str() == Some(t))
        })
    }

    fn signal(&self, sig: Sig) {
        // SAFETY: kill(2) only sends a signal; the child is not reaped until
        // `wait`, so its pid cannot have been reused.
        let rc = unsafe { libc::kill(self.pid() as libc::pid_t, sig.number()) };
        assert_eq!(rc, 0, "kill -{} {}", sig.name(), self.pid());
    }

    fn exited(&mut self) -> bool {
        self.child.try_wait().unwrap().is_some()
    }

    /// Waits for the process and returns its status and every log line.
    fn wait(mut self) -> (ExitStatus, Vec<Value>) {
        let status = self.child.wait().unwrap();
        self.reader.take().unwrap().join().unwrap();
        let log = std::mem::take(&mut *self.log.lock().unwrap());
        (status, log)
    }
}

/// Checks how a signalled run ended. SIGINT and SIGTERM: exit 130 or 143,
/// exactly one warning, with exactly `message`, and no error. SIGKILL: killed.
fn assert_signalled(sig: Sig, status: ExitStatus, log: &[Value], message: &str) {
    let Some(code) = sig.exit_code() else {
        assert_eq!(status.signal(), Some(libc::SIGKILL), "{status}");
        return;
    };
    assert_eq!(status.code(), Some(code), "{}: {log:#?}", sig.name());
    let warnings: Vec<&Value> = log.iter().filter(|v| v["level"] == "WARN").collect();
    assert_eq!(warnings.len(), 1, "{}: {log:#?}", sig.name());
    assert_eq!(warnings[0]["message"], message, "{}", sig.name());
    assert!(
        !log.iter().any(|v| v["level"] == "ERROR"),
        "{}: no error is reported: {log:#?}",
        sig.name()
    );
}

/// One poll of a running sync.
enum Poll {
    /// The kill point is not reached yet.
    Wait,
    /// Nearly reached: poll again at once, without sleeping.
    Soon,
    /// It is reached (what was seen).
    Hit(String),
    /// The sync is past it.
    Missed(String),
}

/// Polls `run` about every millisecond and sends `sig` the moment `at` says
/// the kill point is reached. `Err` (what was seen) when the sync got past the
/// point, or exited, before it was seen.
fn signal_at(run: &mut Run, sig: Sig, mut at: impl FnMut(&Run) -> Poll) -> Result<String, String> {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        match at(run) {
            Poll::Hit(seen) => {
                run.signal(sig);
                return Ok(seen);
            }
            Poll::Missed(seen) => return Err(seen),
            Poll::Wait if run.exited() => return Err("the sync exited first".into()),
            Poll::Soon => continue,
            Poll::Wait => {}
        }
        assert!(
            Instant::now() < deadline,
            "the sync never reached the point"
        );
        std::thread::sleep(Duration::from_millis(1));
    }
}

/// The kill points after the last list request.
#[derive(Clone, Copy, Debug)]
enum Point {
    /// This long after `finish` started (the last resource type is logged),
    /// while the temp db (and the decompressed previous file) are the only temp
    /// files: dangling check, lookup indexes, commit.
    FinishingDb(Duration),
    /// This long after the copy of the earlier syncs from the previous file
    /// started (it is logged), which also drops those beyond the keep count.
    CopyingHistory(Duration),
    /// This long after the `.c1z.tmp` file appeared, before the rename.
    Compressing(Duration),
    /// The `.c1z.tmp` file has its full size (compression is done; the fsync
    /// and the rename are next) and the target is not replaced yet.
    BeforeRename,
    /// The target has just been replaced by the rename.
    JustRenamed,
}

impl Point {
    /// What the target must be afterwards; `None`: either. A signal sent
    /// just before the rename may be handled just after it (the handler runs
    /// on its own thread), and then the message must say so.
    fn expected(self) -> Option<Left> {
        match self {
            Point::FinishingDb(_) | Point::CopyingHistory(_) | Point::Compressing(_) => {
                Some(Left::Previous)
            }
            Point::BeforeRename => None,
            Point::JustRenamed => Some(Left::New),
        }
    }

    /// The same point, earlier in its window (for a retry after a miss).
    fn earlier(self) -> Point {
        match self {
            Point::FinishingDb(d) => Point::FinishingDb(d / 2),
            Point::CopyingHistory(d) => Point::CopyingHistory(d / 2),
            Point::Compressing(d) => Point::Compressing(d / 2),
            p @ (Point::BeforeRename | Point::JustRenamed) => p,
        }
    }
}

/// The message SIGINT/SIGTERM must print for what is left at the target.
fn message_for(left: &Left) -> &'static str {
    match left {
        Left::Previous => NOT_CHANGED,
        Left::New => REPLACED,
    }
}

/// Runs a sync into `target` and sends `sig` at `point`, retrying (at most
/// four runs, earlier in the window each time) when the sync got past the
/// point before it was seen. Checks exit status, message and target, and for
/// SIGINT/SIGTERM that no temp file is left; returns the pid of the run hit
/// and what it left at the target.
fn kill_at(
    server: &TestServer,
    target: &Path,
    last_type: &str,
    point: Point,
    sig: Sig,
) -> (u32, Left) {
    let dir = target.parent().unwrap().to_path_buf();
    let mut point = point;
    for attempt in 1..=4 {
        let previous = Previous::read(target);
        let old_inode = inode(target);
        let started = Instant::now();
        let mut run = Run::start(server, target);
        // When the phase the point lies in was first seen.
        let mut phase: Option<Instant> = None;
        let hit = signal_at(&mut run, sig, |run| {
            let temps = temp_files(&dir);
            let c1z_tmp = temps.iter().any(|n| n.ends_with(".c1z.tmp"));
            let replaced = inode(target) != old_inode;
            let (entered, delay) = match point {
                Point::FinishingDb(delay) => {
                    if c1z_tmp || replaced {
                        return Poll::Missed(format!("temp files {temps:?}"));
                    }
                    (run.logged("synced resource type", Some(last_type)), delay)
                }
                Point::CopyingHistory(delay) => {
                    if c1z_tmp || replaced {
                        return Poll::Missed(format!("temp files {temps:?}"));
                    }
                    (
                        run.logged("copying earlier syncs into the new c1z", None),
                        delay,
                    )
                }
                Point::Compressing(delay) => {
                    if replaced {
                        return Poll::Missed("the target is already replaced".into());
                    }
                    (c1z_tmp, delay)
                }
                Point::BeforeRename => {
                    if replaced {
                        return Poll::Missed("the target is already replaced".into());
                    }
                    // The new file is about as big as the previous one (same
                    // objects, other ids and timestamps).
                    let full = (previous.bytes.len() as u64).saturating_sub(4096);
                    match temps.iter().find(|n| n.ends_with(".c1z.tmp")) {
                        None => return Poll::Wait,
                        Some(n) => match std::fs::metadata(dir.join(n)) {
                            Ok(m) if m.len() >= full => (true, Duration::ZERO),
                            // Written or renamed any moment now: look again at once.
                            _ => return Poll::Soon,
                        },
                    }
                }
                Point::JustRenamed => (replaced, Duration::ZERO),
            };
            if !entered {
                return Poll::Wait;
            }
            let since = phase.get_or_insert_with(Instant::now).elapsed();
            if since < delay {
                return Poll::Wait;
            }
            Poll::Hit(format!(
                "{} ms into the phase, temp files {temps:?}, target {}",
                since.as_millis(),
                if replaced { "replaced" } else { "not replaced" }
            ))
        });
        let pid = run.pid();
        let (status, log) = run.wait();
        let seen = match hit {
            Ok(seen) if status.success() => Err(format!("{seen}, but the sync finished first")),
            other => other,
        };
        let seen = match seen {
            Ok(seen) => seen,
            Err(seen) => {
                eprintln!(
                    "{point:?}/{}: attempt {attempt} missed the point ({seen}); retrying",
                    sig.name()
                );
                point = point.earlier();
                continue;
            }
        };
        let left = left_at(target, &previous);
        eprintln!(
            "{point:?}/{}: signalled {} ms after the start, {seen}; left the {} file",
            sig.name(),
            started.elapsed().as_millis(),
            if left == Left::Previous {
                "previous"
            } else {
                "new"
            }
        );
        if let Some(expected) = point.expected() {
            assert_eq!(left, expected, "{point:?}/{}: the target", sig.name());
        }
        assert_signalled(sig, status, &log, message_for(&left));
        if sig.exit_code().is_some() {
            assert_eq!(
                temp_files(&dir),
                Vec::<String>::new(),
                "{point:?}/{}: no temp files",
                sig.name()
            );
        }
        return (pid, left);
    }
    panic!("{point:?}/{}: four runs got past the point", sig.name());
}

/// After a SIGKILL of the run `pid`: only its temp files are left (checked
/// further with `leftovers`), and the next sync succeeds and removes them.
fn next_run_cleans_up(server: &TestServer, target: &Path, pid: u32, leftovers: fn(&[String])) {
    let dir = target.parent().unwrap();
    let left = temp_files(dir);
    let prefix = format!(".{}.{pid}.", target.file_name().unwrap().to_string_lossy());
    assert!(
        left.iter().all(|n| n.starts_with(&prefix)),
        "only the killed run's files: {left:?}"
    );
    leftovers(&left);
    eprintln!("SIGKILL left {left:?}");
    sync_into(server, target).expect("the next sync succeeds");
    assert_eq!(
        temp_files(dir),
        Vec::<String>::new(),
        "the next run removed the leftovers"
    );
}

/// A target holding a first sync of the server, made in-process; how long
/// that sync's `finish` phases took tells where to aim in a child's.
struct Setup {
    _dir: tempfile::TempDir,
    target: PathBuf,
    /// The resource type synced last (its log line is the last before `finish`).
    last_type: String,
    /// From the start of `finish` to a third into index building and commit.
    mid_db: Duration,
    /// From the creation of the `.c1z.tmp` file to the middle of compression.
    mid_compression: Duration,
    /// From the start of the copy of the earlier syncs to its middle.
    mid_history: Duration,
}

fn setup(server: &TestServer) -> Setup {
    // Under target/ rather than /tmp, which may be a tmpfs: a real fsync
    // keeps the window before the rename long enough to hit.
    let dir = tempfile::tempdir_in(env!("CARGO_TARGET_TMPDIR")).unwrap();
    let target = dir.path().join("sync.c1z");
    sync_into(server, &target).unwrap();
    // A second sync, so the target holds a history like the children's, and its copy of
    // the first sync is timed.
    let report = sync_into(server, &target).unwrap();
    let s = &report.summary;
    assert_eq!(s.kept_syncs.len(), 1, "the first sync is kept");
    eprintln!(
        "in-process sync of {} resources: dangling check {} ms, indexes and commit {} ms, \
         compression {} ms",
        s.counts.resources,
        s.check_time.as_millis(),
        s.finalize_time.as_millis(),
        s.compress_time.as_millis()
    );
    Setup {
        target: dir.path().join("sync.c1z"),
        _dir: dir,
        last_type: report.per_type.last().unwrap().0.clone(),
        mid_db: s.check_time + s.finalize_time / 3,
        mid_compression: s.compress_time / 2,
        mid_history: s.history_time / 2,
    }
}

#[test]
fn killed_while_the_temp_db_is_finished() {
    let server = mid_size_server();
    let s = setup(&server);
    for sig in Sig::ALL {
        let point = Point::FinishingDb(s.mid_db);
        let (pid, _) = kill_at(&server, &s.target, &s.last_type, point, sig);
        if let Sig::Kill = sig {
            next_run_cleans_up(&server, &s.target, pid, assert_db_and_previous_temps);
        }
    }
}

/// A SIGKILL before the copy of the earlier syncs ends leaves the temp db and the
/// decompressed previous file.
fn assert_db_and_previous_temps(left: &[String]) {
    assert!(
        left.len() == 2
            && left.iter().any(|n| n.ends_with(".prev.db.tmp"))
            && left.iter().all(|n| n.ends_with(".db.tmp")),
        "the temp db and the previous one: {left:?}"
    )
}

#[test]
fn killed_while_earlier_syncs_are_copied() {
    let server = mid_size_server();
    let s = setup(&server);
    for sig in Sig::ALL {
        let point = Point::CopyingHistory(s.mid_history);
        let (pid, _) = kill_at(&server, &s.target, &s.last_type, point, sig);
        if let Sig::Kill = sig {
            next_run_cleans_up(&server, &s.target, pid, assert_db_and_previous_temps);
        }
        c1z_check(&s.target, false);
    }
}

/// A SIGKILL during compression or before the rename leaves exactly the
/// temp db and the `.c1z.tmp`.
fn assert_db_and_c1z_temps(left: &[String], what: &str) {
    assert!(
        left.len() == 2
            && left.iter().any(|n| n.ends_with(".db.tmp"))
            && left.iter().any(|n| n.ends_with(".c1z.tmp")),
        "{what}: {left:?}"
    )
}

#[test]
fn killed_while_compressing() {
    let server = mid_size_server();
    let s = setup(&server);
    for sig in Sig::ALL {
        let point = Point::Compressing(s.mid_compression);
        let (pid, _) = kill_at(&server, &s.target, &s.last_type, point, sig);
        if let Sig::Kill = sig {
            next_run_cleans_up(&server, &s.target, pid, |left| {
                assert_db_and_c1z_temps(left, "the temp db and the partial c1z")
            });
        }
    }
}

#[test]
fn killed_just_before_the_rename() {
    let server = mid_size_server();
    let s = setup(&server);
    for sig in Sig::ALL {
        let (pid, left) = kill_at(&server, &s.target, &s.last_type, Point::BeforeRename, sig);
        if let (Sig::Kill, Left::Previous) = (sig, &left) {
            next_run_cleans_up(&server, &s.target, pid, |left| {
                assert_db_and_c1z_temps(left, "the temp db and the new c1z")
            });
        } else if let Sig::Kill = sig {
            next_run_cleans_up(&server, &s.target, pid, |left| {
                assert!(
                    left.iter().all(|n| n.ends_with(".db.tmp")),
                    "at most the temp db: {left:?}"
                )
            });
        }
    }
}

#[test]
fn killed_just_after_the_rename() {
    let server = mid_size_server();
    let s = setup(&server);
    for sig in Sig::ALL {
        let (pid, _) = kill_at(&server, &s.target, &s.last_type, Point::JustRenamed, sig);
        if let Sig::Kill = sig {
            // The temp db is removed right after the rename and the fsync of
            // the folder; the kill may come before or after that.
            next_run_cleans_up(&server, &s.target, pid, |left| {
                assert!(
                    left.iter().all(|n| n.ends_with(".db.tmp")),
                    "at most the temp db: {left:?}"
                )
            });
        }
        // The file the interrupted run left is one Baton can read.
        c1z_check(&s.target, false);
    }
}

/// SIGINT and SIGTERM at increasing delays after compression starts, until
/// the sync finishes before the signal: every run leaves either the previous
/// file or a complete new one, with the message that says which, and no temp
/// file. The sweep must see both outcomes, so it crosses the rename.
#[test]
fn signals_swept_across_compression_and_rename() {
    // Small: compression to exit lasts ~15 ms in a debug build, so a 1 ms
    // step takes ~15 runs of ~0.4 s.
    let server = server(250, 5);
    let Setup {
        _dir: dir, target, ..
    } = setup(&server);
    let step = Duration::from_millis(1);
    let mut outcomes = Vec::new();
    let mut runs = 0;
    while outcomes.last() != Some(&"finished") {
        runs += 1;
        assert!(
            runs <= 100,
            "the sweep never got past the rename: {outcomes:?}"
        );
        let sig = [Sig::Int, Sig::Term][runs % 2];
        let delay = step * outcomes.len() as u32;
        let previous = Previous::read(&target);
        let mut run = Run::start(&server, &target);
        let mut compressing: Option<Instant> = None;
        let hit = signal_at(&mut run, sig, |_| {
            let since = match compressing {
                Some(at) => at,
                None if temp_files(dir.path())
                    .iter()
                    .any(|n| n.ends_with(".c1z.tmp")) =>
                {
                    *compressing.insert(Instant::now())
                }
                None => return Poll::Wait,
            };
            match delay.saturating_sub(since.elapsed()) {
                rest if rest.is_zero() => Poll::Hit(String::new()),
                rest if rest < Duration::from_millis(1) => Poll::Soon,
                _ => Poll::Wait,
            }
        });
        let (status, log) = run.wait();
        let left = left_at(&target, &previous);
        assert_eq!(
            temp_files(dir.path()),
            Vec::<String>::new(),
            "run {runs}: no temp files"
        );
        let outcome = if status.success() {
            assert_eq!(
                left,
                Left::New,
                "run {runs}: a finished sync replaced the file"
            );
            assert!(run_finished(&log), "run {runs}: {log:#?}");
            "finished"
        } else {
            assert_signalled(sig, status, &log, message_for(&left));
            match left {
                Left::Previous => "previous",
                Left::New => "replaced",
            }
        };
        eprintln!(
            "sweep run {runs}: {} {} ms after compression started: {outcome}",
            sig.name(),
            delay.as_millis()
        );
        // A run that slipped past unseen (the test thread was not scheduled
        // in time) does not count: the same delay is tried again.
        if compressing.is_none() || (outcome == "finished" && outcomes.is_empty()) {
            eprintln!("sweep run {runs}: missed ({hit:?}); again");
            continue;
        }
        outcomes.push(outcome);
    }
    eprintln!("sweep outcomes: {outcomes:?}");
    assert_eq!(
        outcomes.first(),
        Some(&"previous"),
        "the sweep started before the rename"
    );
}

fn run_finished(log: &[Value]) -> bool {
    log.iter().any(|v| v["message"] == "sync finished")
        && !log
            .iter()
            .any(|v| v["level"] == "WARN" || v["level"] == "ERROR")
}

/// Starts a sync whose list pages from the `slow_from`th (1-based) on take seconds each,
/// and waits until it is writing its temp database and waiting for that page.
fn start_slow_sync(server: &TestServer, target: &Path, slow_from: u64) -> Run {
    let next = server.request_count() as u64 + 1;
    // Validation is request `next`; page k is request `next + k`.
    server.add_fault(FaultRule {
        fault: Fault::Delay(Duration::from_secs(3)),
        first_request: next + slow_from,
        count: None,
    });
    let run = Run::start(server, target);
    let dir = target.parent().unwrap();
    let deadline = Instant::now() + Duration::from_secs(60);
    while temp_files(dir).is_empty() || (server.request_count() as u64) < next + slow_from {
        assert!(Instant::now() < deadline, "the sync never started writing");
        std::thread::sleep(Duration::from_millis(20));
    }
    run
}

#[test]
fn sigint_and_sigterm_before_the_first_page_leave_the_previous_file_and_no_temp_files() {
    for sig in [Sig::Int, Sig::Term] {
        let server = server(250, 5);
        let dir = tempfile::tempdir().unwrap();
        let target = dir.path().join("sync.c1z");
        sync_into(&server, &target).unwrap();
        let before = std::fs::read(&target).unwrap();

        let run = start_slow_sync(&server, &target, 1);
        run.signal(sig);
        let (status, log) = run.wait();
        assert_signalled(sig, status, &log, NOT_CHANGED);
        assert_eq!(
            std::fs::read(&target).unwrap(),
            before,
            "{}: the previous c1z is intact",
            sig.name()
        );
        assert_eq!(
            temp_files(dir.path()),
            Vec::<String>::new(),
            "{}: no temp files",
            sig.name()
        );
    }
}

/// SIGINT or SIGTERM while a later page is fetched stops the listing at once (the page
/// takes seconds), saves the pages written as an unfinished sync beside the previous one,
/// and the next run resumes it to the end.
#[test]
fn sigint_and_sigterm_while_listing_save_the_progress_for_the_next_run() {
    for sig in [Sig::Int, Sig::Term] {
        let server = server(250, 5);
        let dir = tempfile::tempdir().unwrap();
        let target = dir.path().join("sync.c1z");
        let first = sync_into(&server, &target).unwrap().summary.sync_id;

        // The component asks for a page before it maps the one before: once page 3 is
        // asked for, page 1 is written for sure (page 2 too, unless the signal comes
        // while it is mapped).
        let run = start_slow_sync(&server, &target, 3);
        let signalled = Instant::now();
        run.signal(sig);
        let (status, log) = run.wait();
        assert!(
            signalled.elapsed() < Duration::from_secs(2),
            "{}: stopped without waiting for the slow page",
            sig.name()
        );
        let target_name = target.display().to_string();
        let saved = |page: u32| {
            format!(
                "interrupted in resource type user, after page {page} of its listing; the \
                 progress is saved in {target_name}, and the next sync into it resumes there"
            )
        };
        let said = log
            .iter()
            .find(|v| v["level"] == "WARN")
            .and_then(|v| v["message"].as_str())
            .unwrap_or_default();
        let page = if said == saved(1) { 1 } else { 2 };
        assert_signalled(sig, status, &log, &saved(page));
        assert_eq!(
            temp_files(dir.path()),
            Vec::<String>::new(),
            "{}: no temp files",
            sig.name()
        );
        let reader = C1zReader::open(&target).unwrap();
        let syncs = reader.syncs().unwrap();
        assert_eq!(syncs.len(), 2, "{syncs:?}");
        assert!(syncs[0].sync_id == first && syncs[0].is_finished());
        assert!(!syncs[1].is_finished());
        let unfinished = syncs[1].sync_id.clone();
        drop(reader);
        c1z_check(&target, false);

        server.clear_faults();
        let report = sync_into(&server, &target).unwrap();
        assert_eq!(report.summary.sync_id, unfinished, "{}", sig.name());
        c1z_check(&target, false);
    }
}

#[test]
fn after_sigkill_the_next_run_removes_the_leftovers() {
    let server = server(250, 5);
    let dir = tempfile::tempdir().unwrap();
    let target = dir.path().join("sync.c1z");
    sync_into(&server, &target).unwrap();
    let before = std::fs::read(&target).unwrap();

    let run = start_slow_sync(&server, &target, 2);
    run.signal(Sig::Kill);
    let pid = run.pid();
    let (status, log) = run.wait();
    assert_signalled(Sig::Kill, status, &log, "");
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
    // While listing, the decompressed previous file waits for `finish` beside the temp db.
    next_run_cleans_up(&server, &target, pid, assert_db_and_previous_temps);
}

/// What a run stopped by SIGINT then SIGKILL left: the file as it was, or the file with
/// the stopped sync's progress saved beside the earlier sync.
#[derive(Debug, PartialEq, Eq)]
enum Saved {
    Previous,
    Progress,
}

fn saved_or_previous(target: &Path, before: &[u8], earlier: &str) -> Saved {
    if std::fs::read(target).unwrap() == before {
        return Saved::Previous;
    }
    let reader = C1zReader::open(target)
        .unwrap_or_else(|e| panic!("the target changed and is not a valid c1z: {e}"));
    let syncs = reader.syncs().unwrap();
    assert!(
        syncs.len() == 2
            && syncs[0].sync_id == earlier
            && syncs[0].is_finished()
            && !syncs[1].is_finished(),
        "the earlier sync and the unfinished one: {syncs:?}"
    );
    Saved::Progress
}

/// SIGINT stops the listing and saves its progress (indexes, copy of the earlier sync,
/// compression, rename); a SIGKILL at increasing delays after it lands in each step of
/// that save in turn. Every run leaves the previous file or the saved one, and the next
/// run removes the temp files. The sweep must see both outcomes.
#[test]
fn sigkill_swept_across_saving_progress() {
    let server = mid_size_server();
    let dir = tempfile::tempdir_in(env!("CARGO_TARGET_TMPDIR")).unwrap();
    let target = dir.path().join("sync.c1z");
    let earlier = sync_into(&server, &target).unwrap().summary.sync_id;
    let original = std::fs::read(&target).unwrap();
    let step = Duration::from_millis(6);
    let mut outcomes = Vec::new();
    for run_no in 0..80u32 {
        // Page 1 is written once page 3 is asked for (see above): there is progress.
        let run = start_slow_sync(&server, &target, 3);
        run.signal(Sig::Int);
        std::thread::sleep(step * run_no);
        run.signal(Sig::Kill);
        let (status, _) = run.wait();
        let outcome = saved_or_previous(&target, &original, &earlier);
        let exited = status.code() == Some(130);
        eprintln!(
            "save sweep run {run_no}: SIGKILL {} ms after SIGINT: {outcome:?}{}",
            (step * run_no).as_millis(),
            if exited { " (had exited)" } else { "" }
        );
        if exited {
            assert_eq!(outcome, Saved::Progress, "an exit after SIGINT saved");
        }
        server.clear_faults();
        sync_into(&server, &target).expect("the next run succeeds");
        assert_eq!(
            temp_files(dir.path()),
            Vec::<String>::new(),
            "run {run_no}: the next run removed the leftovers"
        );
        std::fs::write(&target, &original).unwrap();
        outcomes.push(outcome);
        if exited {
            break;
        }
    }
    assert!(
        outcomes.contains(&Saved::Previous) && outcomes.last() == Some(&Saved::Progress),
        "the sweep crossed the save: {outcomes:?}"
    );
}

/// A resumed sync killed while it lists leaves the file as it was (the unfinished sync
/// still in it); killed at increasing delays it also lands in its finish, where the file
/// is either that or the finished sync under the same id.
#[test]
fn a_resumed_sync_killed_anywhere_leaves_the_file_it_resumed_or_the_finished_sync() {
    let server = mid_size_server();
    let dir = tempfile::tempdir_in(env!("CARGO_TARGET_TMPDIR")).unwrap();
    let target = dir.path().join("sync.c1z");
    let earlier = sync_into(&server, &target).unwrap().summary.sync_id;
    // Validation, two pages, then a failure: the file holds the progress.
    server.add_fault(FaultRule::new(
        Fault::Status(500),
        server.request_count() as u64 + 4,
        Some(1),
    ));
    let unfinished = match sync_into(&server, &target) {
        Err(baton_host::sync::SyncError::Stopped { saved, .. }) => saved.sync_id,
        other => panic!("the progress is saved: {other:?}"),
    };
    let saved = std::fs::read(&target).unwrap();

    // Killed while listing.
    let run = start_slow_sync(&server, &target, 2);
    run.signal(Sig::Kill);
    run.wait();
    assert_eq!(
        std::fs::read(&target).unwrap(),
        saved,
        "the file is as it was"
    );
    server.clear_faults();

    // Killed at increasing delays, up to past the end of the run.
    let timed = Instant::now();
    let finished = sync_into(&server, &target).unwrap();
    let whole = timed.elapsed();
    assert_eq!(finished.summary.sync_id, unfinished);
    std::fs::write(&target, &saved).unwrap();
    let mut outcomes = Vec::new();
    for run_no in 1..=30u32 {
        let run = Run::start(&server, &target);
        std::thread::sleep(whole * run_no / 12);
        run.signal(Sig::Kill);
        let (status, _) = run.wait();
        let bytes = std::fs::read(&target).unwrap();
        let outcome = if bytes == saved {
            "as it was"
        } else {
            let syncs = C1zReader::open(&target).unwrap().syncs().unwrap();
            let ids: Vec<(&str, bool)> = syncs
                .iter()
                .map(|s| (s.sync_id.as_str(), s.is_finished()))
                .collect();
            assert_eq!(
                ids,
                [(earlier.as_str(), true), (unfinished.as_str(), true)],
                "run {run_no}: the resumed sync, finished"
            );
            "finished"
        };
        eprintln!(
            "resume sweep run {run_no}: SIGKILL at {} ms: {outcome}, {status}",
            (whole * run_no / 12).as_millis()
        );
        // The next run resumes (or finds it finished) and removes the leftovers.
        sync_into(&server, &target).expect("the next run succeeds");
        assert_eq!(temp_files(dir.path()), Vec::<String>::new());
        std::fs::write(&target, &saved).unwrap();
        outcomes.push(outcome);
        if status.success() {
            break;
        }
    }
    assert!(
        outcomes.contains(&"as it was") && outcomes.contains(&"finished"),
        "the sweep crossed the finish: {outcomes:?}"
    );
}
