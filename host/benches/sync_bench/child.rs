//! The parts of the benchmark that run in a child process of their own (the
//! bench binary re-executed with a flag), so that their peak RSS and their cold
//! start are theirs alone: the parent holds the test-server and its data.
//!
//! A child prints its results as `key=value` lines on stdout (numbers only);
//! the parent parses them with [`Values::parse`].

use std::collections::BTreeMap;
use std::path::Path;
use std::time::{Duration, Instant};

use anyhow::{anyhow, Context, Result};
use baton_host::bindings::types::{ConfigValue, ConnectorMetadata};
use baton_host::runtime::{
    ComponentCache, ConnectorInstance, EgressPolicy, Origin, RunPolicy, Runtime, NOTION_COMPONENT,
};
use baton_host::sync::{PageEvent, SyncError, SyncRun};

use super::TOKEN;

/// Measurement (b): one full sync of the server at `url` into `target`,
/// exactly as `baton-notion` runs it, with the per-phase split.
///
/// How the phases are told apart without instrumenting the runtime:
/// - the engine drives the guest on this thread and writes on a thread of its
///   own, so this thread's CPU time (`CLOCK_THREAD_CPUTIME_ID`) up to the last
///   page event is the guest (wasm parsing JSON and mapping records, lifting
///   the pages across the component boundary) plus a little queue handling;
/// - the rest of the list calls' wall time is this thread waiting: for the
///   server, the loopback and the HTTP client, which runs on tokio's threads
///   (and, on a busy machine, for a free core);
/// - the writer thread's `write` time splits into SQLite inserts (timed inside
///   the writer) and the rest, host encoding (records to protobuf,
///   validation); it overlaps the calls;
/// - after the last page the writer's `finish` times the dangling-reference
///   check, SQLite (deferred indexes, commit) and zstd (compression plus the
///   c1z's fsync).
pub fn sync(url: &str, target: &Path, component: Option<&Path>) -> Result<()> {
    let bytes = component_bytes(component)?;
    let started = Instant::now();
    let (mut instance, metadata) = instantiate(&bytes, url)?;
    let load = started.elapsed();
    // Compiling the component has its own peak; keep it apart from the sync's.
    let hwm_load = status_kib("VmHWM");
    let hwm_reset = reset_peak_rss();

    let sync_started = Instant::now();
    let process_cpu_start = process_cpu();
    instance.validate()?;
    let validate = sync_started.elapsed();

    let mut pages = 0u64;
    let mut call = Duration::ZERO;
    let mut write = Duration::ZERO;
    let cpu_start = thread_cpu();
    let mut cpu_last_page = cpu_start;
    let mut last_page = Instant::now();
    let mut hwm_pages = None;
    let mut observer = |e: &PageEvent<'_>| {
        pages += 1;
        call += e.call;
        write += e.write;
        // The peak before `finish`: paging alone (about 20 µs a page).
        hwm_pages = status_kib("VmHWM");
        last_page = Instant::now();
        cpu_last_page = thread_cpu();
    };
    let report = SyncRun::new(&mut instance, &metadata, target)?
        .with_observer(&mut observer)
        .run()
        .context("sync")?;
    let sync_wall = sync_started.elapsed();
    let sync_cpu = process_cpu().saturating_sub(process_cpu_start);
    let after_last_page = last_page.elapsed();
    let hwm_sync = status_kib("VmHWM");
    let guest_rss = guest_rss_kib();

    let s = &report.summary;
    let of_type = |id: &str| {
        report
            .per_type
            .iter()
            .find(|(t, _)| t == id)
            .map_or(0, |(_, stats)| stats.resources)
    };
    let guest = cpu_last_page.saturating_sub(cpu_start);
    let fetch = call.saturating_sub(guest);
    let encode = write.saturating_sub(s.insert_time);
    let listing = last_page.saturating_duration_since(sync_started + validate);
    let accounted = validate + listing + s.check_time + s.finalize_time + s.compress_time;
    let secs = |d: Duration| d.as_secs_f64();
    let mut out = Values::default();
    out.set("users", of_type("user") as f64);
    out.set("groups", of_type("group") as f64);
    out.set("roles", of_type("role") as f64);
    out.set("entitlements", s.counts.entitlements as f64);
    out.set("grants", s.counts.grants as f64);
    out.set("duplicates", s.counts.duplicates as f64);
    out.set("dangling", s.dangling_references as f64);
    out.set("pages", pages as f64);
    out.set("guest_requests", instance.requests_sent() as f64);
    out.set("load_s", secs(load));
    out.set("sync_s", secs(sync_wall));
    out.set("sync_cpu_s", secs(sync_cpu));
    out.set("validate_s", secs(validate));
    out.set("fetch_s", secs(fetch));
    out.set("guest_s", secs(guest));
    out.set("listing_s", secs(listing));
    out.set("encode_s", secs(encode));
    out.set("sqlite_insert_s", secs(s.insert_time));
    out.set("dangling_check_s", secs(s.check_time));
    out.set("sqlite_finish_s", secs(s.finalize_time));
    out.set("zstd_s", secs(s.compress_time));
    out.set("after_last_page_s", secs(after_last_page));
    out.set("other_s", secs(sync_wall.saturating_sub(accounted)));
    out.set("hwm_load_kib", hwm_load.unwrap_or(0) as f64);
    out.set("hwm_pages_kib", hwm_pages.unwrap_or(0) as f64);
    out.set("hwm_sync_kib", hwm_sync.unwrap_or(0) as f64);
    out.set("hwm_reset", f64::from(u8::from(hwm_reset)));
    out.set("guest_rss_kib", guest_rss as f64);
    out.set("c1z_bytes", s.file_bytes as f64);
    out.set("db_bytes", s.db_bytes as f64);
    out.set("kept_syncs", s.kept_syncs.len() as f64);
    out.set("resumed", f64::from(u8::from(report.resumed_at.is_some())));
    print!("{out}");
    Ok(())
}

