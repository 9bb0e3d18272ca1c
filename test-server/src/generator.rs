//! Deterministic directory generator.
//!
//! Every value is derived from `(seed, kind, index)` through a stateless splitmix64
//! stream, so user *i* is the same regardless of how many users are generated, and
//! 100,000 users cost one pass with a handful of small allocations each.
//!
//! Rules (indexes are 0-based):
//! * roles: 0 owner, 1 membership_admin, 2 member, 3 restricted_member; from 4 on,
//!   `i % 50 == 0` owner, `i % 20 == 1` membership_admin, `i % 10 == 7`
//!   restricted_member, otherwise member. User 9 has no Notion extension at all.
//! * quirks (only for `i >= 4`): `i % 10 == 3` has no `name.formatted`; `i % 12 == 5`
//!   has no `displayName`; `i % 100 == 42` is inactive; `i % 33 == 8` has a second,
//!   non-primary email.
//! * groups: with two or more groups the last one is empty. User *i* with
//!   `i % 8 == 7` is in no group; every other user is in one group chosen by a seeded
//!   hash, and users with `i % 8 == 3` also in the next group (when there are at least
//!   two non-empty groups), so total memberships ≈ number of users.

use crate::model::{Email, Group, Role, ScimId, User};
use crate::Config;
use serde_json::Map;

/// A generated (or snapshotted) directory: users and groups in insertion order.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Directory {
    /// Users, in list order.
    pub users: Vec<User>,
    /// Groups, in list order.
    pub groups: Vec<Group>,
}

impl Directory {
    /// Looks up a user by id.
    pub fn user(&self, id: ScimId) -> Option<&User> {
        self.users.iter().find(|u| u.id == id)
    }

    /// Total number of group memberships.
    pub fn membership_count(&self) -> usize {
        self.groups.iter().map(|g| g.members.len()).sum()
    }
}

/// Stream kinds, so users, groups and server-created ids never share a stream.
pub(crate) const KIND_USER: u64 = 1;
pub(crate) const KIND_GROUP: u64 = 2;
pub(crate) const KIND_CREATED: u64 = 3;
const KIND_MEMBERSHIP: u64 = 4;

/// The splitmix64 finaliser: a good 64-bit mixing function.
pub(crate) fn mix(mut z: u64) -> u64 {
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

/// A tiny splitmix64 generator.
#[derive(Clone, Debug)]
pub(crate) struct SplitMix64(u64);

impl SplitMix64 {
    /// An independent stream for one `(seed, kind, index)` triple.
    pub fn new(seed: u64, kind: u64, index: u64) -> Self {
        SplitMix64(mix(
            seed ^ mix(kind.wrapping_shl(56) ^ index ^ 0x6a09_e667_f3bc_c909)
        ))
    }

    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        mix(self.0)
    }

    pub fn below(&mut self, n: u64) -> u64 {
        self.next_u64() % n.max(1)
    }

    /// A random version-4 style UUID.
    pub fn uuid(&mut self) -> ScimId {
        let hi = (self.next_u64() & !0xf000) | 0x4000;
        let lo = (self.next_u64() & !(0b11 << 62)) | (0b10 << 62);
        ScimId((u128::from(hi) << 64) | u128::from(lo))
    }
}

/// (display form, ASCII slug for the email address)
#[rustfmt::skip]
const FIRST_NAMES: &[(&str, &str)] = &[
    ("Ada", "ada"), ("Bruno", "bruno"), ("Chiara", "chiara"), ("Dmitri", "dmitri"),
    ("Elif", "elif"), ("Farah", "farah"), ("Gustav", "gustav"), ("Hana", "hana"),
    ("Ines", "ines"), ("Jonas", "jonas"), ("Kofi", "kofi"), ("Lena", "lena"),
    ("Mateo", "mateo"), ("Noor", "noor"), ("Oskar", "oskar"), ("Priya", "priya"),
    ("Quentin", "quentin"), ("Rosa", "rosa"), ("Sven", "sven"), ("Tomás", "tomas"),
    ("Uma", "uma"), ("Vera", "vera"), ("Wen", "wen"), ("Xavier", "xavier"),
    ("Yara", "yara"), ("Zoë", "zoe"), ("Amara", "amara"), ("Björn", "bjorn"),
    ("Camille", "camille"), ("Darius", "darius"), ("Emeka", "emeka"), ("Freya", "freya"),
];

