//! protojson rendering of the c1z messages, the way Go's `protojson.Marshal` prints them.
//!
//! Rules mirrored: lowerCamelCase keys in field-number order, default values omitted
//! (empty strings, zero numbers, false, empty lists, unset messages; a set but empty
//! message is `{}`), enums as value names, int64 as JSON strings, `Any` as `{"@type": url,
//! ...fields}`, `Struct` as a plain object with sorted keys, `Timestamp` as RFC 3339.
//! Go also randomises insignificant whitespace between builds; we print compact JSON, which
//! is equal once parsed.

use crate::c1z::proto as p;
use crate::c1z::timestamp::UnixTime;
use prost::Message;
use prost_types::{value::Kind, Any, Struct, Timestamp, Value};
use std::io::{self, Write};

/// An ordered JSON value (object keys keep insertion = field order).
#[derive(Debug, Clone, PartialEq)]
pub enum J {
    /// `null`.
    Null,
    /// `true` / `false`.
    Bool(bool),
    /// A number, pre-formatted.
    Num(String),
    /// A string.
    Str(String),
    /// An array.
    Arr(Vec<J>),
    /// An object.
    Obj(Vec<(String, J)>),
}

impl J {
    /// Writes compact JSON.
    pub fn write(&self, out: &mut impl Write) -> io::Result<()> {
        match self {
            J::Null => out.write_all(b"null"),
            J::Bool(b) => write!(out, "{b}"),
            J::Num(n) => out.write_all(n.as_bytes()),
            J::Str(s) => serde_json::to_writer(&mut *out, s).map_err(io::Error::other),
            J::Arr(items) => {
                out.write_all(b"[")?;
                for (i, item) in items.iter().enumerate() {
                    if i > 0 {
                        out.write_all(b",")?;
                    }
                    item.write(out)?;
                }
                out.write_all(b"]")
            }
            J::Obj(fields) => {
                out.write_all(b"{")?;
                for (i, (k, v)) in fields.iter().enumerate() {
                    if i > 0 {
                        out.write_all(b",")?;
                    }
                    serde_json::to_writer(&mut *out, k).map_err(io::Error::other)?;
                    out.write_all(b":")?;
                    v.write(out)?;
                }
                out.write_all(b"}")
            }
        }
    }
}

/// Builds a protojson object, skipping default values.
#[derive(Default)]
pub struct Obj(Vec<(String, J)>);

impl Obj {
    /// A string field.
    pub fn str(mut self, key: &str, v: &str) -> Self {
        if !v.is_empty() {
            self.0.push((key.into(), J::Str(v.into())));
        }
        self
    }
    /// A bool field.
    pub fn bool(mut self, key: &str, v: bool) -> Self {
        if v {
            self.0.push((key.into(), J::Bool(true)));
        }
        self
    }
    /// A message field (`None` = unset).
    pub fn msg(mut self, key: &str, v: Option<J>) -> Self {
        if let Some(v) = v {
            self.0.push((key.into(), v));
        }
        self
    }
    /// A repeated field.
    pub fn list(mut self, key: &str, v: Vec<J>) -> Self {
        if !v.is_empty() {
            self.0.push((key.into(), J::Arr(v)));
        }
        self
    }
    /// A repeated string field.
    pub fn strs(self, key: &str, v: &[String]) -> Self {
        self.list(key, v.iter().map(|s| J::Str(s.clone())).collect())
    }
    /// An enum field; unknown numbers print as numbers, as in Go.
    pub fn enum_(mut self, key: &str, v: i32, name: fn(i32) -> Option<&'static str>) -> Self {
        if v != 0 {
            self.0.push((key.into(), enum_value(v, name)));
        }
        self
    }
    /// A repeated enum field.
    pub fn enums(self, key: &str, v: &[i32], name: fn(i32) -> Option<&'static str>) -> Self {
        self.list(key, v.iter().map(|&x| enum_value(x, name)).collect())
    }
    /// A raw key/value (used for `@type`).
    pub fn raw(mut self, key: &str, v: J) -> Self {
        self.0.push((key.into(), v));
        self
    }
    /// Finishes the object.
    pub fn done(self) -> J {
        J::Obj(self.0)
    }
}

fn enum_value(v: i32, name: fn(i32) -> Option<&'static str>) -> J {
    name(v).map_or_else(|| J::Num(v.to_string()), |n| J::Str(n.into()))
}

fn trait_name(v: i32) -> Option<&'static str> {
    p::resource_type::Trait::try_from(v).ok().map(|t| t.as_str_name())
}
fn creation_source_name(v: i32) -> Option<&'static str> {
    p::resource::CreationSource::try_from(v).ok().map(|t| t.as_str_name())
}
fn purpose_name(v: i32) -> Option<&'static str> {
    p::entitlement::PurposeValue::try_from(v).ok().map(|t| t.as_str_name())
}
fn user_status_name(v: i32) -> Option<&'static str> {
    p::user_trait::status::Status::try_from(v).ok().map(|t| t.as_str_name())
}
fn account_type_name(v: i32) -> Option<&'static str> {
    p::user_trait::AccountType::try_from(v).ok().map(|t| t.as_str_name())
}
fn app_flag_name(v: i32) -> Option<&'static str> {
    p::app_trait::AppFlag::try_from(v).ok().map(|t| t.as_str_name())
}

