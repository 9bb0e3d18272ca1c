//! Unit tests of the reader on Go-written fixtures and damaged files.

use super::*;
use crate::c1z::ResourceFilter;

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/go-c1z")
        .join(name)
}

#[test]
fn reads_go_written_fixtures() {
    let r = C1zReader::open(&fixture("small-expanded.c1z")).unwrap();
    let sync = r.select_sync(None).unwrap();
    assert_eq!(sync.sync_id, "36zfOAoWMxQdISbixanQCRBiX7E");
    assert!(sync.is_finished() && !sync.supports_diff);
    let stats = r
        .stats(&r.latest_finished_sync().unwrap().unwrap())
        .unwrap();
    assert_eq!(
        (stats["resource_types"], stats["grants"], stats["user"]),
        (4, 14_981, 1000)
    );
    assert_eq!(
        r.resources(&sync.sync_id, &ResourceFilter::default())
            .count(),
        1221
    );
    assert_eq!(r.grants_needing_expansion(&sync.sync_id).unwrap(), 0);

    for (name, resources) in [("small-unexpanded.c1z", 1221), ("sync-in-progress.c1z", 79)] {
        let r = C1zReader::open(&fixture(name)).unwrap();
        let sync = r.select_sync(None).unwrap();
        assert!(!sync.is_finished(), "{name}");
        assert!(r.latest_finished_sync().unwrap().is_none());
        let all: Result<Vec<_>, _> = r
            .resources(&sync.sync_id, &ResourceFilter::default())
            .collect();
        assert_eq!(all.unwrap().len(), resources, "{name}");
    }
    let err = C1zReader::open(&fixture("pebble-v3.c1z"))
        .err()
        .unwrap()
        .to_string();
    assert!(err.contains("v3 (Pebble)"), "{err}");
    let err = C1zReader::open(&fixture("nope.c1z"))
        .err()
        .unwrap()
        .to_string();
    assert!(err.starts_with("file does not exist: "), "{err}");
    let r = C1zReader::open(&fixture("small-expanded.c1z")).unwrap();
    let err = r.select_sync(Some("nope")).unwrap_err().to_string();
    assert!(err.contains("\"nope\" is not in"), "{err}");
}

#[test]
fn corrupt_blob_error_names_table_and_row() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("db");
    let conn = Connection::open(&db).unwrap();
    conn.execute_batch(crate::c1z::schema::TABLES).unwrap();
    conn.execute_batch(
        "INSERT INTO v1_sync_runs (sync_id, started_at, sync_token) VALUES ('s', '2026-01-01', '');
         INSERT INTO v1_resources (resource_type_id, external_id, data, sync_id, discovered_at)
         VALUES ('user', 'user:x', X'0aff', 's', '2026-01-01');",
    )
    .unwrap();
    drop(conn);
    let c1z = dir.path().join("bad.c1z");
    crate::c1z::container::write_c1z(&db, std::fs::File::create(&c1z).unwrap(), &c1z).unwrap();
    let r = C1zReader::open(&c1z).unwrap();
    let sync = r.select_sync(None).unwrap();
    let first = r
        .resources(&sync.sync_id, &ResourceFilter::default())
        .next()
        .unwrap();
    let msg = first.unwrap_err().to_string();
    assert!(
        msg.starts_with(
            "corrupt v1_resources row 1: data does not decode as c1.connector.v2.Resource"
        ),
        "{msg}"
    );
}
