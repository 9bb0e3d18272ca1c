//! SCIM JSON shapes as Notion returns them, parsed leniently.
//!
//! Notion publishes no schema for its SCIM API, so every field is optional and
//! a field of an unexpected type reads as absent instead of failing the whole
//! page. Unknown fields (`meta`, `photos`, other extensions) are ignored; `meta`
//! is not modelled at all because Notion writes its dates as epoch-millisecond
//! strings. Whether an object is usable (it has an `id`, a `userName`) is
//! decided by the resource modules, which skip and log unusable items.

use std::fmt;
use std::marker::PhantomData;
use std::ops::Range;

use serde::de::value::MapAccessDeserializer;
use serde::de::{DeserializeOwned, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};
use serde::Deserialize;
use serde_json::value::RawValue;
use serde_json::Value;

/// The key of Notion's user extension, which carries the workspace role.
pub const NOTION_USER_EXTENSION: &str = "urn:ietf:params:scim:schemas:extension:notion:2.0:User";

/// One page of an RFC 7644 `ListResponse`.
///
/// The body is scanned once: the envelope parse notes where each item of
/// `Resources` lies in the body and keeps the text, and each item is parsed
/// later on its own (see [`from_raw_item`]), straight into its typed shape,
/// so that one malformed item cannot fail the page.
#[derive(Debug, Default)]
pub struct ListResponse {
    /// `totalResults`, when present and a non-negative integer.
    pub total_results: Option<u64>,
    /// `itemsPerPage` as the server states it. Paging never relies on it
    /// (servers get it wrong); it is only compared with the items received.
    pub items_per_page: Option<u64>,
    /// The body; `items` are byte ranges of it.
    text: String,
    /// Where each item of `Resources` lies in `text`, in order.
    items: Vec<Range<usize>>,
}

/// The top level of a `ListResponse`, borrowing the items from the body.
#[derive(Deserialize)]
struct Envelope<'a> {
    /// RFC 7644's spelling.
    #[serde(rename = "Resources", borrow, default)]
    upper: Option<Items<'a>>,
    /// Tolerated: a server that lower-cases it.
    #[serde(rename = "resources", borrow, default)]
    lower: Option<Items<'a>>,
    #[serde(rename = "totalResults", default, deserialize_with = "count_like")]
    total_results: Option<u64>,
    #[serde(rename = "itemsPerPage", default, deserialize_with = "count_like")]
    items_per_page: Option<u64>,
}

/// `Resources` as found: a list of unparsed items, or something else.
enum Items<'a> {
    List(Vec<&'a RawValue>),
    NotAList,
}

impl<'de: 'a, 'a> Deserialize<'de> for Items<'a> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct ItemsVisitor<'a>(PhantomData<&'a ()>);
        impl<'de: 'a, 'a> Visitor<'de> for ItemsVisitor<'a> {
            type Value = Items<'a>;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a list")
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Items<'a>, A::Error> {
                let mut items = Vec::with_capacity(seq.size_hint().unwrap_or(0));
                while let Some(item) = seq.next_element::<&'de RawValue>()? {
                    items.push(item);
                }
                Ok(Items::List(items))
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Items<'a>, A::Error> {
                while map.next_entry::<IgnoredAny, IgnoredAny>()?.is_some() {}
                Ok(Items::NotAList)
            }
            fn visit_bool<E>(self, _: bool) -> Result<Items<'a>, E> {
                Ok(Items::NotAList)
            }
            fn visit_i64<E>(self, _: i64) -> Result<Items<'a>, E> {
                Ok(Items::NotAList)
            }
            fn visit_u64<E>(self, _: u64) -> Result<Items<'a>, E> {
                Ok(Items::NotAList)
            }
            fn visit_f64<E>(self, _: f64) -> Result<Items<'a>, E> {
                Ok(Items::NotAList)
            }
            fn visit_str<E>(self, _: &str) -> Result<Items<'a>, E> {
                Ok(Items::NotAList)
            }
        }
        d.deserialize_any(ItemsVisitor(PhantomData))
    }
}

