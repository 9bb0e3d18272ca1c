//! Trait annotations: carried in `Resource.annotations` to say what a resource is.
//!
//! Field numbers from `c1z-format.md` section 4.3 (v0.7.27 definitions; we fill the trait
//! fields, not the newer Resource-level ones, because v0.7 readers only know these).

use super::{named, AssetRef, ResourceId};
use prost_types::{Struct, Timestamp};

/// `c1.connector.v2.UserTrait`.
#[derive(Clone, PartialEq, prost::Message)]
pub struct UserTrait {
    /// Email addresses; at most one primary.
    #[prost(message, repeated, tag = "1")]
    pub emails: Vec<user_trait::Email>,
    /// Account status (required by the SDK's validation).
    #[prost(message, optional, tag = "2")]
    pub status: Option<user_trait::Status>,
    /// Free-form profile.
    #[prost(message, optional, tag = "3")]
    pub profile: Option<Struct>,
    /// Icon asset.
    #[prost(message, optional, tag = "4")]
    pub icon: Option<AssetRef>,
    /// [`user_trait::AccountType`].
    #[prost(enumeration = "user_trait::AccountType", tag = "5")]
    pub account_type: i32,
    /// Login name.
    #[prost(string, tag = "6")]
    pub login: String,
    /// Other login names.
    #[prost(string, repeated, tag = "7")]
    pub login_aliases: Vec<String>,
    /// Account creation time.
    #[prost(message, optional, tag = "8")]
    pub created_at: Option<Timestamp>,
    /// Last login time.
    #[prost(message, optional, tag = "9")]
    pub last_login: Option<Timestamp>,
    /// MFA state.
    #[prost(message, optional, tag = "10")]
    pub mfa_status: Option<user_trait::MfaStatus>,
    /// SSO state.
    #[prost(message, optional, tag = "11")]
    pub sso_status: Option<user_trait::SsoStatus>,
    /// Structured name parts.
    #[prost(message, optional, tag = "12")]
    pub structured_name: Option<user_trait::StructuredName>,
    /// Employee ids.
    #[prost(string, repeated, tag = "13")]
    pub employee_ids: Vec<String>,
}

/// Nested types of [`UserTrait`].
pub mod user_trait {
    /// `UserTrait.Email`.
    #[derive(Clone, PartialEq, prost::Message)]
    pub struct Email {
        /// The address.
        #[prost(string, tag = "1")]
        pub address: String,
        /// True for the primary address.
        #[prost(bool, tag = "2")]
        pub is_primary: bool,
    }

    /// `UserTrait.Status`.
    #[derive(Clone, PartialEq, prost::Message)]
    pub struct Status {
        /// [`status::Status`].
        #[prost(enumeration = "status::Status", tag = "1")]
        pub status: i32,
        /// Free-text details, e.g. `Enabled`.
        #[prost(string, tag = "2")]
        pub details: String,
    }

    /// Nested types of [`Status`](struct@Status).
    pub mod status {
        /// `UserTrait.Status.Status`.
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, prost::Enumeration)]
        #[repr(i32)]
        pub enum Status {
            /// Not set.
            Unspecified = 0,
            /// Active account.
            Enabled = 1,
            /// Suspended account.
            Disabled = 2,
            /// Deleted account.
            Deleted = 3,
        }

        impl Status {
            /// The proto enum value name.
            pub fn as_str_name(self) -> &'static str {
                match self {
                    Status::Unspecified => "STATUS_UNSPECIFIED",
                    Status::Enabled => "STATUS_ENABLED",
                    Status::Disabled => "STATUS_DISABLED",
                    Status::Deleted => "STATUS_DELETED",
                }
            }
        }
    }

    /// `UserTrait.AccountType`.
    #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, prost::Enumeration)]
    #[repr(i32)]
    pub enum AccountType {
        /// Not set (the SDK helpers turn this into `Human`).
        Unspecified = 0,
        /// A person.
        Human = 1,
        /// A service account.
        Service = 2,
        /// A system account.
        System = 3,
    }

    impl AccountType {
        /// The proto enum value name.
        pub fn as_str_name(self) -> &'static str {
            match self {
                AccountType::Unspecified => "ACCOUNT_TYPE_UNSPECIFIED",
                AccountType::Human => "ACCOUNT_TYPE_HUMAN",
                AccountType::Service => "ACCOUNT_TYPE_SERVICE",
                AccountType::System => "ACCOUNT_TYPE_SYSTEM",
            }
        }
    }

    /// `UserTrait.MFAStatus`.
    #[derive(Clone, PartialEq, prost::Message)]
    pub struct MfaStatus {
        /// MFA enabled.
        #[prost(bool, tag = "1")]
        pub mfa_enabled: bool,
    }

    /// `UserTrait.SSOStatus`.
    #[derive(Clone, PartialEq, prost::Message)]
    pub struct SsoStatus {
        /// SSO enabled.
        #[prost(bool, tag = "1")]
        pub sso_enabled: bool,
    }

    /// `UserTrait.StructuredName`.
    #[derive(Clone, PartialEq, prost::Message)]
    pub struct StructuredName {
        /// Given name.
        #[prost(string, tag = "1")]
        pub given_name: String,
        /// Family name.
        #[prost(string, tag = "2")]
        pub family_name: String,
        /// Middle names.
        #[prost(string, repeated, tag = "3")]
        pub middle_names: Vec<String>,
        /// Prefix.
        #[prost(string, tag = "4")]
        pub prefix: String,
        /// Suffix.
        #[prost(string, tag = "5")]
        pub suffix: String,
    }
}

