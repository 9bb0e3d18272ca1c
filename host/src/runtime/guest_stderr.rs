//! The guest's stderr: kept in memory for explaining traps (a Rust panic
//! message lands there), bounded, and never refusing a write. Only the last
//! [`TailPipe`] capacity bytes are kept: a chatty component loses its oldest
//! output, not its ability to write, and the panic message comes last.

use std::collections::VecDeque;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};

use tokio::io::AsyncWrite;
use wasmtime_wasi::cli::{IsTerminal, StdoutStream};
use wasmtime_wasi::p2::{OutputStream, Pollable, StreamError};

/// An output stream that keeps the last `capacity` bytes written to it.
#[derive(Clone)]
pub(crate) struct TailPipe {
    capacity: usize,
    tail: Arc<Mutex<VecDeque<u8>>>,
}

impl TailPipe {
    pub(crate) fn new(capacity: usize) -> TailPipe {
        TailPipe {
            capacity,
            tail: Arc::new(Mutex::new(VecDeque::with_capacity(capacity))),
        }
    }

    /// The bytes kept, oldest first.
    pub(crate) fn contents(&self) -> Vec<u8> {
        let tail = self.tail.lock().unwrap_or_else(|e| e.into_inner());
        tail.iter().copied().collect()
    }

    fn keep(&self, bytes: &[u8]) {
        let mut tail = self.tail.lock().unwrap_or_else(|e| e.into_inner());
        let bytes = &bytes[bytes.len().saturating_sub(self.capacity)..];
        let overflow = (tail.len() + bytes.len()).saturating_sub(self.capacity);
        tail.drain(..overflow);
        tail.extend(bytes);
    }
}

impl AsyncWrite for TailPipe {
    fn poll_write(
        self: Pin<&mut Self>,
        _: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<std::io::Result<usize>> {
        self.keep(buf);
        Poll::Ready(Ok(buf.len()))
    }

    fn poll_flush(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Poll::Ready(Ok(()))
    }

    fn poll_shutdown(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Poll::Ready(Ok(()))
    }
}

impl IsTerminal for TailPipe {
    fn is_terminal(&self) -> bool {
        false
    }
}

impl StdoutStream for TailPipe {
    fn async_stream(&self) -> Box<dyn AsyncWrite + Send + Sync> {
        Box::new(self.clone())
    }

    // Direct, not through the default async adapter: a write is a memcpy,
    // and a guest printing many lines must not wait on a task per line.
    fn p2_stream(&self) -> Box<dyn OutputStream> {
        Box::new(self.clone())
    }
}

#[async_trait::async_trait]
impl OutputStream for TailPipe {
    fn write(&mut self, bytes: bytes::Bytes) -> Result<(), StreamError> {
        self.keep(&bytes);
        Ok(())
    }

    fn flush(&mut self) -> Result<(), StreamError> {
        Ok(())
    }

    fn check_write(&mut self) -> Result<usize, StreamError> {
        // Always room: the oldest bytes make way.
        Ok(64 * 1024)
    }
}

#[async_trait::async_trait]
impl Pollable for TailPipe {
    async fn ready(&mut self) {}
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keeps_the_last_bytes_and_never_refuses() {
        let pipe = TailPipe::new(8);
        pipe.keep(b"hello ");
        pipe.keep(b"world");
        assert_eq!(pipe.contents(), b"lo world");
        pipe.keep(&[b'x'; 100]);
        assert_eq!(pipe.contents(), [b'x'; 8]);
    }
}
