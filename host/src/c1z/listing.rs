//! Paged, streaming listings over a c1z's object tables.
//!
//! [`Objects`] mirrors how Baton's Go reader pages (`WHERE sync_id = ? [filters] AND id >=
//! token ORDER BY id LIMIT n`): it holds one page in memory and fetches the next when it
//! runs out, so iterating a table with millions of grants uses constant memory and output
//! can stream. Rows come in rowid (= insertion) order, the order Go prints them in.

use super::writer::decode;
use super::{C1zError, C1zReader};
use rusqlite::types::{ToSql, ValueRef};
use std::collections::VecDeque;
use std::marker::PhantomData;

/// Rows fetched per page.
const PAGE_SIZE: usize = 1000;

/// Filter for [`C1zReader::resources`].
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ResourceFilter {
    /// Only resources of this type.
    pub resource_type: Option<String>,
    /// Only children of this parent: (parent type, parent id).
    pub parent: Option<(String, String)>,
}

/// Filter for [`C1zReader::entitlements`].
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct EntitlementFilter {
    /// Only entitlements on resources of this type.
    pub resource_type: Option<String>,
    /// Only entitlements on the resource with this id (combine with `resource_type`).
    pub resource_id: Option<String>,
}

/// Filter for [`C1zReader::grants`]; all set fields must match.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct GrantFilter {
    /// Grants of this entitlement.
    pub entitlement_id: Option<String>,
    /// Grants on resources of this type.
    pub resource_type: Option<String>,
    /// Grants on the resource with this id (combine with `resource_type`).
    pub resource_id: Option<String>,
    /// Grants held by principals of this type.
    pub principal_type: Option<String>,
    /// Grants held by the principal with this id (combine with `principal_type`).
    pub principal_id: Option<String>,
}

impl ResourceFilter {
    /// The (column, value) equality conditions this filter adds to the query.
    pub(crate) fn conditions(&self) -> Vec<(&'static str, String)> {
        let mut c = Vec::new();
        push(&mut c, "resource_type_id", &self.resource_type);
        if let Some((t, id)) = &self.parent {
            c.push(("parent_resource_type_id", t.clone()));
            c.push(("parent_resource_id", id.clone()));
        }
        c
    }
}

impl EntitlementFilter {
    /// The (column, value) equality conditions this filter adds to the query.
    pub(crate) fn conditions(&self) -> Vec<(&'static str, String)> {
        let mut c = Vec::new();
        push(&mut c, "resource_type_id", &self.resource_type);
        push(&mut c, "resource_id", &self.resource_id);
        c
    }
}

impl GrantFilter {
    /// The (column, value) equality conditions this filter adds to the query.
    pub(crate) fn conditions(&self) -> Vec<(&'static str, String)> {
        let mut c = Vec::new();
        push(&mut c, "entitlement_id", &self.entitlement_id);
        push(&mut c, "resource_type_id", &self.resource_type);
        push(&mut c, "resource_id", &self.resource_id);
        push(&mut c, "principal_resource_type_id", &self.principal_type);
        push(&mut c, "principal_resource_id", &self.principal_id);
        c
    }
}

fn push(c: &mut Vec<(&'static str, String)>, col: &'static str, v: &Option<String>) {
    if let Some(v) = v {
        c.push((col, v.clone()));
    }
}

/// The table and message type behind a listing.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Table {
    /// SQLite table name.
    pub name: &'static str,
    /// Full protobuf message name of its `data` blobs.
    pub message: &'static str,
}

pub(crate) const RESOURCE_TYPES: Table = Table {
    name: "v1_resource_types",
    message: "c1.connector.v2.ResourceType",
};
pub(crate) const RESOURCES: Table = Table {
    name: "v1_resources",
    message: "c1.connector.v2.Resource",
};
pub(crate) const ENTITLEMENTS: Table = Table {
    name: "v1_entitlements",
    message: "c1.connector.v2.Entitlement",
};
pub(crate) const GRANTS: Table = Table {
    name: "v1_grants",
    message: "c1.connector.v2.Grant",
};

/// Iterator over the decoded objects of one sync, fetched a page at a time.
///
/// Yields `Err` once (then stops) if a query fails or a blob is corrupt.
pub struct Objects<'r, T> {
    reader: &'r C1zReader,
    table: Table,
    sql: String,
    values: Vec<String>,
    next_id: i64,
    page: VecDeque<T>,
    done: bool,
    _t: PhantomData<fn() -> T>,
}

impl<'r, T: prost::Message + Default> Objects<'r, T> {
    /// A listing of `table` rows of `sync_id` matching all `conditions`.
    pub(crate) fn new(
        reader: &'r C1zReader,
        table: Table,
        sync_id: &str,
        conditions: Vec<(&'static str, String)>,
    ) -> Self {
        // Column names come from the filter structs above, never from user input.
        let mut sql = format!("SELECT id, data FROM {} WHERE sync_id = ?1", table.name);
        let mut values = vec![sync_id.to_string()];
        for (col, v) in conditions {
            values.push(v);
            sql.push_str(&format!(" AND {col} = ?{}", values.len()));
        }
        sql.push_str(&format!(
            " AND id >= ?{} ORDER BY id LIMIT {PAGE_SIZE}",
            values.len() + 1
        ));
        Objects {
            reader,
            table,
            sql,
            values,
            next_id: i64::MIN,
            page: VecDeque::new(),
            done: false,
            _t: PhantomData,
        }
    }

    fn fetch(&mut self) -> Result<(), C1zError> {
        let mut stmt = self.reader.conn().prepare_cached(&self.sql)?;
        let mut params: Vec<&dyn ToSql> = self.values.iter().map(|v| v as &dyn ToSql).collect();
        params.push(&self.next_id);
        let mut rows = stmt.query(params.as_slice())?;
        let mut n = 0;
        while let Some(row) = rows.next()? {
            let row_id: i64 = row.get(0)?;
            // Tolerate blobs stored as TEXT by foreign writers.
            let bytes = match row.get_ref(1)? {
                ValueRef::Blob(b) | ValueRef::Text(b) => b,
                _ => &[],
            };
            self.page
                .push_back(decode(self.table.name, row_id, self.table.message, bytes)?);
            self.next_id = row_id.saturating_add(1);
            n += 1;
        }
        if n < PAGE_SIZE {
            self.done = true;
        }
        Ok(())
    }
}

impl<T: prost::Message + Default> Iterator for Objects<'_, T> {
    type Item = Result<T, C1zError>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.page.is_empty() && !self.done {
            if let Err(e) = self.fetch() {
                self.done = true;
                self.page.clear();
                return Some(Err(e));
            }
        }
        self.page.pop_front().map(Ok)
    }
}
