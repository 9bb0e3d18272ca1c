//! The rows each `baton` listing prints: console cells and the protojson of the output
//! message Go's CLI prints for them (`ResourceOutput`, `GrantOutput`, ...).

use super::json::{self, Obj, J};
use crate::c1z::proto::{resource_type::Trait, Entitlement, Grant, Resource, ResourceType};
use crate::c1z::SyncRun;
use anyhow::Result;

/// One printable row: console cells and the protojson of Go's output message.
pub trait Row {
    /// Console column headers.
    const HEADERS: &'static [&'static str];
    /// Key of the list in the JSON output, e.g. `resources`.
    const LIST_KEY: &'static str;
    /// Console cells, one per header.
    fn cells(&self) -> Vec<String>;
    /// The JSON of one list element.
    fn json(&self) -> J;
}

/// A callback receiving rows; returning an error stops the listing.
pub type Sink<'a, R> = &'a mut dyn FnMut(R) -> Result<()>;

impl Row for ResourceType {
    const HEADERS: &'static [&'static str] = &["ID", "Display Name", "Traits"];
    const LIST_KEY: &'static str = "resourceTypes";
    fn cells(&self) -> Vec<String> {
        let traits: Vec<String> = self
            .traits
            .iter()
            .map(|&t| {
                Trait::try_from(t).map_or_else(|_| t.to_string(), |t| t.as_str_name().to_string())
            })
            .collect();
        vec![
            self.id.clone(),
            self.display_name.clone(),
            traits.join(", "),
        ]
    }
    fn json(&self) -> J {
        Obj::default()
            .msg("resourceType", Some(json::resource_type(self)))
            .done()
    }
}

/// A `baton resources` row (Go's `ResourceOutput`).
pub struct ResourceRow {
    pub(super) resource: Resource,
    pub(super) resource_type: ResourceType,
    pub(super) parent: Option<Resource>,
}

impl Row for ResourceRow {
    const HEADERS: &'static [&'static str] =
        &["ID", "Display Name", "Resource Type", "Parent Resource"];
    const LIST_KEY: &'static str = "resources";
    fn cells(&self) -> Vec<String> {
        let parent = self.parent.as_ref().map_or_else(
            || "-".to_string(),
            |p| {
                format!(
                    "{} ({})",
                    p.display_name,
                    p.id.as_ref().map_or("", |i| i.resource_type.as_str())
                )
            },
        );
        vec![
            self.resource
                .id
                .as_ref()
                .map(|i| i.resource.clone())
                .unwrap_or_default(),
            self.resource.display_name.clone(),
            self.resource_type.display_name.clone(),
            parent,
        ]
    }
    fn json(&self) -> J {
        Obj::default()
            .msg("resource", Some(json::resource(&self.resource)))
            .msg(
                "resourceType",
                Some(json::resource_type(&self.resource_type)),
            )
            .msg("parent", self.parent.as_ref().map(json::resource))
            .done()
    }
}

/// A `baton entitlements` row (Go's `EntitlementOutput`).
pub struct EntitlementRow {
    pub(super) entitlement: Entitlement,
    pub(super) resource: Resource,
    pub(super) resource_type: ResourceType,
}

impl Row for EntitlementRow {
    const HEADERS: &'static [&'static str] = &[
        "ID",
        "Display Name",
        "Resource Type",
        "Resource",
        "Permission",
    ];
    const LIST_KEY: &'static str = "entitlements";
    fn cells(&self) -> Vec<String> {
        vec![
            self.entitlement.id.clone(),
            self.entitlement.display_name.clone(),
            self.resource_type.display_name.clone(),
            self.resource.display_name.clone(),
            self.entitlement.slug.clone(),
        ]
    }
    fn json(&self) -> J {
        Obj::default()
            .msg("entitlement", Some(json::entitlement(&self.entitlement)))
            .msg("resource", Some(json::resource(&self.resource)))
            .msg(
                "resourceType",
                Some(json::resource_type(&self.resource_type)),
            )
            .done()
    }
}

/// A `baton grants` row (Go's `GrantOutput`).
pub struct GrantRow {
    pub(super) grant: Grant,
    pub(super) entitlement: Entitlement,
    pub(super) resource: Resource,
    pub(super) resource_type: ResourceType,
    pub(super) principal: Resource,
}

impl Row for GrantRow {
    const HEADERS: &'static [&'static str] = &[
        "ID",
        "Resource Type",
        "Resource",
        "Entitlement",
        "Principal",
    ];
    const LIST_KEY: &'static str = "grants";
    fn cells(&self) -> Vec<String> {
        vec![
            self.grant.id.clone(),
            self.resource_type.display_name.clone(),
            self.resource.display_name.clone(),
            self.entitlement.display_name.clone(),
            self.principal.display_name.clone(),
        ]
    }
    fn json(&self) -> J {
        Obj::default()
            .msg("grant", Some(json::grant(&self.grant)))
            .msg("entitlement", Some(json::entitlement(&self.entitlement)))
            .msg("resource", Some(json::resource(&self.resource)))
            .msg(
                "resourceType",
                Some(json::resource_type(&self.resource_type)),
            )
            .msg("principal", Some(json::resource(&self.principal)))
            .done()
    }
}

impl Row for SyncRun {
    const HEADERS: &'static [&'static str] =
        &["ID", "Started At", "Ended At", "Type", "Parent ID", "Token"];
    const LIST_KEY: &'static str = "syncs";
    fn cells(&self) -> Vec<String> {
        // Unparseable times are shown as stored rather than hidden.
        let started = self
            .started()
            .map_or_else(|| self.started_at.clone(), |t| t.to_rfc3339(false));
        let ended = match (&self.ended_at, self.ended()) {
            (None, _) => "-".to_string(),
            (Some(_), Some(t)) => t.to_rfc3339(false),
            (Some(raw), None) => raw.clone(),
        };
        vec![
            self.sync_id.clone(),
            started,
            ended,
            self.sync_type.clone(),
            self.parent_sync_id.clone(),
            self.sync_token.clone(),
        ]
    }
    fn json(&self) -> J {
        let time =
            |t: Option<crate::c1z::timestamp::UnixTime>| t.map(|t| J::Str(t.to_rfc3339(true)));
        Obj::default()
            .str("id", &self.sync_id)
            .msg("startedAt", time(self.started()))
            .msg("endedAt", time(self.ended()))
            .str("syncToken", &self.sync_token)
            .str("syncType", &self.sync_type)
            .str("parentSyncId", &self.parent_sync_id)
            .done()
    }
}
