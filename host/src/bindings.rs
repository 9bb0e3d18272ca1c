//! The only place that generates host bindings for the `baton:connector` WIT contract.
#![allow(missing_docs)] // generated code; the WIT file documents it

wasmtime::component::bindgen!({
    world: "baton-connector",
    path: "../wit",
    additional_derives: [PartialEq],
});

pub use baton::connector::types;

/// The contract version this host implements, from the WIT package.
pub const CONTRACT_VERSION: &str = "0.2.0";

/// Export name of the connector interface, as a component names it.
pub const CONNECTOR_EXPORT_PREFIX: &str = "baton:connector/connector@";
