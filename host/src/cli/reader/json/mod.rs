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
use prost_types::{value::Kind, Struct, Timestamp, Value};
use std::io::{self, Write};

mod annotations;
use annotations::anys;

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

impl J {
    /// The same value as a `serde_json::Value`, for output that is printed
    /// pretty (object keys are then ordered as `serde_json` orders them).
    pub fn to_value(&self) -> serde_json::Value {
        use serde_json::Value as V;
        match self {
            J::Null => V::Null,
            J::Bool(b) => V::Bool(*b),
            J::Num(n) => serde_json::from_str(n).unwrap_or_else(|_| V::String(n.clone())),
            J::Str(s) => V::String(s.clone()),
            J::Arr(items) => V::Array(items.iter().map(J::to_value).collect()),
            J::Obj(fields) => V::Object(
                fields
                    .iter()
                    .map(|(k, v)| (k.clone(), v.to_value()))
                    .collect(),
            ),
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
    p::resource_type::Trait::try_from(v)
        .ok()
        .map(|t| t.as_str_name())
}
fn creation_source_name(v: i32) -> Option<&'static str> {
    p::resource::CreationSource::try_from(v)
        .ok()
        .map(|t| t.as_str_name())
}
fn purpose_name(v: i32) -> Option<&'static str> {
    p::entitlement::PurposeValue::try_from(v)
        .ok()
        .map(|t| t.as_str_name())
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
        .msg(
            "parentResourceId",
            r.parent_resource_id.as_ref().map(resource_id),
        )
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
        .list(
            "grantableTo",
            e.grantable_to.iter().map(resource_type).collect(),
        )
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
            .map(|(k, v)| {
                (
                    k.clone(),
                    Obj::default().bool("isDirect", v.is_direct).done(),
                )
            })
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
    J::Str(
        UnixTime {
            secs: t.seconds,
            nanos,
        }
        .to_rfc3339(true),
    )
}

/// `google.protobuf.Struct` as a JSON object (keys sorted, as the map is a BTreeMap).
pub fn struct_(s: &Struct) -> J {
    J::Obj(
        s.fields
            .iter()
            .map(|(k, v)| (k.clone(), value(v)))
            .collect(),
    )
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
        for (n, want) in [
            (55.0, "55"),
            (0.5, "0.5"),
            (-3.25, "-3.25"),
            (1e21, "1e+21"),
            (1.5e-7, "1.5e-7"),
            (0.0, "0"),
        ] {
            assert_eq!(s(&number(n)), want);
        }
        assert_eq!(s(&number(f64::NAN)), "\"NaN\"");
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
        let unknown = prost_types::Any {
            type_url: "type.googleapis.com/x.Y".into(),
            value: vec![1, 2],
        };
        assert_eq!(
            s(&annotations::any(&unknown)),
            r#"{"@type":"type.googleapis.com/x.Y","value":"AQI="}"#
        );
    }
}