impl ListResponse {
    /// Parses a response body; the error explains what is wrong with it.
    ///
    /// `Resources` may be absent only when `totalResults` is 0 (RFC 7644
    /// allows leaving out an empty list). Absent while the total promises
    /// items, the page is refused rather than read as empty, which would
    /// silently end a listing.
    pub fn parse(body: impl Into<Vec<u8>>) -> Result<Self, String> {
        let body = body.into();
        // serde reads a JSON list as a struct given field by field; refuse it first.
        if !body.trim_ascii_start().starts_with(b"{") {
            return Err(match serde_json::from_slice::<IgnoredAny>(&body) {
                Ok(_) => "the body is not a JSON object".into(),
                Err(e) => not_json(&body, &e),
            });
        }
        // Not UTF-8: let serde say why (a body cut short inside a character is
        // cut-short JSON, not an encoding problem).
        let text = String::from_utf8(body).map_err(|e| {
            let body = e.as_bytes();
            match serde_json::from_slice::<IgnoredAny>(body) {
                Err(json) => not_json(body, &json),
                Ok(_) => format!(
                    "the body is not JSON (invalid UTF-8 at byte {})",
                    e.utf8_error().valid_up_to()
                ),
            }
        })?;
        let envelope: Envelope<'_> = serde_json::from_str(&text).map_err(|e| {
            if e.is_data() {
                format!("the body is not a SCIM ListResponse ({e})")
            } else {
                not_json(text.as_bytes(), &e)
            }
        })?;
        let (total_results, items_per_page) = (envelope.total_results, envelope.items_per_page);
        let items = match (envelope.upper.or(envelope.lower), total_results) {
            (Some(Items::List(items)), _) => items
                .iter()
                .map(|item| span_of(&text, item.get()))
                .collect(),
            (None, Some(0)) => Vec::new(),
            (None, Some(total)) => {
                return Err(format!(
                    "the ListResponse has no `Resources` although totalResults is {total}"
                ))
            }
            (None, None) => {
                return Err("the body is not a SCIM ListResponse (no `Resources`)".into())
            }
            (Some(Items::NotAList), _) => return Err("`Resources` is not a list".into()),
        };
        Ok(Self {
            total_results,
            items_per_page,
            text,
            items,
        })
    }

    /// A page holding `items` (for tests that build pages from JSON).
    #[cfg(test)]
    pub fn of_items(total_results: Option<u64>, items: &[Value]) -> Self {
        let mut text = String::from("[");
        let mut spans = Vec::new();
        for (i, item) in items.iter().enumerate() {
            if i > 0 {
                text.push(',');
            }
            let start = text.len();
            text.push_str(&item.to_string());
            spans.push(start..text.len());
        }
        text.push(']');
        Self {
            total_results,
            items_per_page: None,
            text,
            items: spans,
        }
    }

    /// Number of items in `Resources`.
    pub fn len(&self) -> usize {
        self.items.len()
    }

    /// The items of `Resources`, each as its unparsed JSON text.
    pub fn items(&self) -> impl ExactSizeIterator<Item = &str> {
        self.items.iter().map(|span| &self.text[span.clone()])
    }
}

/// Where `part`, a slice of `whole`, lies in it.
fn span_of(whole: &str, part: &str) -> Range<usize> {
    let start = part.as_ptr() as usize - whole.as_ptr() as usize;
    debug_assert!(start + part.len() <= whole.len());
    start..start + part.len()
}

/// Says why a body that serde could not parse is not JSON: empty, an HTML
/// page (a proxy's or a login page), cut short, or otherwise malformed.
pub fn not_json(body: &[u8], error: &serde_json::Error) -> String {
    let text = body.trim_ascii_start();
    if text.is_empty() {
        "the body is empty, not JSON".into()
    } else if text.starts_with(b"<") {
        "the body is an HTML page, not JSON".into()
    } else if error.is_eof() {
        format!("the body is cut-short JSON ({error})")
    } else {
        format!("the body is not JSON ({error})")
    }
}

