//! Log setup shared by the CLIs: console on a terminal, JSON otherwise.

use std::io::IsTerminal;
use std::sync::atomic::{AtomicBool, Ordering};

use anyhow::Context;
use tracing_subscriber::EnvFilter;

/// How log lines are rendered.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum LogFormat {
    /// One JSON object per line.
    Json,
    /// Human-readable lines.
    Console,
}

static INITIALISED: AtomicBool = AtomicBool::new(false);

/// Installs the global subscriber writing to stderr and returns the format in use. `level` is a Baton log
/// level (`debug`, `info`, `warn`, `error`) or a tracing filter directive.
pub fn init(level: &str, format: Option<LogFormat>) -> anyhow::Result<LogFormat> {
    let filter = EnvFilter::try_new(level)
        .with_context(|| format!("--log-level: `{level}` is not a valid log level"))?
        // wasi-http logs transport failures that reach us anyway as the
        // connector's error; logging them twice only adds noise.
        .add_directive("wasmtime_wasi_http=error".parse().expect("valid directive"));
    let format = format.unwrap_or(if std::io::stderr().is_terminal() {
        LogFormat::Console
    } else {
        LogFormat::Json
    });
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    let result = match format {
        LogFormat::Json => builder.json().flatten_event(true).try_init(),
        LogFormat::Console => builder
            .with_ansi(std::io::stderr().is_terminal())
            .try_init(),
    };
    result.map_err(|e| anyhow::anyhow!("cannot set up logging: {e}"))?;
    INITIALISED.store(true, Ordering::Relaxed);
    Ok(format)
}

/// Reports a fatal error once: through the logger when it is set up, else
/// as one `error:` line on stderr. `{:#}` keeps the whole cause chain.
pub fn report_error(e: &anyhow::Error) {
    if INITIALISED.load(Ordering::Relaxed) {
        tracing::error!("{e:#}");
    } else {
        eprintln!("error: {e:#}");
    }
}
