//! Test fixture: a component that exports `baton:connector/connector@0.3.0`,
//! a contract version the host does not implement. The host must refuse it
//! at load and name both versions (`host/tests/all/sandbox.rs`).

wit_bindgen::generate!({
    world: "baton-connector",
    path: "wit",
});

use exports::baton::connector::connector::Guest;

/// The exported component.
struct FutureContract;

impl Guest for FutureContract {
    fn metadata() -> String {
        "a connector from the future".into()
    }
}

export!(FutureContract);
