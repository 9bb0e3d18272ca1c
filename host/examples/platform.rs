//! Embedding the host as a platform does: several tenants synced at once in one process,
//! under process-wide budgets, one of them cancelled, their progress read while they
//! run, and every log line and error named by the tenant.
//!
//! One `Runtime` (engine, linker, budgets) and one compiled component are shared; each
//! sync gets its own instance, store, token and egress allow-list, so no tenant's
//! connector can reach another's server.
//!
//! ```sh
//! cargo run -p baton-host --example platform
//! ```

use std::path::Path;
use std::time::Duration;

use anyhow::Context;
use baton_host::bindings::types::ConfigValue;
use baton_host::runtime::{
    Canceller, ConnectorComponent, EgressPolicy, Origin, RateLimiter, RunPolicy, Runtime,
    RuntimeOptions, NOTION_COMPONENT,
};
use baton_host::sync::{SyncError, SyncProgress, SyncReport, SyncRun};
use notion_scim_test_server::{Config, Fault, FaultRule, TestServer};

/// One tenant's workspace: here a test-server, in a platform a Notion tenant.
struct Tenant {
    label: String,
    server: TestServer,
    token: String,
}

/// A started sync, as the platform keeps it: how to stop it and where it stands.
struct Running {
    label: String,
    canceller: Canceller,
    progress: SyncProgress,
}

/// Syncs `tenant` into `target`, labelled with the tenant, paced at 5 requests a second.
/// Hands the platform its canceller and progress as soon as the sync is prepared.
fn sync_tenant(
    component: &ConnectorComponent,
    tenant: &Tenant,
    target: &Path,
    started: &std::sync::mpsc::Sender<Running>,
) -> Result<SyncReport, SyncError> {
    let url = tenant.server.base_url();
    let policy = RunPolicy {
        egress: EgressPolicy {
            allowed: vec![Origin::of_url(&url).expect("a loopback URL")],
        },
        rate_limit: RateLimiter::new(5.0, 1),
        label: Some(tenant.label.clone()),
        ..Default::default()
    };
    let mut instance = component.instantiate(policy)?;
    let metadata = instance.metadata()?;
    let config =
        [("scim-token", tenant.token.as_str()), ("base-url", &url)].map(|(name, value)| {
            ConfigValue {
                name: name.into(),
                value: value.into(),
            }
        });
    instance.configure(&metadata, &config)?;
    let canceller = instance.canceller();
    let sync = SyncRun::new(&mut instance, &metadata, target)?;
    let _ = started.send(Running {
        label: tenant.label.clone(),
        canceller,
        progress: sync.progress(),
    });
    sync.run()
}

fn main() -> anyhow::Result<()> {
    // Log lines carry the run span, so each names its tenant (try RUST_LOG=info).
    tracing_subscriber::fmt()
        .with_env_filter(std::env::var("RUST_LOG").unwrap_or_else(|_| "warn".into()))
        .with_writer(std::io::stderr)
        .init();
    let tenants: Vec<Tenant> = [(400, 1), (150, 2), (300, 3), (80, 4)]
        .into_iter()
        .enumerate()
        .map(|(i, (users, seed))| {
            let token = format!("token-{i}");
            let server = TestServer::start(Config {
                token: token.clone(),
                users,
                groups: 4,
                seed,
            })
            .context("start a test-server")?;
            Ok(Tenant {
                label: format!("tenant-{i}"),
                server,
                token,
            })
        })
        .collect::<anyhow::Result<_>>()?;
    // tenant-1's workspace answers one request with a 503: its retry warning names it.
    tenants[1]
        .server
        .add_fault(FaultRule::new(Fault::Status(503), 2, Some(1)));

    // At most 3 runs and 6 requests in flight across all tenants; the fourth run waits.
    let runtime = Runtime::with_options(&RuntimeOptions {
        max_runs_in_progress: Some(3),
        max_requests_in_flight: Some(6),
        ..Default::default()
    })?;
    let component = runtime.load(NOTION_COMPONENT)?;
    let dir = tempfile::tempdir()?;
    let (started, running) = std::sync::mpsc::channel();

    let results = std::thread::scope(|s| {
        let jobs: Vec<_> = tenants
            .iter()
            .map(|tenant| {
                let (component, started) = (&component, started.clone());
                let target = dir.path().join(format!("{}.c1z", tenant.label));
                s.spawn(move || sync_tenant(component, tenant, &target, &started))
            })
            .collect();
        drop(started);
        let mut watched: Vec<Running> = Vec::new();
        // The platform's loop: watch progress, and cancel tenant-2 once it is under way.
        for _ in 0..600 {
            std::thread::sleep(Duration::from_millis(100));
            // A run beyond the budget shows up once it has its turn.
            watched.extend(running.try_iter());
            for run in &watched {
                let p = run.progress.snapshot();
                if run.label == "tenant-2" && p.pages >= 1 {
                    run.canceller.cancel();
                }
            }
            if jobs.iter().all(|j| j.is_finished()) {
                break;
            }
            let line: Vec<String> = watched
                .iter()
                .map(|r| {
                    let p = r.progress.snapshot();
                    format!(
                        "{} {} pages, {} requests ({} retried)",
                        r.label, p.pages, p.requests, p.retries
                    )
                })
                .collect();
            println!("progress: {}", line.join("; "));
        }
        jobs.into_iter()
            .map(|j| j.join().expect("the sync thread does not panic"))
            .collect::<Vec<_>>()
    });

    let mut cancelled = 0;
    for (tenant, result) in tenants.iter().zip(results) {
        match result {
            Ok(report) => {
                let c = report.summary.counts;
                println!(
                    "{}: {} resources, {} entitlements, {} grants",
                    tenant.label, c.resources, c.entitlements, c.grants
                );
            }
            // The error names the tenant itself.
            Err(e) => {
                println!("error: {e}");
                if let SyncError::Stopped { cause, .. } = e.unlabelled() {
                    cancelled += usize::from(matches!(
                        **cause,
                        SyncError::Runtime(baton_host::runtime::RuntimeError::Cancelled { .. })
                    ));
                }
            }
        }
    }
    anyhow::ensure!(
        cancelled == 1,
        "tenant-2 was cancelled and saved its progress"
    );
    Ok(())
}
