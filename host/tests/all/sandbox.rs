//! Hostile components against the sandbox.
//!
//! `test-components/hostile` attacks the host in the way its config `mode`
//! says. Each test first syncs the real Notion component into a c1z, then
//! runs one attack into the same file and asserts the exact error, that the
//! previous c1z is byte for byte what it was with no temp file left next to
//! it, and that the host survived: a normal sync in the same process works.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;
use std::time::Duration;

use baton_host::bindings::types::ConfigValue;
use baton_host::runtime::{
    ConnectorComponent, EgressPolicy, Limit, Origin, RunPolicy, Runtime, RuntimeError,
    NOTION_COMPONENT,
};
use baton_host::sync::{SyncError, SyncRun};
use notion_scim_test_server::TestServer;
use tempfile::TempDir;

use crate::{server, sync_into, TOKEN};

/// Where the fixtures are built: a target dir of their own, so that the
/// build does not wait for the lock that the running `cargo test` holds.
fn fixture_dir() -> &'static Path {
    static BUILT: OnceLock<PathBuf> = OnceLock::new();
    BUILT.get_or_init(|| {
        let workspace = Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap();
        let target_dir = workspace.join("target").join("test-components");
        let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
        let out = Command::new(cargo)
            .current_dir(workspace)
            .args(["build", "--release", "--target", "wasm32-wasip2"])
            .args(["-p", "baton-hostile-connector"])
            .args(["-p", "baton-future-contract-connector"])
            .arg("--target-dir")
            .arg(&target_dir)
            // The outer build's flags are for the host target, not for wasm.
            .env_remove("CARGO_ENCODED_RUSTFLAGS")
            .env_remove("RUSTFLAGS")
            .env_remove("CARGO_BUILD_TARGET")
            .env_remove("CARGO_TARGET_DIR")
            .output()
            .expect("cargo runs");
        assert!(
            out.status.success(),
            "building the test components failed:\n{}",
            String::from_utf8_lossy(&out.stderr)
        );
        target_dir.join("wasm32-wasip2").join("release")
    })
}

/// The hostile component, compiled once for all tests by one runtime.
fn hostile() -> &'static ConnectorComponent {
    static LOADED: OnceLock<ConnectorComponent> = OnceLock::new();
    LOADED.get_or_init(|| {
        let bytes = std::fs::read(fixture_dir().join("baton_hostile_connector.wasm")).unwrap();
        let runtime = Runtime::new().expect("runtime");
        runtime.load(&bytes).expect("the hostile component loads")
    })
}

/// Small limits, so that every attack ends within a few seconds.
fn policy(server: &TestServer) -> RunPolicy {
    RunPolicy {
        egress: EgressPolicy {
            allowed: vec![Origin::of_url(&server.base_url()).unwrap()],
        },
        request_timeout: Duration::from_secs(1),
        memory_limit: 64 << 20,
        call_timeout: Duration::from_secs(1),
        run_timeout: Duration::from_secs(30),
        ..Default::default()
    }
}

/// A test-server, and a c1z that a good sync wrote before the attack.
struct Scene {
    server: TestServer,
    _dir: TempDir,
    c1z: PathBuf,
    before: Vec<u8>,
}

impl Scene {
    fn new() -> Scene {
        let server = server(5, 2);
        let dir = tempfile::tempdir().unwrap();
        let c1z = dir.path().join("sync.c1z");
        sync_into(&server, &c1z).expect("the good sync before the attack");
        let before = std::fs::read(&c1z).unwrap();
        Scene {
            server,
            _dir: dir,
            c1z,
            before,
        }
    }

    /// Runs the hostile component in `mode` through a whole sync into the c1z.
    fn attack(&self, mode: &str, policy: RunPolicy, target: &str) -> SyncError {
        let mut instance = hostile().instantiate(policy).expect("instantiates");
        let metadata = instance.metadata().expect("metadata");
        let config = [("mode", mode), ("base-url", &self.server.base_url()), ("target", target)]
            .map(|(name, value)| ConfigValue {
                name: name.into(),
                value: value.into(),
            });
        instance.configure(&metadata, &config).expect("configure");
        instance.validate().expect("validate");
        let run = SyncRun::new(&mut instance, &metadata, &self.c1z).expect("sync starts");
        match run.run() {
            Ok(report) => panic!("the `{mode}` attack succeeded: {report:?}"),
            Err(e) => e,
        }
    }

