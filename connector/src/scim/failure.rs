//! A failed request, and whether the server may have carried it out anyway.
//!
//! A read can simply be asked again, but a write cannot: when a POST or PATCH
//! times out, or the connection drops, or the server answers 5xx, the change
//! may or may not have been made (the test-server's `Fault::DropAfterHandling`
//! makes exactly that happen: the write takes effect, the answer is lost). The
//! host never retries such requests on its own, so the write methods of
//! [`super::ScimClient`] return a [`Failure`] that says so, and the
//! provisioning code checks the upstream state before sending a write again.

use crate::baton::connector::types::{ConnectorError, ErrorKind};

/// A request that did not succeed.
#[derive(Clone, Debug, PartialEq)]
pub struct Failure {
    /// The typed error, naming the request.
    pub error: ConnectorError,
    /// True when the server may have acted on the request although no usable
    /// answer came back: a transport timeout or reset, or an HTTP 5xx.
    pub outcome_unknown: bool,
}

impl Failure {
    /// A failure whose outcome is known: the request was refused, or it took
    /// effect and only its answer is unusable.
    pub fn known(error: ConnectorError) -> Self {
        Self {
            error,
            outcome_unknown: false,
        }
    }

    /// A transport failure (no HTTP answer). Timeouts and resets may hit
    /// after the server handled the request; the other kinds (a refused
    /// egress, an invalid URL) mean it was never sent.
    pub fn transport(error: ConnectorError) -> Self {
        let outcome_unknown = matches!(
            error.kind,
            ErrorKind::Unavailable | ErrorKind::DeadlineExceeded
        );
        Self {
            error,
            outcome_unknown,
        }
    }

    /// A non-2xx answer. A 5xx may come from a gateway that gave up while
    /// the server was still working on the request; a 4xx (429 included)
    /// means the request was refused.
    pub fn status(error: ConnectorError, status: u16) -> Self {
        Self {
            error,
            outcome_unknown: status >= 500,
        }
    }
}

impl From<Failure> for ConnectorError {
    fn from(failure: Failure) -> Self {
        failure.error
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::error;

    #[test]
    fn only_timeouts_resets_and_5xx_are_unknown() {
        let t = |kind| Failure::transport(error(kind, "x")).outcome_unknown;
        assert!(t(ErrorKind::Unavailable));
        assert!(t(ErrorKind::DeadlineExceeded));
        assert!(!t(ErrorKind::PermissionDenied));
        assert!(!t(ErrorKind::InvalidArgument));
        assert!(!t(ErrorKind::BadResponse));
        let s = |status| Failure::status(error(ErrorKind::Internal, "x"), status).outcome_unknown;
        assert!(s(500) && s(502) && s(503) && s(504) && s(529));
        assert!(!s(400) && !s(404) && !s(409) && !s(429));
    }
}