/// A SCIM user; only `id` and `userName` matter for identity.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct ScimUser {
    /// Notion user UUID.
    #[serde(deserialize_with = "string_like")]
    pub id: Option<String>,
    /// The user's email, used as login.
    #[serde(rename = "userName", deserialize_with = "string_like")]
    pub user_name: Option<String>,
    /// Display name chosen by Notion.
    #[serde(rename = "displayName", deserialize_with = "string_like")]
    pub display_name: Option<String>,
    /// Structured name; no sub-field is guaranteed.
    #[serde(deserialize_with = "lenient")]
    pub name: Option<ScimName>,
    /// Email addresses.
    #[serde(deserialize_with = "list_of")]
    pub emails: Vec<ScimEmail>,
    /// Whether the user is active; absent means active.
    #[serde(deserialize_with = "bool_like")]
    pub active: Option<bool>,
    /// Notion's extension with the workspace role.
    #[serde(rename = "urn:ietf:params:scim:schemas:extension:notion:2.0:User")]
    #[serde(deserialize_with = "lenient")]
    pub notion: Option<NotionUserExtension>,
}

/// The `name` complex attribute of a user.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct ScimName {
    /// Full name.
    #[serde(deserialize_with = "string_like")]
    pub formatted: Option<String>,
    /// Given name.
    #[serde(rename = "givenName", deserialize_with = "string_like")]
    pub given_name: Option<String>,
    /// Family name.
    #[serde(rename = "familyName", deserialize_with = "string_like")]
    pub family_name: Option<String>,
}

/// One item of a user's `emails`.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct ScimEmail {
    /// The address.
    #[serde(deserialize_with = "string_like")]
    pub value: Option<String>,
    /// Whether this is the primary address.
    #[serde(deserialize_with = "bool_like")]
    pub primary: Option<bool>,
}

/// Notion's user extension object.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct NotionUserExtension {
    /// `owner`, `membership_admin`, `member`, `restricted_member` or a value
    /// Notion added since.
    #[serde(deserialize_with = "string_like")]
    pub role: Option<String>,
}

/// A SCIM group with its members inline.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct ScimGroup {
    /// Group id.
    #[serde(deserialize_with = "string_like")]
    pub id: Option<String>,
    /// Group name.
    #[serde(rename = "displayName", deserialize_with = "string_like")]
    pub display_name: Option<String>,
    /// Members; absent means none.
    #[serde(deserialize_with = "list_of")]
    pub members: Vec<ScimMember>,
}

/// One item of a group's `members`.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct ScimMember {
    /// The member's id.
    #[serde(deserialize_with = "string_like")]
    pub value: Option<String>,
    /// `User` or `Group`, when the server says.
    #[serde(rename = "type", deserialize_with = "string_like")]
    pub kind: Option<String>,
}

/// An RFC 7644 error body (or Notion's REST-style `message`).
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct ScimError {
    /// HTTP status repeated in the body; a string per the RFC, a number in practice.
    #[serde(deserialize_with = "string_like")]
    pub status: Option<String>,
    /// SCIM error type such as `uniqueness`.
    #[serde(rename = "scimType", deserialize_with = "string_like")]
    pub scim_type: Option<String>,
    /// Human-readable detail.
    #[serde(deserialize_with = "string_like")]
    pub detail: Option<String>,
    /// Notion's public API puts its text here.
    #[serde(deserialize_with = "string_like")]
    pub message: Option<String>,
}

/// Parses one JSON object as `T`, reporting only whether it worked.
///
/// Anything but an object is refused: serde would otherwise read a JSON list
/// as a struct given field by field.
pub fn from_item<T: DeserializeOwned>(item: Value) -> Option<T> {
    if !item.is_object() {
        return None;
    }
    serde_json::from_value(item).ok()
}

