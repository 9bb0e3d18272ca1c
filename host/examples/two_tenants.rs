//! Embedding the host: two tenants synced at once in one process.
//!
//! One `Runtime` (engine, linker) and one compiled component are shared; each
//! sync gets its own instance, store, token and egress allow-list, so neither
//! tenant's connector can reach the other's server.
//!
//! ```sh
//! cargo run -p baton-host --example two_tenants
//! ```

use std::path::Path;

use anyhow::Context;
use baton_host::bindings::types::ConfigValue;
use baton_host::runtime::{
    ConnectorComponent, EgressPolicy, Origin, RunPolicy, Runtime, NOTION_COMPONENT,
};
use baton_host::sync::SyncRun;
use notion_scim_test_server::{Config, TestServer};

/// Syncs one tenant into `target`; the guest may only reach `base_url`'s origin.
fn sync_tenant(
    component: &ConnectorComponent,
    base_url: &str,
    token: &str,
    target: &Path,
) -> anyhow::Result<String> {
    let policy = RunPolicy {
        egress: EgressPolicy {
            allowed: vec![Origin::of_url(base_url).map_err(anyhow::Error::msg)?],
        },
        ..Default::default()
    };
    let mut instance = component.instantiate(policy)?;
    let metadata = instance.metadata()?;
    let config = [("scim-token", token), ("base-url", base_url)].map(|(name, value)| ConfigValue {
        name: name.into(),
        value: value.into(),
    });
    instance.configure(&metadata, &config)?;
    instance.validate()?;
    let mut pages = 0;
    let mut on_page = |_: &baton_host::sync::PageEvent<'_>| pages += 1;
    let report = SyncRun::new(&mut instance, &metadata, target)?
        .with_observer(&mut on_page)
        .run()?;
    let c = report.summary.counts;
    Ok(format!(
        "{}: {} resources, {} entitlements, {} grants in {pages} pages",
        target.display(),
        c.resources,
        c.entitlements,
        c.grants
    ))
}

fn main() -> anyhow::Result<()> {
    let tenant = |token: &str, users, seed| {
        TestServer::start(Config {
            token: token.into(),
            users,
            groups: 4,
            seed,
        })
        .context("start a test-server")
    };
    let (a, b) = (tenant("token-a", 300, 1)?, tenant("token-b", 120, 2)?);
    let runtime = Runtime::new()?;
    let component = runtime.load(NOTION_COMPONENT)?;
    let dir = tempfile::tempdir()?;

    let results = std::thread::scope(|s| {
        let jobs =
            [(&a, "token-a", "a.c1z"), (&b, "token-b", "b.c1z")].map(|(server, token, file)| {
                let (component, target) = (&component, dir.path().join(file));
                s.spawn(move || sync_tenant(component, &server.base_url(), token, &target))
            });
        jobs.map(|j| j.join().expect("the sync thread does not panic"))
    });
    for result in results {
        println!("{}", result?);
    }
    Ok(())
}
