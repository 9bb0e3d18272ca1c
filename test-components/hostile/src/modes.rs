//! The attacks, one per `mode`, all run from `list-resources`.
//!
//! | mode | what it does | what the host should do |
//! |---|---|---|
//! | `spin` | loops forever | stop it at the per-call time limit |
//! | `sleep` | sleeps an hour in `wasi:io/poll` | stop it at the per-call time limit |
//! | `alloc` | allocates without bound | stop it at the memory limit |
//! | `huge-page` | builds a page of 200 000 resources of 1 KiB | stop it at the memory limit |
//! | `endless-tokens` | empty pages with a fresh garbage token, forever | stop it at the run time limit |
//! | `repeat-token` | hands back the token it was given | refuse the page |
//! | `panic` | panics on the second page | report the trap and the panic message |
//! | `stack-overflow` | recurses without bound | report the stack overflow |
//! | `egress` | requests `target` and fails with what it was told | name the refused origin |
//! | `egress-swallow` | requests `target` and returns what it was told | refuse the request, tell the guest the origin |
//! | `probe` | reads environment, arguments, files, sockets; fails with what it saw | give it nothing |
//! | `read-body` | reads a response from `base-url` to its end; returns what it got | cut the body off at the limit, saying so |
//! | `concurrent` | opens 8 requests to `base-url` at once and holds them | cap requests in flight |
//! | `write` | sends DELETE, PATCH and POST to `base-url`, ignores the refusals, returns a page | send none, fail the run naming the first |
//! | `read-only-post` | POSTs to its declared read-only path on `base-url` | send it |
//! | `exfiltrate` | puts every config value, raw, base64 and hex, in its logs, a request path and a resource | it has no secret to leak |
//! | `exfiltrate-error` | fails with every config value in its error | it has no secret to leak |
//! | `repeat-warn` | reports one warning kind for 50 things | log the first, count the rest once |
//! | `chatty`, `chatty-panic` | writes 256 KiB to stderr, then returns a page (or panics) | keep the tail: no crash, and the panic message |
//! | `endless-things` | one new resource of 1 KiB a page with a fresh token, forever, no HTTP | stop it at the page, object or database size limit |
//! | `dangling` | grants on an entitlement never listed, to a principal that does not exist, and on an entitlement whose resource was never listed | drop them, and that entitlement, and say so |

use std::hint::black_box;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use crate::baton::connector::types::{
    ConnectorError, Entitlement, EntitlementPurpose, EntitlementRef, Grant, Page, ResourceId,
    ResourceRecord, TraitData,
};
use crate::{config, fail, http, THING};
use wasi::http::types::Method;

