//! Checkpoints: where a sync stands, saved in its run's `sync_token` after every page, so
//! that a sync that stops part-way can be resumed by the next run without asking for a
//! page it already wrote.
//!
//! The engine lists each resource type as a small state machine ([`Position`]): the token
//! of the next page of resources, and the resources of the last page whose entitlements
//! and grants are still to be listed, the first perhaps part-way. A checkpoint is that
//! state after a page, plus the types already done and who ran the sync ([`SyncOwner`]).
//! It goes through the writer's queue behind its page, so the saved checkpoint never
//! claims a page that is not in the database.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::TypeStats;
use crate::bindings::types::{ConnectorMetadata, ResourceId};
use crate::c1z::timestamp::UnixTime;
use crate::c1z::UnfinishedSync;

/// Marks a `sync_token` written by this host (Go's syncer writes its own JSON there).
const FORMAT: &str = "baton-host-checkpoint/1";

/// An unfinished sync older than this is not resumed, as in Baton's Go syncer: what it
/// holds is too old to finish a consistent picture with.
pub const MAX_AGE_SECS: i64 = 7 * 24 * 3600;

/// Who ran a sync: a later run resumes it only when all of this is the same.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SyncOwner {
    /// `connector-metadata.name`.
    pub connector: String,
    /// `connector-metadata.version`: another build may page differently.
    pub version: String,
    /// The configuration ([`ConnectorInstance::config_identity`](crate::runtime::ConnectorInstance::config_identity)):
    /// another base URL, or another token, is another workspace.
    pub config: BTreeMap<String, String>,
}

impl SyncOwner {
    /// The owner of a sync run by a connector with this metadata and configuration.
    pub fn of(metadata: &ConnectorMetadata, config: &BTreeMap<String, String>) -> SyncOwner {
        SyncOwner {
            connector: metadata.name.clone(),
            version: metadata.version.clone(),
            config: config.clone(),
        }
    }

    /// Why a sync by `self` is not one by `now`; `None` when it is.
    fn differs_from(&self, now: &SyncOwner) -> Option<String> {
        if self.connector != now.connector || self.version != now.version {
            return Some(format!(
                "it was started by {} {}, not {} {}",
                self.connector, self.version, now.connector, now.version
            ));
        }
        let mut changes = Vec::new();
        let names: std::collections::BTreeSet<&String> =
            self.config.keys().chain(now.config.keys()).collect();
        for name in names {
            let (was, is) = (self.config.get(name), now.config.get(name));
            if was == is {
                continue;
            }
            let secret = |v: Option<&String>| v.is_some_and(|v| v.starts_with("fingerprint:"));
            changes.push(match (was, is) {
                _ if secret(was) || secret(is) => format!("`{name}` has another value"),
                (Some(was), Some(is)) => format!("`{name}` was {was}, now {is}"),
                (Some(was), None) => format!("`{name}` was {was}, now unset"),
                (None, Some(is)) => format!("`{name}` was unset, now {is}"),
                (None, None) => continue,
            });
        }
        (!changes.is_empty()).then(|| {
            format!(
                "it was started with another configuration ({})",
                changes.join(", ")
            )
        })
    }
}

/// Which per-resource listing a [`Drain`] is in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DrainListing {
    /// `list-entitlements`.
    Entitlements,
    /// `list-grants`.
    Grants,
}

/// Where the per-resource listing of the first pending resource stands.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Drain {
    /// The listing.
    pub listing: DrainListing,
    /// The token of its next page (`""` for the first).
    pub token: String,
    /// Pages of it listed so far.
    pub pages: u64,
}

/// Where the listing of one resource type stands.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Position {
    /// The resource type.
    pub resource_type: String,
    /// The token of the next page of resources; `None` once the last one was listed.
    pub next: Option<String>,
    /// Pages of resources listed so far.
    pub pages: u64,
    /// Resources of the last page whose entitlements or grants are still to be listed
    /// (type, id), in order.
    pub pending: Vec<(String, String)>,
    /// Where the first pending resource's listing stands; `None`: not started.
    pub drain: Option<Drain>,
}

impl Position {
    /// The start of a type's listing.
    pub fn start(resource_type: &str) -> Position {
        Position {
            resource_type: resource_type.to_string(),
            next: Some(String::new()),
            pages: 0,
            pending: Vec::new(),
            drain: None,
        }
    }

