//! The c1z container: a 5-byte magic header followed by zstd-compressed SQLite.
//!
//! Both directions stream through files so a multi-gigabyte database never sits in memory.
//! Decoding enforces the same limits as Baton's Go reader (window ≤ 128 MiB, output ≤
//! 3 GiB, overridable with the same environment variables) so a file we accept is one Go
//! accepts, and a hostile file cannot fill the disk.

use super::C1zError;
use std::fs::File;
use std::io::{self, BufRead, BufReader, BufWriter, Read, Write};
use std::path::Path;

/// Magic of the v1 format (`C1ZF\0`), the only one Baton's v0.7 CLI reads and we write.
pub const MAGIC_V1: &[u8; 5] = b"C1ZF\0";
/// Magic of the newer v3 / Pebble format (`C1Z3\0`), which we recognise only to reject it.
pub const MAGIC_V3: &[u8; 5] = b"C1Z3\0";
/// zstd level. Go writes level 3 ("SpeedDefault"); any level reads the same. On a 100k-user
/// sync (222 MB of SQLite) level 1 compressed in half the time of level 3 (0.40 s against
/// 0.80 s) into a slightly smaller file (33.7 MB against 34.4 MB).
const ZSTD_LEVEL: i32 = 1;
/// zstd worker threads at most. Two halve the time again at level 1 with no peak-memory cost
/// to speak of; at level 3 they raised the peak by 43 MiB.
const ZSTD_MAX_WORKERS: usize = 2;
/// Default cap on the decompressed database size (Go v0.7.27: 3 GiB).
const DEFAULT_MAX_DECODED_MB: u64 = 3 * 1024;
/// Default cap on the zstd window (Go: 128 MiB).
const DEFAULT_MAX_WINDOW_MB: u64 = 128;

/// Databases from this size on are compressed by several zstd workers.
const MULTITHREAD_FROM_BYTES: u64 = 32 << 20;

/// Writes `C1ZF\0` and one zstd frame (level 1, checksum, content size) of `db` to `out`.
/// Returns the number of uncompressed bytes.
pub fn write_c1z(db: &Path, out: File, out_path: &Path) -> Result<u64, C1zError> {
    let mut src = File::open(db).map_err(|e| C1zError::io("open", db, e))?;
    let size = src
        .metadata()
        .map_err(|e| C1zError::io("stat", db, e))?
        .len();
    let werr = |e| C1zError::io("write", out_path, e);
    let mut buffered = BufWriter::with_capacity(1 << 20, out);
    buffered.write_all(MAGIC_V1).map_err(werr)?;
    let mut enc = zstd::stream::write::Encoder::new(buffered, ZSTD_LEVEL).map_err(werr)?;
    enc.include_checksum(true).map_err(werr)?;
    let workers = std::thread::available_parallelism().map_or(1, |n| n.get());
    // zstd's workers are threads started per file; they pay off only for large files,
    // and a platform finishing many small syncs at once would otherwise run two extra
    // threads for each.
    if workers > 1 && size >= MULTITHREAD_FROM_BYTES {
        enc.multithread(workers.min(ZSTD_MAX_WORKERS) as u32)
            .map_err(werr)?;
    }
    enc.set_pledged_src_size(Some(size)).map_err(werr)?;
    let copied = io::copy(&mut src, &mut enc).map_err(werr)?;
    let buffered = enc.finish().map_err(werr)?;
    let file = buffered.into_inner().map_err(|e| werr(e.into_error()))?;
    file.sync_all()
        .map_err(|e| C1zError::io("fsync", out_path, e))?;
    Ok(copied)
}

