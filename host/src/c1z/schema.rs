//! The SQLite schema of a v1 c1z, as baton-sdk v0.7.27 creates it (`c1z-format.md` 2.1).
//!
//! Table, column and index names and declared column types are exactly Go's: the Go reader
//! runs `CREATE ... IF NOT EXISTS` with the same names on open, so matching names make
//! those no-ops, and the `datetime` declared type is what makes its driver parse the TEXT
//! timestamps. Note the upstream index-name quirk on `v1_resources` (names swapped relative
//! to their columns), copied on purpose. No `STRICT` tables: strict forbids `datetime`.

/// Tables, each with the unique `(external_id, sync_id)`-style index the writer's duplicate
/// detection (`INSERT OR IGNORE`) relies on, so these are created before any insert. The two
/// partial indexes on `v1_grants` are here too: they hold only expandable grants, all under
/// one `sync_id`, so keeping them costs next to nothing per insert, while building them at
/// the end would read the whole grants table once each.
pub const TABLES: &str = "
CREATE TABLE v1_resource_types (
    id integer primary key,
    external_id text not null,
    data blob not null,
    sync_id text not null,
    discovered_at datetime not null
);
CREATE UNIQUE INDEX idx_resource_types_external_sync_v1 ON v1_resource_types (external_id, sync_id);

CREATE TABLE v1_resources (
    id integer primary key,
    resource_type_id text not null,
    external_id text not null,
    parent_resource_type_id text,
    parent_resource_id text,
    data blob not null,
    sync_id text not null,
    discovered_at datetime not null
);
CREATE UNIQUE INDEX idx_resources_parent_resource_id_v1 ON v1_resources (external_id, sync_id);

CREATE TABLE v1_entitlements (
    id integer primary key,
    resource_type_id text not null,
    resource_id text not null,
    external_id text not null,
    data blob not null,
    sync_id text not null,
    discovered_at datetime not null
);
CREATE UNIQUE INDEX idx_entitlements_external_sync_v1 ON v1_entitlements (external_id, sync_id);

CREATE TABLE v1_sync_runs (
    id integer primary key,
    sync_id text not null,
    started_at datetime not null,
    ended_at datetime,
    sync_token text not null,
    sync_type text not null default 'full',
    parent_sync_id text not null default '',
    linked_sync_id text not null default '',
    supports_diff integer not null default 0
);
CREATE UNIQUE INDEX idx_sync_runs_sync_id_v1 ON v1_sync_runs (sync_id);

CREATE TABLE v1_grants (
    id integer primary key,
    resource_type_id text not null,
    resource_id text not null,
    entitlement_id text not null,
    principal_resource_type_id text not null,
    principal_resource_id text not null,
    external_id text not null,
    expansion blob,
    needs_expansion integer not null default 0,
    data blob not null,
    sync_id text not null,
    discovered_at datetime not null
);
CREATE UNIQUE INDEX idx_grants_external_sync_v1 ON v1_grants (external_id, sync_id);
CREATE INDEX idx_grants_sync_needs_expansion_v1 ON v1_grants (sync_id) WHERE needs_expansion = 1;
CREATE INDEX idx_grants_sync_expansion_v1 ON v1_grants (sync_id) WHERE expansion IS NOT NULL;

CREATE TABLE v1_assets (
    id integer primary key,
    external_id text not null,
    content_type text not null,
    data blob not null,
    sync_id text not null,
    discovered_at datetime not null
);
CREATE UNIQUE INDEX idx_assets_external_sync_v1 ON v1_assets (external_id, sync_id);

CREATE TABLE v1_connector_sessions (
    id integer primary key,
    sync_id text NOT NULL,
    key TEXT NOT NULL,
    value BLOB NOT NULL
);
CREATE UNIQUE INDEX idx_session_store_sync_key_v1 ON v1_connector_sessions (sync_id, key);
";

/// Lookup indexes nobody needs while writing. Building them once at the end is much faster
/// than maintaining them row by row (their keys arrive in no useful order).
pub const DEFERRED_INDEXES: &str = "
CREATE INDEX idx_resources_resource_type_id_v1 ON v1_resources (resource_type_id);
CREATE INDEX idx_resources_external_sync_v1 ON v1_resources (parent_resource_type_id, parent_resource_id);
CREATE INDEX idx_entitlements_resource_id_v1 ON v1_entitlements (resource_type_id, resource_id);
CREATE INDEX idx_grants_resource_type_id_resource_id_v1 ON v1_grants (resource_type_id, resource_id);
CREATE INDEX idx_grants_principal_id_v1 ON v1_grants (principal_resource_type_id, principal_resource_id);
CREATE INDEX idx_grants_entitlement_id_principal_id_v1 ON v1_grants (entitlement_id, principal_resource_type_id, principal_resource_id);
";

/// Tables a readable c1z must have (the reader refuses files without them).
pub const REQUIRED_TABLES: &[&str] = &[
    "v1_resource_types",
    "v1_resources",
    "v1_entitlements",
    "v1_grants",
    "v1_sync_runs",
];