/// One page of the `thing` listing for `mode`.
pub fn list(mode: &str, token: &str) -> Result<Page, ConnectorError> {
    match mode {
        "spin" => spin(),
        "sleep" => {
            std::thread::sleep(Duration::from_secs(3600));
            Err(fail("slept an hour undisturbed"))
        }
        "alloc" => hoard(),
        "huge-page" => Ok(huge_page()),
        "endless-tokens" => Ok(page(Vec::new(), Some(garbage_token()))),
        "repeat-token" => Ok(page(
            vec![thing("same", String::new())],
            Some("same".into()),
        )),
        "panic" if token.is_empty() => Ok(page(
            vec![thing("first", String::new())],
            Some("page-2".into()),
        )),
        "panic" => panic!("hostile connector panicked on page 2"),
        "stack-overflow" => Ok(page(vec![thing("deep", recurse(0).to_string())], None)),
        "egress" => {
            let target = config("target");
            let told = knock(&target);
            Err(fail(format!("request to {target}: {told}")))
        }
        "egress-swallow" => {
            let told = knock(&config("target"));
            Ok(page(vec![thing("egress", told)], None))
        }
        "probe" => Err(fail(probe())),
        "read-body" => {
            let got = http::start(&config("base-url"))
                .and_then(|f| http::wait(&f))
                .and_then(http::read_all);
            let got = match got {
                Ok(n) => format!("read {n} bytes"),
                Err(told) => told,
            };
            Ok(page(vec![thing("body", got)], None))
        }
        "concurrent" => concurrent(8),
        "write" => {
            let base = config("base-url");
            let told: Vec<String> = [Method::Delete, Method::Patch, Method::Post]
                .iter()
                .map(
                    |m| match http::request(m, &format!("{base}/Users/victim")) {
                        Ok(r) => format!("{m:?}: HTTP {}", r.status()),
                        Err(e) => format!("{m:?}: {e}"),
                    },
                )
                .collect();
            Ok(page(vec![thing("wrote", told.join("; "))], None))
        }
        "read-only-post" => {
            let url = format!("{}{}", origin(&config("base-url")), crate::READ_ONLY_POST);
            let told = match http::request(&Method::Post, &url) {
                Ok(r) => format!("HTTP {}", r.status()),
                Err(e) => e,
            };
            Ok(page(vec![thing("searched", told)], None))
        }
        "exfiltrate" => {
            let loot = loot();
            crate::baton::connector::host::log(
                crate::baton::connector::types::LogLevel::Warn,
                &loot,
            );
            eprintln!("{loot}");
            let url = format!("{}/leak/{}", config("base-url"), hex(loot.as_bytes()));
            let _ = http::request(&Method::Get, &url);
            let mut leak = thing("leak", loot.clone());
            leak.display_name = loot;
            Ok(page(vec![leak], None))
        }
        "exfiltrate-error" => Err(fail(loot())),
        "repeat-warn" => {
            for i in 0..50 {
                let detail = if i % 10 == 9 { "odd" } else { "plain" };
                crate::baton::connector::host::warn_repeated(
                    "things look wrong",
                    detail,
                    &format!("t{i}"),
                    &format!("thing t{i} looks wrong ({detail})"),
                );
            }
            Ok(page(vec![thing("warned", String::new())], None))
        }
        "chatty" | "chatty-panic" => {
            // 256 KiB of stderr, far past the 16 KiB the host keeps.
            for i in 0..4_096 {
                eprintln!("noise line {i:>6} {}", "-".repeat(48));
            }
            if mode == "chatty-panic" {
                panic!("chatty connector gave up after the noise");
            }
            Ok(page(vec![thing("chatty", String::new())], None))
        }
        "endless-things" => {
            // The token counts the pages, so every page has a new resource and token.
            let n: u64 = token.parse().unwrap_or(0);
            let bulk = "x".repeat(1024);
            Ok(page(
                vec![thing(&format!("thing-{n}"), bulk)],
                Some((n + 1).to_string()),
            ))
        }
        "dangling" => Ok(dangling()),
        other => Err(fail(format!("unknown mode `{other}`"))),
    }
}

/// Every config value this component was given, raw, base64 and hex.
fn loot() -> String {
    let values = crate::CONFIG
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .clone();
    values
        .iter()
        .map(|v| {
            let raw = v.value.as_bytes();
            format!(
                "{}={} b64={} hex={}",
                v.name,
                v.value,
                base64(raw),
                hex(raw)
            )
        })
        .collect::<Vec<_>>()
        .join(" ")
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn base64(bytes: &[u8]) -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::new();
    for chunk in bytes.chunks(3) {
        let n = chunk.iter().fold(0u32, |n, b| (n << 8) | u32::from(*b)) << (8 * (3 - chunk.len()));
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(ALPHABET[((n >> (18 - 6 * i)) & 63) as usize] as char);
            } else {
                out.push('=');
            }
        }
    }
    out
}

/// `scheme://authority` of a URL.
fn origin(url: &str) -> String {
    let after = url.find("://").map_or(0, |i| i + 3);
    match url[after..].find('/') {
        Some(i) => url[..after + i].to_string(),
        None => url.to_string(),
    }
}

/// A page without entitlements or grants.
pub fn page(resources: Vec<ResourceRecord>, next_page_token: Option<String>) -> Page {
    Page {
        resources,
        entitlements: Vec::new(),
        grants: Vec::new(),
        next_page_token,
        total_estimate: None,
    }
}

/// One page whose references point at nothing: only `thing:a`, its `member`
/// entitlement and the grant of it to `thing:a` hold together.
fn dangling() -> Page {
    let thing_id = |id: &str| ResourceId {
        resource_type: THING.into(),
        resource: id.into(),
    };
    let on = |id: &str, slug: &str| EntitlementRef {
        resource: thing_id(id),
        slug: slug.into(),
    };
    let entitlement = |id: &str| Entitlement {
        id: on(id, "member"),
        display_name: format!("{id} member"),
        description: String::new(),
        purpose: EntitlementPurpose::Assignment,
        grantable_to: vec![THING.into()],
    };
    let grant = |entitlement: EntitlementRef, principal: &str| Grant {
        entitlement,
        principal: thing_id(principal),
    };
    Page {
        resources: vec![thing("a", String::new())],
        // `thing:nowhere` is never listed.
        entitlements: vec![entitlement("a"), entitlement("nowhere")],
        grants: vec![
            grant(on("a", "member"), "a"),
            // An entitlement never listed.
            grant(on("a", "never"), "a"),
            // A principal that does not exist.
            grant(on("a", "member"), "ghost"),
            // On the entitlement whose resource is missing.
            grant(on("nowhere", "member"), "a"),
        ],
        next_page_token: None,
        total_estimate: None,
    }
}

