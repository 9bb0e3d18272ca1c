//! Log lines collected while handling one export call.
//!
//! Mapping and paging code is pure so that it runs in native unit tests, where
//! the host's `log` import does not exist. It records what it wants to say in a
//! [`Notes`] buffer; `lib.rs` forwards the buffer to the host after the call,
//! whether the call succeeded or not.

use crate::baton::connector::types::LogLevel;

/// An ordered buffer of log lines for the host's logger.
#[derive(Debug, Default)]
pub struct Notes {
    lines: Vec<(LogLevel, String)>,
    repeated: Vec<Repeated>,
}

/// One occurrence of a warning that may repeat for many objects; the host
/// counts them (`host.warn-repeated`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Repeated {
    /// What the warning is, the same for every occurrence.
    pub kind: &'static str,
    /// The variant counted apart.
    pub detail: String,
    /// The object it is about.
    pub subject: String,
    /// The whole line.
    pub message: String,
}

impl Notes {
    /// An empty buffer.
    pub fn new() -> Self {
        Self::default()
    }

    /// Records a debug line.
    pub fn debug(&mut self, message: impl Into<String>) {
        self.lines.push((LogLevel::Debug, message.into()));
    }

    /// Records an info line.
    pub fn info(&mut self, message: impl Into<String>) {
        self.lines.push((LogLevel::Info, message.into()));
    }

    /// Records a warning.
    pub fn warn(&mut self, message: impl Into<String>) {
        self.lines.push((LogLevel::Warn, message.into()));
    }

    /// Records a warning that may repeat for many objects of a sync.
    pub fn warn_repeated(
        &mut self,
        kind: &'static str,
        detail: impl Into<String>,
        subject: impl Into<String>,
        message: impl Into<String>,
    ) {
        self.repeated.push(Repeated {
            kind,
            detail: detail.into(),
            subject: subject.into(),
            message: message.into(),
        });
    }

    /// Removes and returns every recorded repeated warning, oldest first.
    pub fn drain_repeated(&mut self) -> Vec<Repeated> {
        std::mem::take(&mut self.repeated)
    }

    /// Removes and returns every recorded line, oldest first.
    pub fn drain(&mut self) -> Vec<(LogLevel, String)> {
        std::mem::take(&mut self.lines)
    }

    /// The recorded lines (for tests and assertions).
    #[cfg(test)]
    pub fn lines(&self) -> &[(LogLevel, String)] {
        &self.lines
    }

    /// True when some recorded line at `level` contains `needle`; a
    /// repeated warning counts as a warning.
    #[cfg(test)]
    pub fn has(&self, level: LogLevel, needle: &str) -> bool {
        self.lines
            .iter()
            .any(|(l, m)| *l == level && m.contains(needle))
            || (level == LogLevel::Warn && self.repeated.iter().any(|r| r.message.contains(needle)))
    }
}
