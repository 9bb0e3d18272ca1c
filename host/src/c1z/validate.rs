//! Checks the writer applies before storing an object (`c1z-format.md` 7.4).
//!
//! Baton's Go CLI dereferences `Entitlement.resource.id`, `Grant.entitlement.resource.id`
//! and `Grant.principal.id` without nil checks and its `-o json` fails on annotation types
//! it cannot resolve, so a file breaking these rules crashes or breaks the reader we are
//! writing for. Catching them here names the offending object instead.

use super::proto::{self, resource_type::Trait, Entitlement, Grant, Resource, ResourceId};
use super::C1zError;
use prost::Message;
use prost_types::{value::Kind, Any, Struct, Value};

/// Longest resource type id Baton's validation accepts.
const MAX_TYPE_ID_BYTES: usize = 1024;

/// Checks a resource type: non-empty id of at most 1024 bytes, resolvable annotations.
pub fn resource_type(rt: &proto::ResourceType) -> Result<(), C1zError> {
    let bad = |p: String| C1zError::invalid("resource type", &rt.id, p);
    if rt.id.is_empty() {
        return Err(bad("the id is empty".into()));
    }
    if rt.id.len() > MAX_TYPE_ID_BYTES {
        return Err(bad(format!(
            "the id is longer than {MAX_TYPE_ID_BYTES} bytes"
        )));
    }
    annotations(&rt.annotations).map_err(bad)
}

/// Checks a resource: complete id and parent, resolvable annotations, and the trait
/// annotation its type's `traits` (when the type was already written) call for.
pub fn resource(r: &Resource, traits: Option<&[i32]>) -> Result<(), C1zError> {
    let key = r.id.as_ref().map(ResourceId::key).unwrap_or_default();
    let bad = |p: String| C1zError::invalid("resource", &key, p);
    resource_parts(r, "").map_err(bad)?;
    for &t in traits.unwrap_or_default() {
        required_trait(t, &r.annotations).map_err(bad)?;
    }
    Ok(())
}

/// Checks an entitlement: non-empty id and a resource with a complete id.
pub fn entitlement(e: &Entitlement) -> Result<(), C1zError> {
    let bad = |p: String| C1zError::invalid("entitlement", &e.id, p);
    if e.id.is_empty() {
        return Err(bad("the id is empty".into()));
    }
    entitlement_parts(e).map_err(bad)
}

/// Checks a grant: non-empty id, entitlement with id and resource id, principal with id.
pub fn grant(g: &Grant) -> Result<(), C1zError> {
    let bad = |p: String| C1zError::invalid("grant", &g.id, p);
    if g.id.is_empty() {
        return Err(bad("the id is empty".into()));
    }
    let ent = g
        .entitlement
        .as_ref()
        .ok_or_else(|| bad("the entitlement is missing".into()))?;
    if ent.id.is_empty() {
        return Err(bad("the entitlement id is empty".into()));
    }
    entitlement_parts(ent).map_err(|p| bad(format!("entitlement: {p}")))?;
    let principal = g
        .principal
        .as_ref()
        .ok_or_else(|| bad("the principal is missing".into()))?;
    resource_parts(principal, "principal ").map_err(bad)?;
    annotations(&g.annotations).map_err(bad)
}

fn entitlement_parts(e: &Entitlement) -> Result<(), String> {
    let r = e
        .resource
        .as_ref()
        .ok_or("the resource it belongs to is missing")?;
    resource_parts(r, "resource ")?;
    for rt in &e.grantable_to {
        annotations(&rt.annotations).map_err(|p| format!("grantable_to {:?}: {p}", rt.id))?;
    }
    annotations(&e.annotations)
}

/// Id present with both parts, parent (if any) complete, annotations resolvable.
fn resource_parts(r: &Resource, what: &str) -> Result<(), String> {
    let id =
        r.id.as_ref()
            .ok_or_else(|| format!("the {what}id is missing"))?;
    id_parts(id).map_err(|p| format!("{what}id: {p}"))?;
    if let Some(parent) = &r.parent_resource_id {
        id_parts(parent).map_err(|p| format!("{what}parent_resource_id: {p}"))?;
    }
    annotations(&r.annotations).map_err(|p| format!("{what}{p}"))
}

