//! Databases with Baton's c1z schema and generated rows, for the reader's
//! property tests (`reader_props.rs`): every column gets a value a real file
//! has, or any SQL value; `data` gets a protobuf message with odd contents,
//! the same with bytes changed, or random bytes.

use proptest::collection::vec;
use proptest::option;
use proptest::prelude::*;
use proptest::sample::{select, Index};
use prost::Message;
use rusqlite::types::{ToSqlOutput, Value as Sql};
use rusqlite::Connection;

use crate::c1z::proto::{self, Entitlement, Grant, Resource, ResourceId, ResourceType};

/// An SQL value of any type.
#[derive(Clone, Debug)]
pub struct Cell(pub Sql);

impl rusqlite::ToSql for Cell {
    fn to_sql(&self) -> rusqlite::Result<ToSqlOutput<'_>> {
        self.0.to_sql()
    }
}

/// A row: a table (0-3 objects, 4 sync runs) and a value per column.
#[derive(Clone, Debug)]
pub struct Row(pub usize, pub Vec<Cell>);

/// Columns filled per table, in order (`schema::TABLES`).
const COLUMNS: [&[&str]; 5] = [
    &["external_id", "data", "sync_id", "discovered_at"],
    &[
        "resource_type_id",
        "external_id",
        "parent_resource_type_id",
        "parent_resource_id",
        "data",
        "sync_id",
        "discovered_at",
    ],
    &[
        "resource_type_id",
        "resource_id",
        "external_id",
        "data",
        "sync_id",
        "discovered_at",
    ],
    &[
        "resource_type_id",
        "resource_id",
        "entitlement_id",
        "principal_resource_type_id",
        "principal_resource_id",
        "external_id",
        "needs_expansion",
        "data",
        "sync_id",
        "discovered_at",
    ],
    &[
        "sync_id",
        "started_at",
        "ended_at",
        "sync_token",
        "sync_type",
        "parent_sync_id",
        "linked_sync_id",
        "supports_diff",
    ],
];
const TABLES: [&str; 5] = [
    "v1_resource_types",
    "v1_resources",
    "v1_entitlements",
    "v1_grants",
    "v1_sync_runs",
];

fn any_cell() -> impl Strategy<Value = Cell> {
    prop_oneof![
        Just(Sql::Null),
        any::<i64>().prop_map(Sql::Integer),
        any::<f64>().prop_map(Sql::Real),
        ".{0,12}".prop_map(Sql::Text),
        vec(any::<u8>(), 0..24).prop_map(Sql::Blob),
    ]
    .prop_map(Cell)
}

fn text(options: &'static [&'static str]) -> BoxedStrategy<Cell> {
    select(options)
        .prop_map(|t| Cell(Sql::Text(t.into())))
        .boxed()
}

/// A value for `column`: usually one a real file has, sometimes anything.
fn cell(table: usize, column: &str) -> BoxedStrategy<Cell> {
    let typical = match column {
        "sync_id" | "parent_sync_id" | "linked_sync_id" => text(&["s1", "s2", ""]),
        "started_at" | "ended_at" | "discovered_at" => text(&[
            "2026-01-01 10:00:00",
            "2026-01-02T10:00:00.5Z",
            "2026-02-30",
            "2025-01-0é 1",
            "2025-12-17 16:31:25+01:00",
            "9999-12-31 23:59:59.999999999",
            "",
        ]),
        "sync_type" => text(&["full", "partial", "resources_only", "?"]),
        "data" => blob(table),
        "needs_expansion" | "supports_diff" => {
            (0i64..3).prop_map(|n| Cell(Sql::Integer(n))).boxed()
        }
        _ => text(&[
            "user",
            "group",
            "u1",
            "g1",
            "user:u1",
            "group:g1:member",
            "g",
            "",
        ]),
    };
    prop_oneof![4 => typical, 1 => any_cell()].boxed()
}

pub fn row() -> impl Strategy<Value = Row> {
    (0usize..5).prop_flat_map(|t| {
        let cells: Vec<_> = COLUMNS[t].iter().map(|c| cell(t, c)).collect();
        cells.prop_map(move |cells| Row(t, cells))
    })
}