/// `ResourceType`.
pub fn resource_type(rt: &p::ResourceType) -> J {
    Obj::default()
        .str("id", &rt.id)
        .str("displayName", &rt.display_name)
        .enums("traits", &rt.traits, trait_name)
        .list("annotations", anys(&rt.annotations))
        .str("description", &rt.description)
        .bool("sourcedExternally", rt.sourced_externally)
        .done()
}

/// `ResourceId`.
pub fn resource_id(id: &p::ResourceId) -> J {
    Obj::default()
        .str("resourceType", &id.resource_type)
        .str("resource", &id.resource)
        .bool("batonResource", id.baton_resource)
        .done()
}

/// `Resource`.
pub fn resource(r: &p::Resource) -> J {
    let ext = r.external_id.as_ref().map(|e| {
        Obj::default()
            .str("id", &e.id)
            .str("link", &e.link)
            .str("description", &e.description)
            .done()
    });
    Obj::default()
        .msg("id", r.id.as_ref().map(resource_id))
        .msg("parentResourceId", r.parent_resource_id.as_ref().map(resource_id))
        .str("displayName", &r.display_name)
        .list("annotations", anys(&r.annotations))
        .str("description", &r.description)
        .bool("batonResource", r.baton_resource)
        .msg("externalId", ext)
        .enum_("creationSource", r.creation_source, creation_source_name)
        .done()
}

/// `Entitlement`.
pub fn entitlement(e: &p::Entitlement) -> J {
    Obj::default()
        .msg("resource", e.resource.as_ref().map(resource))
        .str("id", &e.id)
        .str("displayName", &e.display_name)
        .str("description", &e.description)
        .list("grantableTo", e.grantable_to.iter().map(resource_type).collect())
        .list("annotations", anys(&e.annotations))
        .enum_("purpose", e.purpose, purpose_name)
        .str("slug", &e.slug)
        .done()
}

/// `Grant`.
pub fn grant(g: &p::Grant) -> J {
    let sources = g.sources.as_ref().map(|s| {
        let map: Vec<(String, J)> = s
            .sources
            .iter()
            .map(|(k, v)| (k.clone(), Obj::default().bool("isDirect", v.is_direct).done()))
            .collect();
        let mut o = Obj::default();
        if !map.is_empty() {
            o = o.raw("sources", J::Obj(map));
        }
        o.done()
    });
    Obj::default()
        .msg("entitlement", g.entitlement.as_ref().map(entitlement))
        .msg("principal", g.principal.as_ref().map(resource))
        .str("id", &g.id)
        .list("annotations", anys(&g.annotations))
        .msg("sources", sources)
        .done()
}

/// A `Timestamp` as protojson prints it.
pub fn timestamp(t: &Timestamp) -> J {
    let nanos = u32::try_from(t.nanos).unwrap_or(0).min(999_999_999);
    J::Str(UnixTime { secs: t.seconds, nanos }.to_rfc3339(true))
}

/// `google.protobuf.Struct` as a JSON object (keys sorted, as the map is a BTreeMap).
pub fn struct_(s: &Struct) -> J {
    J::Obj(s.fields.iter().map(|(k, v)| (k.clone(), value(v))).collect())
}

fn value(v: &Value) -> J {
    match &v.kind {
        None | Some(Kind::NullValue(_)) => J::Null,
        Some(Kind::NumberValue(n)) => number(*n),
        Some(Kind::StringValue(s)) => J::Str(s.clone()),
        Some(Kind::BoolValue(b)) => J::Bool(*b),
        Some(Kind::StructValue(s)) => struct_(s),
        Some(Kind::ListValue(l)) => J::Arr(l.values.iter().map(value).collect()),
    }
}

/// A double as Go prints it: shortest round-trip digits, plain notation unless the
/// magnitude is below 1e-6 or at least 1e21, `NaN`/`Infinity` as strings.
pub fn number(n: f64) -> J {
    if n.is_nan() {
        return J::Str("NaN".into());
    }
    if n.is_infinite() {
        return J::Str(if n > 0.0 { "Infinity" } else { "-Infinity" }.into());
    }
    let abs = n.abs();
    if abs != 0.0 && !(1e-6..1e21).contains(&abs) {
        let s = format!("{n:e}");
        // Rust prints 1e21 / 1.5e-7; Go prints 1e+21 / 1.5e-07 then trims to 1.5e-7.
        return J::Num(match s.split_once('e') {
            Some((m, e)) if !e.starts_with('-') => format!("{m}e+{e}"),
            _ => s,
        });
    }
    J::Num(format!("{n}"))
}

fn anys(list: &[Any]) -> Vec<J> {
    list.iter().map(any).collect()
}