fn id_parts(id: &ResourceId) -> Result<(), String> {
    if id.resource_type.is_empty() {
        return Err("resource_type is empty".into());
    }
    if id.resource.is_empty() {
        return Err(format!("resource is empty (type {:?})", id.resource_type));
    }
    Ok(())
}

/// Every annotation has a Go-style type URL of a type v0.7.27 knows, and the payloads of the
/// types we model decode and hold no kind-less `Value` (Go's protojson fails on those).
fn annotations(anns: &[Any]) -> Result<(), String> {
    for a in anns {
        let name = a
            .type_url
            .strip_prefix(proto::TYPE_URL_PREFIX)
            .ok_or_else(|| {
                format!(
                    "annotation type URL {:?} must start with {:?}",
                    a.type_url,
                    proto::TYPE_URL_PREFIX
                )
            })?;
        if !proto::is_known_annotation(name) {
            return Err(format!(
                "annotation type {name} is unknown to Baton's v0.7 CLI (its -o json would fail)"
            ));
        }
        let short = name.strip_prefix("c1.connector.v2.").unwrap_or(name);
        let bad = |e: prost::DecodeError| format!("annotation {short} does not decode: {e}");
        let v = a.value.as_slice();
        let profiles = match short {
            "UserTrait" => vec![proto::UserTrait::decode(v).map_err(bad)?.profile],
            "GroupTrait" => vec![proto::GroupTrait::decode(v).map_err(bad)?.profile],
            "RoleTrait" => vec![proto::RoleTrait::decode(v).map_err(bad)?.profile],
            "AppTrait" => vec![proto::AppTrait::decode(v).map_err(bad)?.profile],
            "GrantMetadata" => vec![proto::GrantMetadata::decode(v).map_err(bad)?.metadata],
            "GrantImmutable" => vec![proto::GrantImmutable::decode(v).map_err(bad)?.metadata],
            "EntitlementImmutable" => {
                vec![
                    proto::EntitlementImmutable::decode(v)
                        .map_err(bad)?
                        .metadata,
                ]
            }
            _ => Vec::new(),
        };
        for s in profiles.iter().flatten() {
            struct_values(s).map_err(|p| format!("annotation {short}: {p}"))?;
        }
    }
    Ok(())
}

fn struct_values(s: &Struct) -> Result<(), String> {
    for (k, v) in &s.fields {
        value(v).map_err(|p| format!("{k}: {p}"))?;
    }
    Ok(())
}

fn value(v: &Value) -> Result<(), String> {
    match &v.kind {
        None => Err("a google.protobuf.Value has no kind set".into()),
        Some(Kind::NumberValue(n)) if !n.is_finite() => {
            Err(format!("number {n} cannot be written as JSON"))
        }
        Some(Kind::StructValue(s)) => struct_values(s),
        Some(Kind::ListValue(l)) => l.values.iter().try_for_each(value),
        Some(_) => Ok(()),
    }
}

/// Resources of a type with a user/group/role/app trait must carry that trait annotation;
/// a UserTrait must have a status.
fn required_trait(t: i32, anns: &[Any]) -> Result<(), String> {
    let Ok(t) = Trait::try_from(t) else {
        return Ok(());
    };
    let name = match t {
        Trait::User => {
            let user: Option<Result<proto::UserTrait, _>> = proto::find_annotation(anns);
            return match user {
                Some(Ok(u)) if u.status.is_some() => Ok(()),
                Some(Ok(_)) => Err("its UserTrait has no status".into()),
                Some(Err(e)) => Err(format!("its UserTrait does not decode: {e}")),
                None => {
                    Err("its type has TRAIT_USER but it carries no UserTrait annotation".into())
                }
            };
        }
        Trait::Group => proto::has_annotation::<proto::GroupTrait>(anns)
            .then_some(())
            .ok_or("GroupTrait"),
        Trait::Role => proto::has_annotation::<proto::RoleTrait>(anns)
            .then_some(())
            .ok_or("RoleTrait"),
        Trait::App => proto::has_annotation::<proto::AppTrait>(anns)
            .then_some(())
            .ok_or("AppTrait"),
        _ => Ok(()),
    };
    name.map_err(|n| {
        format!(
            "its type has {} but it carries no {n} annotation",
            t.as_str_name()
        )
    })
}
