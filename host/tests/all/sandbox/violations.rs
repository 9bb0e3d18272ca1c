//! Policy violations fail the run even when the component ignores the
//! refusal: a write outside provisioning, a request to another origin.
//! The request is never sent, and the previous c1z stays as it was.

use baton_host::runtime::RuntimeError;
use baton_host::sync::SyncRun;

use super::scene::{config, hostile, policy, runtime, Scene};

#[test]
fn writes_during_a_sync_are_refused_and_fail_it_even_when_swallowed() {
    let scene = Scene::new();
    let before = scene.server.request_count();
    let err = runtime(scene.attack("write", policy(&scene.server), ""));
    assert_eq!(
        err.to_string(),
        "the connector tried DELETE /scim/v2/Users/victim in `list-resources`, where the host \
         allows no writes (syncs and validation are read-only)"
    );
    assert!(
        matches!(&err, RuntimeError::Write { call: "list-resources", method, .. } if method == "DELETE"),
        "{err:?}"
    );
    let writes: Vec<_> = scene.server.requests()[before..]
        .iter()
        .filter(|r| r.method != "GET")
        .map(|r| format!("{} {}", r.method, r.path))
        .collect();
    assert!(writes.is_empty(), "writes reached the server: {writes:?}");
    scene.assert_survived();
}

#[test]
fn a_write_in_validate_is_refused_too() {
    let scene = Scene::new();
    let (mut instance, _) = scene.instance("write", policy(&scene.server));
    // `list-entitlements` is as read-only as a sync's listing.
    let resource = baton_host::bindings::types::ResourceId {
        resource_type: "thing".into(),
        resource: "x".into(),
    };
    let _ = instance.list_entitlements(&resource, "");
    let err = instance.list_resources("thing", None, "").unwrap_err();
    assert!(matches!(err, RuntimeError::Write { .. }), "{err:?}");
    assert_eq!(instance.requests_sent(), 0);
}

#[test]
fn a_declared_read_only_post_is_sent_during_a_sync() {
    let scene = Scene::new();
    let mut instance = hostile().instantiate(policy(&scene.server)).unwrap();
    let metadata = instance.metadata().unwrap();
    assert_eq!(metadata.read_only_posts, ["/scim/v2/search"]);
    let base_url = scene.server.base_url();
    instance
        .configure(
            &metadata,
            &config(&[("mode", "read-only-post"), ("base-url", &base_url)]),
        )
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    SyncRun::new(&mut instance, &metadata, &dir.path().join("s.c1z"))
        .unwrap()
        .run()
        .expect("a declared read-only POST is no violation");
    let posts: Vec<_> = scene
        .server
        .requests()
        .into_iter()
        .filter(|r| r.method == "POST")
        .map(|r| r.path)
        .collect();
    assert_eq!(posts, ["/scim/v2/search"]);
}

#[test]
fn a_request_to_another_origin_fails_the_sync_even_when_swallowed() {
    let scene = Scene::new();
    let other = super::server(1, 0);
    let err = runtime(scene.attack("egress-swallow", policy(&scene.server), &other.base_url()));
    assert!(
        err.to_string().starts_with(&format!(
            "the connector tried to reach http://{} in `list-resources`",
            other.addr()
        )),
        "{err}"
    );
    assert_eq!(other.request_count(), 0);
    scene.assert_survived();
}

#[test]
fn capabilities_show_the_declared_read_only_posts() {
    let component = super::scene::fixture_dir().join("baton_hostile_connector.wasm");
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_baton-notion"))
        .arg("--component")
        .arg(component)
        .arg("capabilities")
        .output()
        .unwrap();
    assert!(out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("POST paths read-only") && stderr.contains("/scim/v2/search"),
        "{stderr}"
    );
    serde_json::from_slice::<serde_json::Value>(&out.stdout).expect("stdout stays protojson");
}

#[test]
fn a_component_that_writes_during_a_dry_run_reaches_nothing() {
    let scene = Scene::new();
    let before = scene.server.request_count();
    let dry = baton_host::runtime::RunPolicy {
        dry_run: true,
        ..policy(&scene.server)
    };
    let (mut instance, _) = scene.instance("write", dry);
    let victim = baton_host::bindings::types::ResourceId {
        resource_type: "thing".into(),
        resource: "victim".into(),
    };
    // A provisioning call may write; in a dry run each write is answered
    // by the host and recorded, never sent.
    assert!(instance.delete_resource(&victim).unwrap());
    let methods: Vec<String> = instance.writes().into_iter().map(|w| w.method).collect();
    assert_eq!(methods, ["DELETE", "PATCH", "POST"]);
    assert_eq!(
        scene.server.request_count(),
        before,
        "the upstream saw nothing"
    );
    assert_eq!(instance.requests_sent(), 0);
}

/// Not an attack, but only this component can repeat a warning on demand.
#[test]
fn a_repeated_warning_is_logged_once_and_counted_at_the_end() {
    let server = super::server(1, 0);
    let dir = tempfile::tempdir().unwrap();
    let component = super::scene::fixture_dir().join("baton_hostile_connector.wasm");
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_baton-notion"))
        .current_dir(dir.path())
        .arg("--component")
        .arg(component)
        .args(["--mode", "repeat-warn", "--base-url", &server.base_url()])
        .args(["--log-format", "json", "-f", "s.c1z"])
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    let warnings: Vec<serde_json::Value> = stderr
        .lines()
        .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
        .filter(|l| l["level"] == "WARN")
        .collect();
    let messages: Vec<&str> = warnings
        .iter()
        .map(|w| w["message"].as_str().unwrap())
        .collect();
    assert_eq!(
        messages,
        [
            "thing t0 looks wrong (plain) (further ones are counted in the summary at the end)",
            "50 things look wrong (odd: 5, plain: 45); e.g. t0, t1, t2, t3, t4",
        ],
        "{stderr}"
    );
    assert_eq!(warnings[1]["count"], 50);
}

/// Not a violation: an embedder stopping a run from another thread, while
/// the guest computes (`spin`) and while it waits in the host (`sleep`).
#[test]
fn a_run_is_cancelled_from_another_thread_and_the_previous_c1z_stays() {
    for mode in ["spin", "sleep"] {
        let scene = Scene::new();
        let generous = baton_host::runtime::RunPolicy {
            call_timeout: std::time::Duration::from_secs(60),
            ..policy(&scene.server)
        };
        let (mut instance, metadata) = scene.instance(mode, generous);
        let canceller = instance.canceller();
        let started = std::time::Instant::now();
        std::thread::spawn(move || {
            std::thread::sleep(std::time::Duration::from_millis(300));
            canceller.cancel();
        });
        let err = SyncRun::new(&mut instance, &metadata, &scene.c1z)
            .unwrap()
            .run()
            .unwrap_err();
        let elapsed = started.elapsed();
        let err = runtime(err);
        assert!(
            matches!(
                err,
                RuntimeError::Cancelled {
                    call: "list-resources"
                }
            ),
            "{mode}: {err:?}"
        );
        assert!(
            elapsed < std::time::Duration::from_secs(5),
            "{mode}: took {elapsed:?}"
        );
        let later = instance.validate().unwrap_err();
        assert!(
            matches!(later, RuntimeError::Cancelled { call: "validate" }),
            "{later:?}"
        );
        scene.assert_survived();
    }
}
