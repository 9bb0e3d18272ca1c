//! What a provisioning action did, as one human-readable line or JSON.

use std::fmt;

use serde::Serialize;

/// What a provisioning action did.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "outcome", rename_all = "snake_case")]
pub enum ProvisionOutcome {
    /// The grant was made.
    Granted {
        /// Its Baton id.
        grant_id: String,
        /// Grants it replaced (mutually exclusive entitlements).
        replaced: Vec<String>,
    },
    /// The principal already held the entitlement; nothing was sent.
    AlreadyGranted {
        /// The grant's id.
        grant_id: String,
    },
    /// The grant was removed.
    Revoked {
        /// Its id.
        grant_id: String,
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
        /// The new resource's id.
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
    },
    /// The resource was already gone.
    AlreadyDeleted {
        /// Its type.
        resource_type: String,
        /// Its id.
        resource_id: String,
    },
}

impl fmt::Display for ProvisionOutcome {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ProvisionOutcome::Granted { grant_id, replaced } if replaced.is_empty() => {
                write!(f, "granted {grant_id}")
            }
            ProvisionOutcome::Granted { grant_id, replaced } => {
                write!(
                    f,
                    "granted {grant_id}; replaced grant {}",
                    replaced.join(", ")
                )
            }
            ProvisionOutcome::AlreadyGranted { grant_id } => {
                write!(f, "already granted {grant_id}")
            }
            ProvisionOutcome::Revoked { grant_id } => write!(f, "revoked {grant_id}"),
            ProvisionOutcome::AlreadyRevoked { grant_id } => {
                write!(f, "already revoked {grant_id}")
            }
            ProvisionOutcome::NotRevoked { grant_id, reason } => {
                write!(f, "not revoked {grant_id}: {reason}")
            }
            ProvisionOutcome::Created {
                resource_type,
                resource_id,
                display_name,
            } => {
                write!(f, "created {resource_type} {resource_id} ({display_name})")
            }
            ProvisionOutcome::AlreadyExists {
                resource_id: Some(id),
            } => {
                write!(f, "account already exists: {id}")
            }
            ProvisionOutcome::AlreadyExists { resource_id: None } => {
                write!(f, "account already exists")
            }
            ProvisionOutcome::Deleted {
                resource_type,
                resource_id,
            } => {
                write!(f, "deleted {resource_type} {resource_id}")
            }
            ProvisionOutcome::AlreadyDeleted {
                resource_type,
                resource_id,
            } => {
                write!(f, "already deleted {resource_type} {resource_id}")
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn outcome_lines_are_human_readable() {
        let g = ProvisionOutcome::Granted {
            grant_id: "role:owner:assigned:user:u".into(),
            replaced: vec!["role:member:assigned:user:u".into()],
        };
        assert_eq!(
            g.to_string(),
            "granted role:owner:assigned:user:u; replaced grant role:member:assigned:user:u"
        );
        let json = serde_json::to_value(&g).unwrap();
        assert_eq!(json["outcome"], "granted");
        assert_eq!(json["replaced"][0], "role:member:assigned:user:u");
        let d = ProvisionOutcome::AlreadyDeleted {
            resource_type: "user".into(),
            resource_id: "x".into(),
        };
        assert_eq!(d.to_string(), "already deleted user x");
    }
}
