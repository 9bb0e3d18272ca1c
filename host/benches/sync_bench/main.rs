//! The performance benchmark of issue 8: a 100,000-user Notion sync against
//! the I/O floor, in bounded memory.
//!
//! ```sh
//! cargo bench -p baton-host --bench sync_bench                          # 100k users, 2,000 groups, 3 runs
//! cargo bench -p baton-host --bench sync_bench -- --users 10000 --groups 200 --reps 1
//! cargo bench -p baton-host --bench sync_bench -- --component other-build.wasm
//! ```
//!
//! It starts the test-server in-process (rate limit off) and, in each of the
//! runs, measures side by side:
//! - (a) raw fetch: every list page fetched by a minimal HTTP/1.1 client,
//!   bodies discarded ([`raw`]): the I/O floor. Also with a new connection per
//!   request, which is what the host's HTTP client does today;
//! - (b) full sync: the embedded component through the host into a c1z, in a
//!   child process so that its peak RSS is its own ([`child::sync`]);
//! - (c) load: engine, compile and instantiate on a cold start, and through
//!   the host's compiled-component cache, empty and warm ([`child::load`]);
//! - (d) (a) and (b) again with a fixed delay on every answer (`--latency-ms`,
//!   10 by default), standing in for the network between a sync and Notion,
//!   which the rate-limit-free loopback of (a) and (b) leaves out;
//! - (f) the SQLite floor: the rows (b) wrote, inserted again in bulk into an
//!   in-memory database with the same schema ([`floor`]), the least time SQLite
//!   alone needs for them on this machine;
//! - (g) a sync into a file that already holds one full sync of the same size
//!   (issue 13: the earlier sync is copied into the new file);
//! - (h) a sync into such a file stopped halfway ([`child::sync_stopped`]: it saves
//!   its progress), then the run that resumes it and must send only the remaining
//!   pages;
//!
//! then the whole-process targets with the release binaries: `baton-notion
//! capabilities` and `baton resources -f` on the synced file. It prints the
//! medians, each target of the issue as met or not, and a Markdown table for
//! the README.

mod child;
mod floor;
mod raw;

use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{bail, ensure, Context, Result};
use baton_host::c1z::timestamp::UnixTime;
use notion_scim_test_server::{Config, Directory, Fault, Schedule, ScheduledFault, TestServer};

use child::Values;
use raw::{Connections, PAGE};

/// The bearer token of the bench's test-server (a fixture, not a secret).
const TOKEN: &str = "bench-token";
/// First argument of a child that runs measurement (b).
const CHILD_SYNC: &str = "--child-sync";
/// First argument of a child that runs measurement (b0).
const CHILD_COMPONENT: &str = "--child-component";
/// First argument of a child that runs measurement (c).
const CHILD_LOAD: &str = "--child-load";
/// First argument of a child that runs measurement (h1).
const CHILD_STOPPED: &str = "--child-sync-stopped";

/// Issue 8's targets.
const MAX_RATIO: f64 = 1.3;
const MAX_RSS_MIB: f64 = 100.0;
const MAX_CAPABILITIES_S: f64 = 0.050;
const MAX_LISTING_S: f64 = 2.0;
const MAX_BENCH_S: f64 = 600.0;

fn main() -> Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match args.first().map(String::as_str) {
        Some(CHILD_SYNC) => match &args[1..] {
            [url, target, component @ ..] => {
                child::sync(url, Path::new(target), component.first().map(Path::new))
            }
            _ => bail!("usage: {CHILD_SYNC} URL TARGET [COMPONENT]"),
        },
        Some(CHILD_COMPONENT) => match &args[1..] {
            [url, component @ ..] => child::component_only(url, component.first().map(Path::new)),
            _ => bail!("usage: {CHILD_COMPONENT} URL [COMPONENT]"),
        },
        Some(CHILD_STOPPED) => match &args[1..] {
            [url, target, pages, component @ ..] => child::sync_stopped(
                url,
                Path::new(target),
                pages.parse().context("pages")?,
                component.first().map(Path::new),
            ),
            _ => bail!("usage: {CHILD_STOPPED} URL TARGET PAGES [COMPONENT]"),
        },
        Some(CHILD_LOAD) => match &args[1..] {
            [cache, component @ ..] => {
                child::load(Path::new(cache), component.first().map(Path::new))
            }
            _ => bail!("usage: {CHILD_LOAD} CACHE_DIR [COMPONENT]"),
        },
        _ => run(Options::parse(&args)?),
    }
}

struct Options {
    users: usize,
    groups: usize,
    reps: usize,
    /// Another build of the Notion component for (b) and (c) instead of the
    /// embedded one (to compare builds; the CLI timings use the embedded one).
    component: Option<String>,
    /// The delay on every answer in (d); 0 skips (d).
    latency_ms: usize,
}

