//! Baton's one-shot provisioning flags of `baton-notion` and the request they make.

use anyhow::bail;
use clap::Args;

use crate::provision::ProvisionRequest;

/// Actions an account-creation flag cannot be combined with.
const OTHER_ACTIONS: [&str; 3] = ["grant_entitlement", "revoke_grant", "delete_resource"];

// Baton's one-shot provisioning flags. At most one action per run.
#[derive(Debug, Args)]
#[command(next_help_heading = "Provisioning")]
pub(crate) struct ProvisioningArgs {
    /// This must be set in order for provisioning actions to be enabled
    #[arg(short = 'p', long, env = "BATON_PROVISIONING")]
    provisioning: bool,

    /// Preview the provisioning action: make its reads, send none of its writes, print them
    #[arg(long, env = "BATON_DRY_RUN")]
    pub(crate) dry_run: bool,

    /// The entitlement to grant to the principal (resolved in --file)
    #[arg(long, group = "action", requires_all = ["grant_principal", "grant_principal_type"], value_name = "ENTITLEMENT_ID")]
    grant_entitlement: Option<String>,

    /// The resource id of the principal to grant the entitlement to
    #[arg(long, requires = "grant_entitlement", value_name = "ID")]
    grant_principal: Option<String>,

    /// The resource type of the principal to grant the entitlement to
    #[arg(long, requires = "grant_entitlement", value_name = "TYPE")]
    grant_principal_type: Option<String>,

    /// The grant to revoke (resolved in --file)
    #[arg(long, group = "action", value_name = "GRANT_ID")]
    revoke_grant: Option<String>,

    /// The login of the account to create
    #[arg(long, group = "action", value_name = "LOGIN")]
    create_account_login: Option<String>,

    /// The email of the account to create
    #[arg(long, value_name = "EMAIL", conflicts_with_all = OTHER_ACTIONS)]
    create_account_email: Option<String>,

    /// JSON object with the profile of the account to create
    #[arg(long, value_name = "JSON", conflicts_with_all = OTHER_ACTIONS)]
    create_account_profile: Option<String>,

    /// The id of the resource to delete
    #[arg(
        long,
        group = "action",
        requires = "delete_resource_type",
        value_name = "ID"
    )]
    delete_resource: Option<String>,

    /// The resource type of the resource to delete
    #[arg(long, requires = "delete_resource", value_name = "TYPE")]
    delete_resource_type: Option<String>,
}

impl ProvisioningArgs {
    /// The requested action, checked before anything is sent upstream.
    pub(crate) fn request(&self) -> anyhow::Result<Option<ProvisionRequest>> {
        for (flag, value) in [
            ("--grant-entitlement", &self.grant_entitlement),
            ("--grant-principal", &self.grant_principal),
            ("--grant-principal-type", &self.grant_principal_type),
            ("--revoke-grant", &self.revoke_grant),
            ("--create-account-login", &self.create_account_login),
            ("--create-account-email", &self.create_account_email),
            ("--delete-resource", &self.delete_resource),
            ("--delete-resource-type", &self.delete_resource_type),
        ] {
            if value.as_deref().is_some_and(|v| v.trim().is_empty()) {
                bail!("{flag} must not be empty");
            }
        }
        if let Some(email) = &self.create_account_email {
            if !email.contains('@') {
                bail!("--create-account-email `{email}` is not an email address");
            }
        }
        let creating = self.create_account_login.is_some()
            || self.create_account_email.is_some()
            || self.create_account_profile.is_some();
        let (flag, request) = if let Some(entitlement_id) = &self.grant_entitlement {
            let request = ProvisionRequest::Grant {
                entitlement_id: entitlement_id.clone(),
                principal_id: self.grant_principal.clone().unwrap_or_default(),
                principal_type: self.grant_principal_type.clone().unwrap_or_default(),
            };
            ("--grant-entitlement", request)
        } else if let Some(grant_id) = &self.revoke_grant {
            (
                "--revoke-grant",
                ProvisionRequest::Revoke {
                    grant_id: grant_id.clone(),
                },
            )
        } else if let Some(resource_id) = &self.delete_resource {
            let request = ProvisionRequest::Delete {
                resource_id: resource_id.clone(),
                resource_type: self.delete_resource_type.clone().unwrap_or_default(),
            };
            ("--delete-resource", request)
        } else if creating {
            (
                "--create-account-*",
                ProvisionRequest::CreateAccount {
                    profile: self.profile()?,
                },
            )
        } else {
            if self.dry_run {
                bail!(
                    "--dry-run previews a provisioning action; add one (--grant-entitlement, \
                     --revoke-grant, --create-account-email, --delete-resource) and -p"
                );
            }
            return Ok(None);
        };
        if !self.provisioning {
            bail!("{flag} changes the connected system; add -p/--provisioning to allow it");
        }
        Ok(Some(request))
    }

    /// The action flags given, for errors about the action as a whole.
    pub(crate) fn action_flags(&self) -> String {
        [
            ("--grant-entitlement", self.grant_entitlement.is_some()),
            ("--revoke-grant", self.revoke_grant.is_some()),
            (
                "--create-account-login",
                self.create_account_login.is_some(),
            ),
            (
                "--create-account-email",
                self.create_account_email.is_some(),
            ),
            (
                "--create-account-profile",
                self.create_account_profile.is_some(),
            ),
            ("--delete-resource", self.delete_resource.is_some()),
        ]
        .iter()
        .filter(|(_, given)| *given)
        .map(|(flag, _)| *flag)
        .collect::<Vec<_>>()
        .join(", ")
    }

    /// The profile JSON, with `login` and `email` filled from their flags
    /// when absent, as Baton does.
    fn profile(&self) -> anyhow::Result<serde_json::Map<String, serde_json::Value>> {
        let mut profile = match &self.create_account_profile {
            None => serde_json::Map::new(),
            Some(raw) => match serde_json::from_str::<serde_json::Value>(raw) {
                Ok(serde_json::Value::Object(map)) => map,
                Ok(_) => bail!("--create-account-profile must be a JSON object, got `{raw}`"),
                Err(e) => bail!("--create-account-profile is not valid JSON ({e}): `{raw}`"),
            },
        };
        let login = self
            .create_account_login
            .clone()
            .or_else(|| self.create_account_email.clone());
        let email = self
            .create_account_email
            .clone()
            .or_else(|| self.create_account_login.clone());
        for (key, value) in [("login", login), ("email", email)] {
            if let Some(value) = value {
                profile
                    .entry(key)
                    .or_insert(serde_json::Value::String(value));
            }
        }
        Ok(profile)
    }
}
