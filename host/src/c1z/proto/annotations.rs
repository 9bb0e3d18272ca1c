//! Non-trait annotations a user/group/role connector may attach (`c1z-format.md` 4.4), and
//! the list of annotation types Baton's v0.7.27 Go CLI can resolve.

use super::named;
use prost_types::Struct;

/// `c1.connector.v2.SkipEntitlementsAndGrants`: the syncer lists no entitlements/grants.
#[derive(Clone, PartialEq, prost::Message)]
pub struct SkipEntitlementsAndGrants {}

/// `c1.connector.v2.SkipGrants`: the syncer lists no grants.
#[derive(Clone, PartialEq, prost::Message)]
pub struct SkipGrants {}

/// `c1.connector.v2.SkipEntitlements`: the syncer lists no entitlements.
#[derive(Clone, PartialEq, prost::Message)]
pub struct SkipEntitlements {}

/// `c1.connector.v2.ChildResourceType`: declares a child type listed under a resource.
#[derive(Clone, PartialEq, prost::Message)]
pub struct ChildResourceType {
    /// The child resource type id.
    #[prost(string, tag = "1")]
    pub resource_type_id: String,
}

/// `c1.connector.v2.ExternalLink`: an https link to the object.
#[derive(Clone, PartialEq, prost::Message)]
pub struct ExternalLink {
    /// The URL.
    #[prost(string, tag = "1")]
    pub url: String,
}

/// `c1.connector.v2.V1Identifier`: legacy ConductorOne id.
#[derive(Clone, PartialEq, prost::Message)]
pub struct V1Identifier {
    /// The id.
    #[prost(string, tag = "1")]
    pub id: String,
}

/// `c1.connector.v2.RawId`: the upstream system's own id.
#[derive(Clone, PartialEq, prost::Message)]
pub struct RawId {
    /// The id.
    #[prost(string, tag = "1")]
    pub id: String,
}

/// `c1.connector.v2.Aliases`: other ids of a resource.
#[derive(Clone, PartialEq, prost::Message)]
pub struct Aliases {
    /// The ids.
    #[prost(string, repeated, tag = "1")]
    pub ids: Vec<String>,
}

/// `c1.connector.v2.ETag`.
#[derive(Clone, PartialEq, prost::Message)]
pub struct ETag {
    /// The tag.
    #[prost(string, tag = "1")]
    pub value: String,
    /// Entitlement the tag applies to.
    #[prost(string, tag = "2")]
    pub entitlement_id: String,
}

/// `c1.connector.v2.EntitlementImmutable`.
#[derive(Clone, PartialEq, prost::Message)]
pub struct EntitlementImmutable {
    /// Source id.
    #[prost(string, tag = "1")]
    pub source_id: String,
    /// Metadata.
    #[prost(message, optional, tag = "2")]
    pub metadata: Option<Struct>,
}

/// `c1.connector.v2.GrantMetadata`.
#[derive(Clone, PartialEq, prost::Message)]
pub struct GrantMetadata {
    /// Metadata.
    #[prost(message, optional, tag = "1")]
    pub metadata: Option<Struct>,
}

/// `c1.connector.v2.GrantImmutable`.
#[derive(Clone, PartialEq, prost::Message)]
pub struct GrantImmutable {
    /// Source id.
    #[prost(string, tag = "1")]
    pub source_id: String,
    /// Metadata.
    #[prost(message, optional, tag = "2")]
    pub metadata: Option<Struct>,
}

/// `c1.connector.v2.GrantExpandable`: members of the principal inherit the grant.
///
/// Writers move it out of the grant blob into `v1_grants.expansion` (section 3.6).
#[derive(Clone, PartialEq, prost::Message)]
pub struct GrantExpandable {
    /// Entitlements whose holders are expanded.
    #[prost(string, repeated, tag = "1")]
    pub entitlement_ids: Vec<String>,
    /// Only direct holders.
    #[prost(bool, tag = "2")]
    pub shallow: bool,
    /// Restrict expansion to these principal types.
    #[prost(string, repeated, tag = "3")]
    pub resource_type_ids: Vec<String>,
}

named! {
    SkipEntitlementsAndGrants => "SkipEntitlementsAndGrants",
    SkipGrants => "SkipGrants",
    SkipEntitlements => "SkipEntitlements",
    ChildResourceType => "ChildResourceType",
    ExternalLink => "ExternalLink",
    V1Identifier => "V1Identifier",
    RawId => "RawId",
    Aliases => "Aliases",
    ETag => "ETag",
    EntitlementImmutable => "EntitlementImmutable",
    GrantMetadata => "GrantMetadata",
    GrantImmutable => "GrantImmutable",
    GrantExpandable => "GrantExpandable",
}

/// Annotation message names (without package) that Baton's v0.7.27 Go binaries can resolve.
///
/// An annotation of any other type makes `baton ... -o json` fail there, so the writer
/// rejects them (`c1z-format.md` 4.4).
pub const KNOWN_ANNOTATIONS: &[&str] = &[
    "UserTrait",
    "GroupTrait",
    "RoleTrait",
    "AppTrait",
    "SecretTrait",
    "ScopeBindingTrait",
    "SecurityInsightTrait",
    "RoleScopeConditions",
    "ChildResourceType",
    "SkipEntitlementsAndGrants",
    "SkipGrants",
    "SkipEntitlements",
    "ExternalLink",
    "V1Identifier",
    "RawId",
    "Aliases",
    "ETag",
    "ETagMetadata",
    "ETagMatch",
    "EntitlementImmutable",
    "GrantMetadata",
    "GrantExpandable",
    "GrantImmutable",
    "GrantAlreadyExists",
    "GrantAlreadyRevoked",
    "InsertResourceGrants",
    "ExternalResourceMatch",
    "ExternalResourceMatchAll",
    "ExternalResourceMatchID",
    "BatonID",
    "ExternalTicketSettings",
    "ExternalTicketRef",
    "RateLimitDescription",
    "RequestId",
    "ResourceDoesNotExist",
    "RiskScore",
    "RiskFactor",
    "Issue",
];

/// True when `full_name` (e.g. `c1.connector.v2.UserTrait`) is an annotation type the
/// v0.7.27 Go CLI knows.
pub fn is_known_annotation(full_name: &str) -> bool {
    if full_name == "c1.c1z.v1.SyncDetails" {
        return true;
    }
    full_name
        .strip_prefix("c1.connector.v2.")
        .is_some_and(|n| KNOWN_ANNOTATIONS.contains(&n))
}