impl Options {
    fn parse(args: &[String]) -> Result<Options> {
        let mut options = Options {
            users: 100_000,
            groups: 2_000,
            reps: 3,
            component: None,
            latency_ms: 10,
        };
        let mut args = args.iter();
        while let Some(arg) = args.next() {
            let mut number = |name: &str| -> Result<usize> {
                let value = args
                    .next()
                    .with_context(|| format!("{name} needs a value"))?;
                value
                    .parse()
                    .with_context(|| format!("{name} {value:?} is not a number"))
            };
            match arg.as_str() {
                "--users" => options.users = number("--users")?,
                "--groups" => options.groups = number("--groups")?,
                "--reps" => options.reps = number("--reps")?.max(1),
                "--latency-ms" => options.latency_ms = number("--latency-ms")?,
                "--component" => {
                    let path = args.next().context("--component needs a path")?;
                    // `cargo bench` runs the bench in the package folder, not where it was typed.
                    let absolute = std::fs::canonicalize(path).with_context(|| {
                        format!(
                            "--component {path}: cannot open it (a relative path is taken from {})",
                            std::env::current_dir()
                                .map_or_else(|_| "?".into(), |d| d.display().to_string())
                        )
                    })?;
                    options.component =
                        Some(absolute.to_str().context("--component path")?.to_string());
                }
                // `cargo bench` passes `--bench` to every bench binary.
                "--bench" => {}
                other => bail!(
                    "unknown argument {other:?} (known: --users N --groups N --reps N \
                     --latency-ms N --component PATH)"
                ),
            }
        }
        ensure!(
            options.users >= 4,
            "--users must be at least 4 so that all four roles are present"
        );
        Ok(options)
    }
}

/// What a complete sync of the generated directory holds.
struct Expected {
    users: usize,
    groups: usize,
    roles: usize,
    entitlements: usize,
    grants: usize,
    memberships: usize,
    /// One validation request plus one per page of users and of groups.
    requests: usize,
}

impl Expected {
    /// Resources, entitlements and grants.
    fn objects(&self) -> usize {
        self.users + self.groups + self.roles + self.entitlements + self.grants
    }

    fn of(dir: &Directory) -> Expected {
        let users = dir.users.len();
        let groups = dir.groups.len();
        let role_holders = dir.users.iter().filter(|u| u.role.is_some()).count();
        let memberships = dir.membership_count();
        Expected {
            users,
            groups,
            roles: 4,
            entitlements: 4 + groups,
            grants: role_holders + memberships,
            memberships,
            requests: 1 + users.div_ceil(PAGE) + groups.div_ceil(PAGE),
        }
    }
}

/// The results of one run of (a) and (b).
struct Rep {
    keep_alive: raw::Fetched,
    per_request: raw::Fetched,
    /// (b0): the pages through the component, records dropped.
    component: Values,
    sync: Values,
    /// Requests the server saw during the sync.
    requests: usize,
    /// Wall time of the sync child, from spawn to exit.
    process: Duration,
    /// (f): SQLite alone on the rows (b) wrote.
    floor: floor::Floor,
    /// CPU time of (a): the server and the raw client, both in this process.
    a_cpu: Duration,
    /// CPU time the server used during (b), including the validation and the child's start.
    server_cpu: Duration,
    /// (d): (a) and (b) with a delay on every answer, if measured.
    latency: Option<Latency>,
}

/// Measurement (d).
struct Latency {
    /// (a) with the delay.
    fetch: Duration,
    /// (b) with the delay.
    sync: Duration,
}

/// Measurement (d): (a) and (b) with `--latency-ms` of delay on every answer.
/// The sync rewrites `target`, complete again, for the later steps.
fn measure_latency(
    server: &TestServer,
    options: &Options,
    expected: &Expected,
    target: &Path,
) -> Result<Option<Latency>> {
    if options.latency_ms == 0 {
        return Ok(None);
    }
    server.inject(ScheduledFault::new(
        Fault::Delay(Duration::from_millis(options.latency_ms as u64)),
        Schedule::always(),
    ));
    let measured = (|| {
        let fetch = raw_fetch(server, options, Connections::KeepAlive)?;
        let before = server.request_count();
        let (sync, _) = sync_child(server, options, target)?;
        ensure!(
            server.request_count() - before == expected.requests,
            "(d) sent {} requests, not {}",
            server.request_count() - before,
            expected.requests
        );
        check_complete(&sync, expected)?;
        Ok(Latency {
            fetch: fetch.wall,
            sync: Duration::from_secs_f64(sync.get("sync_s")),
        })
    })();
    server.clear_faults();
    measured.map(Some)
}

