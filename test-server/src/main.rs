//! `notion-scim-test-server`: serves the mock Notion SCIM API until interrupted,
//! optionally with injected faults, a rate limit and pagination anomalies.

use std::io::Write;

use anyhow::Context;
use clap::Parser;
use notion_scim_test_server::{
    serve_with_shutdown, Anomaly, Config, RateLimit, ScheduledFault, ServerState, BASE_PATH,
};

const FAULT_HELP: &str = "\
Inject a fault (repeatable): comma-separated items, exactly one fault, at most one \
schedule, an optional scope. Rules are checked in the order given; delays add up, \
otherwise the first rule that fires wins.
  faults:   rate-limit[=SECS] (429, Retry-After in seconds; default 1)
            rate-limit-date[=SECS] (429, Retry-After as an HTTP-date)
            status=CODE (SCIM error body, e.g. 502, 503, 504, 529)
            html[=CODE] (HTML error page; default 502)
            delay=DURATION (250ms, 2s; bare number = ms)
            drop (close the connection, no response)
            hang (never answer)
            drop-after-handling, hang-after-handling (the same, once a write is done)
            truncate (200 with the JSON cut in half)
            wrong-content-type (the real body labelled text/html)
            oversize=BYTES (pad the JSON with a huge field; k/m suffixes)
            missing=FIELD (remove an attribute: list envelope or first resource)
  schedule: first=K | from=N[,count=K] | every=N[,offset=M] | probability=P[,seed=S]
            (default: every request; ordinals count the requests in scope)
  scope:    method=GET  path=/Users (exact; /Users* for a prefix)
Examples: status=503,every=7   rate-limit=2,first=3   drop,probability=0.05,seed=42";

const ANOMALY_HELP: &str = "\
Switch a pagination anomaly on for unfiltered Users/Groups lists (repeatable). \
Lossless for a client that advances startIndex by the items received, stops at \
totalResults or an empty page and de-duplicates by id: total-drift, \
duplicate-across-pages, short-pages, wrong-items-per-page. Not lossless (hides the \
second half of each list): empty-page-before-end.";

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
    /// Inject a fault, e.g. "status=503,every=7" (repeatable; see --help).
    #[arg(long, value_name = "SPEC", long_help = FAULT_HELP)]
    fault: Vec<ScheduledFault>,
    /// Switch a pagination anomaly on, e.g. duplicate-across-pages (repeatable).
    #[arg(long, value_name = "NAME", long_help = ANOMALY_HELP)]
    anomaly: Vec<Anomaly>,
    /// Rate limit in requests per second (token bucket); excess requests get 429
    /// with Retry-After in whole seconds.
    #[arg(long, value_name = "RPS", value_parser = positive_rate)]
    rate_limit: Option<f64>,
    /// Bucket size of the rate limit: requests allowed at once after a quiet
    /// period [default: RPS rounded up].
    #[arg(long, value_name = "N", requires = "rate_limit", value_parser = clap::value_parser!(u32).range(1..))]
    rate_burst: Option<u32>,
}

fn positive_rate(s: &str) -> Result<f64, String> {
    match s.trim().parse::<f64>() {
        Ok(r) if r.is_finite() && r > 0.0 => Ok(r),
        _ => Err(format!(
            "`{s}` is not a positive number of requests per second"
        )),
    }
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
    for fault in &args.fault {
        tracing::info!(?fault, "fault injection on");
        state.inject(fault.clone());
    }
    for anomaly in &args.anomaly {
        tracing::info!(%anomaly, "pagination anomaly on");
        state.enable_anomaly(*anomaly);
    }
    if let Some(rps) = args.rate_limit {
        // Clamp before the cast: an absurd rate must not wrap the burst to 0.
        let burst = args
            .rate_burst
            .unwrap_or(rps.ceil().clamp(1.0, f64::from(u32::MAX)) as u32);
        tracing::info!(rps, burst, "rate limit on");
        state.set_rate_limit(Some(RateLimit::new(rps, burst)));
    }
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
