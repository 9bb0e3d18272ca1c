//! Log setup shared by the CLIs: console on a terminal, JSON otherwise.

use std::io::{IsTerminal, Write};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Mutex;

use indicatif::MultiProgress;

use anyhow::{bail, Context};
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

/// The progress bars on screen, if any: log lines are written above them.
static BARS: Mutex<Option<MultiProgress>> = Mutex::new(None);

/// Routes log lines above `bars` while they are drawn (`None`: straight to stderr).
pub fn draw_above(bars: Option<MultiProgress>) {
    *BARS.lock().unwrap_or_else(|e| e.into_inner()) = bars;
}

/// stderr, but a line written while bars are drawn is printed above them,
/// so that no copy of a bar is left behind between log lines.
struct Stderr;

impl Write for Stderr {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.write_all(buf).map(|()| buf.len())
    }

    fn write_all(&mut self, buf: &[u8]) -> std::io::Result<()> {
        let bars = BARS.lock().unwrap_or_else(|e| e.into_inner()).clone();
        match bars {
            Some(bars) => bars.suspend(|| std::io::stderr().write_all(buf)),
            None => std::io::stderr().write_all(buf),
        }
    }

    fn flush(&mut self) -> std::io::Result<()> {
        std::io::stderr().flush()
    }
}

/// The values `--log-level` accepts, in any case: Baton's levels.
pub const LOG_LEVELS: [&str; 4] = ["debug", "info", "warn", "error"];

/// Installs the global subscriber writing to stderr and returns the format in use. `level` is a Baton log
/// level (one of [`LOG_LEVELS`], in any case); the command line has checked it already.
pub fn init(level: &str, format: Option<LogFormat>) -> anyhow::Result<LogFormat> {
    let level = level.to_ascii_lowercase();
    // A tracing directive such as `loud` would parse, as a target name, and
    // then filter out every line, the fatal error included.
    if !LOG_LEVELS.contains(&level.as_str()) {
        bail!(
            "--log-level: `{level}` is not a log level (expected one of {})",
            LOG_LEVELS.join(", ")
        );
    }
    let filter = EnvFilter::try_new(&level)
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
        .with_writer(|| Stderr);
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
/// as one `error:` line on stderr, with each cause once ([`cause_chain`]).
pub fn report_error(e: &anyhow::Error) {
    let text = cause_chain(e.as_ref());
    if INITIALISED.load(Ordering::Relaxed) {
        tracing::error!("{text}");
    } else {
        eprintln!("error: {text}");
    }
}

/// An error and its causes on one line, `outer: inner`, like `{:#}`, but
/// a cause whose text an outer layer already shows is left out. Error types
/// of other crates (tempfile, thiserror enums with `{source}` in their
/// message) both print their source and return it from `source()`, which
/// `{:#}` would print twice.
pub fn cause_chain(e: &(dyn std::error::Error + 'static)) -> String {
    let mut out = String::new();
    let mut layer = Some(e);
    while let Some(err) = layer {
        let text = err.to_string();
        let text = text.trim();
        if !text.is_empty() && !out.contains(text) {
            if !out.is_empty() {
                out.push_str(": ");
            }
            out.push_str(text);
        }
        layer = err.source();
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_cause_already_shown_is_not_repeated() {
        let io = std::io::Error::new(std::io::ErrorKind::NotFound, "No such file (os error 2)");
        let e = anyhow::Error::new(io).context("cannot create x: No such file (os error 2)");
        assert_eq!(
            cause_chain(e.as_ref()),
            "cannot create x: No such file (os error 2)"
        );
        let e = anyhow::anyhow!("inner").context("outer");
        assert_eq!(cause_chain(e.as_ref()), "outer: inner");
    }

    #[test]
    fn a_directive_is_not_a_log_level() {
        for bad in ["loud", "LOUD", "baton_host=debug", ""] {
            let e = init(bad, Some(LogFormat::Json)).unwrap_err().to_string();
            assert!(
                e.contains("--log-level") && e.contains("debug, info, warn, error"),
                "{e}"
            );
        }
    }
}
