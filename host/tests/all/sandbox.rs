//! Hostile components against the sandbox.
//!
//! `test-components/hostile` attacks the host in the way its config `mode`
//! says. Each test first syncs the real Notion component into a c1z, then
//! runs one attack into the same file and asserts the exact error, that the
//! previous c1z is byte for byte what it was with no temp file left next to
//! it, and that the host survived: a normal sync in the same process works.

mod bounds;
mod deadlines;
mod integrity;
mod scene;
mod secrets;
mod traps;
mod violations;

use std::time::Duration;

use baton_host::runtime::{
    EgressPolicy, Limit, Origin, RunPolicy, Runtime, RuntimeError, NOTION_COMPONENT,
};
use baton_host::sync::{SyncError, SyncRun};

use crate::{server, TOKEN};
use scene::{assert_limit, chunked_server, config, fixture_dir, hostile, policy, runtime, Scene};

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
        // Else a fast machine could list the default 100,000 pages first.
        max_pages_per_listing: u64::MAX,
        ..policy(&scene.server)
    };
    let err = scene.attack("endless-tokens", policy, "");
    // The run deadline is a stop the next run may resume: the pages are saved.
    let SyncError::Stopped { cause, .. } = err else {
        panic!("the progress is saved: {err:?}");
    };
    assert_limit(
        *cause,
        Limit::RunTime {
            limit: Duration::from_secs(2),
        },
        "the connector exceeded its time limit of 2 s per run in `list-resources`",
    );
    scene.assert_survived_beside_progress();
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
    assert_eq!(
        other.request_count(),
        0,
        "no request reached the other server"
    );
    scene.assert_survived();
}

#[test]
fn the_guest_is_told_which_origin_was_refused() {
    let scene = Scene::new();
    let mut instance = hostile().instantiate(policy(&scene.server)).unwrap();
    let metadata = instance.metadata().unwrap();
    let config = config(&[
        ("mode", "egress-swallow"),
        ("target", "http://10.255.255.1/x"),
    ]);
    instance.configure(&metadata, &config).unwrap();
    // The guest swallowed the refusal; the call fails all the same.
    let err = instance.list_resources("thing", None, "").unwrap_err();
    assert!(
        matches!(&err, RuntimeError::Egress { call: "list-resources", origin }
            if origin == "http://10.255.255.1:80"),
        "{err:?}"
    );
    assert_eq!(instance.requests_sent(), 0);
}

#[test]
fn the_guest_sees_no_environment_files_or_sockets() {
    let scene = Scene::new();
    let target = scene.server.base_url();
    let err = runtime(scene.attack("probe", policy(&scene.server), &target));
    let error = err
        .connector_error()
        .expect("the guest reports what it saw");
    let authority = scene.server.addr();
    assert_eq!(
        error.message,
        format!(
            "env: 0 variables, HOME Err(\"environment variable not found\"); args: 0; \
             cwd: Ok(\"/\"); /etc/passwd: Err(NotFound); /: Err(NotFound); \
             tcp {authority}: Err(PermissionDenied)"
        )
    );
    scene.assert_survived();
}

#[test]
fn requests_in_flight_are_capped() {
    let scene = Scene::new();
    // Long enough for the requests that wait for a slot to give up first.
    let policy = RunPolicy {
        call_timeout: Duration::from_secs(5),
        ..policy(&scene.server)
    };
    let err = scene.attack("concurrent", policy, "");
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
    let config = config(&[("scim-token", TOKEN), ("base-url", &base_url)]);
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
fn a_streamed_body_is_cut_off_and_the_guest_told_the_limit() {
    let url = chunked_server(1 << 20);
    let policy = RunPolicy {
        egress: EgressPolicy {
            allowed: vec![Origin::of_url(&url).unwrap()],
        },
        response_body_limit: 64 << 10,
        ..Default::default()
    };
    let config = config(&[("mode", "read-body"), ("base-url", &url)]);
    let read = |policy: RunPolicy| {
        let mut instance = hostile().instantiate(policy).unwrap();
        let metadata = instance.metadata().unwrap();
        instance.configure(&metadata, &config).unwrap();
        // The guest swallows what it was told and returns it.
        let page = instance.list_resources("thing", None, "").unwrap();
        page.resources[0].description.clone()
    };
    assert_eq!(
        read(policy.clone()),
        "HTTP response body size exceeds limit: 65536 bytes"
    );
    let unlimited = RunPolicy {
        response_body_limit: 2 << 20,
        ..policy
    };
    assert_eq!(read(unlimited), "read 1048576 bytes");
}

#[test]
fn a_component_built_for_another_contract_version_is_refused_at_load() {
    for (file, version) in [
        ("baton_future_contract_connector.wasm", "0.3.0"),
        ("baton_past_contract_connector.wasm", "0.1.0"),
    ] {
        let bytes = std::fs::read(fixture_dir().join(file)).unwrap();
        let err = Runtime::new().unwrap().load(&bytes).err().expect("refused");
        assert!(
            matches!(&err, RuntimeError::ContractVersion { component, host }
                if component == version && host == "0.2.0"),
            "{err:?}"
        );
        assert_eq!(
            err.to_string(),
            format!(
                "the component implements baton:connector@{version}, but this host implements \
                 baton:connector@0.2.0"
            )
        );
    }
}
