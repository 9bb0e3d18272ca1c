//! Property tests of everything that reads a SCIM answer (`prop_scim_*`).
//!
//! Any body, as bytes or as JSON shaped like Notion's users and groups with
//! wrong types, huge numbers, deep nesting, cut-short text and invalid UTF-8,
//! goes through the list and single-resource parsers, the user and group
//! mapping and every client method. Nothing may panic; errors are
//! `bad-response` errors naming the request and never the token; mapped
//! users and groups have non-empty ids; an id a page holds twice is warned about
//! (the host keeps one copy).

use std::collections::HashSet;

use proptest::collection::vec;
use proptest::option;
use proptest::prelude::*;
use proptest::sample::select;
use serde_json::{Map, Value};

use super::fake::{client, FakeTransport, TOKEN};
use super::model::{
    from_item, from_raw_item, ListResponse, ScimGroup, ScimUser, NOTION_USER_EXTENSION,
};
use super::*;
use crate::baton::connector::types::{LogLevel, Page, TraitData};
use crate::notes::Notes;
use crate::paging::Listings;
use crate::prop_support;
use crate::{groups, users};

/// The property every body must satisfy.
fn check_body(body: &[u8]) {
    if let Ok(list) = ListResponse::parse(body) {
        for item in list.items() {
            check_item(item);
        }
    }
    // Listings, as a sync reads them.
    let page = |list: fn(&ScimClient<&FakeTransport>, &mut Notes) -> Result<Page, _>| {
        let fake = FakeTransport::new();
        fake.push_bytes(200, Some("application/scim+json"), body);
        let mut notes = Notes::new();
        let result = list(&client(&fake), &mut notes);
        (result, fake.requests()[0].label(), notes)
    };
    let (result, label, notes) = page(|c, n| users::list_page(c, &mut Listings::default(), "", n));
    check_page(result, &label, &notes, true);
    let (result, label, notes) = page(|c, n| groups::list_page(c, &mut Listings::default(), "", n));
    check_page(result, &label, &notes, false);
    // Single reads and the answers to writes.
    let fake = FakeTransport::new();
    for _ in 0..6 {
        fake.push_bytes(200, Some("text/html"), body);
    }
    let c = client(&fake);
    let user = NewUser {
        email: "a@x.test".into(),
        first_name: "A".into(),
        last_name: "B".into(),
    };
    let errors = [
        c.get_user("u1").err(),
        c.get_group("g1").err(),
        c.find_user_by_email("a@x.test").err(),
        c.create_user(&user).err().map(|f| f.error),
        c.patch_user_role("u1", "owner").err().map(|f| f.error),
        c.patch_group_members("g1", MemberChange::Add, "u1")
            .err()
            .map(|f| f.error),
    ];
    for (e, request) in errors.iter().zip(fake.requests()) {
        if let Some(e) = e {
            check_error(e, &request.label());
        }
    }
    // The same body as an error answer.
    for status in [400, 409, 429, 500, 503] {
        let e = status::status_error("GET /Users", status, Some("1"), body, TOKEN, Some(0));
        assert!(e.message.starts_with("GET /Users failed with HTTP "));
        assert!(!e.message.contains(TOKEN), "{}", e.message);
    }
}

fn check_error(e: &ConnectorError, label: &str) {
    assert_eq!(e.kind, ErrorKind::BadResponse, "{}", e.message);
    assert!(
        e.message.starts_with(&format!("{label}: ")),
        "{}",
        e.message
    );
    assert!(!e.message.contains(TOKEN), "{}", e.message);
}

/// A mapped user or group is usable, whatever the item was.
fn check_item(item: &str) {
    // The typed fast path reads exactly what a JSON tree reads. A number past
    // f64 (`1e400`) has no JSON tree at all; the typed path must still cope,
    // which the mapping below checks.
    if let Ok(tree) = serde_json::from_str::<Value>(item) {
        assert_eq!(
            format!("{:?}", from_raw_item::<ScimUser>(item)),
            format!("{:?}", from_item::<ScimUser>(tree.clone())),
            "{item}"
        );
        assert_eq!(
            format!("{:?}", from_raw_item::<ScimGroup>(item)),
            format!("{:?}", from_item::<ScimGroup>(tree)),
            "{item}"
        );
    }
    let mut notes = Notes::new();
    if let Some(user) = from_raw_item::<ScimUser>(item).and_then(|u| users::map_user(u, &mut notes))
    {
        let id = &user.resource.id.resource;
        assert!(!id.is_empty() && id.trim() == id, "{id:?}");
        let [TraitData::User(t)] = &user.resource.traits[..] else {
            panic!("{:?}", user.resource.traits)
        };
        assert!(!t.login.trim().is_empty());
        assert!(t.emails.iter().any(|e| e.is_primary), "{:?}", t.emails);
        assert!(user
            .role_grant
            .is_none_or(|g| g.principal == user.resource.id));
    }
    if let Some(group) =
        from_raw_item::<ScimGroup>(item).and_then(|g| groups::map_group(g, &mut notes))
    {
        let id = &group.resource.id.resource;
        assert!(!id.is_empty() && id.trim() == id, "{id:?}");
        let members: HashSet<_> = group.grants.iter().map(|g| &g.principal.resource).collect();
        assert_eq!(members.len(), group.grants.len(), "a member granted twice");
        assert!(members.iter().all(|m| !m.is_empty()));
    }
}