    /// The first pending resource.
    pub fn first_pending(&self) -> Option<ResourceId> {
        self.pending
            .first()
            .map(|(resource_type, resource)| ResourceId {
                resource_type: resource_type.clone(),
                resource: resource.clone(),
            })
    }
}

/// A sync's progress, as saved in `v1_sync_runs.sync_token`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Checkpoint {
    /// [`FORMAT`].
    pub format: String,
    /// Who runs the sync.
    pub owner: SyncOwner,
    /// Resource types completely listed, in order.
    pub done: Vec<String>,
    /// The type being listed; `None` between types.
    pub at: Option<Position>,
    /// Objects the connector returned so far (for `--max-objects`).
    pub objects: u64,
    /// What was written so far, per resource type; filled in by the writer, which
    /// alone knows the duplicates.
    pub written: BTreeMap<String, TypeStats>,
}

impl Checkpoint {
    /// The state before the first page.
    pub fn start(owner: SyncOwner) -> Checkpoint {
        Checkpoint {
            format: FORMAT.to_string(),
            owner,
            done: Vec::new(),
            at: None,
            objects: 0,
            written: BTreeMap::new(),
        }
    }

    /// The JSON saved in `sync_token`.
    pub fn to_token(&self) -> String {
        serde_json::to_string(self).expect("a checkpoint always serializes")
    }

    /// Where the sync stands, for a person: `resource type user, after page 12 of its
    /// listing`.
    pub fn describe(&self) -> String {
        match &self.at {
            Some(at) => match (&at.drain, at.pending.first()) {
                (Some(drain), Some((t, id))) => format!(
                    "the {} of {t}:{id}, after page {}",
                    match drain.listing {
                        DrainListing::Entitlements => "entitlements",
                        DrainListing::Grants => "grants",
                    },
                    drain.pages
                ),
                _ => format!(
                    "resource type {}, after page {} of its listing",
                    at.resource_type, at.pages
                ),
            },
            None => match self.done.last() {
                Some(last) => format!("after resource type {last}"),
                None => "before the first page".to_string(),
            },
        }
    }

