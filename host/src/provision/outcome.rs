//! What a provisioning action did, or in a dry run would do: one line for a
//! person, one JSON object for a script ([`ProvisionReport`]).

use std::fmt;

use serde_json::{json, Value};

use crate::runtime::WriteRecord;

/// What a provisioning action did (or would do, in a dry run).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ProvisionOutcome {
    /// The grant was made.
    Granted {
        /// Its Baton id.
        grant_id: String,
        /// The entitlement granted.
        entitlement_id: String,
        /// The principal's type and id.
        principal: (String, String),
        /// Grants it replaced (mutually exclusive entitlements).
        replaced: Vec<String>,
    },
    /// The principal already held the entitlement; nothing was written.
    AlreadyGranted {
        /// The grant's id.
        grant_id: String,
    },
    /// The grant was removed.
    Revoked {
        /// Its id.
        grant_id: String,
        /// The principal's type and id.
        principal: (String, String),
        /// Entitlement ids of the grants the principal holds in its place.
        leaves: Vec<String>,
        /// Their grant ids.
        leaves_grants: Vec<String>,
    },
    /// The grant was already absent.
    AlreadyRevoked {
        /// Its id.
        grant_id: String,
    },
    /// The connector left the grant in place and says why.
    NotRevoked {
        /// Its id.
        grant_id: String,
        /// The connector's reason.
        reason: String,
    },
    /// An account was created.
    Created {
        /// The new resource's type.
        resource_type: String,
        /// The new resource's id (in a dry run, the connector's stand-in).
        resource_id: String,
        /// Its display name.
        display_name: String,
    },
    /// The account existed already.
    AlreadyExists {
        /// Its id, when the connector could find it.
        resource_id: Option<String>,
    },
    /// The resource was deleted.
    Deleted {
        /// Its type.
        resource_type: String,
        /// Its id.
        resource_id: String,
        /// The grants it held in the synced c1z, which go with it.
        grants: Vec<String>,
        /// How many of them are group memberships; `None` without a c1z.
        groups: Option<usize>,
    },
    /// The resource was already gone.
    AlreadyDeleted {
        /// Its type.
        resource_type: String,
        /// Its id.
        resource_id: String,
    },
}

impl ProvisionOutcome {
    /// The outcome's name in the JSON line.
    pub fn name(&self) -> &'static str {
        match self {
            ProvisionOutcome::Granted { replaced, .. } if !replaced.is_empty() => "replaced",
            ProvisionOutcome::Granted { .. } => "granted",
            ProvisionOutcome::AlreadyGranted { .. } => "already-granted",
            ProvisionOutcome::Revoked { .. } => "revoked",
            ProvisionOutcome::AlreadyRevoked { .. } => "already-revoked",
            ProvisionOutcome::NotRevoked { .. } => "unchanged",
            ProvisionOutcome::Created { .. } => "created",
            ProvisionOutcome::AlreadyExists { .. } => "already-exists",
            ProvisionOutcome::Deleted { .. } => "deleted",
            ProvisionOutcome::AlreadyDeleted { .. } => "already-deleted",
        }
    }

    /// Whether the upstream changed (or would change).
    pub fn changed(&self) -> bool {
        matches!(
            self,
            ProvisionOutcome::Granted { .. }
                | ProvisionOutcome::Revoked { .. }
                | ProvisionOutcome::Created { .. }
                | ProvisionOutcome::Deleted { .. }
        )
    }

    /// Grant ids that the action adds and removes.
    pub fn grant_changes(&self) -> (Vec<String>, Vec<String>) {
        match self {
            ProvisionOutcome::Granted {
                grant_id, replaced, ..
            } => (vec![grant_id.clone()], replaced.clone()),
            ProvisionOutcome::Revoked {
                grant_id,
                leaves_grants,
                ..
            } => (leaves_grants.clone(), vec![grant_id.clone()]),
            ProvisionOutcome::Deleted { grants, .. } => (Vec::new(), grants.clone()),
            _ => (Vec::new(), Vec::new()),
        }
    }

    /// The line for a person; `would` words it as a preview.
    pub fn sentence(&self, would: bool) -> String {
        let verb = |done: &str, preview: &str| {
            if would {
                format!("would {preview}")
            } else {
                done.to_string()
            }
        };
        match self {
            ProvisionOutcome::Granted {
                grant_id,
                entitlement_id,
                principal: (ptype, pid),
                replaced,
            } => {
                let mut line = if would {
                    format!("would grant {entitlement_id} to {ptype} {pid}")
                } else {
                    format!("granted {grant_id}")
                };
                if !replaced.is_empty() && would {
                    line.push_str(&format!(" (replaces {})", replaced.join(", ")));
                } else if !replaced.is_empty() {
                    line.push_str(&format!("; replaced grant {}", replaced.join(", ")));
                }
                line
            }
            ProvisionOutcome::AlreadyGranted { grant_id } => format!("already granted {grant_id}"),
            ProvisionOutcome::Revoked {
                grant_id,
                principal: (_, pid),
                leaves,
                ..
            } => {
                let mut line = format!("{} {grant_id}", verb("revoked", "revoke"));
                // The real run's line stays as scripts know it; the JSON has the rest.
                if !leaves.is_empty() && would {
                    let held: Vec<String> = leaves.iter().map(|e| short_role(e)).collect();
                    line.push_str(&format!(", leaving {pid} as {}", held.join(", ")));
                }
                line
            }
            ProvisionOutcome::AlreadyRevoked { grant_id } => format!("already revoked {grant_id}"),
            ProvisionOutcome::NotRevoked { grant_id, reason } => {
                format!("not revoked {grant_id}: {reason}")
            }
            // The id is the connector's stand-in until the upstream assigns one.
            ProvisionOutcome::Created {
                resource_type,
                display_name,
                ..
            } if would => format!("would create {resource_type} {display_name}"),
            ProvisionOutcome::Created {
                resource_type,
                resource_id,
                display_name,
            } => format!("created {resource_type} {resource_id} ({display_name})"),
            ProvisionOutcome::AlreadyExists {
                resource_id: Some(id),
            } => format!("account already exists: {id}"),
            ProvisionOutcome::AlreadyExists { resource_id: None } => {
                "account already exists".to_string()
            }
            ProvisionOutcome::Deleted {
                resource_type,
                resource_id,
                groups,
                ..
            } => {
                let mut line = format!(
                    "{} {resource_type} {resource_id}",
                    verb("deleted", "delete")
                );
                if let (Some(n), true) = (groups, would) {
                    let plural = if *n == 1 { "" } else { "s" };
                    line.push_str(&format!(" and remove {resource_id} from {n} group{plural}"));
                }
                line
            }
            ProvisionOutcome::AlreadyDeleted {
                resource_type,
                resource_id,
            } => format!("already deleted {resource_type} {resource_id}"),
        }
    }
}