#[rustfmt::skip]
const LAST_NAMES: &[(&str, &str)] = &[
    ("Abara", "abara"), ("Becker", "becker"), ("Castillo", "castillo"), ("Dubois", "dubois"),
    ("Eriksen", "eriksen"), ("Fischer", "fischer"), ("García", "garcia"), ("Hoang", "hoang"),
    ("Ivanova", "ivanova"), ("Jensen", "jensen"), ("Kowalski", "kowalski"), ("Lindqvist", "lindqvist"),
    ("Moreau", "moreau"), ("Nakamura", "nakamura"), ("Okafor", "okafor"), ("Petrov", "petrov"),
    ("Quispe", "quispe"), ("Rossi", "rossi"), ("Santos", "santos"), ("Tanaka", "tanaka"),
    ("Ueda", "ueda"), ("Van Dijk", "vandijk"), ("Weber", "weber"), ("Xu", "xu"),
    ("Yilmaz", "yilmaz"), ("Zhang", "zhang"), ("O'Brien", "obrien"), ("Müller", "muller"),
];

#[rustfmt::skip]
const TEAM_NAMES: &[&str] = &[
    "Engineering", "Design", "Marketing", "Sales", "Support", "Finance", "Legal",
    "People", "Product", "Data", "Security", "Operations",
];

/// Base of generated `meta.created` values (2023-11-14).
const EPOCH_MS: u64 = 1_700_000_000_000;

/// The role rule described in the module docs.
pub fn role_for(index: usize) -> Option<Role> {
    match index {
        0 => Some(Role::Owner),
        1 => Some(Role::MembershipAdmin),
        2 => Some(Role::Member),
        3 => Some(Role::RestrictedMember),
        9 => None,
        i if i % 50 == 0 => Some(Role::Owner),
        i if i % 20 == 1 => Some(Role::MembershipAdmin),
        i if i % 10 == 7 => Some(Role::RestrictedMember),
        _ => Some(Role::Member),
    }
}

fn user(seed: u64, i: usize) -> User {
    let mut rng = SplitMix64::new(seed, KIND_USER, i as u64);
    let id = rng.uuid();
    let (first, first_slug) = FIRST_NAMES[rng.below(FIRST_NAMES.len() as u64) as usize];
    let (last, last_slug) = LAST_NAMES[rng.below(LAST_NAMES.len() as u64) as usize];
    let created_ms = EPOCH_MS + i as u64 * 60_000 + rng.below(60_000);
    let modified_ms = created_ms + rng.below(90 * 24 * 3_600_000);
    let user_name = format!("{first_slug}.{last_slug}.{i}@example.com");
    let full = format!("{first} {last}");
    let quirky = i >= 4;
    let mut emails = vec![Email {
        value: user_name.clone(),
        primary: true,
        kind: Some("work".into()),
    }];
    if quirky && i % 33 == 8 {
        emails.push(Email {
            value: format!("{first_slug}.{last_slug}@personal.example.org"),
            primary: false,
            kind: Some("home".into()),
        });
    }
    User {
        id,
        user_name,
        given_name: Some(first.to_string()),
        family_name: Some(last.to_string()),
        formatted: (!(quirky && i % 10 == 3)).then(|| full.clone()),
        display_name: (!(quirky && i % 12 == 5)).then_some(full),
        emails,
        active: !(quirky && i % 100 == 42),
        role: role_for(i),
        created_ms,
        modified_ms,
        extra: Map::new(),
    }
}

fn group_name(i: usize) -> String {
    match TEAM_NAMES.get(i) {
        Some(n) => (*n).to_string(),
        None => format!("Group {i}"),
    }
}