    /// The checkpoint of `unfinished` when this host may resume it for `owner`, or why
    /// not: too old, not written by this host, or run by another connector, version or
    /// configuration. `metadata` is the connector's now; a checkpoint that names a type it
    /// does not declare is not resumed.
    pub fn resumable(
        unfinished: &UnfinishedSync,
        owner: &SyncOwner,
        metadata: &ConnectorMetadata,
        now: UnixTime,
    ) -> Result<Checkpoint, String> {
        let Some(started) = UnixTime::parse_db_text(&unfinished.started_at) else {
            return Err(format!(
                "its start time `{}` cannot be read",
                unfinished.started_at
            ));
        };
        let age = now.secs.saturating_sub(started.secs);
        if age > MAX_AGE_SECS {
            return Err(format!(
                "it started {} days ago, more than the 7 days a sync may be resumed in",
                age / (24 * 3600)
            ));
        }
        if unfinished.sync_token.is_empty() {
            return Err("it holds no checkpoint to resume from".to_string());
        }
        let checkpoint = match serde_json::from_str::<Checkpoint>(&unfinished.sync_token) {
            Ok(c) if c.format == FORMAT => c,
            _ => return Err("its checkpoint was not written by this host".to_string()),
        };
        if let Some(why) = checkpoint.owner.differs_from(owner) {
            return Err(why);
        }
        let declared = |t: &str| metadata.resource_types.iter().any(|rt| rt.id == t);
        let named = checkpoint
            .done
            .iter()
            .chain(checkpoint.at.as_ref().map(|a| &a.resource_type));
        for t in named {
            if !declared(t) {
                return Err(format!(
                    "its checkpoint names resource type `{t}`, which the connector does not declare"
                ));
            }
        }
        Ok(checkpoint)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::bindings::types::ResourceType;

    fn metadata() -> ConnectorMetadata {
        let mut m = ConnectorMetadata::empty("baton-test");
        m.name = "baton-test".into();
        m.version = "1.0.0".into();
        m.resource_types = vec![ResourceType {
            id: "user".into(),
            display_name: "User".into(),
            description: String::new(),
            traits: vec![],
            capabilities: vec![],
            inline_listing: true,
            skip_entitlements: true,
            skip_grants: true,
        }];
        m
    }

    fn owner(base_url: &str, token: &str) -> SyncOwner {
        let config = [
            ("base-url".to_string(), base_url.to_string()),
            ("token".to_string(), format!("fingerprint:{token}")),
        ]
        .into_iter()
        .collect();
        SyncOwner::of(&metadata(), &config)
    }

    fn unfinished(started: UnixTime, checkpoint: &Checkpoint) -> UnfinishedSync {
        UnfinishedSync {
            sync_id: "2abc".into(),
            started_at: started.to_db_text(),
            sync_token: checkpoint.to_token(),
        }
    }

    fn midway(owner: SyncOwner) -> Checkpoint {
        let mut c = Checkpoint::start(owner);
        c.at = Some(Position {
            next: Some("v1.user.0.101.100.-".into()),
            pages: 1,
            ..Position::start("user")
        });
        c
    }

    #[test]
    fn a_checkpoint_of_the_same_setup_within_a_week_is_resumed_as_saved() {
        let now = UnixTime::now();
        let saved = midway(owner("https://a", "aa"));
        let six_days = UnixTime {
            secs: now.secs - 6 * 24 * 3600,
            ..now
        };
        let got = Checkpoint::resumable(
            &unfinished(six_days, &saved),
            &owner("https://a", "aa"),
            &metadata(),
            now,
        )
        .unwrap();
        assert_eq!(got, saved);
        assert_eq!(
            got.describe(),
            "resource type user, after page 1 of its listing"
        );
    }

    #[test]
    fn a_checkpoint_is_dropped_with_the_reason() {
        let now = UnixTime::now();
        let saved = midway(owner("https://a", "aa"));
        let check = |u: UnfinishedSync, o: SyncOwner| {
            Checkpoint::resumable(&u, &o, &metadata(), now).unwrap_err()
        };
        let old = UnixTime {
            secs: now.secs - 8 * 24 * 3600,
            ..now
        };
        let why = check(unfinished(old, &saved), owner("https://a", "aa"));
        assert!(why.contains("8 days ago"), "{why}");
        let why = check(unfinished(now, &saved), owner("https://b", "aa"));
        assert_eq!(
            why,
            "it was started with another configuration (`base-url` was https://a, now https://b)"
        );
        // A secret's fingerprints are never shown.
        let why = check(unfinished(now, &saved), owner("https://a", "bb"));
        assert_eq!(
            why,
            "it was started with another configuration (`token` has another value)"
        );
        let mut other = owner("https://a", "aa");
        other.version = "2.0.0".into();
        let why = check(unfinished(now, &saved), other);
        assert_eq!(
            why,
            "it was started by baton-test 1.0.0, not baton-test 2.0.0"
        );
        let mut go = unfinished(now, &saved);
        go.sync_token = r#"{"actions":[],"entitlement_graph":null}"#.into();
        let why = check(go, owner("https://a", "aa"));
        assert_eq!(why, "its checkpoint was not written by this host");
        let mut empty = unfinished(now, &saved);
        empty.sync_token.clear();
        let why = check(empty, owner("https://a", "aa"));
        assert_eq!(why, "it holds no checkpoint to resume from");
        let mut unknown = saved.clone();
        unknown.done.push("robot".into());
        let why = check(unfinished(now, &unknown), owner("https://a", "aa"));
        assert!(why.contains("`robot`"), "{why}");
    }

    #[test]
    fn describe_names_a_per_resource_listing() {
        let mut c = Checkpoint::start(owner("https://a", "aa"));
        assert_eq!(c.describe(), "before the first page");
        c.at = Some(Position {
            pending: vec![("group".into(), "g1".into())],
            drain: Some(Drain {
                listing: DrainListing::Grants,
                token: "t".into(),
                pages: 3,
            }),
            ..Position::start("group")
        });
        assert_eq!(c.describe(), "the grants of group:g1, after page 3");
        c.at = None;
        c.done.push("group".into());
        assert_eq!(c.describe(), "after resource type group");
    }
}