/// Measurement (h1): a sync into `target` cancelled once `stop_after` pages are written,
/// as SIGTERM stops `baton-notion`; it must save its progress. Prints its wall time, peak
/// RSS, the pages it wrote and the size of the file it left.
pub fn sync_stopped(
    url: &str,
    target: &Path,
    stop_after: u64,
    component: Option<&Path>,
) -> Result<()> {
    let bytes = component_bytes(component)?;
    let (mut instance, metadata) = instantiate(&bytes, url)?;
    let hwm_load = status_kib("VmHWM");
    let hwm_reset = reset_peak_rss();
    let started = Instant::now();
    instance.validate()?;
    let canceller = instance.canceller();
    let mut written = 0u64;
    let mut observer = |_: &PageEvent<'_>| {
        written += 1;
        if written == stop_after {
            canceller.cancel();
        }
    };
    let result = SyncRun::new(&mut instance, &metadata, target)?
        .with_observer(&mut observer)
        .run();
    let wall = started.elapsed();
    let saved = match result {
        Err(SyncError::Stopped { saved, .. }) => saved,
        Err(e) => return Err(anyhow!("the stopped sync saved nothing: {e}")),
        Ok(_) => return Err(anyhow!("the sync finished before it was stopped")),
    };
    let mut out = Values::default();
    out.set("sync_s", wall.as_secs_f64());
    out.set("pages_written", written as f64);
    out.set("guest_requests", instance.requests_sent() as f64);
    out.set("hwm_load_kib", hwm_load.unwrap_or(0) as f64);
    out.set("hwm_sync_kib", status_kib("VmHWM").unwrap_or(0) as f64);
    out.set("hwm_reset", f64::from(u8::from(hwm_reset)));
    out.set("c1z_bytes", saved.file_bytes as f64);
    print!("{out}");
    Ok(())
}