fn check_page(result: Result<Page, ConnectorError>, label: &str, notes: &Notes, users: bool) {
    let page = match result {
        Ok(page) => page,
        Err(e) => return check_error(&e, label),
    };
    let ids: HashSet<_> = page.resources.iter().map(|r| &r.id.resource).collect();
    if ids.len() < page.resources.len() {
        assert!(
            notes.has(LogLevel::Warn, "came twice in one listing"),
            "an id listed twice without a warning"
        );
    }
    assert!(ids.iter().all(|id| !id.is_empty()));
    if users {
        assert!(page
            .grants
            .iter()
            .all(|g| ids.contains(&g.principal.resource)));
    } else {
        assert_eq!(page.entitlements.len(), page.resources.len());
    }
}

/// Runs the committed seeds (`tests/corpus/scim`) as fixed cases; returns them.
fn seeds() -> Vec<Vec<u8>> {
    let seeds = prop_support::corpus("scim");
    for (name, body) in &seeds {
        // Shown with the failure, to name the seed.
        println!("seed {name}");
        check_body(body);
    }
    seeds.into_iter().map(|(_, body)| body).collect()
}

#[test]
fn prop_scim_bytes() {
    // Seeds first, then arbitrary bytes and seeds with one byte changed.
    let seeds = seeds();
    let mutated = (select(seeds), any::<prop::sample::Index>(), any::<u8>()).prop_map(
        |(mut body, at, byte)| {
            if !body.is_empty() {
                let i = at.index(body.len());
                body[i] = byte;
            }
            body
        },
    );
    let bytes = prop_oneof![vec(any::<u8>(), 0..512), mutated];
    prop_support::run(256, bytes, |body| check_body(&body));
}

/// Keys Notion's users, groups and list envelopes use, and some it does not.
const KEYS: &[&str] = &[
    "id",
    "userName",
    "displayName",
    "name",
    "givenName",
    "familyName",
    "formatted",
    "emails",
    "value",
    "primary",
    "active",
    "members",
    "type",
    "Resources",
    "resources",
    "totalResults",
    "itemsPerPage",
    "role",
    "schemas",
    "meta",
    NOTION_USER_EXTENSION,
    "",
];

fn leaf() -> impl Strategy<Value = Value> {
    let texts = select(vec![
        "",
        " ",
        "u1",
        " U1 ",
        "a@x.test",
        "true",
        "False",
        "12",
        "owner",
        "Member",
        "restricted_member",
        "User",
        "Group",
        "é\u{0}\u{202e}",
        "\u{feff}",
    ]);
    prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::from),
        any::<i64>().prop_map(Value::from),
        any::<u64>().prop_map(Value::from),
        any::<f64>().prop_map(Value::from),
        texts.prop_map(Value::from),
        "[ -~]{0,10}".prop_map(Value::from),
    ]
}

fn key() -> impl Strategy<Value = String> {
    prop_oneof![3 => select(KEYS).prop_map(String::from), 1 => "[a-zA-Z$]{1,6}"]
}

/// Any JSON value, objects leaning on Notion's keys.
fn value() -> impl Strategy<Value = Value> {
    leaf().prop_recursive(4, 48, 6, |inner| {
        prop_oneof![
            vec(inner.clone(), 0..5).prop_map(Value::Array),
            vec((key(), inner), 0..6).prop_map(|kv| Value::Object(kv.into_iter().collect())),
        ]
    })
}

