//! An on-disk cache of precompiled components, so that only the first run
//! pays for Cranelift.
//!
//! An entry's name is the SHA-256 of the engine's compatibility hash (wasmtime
//! version and compiler settings) and the component's bytes, so a changed
//! component or engine never reuses a stale artifact. Loading precompiled code
//! is `unsafe` in wasmtime: it is native code. The cache therefore lives in a
//! directory only its owner may write (created 0700), every entry starts with
//! the SHA-256 of its artifact and is checked before use, and entries are
//! written to a temp file and renamed, so a reader never sees half a file. A
//! bad or unreadable entry is recompiled and replaced, never trusted.

use std::fs;
use std::hash::{Hash, Hasher};
use std::io::Write;
use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};
use wasmtime::component::Component;
use wasmtime::Engine;

/// Where precompiled components are kept.
#[derive(Debug, Clone)]
pub struct ComponentCache {
    dir: PathBuf,
}

/// Feeds `Hash` output into SHA-256 (wasmtime exposes its compatibility key only as `Hash`).
struct Sha256Hasher(Sha256);

impl Hasher for Sha256Hasher {
    fn finish(&self) -> u64 {
        unreachable!("only the digest is used")
    }
    fn write(&mut self, bytes: &[u8]) {
        self.0.update(bytes);
    }
}

impl ComponentCache {
    /// A cache in `dir` (created on first use).
    pub fn new(dir: impl Into<PathBuf>) -> ComponentCache {
        ComponentCache { dir: dir.into() }
    }

    /// `$BATON_CACHE_DIR`, else `$XDG_CACHE_HOME/baton`, else `~/.cache/baton`.
    pub fn default_location() -> Option<ComponentCache> {
        let dir = std::env::var_os("BATON_CACHE_DIR")
            .map(PathBuf::from)
            .or_else(|| std::env::var_os("XDG_CACHE_HOME").map(|d| PathBuf::from(d).join("baton")))
            .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".cache/baton")))?;
        Some(ComponentCache::new(dir))
    }

    /// The cache directory.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    fn entry(&self, engine: &Engine, bytes: &[u8]) -> PathBuf {
        let mut hasher = Sha256Hasher(Sha256::new());
        engine.precompile_compatibility_hash().hash(&mut hasher);
        hasher.0.update(bytes);
        self.dir.join(format!("{:x}.cwasm", hasher.0.finalize()))
    }

    /// The compiled component: from the cache when a valid entry exists,
    /// else compiled now and stored. Cache failures only cost speed.
    pub(crate) fn load(&self, engine: &Engine, bytes: &[u8]) -> wasmtime::Result<Component> {
        let path = self.entry(engine, bytes);
        if let Some(component) = self.read(engine, &path) {
            return Ok(component);
        }
        let artifact = engine.precompile_component(bytes)?;
        if let Err(e) = self.write(&path, &artifact) {
            tracing::debug!(error = %e, dir = %self.dir.display(), "could not store the compiled component");
        }
        // SAFETY: the artifact was produced just now by this engine.
        unsafe { Component::deserialize(engine, &artifact) }
    }

    fn read(&self, engine: &Engine, path: &Path) -> Option<Component> {
        let data = fs::read(path).ok()?;
        let (digest, artifact) = data.split_at_checked(32)?;
        if Sha256::digest(artifact).as_slice() != digest {
            tracing::warn!(file = %path.display(), "ignoring a corrupt compiled-component cache entry");
            return None;
        }
        // SAFETY: the entry was written by `write` below into a directory only
        // this user can write, and its checksum matches what was written.
        match unsafe { Component::deserialize(engine, artifact) } {
            Ok(c) => Some(c),
            Err(e) => {
                tracing::debug!(file = %path.display(), error = %format!("{e:#}"), "stale cache entry");
                None
            }
        }
    }

    fn write(&self, path: &Path, artifact: &[u8]) -> std::io::Result<()> {
        create_private_dir(&self.dir)?;
        let mut tmp = tempfile::NamedTempFile::new_in(&self.dir)?;
        tmp.write_all(&Sha256::digest(artifact))?;
        tmp.write_all(artifact)?;
        tmp.as_file().sync_all()?;
        tmp.persist(path).map_err(|e| e.error)?;
        Ok(())
    }
}

#[cfg(unix)]
fn create_private_dir(dir: &Path) -> std::io::Result<()> {
    use std::os::unix::fs::{DirBuilderExt, MetadataExt, PermissionsExt};
    fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(dir)?;
    let meta = fs::metadata(dir)?;
    // Precompiled code from a directory others can write would be theirs to choose.
    let ours = tempfile::tempfile_in(dir)?.metadata()?.uid() == meta.uid();
    if meta.permissions().mode() & 0o022 != 0 || !ours {
        return Err(std::io::Error::other(format!(
            "{} is writable by others or not ours; not caching compiled code there",
            dir.display()
        )));
    }
    Ok(())
}

#[cfg(not(unix))]
fn create_private_dir(dir: &Path) -> std::io::Result<()> {
    fs::create_dir_all(dir)
}

#[cfg(test)]
mod tests {
    use super::*;

    const WAT: &str = r#"(component (core module (func (export "f"))))"#;

    fn engine() -> Engine {
        let mut config = wasmtime::Config::new();
        config.wasm_component_model(true);
        Engine::new(&config).unwrap()
    }

    #[test]
    fn second_load_reads_the_entry_and_corruption_is_recompiled() {
        let dir = tempfile::tempdir().unwrap();
        let cache = ComponentCache::new(dir.path().join("c"));
        let engine = engine();
        let bytes = WAT.as_bytes().to_vec();
        cache.load(&engine, &bytes).unwrap();
        let entry = cache.entry(&engine, &bytes);
        assert!(entry.is_file(), "the compiled component was stored");
        let stored = fs::read(&entry).unwrap();
        assert!(
            cache.read(&engine, &entry).is_some(),
            "a valid entry is used"
        );

        let mut bad = stored.clone();
        let last = bad.len() - 1;
        bad[last] ^= 0xff;
        fs::write(&entry, &bad).unwrap();
        assert!(
            cache.read(&engine, &entry).is_none(),
            "a corrupt entry is refused"
        );
        cache.load(&engine, &bytes).unwrap();
        assert_eq!(fs::read(&entry).unwrap(), stored, "and replaced");

        let other = cache.entry(&engine, b"other bytes");
        assert_ne!(entry, other, "entries are keyed by the component's bytes");
    }
}
