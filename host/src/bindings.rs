//! The only place that generates host bindings for the `baton:connector` WIT contract.
#![allow(missing_docs)] // generated code; the WIT file documents it

wasmtime::component::bindgen!({
    world: "baton-connector",
    path: "../wit",
    additional_derives: [PartialEq],
    // Calls into the guest are async, so that a guest waiting on HTTP or on the rate
    // limiter holds no thread; the host's own imports stay plain functions.
    exports: { default: async },
});

pub use baton::connector::types;

/// The contract version this host implements, from the WIT package.
pub const CONTRACT_VERSION: &str = "0.2.0";

/// Export name of the connector interface, as a component names it.
pub const CONNECTOR_EXPORT_PREFIX: &str = "baton:connector/connector@";

#[cfg(test)]
impl types::ConnectorMetadata {
    /// A connector with nothing declared, for tests to fill in with
    /// struct-update syntax.
    pub(crate) fn empty(name: &str) -> Self {
        types::ConnectorMetadata {
            name: name.into(),
            version: "0".into(),
            display_name: name.into(),
            description: String::new(),
            help_url: String::new(),
            icon_url: String::new(),
            config_fields: Vec::new(),
            resource_types: Vec::new(),
            account_creation_schema: Vec::new(),
            credential_options: Vec::new(),
            read_only_posts: Vec::new(),
        }
    }
}
