//! Wasmtime host for Baton connector components.

pub mod c1z;
pub mod cli;