/// Measurement (b0): every list page through the component, exactly as the
/// sync asks for them, with the records dropped instead of written. The gap
/// between (a) and (b0) is what the component and the runtime cost; the gap
/// between (b0) and (b) is the c1z's.
pub fn component_only(url: &str, component: Option<&Path>) -> Result<()> {
    let bytes = component_bytes(component)?;
    let (mut instance, metadata) = instantiate(&bytes, url)?;
    let started = Instant::now();
    instance.validate()?;
    let cpu_start = thread_cpu();
    let mut items = 0usize;
    for rt in &metadata.resource_types {
        let mut token = String::new();
        loop {
            let page = instance.list_resources(&rt.id, None, &token)?;
            items += page.resources.len() + page.entitlements.len() + page.grants.len();
            match page.next_page_token {
                Some(next) => token = next,
                None => break,
            }
        }
    }
    let mut out = Values::default();
    out.set("component_s", started.elapsed().as_secs_f64());
    out.set(
        "component_cpu_s",
        thread_cpu().saturating_sub(cpu_start).as_secs_f64(),
    );
    out.set("component_items", items as f64);
    out.set("guest_requests", instance.requests_sent() as f64);
    print!("{out}");
    Ok(())
}

/// A configured instance of `bytes` allowed to reach the server at `url` only,
/// and its metadata.
fn instantiate(bytes: &[u8], url: &str) -> Result<(ConnectorInstance, ConnectorMetadata)> {
    let runtime = Runtime::new()?;
    let component = runtime.load(bytes)?;
    let origin = Origin::of_url(url).map_err(|e| anyhow!(e))?;
    let policy = RunPolicy {
        egress: EgressPolicy {
            allowed: vec![origin],
        },
        ..Default::default()
    };
    let mut instance = component.instantiate(policy)?;
    let metadata = instance.metadata()?;
    let config = [
        ConfigValue {
            name: "scim-token".into(),
            value: TOKEN.into(),
        },
        ConfigValue {
            name: "base-url".into(),
            value: url.into(),
        },
    ];
    instance.configure(&metadata, &config)?;
    Ok((instance, metadata))
}

/// Measurement (c): loading the component in a fresh process, with the
/// host's compiled-component cache in `cache_dir` (empty at first).
///
/// Three loads, each on a new engine: without a cache (compile), with an empty
/// cache (compile and store, a first run), and from the cache (a later run).
pub fn load(cache_dir: &Path, component: Option<&Path>) -> Result<()> {
    let bytes = component_bytes(component)?;
    let mut out = Values::default();
    let started = Instant::now();
    let runtime = Runtime::new()?;
    out.set("engine_s", started.elapsed().as_secs_f64());
    let started = Instant::now();
    let component = runtime.load(&bytes)?;
    out.set("compile_s", started.elapsed().as_secs_f64());
    let started = Instant::now();
    component.instantiate(RunPolicy::default())?.metadata()?;
    out.set("instantiate_s", started.elapsed().as_secs_f64());
    drop((component, runtime));

    let cached = || -> Result<f64> {
        let started = Instant::now();
        let runtime = Runtime::new()?.with_cache(ComponentCache::new(cache_dir));
        runtime.load(&bytes)?;
        Ok(started.elapsed().as_secs_f64())
    };
    out.set("cache_miss_s", cached()?);
    out.set("cache_hit_s", cached()?);
    out.set("wasm_bytes", bytes.len() as f64);
    let cached_bytes: u64 = std::fs::read_dir(cache_dir)?
        .filter_map(|e| e.ok()?.metadata().ok())
        .map(|m| m.len())
        .sum();
    out.set("cwasm_bytes", cached_bytes as f64);
    print!("{out}");
    Ok(())
}

/// The embedded Notion component, or another build of it (`--component`).
fn component_bytes(path: Option<&Path>) -> Result<Vec<u8>> {
    match path {
        Some(p) => std::fs::read(p).with_context(|| format!("read {}", p.display())),
        None => Ok(NOTION_COMPONENT.to_vec()),
    }
}

/// Numbers keyed by name: what a child prints and the parent reads back.
#[derive(Debug, Default, Clone)]
pub struct Values(BTreeMap<String, f64>);

impl Values {
    pub fn set(&mut self, key: &str, value: f64) {
        self.0.insert(key.to_string(), value);
    }

