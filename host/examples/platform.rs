//! Embedding the host as a platform does: several tenants synced at once in one process,
//! under process-wide budgets, one of them cancelled, their progress read while they
//! run, and every log line and error named by the tenant.
//!
//! One `Runtime` (engine, linker, budgets) and one compiled component are shared; each
//! sync gets its own instance, store, token and egress allow-list, so no tenant's
//! connector can reach another's server. Each sync is a task (`sync::spawn`) on a tokio
//! runtime of two threads: waiting on its pace, a sync holds none.
//!
//! ```sh
//! cargo run -p baton-host --example platform
//! ```

use std::time::Duration;

use anyhow::Context;
use baton_host::bindings::types::ConfigValue;
use baton_host::runtime::{
    ConnectorComponent, EgressPolicy, Origin, RateLimiter, RunPolicy, Runtime, RuntimeError,
    RuntimeOptions, NOTION_COMPONENT,
};
use baton_host::sync::{spawn, SyncError, SyncHandle, SyncJob};
use notion_scim_test_server::{Config, Fault, FaultRule, TestServer};

/// One tenant's workspace: here a test-server, in a platform a Notion tenant.
struct Tenant {
    label: String,
    server: TestServer,
    token: String,
}

/// Prepares `tenant`'s instance (labelled with the tenant, paced at 5 requests a
/// second) and starts its sync as a task.
async fn start(
    component: &ConnectorComponent,
    tenant: &Tenant,
    dir: &std::path::Path,
) -> anyhow::Result<SyncHandle> {
    let url = tenant.server.base_url();
    let policy = RunPolicy {
        egress: EgressPolicy {
            allowed: vec![Origin::of_url(&url).map_err(anyhow::Error::msg)?],
        },
        rate_limit: RateLimiter::new(5.0, 1),
        label: Some(tenant.label.clone()),
        ..Default::default()
    };
    let mut instance = component.instantiate_async(policy).await?;
    let metadata = instance.metadata_async().await?;
    let config =
        [("scim-token", tenant.token.as_str()), ("base-url", &url)].map(|(name, value)| {
            ConfigValue {
                name: name.into(),
                value: value.into(),
            }
        });
    instance.configure_async(&metadata, &config).await?;
    let target = dir.join(format!("{}.c1z", tenant.label));
    Ok(spawn(SyncJob::new(instance, metadata, target)))
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

    // Every sync is a task on two threads; at most 3 runs and 6 requests in flight
    // across all tenants: the fourth run waits for its turn, holding no thread.
    let threads = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()?;
    let runtime = Runtime::with_options(&RuntimeOptions {
        max_runs_in_progress: Some(3),
        max_requests_in_flight: Some(6),
        ..Default::default()
    })?;
    let component = runtime.load(NOTION_COMPONENT)?;
    let dir = tempfile::tempdir()?;

    let results = threads.block_on(async {
        let mut handles = Vec::new();
        for tenant in &tenants {
            handles.push(start(&component, tenant, dir.path()).await?);
        }
        // The platform's loop: watch progress, and cancel tenant-2 once it is under way.
        while !handles.iter().all(SyncHandle::is_finished) {
            tokio::time::sleep(Duration::from_millis(100)).await;
            if handles[2].progress().pages >= 1 {
                handles[2].cancel();
            }
            let line: Vec<String> = tenants
                .iter()
                .zip(&handles)
                .map(|(t, h)| {
                    let p = h.progress();
                    format!(
                        "{} {} pages, {} requests ({} retried)",
                        t.label, p.pages, p.requests, p.retries
                    )
                })
                .collect();
            println!("progress: {}", line.join("; "));
        }
        let mut results = Vec::new();
        for handle in handles {
            results.push(handle.wait().await);
        }
        anyhow::Ok(results)
    })?;

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
                        SyncError::Runtime(RuntimeError::Cancelled { .. })
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
