//! Property tests of the c1z reader on any bytes (`prop_c1z_*`), standing in
//! for cargo-fuzz (which needs nightly; this project builds on stable).
//!
//! Files come in four layers: arbitrary bytes with or without the `C1ZF\0`
//! header; a valid zstd frame around garbage; a seed database with bytes
//! flipped or cut, recompressed; and a database with Baton's schema whose
//! rows hold arbitrary values and protobuf blobs (valid, mutated or random).
//! [`C1zReader::open`] must return `Ok` or a [`C1zError`], never panic; on an
//! opened file every listing and lookup, and every `baton` subcommand, must
//! end in data or an error, never a panic.
//!
//! The committed seeds (`tests/corpus/c1z`, plus three Go fixtures) run first
//! as fixed cases; `PROPTEST_CASES` sets the number of generated ones.

use std::path::Path;
use std::sync::OnceLock;

use proptest::collection::vec;
use proptest::option;
use proptest::prelude::*;
use proptest::sample::{select, Index};
use rusqlite::types::Value as Sql;

use super::props_db::{build, row, Cell, Row};
use super::*;
use crate::c1z::{EntitlementFilter, GrantFilter, ResourceFilter};
use crate::prop_support::run;

/// The committed seeds and the small Go fixtures, by name.
fn seeds() -> &'static [(String, Vec<u8>)] {
    static SEEDS: OnceLock<Vec<(String, Vec<u8>)>> = OnceLock::new();
    SEEDS.get_or_init(|| {
        let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests");
        let mut paths: Vec<_> = std::fs::read_dir(root.join("corpus/c1z"))
            .unwrap()
            .map(|e| e.unwrap().path())
            .collect();
        paths.sort();
        for go in [
            "sync-in-progress.c1z",
            "pebble-v3.c1z",
            "reader-not-a-c1z.txt",
        ] {
            paths.push(root.join("fixtures/go-c1z").join(go));
        }
        let seeds: Vec<_> = paths
            .into_iter()
            .map(|p| {
                (
                    p.file_name().unwrap().to_string_lossy().into(),
                    std::fs::read(&p).unwrap(),
                )
            })
            .collect();
        assert!(seeds.len() > 8, "the c1z corpus is missing");
        seeds
    })
}

/// The SQLite databases inside the seeds that have one.
fn seed_databases() -> &'static [Vec<u8>] {
    static DBS: OnceLock<Vec<Vec<u8>>> = OnceLock::new();
    DBS.get_or_init(|| {
        let dbs: Vec<_> = seeds()
            .iter()
            .filter_map(|(_, b)| zstd::decode_all(b.strip_prefix(MAGIC)?).ok())
            .filter(|db| db.starts_with(b"SQLite format 3\0"))
            .collect();
        assert!(dbs.len() >= 2, "the corpus holds no database to mutate");
        dbs
    })
}

const MAGIC: &[u8] = crate::c1z::MAGIC_V1;

/// Writes `bytes` as a file and reads everything the reader can read from it.
fn check_file(bytes: &[u8]) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("x.c1z");
    std::fs::write(&path, bytes).unwrap();
    match C1zReader::open(&path) {
        Ok(reader) => {
            walk(&reader);
            run_cli(&path, bytes.len().is_multiple_of(2));
        }
        Err(e) => assert!(!format!("{e} {e:?}").is_empty()),
    }
}

