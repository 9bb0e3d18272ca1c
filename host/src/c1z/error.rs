//! The error type of the c1z store.

use std::path::PathBuf;

/// Everything that can go wrong reading or writing a c1z. Messages name the file, table,
/// row or object involved so the `baton` CLI can print them as they are.
#[derive(Debug, thiserror::Error)]
pub enum C1zError {
    /// The c1z file (or its folder) does not exist.
    #[error("file does not exist: {}", .0.display())]
    NotFound(PathBuf),
    /// An I/O operation on `path` failed.
    #[error("cannot {op} {}: {source}", path.display())]
    Io {
        /// What we were doing, e.g. `read` or `rename temp file to`.
        op: &'static str,
        /// The file involved.
        path: PathBuf,
        /// The underlying error.
        #[source]
        source: std::io::Error,
    },
    /// The file is not a c1z we can read (wrong magic, v3 format, bad zstd, not SQLite, ...).
    #[error("{}: {message}", path.display())]
    Format {
        /// The c1z file.
        path: PathBuf,
        /// What is wrong with it.
        message: String,
    },
    /// An SQLite statement failed.
    #[error("SQLite: {0}")]
    Sqlite(#[from] rusqlite::Error),
    /// A stored protobuf blob does not decode.
    #[error("corrupt {table} row {row_id}: data does not decode as {message}: {source}")]
    Decode {
        /// Table holding the blob.
        table: &'static str,
        /// Its rowid.
        row_id: i64,
        /// Expected message type.
        message: &'static str,
        /// The prost error.
        #[source]
        source: prost::DecodeError,
    },
    /// An object handed to the writer breaks a c1z invariant (`c1z-format.md` 7.4).
    #[error("invalid {kind} {id:?}: {problem}")]
    Invalid {
        /// `resource type`, `resource`, `entitlement` or `grant`.
        kind: &'static str,
        /// The offending object's id (as far as it has one).
        id: String,
        /// What is wrong.
        problem: String,
    },
    /// The existing target cannot be read, so its sync history cannot be kept; the message
    /// says how to start fresh. The target is left as it was.
    #[error("{}: {message}", path.display())]
    History {
        /// The target c1z.
        path: PathBuf,
        /// Why, and what to do.
        message: String,
    },
    /// A requested sync does not exist, or there is no sync to show.
    #[error("{0}")]
    Sync(String),
    /// The OS random source failed (KSUID generation).
    #[error("cannot get random bytes for a sync id: {0}")]
    Random(getrandom::Error),
    /// The database being written reached the size set with
    /// [`C1zWriter::limit_size`](super::C1zWriter::limit_size); SQLite refused to grow it.
    #[error("the database reached its size limit of {bytes} bytes")]
    SizeLimit {
        /// The limit.
        bytes: u64,
    },
}

impl C1zError {
    /// Wraps an I/O error with the operation and path.
    pub fn io(op: &'static str, path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        C1zError::Io {
            op,
            path: path.into(),
            source,
        }
    }

    pub(crate) fn invalid(kind: &'static str, id: &str, problem: impl Into<String>) -> Self {
        C1zError::Invalid {
            kind,
            id: id.to_string(),
            problem: problem.into(),
        }
    }
}
