//! The CI version of the sync benchmark (`benches/sync_bench`), scaled down to
//! 10,000 users and 200 groups. It checks what the benchmark's figures rest
//! on, the request count and a complete c1z, and none of the times: CI
//! machines are too noisy for those.

use std::collections::HashSet;

use baton_host::c1z::{C1zReader, EntitlementFilter, GrantFilter, ResourceFilter};

use super::{server, sync_into};

const USERS: usize = 10_000;
const GROUPS: usize = 200;

#[test]
fn a_10k_user_sync_makes_one_request_per_page_and_writes_everything() {
    let server = server(USERS, GROUPS);
    let dir = server.directory();
    let roles: HashSet<_> = dir.users.iter().filter_map(|u| u.role).collect();
    assert_eq!(roles.len(), 4, "all four roles are in the data");
    let role_grants = dir.users.iter().filter(|u| u.role.is_some()).count();
    let memberships = dir.membership_count();
    assert!(
        memberships >= USERS * 9 / 10,
        "about one membership per user"
    );

    let tmp = tempfile::tempdir().unwrap();
    let target = tmp.path().join("bench-smoke.c1z");
    let report = sync_into(&server, &target).expect("the sync succeeds");

    // One validation request, then one per 100 users and one per 100 groups.
    assert_eq!(
        server.request_count(),
        1 + USERS.div_ceil(100) + GROUPS.div_ceil(100)
    );

    let reader = C1zReader::open(&target).expect("the c1z opens");
    let sync = reader.select_sync(None).unwrap();
    assert!(sync.is_finished());
    let sid = sync.sync_id.as_str();
    let count_of = |resource_type: &str| {
        let filter = ResourceFilter {
            resource_type: Some(resource_type.into()),
            ..Default::default()
        };
        decoded(reader.resources(sid, &filter))
    };
    assert_eq!(count_of("user"), USERS);
    assert_eq!(count_of("group"), GROUPS);
    assert_eq!(count_of("role"), 4);
    let entitlements = decoded(reader.entitlements(sid, &EntitlementFilter::default()));
    assert_eq!(entitlements, 4 + GROUPS, "one per role and one per group");
    let grants = decoded(reader.grants(sid, &GrantFilter::default()));
    assert_eq!(
        grants,
        role_grants + memberships,
        "a role grant per user with a role and a grant per membership"
    );
    assert_eq!(report.summary.counts.duplicates, 0);
    assert_eq!(report.summary.dangling_references, 0);
}

/// How many rows a listing yields, each of which must decode.
fn decoded<T, E: std::fmt::Debug>(rows: impl Iterator<Item = Result<T, E>>) -> usize {
    let mut n = 0;
    for row in rows {
        row.expect("every row decodes");
        n += 1;
    }
    n
}