/// A protobuf blob for objects of `table`: a valid message with odd
/// contents, the same with bytes changed, or random bytes.
fn blob(table: usize) -> BoxedStrategy<Cell> {
    let message = match table {
        0 => resource_type().prop_map(|m| m.encode_to_vec()).boxed(),
        1 => resource().prop_map(|m| m.encode_to_vec()).boxed(),
        2 => entitlement().prop_map(|m| m.encode_to_vec()).boxed(),
        _ => (
            option::of(entitlement()),
            option::of(resource()),
            ".{0,8}",
            annotations(),
        )
            .prop_map(|(entitlement, principal, id, annotations)| {
                Grant {
                    entitlement,
                    principal,
                    id,
                    annotations,
                    sources: None,
                }
                .encode_to_vec()
            })
            .boxed(),
    };
    let flipped = (message.clone(), any::<Index>(), any::<u8>()).prop_map(|(mut b, at, x)| {
        if !b.is_empty() {
            let i = at.index(b.len());
            b[i] ^= x;
        }
        b
    });
    prop_oneof![3 => message, 1 => flipped, 1 => vec(any::<u8>(), 0..32)]
        .prop_map(|b| Cell(Sql::Blob(b)))
        .boxed()
}

fn annotations() -> impl Strategy<Value = Vec<prost_types::Any>> {
    let url = select(vec![
        "UserTrait",
        "GroupTrait",
        "RoleTrait",
        "AppTrait",
        "ExternalLink",
        "Nope",
    ]);
    let any = (url, vec(any::<u8>(), 0..12)).prop_map(|(name, value)| prost_types::Any {
        type_url: format!("{}c1.connector.v2.{name}", proto::TYPE_URL_PREFIX),
        value,
    });
    vec(any, 0..3)
}

fn resource_id() -> impl Strategy<Value = Option<ResourceId>> {
    option::of(
        ("(user|group|.{0,4})", ".{0,6}").prop_map(|(t, r)| ResourceId {
            resource_type: t,
            resource: r,
            baton_resource: false,
        }),
    )
}

fn resource_type() -> impl Strategy<Value = ResourceType> {
    (".{0,6}", vec(any::<i32>(), 0..3), annotations()).prop_map(|(id, traits, annotations)| {
        ResourceType {
            id,
            traits,
            annotations,
            ..Default::default()
        }
    })
}

fn resource() -> impl Strategy<Value = Resource> {
    (resource_id(), resource_id(), ".{0,8}", annotations()).prop_map(
        |(id, parent, name, annotations)| Resource {
            id,
            parent_resource_id: parent,
            display_name: name,
            annotations,
            ..Default::default()
        },
    )
}

fn entitlement() -> impl Strategy<Value = Entitlement> {
    (
        option::of(resource()),
        ".{0,10}",
        ".{0,6}",
        any::<i32>(),
        vec(resource_type(), 0..2),
    )
        .prop_map(|(resource, id, slug, purpose, grantable_to)| Entitlement {
            resource,
            id,
            slug,
            purpose,
            grantable_to,
            ..Default::default()
        })
}

/// An SQLite database with Baton's schema (or without some of its columns) and `rows`.
pub fn build(schema_ok: bool, rows: &[Row]) -> Vec<u8> {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("db");
    let conn = Connection::open(&path).unwrap();
    // One transaction without fsyncs: the file is scratch.
    conn.execute_batch("PRAGMA synchronous = OFF; BEGIN;")
        .unwrap();
    if schema_ok {
        conn.execute_batch(crate::c1z::schema::TABLES).unwrap();
    } else {
        // The required tables with a single column of no declared type.
        for t in TABLES {
            conn.execute_batch(&format!("CREATE TABLE {t} (sync_id);"))
                .unwrap();
        }
    }
    for Row(t, cells) in rows {
        let columns = if schema_ok { COLUMNS[*t] } else { &["sync_id"] };
        let marks = vec!["?"; columns.len()].join(", ");
        let sql = format!(
            "INSERT OR IGNORE INTO {} ({}) VALUES ({marks})",
            TABLES[*t],
            columns.join(", ")
        );
        let values = rusqlite::params_from_iter(cells.iter().take(columns.len()));
        conn.execute(&sql, values).unwrap();
    }
    conn.execute_batch("COMMIT;").unwrap();
    drop(conn);
    std::fs::read(&path).unwrap()
}
