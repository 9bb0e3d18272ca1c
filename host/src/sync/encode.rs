//! Baton's conventions: contract records become `c1.connector.v2` messages.
//!
//! The connector names things by resource id and slug; the ids Baton stores
//! (`<type>:<id>:<slug>` for entitlements, `<entitlement>:<type>:<id>` for
//! grants) are derived here and nowhere else.

use std::collections::BTreeMap;

use prost_types::{value::Kind, Any, Struct, Value};

use crate::bindings::types as wit;
use crate::c1z::proto::{
    self, entitlement::PurposeValue, resource::CreationSource, resource_type::Trait, user_trait,
    GroupTrait, RoleTrait, SkipEntitlements, SkipGrants, UserTrait,
};

/// Baton's entitlement id for a resource and slug.
pub fn entitlement_id(e: &wit::EntitlementRef) -> String {
    format!(
        "{}:{}:{}",
        e.resource.resource_type, e.resource.resource, e.slug
    )
}

/// Baton's grant id.
pub fn grant_id(g: &wit::Grant) -> String {
    format!(
        "{}:{}:{}",
        entitlement_id(&g.entitlement),
        g.principal.resource_type,
        g.principal.resource
    )
}

/// A resource id message.
pub fn resource_id(id: &wit::ResourceId) -> proto::ResourceId {
    proto::ResourceId {
        resource_type: id.resource_type.clone(),
        resource: id.resource.clone(),
        baton_resource: false,
    }
}

/// A resource type, with Baton's skip annotations where the connector declared them.
pub fn resource_type(rt: &wit::ResourceType) -> proto::ResourceType {
    let mut annotations = Vec::new();
    if rt.skip_entitlements {
        annotations.push(pack(&SkipEntitlements {}));
    }
    if rt.skip_grants {
        annotations.push(pack(&SkipGrants {}));
    }
    proto::ResourceType {
        id: rt.id.clone(),
        display_name: rt.display_name.clone(),
        traits: rt.traits.iter().map(|t| trait_value(*t) as i32).collect(),
        annotations,
        description: rt.description.clone(),
        sourced_externally: false,
    }
}

fn trait_value(t: wit::ResourceTrait) -> Trait {
    match t {
        wit::ResourceTrait::User => Trait::User,
        wit::ResourceTrait::Group => Trait::Group,
        wit::ResourceTrait::Role => Trait::Role,
        wit::ResourceTrait::App => Trait::App,
    }
}

/// A resource with its traits packed as annotations.
pub fn resource(r: &wit::ResourceRecord) -> proto::Resource {
    proto::Resource {
        id: Some(resource_id(&r.id)),
        parent_resource_id: r.parent.as_ref().map(resource_id),
        display_name: r.display_name.clone(),
        annotations: r.traits.iter().map(trait_annotation).collect(),
        description: r.description.clone(),
        creation_source: CreationSource::ConnectorListResources as i32,
        ..Default::default()
    }
}

fn trait_annotation(t: &wit::TraitData) -> Any {
    match t {
        wit::TraitData::User(u) => pack(&user_trait(u)),
        wit::TraitData::Group(profile) => pack(&GroupTrait {
            profile: Some(profile_struct(profile)),
            ..Default::default()
        }),
        wit::TraitData::Role(profile) => pack(&RoleTrait {
            profile: Some(profile_struct(profile)),
            ..Default::default()
        }),
        wit::TraitData::App(profile) => pack(&proto::AppTrait {
            profile: Some(profile_struct(profile)),
            ..Default::default()
        }),
    }
}

fn user_trait(u: &wit::UserTrait) -> UserTrait {
    let status = match u.status {
        wit::AccountStatus::Enabled => user_trait::status::Status::Enabled,
        wit::AccountStatus::Disabled => user_trait::status::Status::Disabled,
        wit::AccountStatus::Deleted => user_trait::status::Status::Deleted,
        wit::AccountStatus::Unknown => user_trait::status::Status::Unspecified,
    };
    let structured_name =
        (u.given_name.is_some() || u.family_name.is_some()).then(|| user_trait::StructuredName {
            given_name: u.given_name.clone().unwrap_or_default(),
            family_name: u.family_name.clone().unwrap_or_default(),
            ..Default::default()
        });
    UserTrait {
        emails: u
            .emails
            .iter()
            .map(|e| user_trait::Email {
                address: e.address.clone(),
                is_primary: e.is_primary,
            })
            .collect(),
        status: Some(user_trait::Status {
            status: status as i32,
            details: String::new(),
        }),
        profile: Some(profile_struct(&u.profile)),
        account_type: user_trait::AccountType::Human as i32,
        login: u.login.clone(),
        structured_name,
        ..Default::default()
    }
}

/// A profile map as a protobuf `Struct`; every value gets a kind, since Go's
/// protojson rejects a `Value` without one, and non-finite numbers become null.
pub fn profile_struct(entries: &[wit::ProfileEntry]) -> Struct {
    let fields: BTreeMap<String, Value> = entries
        .iter()
        .map(|e| {
            let kind = match &e.value {
                wit::ProfileValue::Null => Kind::NullValue(0),
                wit::ProfileValue::Boolean(b) => Kind::BoolValue(*b),
                // JSON (and Go's protojson) has no NaN or infinity.
                wit::ProfileValue::Number(n) if !n.is_finite() => Kind::NullValue(0),
                wit::ProfileValue::Number(n) => Kind::NumberValue(*n),
                wit::ProfileValue::Text(s) => Kind::StringValue(s.clone()),
            };
            (e.key.clone(), Value { kind: Some(kind) })
        })
        .collect();
    Struct { fields }
}