/// An object with these fields, each usually of the right shape, sometimes
/// of any shape, sometimes absent.
fn object(fields: Vec<(&'static str, BoxedStrategy<Value>)>) -> BoxedStrategy<Value> {
    let fields: Vec<_> = fields
        .into_iter()
        .map(|(k, good)| {
            option::weighted(0.8, prop_oneof![4 => good, 1 => value().boxed()])
                .prop_map(move |v| (k, v))
        })
        .collect();
    fields
        .prop_map(|fields| {
            let map: Map<String, Value> = fields
                .into_iter()
                .filter_map(|(k, v)| Some((k.to_string(), v?)))
                .collect();
            Value::Object(map)
        })
        .boxed()
}

fn text() -> BoxedStrategy<Value> {
    prop_oneof![leaf(), "[a-z0-9]{1,4}(@x.test)?".prop_map(Value::from)].boxed()
}

fn user_like() -> BoxedStrategy<Value> {
    let email = object(vec![("value", text()), ("primary", leaf().boxed())]);
    let name = object(vec![
        ("givenName", text()),
        ("familyName", text()),
        ("formatted", text()),
    ]);
    let roles = select(vec![
        "owner",
        "membership_admin",
        "Member",
        " restricted_member",
        "guest",
    ]);
    let role = object(vec![("role", roles.prop_map(Value::from).boxed())]);
    object(vec![
        ("id", text()),
        ("userName", text()),
        ("displayName", text()),
        ("name", name),
        ("emails", vec(email, 0..3).prop_map(Value::Array).boxed()),
        ("active", leaf().boxed()),
        (NOTION_USER_EXTENSION, role),
    ])
}

fn group_like() -> BoxedStrategy<Value> {
    let member = object(vec![("value", text()), ("type", text())]);
    object(vec![
        ("id", text()),
        ("displayName", text()),
        ("members", vec(member, 0..4).prop_map(Value::Array).boxed()),
    ])
}

/// Number texts serde cannot hold or the paging must not trust.
fn number_text() -> impl Strategy<Value = String> {
    prop_oneof![
        (0u64..300).prop_map(|n| n.to_string()),
        select(vec![
            "1e400",
            "-0",
            "-1",
            "1.5",
            "18446744073709551616",
            "99999999999999999999999999999999",
            "\"7\"",
            "null",
            "true"
        ])
        .prop_map(String::from),
    ]
}

/// A body: a list envelope of user- and group-like items, then perhaps cut
/// short, given an invalid UTF-8 byte, nested too deep or followed by junk.
fn body() -> impl Strategy<Value = Vec<u8>> {
    let items = vec(
        prop_oneof![user_like(), group_like(), value().boxed()],
        0..5,
    );
    let envelope = (
        number_text(),
        number_text(),
        select(vec!["Resources", "resources", "Items"]),
        items,
    )
        .prop_map(|(total, per_page, key, items)| {
            let items = serde_json::to_string(&items).unwrap();
            format!(r#"{{"totalResults":{total},"itemsPerPage":{per_page},"{key}":{items}}}"#)
                .into_bytes()
        });
    let single = prop_oneof![user_like(), group_like()].prop_map(|v| v.to_string().into_bytes());
    let text = prop_oneof![3 => envelope, 1 => single];
    (text, 0u8..5, any::<prop::sample::Index>(), 1usize..300).prop_map(
        |(mut body, how, at, depth)| {
            let i = at.index(body.len() + 1);
            match how {
                0 => body.truncate(i),
                1 => body.insert(i, 0xff),
                2 => body = [b"[".repeat(depth), body, b"]".repeat(depth)].concat(),
                3 => body.extend_from_slice(b" <html>"),
                _ => {}
            }
            body
        },
    )
}

#[test]
fn prop_scim_json() {
    seeds();
    prop_support::run(256, body(), |body| check_body(&body));
}

#[test]
fn prop_scim_encoders_and_headers() {
    let date = "[A-Z][a-z]{2}, [0-9]{1,3} (Jan|Feb|Nov|Dec) [0-9]{1,20} [0-9]{1,3}:[0-9]{1,2}:[0-9]{1,2} GMT";
    let strategy = (".{0,24}", any::<u16>(), prop_oneof![".{0,40}", date]);
    prop_support::run(256, strategy, |(text, status, header)| {
        let unreserved = |c: u8| c.is_ascii_alphanumeric() || b"-._~%".contains(&c);
        assert!(encode_segment(&text)
            .bytes()
            .all(|c| unreserved(c) && c != b'.'));
        assert!(encode_query_value(&text).bytes().all(unreserved));
        let _ = status::kind_for_status(status);
        let _ = status::parse_retry_after(&header, Some(u64::from(status) << 20));
        let snippet = status::snippet(&header, TOKEN);
        assert!(snippet.chars().count() <= 201);
        let _ = crate::config::parse_base_url(&header);
    });
}
