//! Measurement (a), the I/O floor: a minimal blocking HTTP/1.1 client over
//! `std::net::TcpStream` that asks for every list page a sync needs and throws
//! the bodies away. No JSON, no async runtime, no sandbox: whatever a sync
//! costs on top of this is the price of the connector and the host.

use std::io::{self, BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::time::{Duration, Instant};

use notion_scim_test_server::BASE_PATH;

/// Items per page; Notion caps `count` at 100 and the connector asks for 100.
pub const PAGE: usize = 100;

/// How the client uses connections.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Connections {
    /// One connection for every request: the floor.
    KeepAlive,
    /// A new connection per request, as `wasmtime-wasi-http`'s default sender
    /// does; the gap to `KeepAlive` is what connection reuse would save.
    PerRequest,
}

/// What one pass fetched.
#[derive(Debug, Clone, Copy)]
pub struct Fetched {
    /// Requests sent.
    pub requests: u64,
    /// Body bytes received (headers not counted).
    pub body_bytes: u64,
    /// Wall time of the whole pass.
    pub wall: Duration,
}

/// Fetches every page of Users and Groups, `startIndex` paging as the
/// connector does. The totals are known up front (the bench generated the
/// data), so no body needs parsing to find where the listing ends.
pub fn fetch_all(
    addr: SocketAddr,
    token: &str,
    users: usize,
    groups: usize,
    mode: Connections,
) -> io::Result<Fetched> {
    let started = Instant::now();
    let mut conn: Option<BufReader<TcpStream>> = None;
    let mut requests = 0;
    let mut body_bytes = 0;
    for (endpoint, total) in [("Users", users), ("Groups", groups)] {
        for start in (1..=total).step_by(PAGE) {
            if mode == Connections::PerRequest {
                conn = None;
            }
            let stream = match conn.as_mut() {
                Some(stream) => stream,
                None => conn.insert(connect(addr)?),
            };
            let path = format!("{BASE_PATH}/{endpoint}?startIndex={start}&count={PAGE}");
            body_bytes += get(stream, addr, &path, token)?;
            requests += 1;
        }
    }
    Ok(Fetched {
        requests,
        body_bytes,
        wall: started.elapsed(),
    })
}

fn connect(addr: SocketAddr) -> io::Result<BufReader<TcpStream>> {
    let stream = TcpStream::connect(addr)?;
    // The request goes out in one write, but a late ACK must never hold it back.
    stream.set_nodelay(true)?;
    Ok(BufReader::with_capacity(64 << 10, stream))
}

/// Sends one GET and reads the response to its end; returns the body length.
fn get(
    conn: &mut BufReader<TcpStream>,
    host: SocketAddr,
    path: &str,
    token: &str,
) -> io::Result<u64> {
    let request = format!(
        "GET {path} HTTP/1.1\r\nhost: {host}\r\nauthorization: Bearer {token}\r\n\
         accept: application/scim+json\r\n\r\n"
    );
    conn.get_mut().write_all(request.as_bytes())?;

    let mut line = String::new();
    read_line(conn, &mut line)?;
    let status = line.split(' ').nth(1).unwrap_or("");
    if status != "200" {
        return Err(invalid(format!(
            "GET {path}: status line {:?}",
            line.trim_end()
        )));
    }
    let mut length = None;
    let mut chunked = false;
    loop {
        read_line(conn, &mut line)?;
        let header = line.trim_end();
        if header.is_empty() {
            break;
        }
        let (name, value) = header.split_once(':').unwrap_or((header, ""));
        let value = value.trim();
        if name.eq_ignore_ascii_case("content-length") {
            length = Some(value.parse::<u64>().map_err(|e| invalid(e.to_string()))?);
        } else if name.eq_ignore_ascii_case("transfer-encoding") {
            chunked = value.eq_ignore_ascii_case("chunked");
        }
    }
    match (length, chunked) {
        (Some(n), false) => discard(conn, n),
        (_, true) => discard_chunked(conn, &mut line),
        (None, false) => Err(invalid(format!("GET {path}: no body length"))),
    }
}

fn discard_chunked(conn: &mut BufReader<TcpStream>, line: &mut String) -> io::Result<u64> {
    let mut total = 0;
    loop {
        read_line(conn, line)?;
        let size = line.trim_end().split(';').next().unwrap_or("");
        let size = u64::from_str_radix(size, 16).map_err(|e| invalid(e.to_string()))?;
        if size == 0 {
            // Trailers, if any, end with an empty line.
            loop {
                read_line(conn, line)?;
                if line.trim_end().is_empty() {
                    return Ok(total);
                }
            }
        }
        total += discard(conn, size)?;
        read_line(conn, line)?;
    }
}

fn discard(conn: &mut BufReader<TcpStream>, n: u64) -> io::Result<u64> {
    let copied = io::copy(&mut conn.by_ref().take(n), &mut io::sink())?;
    if copied != n {
        return Err(io::ErrorKind::UnexpectedEof.into());
    }
    Ok(n)
}

/// Reads one CRLF-terminated line into `line` (cleared first); EOF is an error.
fn read_line(conn: &mut BufReader<TcpStream>, line: &mut String) -> io::Result<()> {
    line.clear();
    if conn.read_line(line)? == 0 {
        return Err(io::ErrorKind::UnexpectedEof.into());
    }
    Ok(())
}

fn invalid(message: String) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidData, message)
}
