//! protojson of `Any` annotations: `{"@type": url, ...fields of the message inside}`.
//!
//! Every annotation type a user/group/role/app connector uses is modelled. Types we do not
//! model (Go's v0.7 CLI fails on most of those) fall back to the raw bytes in base64 under
//! `value`, so one odd annotation never breaks a listing.

use super::{resource_id, struct_, timestamp, Obj, J};
use crate::c1z::proto as p;
use prost::Message;
use prost_types::{Any, Struct, Timestamp};

fn user_status_name(v: i32) -> Option<&'static str> {
    p::user_trait::status::Status::try_from(v)
        .ok()
        .map(|t| t.as_str_name())
}

fn account_type_name(v: i32) -> Option<&'static str> {
    p::user_trait::AccountType::try_from(v)
        .ok()
        .map(|t| t.as_str_name())
}

fn app_flag_name(v: i32) -> Option<&'static str> {
    p::app_trait::AppFlag::try_from(v)
        .ok()
        .map(|t| t.as_str_name())
}

pub(super) fn anys(list: &[Any]) -> Vec<J> {
    list.iter().map(any).collect()
}

/// An `Any`: `@type` plus the fields of the message it holds. Types we do not model (Go's
/// CLI would fail on them) fall back to the raw bytes in base64 under `value`.
pub fn any(a: &Any) -> J {
    let at = Obj::default().raw("@type", J::Str(a.type_url.clone()));
    let name = p::any_type_name(a);
    match annotation_fields(
        name.strip_prefix("c1.connector.v2.").unwrap_or(name),
        &a.value,
    ) {
        Some(J::Obj(fields)) => fields.into_iter().fold(at, |o, (k, v)| o.raw(&k, v)).done(),
        _ => at.raw("value", J::Str(base64(&a.value))).done(),
    }
}

fn annotation_fields(short: &str, v: &[u8]) -> Option<J> {
    fn d<M: Message + Default>(v: &[u8]) -> Option<M> {
        M::decode(v).ok()
    }
    let profile = |o: Obj, key: &str, s: &Option<Struct>| o.msg(key, s.as_ref().map(struct_));
    let asset =
        |a: &Option<p::AssetRef>| a.as_ref().map(|a| Obj::default().str("id", &a.id).done());
    let o = Obj::default();
    Some(match short {
        "SkipEntitlementsAndGrants" | "SkipGrants" | "SkipEntitlements" => o.done(),
        "UserTrait" => return user_trait(&d(v)?),
        "GroupTrait" => {
            let t: p::GroupTrait = d(v)?;
            profile(o.msg("icon", asset(&t.icon)), "profile", &t.profile).done()
        }
        "RoleTrait" => {
            let t: p::RoleTrait = d(v)?;
            let rsc = t.role_scope_conditions.as_ref().map(role_scope_conditions);
            profile(o, "profile", &t.profile)
                .msg("roleScopeConditions", rsc)
                .done()
        }
        "RoleScopeConditions" => role_scope_conditions(&d(v)?),
        "AppTrait" => {
            let t: p::AppTrait = d(v)?;
            let o = o
                .str("helpUrl", &t.help_url)
                .msg("icon", asset(&t.icon))
                .msg("logo", asset(&t.logo));
            profile(o, "profile", &t.profile)
                .enums("flags", &t.flags, app_flag_name)
                .done()
        }
        "SecretTrait" => {
            let t: p::SecretTrait = d(v)?;
            let ts = |t: &Option<Timestamp>| t.as_ref().map(timestamp);
            profile(o, "profile", &t.profile)
                .msg("createdAt", ts(&t.created_at))
                .msg("expiresAt", ts(&t.expires_at))
                .msg("lastUsedAt", ts(&t.last_used_at))
                .msg("createdById", t.created_by_id.as_ref().map(resource_id))
                .msg("identityId", t.identity_id.as_ref().map(resource_id))
                .done()
        }
        "ScopeBindingTrait" => {
            let t: p::ScopeBindingTrait = d(v)?;
            o.msg("roleId", t.role_id.as_ref().map(resource_id))
                .msg(
                    "scopeResourceId",
                    t.scope_resource_id.as_ref().map(resource_id),
                )
                .done()
        }
        "ChildResourceType" => o
            .str(
                "resourceTypeId",
                &d::<p::ChildResourceType>(v)?.resource_type_id,
            )
            .done(),
        "ExternalLink" => o.str("url", &d::<p::ExternalLink>(v)?.url).done(),
        "V1Identifier" => o.str("id", &d::<p::V1Identifier>(v)?.id).done(),
        "RawId" => o.str("id", &d::<p::RawId>(v)?.id).done(),
        "Aliases" => o.strs("ids", &d::<p::Aliases>(v)?.ids).done(),
        "ETag" => {
            let t: p::ETag = d(v)?;
            o.str("value", &t.value)
                .str("entitlementId", &t.entitlement_id)
                .done()
        }
        "EntitlementImmutable" | "GrantImmutable" => {
            let t: p::GrantImmutable = d(v)?; // same field layout
            profile(o.str("sourceId", &t.source_id), "metadata", &t.metadata).done()
        }
        "GrantMetadata" => profile(o, "metadata", &d::<p::GrantMetadata>(v)?.metadata).done(),
        "GrantExpandable" => {
            let t: p::GrantExpandable = d(v)?;
            o.strs("entitlementIds", &t.entitlement_ids)
                .bool("shallow", t.shallow)
                .strs("resourceTypeIds", &t.resource_type_ids)
                .done()
        }
        _ => return None,
    })
}