fn run(options: Options) -> Result<()> {
    let bench_started = Instant::now();
    let machine = Machine::describe();
    println!(
        "baton-notion sync benchmark · {} · {} · {} cores · {} MiB RAM · load average {}",
        machine.date,
        machine.cpu,
        machine.cores,
        machine.mem_mib,
        load_average()
    );

    let started = Instant::now();
    let server = TestServer::start(Config {
        token: TOKEN.into(),
        users: options.users,
        groups: options.groups,
        seed: 1,
    })?;
    let expected = {
        let dir = server.directory();
        let roles: std::collections::BTreeSet<_> = dir
            .users
            .iter()
            .filter_map(|u| u.role.map(|r| format!("{r:?}")))
            .collect();
        ensure!(
            roles.len() == 4,
            "not all four roles are present: {roles:?}"
        );
        Expected::of(&dir)
    };
    println!(
        "test-server: {} users (all four roles), {} groups, {} memberships; rate limit off; \
         started in {:.1} s\n",
        expected.users,
        expected.groups,
        expected.memberships,
        started.elapsed().as_secs_f64()
    );

    let scratch = tempfile::tempdir()?;
    let target = scratch.path().join("bench.c1z");
    let mut reps = Vec::new();
    for i in 1..=options.reps {
        let cpu_before_a = child::process_cpu();
        let keep_alive = raw_fetch(&server, &options, Connections::KeepAlive)?;
        let a_cpu = child::process_cpu().saturating_sub(cpu_before_a);
        let per_request = raw_fetch(&server, &options, Connections::PerRequest)?;
        for fetched in [&keep_alive, &per_request] {
            ensure!(
                fetched.requests as usize == expected.requests - 1,
                "the raw fetch sent {} requests, not {}",
                fetched.requests,
                expected.requests - 1
            );
        }
        let url = server.base_url();
        let mut args = vec![CHILD_COMPONENT, &url];
        args.extend(options.component.as_deref());
        let (component, _) = child(&args)?;
        ensure!(
            component.get("guest_requests") == expected.requests as f64
                && component.get("component_items") == expected.objects() as f64,
            "(b0) saw {} requests and {} items",
            component.get("guest_requests"),
            component.get("component_items")
        );
        // A first sync: (g) measures one into a file with history.
        let _ = std::fs::remove_file(&target);
        let before = server.request_count();
        let cpu_before_b = child::process_cpu();
        let (sync, process) = sync_child(&server, &options, &target)?;
        // This process only serves during the child's run: its CPU is the server's.
        let server_cpu = child::process_cpu().saturating_sub(cpu_before_b);
        let requests = server.request_count() - before;
        check_complete(&sync, &expected)?;
        let floor = floor::sqlite_floor(&target)?;
        ensure!(
            floor.rows as usize > expected.objects(),
            "(f) inserted {} rows, fewer than the sync's {} objects",
            floor.rows,
            expected.objects()
        );
        let latency = measure_latency(&server, &options, &expected, &target)?;
        let rep = Rep {
            keep_alive,
            per_request,
            component,
            sync,
            requests,
            process,
            floor,
            a_cpu,
            server_cpu,
            latency,
        };
        println!(
            "run {i}/{}: raw fetch {:.2} s (new connection per request {:.2} s), \
             component alone {:.2} s, sync {:.2} s, b/a {:.2}, SQLite floor {:.2} s, \
             peak RSS {:.1} MiB, {} requests",
            options.reps,
            rep.keep_alive.wall.as_secs_f64(),
            rep.per_request.wall.as_secs_f64(),
            rep.component.get("component_s"),
            rep.sync.get("sync_s"),
            rep.sync.get("sync_s") / rep.keep_alive.wall.as_secs_f64(),
            rep.floor.wall.as_secs_f64(),
            peak_rss_mib(&rep.sync),
            rep.requests
        );
        reps.push(rep);
    }

    let lifecycle = measure_lifecycle(&server, &options, &expected, scratch.path())?;

    let mut loads = Vec::new();
    for i in 0..options.reps {
        let cache = scratch.path().join(format!("load-cache-{i}"));
        let mut args = vec![CHILD_LOAD, cache.to_str().context("temp path")?];
        args.extend(options.component.as_deref());
        loads.push(child(&args)?.0);
    }

    let capabilities = time_capabilities(options.reps, scratch.path())?;
    let listing = time_listing(options.reps, &target, scratch.path())?;

    report(
        &options,
        &machine,
        &expected,
        &reps,
        &loads,
        &capabilities,
        &listing,
        bench_started.elapsed(),
    );
    report_lifecycle(&reps, &lifecycle, &expected);
    Ok(())
}

/// Measurements (g) and (h).
struct Lifecycle {
    /// (g): a sync into a file holding one full sync.
    history: Values,
    /// (h1): a sync into such a file, stopped halfway.
    stopped: Values,
    /// (h2): the run that resumes it.
    resumed: Values,
    /// Requests the server saw during (h2).
    resumed_requests: usize,
}

