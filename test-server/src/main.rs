//! `notion-scim-test-server`: serves the mock Notion SCIM API until interrupted.

use std::io::Write;

use anyhow::Context;
use clap::Parser;
use notion_scim_test_server::{serve_with_shutdown, Config, ServerState, BASE_PATH};

/// A mock of Notion's SCIM 2.0 API with deterministic generated data.
#[derive(Debug, Parser)]
#[command(version, about)]
struct Args {
    /// Address to listen on; port 0 picks a free port (the real one is printed).
    #[arg(long, default_value = "127.0.0.1:8765")]
    listen: String,
    /// Bearer token clients must present.
    #[arg(
        long,
        env = "NOTION_TEST_SERVER_TOKEN",
        default_value = "test-token",
        hide_env_values = true,
        hide_default_value = true
    )]
    token: String,
    /// Number of generated users.
    #[arg(long, default_value_t = 250)]
    users: usize,
    /// Number of generated groups.
    #[arg(long, default_value_t = 5)]
    groups: usize,
    /// Generator seed.
    #[arg(long, default_value_t = 1)]
    seed: u64,
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    // Logs go to stderr: stdout carries only the "listening on" line.
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "info".into()),
        )
        .with_writer(std::io::stderr)
        .init();
    let args = Args::parse();
    let config = Config {
        token: args.token,
        users: args.users,
        groups: args.groups,
        seed: args.seed,
    };
    let state = ServerState::new(&config);
    // Per-request records would grow without bound in a long-running process.
    state.set_keep_request_records(false);
    let listener = tokio::net::TcpListener::bind(&args.listen)
        .await
        .with_context(|| format!("cannot listen on {}", args.listen))?;
    let addr = listener.local_addr()?;
    {
        let mut out = std::io::stdout().lock();
        writeln!(out, "listening on http://{addr}{BASE_PATH}")?;
        out.flush()?;
    }
    tracing::info!(
        users = config.users,
        groups = config.groups,
        seed = config.seed,
        "serving"
    );
    serve_with_shutdown(listener, state, stop_signal()).await?;
    tracing::info!("stopped");
    Ok(())
}

/// Ctrl-C, or SIGTERM on Unix.
async fn stop_signal() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{signal, SignalKind};
        match signal(SignalKind::terminate()) {
            Ok(mut term) => {
                tokio::select! {
                    _ = tokio::signal::ctrl_c() => {}
                    _ = term.recv() => {}
                }
            }
            Err(_) => {
                let _ = tokio::signal::ctrl_c().await;
            }
        }
    }
    #[cfg(not(unix))]
    {
        let _ = tokio::signal::ctrl_c().await;
    }
}