/// [`from_item`] for an unparsed item of a list.
///
/// The typed parse is the fast path. It refuses what a JSON tree accepts, a
/// key given twice (the tree keeps the last), so an item it refuses gets a
/// second chance through the tree.
pub fn from_raw_item<T: DeserializeOwned>(text: &str) -> Option<T> {
    if !text.trim_start().starts_with('{') {
        return None;
    }
    serde_json::from_str(text)
        .ok()
        .or_else(|| serde_json::from_str(text).ok().and_then(from_item))
}

/// The `id` string of an unparsed item (for tests).
#[cfg(test)]
pub fn raw_item_id(item: &str) -> Option<String> {
    let value: Value = serde_json::from_str(item).ok()?;
    Some(value.get("id")?.as_str()?.to_string())
}

/// A non-negative integer given as a number or a numeric string.
fn count_like<'de, D: Deserializer<'de>>(d: D) -> Result<Option<u64>, D::Error> {
    Ok(match Scalar::deserialize(d)? {
        Scalar::U64(n) => Some(n),
        Scalar::I64(n) => u64::try_from(n).ok(),
        Scalar::Str(s) => s.trim().parse().ok(),
        _ => None,
    })
}

/// A JSON value as lenient fields read it: a scalar, or `Other` for null,
/// a list or an object (consumed without being kept).
enum Scalar {
    Str(String),
    U64(u64),
    I64(i64),
    F64(f64),
    Bool(bool),
    Other,
}

impl<'de> Deserialize<'de> for Scalar {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct ScalarVisitor;
        impl<'de> Visitor<'de> for ScalarVisitor {
            type Value = Scalar;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("any JSON value")
            }
            fn visit_bool<E>(self, v: bool) -> Result<Scalar, E> {
                Ok(Scalar::Bool(v))
            }
            fn visit_i64<E>(self, v: i64) -> Result<Scalar, E> {
                Ok(Scalar::I64(v))
            }
            fn visit_u64<E>(self, v: u64) -> Result<Scalar, E> {
                Ok(Scalar::U64(v))
            }
            fn visit_f64<E>(self, v: f64) -> Result<Scalar, E> {
                Ok(Scalar::F64(v))
            }
            fn visit_str<E>(self, v: &str) -> Result<Scalar, E> {
                Ok(Scalar::Str(v.to_owned()))
            }
            fn visit_string<E>(self, v: String) -> Result<Scalar, E> {
                Ok(Scalar::Str(v))
            }
            fn visit_unit<E>(self) -> Result<Scalar, E> {
                Ok(Scalar::Other)
            }
            fn visit_none<E>(self) -> Result<Scalar, E> {
                Ok(Scalar::Other)
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Scalar, A::Error> {
                while seq.next_element::<IgnoredAny>()?.is_some() {}
                Ok(Scalar::Other)
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Scalar, A::Error> {
                while map.next_entry::<IgnoredAny, IgnoredAny>()?.is_some() {}
                Ok(Scalar::Other)
            }
        }
        d.deserialize_any(ScalarVisitor)
    }
}

/// A string, or a number in its text form (ids and statuses come both ways).
fn string_like<'de, D: Deserializer<'de>>(d: D) -> Result<Option<String>, D::Error> {
    Ok(match Scalar::deserialize(d)? {
        Scalar::Str(s) => Some(s),
        Scalar::U64(n) => Some(n.to_string()),
        Scalar::I64(n) => Some(n.to_string()),
        Scalar::F64(f) => serde_json::Number::from_f64(f).map(|n| n.to_string()),
        _ => None,
    })
}

/// A boolean, or the strings `true` / `false` in any case.
fn bool_like<'de, D: Deserializer<'de>>(d: D) -> Result<Option<bool>, D::Error> {
    Ok(match Scalar::deserialize(d)? {
        Scalar::Bool(b) => Some(b),
        Scalar::Str(s) if s.eq_ignore_ascii_case("true") => Some(true),
        Scalar::Str(s) if s.eq_ignore_ascii_case("false") => Some(false),
        _ => None,
    })
}