/// Every read of the reader; errors are fine, panics are not.
fn walk(r: &C1zReader) {
    let syncs = r.syncs().unwrap_or_default();
    let _ = (
        r.select_sync(None),
        r.select_sync(Some("s1")),
        r.latest_finished_sync(),
    );
    let mut ids: Vec<String> = syncs.iter().map(|s| s.sync_id.clone()).collect();
    ids.push("s1".into());
    for s in &syncs {
        let _ = (s.started(), s.ended(), r.stats(s));
    }
    let rid = ResourceId {
        resource_type: "user".into(),
        resource: "u1".into(),
        baton_resource: false,
    };
    for id in &ids {
        let filter = ResourceFilter {
            resource_type: Some("user".into()),
            parent: Some(("group".into(), "g1".into())),
        };
        r.resource_types(id).for_each(drop);
        r.resources(id, &ResourceFilter::default()).for_each(drop);
        r.resources(id, &filter).for_each(drop);
        r.entitlements(id, &EntitlementFilter::default())
            .for_each(drop);
        r.grants(id, &GrantFilter::default()).for_each(drop);
        let _ = (r.resource_type(id, "user"), r.resource(id, &rid));
        let _ = (r.entitlement(id, "group:g1:member"), r.grant(id, "g"));
        let _ = r.grants_needing_expansion(id);
    }
}

/// Every `baton` subcommand on the file, console or JSON.
fn run_cli(path: &Path, json: bool) {
    let file = path.to_string_lossy().into_owned();
    let commands: &[&[&str]] = &[
        &["syncs"],
        &["stats"],
        &["resource-types"],
        &["resources", "-t", "user"],
        &["entitlements", "-t", "group", "-r", "g1"],
        &["grants"],
        &["grants", "-e", "group:g1:member"],
        &["principals", "-t", "user", "-r", "u1"],
        &["diff"],
        &[
            "principals",
            "compare",
            "-e",
            "e",
            "--compare-entitlement",
            "e",
        ],
        &["resources", "--sync-id", "s1"],
    ];
    for command in commands {
        let format = if json { "json" } else { "console" };
        let mut args = vec!["baton", "-f", &file, "-o", format];
        args.extend_from_slice(command);
        let cli = crate::cli::reader::parse(args).expect("a valid command line");
        let mut out = Vec::new();
        if let Err(e) = crate::cli::reader::execute(&cli, &mut out) {
            assert!(!format!("{e:#}").is_empty());
        }
    }
}

/// One generated file.
#[derive(Clone, Debug)]
enum File {
    /// These bytes, as they are.
    Raw(Vec<u8>),
    /// The header, then a valid zstd frame around these bytes.
    Framed(Vec<u8>),
    /// A seed database with bytes overwritten (`(where, byte)`) and maybe cut short.
    Mutated(Index, Vec<(Index, u8)>, Option<Index>),
    /// A database with Baton's tables (or, if `false`, a broken copy of them) and these rows.
    Built(bool, Vec<Row>),
}

fn file() -> impl Strategy<Value = File> {
    let header = select(vec![&b""[..], &b"C1ZF\0"[..], &b"C1Z3\0"[..], &b"C1Z"[..]]);
    let raw = (header, vec(any::<u8>(), 0..300)).prop_map(|(h, b)| File::Raw([h, &b].concat()));
    let framed = prop_oneof![
        vec(any::<u8>(), 0..300),
        vec(any::<u8>(), 0..300).prop_map(|b| [&b"SQLite format 3\0"[..], &b].concat()),
    ]
    .prop_map(File::Framed);
    let mutated = (
        any::<Index>(),
        vec((any::<Index>(), any::<u8>()), 1..12),
        option::of(any::<Index>()),
    )
        .prop_map(|(seed, flips, cut)| File::Mutated(seed, flips, cut));
    let built = (prop::bool::weighted(0.85), vec(row(), 0..30))
        .prop_map(|(ok, rows)| File::Built(ok, rows));
    prop_oneof![1 => raw, 1 => framed, 2 => mutated, 4 => built]
}

/// The bytes of a generated file.
fn render(f: &File) -> Vec<u8> {
    let frame = |db: &[u8]| [MAGIC, &zstd::encode_all(db, 1).unwrap()].concat();
    match f {
        File::Raw(bytes) => bytes.clone(),
        File::Framed(bytes) => frame(bytes),
        File::Mutated(seed, flips, cut) => {
            let mut db = seed.get(seed_databases()).clone();
            for (at, byte) in flips {
                let i = at.index(db.len());
                db[i] = *byte;
            }
            if let Some(cut) = cut {
                db.truncate(cut.index(db.len()));
            }
            frame(&db)
        }
        File::Built(ok, rows) => frame(&build(*ok, rows)),
    }
}

