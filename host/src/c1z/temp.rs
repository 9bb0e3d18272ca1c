//! Temporary files of the c1z store, and their cleanup after interruptions.
//!
//! Every temp file is registered while it lives, so a signal handler can
//! remove them all before the process exits ([`remove_live_temp_files`]).
//! A process killed outright (SIGKILL, power loss) cannot clean up; its
//! files carry its pid in their names, and the next writer for the same
//! target removes those whose process is gone.

use std::path::{Path, PathBuf};
use std::sync::Mutex;

use tempfile::TempPath;

use super::C1zError;

static LIVE: Mutex<Vec<PathBuf>> = Mutex::new(Vec::new());

fn live() -> std::sync::MutexGuard<'static, Vec<PathBuf>> {
    // A panic while holding the lock leaves a plain list behind; keep using it.
    LIVE.lock().unwrap_or_else(|e| e.into_inner())
}

/// A temp file that is deleted on drop and known to the signal handler.
#[derive(Debug)]
pub(crate) struct TempFile {
    path: Option<TempPath>,
}

impl TempFile {
    /// Creates `.<target name>.<pid>.<random><suffix>` next to `target`.
    pub(crate) fn beside(
        dir: &Path,
        target_name: &str,
        suffix: &str,
    ) -> Result<(std::fs::File, TempFile), C1zError> {
        let (file, path) = tempfile::Builder::new()
            .prefix(&format!(".{target_name}.{}.", std::process::id()))
            .suffix(suffix)
            .tempfile_in(dir)
            .map_err(|e| C1zError::io("create a temp file in", dir, e))?
            .into_parts();
        live().push(path.to_path_buf());
        Ok((file, TempFile { path: Some(path) }))
    }

    /// The file's path.
    pub(crate) fn path(&self) -> &Path {
        self.path.as_ref().expect("present until consumed")
    }

    /// Stops tracking the file and hands it over (for example to be renamed).
    pub(crate) fn into_temp_path(mut self) -> TempPath {
        let path = self.path.take().expect("present until consumed");
        live().retain(|p| p != &*path);
        path
    }
}

impl Drop for TempFile {
    fn drop(&mut self) {
        if let Some(path) = self.path.take() {
            live().retain(|p| p != &*path);
            drop(path); // deletes the file
        }
    }
}

/// Deletes every temp file still registered. For signal handlers: the
/// process is about to exit, so nothing else will use them.
pub fn remove_live_temp_files() {
    for path in live().drain(..) {
        let _ = std::fs::remove_file(&path);
    }
}

/// Removes temp files for `target_name` in `dir` left by processes that no
/// longer exist. Files of live processes (another sync in progress) stay.
pub(crate) fn remove_stale(dir: &Path, target_name: &str) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    let prefix = format!(".{target_name}.");
    for entry in entries.flatten() {
        let name = entry.file_name();
        let name = name.to_string_lossy();
        let Some(rest) = name.strip_prefix(&prefix) else {
            continue;
        };
        if !(rest.ends_with(".db.tmp") || rest.ends_with(".c1z.tmp")) {
            continue;
        }
        let Some(pid) = rest.split('.').next().and_then(|p| p.parse::<u32>().ok()) else {
            continue;
        };
        if !process_exists(pid) {
            tracing::info!(file = %entry.path().display(), pid, "removing a temp file left by an interrupted sync");
            let _ = std::fs::remove_file(entry.path());
        }
    }
}

#[cfg(target_os = "linux")]
fn process_exists(pid: u32) -> bool {
    pid == std::process::id() || Path::new(&format!("/proc/{pid}")).exists()
}

// Without a cheap, portable liveness check, assume the owner is alive and
// leave the file: removing a live sync's file would be worse than a leftover.
#[cfg(not(target_os = "linux"))]
fn process_exists(_pid: u32) -> bool {
    true
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn files_are_tracked_until_dropped_or_handed_over() {
        let dir = tempfile::tempdir().unwrap();
        let (_, a) = TempFile::beside(dir.path(), "x.c1z", ".db.tmp").unwrap();
        let (_, b) = TempFile::beside(dir.path(), "x.c1z", ".c1z.tmp").unwrap();
        let (a_path, b_path) = (a.path().to_path_buf(), b.path().to_path_buf());
        assert!(a_path
            .file_name()
            .unwrap()
            .to_string_lossy()
            .starts_with(&format!(".x.c1z.{}.", std::process::id())));
        assert!(live().contains(&a_path) && live().contains(&b_path));
        drop(a);
        assert!(!a_path.exists() && !live().contains(&a_path));
        let kept = b.into_temp_path();
        assert!(!live().contains(&b_path) && b_path.exists());
        drop(kept);
    }

    #[test]
    fn stale_files_of_dead_processes_are_removed_and_others_kept() {
        let dir = tempfile::tempdir().unwrap();
        // pid 0 never names a user process; u32::MAX is far beyond pid_max.
        let dead = dir.path().join(format!(".s.c1z.{}.abc.db.tmp", u32::MAX));
        let mine = dir
            .path()
            .join(format!(".s.c1z.{}.abc.c1z.tmp", std::process::id()));
        let other = dir.path().join(format!(".t.c1z.{}.abc.db.tmp", u32::MAX));
        for p in [&dead, &mine, &other] {
            std::fs::write(p, b"x").unwrap();
        }
        remove_stale(dir.path(), "s.c1z");
        assert_eq!(!dead.exists(), cfg!(target_os = "linux"));
        assert!(mine.exists(), "a live process's file stays");
        assert!(other.exists(), "another target's file stays");
    }
}
