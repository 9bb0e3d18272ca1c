//! Hand-written prost messages for the `c1.connector.v2` protobuf types stored in a c1z.
//!
//! Only the messages Baton's v1 file format needs are defined. Field numbers follow
//! `c1z-format.md` section 4; names are the proto field names in snake_case, and nested
//! messages/enums live in a snake_case module named after their parent, the way prost-build
//! lays them out. We write them by hand (no `protoc` at build time) because the set is
//! small and stable.
//!
//! Maps use `btree_map` so keys serialize sorted, which keeps blobs byte-identical to
//! Go's deterministic output and diff-stable between runs.

mod annotations;
mod traits;

pub use annotations::*;
pub use traits::*;

use prost_types::Any;

/// Type URL prefix Go uses for every `Any`; Go matches annotations by the text after the last `/`.
pub const TYPE_URL_PREFIX: &str = "type.googleapis.com/";

/// Implements [`prost::Name`] with the `type.googleapis.com/` type URL Go expects
/// (prost's default URL has no domain).
macro_rules! named {
    ($($ty:ty => $name:literal),* $(,)?) => {$(
        impl prost::Name for $ty {
            const NAME: &'static str = $name;
            const PACKAGE: &'static str = "c1.connector.v2";
            fn type_url() -> String {
                format!("{}{}", $crate::c1z::proto::TYPE_URL_PREFIX, <Self as prost::Name>::full_name())
            }
        }
    )*};
}
pub(crate) use named;

/// `c1.connector.v2.ResourceType`: a kind of object a connector syncs (user, group, ...).
#[derive(Clone, PartialEq, prost::Message)]
pub struct ResourceType {
    /// Resource type id, e.g. `user` (1–1024 bytes).
    #[prost(string, tag = "1")]
    pub id: String,
    /// Human readable name, e.g. `User`.
    #[prost(string, tag = "2")]
    pub display_name: String,
    /// What the resources are ([`resource_type::Trait`] values).
    #[prost(enumeration = "resource_type::Trait", repeated, tag = "3")]
    pub traits: Vec<i32>,
    /// Annotations such as [`SkipEntitlementsAndGrants`].
    #[prost(message, repeated, tag = "4")]
    pub annotations: Vec<Any>,
    /// Free-text description.
    #[prost(string, tag = "5")]
    pub description: String,
    /// True when the resources come from another system.
    #[prost(bool, tag = "6")]
    pub sourced_externally: bool,
}

/// Nested types of [`ResourceType`].
pub mod resource_type {
    /// `ResourceType.Trait`.
    #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, prost::Enumeration)]
    #[repr(i32)]
    pub enum Trait {
        /// No trait.
        Unspecified = 0,
        /// Users; resources carry a `UserTrait`.
        User = 1,
        /// Groups; resources carry a `GroupTrait`.
        Group = 2,
        /// Roles; resources carry a `RoleTrait`.
        Role = 3,
        /// Applications; resources carry an `AppTrait`.
        App = 4,
        /// Secrets.
        Secret = 5,
        /// Security insights.
        SecurityInsight = 6,
        /// Scope bindings.
        ScopeBinding = 7,
    }

    impl Trait {
        /// The proto enum value name, as protojson and `baton resource-types` print it.
        pub fn as_str_name(self) -> &'static str {
            match self {
                Trait::Unspecified => "TRAIT_UNSPECIFIED",
                Trait::User => "TRAIT_USER",
                Trait::Group => "TRAIT_GROUP",
                Trait::Role => "TRAIT_ROLE",
                Trait::App => "TRAIT_APP",
                Trait::Secret => "TRAIT_SECRET",
                Trait::SecurityInsight => "TRAIT_SECURITY_INSIGHT",
                Trait::ScopeBinding => "TRAIT_SCOPE_BINDING",
            }
        }
    }
}