    /// The previous c1z is untouched, nothing is left next to it, and the
    /// host still syncs.
    fn assert_survived(self) {
        let after = std::fs::read(&self.c1z).unwrap();
        assert!(after == self.before, "the previous c1z was replaced");
        let dir = self.c1z.parent().unwrap();
        let names: Vec<String> = std::fs::read_dir(dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        assert_eq!(names, ["sync.c1z"], "a temp file was left behind");
        sync_into(&self.server, &self.c1z).expect("a good sync after the attack");
    }
}

/// The runtime error inside a sync error.
fn runtime(err: SyncError) -> RuntimeError {
    match err {
        SyncError::Runtime(e) => e,
        other => panic!("not a runtime error: {other:?}"),
    }
}

/// Asserts that `err` is `limit` broken in `list-resources`, with `message`.
fn assert_limit(err: SyncError, limit: Limit, message: &str) {
    let err = runtime(err);
    assert_eq!(err.to_string(), message);
    match err {
        RuntimeError::Limit { call, limit: got } => {
            assert_eq!((call, got), ("list-resources", limit));
        }
        other => panic!("not a limit error: {other:?}"),
    }
}

#[test]
fn a_guest_that_loops_forever_is_stopped_at_the_call_time_limit() {
    let scene = Scene::new();
    let err = scene.attack("spin", policy(&scene.server), "");
    assert_limit(
        err,
        Limit::CallTime {
            limit: Duration::from_secs(1),
        },
        "the connector exceeded its time limit of 1 s per call in `list-resources`",
    );
    scene.assert_survived();
}

#[test]
fn a_guest_that_sleeps_in_the_host_is_stopped_at_the_call_time_limit() {
    let scene = Scene::new();
    let started = std::time::Instant::now();
    let err = scene.attack("sleep", policy(&scene.server), "");
    assert!(started.elapsed() < Duration::from_secs(10));
    assert_limit(
        err,
        Limit::CallTime {
            limit: Duration::from_secs(1),
        },
        "the connector exceeded its time limit of 1 s per call in `list-resources`",
    );
    scene.assert_survived();
}

#[test]
fn a_guest_that_allocates_without_bound_is_stopped_at_the_memory_limit() {
    let scene = Scene::new();
    let err = scene.attack("alloc", policy(&scene.server), "");
    let message = "the connector exceeded its memory limit of 64 MiB in `list-resources`";
    assert_limit(err, Limit::Memory { bytes: 64 << 20 }, message);
    scene.assert_survived();
}

#[test]
fn a_huge_page_is_stopped_at_the_memory_limit() {
    let scene = Scene::new();
    let err = scene.attack("huge-page", policy(&scene.server), "");
    let message = "the connector exceeded its memory limit of 64 MiB in `list-resources`";
    assert_limit(err, Limit::Memory { bytes: 64 << 20 }, message);
    scene.assert_survived();
}

#[test]
fn endless_garbage_page_tokens_are_stopped_at_the_run_time_limit() {
    let scene = Scene::new();
    let policy = RunPolicy {
        run_timeout: Duration::from_secs(2),
        ..policy(&scene.server)
    };
    let err = scene.attack("endless-tokens", policy, "");
    assert_limit(
        err,
        Limit::RunTime {
            limit: Duration::from_secs(2),
        },
        "the connector exceeded its time limit of 2 s per run in `list-resources`",
    );
    scene.assert_survived();
}

#[test]
fn a_page_token_handed_back_unchanged_is_refused() {
    let scene = Scene::new();
    let err = scene.attack("repeat-token", policy(&scene.server), "");
    assert!(matches!(err, SyncError::Contract(_)), "{err:?}");
    assert_eq!(
        err.to_string(),
        "the connector broke the contract: list-resources returned the page token \
         it was given (`same`); the listing would never end"
    );
    scene.assert_survived();
}

#[test]
fn a_panic_on_the_second_page_is_reported_as_a_crash() {
    let scene = Scene::new();
    let err = runtime(scene.attack("panic", policy(&scene.server), ""));
    let RuntimeError::Trap { call, reason } = &err else {
        panic!("not a trap: {err:?}");
    };
    assert_eq!(*call, "list-resources");
    assert!(
        reason.contains("wasm `unreachable` instruction executed"),
        "{reason}"
    );
    assert!(
        reason.contains("hostile connector panicked on page 2"),
        "{reason}"
    );
    scene.assert_survived();
}

#[test]
fn a_request_to_another_origin_is_refused_and_named() {
    let scene = Scene::new();
    let other = server(1, 0);
    let origin = format!("http://{}", other.addr());
    let err = runtime(scene.attack("egress", policy(&scene.server), &other.base_url()));
    assert_eq!(
        err.to_string(),
        format!(
            "the connector tried to reach {origin} in `list-resources`, \
             which is not on the egress allow-list"
        )
    );
    assert!(
        matches!(&err, RuntimeError::Egress { call: "list-resources", origin: o } if *o == origin),
        "{err:?}"
    );
    assert_eq!(other.request_count(), 0, "no request reached the other server");
    scene.assert_survived();
}

#[test]
fn the_guest_is_told_which_origin_was_refused() {
    let scene = Scene::new();
    let mut instance = hostile().instantiate(policy(&scene.server)).unwrap();
    let metadata = instance.metadata().unwrap();
    let config = [("mode", "egress-swallow"), ("target", "http://10.255.255.1/x")].map(
        |(name, value)| ConfigValue {
            name: name.into(),
            value: value.into(),
        },
    );
    instance.configure(&metadata, &config).unwrap();
    // The guest swallowed the refusal, so the call itself succeeds.
    let page = instance.list_resources("thing", None, "").unwrap();
    assert_eq!(
        page.resources[0].description,
        "egress to http://10.255.255.1:80 is not allowed by the host"
    );
    assert_eq!(instance.requests_sent(), 0);
}

#[test]
fn the_guest_sees_no_environment_files_or_sockets() {
    let scene = Scene::new();
    let target = scene.server.base_url();
    let err = runtime(scene.attack("probe", policy(&scene.server), &target));
    let error = err.connector_error().expect("the guest reports what it saw");
    let authority = scene.server.addr();
    assert_eq!(
        error.message,
        format!(
            "env: 0 variables, HOME Err(\"environment variable not found\"); args: 0; \
             cwd: Err(Unsupported); /etc/passwd: Err(NotFound); /: Err(NotFound); \
             tcp {authority}: Err(PermissionDenied)"
        )
    );
    scene.assert_survived();
}

#[test]
fn requests_in_flight_are_capped() {
    let scene = Scene::new();
    let err = scene.attack("concurrent", policy(&scene.server), "");
    assert_limit(
        err,
        Limit::ConcurrentRequests { requests: 4 },
        "the connector exceeded its limit of 4 concurrent requests in `list-resources`",
    );
    scene.assert_survived();
}

#[test]
fn an_oversized_response_body_is_cut_off_at_the_limit() {
    // The real Notion component, with a limit that a page of users exceeds.
    let scene = Scene::new();
    let base_url = scene.server.base_url();
    let component = Runtime::new().unwrap().load(NOTION_COMPONENT).unwrap();
    let policy = RunPolicy {
        response_body_limit: 2 << 10,
        ..policy(&scene.server)
    };
    let mut instance = component.instantiate(policy).unwrap();
    let metadata = instance.metadata().unwrap();
    let config = [("scim-token", TOKEN), ("base-url", base_url.as_str())].map(|(name, value)| {
        ConfigValue {
            name: name.into(),
            value: value.into(),
        }
    });
    instance.configure(&metadata, &config).unwrap();
    let run = SyncRun::new(&mut instance, &metadata, &scene.c1z).unwrap();
    let err = run.run().unwrap_err();
    assert_limit(
        err,
        Limit::ResponseBody { bytes: 2 << 10 },
        "the connector exceeded its response body limit of 2 KiB in `list-resources`",
    );
    scene.assert_survived();
}

#[test]
fn a_component_built_for_another_contract_version_is_refused_at_load() {
    let bytes =
        std::fs::read(fixture_dir().join("baton_future_contract_connector.wasm")).unwrap();
    let err = Runtime::new().unwrap().load(&bytes).err().expect("refused");
    assert!(
        matches!(&err, RuntimeError::ContractVersion { component, host }
            if component == "0.2.0" && host == "0.1.0"),
        "{err:?}"
    );
    assert_eq!(
        err.to_string(),
        "the component implements baton:connector@0.2.0, but this host implements \
         baton:connector@0.1.0"
    );
}
