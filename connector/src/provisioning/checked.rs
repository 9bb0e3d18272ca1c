//! Writes that are checked before they are sent again.
//!
//! When a write fails with an unknown outcome (a timeout, a reset connection
//! or a 5xx: see [`Failure`]), the change may have been made and only the
//! answer lost. Sending it again blindly could apply it twice (a second
//! account for one email), and giving up could report a failure for a change
//! that happened. So the current state is read first: if the change is in
//! effect, it is not sent again; if it is not, the write is sent once more.
//! A write is therefore sent at most [`MAX_SENDS`] times, each unknown outcome
//! followed by exactly one read.

use crate::baton::connector::types::ConnectorError;
use crate::notes::Notes;
use crate::scim::Failure;

/// How many times one write may be sent.
pub const MAX_SENDS: usize = 2;

/// How a checked write ended.
#[derive(Debug, PartialEq)]
pub enum Written<A, C> {
    /// The server answered the write (2xx).
    Answered(A),
    /// The answer was lost, and a fresh read shows the change in effect.
    Confirmed(C),
}

/// Sends a write, checking the state after each unknown outcome.
///
/// `change` describes the write in log lines and errors (e.g. "adding user
/// u1 to group g1"). `send` makes the request; `check` reads the state and
/// returns `Some` when the change is in effect, `None` when it is not.
///
/// A failure with a known outcome (a 4xx, or a 2xx with an unusable body) is
/// returned unchanged. An unknown outcome that no read can settle keeps the
/// write's error kind, and its message says what is known.
pub fn send_checked<A, C>(
    change: &str,
    notes: &mut Notes,
    mut send: impl FnMut() -> Result<A, Failure>,
    mut check: impl FnMut(&mut Notes) -> Result<Option<C>, ConnectorError>,
) -> Result<Written<A, C>, ConnectorError> {
    let mut sends = 0;
    loop {
        sends += 1;
        let failure = match send() {
            Ok(answer) => return Ok(Written::Answered(answer)),
            Err(f) if !f.outcome_unknown => return Err(f.error),
            Err(f) => f,
        };
        let mut error = failure.error;
        notes.warn(format!(
            "{}; {change} may or may not have taken effect, so it is checked before anything \
             is sent again",
            error.message
        ));
        match check(notes) {
            Ok(Some(confirmed)) => {
                notes.info(format!(
                    "a fresh read shows that {change} took effect although its answer was lost; \
                     it is not sent again"
                ));
                return Ok(Written::Confirmed(confirmed));
            }
            Ok(None) if sends < MAX_SENDS => notes.info(format!(
                "a fresh read shows that {change} did not take effect; sending it once more"
            )),
            Ok(None) => {
                error.message = format!(
                    "{}; a fresh read shows that {change} did not take effect (sent {sends} times)",
                    error.message
                );
                return Err(error);
            }
            Err(read) => {
                error.message = format!(
                    "{}; {change} may have taken effect: checking failed ({})",
                    error.message, read.message
                );
                return Err(error);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::baton::connector::types::{ErrorKind, LogLevel};
    use crate::error::error;
    use std::cell::RefCell;

    fn lost() -> Failure {
        Failure::transport(error(ErrorKind::DeadlineExceeded, "POST /x: timed out"))
    }

    /// Runs `send_checked` over scripted sends and checks; returns the result,
    /// the number of sends and checks made, and the notes.
    fn run(
        sends: Vec<Result<u8, Failure>>,
        checks: Vec<Result<Option<u8>, ConnectorError>>,
    ) -> (Result<Written<u8, u8>, ConnectorError>, usize, usize, Notes) {
        let (sends, checks) = (RefCell::new(sends), RefCell::new(checks));
        let (sent, checked) = (RefCell::new(0), RefCell::new(0));
        let mut notes = Notes::new();
        let result = send_checked(
            "the change",
            &mut notes,
            || {
                *sent.borrow_mut() += 1;
                sends.borrow_mut().remove(0)
            },
            |_| {
                *checked.borrow_mut() += 1;
                checks.borrow_mut().remove(0)
            },
        );
        (result, sent.into_inner(), checked.into_inner(), notes)
    }

    #[test]
    fn an_answer_is_final() {
        let (r, sent, checked, _) = run(vec![Ok(7)], vec![]);
        assert_eq!((r, sent, checked), (Ok(Written::Answered(7)), 1, 0));
    }

    #[test]
    fn a_known_failure_is_not_checked() {
        let refused = Failure::status(error(ErrorKind::InvalidArgument, "POST /x: 400"), 400);
        let (r, sent, checked, _) = run(vec![Err(refused)], vec![]);
        assert_eq!(r.unwrap_err().message, "POST /x: 400");
        assert_eq!((sent, checked), (1, 0));
    }

    #[test]
    fn a_lost_answer_of_an_applied_change_is_not_sent_again() {
        let (r, sent, checked, notes) = run(vec![Err(lost())], vec![Ok(Some(3))]);
        assert_eq!((r, sent, checked), (Ok(Written::Confirmed(3)), 1, 1));
        assert!(notes.has(
            LogLevel::Warn,
            "POST /x: timed out; the change may or may not"
        ));
        assert!(notes.has(LogLevel::Info, "it is not sent again"));
    }

    #[test]
    fn a_change_not_in_effect_is_sent_once_more() {
        let (r, sent, checked, notes) = run(vec![Err(lost()), Ok(9)], vec![Ok(None)]);
        assert_eq!((r, sent, checked), (Ok(Written::Answered(9)), 2, 1));
        assert!(notes.has(LogLevel::Info, "sending it once more"));
        let (r, sent, checked, _) = run(vec![Err(lost()), Err(lost())], vec![Ok(None), Ok(None)]);
        let e = r.unwrap_err();
        assert_eq!(e.kind, ErrorKind::DeadlineExceeded);
        assert_eq!(
            e.message,
            "POST /x: timed out; a fresh read shows that the change did not take effect (sent 2 \
             times)"
        );
        assert_eq!((sent, checked), (2, 2));
    }

    #[test]
    fn a_failed_check_ends_without_sending_again() {
        let read = error(ErrorKind::Unavailable, "GET /x: reset");
        let (r, sent, checked, _) = run(vec![Err(lost())], vec![Err(read)]);
        let e = r.unwrap_err();
        assert_eq!(e.kind, ErrorKind::DeadlineExceeded);
        assert_eq!(
            e.message,
            "POST /x: timed out; the change may have taken effect: checking failed (GET /x: reset)"
        );
        assert_eq!((sent, checked), (1, 1));
    }
}