/// (g) and (h), once each, on files that hold one full sync of the same size.
fn measure_lifecycle(
    server: &TestServer,
    options: &Options,
    expected: &Expected,
    scratch: &Path,
) -> Result<Lifecycle> {
    let history_file = scratch.join("history.c1z");
    let resume_file = scratch.join("resume.c1z");
    sync_child(server, options, &history_file)?;
    std::fs::copy(&history_file, &resume_file)?;
    let (history, _) = sync_child(server, options, &history_file)?;
    check_complete(&history, expected)?;
    ensure!(
        history.get("kept_syncs") == 1.0,
        "(g) kept {} earlier syncs, not 1",
        history.get("kept_syncs")
    );

    let pages = (expected.requests - 1) / 2;
    let url = server.base_url();
    let pages_arg = pages.to_string();
    let mut args = vec![
        CHILD_STOPPED,
        &url,
        resume_file.to_str().context("temp path")?,
        &pages_arg,
    ];
    args.extend(options.component.as_deref());
    let (stopped, _) = child(&args)?;
    let before = server.request_count();
    let (resumed, _) = sync_child(server, options, &resume_file)?;
    let resumed_requests = server.request_count() - before;
    check_complete(&resumed, expected)?;
    ensure!(resumed.get("resumed") == 1.0, "(h2) did not resume");
    ensure!(
        resumed.get("kept_syncs") == 1.0,
        "(h2) kept {} earlier syncs, not 1",
        resumed.get("kept_syncs")
    );
    Ok(Lifecycle {
        history,
        stopped,
        resumed,
        resumed_requests,
    })
}

/// Prints (g) and (h) beside (b), and issue 13's targets.
fn report_lifecycle(reps: &[Rep], lifecycle: &Lifecycle, expected: &Expected) {
    let first = |key: &str| median_of(reps, |r| r.sync.get(key));
    let first_rss = median_of(reps, |r| peak_rss_mib(&r.sync));
    let Lifecycle {
        history,
        stopped,
        resumed,
        resumed_requests,
    } = lifecycle;
    let written = stopped.get("pages_written") as usize;
    // Validation again, then only the pages not written.
    let remaining = expected.requests - written;
    let rows = [
        (
            "(b) first sync, into no file",
            first("sync_s"),
            first_rss,
            first("c1z_bytes"),
        ),
        (
            "(g) into a file holding one full sync",
            history.get("sync_s"),
            peak_rss_mib(history),
            history.get("c1z_bytes"),
        ),
        (
            "(h1) into such a file, stopped halfway (progress saved)",
            stopped.get("sync_s"),
            peak_rss_mib(stopped),
            stopped.get("c1z_bytes"),
        ),
        (
            "(h2) the run that resumes it",
            resumed.get("sync_s"),
            peak_rss_mib(resumed),
            resumed.get("c1z_bytes"),
        ),
    ];
    let rss_met = rows.iter().all(|(_, _, rss, _)| *rss <= MAX_RSS_MIB);
    let requests_met = *resumed_requests == remaining;
    println!(
        "
== history and resume (issue 13) =="
    );
    for (met, what) in [
        (
            rss_met,
            format!("peak RSS ≤ {MAX_RSS_MIB} MiB in every case below"),
        ),
        (
            requests_met,
            format!(
                "the resumed run sends only the remaining pages: {} requests, 1 validation + \
                 {} pages not written by the stopped run (it wrote {written})",
                resumed_requests,
                remaining - 1
            ),
        ),
    ] {
        println!("  {:<8} {what}", verdict(met));
    }
    println!(
        "
| run | wall | peak RSS | c1z |"
    );
    println!("|---|---|---|---|");
    for (what, wall, rss, bytes) in rows {
        println!(
            "| {what} | {wall:.2} s | {rss:.0} MiB | {:.1} MB |",
            bytes / 1e6
        );
    }
    println!(
        "| (h2) requests | {resumed_requests} | 1 + {} remaining of {} pages | {} |",
        remaining - 1,
        expected.requests - 1,
        verdict(requests_met)
    );
}

/// Measurement (a) in the given connection mode.
fn raw_fetch(server: &TestServer, options: &Options, mode: Connections) -> Result<raw::Fetched> {
    Ok(raw::fetch_all(
        server.addr(),
        TOKEN,
        options.users,
        options.groups,
        mode,
    )?)
}

/// Measurement (b) in a child process: a full sync of `server` into `target`.
fn sync_child(server: &TestServer, options: &Options, target: &Path) -> Result<(Values, Duration)> {
    let url = server.base_url();
    let mut args = vec![CHILD_SYNC, &url, target.to_str().context("temp path")?];
    args.extend(options.component.as_deref());
    child(&args)
}

/// Runs the bench binary again as a child with `args`; returns what it printed and its wall time.
fn child(args: &[&str]) -> Result<(Values, Duration)> {
    let exe = std::env::current_exe()?;
    let started = Instant::now();
    let out = Command::new(exe)
        .args(args)
        .stderr(Stdio::inherit())
        .output()?;
    let wall = started.elapsed();
    ensure!(
        out.status.success(),
        "child {args:?} failed: {}",
        out.status
    );
    Ok((Values::parse(&String::from_utf8_lossy(&out.stdout))?, wall))
}