/// `c1.connector.v2.GroupTrait`.
#[derive(Clone, PartialEq, prost::Message)]
pub struct GroupTrait {
    /// Icon asset.
    #[prost(message, optional, tag = "1")]
    pub icon: Option<AssetRef>,
    /// Free-form profile.
    #[prost(message, optional, tag = "2")]
    pub profile: Option<Struct>,
}

/// `c1.connector.v2.RoleTrait`.
#[derive(Clone, PartialEq, prost::Message)]
pub struct RoleTrait {
    /// Free-form profile.
    #[prost(message, optional, tag = "1")]
    pub profile: Option<Struct>,
    /// Scope conditions.
    #[prost(message, optional, tag = "2")]
    pub role_scope_conditions: Option<RoleScopeConditions>,
}

/// `c1.connector.v2.RoleScopeConditions`.
#[derive(Clone, PartialEq, prost::Message)]
pub struct RoleScopeConditions {
    /// Condition language.
    #[prost(string, tag = "1")]
    pub r#type: String,
    /// The conditions (field 2 does not exist in the proto).
    #[prost(message, repeated, tag = "3")]
    pub conditions: Vec<RoleScopeCondition>,
}

/// `c1.connector.v2.RoleScopeCondition`.
#[derive(Clone, PartialEq, prost::Message)]
pub struct RoleScopeCondition {
    /// Expression text.
    #[prost(string, tag = "1")]
    pub expression: String,
}

/// `c1.connector.v2.AppTrait`.
#[derive(Clone, PartialEq, prost::Message)]
pub struct AppTrait {
    /// Help URL.
    #[prost(string, tag = "1")]
    pub help_url: String,
    /// Icon asset.
    #[prost(message, optional, tag = "2")]
    pub icon: Option<AssetRef>,
    /// Logo asset.
    #[prost(message, optional, tag = "3")]
    pub logo: Option<AssetRef>,
    /// Free-form profile.
    #[prost(message, optional, tag = "4")]
    pub profile: Option<Struct>,
    /// [`app_trait::AppFlag`] values.
    #[prost(enumeration = "app_trait::AppFlag", repeated, tag = "5")]
    pub flags: Vec<i32>,
}

/// Nested types of [`AppTrait`].
pub mod app_trait {
    /// `AppTrait.AppFlag`.
    #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, prost::Enumeration)]
    #[repr(i32)]
    pub enum AppFlag {
        /// Not set.
        Unspecified = 0,
        /// Hidden app.
        Hidden = 1,
        /// Inactive app.
        Inactive = 2,
        /// SAML app.
        Saml = 3,
        /// OIDC app.
        Oidc = 4,
        /// Bookmark app.
        Bookmark = 5,
    }

    impl AppFlag {
        /// The proto enum value name.
        pub fn as_str_name(self) -> &'static str {
            match self {
                AppFlag::Unspecified => "APP_FLAG_UNSPECIFIED",
                AppFlag::Hidden => "APP_FLAG_HIDDEN",
                AppFlag::Inactive => "APP_FLAG_INACTIVE",
                AppFlag::Saml => "APP_FLAG_SAML",
                AppFlag::Oidc => "APP_FLAG_OIDC",
                AppFlag::Bookmark => "APP_FLAG_BOOKMARK",
            }
        }
    }
}

/// `c1.connector.v2.SecretTrait`.
#[derive(Clone, PartialEq, prost::Message)]
pub struct SecretTrait {
    /// Free-form profile.
    #[prost(message, optional, tag = "1")]
    pub profile: Option<Struct>,
    /// Creation time.
    #[prost(message, optional, tag = "2")]
    pub created_at: Option<Timestamp>,
    /// Expiry time.
    #[prost(message, optional, tag = "3")]
    pub expires_at: Option<Timestamp>,
    /// Last use.
    #[prost(message, optional, tag = "4")]
    pub last_used_at: Option<Timestamp>,
    /// Creator.
    #[prost(message, optional, tag = "5")]
    pub created_by_id: Option<ResourceId>,
    /// Identity the secret belongs to.
    #[prost(message, optional, tag = "6")]
    pub identity_id: Option<ResourceId>,
}

/// `c1.connector.v2.ScopeBindingTrait`.
#[derive(Clone, PartialEq, prost::Message)]
pub struct ScopeBindingTrait {
    /// The bound role.
    #[prost(message, optional, tag = "1")]
    pub role_id: Option<ResourceId>,
    /// The scope resource.
    #[prost(message, optional, tag = "2")]
    pub scope_resource_id: Option<ResourceId>,
}

named! {
    UserTrait => "UserTrait",
    user_trait::Email => "UserTrait.Email",
    user_trait::Status => "UserTrait.Status",
    user_trait::MfaStatus => "UserTrait.MFAStatus",
    user_trait::SsoStatus => "UserTrait.SSOStatus",
    user_trait::StructuredName => "UserTrait.StructuredName",
    GroupTrait => "GroupTrait",
    RoleTrait => "RoleTrait",
    RoleScopeConditions => "RoleScopeConditions",
    RoleScopeCondition => "RoleScopeCondition",
    AppTrait => "AppTrait",
    SecretTrait => "SecretTrait",
    ScopeBindingTrait => "ScopeBindingTrait",
}