/// `c1.connector.v2.ResourceId`: the (type, id) key of a resource.
#[derive(Clone, PartialEq, Eq, Hash, prost::Message)]
pub struct ResourceId {
    /// Resource type id.
    #[prost(string, tag = "1")]
    pub resource_type: String,
    /// Object id within the type.
    #[prost(string, tag = "2")]
    pub resource: String,
    /// Marks resources created by Baton itself.
    #[prost(bool, tag = "3")]
    pub baton_resource: bool,
}

impl ResourceId {
    /// Builds an id from its two parts.
    pub fn new(resource_type: impl Into<String>, resource: impl Into<String>) -> Self {
        ResourceId {
            resource_type: resource_type.into(),
            resource: resource.into(),
            baton_resource: false,
        }
    }

    /// The `"<type>:<id>"` key Baton stores in `v1_resources.external_id`.
    pub fn key(&self) -> String {
        format!("{}:{}", self.resource_type, self.resource)
    }
}

impl Entitlement {
    /// An entitlement `slug` on `resource`, with Baton's id `"<type>:<id>:<slug>"` and the
    /// slug as its display name.
    pub fn on(resource: &Resource, slug: &str) -> Entitlement {
        let key = resource
            .id
            .as_ref()
            .map(ResourceId::key)
            .unwrap_or_default();
        Entitlement {
            id: format!("{key}:{slug}"),
            resource: Some(resource.clone()),
            slug: slug.into(),
            display_name: slug.into(),
            ..Default::default()
        }
    }
}

impl Grant {
    /// `entitlement` granted to `principal`, with Baton's id `"<entitlement id>:<type>:<id>"`.
    pub fn of(entitlement: &Entitlement, principal: ResourceId) -> Grant {
        Grant {
            id: format!("{}:{}", entitlement.id, principal.key()),
            entitlement: Some(entitlement.clone()),
            principal: Some(Resource {
                id: Some(principal),
                ..Default::default()
            }),
            ..Default::default()
        }
    }
}

/// `c1.connector.v2.ExternalId` (deprecated, still decoded).
#[derive(Clone, PartialEq, prost::Message)]
pub struct ExternalId {
    /// External id.
    #[prost(string, tag = "1")]
    pub id: String,
    /// Link to the object.
    #[prost(string, tag = "2")]
    pub link: String,
    /// Description.
    #[prost(string, tag = "3")]
    pub description: String,
}

/// `c1.connector.v2.Resource`: one synced object.
#[derive(Clone, PartialEq, prost::Message)]
pub struct Resource {
    /// The resource's key (required).
    #[prost(message, optional, tag = "1")]
    pub id: Option<ResourceId>,
    /// The parent resource, if any.
    #[prost(message, optional, tag = "2")]
    pub parent_resource_id: Option<ResourceId>,
    /// Human readable name.
    #[prost(string, tag = "3")]
    pub display_name: String,
    /// Annotations; traits ([`UserTrait`], ...) live here.
    #[prost(message, repeated, tag = "4")]
    pub annotations: Vec<Any>,
    /// Free-text description.
    #[prost(string, tag = "5")]
    pub description: String,
    /// Marks resources created by Baton itself.
    #[prost(bool, tag = "6")]
    pub baton_resource: bool,
    /// Deprecated external id.
    #[prost(message, optional, tag = "7")]
    pub external_id: Option<ExternalId>,
    /// Deprecated: how the resource was discovered ([`resource::CreationSource`]).
    #[prost(enumeration = "resource::CreationSource", tag = "8")]
    pub creation_source: i32,
}

/// Nested types of [`Resource`].
pub mod resource {
    /// `Resource.CreationSource`.
    #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, prost::Enumeration)]
    #[repr(i32)]
    pub enum CreationSource {
        /// Not set.
        Unspecified = 0,
        /// Listed by the connector.
        ConnectorListResources = 1,
        /// Created just in time as a grant principal.
        ConnectorListGrantsPrincipalJit = 2,
    }

