//! The host as a library: one engine and component shared by concurrent
//! runs, each confined to its own tenant.

use baton_host::bindings::types::ConfigValue;
use baton_host::runtime::{EgressPolicy, Origin, RunPolicy, Runtime, NOTION_COMPONENT};
use baton_host::sync::SyncRun;
use notion_scim_test_server::{Config, TestServer};

fn tenant(token: &str, users: usize) -> TestServer {
    TestServer::start(Config {
        token: token.into(),
        users,
        groups: 3,
        seed: users as u64,
    })
    .unwrap()
}

fn config(token: &str, base_url: &str) -> Vec<ConfigValue> {
    [("scim-token", token), ("base-url", base_url)]
        .map(|(name, value)| ConfigValue {
            name: name.into(),
            value: value.into(),
        })
        .to_vec()
}

fn only(base_url: &str) -> RunPolicy {
    RunPolicy {
        egress: EgressPolicy {
            allowed: vec![Origin::of_url(base_url).unwrap()],
        },
        ..Default::default()
    }
}

#[test]
fn two_tenants_sync_concurrently_from_one_compiled_component() {
    let (a, b) = (tenant("token-a", 230), tenant("token-b", 40));
    let runtime = Runtime::new().unwrap();
    let component = runtime.load(NOTION_COMPONENT).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let counts = std::thread::scope(|s| {
        let jobs = [(&a, "token-a"), (&b, "token-b")].map(|(server, token)| {
            let component = &component;
            let target = dir.path().join(format!("{token}.c1z"));
            s.spawn(move || {
                let mut instance = component.instantiate(only(&server.base_url())).unwrap();
                let metadata = instance.metadata().unwrap();
                instance
                    .configure(&metadata, &config(token, &server.base_url()))
                    .unwrap();
                instance.validate().unwrap();
                let report = SyncRun::new(&mut instance, &metadata, &target)
                    .unwrap()
                    .run()
                    .unwrap();
                report.summary.counts.resources
            })
        });
        jobs.map(|j| j.join().unwrap())
    });
    // Users + groups + the four roles of each tenant.
    assert_eq!(counts, [230 + 3 + 4, 40 + 3 + 4]);
    assert_eq!(a.request_count(), 1 + 3 + 1);
    assert_eq!(b.request_count(), 1 + 1 + 1);
}

#[test]
fn a_tenant_cannot_reach_the_other_tenants_server() {
    let (a, b) = (tenant("token-a", 5), tenant("token-b", 5));
    let runtime = Runtime::new().unwrap();
    let component = runtime.load(NOTION_COMPONENT).unwrap();
    // Allowed to reach A only, but configured (say, by a hostile config) to call B.
    let mut instance = component.instantiate(only(&a.base_url())).unwrap();
    let metadata = instance.metadata().unwrap();
    instance
        .configure(&metadata, &config("token-a", &b.base_url()))
        .unwrap();
    let err = instance.validate().unwrap_err().to_string();
    let b_origin = b.base_url().trim_end_matches("/scim/v2").to_string();
    assert!(
        err.contains(b_origin.trim_start_matches("http://")),
        "the refused origin is named: {err}"
    );
    assert_eq!(b.request_count(), 0, "nothing reached B");
    assert_eq!(a.request_count(), 0);
}

/// An embedder prepares instances ahead and queues them: the wait spends
/// none of the run limit, which starts at the first call.
#[test]
fn a_queued_instance_keeps_its_whole_run_limit() {
    let runtime = Runtime::new().unwrap();
    let component = runtime.load(NOTION_COMPONENT).unwrap();
    let policy = RunPolicy {
        run_timeout: std::time::Duration::from_millis(500),
        ..Default::default()
    };
    let mut instance = component.instantiate(policy).unwrap();
    std::thread::sleep(std::time::Duration::from_millis(800));
    instance
        .metadata()
        .expect("the run limit counts from the first call, not from instantiation");
}
