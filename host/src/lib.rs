//! Wasmtime host for Baton connector components.
//!
//! 1. [`runtime::Runtime`] compiles a component that implements the
//!    `baton:connector` WIT contract and instantiates it in a sandbox.
//! 2. [`sync::SyncRun`] drives its paged listings and writes a Baton `.c1z`
//!    file through [`c1z::C1zWriter`].
//! 3. [`cli`] holds the two command-line front ends, `baton-notion` and `baton`.

#![warn(missing_docs)]

pub mod bindings;
pub mod c1z;
pub mod cli;
#[cfg(test)]
mod prop_support;
pub mod provision;
pub mod redact;
pub mod runtime;
pub mod sync;
pub mod telemetry;
