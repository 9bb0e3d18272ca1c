//! The many-tenant benchmark of issue 16: the host library as a platform runs it, one
//! `Runtime` and one compiled component for many tenants at once, each sync a task
//! (`sync::spawn`) on a small tokio runtime.
//!
//! ```sh
//! cargo bench -p baton-host --bench tenants_bench
//! cargo bench -p baton-host --bench tenants_bench -- --small    # what CI runs: completeness only
//! ```
//!
//! Each case runs in a child process of its own, so that its peak RSS is its own:
//! - (a) 1,000 tenants × 100 users, unpaced;
//! - (b) 100 tenants × 1,000 users, unpaced;
//! - (c) 100 tenants × 1,000 users, each paced by its own limiter at 1 request per second,
//!   against one such tenant alone.
//!
//! The tenants' test-servers run in the same process, on a tokio runtime of their own
//! (two threads named `bench-servers`), as in the issue's measurements. The host's side
//! is a tokio runtime of two worker threads and at most two blocking threads, plus the
//! runtime's epoch ticker. Unpaced cases let 32 syncs run at once (the platform's own
//! scheduling: a semaphore before each instantiation); the paced case starts all at once.
//! After the burst the platform calls `runtime::release_memory`.

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{bail, ensure, Context, Result};
use baton_host::bindings::types::ConfigValue;
use baton_host::runtime::{
    ConnectorComponent, EgressPolicy, Origin, RateLimiter, RunPolicy, Runtime, NOTION_COMPONENT,
};
use baton_host::sync::{spawn, SyncJob};
use notion_scim_test_server::{serve, Config, ServerState};

const TOKEN: &str = "bench-token";
/// Syncs in progress at once in the unpaced cases.
const UNPACED_AT_ONCE: usize = 32;
/// Threads of the host's tokio runtime, and most blocking threads.
const WORKERS: usize = 2;
const BLOCKING: usize = 2;

/// Issue 16's targets.
const MAX_RSS_UNPACED_MIB: f64 = 256.0;
const MAX_RSS_PACED_MIB: f64 = 512.0;
const MAX_PACED_RATIO: f64 = 1.2;
const MAX_HOST_THREADS: usize = 8;
const MAX_RSS_AFTER_MIB: f64 = 128.0;
const MAX_BENCH_S: f64 = 600.0;

/// One case: how many tenants of how many users, and their pace.
#[derive(Clone, Copy)]
struct Case {
    tenants: usize,
    users: usize,
    per_second: Option<f64>,
}

fn main() -> Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if let [flag, tenants, users, pace] = args.as_slice() {
        if flag == "--case" {
            let case = Case {
                tenants: tenants.parse()?,
                users: users.parse()?,
                per_second: (pace != "-").then(|| pace.parse()).transpose()?,
            };
            return run_case(case);
        }
    }
    let small = args.iter().any(|a| a == "--small");
    if let Some(other) = args.iter().find(|a| *a != "--small" && *a != "--bench") {
        bail!("unknown argument {other:?} (known: --small)");
    }
    let started = Instant::now();
    let scale = if small { 10 } else { 1 };
    let a = child(Case {
        tenants: 1_000 / scale,
        users: 100,
        per_second: None,
    })?;
    let b = child(Case {
        tenants: 100 / scale,
        users: 1_000 / scale,
        per_second: None,
    })?;
    let paced = |tenants| Case {
        tenants,
        users: 1_000 / scale,
        per_second: Some(1.0),
    };
    let alone = child(paced(1))?;
    let c = child(paced(100 / scale))?;
    let elapsed = started.elapsed().as_secs_f64();
    if small {
        println!("small version: every sync complete (times and memory not checked)");
        return Ok(());
    }
    report(&a, &b, &alone, &c, elapsed);
    Ok(())
}

/// Runs a case in a child process (this binary again) and reads its figures.
fn child(case: Case) -> Result<BTreeMap<String, f64>> {
    let pace = case
        .per_second
        .map_or_else(|| "-".to_string(), |p| p.to_string());
    let out = std::process::Command::new(std::env::current_exe()?)
        .args([
            "--case",
            &case.tenants.to_string(),
            &case.users.to_string(),
            &pace,
        ])
        .stderr(std::process::Stdio::inherit())
        .output()?;
    ensure!(out.status.success(), "case failed: {}", out.status);
    let text = String::from_utf8(out.stdout)?;
    let mut values = BTreeMap::new();
    for line in text.lines() {
        let (k, v) = line.split_once('=').context("key=value")?;
        values.insert(k.to_string(), v.parse::<f64>()?);
    }
    eprintln!(
        "{} tenants × {} users{}: {:.2} s, peak RSS {:.0} MiB",
        case.tenants,
        case.users,
        case.per_second
            .map_or_else(String::new, |p| format!(", paced at {p}/s each")),
        values["wall_s"],
        values["peak_rss_kib"] / 1024.0
    );
    Ok(values)
}

fn verdict(met: bool) -> &'static str {
    if met {
        "met"
    } else {
        "NOT MET"
    }
}

