//! Reliability (issue 7): the host's retries and rate limiter against the
//! test-server's faults, rate limit and pagination anomalies, and what each
//! malformed response turns into. Every failing sync must leave the previous
//! c1z byte for byte as it was.

use std::collections::BTreeMap;
use std::path::Path;
use std::time::{Duration, Instant};

use baton_host::bindings::types::{ConfigValue, ConnectorMetadata};
use baton_host::c1z::{C1zReader, EntitlementFilter, GrantFilter, ResourceFilter};
use baton_host::runtime::{
    ConnectorInstance, EgressPolicy, Origin, RateLimiter, RunPolicy, Runtime, NOTION_COMPONENT,
};
use baton_host::sync::{SyncError, SyncReport, SyncRun};
use notion_scim_test_server::{Anomaly, Fault, RateLimit, Schedule, ScheduledFault, TestServer};
use prost::Message;

use super::{server, sync_into, TOKEN};

/// Retries that do not slow the suite down: backoff waits capped at 50 ms.
fn quick_retries(server: &TestServer) -> RunPolicy {
    RunPolicy {
        max_retry_wait: Duration::from_millis(50),
        ..allowed(server)
    }
}

fn allowed(server: &TestServer) -> RunPolicy {
    RunPolicy {
        egress: EgressPolicy {
            allowed: vec![Origin::of_url(&server.base_url()).unwrap()],
        },
        ..Default::default()
    }
}

/// A configured instance of the embedded component under `policy`.
fn instance(server: &TestServer, policy: RunPolicy) -> (ConnectorInstance, ConnectorMetadata) {
    let component = Runtime::new().unwrap().load(NOTION_COMPONENT).unwrap();
    let mut instance = component.instantiate(policy).unwrap();
    let metadata = instance.metadata().unwrap();
    let config =
        [("scim-token", TOKEN), ("base-url", &server.base_url())].map(|(n, v)| ConfigValue {
            name: n.into(),
            value: v.into(),
        });
    instance.configure(&metadata, &config).unwrap();
    (instance, metadata)
}

/// [`sync_into`] under `policy`.
fn sync_with(
    server: &TestServer,
    target: &Path,
    policy: RunPolicy,
) -> Result<SyncReport, SyncError> {
    let (mut instance, metadata) = instance(server, policy);
    instance.validate()?;
    SyncRun::new(&mut instance, &metadata, target)?.run()
}

/// Everything a c1z's latest sync holds, by id, as decoded messages
/// (encoded again, so that maps compare); sync ids and times are left out.
#[derive(Debug, PartialEq, Eq)]
struct Content {
    resources: BTreeMap<String, Vec<u8>>,
    entitlements: BTreeMap<String, Vec<u8>>,
    grants: BTreeMap<String, Vec<u8>>,
}

fn content(path: &Path) -> Content {
    let reader = C1zReader::open(path).unwrap();
    let sync = reader.select_sync(None).unwrap();
    let sid = sync.sync_id.as_str();
    let resources = reader
        .resources(sid, &ResourceFilter::default())
        .map(|r| {
            let r = r.unwrap();
            let id = r.id.clone().unwrap();
            (
                format!("{}:{}", id.resource_type, id.resource),
                r.encode_to_vec(),
            )
        })
        .collect();
    let entitlements = reader
        .entitlements(sid, &EntitlementFilter::default())
        .map(|e| e.unwrap())
        .map(|e| (e.id.clone(), e.encode_to_vec()))
        .collect();
    let grants = reader
        .grants(sid, &GrantFilter::default())
        .map(|g| g.unwrap())
        .map(|g| (g.id.clone(), g.encode_to_vec()))
        .collect();
    Content {
        resources,
        entitlements,
        grants,
    }
}

/// Ids in one map and not the other, both ways, for failure messages.
fn differences(a: &BTreeMap<String, Vec<u8>>, b: &BTreeMap<String, Vec<u8>>) -> String {
    let only_a: Vec<_> = a.keys().filter(|k| !b.contains_key(*k)).take(5).collect();
    let only_b: Vec<_> = b.keys().filter(|k| !a.contains_key(*k)).take(5).collect();
    let changed: Vec<_> = a
        .iter()
        .filter(|(k, v)| b.get(*k).is_some_and(|w| w != *v))
        .map(|(k, _)| k)
        .take(5)
        .collect();
    format!("only clean: {only_a:?}; only faulted: {only_b:?}; changed: {changed:?}")
}

fn assert_same_content(clean: &Path, other: &Path) {
    let (want, got) = (content(clean), content(other));
    assert!(!want.resources.is_empty() && !want.grants.is_empty());
    for (what, a, b) in [
        ("resources", &want.resources, &got.resources),
        ("entitlements", &want.entitlements, &got.entitlements),
        ("grants", &want.grants, &got.grants),
    ] {
        assert!(a == b, "{what} differ: {}", differences(a, b));
    }
}

/// Requests the server received for a path (no query), by status.
fn statuses(server: &TestServer, path: &str) -> Vec<u16> {
    server
        .requests()
        .iter()
        .filter(|r| r.path == format!("/scim/v2{path}"))
        .map(|r| r.status)
        .collect()
}

/// A sync target that holds a good c1z, and its bytes.
struct Previous {
    _dir: tempfile::TempDir,
    path: std::path::PathBuf,
    bytes: Vec<u8>,
}

impl Previous {
    fn write(server: &TestServer) -> Previous {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("sync.c1z");
        sync_into(server, &path).expect("the good sync before the faults");
        let bytes = std::fs::read(&path).unwrap();
        Previous {
            _dir: dir,
            path,
            bytes,
        }
    }

    fn assert_intact(&self) {
        assert!(
            std::fs::read(&self.path).unwrap() == self.bytes,
            "the previous c1z changed"
        );
        let names: Vec<_> = std::fs::read_dir(self.path.parent().unwrap())
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        assert_eq!(names, ["sync.c1z"], "no temporary files are left");
    }
}

/// `fault` on every `GET /Users` list request after the validation request.
fn on_user_pages(fault: Fault) -> ScheduledFault {
    ScheduledFault::new(fault, Schedule::range(2, None))
        .only_method("GET")
        .only_path("/Users")
}

/// The message of a sync that must fail, checked to be free of the token.
fn failure(result: Result<SyncReport, SyncError>) -> String {
    let message = format!("{:#}", result.expect_err("the sync fails"));
    assert!(!message.contains(TOKEN), "the token leaked: {message}");
    message
}

mod faults;
mod malformed;
mod rate;