/// The scalar visits of a visitor that takes one compound shape only: each
/// scalar reads as `Default` (absent, empty).
macro_rules! scalars_read_as_default {
    () => {
        fn visit_bool<E>(self, _: bool) -> Result<Self::Value, E> {
            Ok(Default::default())
        }
        fn visit_i64<E>(self, _: i64) -> Result<Self::Value, E> {
            Ok(Default::default())
        }
        fn visit_u64<E>(self, _: u64) -> Result<Self::Value, E> {
            Ok(Default::default())
        }
        fn visit_f64<E>(self, _: f64) -> Result<Self::Value, E> {
            Ok(Default::default())
        }
        fn visit_str<E>(self, _: &str) -> Result<Self::Value, E> {
            Ok(Default::default())
        }
        fn visit_unit<E>(self) -> Result<Self::Value, E> {
            Ok(Default::default())
        }
        fn visit_none<E>(self) -> Result<Self::Value, E> {
            Ok(Default::default())
        }
    };
}

/// An object read as `T`; anything else reads as absent. `T`'s fields are
/// lenient themselves, so an object always reads (a key given twice aside,
/// which [`from_raw_item`] retries through a JSON tree).
fn lenient<'de, D: Deserializer<'de>, T: Deserialize<'de>>(d: D) -> Result<Option<T>, D::Error> {
    struct Lenient<T>(PhantomData<T>);
    impl<'de, T: Deserialize<'de>> Visitor<'de> for Lenient<T> {
        type Value = Option<T>;
        fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
            f.write_str("an object")
        }
        fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<Self::Value, A::Error> {
            T::deserialize(MapAccessDeserializer::new(map)).map(Some)
        }
        fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
            while seq.next_element::<IgnoredAny>()?.is_some() {}
            Ok(None)
        }
        scalars_read_as_default!();
    }
    d.deserialize_any(Lenient(PhantomData))
}

/// A list item read through [`lenient`].
struct LenientItem<T>(Option<T>);

impl<'de, T: Deserialize<'de>> Deserialize<'de> for LenientItem<T> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        lenient(d).map(LenientItem)
    }
}

