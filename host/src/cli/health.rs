//! `health-check`, as in Baton: a client that asks a running connector's
//! health endpoint and succeeds only on HTTP 200. It prints nothing on success.

use std::io::{Read, Write};
use std::net::{TcpStream, ToSocketAddrs};
use std::time::Duration;

use anyhow::{anyhow, bail, Context};
use clap::{Args, ValueEnum};

/// Which endpoint to ask.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Endpoint {
    /// Runs the connector's validation.
    Health,
    /// Ready to serve.
    Ready,
    /// The process is alive.
    Live,
}

/// Flags of the `health-check` subcommand.
#[derive(Debug, Args)]
pub struct HealthCheckArgs {
    /// The health endpoint to check
    #[arg(long, value_enum, default_value = "health")]
    pub endpoint: Endpoint,

    /// Timeout in seconds for the health check request
    #[arg(long, default_value_t = 5)]
    pub timeout: u64,

    /// The port of the health check server
    #[arg(long, env = "BATON_HEALTH_CHECK_PORT", default_value_t = 8081)]
    pub health_check_port: u16,

    /// The address the health check server binds to
    #[arg(
        long,
        env = "BATON_HEALTH_CHECK_BIND_ADDRESS",
        default_value = "127.0.0.1"
    )]
    pub health_check_bind_address: String,
}

/// GETs `http://<bind>:<port>/<endpoint>`; Ok only on 200.
pub fn check(args: &HealthCheckArgs) -> anyhow::Result<()> {
    let path = match args.endpoint {
        Endpoint::Health => "health",
        Endpoint::Ready => "ready",
        Endpoint::Live => "live",
    };
    let status = get_status(
        &args.health_check_bind_address,
        args.health_check_port,
        path,
        Duration::from_secs(args.timeout.max(1)),
    )
    .map_err(|e| anyhow!("health check failed: {e:#}"))?;
    if status != 200 {
        bail!("health check returned status {status}");
    }
    Ok(())
}

fn get_status(host: &str, port: u16, path: &str, timeout: Duration) -> anyhow::Result<u16> {
    let addr = (host, port)
        .to_socket_addrs()
        .with_context(|| format!("--health-check-bind-address: cannot resolve `{host}`"))?
        .next()
        .ok_or_else(|| anyhow!("{host} has no address"))?;
    let mut stream = TcpStream::connect_timeout(&addr, timeout)
        .with_context(|| format!("cannot connect to {addr}"))?;
    stream.set_read_timeout(Some(timeout))?;
    stream.set_write_timeout(Some(timeout))?;
    // One write: a request split over segments can race the server's close.
    let request =
        format!("GET /{path} HTTP/1.1\r\nHost: {host}:{port}\r\nConnection: close\r\n\r\n");
    stream.write_all(request.as_bytes())?;
    let mut head = Vec::new();
    let mut buf = [0u8; 512];
    // The status line is all we need.
    while !head.contains(&b'\n') && head.len() < 4096 {
        let n = stream.read(&mut buf).context("no response")?;
        if n == 0 {
            break;
        }
        head.extend_from_slice(&buf[..n]);
    }
    let line = String::from_utf8_lossy(&head);
    line.split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .ok_or_else(|| anyhow!("not an HTTP response from {addr}"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::TcpListener;

    fn serve_once(status: &'static str) -> u16 {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        std::thread::spawn(move || {
            let (mut s, _) = listener.accept().unwrap();
            // Read the whole request so closing does not reset the connection.
            let mut request = Vec::new();
            let mut buf = [0u8; 1024];
            while !request.windows(4).any(|w| w == b"\r\n\r\n") {
                match s.read(&mut buf) {
                    Ok(0) | Err(_) => break,
                    Ok(n) => request.extend_from_slice(&buf[..n]),
                }
            }
            let _ = write!(s, "HTTP/1.1 {status}\r\nContent-Length: 0\r\n\r\n");
        });
        port
    }

    fn args(port: u16) -> HealthCheckArgs {
        HealthCheckArgs {
            endpoint: Endpoint::Live,
            timeout: 2,
            health_check_port: port,
            health_check_bind_address: "127.0.0.1".into(),
        }
    }

    #[test]
    fn succeeds_only_on_200() {
        assert!(check(&args(serve_once("200 OK"))).is_ok());
        let e = check(&args(serve_once("503 Service Unavailable"))).unwrap_err();
        assert_eq!(e.to_string(), "health check returned status 503");
    }

    #[test]
    fn a_closed_port_is_a_failure_with_the_cause() {
        let port = TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let e = check(&args(port)).unwrap_err();
        assert!(
            e.to_string()
                .starts_with("health check failed: cannot connect"),
            "{e:#}"
        );
    }
}