fn user_trait(t: &p::UserTrait) -> Option<J> {
    let emails = t
        .emails
        .iter()
        .map(|e| {
            Obj::default()
                .str("address", &e.address)
                .bool("isPrimary", e.is_primary)
                .done()
        })
        .collect();
    let status = t.status.as_ref().map(|s| {
        Obj::default()
            .enum_("status", s.status, user_status_name)
            .str("details", &s.details)
            .done()
    });
    let name = t.structured_name.as_ref().map(|n| {
        Obj::default()
            .str("givenName", &n.given_name)
            .str("familyName", &n.family_name)
            .strs("middleNames", &n.middle_names)
            .str("prefix", &n.prefix)
            .str("suffix", &n.suffix)
            .done()
    });
    let ts = |t: &Option<Timestamp>| t.as_ref().map(timestamp);
    Some(
        Obj::default()
            .list("emails", emails)
            .msg("status", status)
            .msg("profile", t.profile.as_ref().map(struct_))
            .msg(
                "icon",
                t.icon
                    .as_ref()
                    .map(|a| Obj::default().str("id", &a.id).done()),
            )
            .enum_("accountType", t.account_type, account_type_name)
            .str("login", &t.login)
            .strs("loginAliases", &t.login_aliases)
            .msg("createdAt", ts(&t.created_at))
            .msg("lastLogin", ts(&t.last_login))
            .msg(
                "mfaStatus",
                t.mfa_status
                    .as_ref()
                    .map(|m| Obj::default().bool("mfaEnabled", m.mfa_enabled).done()),
            )
            .msg(
                "ssoStatus",
                t.sso_status
                    .as_ref()
                    .map(|m| Obj::default().bool("ssoEnabled", m.sso_enabled).done()),
            )
            .msg("structuredName", name)
            .strs("employeeIds", &t.employee_ids)
            .done(),
    )
}

fn role_scope_conditions(c: &p::RoleScopeConditions) -> J {
    let conds = c
        .conditions
        .iter()
        .map(|x| Obj::default().str("expression", &x.expression).done())
        .collect();
    Obj::default()
        .str("type", &c.r#type)
        .list("conditions", conds)
        .done()
}

/// Standard base64 with padding, as protojson prints `bytes`.
fn base64(bytes: &[u8]) -> String {
    const T: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::with_capacity(bytes.len().div_ceil(3) * 4);
    for chunk in bytes.chunks(3) {
        let b = [
            chunk[0],
            *chunk.get(1).unwrap_or(&0),
            *chunk.get(2).unwrap_or(&0),
        ];
        let n = u32::from(b[0]) << 16 | u32::from(b[1]) << 8 | u32::from(b[2]);
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(char::from(T[(n >> (18 - 6 * i) & 63) as usize]));
            } else {
                out.push('=');
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base64_padding() {
        assert_eq!(base64(b""), "");
        assert_eq!(base64(b"f"), "Zg==");
        assert_eq!(base64(b"fo"), "Zm8=");
        assert_eq!(base64(b"foo"), "Zm9v");
    }
}
