//! Test fixture: a component that exports `baton:connector/connector@0.1.0`,
//! the contract before this host's. The host must refuse it at load and
//! name both versions (`host/tests/all/sandbox.rs`).

wit_bindgen::generate!({
    world: "baton-connector",
    path: "wit",
});

use exports::baton::connector::connector::Guest;

/// The exported component.
struct PastContract;

impl Guest for PastContract {
    fn metadata() -> String {
        "a connector built for the previous contract".into()
    }
}

export!(PastContract);