fn report(
    a: &BTreeMap<String, f64>,
    b: &BTreeMap<String, f64>,
    alone: &BTreeMap<String, f64>,
    c: &BTreeMap<String, f64>,
    elapsed: f64,
) {
    let mib = |v: &BTreeMap<String, f64>, k: &str| v[k] / 1024.0;
    let per_tenant = |v: &BTreeMap<String, f64>| {
        (v["peak_rss_kib"] - v["base_rss_kib"]).max(0.0) / 1024.0 / v["tenants"]
    };
    println!("\n| case | wall | CPU | peak RSS | RSS per tenant | host threads |");
    println!("|---|---|---|---|---|---|");
    for (name, v) in [
        ("(a) 1,000 × 100, unpaced", a),
        ("(b) 100 × 1,000, unpaced", b),
        ("(c) one tenant × 1,000, paced at 1/s", alone),
        ("(c) 100 × 1,000, each paced at 1/s", c),
    ] {
        println!(
            "| {name} | {:.2} s | {:.2} s | {:.0} MiB | {:.2} MiB | {} |",
            v["wall_s"],
            v["cpu_s"],
            mib(v, "peak_rss_kib"),
            per_tenant(v),
            v["host_threads"]
        );
    }
    let ratio = c["wall_s"] / alone["wall_s"];
    println!(
        "\nRSS after (a): {:.0} MiB at its end, {:.0} MiB 5 s later (the test-servers' data included: {:.0} MiB before the syncs)",
        mib(a, "rss_end_kib"),
        mib(a, "rss_after_kib"),
        mib(a, "base_rss_kib")
    );
    println!("\n== targets of issue 16 ==");
    let targets = [
        (
            mib(a, "peak_rss_kib") <= MAX_RSS_UNPACED_MIB,
            format!(
                "(a) peak RSS ≤ {MAX_RSS_UNPACED_MIB} MiB: {:.0} MiB",
                mib(a, "peak_rss_kib")
            ),
        ),
        (
            mib(b, "peak_rss_kib") <= MAX_RSS_UNPACED_MIB,
            format!(
                "(b) peak RSS ≤ {MAX_RSS_UNPACED_MIB} MiB: {:.0} MiB",
                mib(b, "peak_rss_kib")
            ),
        ),
        (
            ratio <= MAX_PACED_RATIO,
            format!(
                "(c) wall of all 100 ≤ {MAX_PACED_RATIO} × one alone: {:.2} s / {:.2} s = {ratio:.2}",
                c["wall_s"], alone["wall_s"]
            ),
        ),
        (
            c["host_threads"] as usize <= MAX_HOST_THREADS,
            format!(
                "(c) on ≤ {MAX_HOST_THREADS} threads of the host's own: {}",
                c["host_threads"]
            ),
        ),
        (
            mib(c, "peak_rss_kib") <= MAX_RSS_PACED_MIB,
            format!(
                "(c) peak RSS ≤ {MAX_RSS_PACED_MIB} MiB: {:.0} MiB",
                mib(c, "peak_rss_kib")
            ),
        ),
        (
            mib(a, "rss_after_kib") <= MAX_RSS_AFTER_MIB,
            format!(
                "after (a), RSS under {MAX_RSS_AFTER_MIB} MiB within 5 s: {:.0} MiB",
                mib(a, "rss_after_kib")
            ),
        ),
        (
            elapsed <= MAX_BENCH_S,
            format!("benchmark ≤ 10 min: {:.1} min", elapsed / 60.0),
        ),
    ];
    for (met, what) in targets {
        println!("  {:<8} {what}", verdict(met));
    }
}

