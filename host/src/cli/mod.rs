//! Command-line front ends. Each binary in `src/bin/` is a thin wrapper around one of these.

pub mod connector;
pub mod logging;
pub mod reader;