/// An entitlement on `resource` (the full resource message, as Baton stores it),
/// grantable to the given resource types.
pub fn entitlement(
    e: &wit::Entitlement,
    resource: proto::Resource,
    grantable_to: Vec<proto::ResourceType>,
) -> proto::Entitlement {
    let purpose = match e.purpose {
        wit::EntitlementPurpose::Assignment => PurposeValue::Assignment,
        wit::EntitlementPurpose::Permission => PurposeValue::Permission,
        wit::EntitlementPurpose::Ownership => PurposeValue::Ownership,
    };
    proto::Entitlement {
        resource: Some(resource),
        id: entitlement_id(&e.id),
        display_name: e.display_name.clone(),
        description: e.description.clone(),
        grantable_to,
        annotations: Vec::new(),
        purpose: purpose as i32,
        slug: e.id.slug.clone(),
    }
}

/// A grant. Its entitlement and principal carry ids only: readers look the
/// full objects up by id, and 100k grants stay small.
pub fn grant(g: &wit::Grant) -> proto::Grant {
    proto::Grant {
        entitlement: Some(proto::Entitlement {
            id: entitlement_id(&g.entitlement),
            resource: Some(proto::Resource {
                id: Some(resource_id(&g.entitlement.resource)),
                ..Default::default()
            }),
            ..Default::default()
        }),
        principal: Some(proto::Resource {
            id: Some(resource_id(&g.principal)),
            ..Default::default()
        }),
        id: grant_id(g),
        annotations: Vec::new(),
        sources: None,
    }
}

fn pack<M: prost::Name>(msg: &M) -> Any {
    Any::from_msg(msg).expect("encoding into a Vec cannot fail")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rid(t: &str, r: &str) -> wit::ResourceId {
        wit::ResourceId {
            resource_type: t.into(),
            resource: r.into(),
        }
    }

    #[test]
    fn ids_follow_baton_conventions() {
        let g = wit::Grant {
            entitlement: wit::EntitlementRef {
                resource: rid("role", "owner"),
                slug: "assigned".into(),
            },
            principal: rid("user", "u-1"),
        };
        assert_eq!(entitlement_id(&g.entitlement), "role:owner:assigned");
        assert_eq!(grant_id(&g), "role:owner:assigned:user:u-1");
        let p = grant(&g);
        assert_eq!(p.id, "role:owner:assigned:user:u-1");
        let ent = p.entitlement.unwrap();
        assert_eq!(ent.id, "role:owner:assigned");
        assert_eq!(ent.resource.unwrap().id.unwrap().resource, "owner");
        assert_eq!(p.principal.unwrap().id.unwrap().resource_type, "user");
    }

    #[test]
    fn resource_types_carry_skip_annotations_and_traits() {
        let rt = wit::ResourceType {
            id: "user".into(),
            display_name: "User".into(),
            description: String::new(),
            traits: vec![wit::ResourceTrait::User],
            capabilities: vec![],
            inline_listing: true,
            skip_entitlements: true,
            skip_grants: false,
        };
        let p = resource_type(&rt);
        assert_eq!(p.traits, vec![Trait::User as i32]);
        assert_eq!(p.annotations.len(), 1);
        assert_eq!(
            p.annotations[0].type_url,
            "type.googleapis.com/c1.connector.v2.SkipEntitlements"
        );
    }

    #[test]
    fn user_trait_maps_status_names_and_profile() {
        let r = wit::ResourceRecord {
            id: rid("user", "u-1"),
            parent: None,
            display_name: "Ann".into(),
            description: String::new(),
            traits: vec![wit::TraitData::User(wit::UserTrait {
                login: "ann@x.com".into(),
                emails: vec![wit::Email {
                    address: "ann@x.com".into(),
                    is_primary: true,
                }],
                status: wit::AccountStatus::Disabled,
                given_name: Some("Ann".into()),
                family_name: None,
                profile: vec![wit::ProfileEntry {
                    key: "workspace_role".into(),
                    value: wit::ProfileValue::Text("owner".into()),
                }],
            })],
        };
        let p = resource(&r);
        assert_eq!(
            p.creation_source,
            CreationSource::ConnectorListResources as i32
        );
        let any = &p.annotations[0];
        assert_eq!(
            any.type_url,
            "type.googleapis.com/c1.connector.v2.UserTrait"
        );
        let t: UserTrait = any.to_msg().unwrap();
        assert_eq!(t.login, "ann@x.com");
        assert_eq!(
            t.status.unwrap().status,
            user_trait::status::Status::Disabled as i32
        );
        assert_eq!(t.structured_name.unwrap().given_name, "Ann");
        let profile = t.profile.unwrap();
        assert_eq!(
            profile.fields["workspace_role"].kind,
            Some(Kind::StringValue("owner".into()))
        );
    }
}