/// The c1z holds every user, group, role, entitlement and grant, and nothing dangles.
fn check_complete(sync: &Values, want: &Expected) -> Result<()> {
    let pairs = [
        ("users", want.users),
        ("groups", want.groups),
        ("roles", want.roles),
        ("entitlements", want.entitlements),
        ("grants", want.grants),
        ("dangling", 0),
        ("duplicates", 0),
    ];
    for (key, n) in pairs {
        ensure!(
            sync.get(key) == n as f64,
            "the c1z has {} {key}, expected {n}",
            sync.get(key)
        );
    }
    Ok(())
}

fn peak_rss_mib(sync: &Values) -> f64 {
    sync.get("hwm_load_kib").max(sync.get("hwm_sync_kib")) / 1024.0
}

/// The built `baton-notion` and `baton` binaries (cargo builds them for benches).
fn binary(name: &str) -> PathBuf {
    match name {
        "baton-notion" => PathBuf::from(env!("CARGO_BIN_EXE_baton-notion")),
        _ => PathBuf::from(env!("CARGO_BIN_EXE_baton")),
    }
}

/// A clean environment for the CLI runs: no `BATON_*` variables from the
/// caller, no `.baton.yaml` from the caller's folder, and the compiled-component
/// cache in the bench's scratch folder (so the first run is a cold one).
fn cli(name: &str, scratch: &Path) -> Command {
    let mut cmd = Command::new(binary(name));
    cmd.current_dir(scratch);
    for (key, _) in std::env::vars_os() {
        if key.to_string_lossy().starts_with("BATON_") {
            cmd.env_remove(key);
        }
    }
    cmd.env("BATON_CACHE_DIR", scratch.join("cli-cache"));
    cmd
}

/// Whole-process times of `baton-notion capabilities`: the first run (empty
/// cache: it compiles and stores the component) and the median of `reps` later ones.
struct Capabilities {
    cold: Duration,
    warm: Duration,
}

fn time_capabilities(reps: usize, scratch: &Path) -> Result<Capabilities> {
    let mut times = Vec::new();
    for _ in 0..=reps {
        let started = Instant::now();
        let out = cli("baton-notion", scratch)
            .arg("capabilities")
            .stderr(Stdio::inherit())
            .output()?;
        times.push(started.elapsed());
        ensure!(out.status.success(), "baton-notion capabilities failed");
    }
    Ok(Capabilities {
        cold: times[0],
        warm: median_duration(&times[1..]),
    })
}

/// `baton resources -f` on the synced file, read through a pipe.
struct Listing {
    first_byte: Duration,
    total: Duration,
    lines: usize,
}

fn time_listing(reps: usize, file: &Path, cwd: &Path) -> Result<Listing> {
    let mut runs = Vec::new();
    for _ in 0..reps {
        let started = Instant::now();
        let mut proc = cli("baton", cwd)
            .args(["resources", "-f"])
            .arg(file)
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()?;
        let mut stdout = proc.stdout.take().context("stdout")?;
        let mut buf = vec![0u8; 1 << 16];
        let mut first_byte = None;
        let mut lines = 0;
        loop {
            let n = stdout.read(&mut buf)?;
            if n == 0 {
                break;
            }
            first_byte.get_or_insert_with(|| started.elapsed());
            lines += buf[..n].iter().filter(|&&b| b == b'\n').count();
        }
        ensure!(proc.wait()?.success(), "baton resources failed");
        runs.push(Listing {
            first_byte: first_byte.unwrap_or_default(),
            total: started.elapsed(),
            lines,
        });
    }
    let first: Vec<_> = runs.iter().map(|r| r.first_byte).collect();
    let total: Vec<_> = runs.iter().map(|r| r.total).collect();
    Ok(Listing {
        first_byte: median_duration(&first),
        total: median_duration(&total),
        lines: runs[0].lines,
    })
}

/// The 1-minute load average: other work on the machine competes with the
/// sync and shows up in its "fetch" phase (time off the CPU).
fn load_average() -> String {
    let text = std::fs::read_to_string("/proc/loadavg").unwrap_or_default();
    text.split_whitespace().next().unwrap_or("?").to_string()
}

/// Where the numbers came from.
struct Machine {
    date: String,
    cpu: String,
    cores: usize,
    mem_mib: u64,
}

impl Machine {
    fn describe() -> Machine {
        let cpuinfo = std::fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
        let cpu = cpuinfo
            .lines()
            .find_map(|l| l.strip_prefix("model name")?.split_once(':'))
            .map_or_else(|| "unknown CPU".to_string(), |(_, m)| m.trim().to_string());
        let meminfo = std::fs::read_to_string("/proc/meminfo").unwrap_or_default();
        let mem_kib = meminfo
            .lines()
            .find_map(|l| l.strip_prefix("MemTotal:")?.trim().strip_suffix("kB"))
            .and_then(|v| v.trim().parse::<u64>().ok())
            .unwrap_or(0);
        let now = UnixTime::now().to_db_text();
        Machine {
            date: now.get(..10).unwrap_or(&now).to_string(),
            cpu,
            cores: std::thread::available_parallelism().map_or(1, |n| n.get()),
            mem_mib: mem_kib / 1024,
        }
    }
}