/// One case, in this (child) process: prints its figures as `key=value` lines.
fn run_case(case: Case) -> Result<()> {
    // A listening socket per tenant, and the host's connections.
    raise_open_files();
    let servers = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .thread_name("bench-servers")
        .enable_all()
        .build()?;
    let mut urls = Vec::new();
    for i in 0..case.tenants {
        let state = ServerState::new(&Config {
            token: TOKEN.into(),
            users: case.users,
            groups: (case.users / 50).max(2),
            seed: i as u64 + 1,
        });
        let listener = std::net::TcpListener::bind("127.0.0.1:0")?;
        listener.set_nonblocking(true)?;
        let addr = listener.local_addr()?;
        let listener = {
            let _in = servers.enter();
            tokio::net::TcpListener::from_std(listener)?
        };
        servers.spawn(async move {
            let _ = serve(listener, state).await;
        });
        urls.push(format!("http://{addr}/scim/v2"));
    }
    let host = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(WORKERS)
        .max_blocking_threads(BLOCKING)
        .thread_name("baton-host")
        .enable_all()
        .build()?;
    let runtime = Runtime::new()?;
    let component = runtime.load(NOTION_COMPONENT)?;
    let dir = tempfile::tempdir()?;
    let base_rss = status_kib("VmRSS");
    std::fs::write("/proc/self/clear_refs", "5").context("reset the peak RSS")?;
    let cpu_before = process_cpu();
    let started = Instant::now();
    let host_threads = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let at_once = if case.per_second.is_some() {
        case.tenants
    } else {
        UNPACED_AT_ONCE
    };
    let resources = host.block_on(async {
        let watcher = tokio::spawn({
            let host_threads = host_threads.clone();
            async move {
                loop {
                    host_threads
                        .fetch_max(count_host_threads(), std::sync::atomic::Ordering::Relaxed);
                    tokio::time::sleep(Duration::from_millis(25)).await;
                }
            }
        });
        let gate = Arc::new(tokio::sync::Semaphore::new(at_once));
        let mut tasks = Vec::new();
        for (i, url) in urls.iter().enumerate() {
            let (component, gate, url) = (component.clone(), gate.clone(), url.clone());
            let target = dir.path().join(format!("{i}.c1z"));
            tasks.push(tokio::spawn(async move {
                let _turn = gate.acquire_owned().await?;
                sync_tenant(&component, &url, case.per_second, &target, i).await
            }));
        }
        let mut resources = Vec::new();
        for task in tasks {
            resources.push(task.await??);
        }
        watcher.abort();
        anyhow::Ok(resources)
    })?;
    let wall = started.elapsed();
    let cpu = process_cpu().saturating_sub(cpu_before);
    let expected = case.users + (case.users / 50).max(2) + 4;
    ensure!(
        resources.iter().all(|&n| n == expected as u64),
        "a sync is incomplete: expected {expected} resources each"
    );
    let peak = status_kib("VmHWM");
    drop(host);
    drop(runtime);
    drop(component);
    let rss_end = status_kib("VmRSS");
    // The platform's move after a burst.
    baton_host::runtime::release_memory();
    std::thread::sleep(Duration::from_secs(5));
    let rss_after = status_kib("VmRSS");
    for (k, v) in [
        ("tenants", case.tenants as f64),
        ("wall_s", wall.as_secs_f64()),
        ("cpu_s", cpu.as_secs_f64()),
        ("base_rss_kib", base_rss as f64),
        ("peak_rss_kib", peak as f64),
        ("rss_end_kib", rss_end as f64),
        ("rss_after_kib", rss_after as f64),
        (
            "host_threads",
            host_threads.load(std::sync::atomic::Ordering::Relaxed) as f64,
        ),
    ] {
        println!("{k}={v}");
    }
    drop(servers);
    Ok(())
}

/// One tenant's whole run, as a platform does it: instantiate, configure, validate, sync.
async fn sync_tenant(
    component: &ConnectorComponent,
    url: &str,
    per_second: Option<f64>,
    target: &Path,
    i: usize,
) -> Result<u64> {
    let policy = RunPolicy {
        egress: EgressPolicy {
            allowed: vec![Origin::of_url(url).map_err(anyhow::Error::msg)?],
        },
        rate_limit: per_second.and_then(|p| RateLimiter::new(p, 1)),
        label: Some(format!("tenant-{i}")),
        ..Default::default()
    };
    let mut instance = component.instantiate_async(policy).await?;
    let metadata = instance.metadata_async().await?;
    let config = [("scim-token", TOKEN), ("base-url", url)].map(|(name, value)| ConfigValue {
        name: name.into(),
        value: value.into(),
    });
    instance.configure_async(&metadata, &config).await?;
    instance.validate_async().await?;
    let report = spawn(SyncJob::new(instance, metadata, target.to_path_buf()))
        .wait()
        .await?;
    Ok(report.summary.counts.resources)
}

/// Threads of this process that are not the test-servers'.
fn count_host_threads() -> usize {
    let Ok(tasks) = std::fs::read_dir("/proc/self/task") else {
        return 0;
    };
    let names: Vec<String> = tasks
        .filter_map(|t| std::fs::read_to_string(t.ok()?.path().join("comm")).ok())
        .filter(|name| !name.starts_with("bench-servers"))
        .collect();
    if std::env::var_os("BENCH_THREADS").is_some() {
        eprintln!("{names:?}");
    }
    names.len()
}

fn status_kib(field: &str) -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix(field)?.strip_prefix(':'))
        .and_then(|v| v.trim().trim_end_matches(" kB").parse().ok())
        .unwrap_or(0)
}

fn process_cpu() -> Duration {
    // SAFETY: getrusage only writes the struct it is given.
    let usage = unsafe {
        let mut usage = std::mem::zeroed::<libc::rusage>();
        libc::getrusage(libc::RUSAGE_SELF, &mut usage);
        usage
    };
    let time = |t: libc::timeval| {
        Duration::from_secs(t.tv_sec as u64) + Duration::from_micros(t.tv_usec as u64)
    };
    time(usage.ru_utime) + time(usage.ru_stime)
}

fn raise_open_files() {
    // SAFETY: getrlimit and setrlimit only read and write the struct given.
    unsafe {
        let mut limit = std::mem::zeroed::<libc::rlimit>();
        if libc::getrlimit(libc::RLIMIT_NOFILE, &mut limit) == 0 {
            limit.rlim_cur = limit.rlim_max;
            libc::setrlimit(libc::RLIMIT_NOFILE, &limit);
        }
    }
}