/// A list whose items that are not objects are dropped; a non-list reads as empty.
fn list_of<'de, D: Deserializer<'de>, T: Deserialize<'de>>(d: D) -> Result<Vec<T>, D::Error> {
    struct ListOf<T>(PhantomData<T>);
    impl<'de, T: Deserialize<'de>> Visitor<'de> for ListOf<T> {
        type Value = Vec<T>;
        fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
            f.write_str("a list")
        }
        fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
            let mut items = Vec::new();
            while let Some(LenientItem(item)) = seq.next_element::<LenientItem<T>>()? {
                items.extend(item);
            }
            Ok(items)
        }
        fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
            while map.next_entry::<IgnoredAny, IgnoredAny>()?.is_some() {}
            Ok(Vec::new())
        }
        scalars_read_as_default!();
    }
    d.deserialize_any(ListOf(PhantomData))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn list_response_shapes() {
        type Want = Result<(Option<u64>, usize), &'static str>;
        let cases: &[(&str, Want)] = &[
            (
                r#"{"totalResults":2,"Resources":[{},{}]}"#,
                Ok((Some(2), 2)),
            ),
            (r#"{"totalResults":"3","resources":[{}]}"#, Ok((Some(3), 1))),
            (r#"{"Resources":[{}]}"#, Ok((None, 1))),
            (r#"{"totalResults":0}"#, Ok((Some(0), 0))),
            (r#"{"totalResults":-1,"Resources":[]}"#, Ok((None, 0))),
            (r#"{"totalResults":0,"Resources":null}"#, Ok((Some(0), 0))),
            (r#"{"Resources":{}}"#, Err("not a list")),
            (
                r#"{"totalResults":5}"#,
                Err("no `Resources` although totalResults is 5"),
            ),
            (r#"{"totalResults":"x"}"#, Err("not a SCIM ListResponse")),
            (r#"{"ok":true}"#, Err("not a SCIM ListResponse")),
            (r#"[1,2]"#, Err("not a JSON object")),
            ("<html>", Err("not JSON")),
            ("", Err("not JSON")),
        ];
        for (body, want) in cases {
            let got = ListResponse::parse(body.as_bytes()).map(|l| (l.total_results, l.len()));
            match (got, want) {
                (Ok(g), Ok(w)) => assert_eq!(g, *w, "{body}"),
                (Err(g), Err(w)) => assert!(g.contains(w), "{body}: {g}"),
                (g, w) => panic!("{body}: got {g:?}, want {w:?}"),
            }
        }
    }

    #[test]
    fn a_body_that_is_not_utf8_says_why() {
        // Cut short inside a two-byte character: serde's reason, not the encoding.
        let cut = ListResponse::parse(b"{\"Resources\":[{\"n\":\"\xc3").unwrap_err();
        assert!(cut.starts_with("the body is cut-short JSON ("), "{cut}");
        let stray = ListResponse::parse(b"{\"Resources\":[{\"n\":\"\xff\"}]}").unwrap_err();
        assert!(stray.starts_with("the body is not JSON ("), "{stray}");
    }

    #[test]
    fn items_are_the_exact_text_of_each_element() {
        let body = br#"{"Resources":[ {"id":"a"} ,"x",[1, 2],{"id":"\u00e9"}],"totalResults":4}"#;
        let page = ListResponse::parse(body).unwrap();
        let items: Vec<_> = page.items().collect();
        assert_eq!(
            items,
            [r#"{"id":"a"}"#, r#""x""#, "[1, 2]", r#"{"id":"\u00e9"}"#]
        );
        assert_eq!(raw_item_id(items[3]).as_deref(), Some("\u{e9}"));
        assert_eq!(from_raw_item::<ScimUser>(items[1]).map(|u| u.id), None);
    }

    #[test]
    fn items_per_page_is_read_but_not_required() {
        let page =
            ListResponse::parse(br#"{"totalResults":3,"itemsPerPage":"100","Resources":[{}]}"#)
                .unwrap();
        assert_eq!(
            (page.total_results, page.items_per_page),
            (Some(3), Some(100))
        );
        let page = ListResponse::parse(br#"{"itemsPerPage":-2,"Resources":[]}"#).unwrap();
        assert_eq!(page.items_per_page, None);
    }

    #[test]
    fn user_fields_of_the_wrong_type_read_as_absent() {
        let user: ScimUser = from_item(json!({
            "id": 42,
            "userName": ["x"],
            "name": "Ann Lee",
            "emails": [{"value": "a@x.test", "primary": "True"}, "junk", {"value": 7}],
            "active": "false",
            "meta": {"created": "1700000000000"},
            NOTION_USER_EXTENSION: {"role": "member"}
        }))
        .unwrap();
        assert_eq!(user.id.as_deref(), Some("42"));
        assert_eq!(user.user_name, None);
        assert!(user.name.is_none());
        assert_eq!(user.emails.len(), 2);
        assert_eq!(user.emails[0].primary, Some(true));
        assert_eq!(user.active, Some(false));
        assert_eq!(user.notion.and_then(|n| n.role).as_deref(), Some("member"));
    }

    #[test]
    fn group_members_default_to_empty() {
        let group: ScimGroup = from_item(json!({"id": "g", "members": null})).unwrap();
        assert!(group.members.is_empty());
        assert!(from_item::<ScimGroup>(json!("not an object")).is_none());
        assert!(from_item::<ScimGroup>(json!(["g", "G"])).is_none());
    }
}