/// An `Any`: `@type` plus the fields of the message it holds. Types we do not model (Go's
/// CLI would fail on them) fall back to the raw bytes in base64 under `value`.
pub fn any(a: &Any) -> J {
    let at = Obj::default().raw("@type", J::Str(a.type_url.clone()));
    let name = p::any_type_name(a);
    match annotation_fields(name.strip_prefix("c1.connector.v2.").unwrap_or(name), &a.value) {
        Some(J::Obj(fields)) => fields.into_iter().fold(at, |o, (k, v)| o.raw(&k, v)).done(),
        _ => at.raw("value", J::Str(base64(&a.value))).done(),
    }
}

fn annotation_fields(short: &str, v: &[u8]) -> Option<J> {
    fn d<M: Message + Default>(v: &[u8]) -> Option<M> {
        M::decode(v).ok()
    }
    let profile = |o: Obj, key: &str, s: &Option<Struct>| o.msg(key, s.as_ref().map(struct_));
    let asset = |a: &Option<p::AssetRef>| a.as_ref().map(|a| Obj::default().str("id", &a.id).done());
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
            profile(o, "profile", &t.profile).msg("roleScopeConditions", rsc).done()
        }
        "RoleScopeConditions" => role_scope_conditions(&d(v)?),
        "AppTrait" => {
            let t: p::AppTrait = d(v)?;
            let o = o.str("helpUrl", &t.help_url).msg("icon", asset(&t.icon)).msg("logo", asset(&t.logo));
            profile(o, "profile", &t.profile).enums("flags", &t.flags, app_flag_name).done()
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
                .msg("scopeResourceId", t.scope_resource_id.as_ref().map(resource_id))
                .done()
        }
        "ChildResourceType" => o.str("resourceTypeId", &d::<p::ChildResourceType>(v)?.resource_type_id).done(),
        "ExternalLink" => o.str("url", &d::<p::ExternalLink>(v)?.url).done(),
        "V1Identifier" => o.str("id", &d::<p::V1Identifier>(v)?.id).done(),
        "RawId" => o.str("id", &d::<p::RawId>(v)?.id).done(),
        "Aliases" => o.strs("ids", &d::<p::Aliases>(v)?.ids).done(),
        "ETag" => {
            let t: p::ETag = d(v)?;
            o.str("value", &t.value).str("entitlementId", &t.entitlement_id).done()
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
        .map(|e| Obj::default().str("address", &e.address).bool("isPrimary", e.is_primary).done())
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
            .msg("icon", t.icon.as_ref().map(|a| Obj::default().str("id", &a.id).done()))
            .enum_("accountType", t.account_type, account_type_name)
            .str("login", &t.login)
            .strs("loginAliases", &t.login_aliases)
            .msg("createdAt", ts(&t.created_at))
            .msg("lastLogin", ts(&t.last_login))
            .msg("mfaStatus", t.mfa_status.as_ref().map(|m| Obj::default().bool("mfaEnabled", m.mfa_enabled).done()))
            .msg("ssoStatus", t.sso_status.as_ref().map(|m| Obj::default().bool("ssoEnabled", m.sso_enabled).done()))
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
    Obj::default().str("type", &c.r#type).list("conditions", conds).done()
}

/// Standard base64 with padding, as protojson prints `bytes`.
fn base64(bytes: &[u8]) -> String {
    const T: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::with_capacity(bytes.len().div_ceil(3) * 4);
    for chunk in bytes.chunks(3) {
        let b = [chunk[0], *chunk.get(1).unwrap_or(&0), *chunk.get(2).unwrap_or(&0)];
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

    fn s(j: &J) -> String {
        let mut v = Vec::new();
        j.write(&mut v).unwrap();
        String::from_utf8(v).unwrap()
    }

    #[test]
    fn numbers_like_go() {
        for (n, want) in [(55.0, "55"), (0.5, "0.5"), (-3.25, "-3.25"), (1e21, "1e+21"), (1.5e-7, "1.5e-7"), (0.0, "0")] {
            assert_eq!(s(&number(n)), want);
        }
        assert_eq!(s(&number(f64::NAN)), "\"NaN\"");
    }

    #[test]
    fn base64_padding() {
        assert_eq!(base64(b""), "");
        assert_eq!(base64(b"f"), "Zg==");
        assert_eq!(base64(b"fo"), "Zm8=");
        assert_eq!(base64(b"foo"), "Zm9v");
    }

    #[test]
    fn any_and_defaults() {
        let rt = p::ResourceType {
            id: "user".into(),
            display_name: "User".into(),
            traits: vec![1],
            annotations: vec![p::to_any(&p::SkipEntitlementsAndGrants {})],
            ..Default::default()
        };
        assert_eq!(
            s(&resource_type(&rt)),
            r#"{"id":"user","displayName":"User","traits":["TRAIT_USER"],"annotations":[{"@type":"type.googleapis.com/c1.connector.v2.SkipEntitlementsAndGrants"}]}"#
        );
        let unknown = Any { type_url: "type.googleapis.com/x.Y".into(), value: vec![1, 2] };
        assert_eq!(s(&any(&unknown)), r#"{"@type":"type.googleapis.com/x.Y","value":"AQI="}"#);
    }
}