/// The entitlement `role:restricted_member:assigned` as a person says it:
/// `restricted_member`; any other id as it is.
fn short_role(entitlement_id: &str) -> String {
    let parts: Vec<&str> = entitlement_id.split(':').collect();
    match parts[..] {
        [_, resource, _] => resource.to_string(),
        _ => entitlement_id.to_string(),
    }
}

impl fmt::Display for ProvisionOutcome {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.sentence(false))
    }
}

/// A provisioning run as a whole: what was asked, what happened, and the
/// writes sent (in a dry run, previewed and not sent).
#[derive(Debug, Clone, PartialEq)]
pub struct ProvisionReport {
    /// `grant`, `revoke`, `create-account` or `delete`.
    pub operation: &'static str,
    /// Whether writes were previewed instead of sent.
    pub dry_run: bool,
    /// What happened, or why it was refused.
    pub result: Result<ProvisionOutcome, String>,
    /// The writes, in order.
    pub writes: Vec<WriteRecord>,
    /// Requests sent upstream (reads included; previewed writes are not sent).
    pub requests: u64,
}

impl ProvisionReport {
    /// The one JSON object a script reads (the README documents it).
    pub fn to_json(&self) -> Value {
        let (changed, outcome, added, removed, error) = match &self.result {
            Ok(o) => {
                let (added, removed) = o.grant_changes();
                (json!(o.changed()), o.name(), added, removed, Value::Null)
            }
            Err(e) => (Value::Null, "refused", Vec::new(), Vec::new(), json!(e)),
        };
        let mut line = json!({
            "operation": self.operation,
            "dry_run": self.dry_run,
            "changed": changed,
            "outcome": outcome,
            "grants_added": added,
            "grants_removed": removed,
            "writes": self.writes,
            "requests": self.requests,
        });
        if let Ok(o) = &self.result {
            line["message"] = json!(o.sentence(self.dry_run));
        } else {
            line["error"] = error;
        }
        line
    }

    /// What a person reads: in a dry run the writes first, bodies
    /// pretty-printed, then the change; else the one line of the outcome.
    pub fn to_text(&self) -> String {
        let mut out = String::new();
        if self.dry_run {
            for write in &self.writes {
                out.push_str(&format!("would send {} {}\n", write.method, write.path));
                if let Some(body) = &write.body {
                    let pretty = serde_json::to_string_pretty(body).unwrap_or_default();
                    for line in pretty.lines() {
                        out.push_str(&format!("    {line}\n"));
                    }
                }
            }
        }
        match &self.result {
            Ok(o) => out.push_str(&o.sentence(self.dry_run)),
            Err(e) => out.push_str(&format!("refused: {e}")),
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn revoked() -> ProvisionOutcome {
        ProvisionOutcome::Revoked {
            grant_id: "role:member:assigned:user:u1".into(),
            principal: ("user".into(), "u1".into()),
            leaves: vec!["role:restricted_member:assigned".into()],
            leaves_grants: vec!["role:restricted_member:assigned:user:u1".into()],
        }
    }

    #[test]
    fn a_dry_run_is_worded_as_a_preview() {
        assert_eq!(
            revoked().sentence(true),
            "would revoke role:member:assigned:user:u1, leaving u1 as restricted_member"
        );
        let granted = ProvisionOutcome::Granted {
            grant_id: "role:owner:assigned:user:u1".into(),
            entitlement_id: "role:owner:assigned".into(),
            principal: ("user".into(), "u1".into()),
            replaced: vec!["role:member:assigned:user:u1".into()],
        };
        assert_eq!(
            granted.sentence(true),
            "would grant role:owner:assigned to user u1 (replaces role:member:assigned:user:u1)"
        );
        assert_eq!(granted.name(), "replaced");
    }

    #[test]
    fn the_json_line_has_the_documented_fields() {
        let report = ProvisionReport {
            operation: "revoke",
            dry_run: true,
            result: Ok(revoked()),
            writes: Vec::new(),
            requests: 1,
        };
        let line = report.to_json();
        assert_eq!(line["outcome"], "revoked");
        assert_eq!(line["changed"], true);
        assert_eq!(line["grants_removed"][0], "role:member:assigned:user:u1");
        assert_eq!(
            line["grants_added"][0],
            "role:restricted_member:assigned:user:u1"
        );
        let refused = ProvisionReport {
            result: Err("the last owner".into()),
            ..report
        };
        let line = refused.to_json();
        assert_eq!(
            (line["outcome"].as_str(), line["changed"].is_null()),
            (Some("refused"), true)
        );
    }
}