/// Generates the initial directory for `config`.
pub fn generate(config: &Config) -> Directory {
    let users: Vec<User> = (0..config.users).map(|i| user(config.seed, i)).collect();
    let mut groups: Vec<Group> = (0..config.groups)
        .map(|i| {
            let mut rng = SplitMix64::new(config.seed, KIND_GROUP, i as u64);
            let created_ms = EPOCH_MS + rng.below(3_600_000);
            Group {
                id: rng.uuid(),
                display_name: group_name(i),
                members: Vec::new(),
                created_ms,
                modified_ms: created_ms + rng.below(30 * 24 * 3_600_000),
            }
        })
        .collect();
    let filled = if groups.len() >= 2 {
        groups.len() - 1
    } else {
        groups.len()
    };
    if filled > 0 {
        for (i, u) in users.iter().enumerate() {
            if i % 8 == 7 {
                continue;
            }
            let mut rng = SplitMix64::new(config.seed, KIND_MEMBERSHIP, i as u64);
            let g = rng.below(filled as u64) as usize;
            groups[g].members.push(u.id);
            if i % 8 == 3 && filled >= 2 {
                groups[(g + 1) % filled].members.push(u.id);
            }
        }
    }
    Directory { users, groups }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashSet;

    fn cfg(users: usize, groups: usize, seed: u64) -> Config {
        Config {
            users,
            groups,
            seed,
            ..Config::default()
        }
    }

    #[test]
    fn deterministic_and_seed_sensitive() {
        let a = generate(&cfg(300, 6, 7));
        assert_eq!(a, generate(&cfg(300, 6, 7)));
        let b = generate(&cfg(300, 6, 8));
        assert_ne!(a.users[0].id, b.users[0].id);
        // User i does not depend on how many users are generated.
        assert_eq!(generate(&cfg(10, 0, 7)).users[..], a.users[..10]);
    }

    #[test]
    fn all_roles_present_from_four_users() {
        let d = generate(&cfg(4, 1, 1));
        let roles: Vec<_> = d.users.iter().map(|u| u.role).collect();
        assert_eq!(roles, Role::ALL.map(Some).to_vec());
        assert!(generate(&cfg(3, 1, 1))
            .users
            .iter()
            .all(|u| u.role.is_some()));
    }

    #[test]
    fn default_size_shape() {
        let d = generate(&cfg(250, 5, 1));
        let count = |r| d.users.iter().filter(|u| u.role == Some(r)).count();
        assert_eq!(count(Role::Owner), 5);
        assert!(count(Role::MembershipAdmin) >= 10);
        assert!(count(Role::Member) > 150);
        assert!(count(Role::RestrictedMember) >= 20);
        assert_eq!(d.users.iter().filter(|u| u.role.is_none()).count(), 1);
        assert_eq!(d.users.iter().filter(|u| !u.active).count(), 3);
        assert!(d.users.iter().any(|u| u.formatted.is_none()));
        assert!(d.users.iter().any(|u| u.display_name.is_none()));
        for u in &d.users[..4] {
            assert!(u.active && u.formatted.is_some() && u.display_name.is_some());
        }
        assert!(d.groups[4].members.is_empty());
        assert!(d.groups[..4].iter().all(|g| !g.members.is_empty()));
        let names: HashSet<_> = d.users.iter().map(|u| u.user_name.clone()).collect();
        assert_eq!(names.len(), 250);
        let u = &d.users[5];
        assert_eq!(u.user_name, u.user_name.to_lowercase());
        assert!(u.user_name.ends_with(".5@example.com"));
        let id = u.id.to_string();
        assert_eq!(id.len(), 36);
        assert_eq!(id.parse::<ScimId>(), Ok(u.id));
    }

    #[test]
    fn small_configs_have_a_few_members_per_group() {
        let d = generate(&cfg(10, 3, 1));
        assert!(d.groups[2].members.is_empty());
        assert!(d.membership_count() >= 8);
        let d = generate(&cfg(5, 1, 1));
        assert_eq!(d.groups[0].members.len(), 5);
        assert!(generate(&cfg(0, 3, 1))
            .groups
            .iter()
            .all(|g| g.members.is_empty()));
    }

    #[test]
    fn large_directory_is_fast_and_unique() {
        let start = std::time::Instant::now();
        let d = generate(&cfg(100_000, 2_000, 3));
        let elapsed = start.elapsed();
        // Generous bound: debug build on a loaded machine.
        assert!(elapsed.as_secs() < 10, "took {elapsed:?}");
        let ids: HashSet<_> = d
            .users
            .iter()
            .map(|u| u.id)
            .chain(d.groups.iter().map(|g| g.id))
            .collect();
        assert_eq!(ids.len(), 102_000);
        let m = d.membership_count();
        assert!((95_000..=105_000).contains(&m), "{m}");
        assert_eq!(d.groups[11].display_name, "Operations");
        assert_eq!(d.groups[12].display_name, "Group 12");
    }
}
