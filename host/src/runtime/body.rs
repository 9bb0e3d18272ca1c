//! A response body that the host streams into the guest, bounded in size.
//!
//! The limit is checked frame by frame as the guest reads, so an oversized
//! response costs at most one frame past the limit in host memory, and the
//! guest never receives a byte beyond it.

use std::pin::Pin;
use std::task::{ready, Context, Poll};

use bytes::Bytes;
use http_body::{Body, Frame, SizeHint};
use wasmtime_wasi_http::{Error as HttpError, WasiBody};

use super::limits::{Breach, Limit, Tripwire};

/// A response body cut off with [`HttpError::HttpResponseBodySize`] once it
/// passes `limit` bytes. It also holds the request's concurrency slots, which
/// are freed when the body ends or is dropped.
pub(crate) struct LimitedBody {
    inner: WasiBody,
    limit: u64,
    seen: u64,
    over: bool,
    permit: Option<Box<dyn Send>>,
    tripwire: Tripwire,
}

impl LimitedBody {
    pub(crate) fn new(
        inner: WasiBody,
        limit: u64,
        permit: Option<Box<dyn Send>>,
        tripwire: Tripwire,
    ) -> LimitedBody {
        LimitedBody {
            inner,
            limit,
            seen: 0,
            over: false,
            permit,
            tripwire,
        }
    }
}

/// The error the guest gets for an oversized body; it carries the limit.
pub(crate) fn too_large(limit: u64, tripwire: &Tripwire) -> HttpError {
    tripwire.trip(Breach::Limit(Limit::ResponseBody { bytes: limit }));
    HttpError::HttpResponseBodySize(Some(limit))
}

impl Body for LimitedBody {
    type Data = Bytes;
    type Error = HttpError;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, HttpError>>> {
        let this = self.get_mut();
        if this.over {
            return Poll::Ready(None);
        }
        let frame = ready!(Pin::new(&mut this.inner).poll_frame(cx));
        if let Some(Ok(data)) = frame.as_ref().map(|f| f.as_ref().map(Frame::data_ref)) {
            let len = data.map_or(0, |d| d.len() as u64);
            this.seen = this.seen.saturating_add(len);
            if this.seen > this.limit {
                this.over = true;
                this.permit = None;
                return Poll::Ready(Some(Err(too_large(this.limit, &this.tripwire))));
            }
        }
        if !matches!(frame, Some(Ok(_))) {
            // The end, or an error that ends it: the request is no longer in flight.
            this.permit = None;
        }
        Poll::Ready(frame)
    }

    fn is_end_stream(&self) -> bool {
        self.over || self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        if self.over {
            SizeHint::with_exact(0)
        } else {
            self.inner.size_hint()
        }
    }
}

#[cfg(test)]
mod tests {
    use std::collections::VecDeque;

    use super::*;
    use http_body_util::BodyExt;

    /// A body that yields the given chunks, one frame each.
    struct Chunks(VecDeque<usize>);

    impl Body for Chunks {
        type Data = Bytes;
        type Error = HttpError;

        fn poll_frame(
            self: Pin<&mut Self>,
            _cx: &mut Context<'_>,
        ) -> Poll<Option<Result<Frame<Bytes>, HttpError>>> {
            let next = self.get_mut().0.pop_front();
            Poll::Ready(next.map(|n| Ok(Frame::data(Bytes::from(vec![b'x'; n])))))
        }
    }

    fn chunked(chunks: &[usize]) -> WasiBody {
        Chunks(chunks.iter().copied().collect()).boxed_unsync()
    }

    #[tokio::test]
    async fn a_body_within_the_limit_passes_unchanged() {
        let wire = Tripwire::default();
        let body = LimitedBody::new(chunked(&[4, 4, 2]), 10, None, wire.clone());
        let bytes = body.collect().await.unwrap().to_bytes();
        assert_eq!(bytes.len(), 10);
        assert_eq!(wire.take(), None);
    }

    #[tokio::test]
    async fn a_body_past_the_limit_ends_in_an_error_naming_it() {
        let wire = Tripwire::default();
        let semaphore = std::sync::Arc::new(tokio::sync::Semaphore::new(1));
        let permit = semaphore.clone().try_acquire_owned().unwrap();
        let mut body = LimitedBody::new(
            chunked(&[6, 6, 6]),
            10,
            Some(Box::new(permit)),
            wire.clone(),
        );
        let first = body.frame().await.unwrap().unwrap();
        assert_eq!(first.into_data().unwrap().len(), 6);
        let err = body.frame().await.unwrap().unwrap_err();
        assert!(
            matches!(err, HttpError::HttpResponseBodySize(Some(10))),
            "{err:?}"
        );
        assert_eq!(
            err.to_string(),
            "HTTP response body size exceeds limit: 10 bytes"
        );
        assert!(body.frame().await.is_none());
        assert_eq!(semaphore.available_permits(), 1, "the slot is freed");
        assert_eq!(
            wire.take(),
            Some(Breach::Limit(Limit::ResponseBody { bytes: 10 }))
        );
    }
}