/// Checks the header of the c1z at `path` and streams its zstd payload into `dest`.
/// Returns the decompressed size.
pub fn read_c1z(path: &Path, dest: &Path) -> Result<u64, C1zError> {
    let format = |message: String| C1zError::Format {
        path: path.to_path_buf(),
        message,
    };
    let file = File::open(path).map_err(|e| match e.kind() {
        io::ErrorKind::NotFound => C1zError::NotFound(path.to_path_buf()),
        _ => C1zError::io("open", path, e),
    })?;
    let meta = file.metadata().map_err(|e| C1zError::io("stat", path, e))?;
    if meta.is_dir() {
        return Err(format("is a directory, not a c1z file".into()));
    }
    if meta.len() == 0 {
        return Err(format(
            "the file is empty (0 bytes); a c1z holds at least a header and a database".into(),
        ));
    }
    let mut src = BufReader::with_capacity(1 << 20, file);
    let mut magic = [0u8; 5];
    let got = read_up_to(&mut src, &mut magic).map_err(|e| C1zError::io("read", path, e))?;
    if &magic == MAGIC_V3 {
        return Err(format(
            "this is Baton's newer v3 (Pebble) c1z format (header C1Z3), which this reader does \
             not support; it reads v1 files (header C1ZF), like Baton's v0.7 CLI"
                .into(),
        ));
    }
    if got < 5 || &magic != MAGIC_V1 {
        return Err(format(format!(
            "not a c1z file: it does not start with the C1ZF header (first bytes: {})",
            escape_bytes(&magic[..got])
        )));
    }

    if src
        .fill_buf()
        .map_err(|e| C1zError::io("read", path, e))?
        .is_empty()
    {
        return Err(format(
            "the c1z holds no database (nothing after the header)".into(),
        ));
    }
    let max_decoded = env_mb("BATON_DECODER_MAX_DECODED_SIZE_MB", DEFAULT_MAX_DECODED_MB) << 20;
    let max_window = env_mb("BATON_DECODER_MAX_MEMORY_MB", DEFAULT_MAX_WINDOW_MB) << 20;
    let zerr = |e: io::Error| format(format!("the zstd payload is corrupt or truncated: {e}"));
    let mut dec = zstd::stream::read::Decoder::with_buffer(src).map_err(zerr)?;
    // Largest power-of-two window not above the cap; zstd rejects frames needing more.
    dec.window_log_max(63 - max_window.max(1 << 10).leading_zeros())
        .map_err(zerr)?;
    let out = File::create(dest).map_err(|e| C1zError::io("create", dest, e))?;
    let mut out = BufWriter::with_capacity(1 << 20, out);
    let copied = io::copy(&mut (&mut dec).take(max_decoded + 1), &mut out).map_err(|e| {
        if e.kind() == io::ErrorKind::WriteZero || e.raw_os_error().is_some() {
            C1zError::io("write", dest, e)
        } else {
            zerr(e)
        }
    })?;
    if copied > max_decoded {
        return Err(format(format!(
            "the database inside is larger than the {} MiB limit (set \
             BATON_DECODER_MAX_DECODED_SIZE_MB to raise it)",
            max_decoded >> 20
        )));
    }
    out.flush().map_err(|e| C1zError::io("write", dest, e))?;
    if copied == 0 {
        return Err(format(
            "the c1z holds no database (empty zstd payload)".into(),
        ));
    }
    Ok(copied)
}

/// Reads until `buf` is full or EOF; returns the number of bytes read.
fn read_up_to(r: &mut impl Read, buf: &mut [u8]) -> io::Result<usize> {
    let mut n = 0;
    while n < buf.len() {
        match r.read(&mut buf[n..])? {
            0 => break,
            k => n += k,
        }
    }
    Ok(n)
}

fn env_mb(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.trim().parse::<u64>().ok())
        .filter(|&v| v > 0)
        .unwrap_or(default)
}

fn escape_bytes(b: &[u8]) -> String {
    if b.is_empty() {
        return "none".into();
    }
    b.iter()
        .flat_map(|&c| std::ascii::escape_default(c))
        .map(char::from)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn write(dir: &Path, name: &str, bytes: &[u8]) -> std::path::PathBuf {
        let p = dir.join(name);
        std::fs::write(&p, bytes).unwrap();
        p
    }

    #[test]
    fn round_trip_and_header_errors() {
        let dir = tempfile::tempdir().unwrap();
        let db = write(
            dir.path(),
            "db",
            &b"SQLite format 3\0 and more".repeat(1000),
        );
        let c1z = dir.path().join("x.c1z");
        let n = write_c1z(&db, File::create(&c1z).unwrap(), &c1z).unwrap();
        assert_eq!(n, 25_000);
        let bytes = std::fs::read(&c1z).unwrap();
        assert_eq!(&bytes[..9], b"C1ZF\0\x28\xb5\x2f\xfd");
        let out = dir.path().join("out");
        assert_eq!(read_c1z(&c1z, &out).unwrap(), 25_000);
        assert_eq!(std::fs::read(&out).unwrap(), std::fs::read(&db).unwrap());

        let err = |p: &Path| read_c1z(p, &out).unwrap_err().to_string();
        assert!(err(&dir.path().join("nope")).starts_with("file does not exist: "));
        assert!(err(&write(dir.path(), "v3", b"C1Z3\0\0\0\0\x02ab")).contains("v3 (Pebble)"));
        assert!(err(&write(dir.path(), "txt", b"hello world")).contains("not a c1z file"));
        assert!(err(&write(dir.path(), "short", b"C1")).contains("not a c1z file"));
        assert!(err(&write(dir.path(), "empty", b"")).contains("empty (0 bytes)"));
        let e = err(&write(dir.path(), "hdr", b"C1ZF\0"));
        assert!(e.contains("no database"), "{e}");
        let mut trunc = bytes.clone();
        trunc.truncate(bytes.len() - 8);
        assert!(err(&write(dir.path(), "trunc", &trunc)).contains("corrupt or truncated"));
    }
}
