//! Integration tests: the real Notion component, run by the real host,
//! against the test-server started in-process on an ephemeral port.

mod bad_input;
mod bench_smoke;
mod c1z_writer;
mod cli;
mod cli_flags;
mod embedding;
mod external;
mod history;
mod interrupt;
mod provision;
mod reader;
mod reader_diff;
mod reader_help;
mod reader_principals;
mod reliability;
mod resume;
mod sandbox;
mod sync;
mod telemetry;

use std::path::Path;

use baton_host::bindings::types::{ConfigValue, ConnectorMetadata};
use baton_host::runtime::{
    ConnectorInstance, EgressPolicy, Origin, RunPolicy, Runtime, NOTION_COMPONENT,
};
use baton_host::sync::{SyncError, SyncReport, SyncRun};
use notion_scim_test_server::{Config, TestServer};

/// The token every test-server in these tests accepts.
pub const TOKEN: &str = "integration-secret-token";

/// Starts a test-server with `users` users and `groups` groups.
pub fn server(users: usize, groups: usize) -> TestServer {
    TestServer::start(Config {
        token: TOKEN.into(),
        users,
        groups,
        seed: 7,
    })
    .expect("test-server starts")
}

/// A configured instance of the embedded Notion component pointed at `base_url`.
pub fn notion(base_url: &str, token: &str) -> (ConnectorInstance, ConnectorMetadata) {
    notion_with(base_url, token, |_| {})
}

/// Like [`notion`], with the run policy changed by `tune`.
pub fn notion_with(
    base_url: &str,
    token: &str,
    tune: impl FnOnce(&mut RunPolicy),
) -> (ConnectorInstance, ConnectorMetadata) {
    let runtime = Runtime::new().expect("runtime");
    let component = runtime
        .load(NOTION_COMPONENT)
        .expect("embedded component loads");
    let mut policy = RunPolicy {
        egress: EgressPolicy {
            allowed: vec![Origin::of_url(base_url).unwrap()],
        },
        ..Default::default()
    };
    tune(&mut policy);
    let mut instance = component.instantiate(policy).expect("instantiates");
    let metadata = instance.metadata().expect("metadata");
    let config = notion_config(token, base_url);
    instance
        .configure(&metadata, &config)
        .expect("configure accepts the config");
    (instance, metadata)
}

/// The Notion component's configuration for a tenant at `base_url`.
pub fn notion_config(token: &str, base_url: &str) -> Vec<ConfigValue> {
    [("scim-token", token), ("base-url", base_url)]
        .map(|(name, value)| ConfigValue {
            name: name.into(),
            value: value.into(),
        })
        .to_vec()
}

/// Validates and syncs into `target`, as the CLI does.
pub fn sync_into(server: &TestServer, target: &Path) -> Result<SyncReport, SyncError> {
    let (mut instance, metadata) = notion(&server.base_url(), TOKEN);
    instance.validate()?;
    SyncRun::new(&mut instance, &metadata, target)?.run()
}

/// Runs the independent validator `tests/tools/c1z_check.py` on a c1z and
/// returns its JSON report (with per-object lists when `lists`). Missing
/// tooling fails the test: a silent skip would hide format regressions.
pub fn c1z_check(path: &Path, lists: bool) -> serde_json::Value {
    let checker = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/tools/c1z_check.py");
    let mut cmd = std::process::Command::new("python3");
    cmd.arg(checker).arg(path);
    if !lists {
        cmd.arg("--no-lists");
    }
    let out = cmd
        .output()
        .expect("python3 is needed to run tests/tools/c1z_check.py");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        !stderr.contains("No module named 'zstandard'"),
        "run `pip install zstandard` (scripts/setup.sh does) so c1z_check.py can run"
    );
    assert!(
        out.status.success(),
        "c1z_check.py rejected {}:\n{stderr}",
        path.display()
    );
    serde_json::from_slice(&out.stdout).expect("c1z_check.py prints JSON")
}