    /// The value of `key`; a child that did not print it is a bug in this bench.
    pub fn get(&self, key: &str) -> f64 {
        match self.0.get(key) {
            Some(v) => *v,
            None => panic!("the child printed no `{key}`"),
        }
    }

    pub fn parse(text: &str) -> Result<Values> {
        let mut values = Values::default();
        for line in text.lines().filter(|l| !l.trim().is_empty()) {
            let (key, value) = line
                .split_once('=')
                .with_context(|| format!("child output line {line:?}"))?;
            let value = value
                .parse()
                .with_context(|| format!("child output line {line:?}"))?;
            values.set(key, value);
        }
        Ok(values)
    }
}

impl std::fmt::Display for Values {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        for (k, v) in &self.0 {
            writeln!(f, "{k}={v}")?;
        }
        Ok(())
    }
}

/// CPU time the calling thread has used; monotonic and precise to the
/// nanosecond, unlike the tick-granular counters in `/proc`.
fn thread_cpu() -> Duration {
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: clock_gettime writes only into the timespec it is given.
    let rc = unsafe { libc::clock_gettime(libc::CLOCK_THREAD_CPUTIME_ID, &mut ts) };
    if rc != 0 {
        return Duration::ZERO;
    }
    Duration::new(ts.tv_sec as u64, ts.tv_nsec as u32)
}

/// User plus system CPU time of this process, all threads.
pub fn process_cpu() -> Duration {
    // SAFETY: rusage is plain data, and getrusage writes only into it.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    // SAFETY: as above, with a `who` getrusage accepts.
    if unsafe { libc::getrusage(libc::RUSAGE_SELF, &mut usage) } != 0 {
        return Duration::ZERO;
    }
    let time = |t: libc::timeval| Duration::new(t.tv_sec as u64, t.tv_usec as u32 * 1000);
    time(usage.ru_utime) + time(usage.ru_stime)
}

/// A `kB` field of `/proc/self/status` (`VmHWM` is the peak resident set).
pub fn status_kib(field: &str) -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    status.lines().find_map(|line| {
        let value = line.strip_prefix(field)?.strip_prefix(':')?;
        value.trim().strip_suffix("kB")?.trim().parse().ok()
    })
}

/// Resident memory of the guest's linear memories. Wasmtime reserves each one
/// as several GiB of address space and makes only the memory's current size
/// accessible, so a linear memory is a read-write mapping directly followed by
/// a huge inaccessible one. A linear memory never shrinks, so after a run this
/// is also the guest's peak.
fn guest_rss_kib() -> u64 {
    const RESERVATION: u64 = 1 << 30;
    struct Mapping {
        start: u64,
        end: u64,
        readable: bool,
        rss_kib: u64,
    }
    let smaps = std::fs::read_to_string("/proc/self/smaps").unwrap_or_default();
    let mut maps: Vec<Mapping> = Vec::new();
    for line in smaps.lines() {
        let mut fields = line.split_whitespace();
        let first = fields.next().unwrap_or("");
        if let Some((start, end)) = first.split_once('-') {
            let (Ok(start), Ok(end)) =
                (u64::from_str_radix(start, 16), u64::from_str_radix(end, 16))
            else {
                continue;
            };
            let perms = fields.next().unwrap_or("");
            maps.push(Mapping {
                start,
                end,
                readable: perms.starts_with("rw"),
                rss_kib: 0,
            });
        } else if first == "Rss:" {
            if let (Some(m), Some(Ok(kib))) = (maps.last_mut(), fields.next().map(str::parse)) {
                m.rss_kib = kib;
            }
        }
    }
    maps.windows(2)
        .filter(|w| {
            let (memory, guard) = (&w[0], &w[1]);
            memory.readable
                && !guard.readable
                && guard.start == memory.end
                && guard.end - guard.start >= RESERVATION
        })
        .map(|w| w[0].rss_kib)
        .sum()
}

/// Resets `VmHWM` to the current RSS (Linux ≥ 4.0); `false` where not allowed.
fn reset_peak_rss() -> bool {
    std::fs::write("/proc/self/clear_refs", "5").is_ok()
}
