//! Unit tests of the limit plumbing with the embedded Notion component. The
//! hostile components that break each limit are in `tests/all/sandbox.rs`.

use std::sync::atomic::Ordering;
use std::sync::OnceLock;
use std::time::Duration;

use super::*;

/// One compiled component for all tests here: compiling is the slow part.
fn notion() -> &'static (Runtime, ConnectorComponent) {
    static LOADED: OnceLock<(Runtime, ConnectorComponent)> = OnceLock::new();
    LOADED.get_or_init(|| {
        let runtime = Runtime::new().expect("runtime");
        let component = runtime.load(NOTION_COMPONENT).expect("component loads");
        (runtime, component)
    })
}

#[test]
fn the_ticker_lives_as_long_as_anything_made_from_the_runtime() {
    let runtime = Runtime::new().unwrap();
    let running = runtime.ticker.running();
    let clone = runtime.clone();
    drop(runtime);
    assert!(running.load(Ordering::SeqCst), "a clone still uses it");
    drop(clone);
    assert!(
        !running.load(Ordering::SeqCst),
        "joined with the last holder"
    );
}

#[test]
fn default_limits_let_the_notion_component_run() {
    let (_, component) = notion();
    let mut instance = component.instantiate(RunPolicy::default()).unwrap();
    let metadata = instance.metadata().unwrap();
    assert_eq!(metadata.name, "baton-notion");
}

#[test]
fn initial_memory_counts_against_the_memory_limit() {
    let (_, component) = notion();
    let policy = RunPolicy {
        memory_limit: 64 << 10,
        ..Default::default()
    };
    let err = component.instantiate(policy).err().expect("refused");
    assert!(
        matches!(
            err,
            RuntimeError::Limit {
                call: "instantiate",
                limit: Limit::Memory { bytes: 65536 }
            }
        ),
        "{err:?}"
    );
    assert_eq!(
        err.to_string(),
        "the connector exceeded its memory limit of 64 KiB in `instantiate`"
    );
}

#[test]
fn no_call_starts_after_the_run_time_is_over() {
    let (_, component) = notion();
    let policy = RunPolicy {
        run_timeout: Duration::from_millis(300),
        ..Default::default()
    };
    let mut instance = component.instantiate(policy).unwrap();
    // `metadata` sends nothing: it does not start the run clock.
    let metadata = instance.metadata().unwrap();
    std::thread::sleep(Duration::from_millis(350));
    // `configure` does not either; `validate` does (its request fails: nothing listens).
    let config = [
        ("scim-token", "t"),
        ("base-url", "http://127.0.0.1:9/scim/v2"),
    ]
    .map(|(name, value)| crate::bindings::types::ConfigValue {
        name: name.into(),
        value: value.into(),
    });
    instance.configure(&metadata, &config).unwrap();
    std::thread::sleep(Duration::from_millis(350));
    instance.validate().unwrap_err();
    std::thread::sleep(Duration::from_millis(350));
    let err = instance.metadata().unwrap_err();
    assert_eq!(
        err.to_string(),
        "the connector exceeded its time limit of 300 ms per run in `metadata`"
    );
}

#[test]
fn a_store_outlives_the_runtime_it_came_from() {
    let runtime = Runtime::new().unwrap();
    let running = runtime.ticker.running();
    let component = runtime.load(NOTION_COMPONENT).unwrap();
    let mut instance = component.instantiate(RunPolicy::default()).unwrap();
    drop((runtime, component));
    // The epoch must keep advancing for the instance's deadlines.
    assert!(running.load(Ordering::SeqCst));
    instance.metadata().unwrap();
    drop(instance);
    assert!(!running.load(Ordering::SeqCst));
}

#[test]
fn one_runtime_and_component_serve_many_threads() {
    fn shared<T: Send + Sync>() {}
    fn movable<T: Send>() {}
    shared::<Runtime>();
    shared::<ConnectorComponent>();
    movable::<ConnectorInstance>();
}
