//! Attribution (issue 16): every line logged for a labelled run carries its label, the
//! HTTP client's retry warnings included, though they are logged from tokio's threads.
//! A test binary of its own: it installs the process-wide subscriber to see those lines.

use std::io::Write;
use std::sync::{Arc, Mutex};

use baton_host::bindings::types::ConfigValue;
use baton_host::runtime::{
    ConnectorComponent, EgressPolicy, Origin, RunPolicy, Runtime, NOTION_COMPONENT,
};
use baton_host::sync::SyncRun;
use notion_scim_test_server::{Config, Fault, FaultRule, TestServer};
use serde_json::Value;

/// Log lines written by the subscriber, shared with the test.
#[derive(Clone, Default)]
struct Captured(Arc<Mutex<Vec<u8>>>);

impl Write for Captured {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

fn sync(component: &ConnectorComponent, server: &TestServer, token: &str, label: Option<&str>) {
    let url = server.base_url();
    let policy = RunPolicy {
        egress: EgressPolicy {
            allowed: vec![Origin::of_url(&url).unwrap()],
        },
        label: label.map(str::to_string),
        ..Default::default()
    };
    let mut instance = component.instantiate(policy).unwrap();
    let metadata = instance.metadata().unwrap();
    let config =
        [("scim-token", token), ("base-url", url.as_str())].map(|(name, value)| ConfigValue {
            name: name.into(),
            value: value.into(),
        });
    instance.configure(&metadata, &config).unwrap();
    instance.validate().unwrap();
    let dir = tempfile::tempdir().unwrap();
    SyncRun::new(&mut instance, &metadata, &dir.path().join("sync.c1z"))
        .unwrap()
        .run()
        .unwrap();
}

#[test]
fn every_line_of_a_labelled_run_carries_its_label() {
    let captured = Captured::default();
    let sink = captured.clone();
    tracing_subscriber::fmt()
        .json()
        .with_env_filter("baton_host=debug,connector=debug")
        .with_writer(move || sink.clone())
        .init();
    let runtime = Runtime::new().unwrap();
    let component = runtime.load(NOTION_COMPONENT).unwrap();

    let servers: Vec<TestServer> = ["token-a", "token-b"]
        .iter()
        .map(|token| {
            TestServer::start(Config {
                token: token.to_string(),
                users: 250,
                groups: 3,
                seed: 1,
            })
            .unwrap()
        })
        .collect();
    for server in &servers {
        // The second list request fails once with a 503: the client retries it.
        server.add_fault(FaultRule::new(Fault::Status(503), 3, Some(1)));
    }
    // Two tenants at once, so that a line could be attributed to the wrong one.
    std::thread::scope(|s| {
        s.spawn(|| sync(&component, &servers[0], "token-a", Some("tenant-a")));
        s.spawn(|| sync(&component, &servers[1], "token-b", Some("tenant-b")));
    });

    let text = String::from_utf8(captured.0.lock().unwrap().clone()).unwrap();
    let lines: Vec<Value> = text
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l}")))
        .collect();
    let label = |line: &Value| line["span"]["label"].as_str().map(str::to_string);
    let of = |message: &str| -> Vec<&Value> {
        lines
            .iter()
            .filter(|l| l["fields"]["message"] == message)
            .collect()
    };
    for (message, per_run) in [
        ("retrying a request after a transient failure", 1),
        ("synced resource type", 3),
        ("request", 5),
    ] {
        let found = of(message);
        for tenant in ["tenant-a", "tenant-b"] {
            let mine = found
                .iter()
                .filter(|l| label(l).as_deref() == Some(tenant))
                .count();
            assert!(
                mine >= per_run,
                "{tenant}: {mine} lines `{message}`:\n{found:#?}"
            );
        }
        assert!(
            found.iter().all(|l| label(l).is_some()),
            "every `{message}` line is labelled: {found:#?}"
        );
    }
    // The retry warning names the request the tenant's own server failed.
    for line in of("retrying a request after a transient failure") {
        assert_eq!(line["fields"]["failure"], "HTTP 503", "{line}");
    }
    // Lines of the run outside any call are labelled too; nothing of a run is unlabelled
    // but the runtime's own set-up.
    let unlabelled: Vec<&Value> = lines
        .iter()
        .filter(|l| label(l).is_none())
        .filter(|l| l["target"] != "baton_host::runtime::cache")
        .collect();
    assert!(unlabelled.is_empty(), "unlabelled lines: {unlabelled:#?}");
}