fn thing(id: &str, description: String) -> ResourceRecord {
    ResourceRecord {
        id: ResourceId {
            resource_type: THING.into(),
            resource: id.into(),
        },
        parent: None,
        display_name: id.into(),
        description,
        traits: vec![TraitData::App(Vec::new())],
    }
}

fn spin() -> ! {
    let mut n: u64 = 0;
    loop {
        n = black_box(n.wrapping_add(1));
    }
}

/// Calls itself until the wasm call stack runs out. `black_box` on the
/// argument and the result keeps the optimizer from turning the recursion
/// into a loop; the depth check is never true, it only keeps rustc from
/// refusing recursion without an exit.
fn recurse(depth: u64) -> u64 {
    if depth == u64::MAX {
        return depth;
    }
    black_box(recurse(black_box(depth + 1))).wrapping_add(depth)
}

fn hoard() -> ! {
    let mut hoard: Vec<Vec<u8>> = Vec::new();
    loop {
        let mut block = vec![0u8; 1 << 20];
        block[(1 << 20) - 1] = 1;
        hoard.push(black_box(block));
    }
}

fn huge_page() -> Page {
    let filler = "x".repeat(1024);
    let resources = (0..200_000)
        .map(|i| thing(&format!("thing-{i}"), filler.clone()))
        .collect();
    page(resources, None)
}

/// A token unlike any before it, with control characters and an escape
/// sequence in it, as a broken upstream might produce.
fn garbage_token() -> String {
    static PAGES: AtomicU64 = AtomicU64::new(0);
    let n = PAGES.fetch_add(1, Ordering::Relaxed);
    format!("\u{0}\u{1b}[31m{n}\u{fffd}")
}

/// Sends a GET to `url`; what the host answered, as text.
fn knock(url: &str) -> String {
    match http::start(url).and_then(|f| http::wait(&f)) {
        Ok(response) => format!("answered with status {}", response.status()),
        Err(told) => told,
    }
}

/// What the guest can see of the machine it runs on.
fn probe() -> String {
    let vars = std::env::vars().count();
    let home = std::env::var("HOME").map_err(|e| e.to_string());
    let args = std::env::args().count();
    let cwd = std::env::current_dir().map_err(|e| e.kind());
    let passwd = std::fs::read_to_string("/etc/passwd")
        .map(|s| s.len())
        .map_err(|e| e.kind());
    let root = std::fs::read_dir("/")
        .map(|d| d.count())
        .map_err(|e| e.kind());
    let authority = config("target")
        .split_once("://")
        .map(|(_, rest)| rest.split('/').next().unwrap_or("").to_string())
        .unwrap_or_default();
    let tcp = std::net::TcpStream::connect(&authority)
        .map(|_| "connected")
        .map_err(|e| e.kind());
    format!(
        "env: {vars} variables, HOME {home:?}; args: {args}; cwd: {cwd:?}; \
         /etc/passwd: {passwd:?}; /: {root:?}; tcp {authority}: {tcp:?}"
    )
}

/// Opens `n` requests to the allowed origin before awaiting any, and holds
/// every response unread (each keeps its request in flight).
fn concurrent(n: usize) -> Result<Page, ConnectorError> {
    let url = format!("{}/Users?count=1", config("base-url"));
    let futures = (0..n)
        .map(|_| http::start(&url))
        .collect::<Result<Vec<_>, _>>()
        .map_err(fail)?;
    let mut held = Vec::new();
    for (i, future) in futures.iter().enumerate() {
        let response =
            http::wait(future).map_err(|told| fail(format!("request {} of {n}: {told}", i + 1)))?;
        held.push(response);
    }
    let answered = format!("{} responses", held.len());
    Ok(page(vec![thing("answered", answered)], None))
}
