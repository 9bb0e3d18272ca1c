//! A TCP listener whose connections can be killed from inside a request handler.
//!
//! axum never hands the socket to handlers, so [`Fault::Drop`](crate::Fault::Drop)
//! works by flipping a per-connection flag that is reachable through `ConnectInfo`;
//! once set, every read and write on the socket fails, hyper abandons the connection
//! and the socket is closed without a single response byte.

use std::io;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::task::{Context, Poll};

use axum::extract::connect_info::Connected;
use axum::serve::{IncomingStream, Listener};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::{TcpListener, TcpStream};

/// Wraps a tokio listener, tagging every accepted connection with a kill switch.
pub(crate) struct KillableListener(pub TcpListener);

/// Per-connection info made available to handlers.
#[derive(Clone, Debug)]
pub(crate) struct ConnMeta {
    killed: Arc<AtomicBool>,
}

impl ConnMeta {
    /// Makes all further I/O on the connection fail, so it closes without a response.
    pub fn kill(&self) {
        self.killed.store(true, Ordering::SeqCst);
    }
}

/// The socket plus its kill switch.
pub(crate) struct KillableStream {
    inner: TcpStream,
    killed: Arc<AtomicBool>,
}

impl KillableStream {
    fn check(&self) -> io::Result<()> {
        if self.killed.load(Ordering::SeqCst) {
            Err(io::Error::new(
                io::ErrorKind::ConnectionAborted,
                "connection dropped by fault injection",
            ))
        } else {
            Ok(())
        }
    }
}

impl Listener for KillableListener {
    type Io = KillableStream;
    type Addr = ConnMeta;

    async fn accept(&mut self) -> (Self::Io, Self::Addr) {
        // The tokio impl retries transient accept errors for us.
        let (stream, _peer) = Listener::accept(&mut self.0).await;
        // Small request/response pairs: without this, delayed ACKs add ~40 ms latency.
        let _ = stream.set_nodelay(true);
        let killed = Arc::new(AtomicBool::new(false));
        (
            KillableStream {
                inner: stream,
                killed: killed.clone(),
            },
            ConnMeta { killed },
        )
    }

    fn local_addr(&self) -> io::Result<Self::Addr> {
        // axum only uses this for diagnostics; there is no connection yet.
        self.0.local_addr().map(|_: SocketAddr| ConnMeta {
            killed: Arc::new(AtomicBool::new(false)),
        })
    }
}

impl Connected<IncomingStream<'_, KillableListener>> for ConnMeta {
    fn connect_info(stream: IncomingStream<'_, KillableListener>) -> Self {
        stream.remote_addr().clone()
    }
}

impl AsyncRead for KillableStream {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        this.check()?;
        Pin::new(&mut this.inner).poll_read(cx, buf)
    }
}

impl AsyncWrite for KillableStream {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        this.check()?;
        Pin::new(&mut this.inner).poll_write(cx, buf)
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        this.check()?;
        Pin::new(&mut this.inner).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        this.check()?;
        Pin::new(&mut this.inner).poll_flush(cx)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().inner).poll_shutdown(cx)
    }
}