    impl CreationSource {
        /// The proto enum value name.
        pub fn as_str_name(self) -> &'static str {
            match self {
                CreationSource::Unspecified => "CREATION_SOURCE_UNSPECIFIED",
                CreationSource::ConnectorListResources => {
                    "CREATION_SOURCE_CONNECTOR_LIST_RESOURCES"
                }
                CreationSource::ConnectorListGrantsPrincipalJit => {
                    "CREATION_SOURCE_CONNECTOR_LIST_GRANTS_PRINCIPAL_JIT"
                }
            }
        }
    }
}

/// `c1.connector.v2.Entitlement`: something that can be granted on a resource.
#[derive(Clone, PartialEq, prost::Message)]
pub struct Entitlement {
    /// The resource the entitlement belongs to (required, with its id).
    #[prost(message, optional, tag = "1")]
    pub resource: Option<Resource>,
    /// Entitlement id, conventionally `"<type>:<resource>:<slug>"`.
    #[prost(string, tag = "2")]
    pub id: String,
    /// Human readable name.
    #[prost(string, tag = "3")]
    pub display_name: String,
    /// Free-text description.
    #[prost(string, tag = "4")]
    pub description: String,
    /// Resource types whose resources may receive this entitlement.
    #[prost(message, repeated, tag = "5")]
    pub grantable_to: Vec<ResourceType>,
    /// Annotations.
    #[prost(message, repeated, tag = "6")]
    pub annotations: Vec<Any>,
    /// [`entitlement::PurposeValue`].
    #[prost(enumeration = "entitlement::PurposeValue", tag = "7")]
    pub purpose: i32,
    /// Short name; `baton entitlements` prints it as "Permission".
    #[prost(string, tag = "8")]
    pub slug: String,
}

/// Nested types of [`Entitlement`].
pub mod entitlement {
    /// `Entitlement.PurposeValue`.
    #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, prost::Enumeration)]
    #[repr(i32)]
    pub enum PurposeValue {
        /// Not set.
        Unspecified = 0,
        /// Membership / assignment.
        Assignment = 1,
        /// A permission.
        Permission = 2,
        /// Ownership.
        Ownership = 3,
    }

    impl PurposeValue {
        /// The proto enum value name.
        pub fn as_str_name(self) -> &'static str {
            match self {
                PurposeValue::Unspecified => "PURPOSE_VALUE_UNSPECIFIED",
                PurposeValue::Assignment => "PURPOSE_VALUE_ASSIGNMENT",
                PurposeValue::Permission => "PURPOSE_VALUE_PERMISSION",
                PurposeValue::Ownership => "PURPOSE_VALUE_OWNERSHIP",
            }
        }
    }
}

/// `c1.connector.v2.Grant`: a principal holds an entitlement.
#[derive(Clone, PartialEq, prost::Message)]
pub struct Grant {
    /// The entitlement (required; helpers fill only `id` and `resource`).
    #[prost(message, optional, tag = "1")]
    pub entitlement: Option<Entitlement>,
    /// The principal (required; helpers fill only `id`).
    #[prost(message, optional, tag = "2")]
    pub principal: Option<Resource>,
    /// Grant id, conventionally `"<entitlement id>:<principal type>:<principal id>"`.
    #[prost(string, tag = "3")]
    pub id: String,
    /// Annotations.
    #[prost(message, repeated, tag = "4")]
    pub annotations: Vec<Any>,
    /// Where an expanded grant came from.
    #[prost(message, optional, tag = "5")]
    pub sources: Option<GrantSources>,
}

/// `c1.connector.v2.GrantSources`: the entitlements a derived grant came from.
#[derive(Clone, PartialEq, prost::Message)]
pub struct GrantSources {
    /// Keyed by source entitlement id.
    #[prost(btree_map = "string, message", tag = "1")]
    pub sources: std::collections::BTreeMap<String, grant_sources::GrantSource>,
}

/// Nested types of [`GrantSources`].
pub mod grant_sources {
    /// `GrantSources.GrantSource`.
    #[derive(Clone, PartialEq, prost::Message)]
    pub struct GrantSource {
        /// True when the grant is also held directly.
        #[prost(bool, tag = "1")]
        pub is_direct: bool,
    }
}

