//! Temporary files of the c1z store, and their cleanup after interruptions.
//!
//! Every temp file is registered while it lives, so a signal handler can
//! remove them all before the process exits ([`remove_temp_files_before_exit`]).
//! Creating, renaming and removing happen under one lock, which the handler
//! keeps until the process is gone: a temp file is either removed by it or
//! never created, and the target is either replaced before the handler runs
//! (which it then reports) or not at all.
//! A process killed outright (SIGKILL, power loss) cannot clean up; its
//! files carry its pid in their names, and the next writer for the same
//! target removes those whose process is gone.

use std::path::{Path, PathBuf};
use std::sync::Mutex;

use tempfile::TempPath;

use super::C1zError;

/// The temp files alive now, and whether one was renamed over its target.
struct Registry {
    live: Vec<PathBuf>,
    replaced: bool,
}

static REGISTRY: Mutex<Registry> = Mutex::new(Registry {
    live: Vec::new(),
    replaced: false,
});

fn registry() -> std::sync::MutexGuard<'static, Registry> {
    // A panic while holding the lock leaves plain data behind; keep using it.
    REGISTRY.lock().unwrap_or_else(|e| e.into_inner())
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
        // Locked across the creation, so the signal handler cannot miss the file.
        let mut registry = registry();
        let (file, path) = tempfile::Builder::new()
            .prefix(&format!(".{target_name}.{}.", std::process::id()))
            .suffix(suffix)
            .tempfile_in(dir)
            .map_err(|e| C1zError::io("create a temp file in", dir, e))?
            .into_parts();
        registry.live.push(path.to_path_buf());
        Ok((file, TempFile { path: Some(path) }))
    }

    /// The file's path.
    pub(crate) fn path(&self) -> &Path {
        self.path.as_ref().expect("present until consumed")
    }

    /// Renames the file over `target`; on failure the file is deleted. Atomic
    /// with respect to the signal handler: the file is tracked up to the rename.
    pub(crate) fn persist(mut self, target: &Path) -> std::io::Result<()> {
        let path: TempPath = self.path.take().expect("present until consumed");
        let mut registry = registry();
        registry.live.retain(|p| p != &*path);
        match path.persist(target) {
            Ok(()) => {
                registry.replaced = true;
                Ok(())
            }
            // Dropping the returned TempPath deletes the file.
            Err(e) => Err(e.error),
        }
    }
}

impl Drop for TempFile {
    fn drop(&mut self) {
        if let Some(path) = self.path.take() {
            let mut registry = registry();
            registry.live.retain(|p| p != &*path);
            drop(path); // deletes the file
        }
    }
}

/// Deletes every temp file still registered and returns whether a c1z
/// writer of this process has already renamed its new file over the target.
///
/// For signal handlers, which must exit the process right after: the lock
/// stays held for good, so any thread that goes on to create, rename or drop
/// a temp file blocks until the exit instead of leaving a file behind or
/// replacing the target behind the handler's back.
pub fn remove_temp_files_before_exit() -> bool {
    let mut registry = registry();
    for path in registry.live.drain(..) {
        let _ = std::fs::remove_file(&path);
    }
    let replaced = registry.replaced;
    std::mem::forget(registry);
    replaced
}

/// Takes the same lock for good before a normal exit. A signal handler that
/// comes later then blocks instead of reporting an interruption of a run that
/// is over (and racing its exit code against this one); a handler that came
/// first holds the lock, so this blocks until the handler's exit. Either way
/// the exit code and the last log line agree.
pub fn claim_exit() {
    std::mem::forget(registry());
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

    fn tracked(path: &Path) -> bool {
        registry().live.iter().any(|p| p == path)
    }

    #[test]
    fn files_are_tracked_until_dropped_or_renamed() {
        let dir = tempfile::tempdir().unwrap();
        let (_, a) = TempFile::beside(dir.path(), "x.c1z", ".db.tmp").unwrap();
        let (_, b) = TempFile::beside(dir.path(), "x.c1z", ".c1z.tmp").unwrap();
        let (a_path, b_path) = (a.path().to_path_buf(), b.path().to_path_buf());
        assert!(a_path
            .file_name()
            .unwrap()
            .to_string_lossy()
            .starts_with(&format!(".x.c1z.{}.", std::process::id())));
        assert!(tracked(&a_path) && tracked(&b_path));
        drop(a);
        assert!(!a_path.exists() && !tracked(&a_path));
        let target = dir.path().join("x.c1z");
        b.persist(&target).unwrap();
        assert!(!tracked(&b_path) && !b_path.exists() && target.exists());
        assert!(registry().replaced);
    }

    #[test]
    fn a_failed_rename_deletes_the_file() {
        let dir = tempfile::tempdir().unwrap();
        let (_, a) = TempFile::beside(dir.path(), "y.c1z", ".c1z.tmp").unwrap();
        let a_path = a.path().to_path_buf();
        let target = dir.path().join("missing-folder").join("y.c1z");
        assert!(a.persist(&target).is_err());
        assert!(!tracked(&a_path) && !a_path.exists());
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