fn median(values: &mut [f64]) -> f64 {
    values.sort_by(f64::total_cmp);
    match values.len() {
        0 => f64::NAN,
        n if n % 2 == 1 => values[n / 2],
        n => (values[n / 2 - 1] + values[n / 2]) / 2.0,
    }
}

fn median_duration(values: &[Duration]) -> Duration {
    let mut secs: Vec<f64> = values.iter().map(Duration::as_secs_f64).collect();
    Duration::from_secs_f64(median(&mut secs))
}

/// Median over the runs of one value of the sync child.
fn median_of(reps: &[Rep], f: impl Fn(&Rep) -> f64) -> f64 {
    median(&mut reps.iter().map(f).collect::<Vec<_>>())
}

fn median_key(values: &[Values], key: &str) -> f64 {
    median(&mut values.iter().map(|v| v.get(key)).collect::<Vec<_>>())
}

fn verdict(met: bool) -> &'static str {
    if met {
        "met"
    } else {
        "NOT MET"
    }
}

#[allow(clippy::too_many_arguments)]
fn report(
    options: &Options,
    machine: &Machine,
    expected: &Expected,
    reps: &[Rep],
    loads: &[Values],
    capabilities: &Capabilities,
    listing: &Listing,
    elapsed: Duration,
) {
    let sync = |key: &str| median_of(reps, |r| r.sync.get(key));
    let a = median_of(reps, |r| r.keep_alive.wall.as_secs_f64());
    let a_new = median_of(reps, |r| r.per_request.wall.as_secs_f64());
    let b = sync("sync_s");
    let b0 = median_of(reps, |r| r.component.get("component_s"));
    let b0_cpu = median_of(reps, |r| r.component.get("component_cpu_s"));
    let ratio = median_of(reps, |r| {
        r.sync.get("sync_s") / r.keep_alive.wall.as_secs_f64()
    });
    let rss = median_of(reps, |r| peak_rss_mib(&r.sync));
    let rss_sync = sync("hwm_sync_kib") / 1024.0;
    let rss_pages = sync("hwm_pages_kib") / 1024.0;
    let rss_guest = sync("guest_rss_kib") / 1024.0;
    let rss_load = sync("hwm_load_kib") / 1024.0;
    let requests = median_of(reps, |r| r.requests as f64);
    let requests_all_equal = reps.iter().all(|r| r.requests == expected.requests);
    let process = median_of(reps, |r| r.process.as_secs_f64());
    let bytes = median_of(reps, |r| r.keep_alive.body_bytes as f64);
    let hwm_reset = reps.iter().all(|r| r.sync.get("hwm_reset") == 1.0);
    let f = median_of(reps, |r| r.floor.wall.as_secs_f64());
    let f_ratio = median_of(reps, |r| {
        r.floor.wall.as_secs_f64() / r.keep_alive.wall.as_secs_f64()
    });
    let f_rows = median_of(reps, |r| r.floor.rows as f64);
    let cores = machine.cores.max(1) as f64;
    let a_cpu = median_of(reps, |r| r.a_cpu.as_secs_f64());
    let b_cpu = sync("sync_cpu_s");
    let server_cpu = median_of(reps, |r| r.server_cpu.as_secs_f64());
    let latency: Vec<&Latency> = reps.iter().filter_map(|r| r.latency.as_ref()).collect();
    let latency = (!latency.is_empty()).then(|| {
        let of = |f: &dyn Fn(&Latency) -> f64| {
            median(&mut latency.iter().map(|l| f(l)).collect::<Vec<_>>())
        };
        (
            of(&|l| l.fetch.as_secs_f64()),
            of(&|l| l.sync.as_secs_f64()),
            of(&|l| l.sync.as_secs_f64() / l.fetch.as_secs_f64()),
        )
    });
    let b_floor = median_of(reps, |r| {
        (r.sync.get("sync_cpu_s") + r.server_cpu.as_secs_f64()) / cores
    });
    let f_order = if reps.iter().all(|r| r.floor.unique_after) {
        "unique indexes after the rows"
    } else if reps.iter().all(|r| !r.floor.unique_after) {
        "unique indexes before the rows"
    } else {
        "either order of the unique indexes"
    };

    println!(
        "\n== medians of {} runs ({} users, {} groups) ==",
        options.reps, expected.users, expected.groups
    );
    println!(
        "data          {} users, {} groups, 4 roles, {} entitlements, {} grants ({} role + {} group)",
        expected.users,
        expected.groups,
        expected.entitlements,
        expected.grants,
        expected.grants - expected.memberships,
        expected.memberships
    );
    println!(
        "requests      {requests} during the sync (expected 1 validation + {} list = {})",
        expected.requests - 1,
        expected.requests
    );
    println!(
        "(a) raw fetch {a:.3} s keep-alive; {a_new:.3} s with a new connection per request \
         ({:.1} MB of bodies)",
        bytes / 1e6
    );
    println!(
        "(b0) component {b0:.3} s all pages through the component, records dropped \
         (b0/a {:.2}; its thread's CPU {b0_cpu:.3} s)",
        b0 / a
    );
    println!("(b) sync      {b:.3} s validate + sync (load excluded; see (c)); child process {process:.3} s in all");
    println!("    b/a       {ratio:.2}");
    println!(
        "    CPU       {b_cpu:.3} s in the sync process + {server_cpu:.3} s in the server: \
         on {cores} cores at least {b_floor:.3} s of wall even with perfect overlap \
         ({:.2} × a; (a) itself used {a_cpu:.3} s of CPU)",
        b_floor / a
    );
    println!(
        "    peak RSS  {rss:.1} MiB for the sync process (compile and load {rss_load:.1} MiB, \
         sync {rss_sync:.1} MiB, up to the last page {rss_pages:.1} MiB; \
         guest linear memory {rss_guest:.1} MiB of it{})",
        if hwm_reset {
            ""
        } else {
            "; VmHWM could not be reset, so it includes the load"
        }
    );
    println!(
        "    c1z       {:.1} MB ({:.1} MB of SQLite inside)",
        sync("c1z_bytes") / 1e6,
        sync("db_bytes") / 1e6
    );
    println!("    phases of (b), each a median over the runs:");
    let phase = |key: &str, what: &str| {
        let v = sync(key);
        println!("      {:>8.3} s {:>5.1}%  {what}", v, 100.0 * v / b);
    };
    phase("validate_s", "validate (one request, count=1)");
    phase(
        "listing_s",
        "listing: from the first list call to the last page written, of which",
    );
    println!("        on the sync thread:");
    phase(
        "fetch_s",
        "  fetch: list calls' wall time off the sync thread's CPU (server, loopback, HTTP client threads, waiting for a core)",
    );
    phase(
        "guest_s",
        "  guest parse + map: sync thread CPU (wasm JSON parsing and mapping, lifting the page)",
    );
    println!("        on the writer thread, overlapping the calls:");
    phase(
        "encode_s",
        "  host encode: page writes minus SQLite inserts (records to protobuf, validation)",
    );
    phase("sqlite_insert_s", "  SQLite inserts");
    println!("        after the last page:");
    phase(
        "dangling_check_s",
        "dangling-reference check (SQLite queries)",
    );
    phase("sqlite_finish_s", "SQLite finish: deferred indexes, commit");
    phase(
        "zstd_s",
        "zstd: compressing the database into the c1z, fsync",
    );
    phase("other_s", "other: rename, folder fsync");
    println!(
        "(f) SQLite    {f:.3} s for the {f_rows} rows of (b) in bulk into an empty in-memory database \
         with the same schema, {f_order} (f/a {f_ratio:.2}): SQLite's least work, on one thread"
    );
    if let Some((fetch, sync, ratio)) = latency {
        println!(
            "(d) latency   {} ms on every answer: raw fetch {fetch:.3} s, sync {sync:.3} s, b/a {ratio:.2} \
             (the network's share, which the loopback of (a) and (b) leaves out)",
            options.latency_ms
        );
    }
    let load = |key: &str| median_key(loads, key);
    println!(
        "(c) load      cold: engine {:.3} s + compile {:.3} s + instantiate {:.3} s; \
         through the host's cache: empty {:.3} s, warm {:.4} s \
         ({:.1} MB component, {:.1} MB cached)",
        load("engine_s"),
        load("compile_s"),
        load("instantiate_s"),
        load("cache_miss_s"),
        load("cache_hit_s"),
        load("wasm_bytes") / 1e6,
        load("cwasm_bytes") / 1e6,
    );
    let warm = capabilities.warm.as_secs_f64();
    println!(
        "CLI           baton-notion capabilities as a whole process: {:.3} s warm cache, \
         {:.3} s cold; baton resources -f: first byte {:.3} s, all {} lines {:.3} s",
        warm,
        capabilities.cold.as_secs_f64(),
        listing.first_byte.as_secs_f64(),
        listing.lines,
        listing.total.as_secs_f64()
    );

    let at_scale = options.users == 100_000 && options.groups == 2_000;
    let scale_note = if at_scale {
        ""
    } else {
        " (not at the issue's 100k scale)"
    };
    println!("\n== targets of issue 8{scale_note} ==");
    let targets = [
        (
            ratio <= MAX_RATIO,
            format!(
                "sync wall ≤ {MAX_RATIO} × raw fetch: b/a = {ratio:.2}; {MAX_RATIO} × a on {cores} cores \
                 leaves {:.2} s of CPU beside the server's {server_cpu:.2} s, and the sync process \
                 uses {b_cpu:.2} s (SQLite's least work alone, (f), is {f:.2} s)",
                MAX_RATIO * a * cores - server_cpu
            ),
        ),
        (
            rss <= MAX_RSS_MIB,
            format!("peak RSS of the sync ≤ {MAX_RSS_MIB} MiB: {rss:.1} MiB"),
        ),
        (
            requests_all_equal,
            format!(
                "exactly ceil(U/100)+ceil(G/100) = {} list requests (+1 validation): {} in every run",
                expected.requests - 1,
                requests - 1.0
            ),
        ),
        (
            warm <= MAX_CAPABILITIES_S,
            format!(
                "`baton-notion capabilities` on a warm cache ≤ {:.0} ms: {:.0} ms",
                MAX_CAPABILITIES_S * 1e3,
                warm * 1e3
            ),
        ),
        (
            listing.total.as_secs_f64() <= MAX_LISTING_S,
            format!(
                "`baton resources -f` lists everything in ≤ {MAX_LISTING_S} s: {:.2} s (first byte after {:.2} s)",
                listing.total.as_secs_f64(),
                listing.first_byte.as_secs_f64()
            ),
        ),
        (
            elapsed.as_secs_f64() <= MAX_BENCH_S,
            format!(
                "benchmark ≤ 10 min: {:.1} min",
                elapsed.as_secs_f64() / 60.0
            ),
        ),
    ];
    for (met, what) in &targets {
        println!("  {:<8} {what}", verdict(*met));
    }

    println!("load average at the end: {}", load_average());

    println!("\n== for the README ==");
    println!(
        "Measured {} on {} ({} cores, {} MiB RAM); medians of {} runs, {} users, {} groups, {} grants.\n",
        machine.date,
        machine.cpu,
        machine.cores,
        machine.mem_mib,
        options.reps,
        expected.users,
        expected.groups,
        expected.grants
    );
    println!("| measure | figure | target | |");
    println!("|---|---|---|---|");
    println!(
        "| (a) raw fetch, keep-alive (new connection per request) | {a:.2} s ({a_new:.2} s) | | |"
    );
    println!(
        "| (b0) component alone: all pages through it, records dropped | {b0:.2} s (b0/a {:.2}) | | |",
        b0 / a
    );
    println!("| (b) sync: validate + all pages + c1z | {b:.2} s | | |");
    println!(
        "| (f) SQLite floor: the rows of (b) in bulk into an in-memory database, then indexes | {f:.2} s (f/a {f_ratio:.2}) | | |"
    );
    println!(
        "| CPU of (b): sync process + server, and that over {cores} cores | {b_cpu:.2} s + {server_cpu:.2} s; ≥ {b_floor:.2} s of wall ({:.2} × a) | | |",
        b_floor / a
    );
    if let Some((fetch, sync, ratio)) = latency {
        println!(
            "| (d) {} ms on every answer: raw fetch / sync, b/a | {fetch:.2} s / {sync:.2} s, {ratio:.2} | | |",
            options.latency_ms
        );
    }
    println!(
        "| b/a | {ratio:.2} | ≤ {MAX_RATIO} | {} |",
        verdict(ratio <= MAX_RATIO)
    );
    println!(
        "| peak RSS of the sync process | {rss:.0} MiB | ≤ {MAX_RSS_MIB:.0} MiB | {} |",
        verdict(rss <= MAX_RSS_MIB)
    );
    println!(
        "| requests | {requests} | 1 + {} | {} |",
        expected.requests - 1,
        verdict(requests_all_equal)
    );
    println!("| c1z size | {:.1} MB | | |", sync("c1z_bytes") / 1e6);
    println!(
        "| phases of (b): fetch / guest / encode / SQLite / zstd | {:.2} / {:.2} / {:.2} / {:.2} / {:.2} s | | |",
        sync("fetch_s"),
        sync("guest_s"),
        sync("encode_s"),
        sync("sqlite_insert_s") + sync("dangling_check_s") + sync("sqlite_finish_s"),
        sync("zstd_s")
    );
    println!(
        "| (c) load, cold: engine + compile + instantiate | {:.2} s | | |",
        load("engine_s") + load("compile_s") + load("instantiate_s")
    );
    println!(
        "| (c) load from the warm compiled-component cache | {:.1} ms | | |",
        load("cache_hit_s") * 1e3
    );
    println!(
        "| `baton-notion capabilities`, whole process, warm cache (cold) | {:.0} ms ({:.0} ms) | ≤ 50 ms | {} |",
        warm * 1e3,
        capabilities.cold.as_secs_f64() * 1e3,
        verdict(warm <= MAX_CAPABILITIES_S)
    );
    println!(
        "| `baton resources -f`: first byte / all | {:.2} s / {:.2} s | ≤ 2 s | {} |",
        listing.first_byte.as_secs_f64(),
        listing.total.as_secs_f64(),
        verdict(listing.total.as_secs_f64() <= MAX_LISTING_S)
    );
    println!(
        "| benchmark run | {:.1} min | < 10 min | {} |",
        elapsed.as_secs_f64() / 60.0,
        verdict(elapsed.as_secs_f64() <= MAX_BENCH_S)
    );
}