#[test]
fn prop_c1z_any_file() {
    for (name, bytes) in seeds() {
        // Shown with a failure, to name the seed.
        println!("seed {name}");
        check_file(bytes);
    }
    run(64, file(), |f| check_file(&render(f)));
}

#[test]
fn prop_c1z_timestamps() {
    use crate::c1z::timestamp::UnixTime;
    // Found by this target: byte 10 inside a character used to panic.
    assert_eq!(UnixTime::parse_db_text("2025-01-0é 1"), None);
    // `started_at` and `ended_at` are whatever text a file holds.
    let text = prop_oneof![
        ".{0,32}",
        "[0-9]{4}-[0-9]{2}-[0-9]{1,2}[ T]?[0-9:.+Z-]{0,20}"
    ];
    run(256, text, |t| {
        let _ = UnixTime::parse_db_text(t).map(|u| u.to_db_text());
    });
}

/// Regenerates the generated part of `tests/corpus/c1z` with this module's
/// own builder: `cargo test -p baton-host regenerate_c1z_corpus -- --ignored`.
#[test]
#[ignore]
fn regenerate_c1z_corpus() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/corpus/c1z");
    let row = |t: usize, cells: &[Sql]| Row(t, cells.iter().cloned().map(Cell).collect());
    let t = |s: &str| Sql::Text(s.into());
    let sync = |id: &str, started: &str, ended: Sql| {
        row(
            4,
            &[
                t(id),
                t(started),
                ended,
                t(""),
                t("full"),
                t(""),
                t(""),
                Sql::Integer(0),
            ],
        )
    };
    let garbage = vec![
        sync("s1", "2026-01-01 10:00:00", t("2026-01-01 10:05:00")),
        row(
            0,
            &[
                t("user"),
                Sql::Blob(vec![0x0a, 0xff]),
                t("s1"),
                t("2026-01-01"),
            ],
        ),
        row(
            1,
            &[
                t("user"),
                t("u1"),
                Sql::Null,
                Sql::Null,
                Sql::Blob(vec![0x12, 0x05, 1]),
                t("s1"),
                t("2026-01-01"),
            ],
        ),
        row(
            3,
            &[
                t("group"),
                t("g1"),
                t("group:g1:member"),
                t("user"),
                t("u1"),
                t("g"),
                Sql::Integer(1),
                Sql::Text("text, not a blob".into()),
                t("s1"),
                t("2026-01-01"),
            ],
        ),
    ];
    let odd_syncs = vec![
        sync("s1", "2025-01-0é 1", Sql::Null),
        sync("s2", "2026-02-30", Sql::Integer(7)),
        row(
            4,
            &[
                Sql::Integer(3),
                Sql::Blob(vec![0xff]),
                t(""),
                t(""),
                t("?"),
                t(""),
                t(""),
                t("x"),
            ],
        ),
    ];
    let files = [
        ("garbage-blobs.c1z", build(true, &garbage)),
        ("odd-sync-runs.c1z", build(true, &odd_syncs)),
        ("missing-columns.c1z", build(false, &garbage)),
    ];
    for (name, db) in files {
        let bytes = [MAGIC, &zstd::encode_all(&db[..], 19).unwrap()].concat();
        std::fs::write(dir.join(name), bytes).unwrap();
    }
    let framed = |b: &[u8]| [MAGIC, &zstd::encode_all(b, 19).unwrap()].concat();
    std::fs::write(
        dir.join("zstd-around-garbage.c1z"),
        framed(b"not a database"),
    )
    .unwrap();
    std::fs::write(dir.join("zstd-around-nothing.c1z"), framed(b"")).unwrap();
    let fake_sqlite = [&b"SQLite format 3\0"[..], &[0xff; 84]].concat();
    std::fs::write(
        dir.join("zstd-around-fake-sqlite.c1z"),
        framed(&fake_sqlite),
    )
    .unwrap();
}