/// `c1.connector.v2.AssetRef`: reference to a row of `v1_assets`.
#[derive(Clone, PartialEq, prost::Message)]
pub struct AssetRef {
    /// Asset id.
    #[prost(string, tag = "1")]
    pub id: String,
}

named! {
    ResourceType => "ResourceType",
    ResourceId => "ResourceId",
    ExternalId => "ExternalId",
    Resource => "Resource",
    Entitlement => "Entitlement",
    Grant => "Grant",
    GrantSources => "GrantSources",
    grant_sources::GrantSource => "GrantSources.GrantSource",
    AssetRef => "AssetRef",
}

/// Packs `msg` into an `Any` with the type URL `type.googleapis.com/<full_name>`.
pub fn pack_any<M: prost::Message>(msg: &M, full_name: &str) -> Any {
    Any {
        type_url: format!("{TYPE_URL_PREFIX}{full_name}"),
        value: msg.encode_to_vec(),
    }
}

/// Packs a named message into an `Any` (Go-style type URL).
pub fn to_any<M: prost::Name>(msg: &M) -> Any {
    pack_any(msg, &M::full_name())
}

/// The full message name of an `Any`: the text after the last `/` of its type URL, as Go
/// matches it.
pub fn any_type_name(any: &Any) -> &str {
    any.type_url.rsplit('/').next().unwrap_or_default()
}

/// Finds the first annotation of type `M` and decodes it.
///
/// `None` when there is none; `Some(Err)` when its payload is corrupt.
pub fn find_annotation<M: prost::Name + Default>(
    annotations: &[Any],
) -> Option<Result<M, prost::DecodeError>> {
    let name = M::full_name();
    annotations
        .iter()
        .find(|a| any_type_name(a) == name)
        .map(|a| M::decode(a.value.as_slice()))
}

/// True when `annotations` holds a message of type `M` (payload not decoded).
pub fn has_annotation<M: prost::Name>(annotations: &[Any]) -> bool {
    let name = M::full_name();
    annotations.iter().any(|a| any_type_name(a) == name)
}

#[cfg(test)]
mod tests {
    use super::*;
    use prost::Message;

    #[test]
    fn any_round_trip_uses_go_type_url() {
        let trait_ = GroupTrait::default();
        let any = to_any(&trait_);
        assert_eq!(
            any.type_url,
            "type.googleapis.com/c1.connector.v2.GroupTrait"
        );
        let found: GroupTrait = find_annotation(&[any]).unwrap().unwrap();
        assert_eq!(found, trait_);
    }

    #[test]
    fn nested_names_are_dotted() {
        assert_eq!(
            <user_trait::Email as prost::Name>::full_name(),
            "c1.connector.v2.UserTrait.Email"
        );
    }

    #[test]
    fn decodes_go_written_resource_blob() {
        // A role resource taken from a Go-written fixture (role-0000000, RoleTrait with a profile).
        let hex = "0A140A04726F6C65120C726F6C652D303030303030301A0C526F6C6520303030303030304001";
        let bytes: Vec<u8> = (0..hex.len())
            .step_by(2)
            .map(|i| u8::from_str_radix(&hex[i..i + 2], 16).unwrap())
            .collect();
        let r = Resource::decode(bytes.as_slice()).unwrap();
        assert_eq!(r.id.as_ref().unwrap().key(), "role:role-0000000");
        assert_eq!(r.display_name, "Role 0000000");
        assert_eq!(r.creation_source, 1);
        // Deterministic re-encoding gives the same bytes (ascending field order).
        assert_eq!(r.encode_to_vec(), bytes);
    }

    #[test]
    fn traits_are_packed() {
        let rt = ResourceType {
            id: "user".into(),
            traits: vec![resource_type::Trait::User as i32],
            ..Default::default()
        };
        // field 3, wire type 2 (packed) = 0x1a, length 1, value 1
        assert!(rt
            .encode_to_vec()
            .windows(3)
            .any(|w| w == [0x1a, 0x01, 0x01]));
    }
}
