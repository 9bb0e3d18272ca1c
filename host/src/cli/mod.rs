//! Command-line front ends. Each binary in `src/bin/` is a thin wrapper around one of these.

mod config_file;
pub mod connector;
mod health;
pub mod logging;
mod modes;
mod progress;
pub mod reader;
mod schema;
