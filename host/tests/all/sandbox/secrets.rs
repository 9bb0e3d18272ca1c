//! Secrets never enter the sandbox. The hostile component in `exfiltrate`
//! mode writes every config value it got, raw, base64 and hex, into its
//! logs, its stderr, a request path to its own origin and a resource; in
//! `exfiltrate-error` mode into its error. The real `baton-notion` binary
//! runs it with a bound token and an unbound secret. Neither value, in any
//! of those encodings, shows up in any output, the c1z, the trace or a
//! request; the bound token reaches the server only as the header.

use std::path::Path;
use std::process::{Command, Output};

use super::scene::fixture_dir;
use crate::telemetry::collector_stub;
use crate::{server, TOKEN};

const OTHER: &str = "unbound-secret-value-7f3a";

fn encodings(secret: &str) -> Vec<String> {
    let hex: String = secret.bytes().map(|b| format!("{b:02x}")).collect();
    vec![
        secret.to_string(),
        hex.clone(),
        hex.to_uppercase(),
        base64(secret.as_bytes()),
        base64(secret.as_bytes())
            .replace('+', "-")
            .replace('/', "_"),
    ]
}

fn base64(bytes: &[u8]) -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::new();
    for chunk in bytes.chunks(3) {
        let n = chunk.iter().fold(0u32, |n, b| (n << 8) | u32::from(*b)) << (8 * (3 - chunk.len()));
        for i in 0..=chunk.len() {
            out.push(ALPHABET[((n >> (18 - 6 * i)) & 63) as usize] as char);
        }
    }
    // Without padding, so that a padded and an unpadded leak both match.
    out
}

fn assert_clean(what: &str, haystack: &[u8]) {
    let text = String::from_utf8_lossy(haystack);
    for secret in [TOKEN, OTHER] {
        for encoded in encodings(secret) {
            assert!(
                !text.contains(&encoded),
                "{what} holds `{encoded}` (an encoding of a secret)"
            );
        }
    }
}

fn hostile_cli(dir: &Path, mode: &str, base_url: &str, extra: &[&str]) -> Output {
    let component = fixture_dir().join("baton_hostile_connector.wasm");
    let mut c = Command::new(env!("CARGO_BIN_EXE_baton-notion"));
    c.current_dir(dir);
    for (key, _) in std::env::vars_os() {
        if key.to_string_lossy().starts_with("BATON_") {
            c.env_remove(key);
        }
    }
    c.arg("--component")
        .arg(&component)
        .args(["--mode", mode, "--base-url", base_url])
        .args(["--token", TOKEN, "--other-secret", OTHER])
        .args(["--log-level", "debug", "-f", "s.c1z"])
        .args(extra)
        .output()
        .expect("baton-notion runs")
}

#[test]
fn a_component_that_leaks_every_config_value_has_no_secret_to_leak() {
    let server = server(3, 1);
    let dir = tempfile::tempdir().unwrap();
    let (port, received) = collector_stub(200);
    let endpoint = format!("http://127.0.0.1:{port}");
    let out = hostile_cli(
        dir.path(),
        "exfiltrate",
        &server.base_url(),
        &["--otel-collector-endpoint", &endpoint],
    );
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    assert!(
        stderr.contains("baton-host-held-secret"),
        "the component logged what it got: {stderr}"
    );
    assert_clean("stdout", &out.stdout);
    assert_clean("stderr", &out.stderr);

    let c1z = std::fs::read(dir.path().join("s.c1z")).unwrap();
    let database = zstd::decode_all(&c1z[5..]).expect("the c1z decompresses");
    assert!(
        String::from_utf8_lossy(&database).contains("baton-host-held-secret"),
        "the leaking resource is in the c1z"
    );
    assert_clean("the c1z", &database);

    let trace: Vec<_> = received.try_iter().collect();
    assert!(!trace.is_empty(), "a trace was exported");
    for request in &trace {
        assert_clean("the trace", &request.body);
    }

    let requests = server.requests();
    let leak = requests
        .iter()
        .find(|r| r.path.contains("/leak/"))
        .expect("the component's request reached its own origin");
    // The gate answers 401 without the token: the host sent it as the header.
    assert_ne!(leak.status, 401, "the host did not add the bound token");
    for r in &requests {
        let line = format!("{} {} {:?} {:?}", r.method, r.path, r.query, r.body);
        assert_clean("a request the server saw", line.as_bytes());
    }
}

#[test]
fn a_component_that_fails_with_every_config_value_leaks_none() {
    let server = server(3, 1);
    let dir = tempfile::tempdir().unwrap();
    let out = hostile_cli(dir.path(), "exfiltrate-error", &server.base_url(), &[]);
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("token=baton-host-held-secret"), "{stderr}");
    assert_clean("stderr", &out.stderr);
    assert!(!dir.path().join("s.c1z").exists());
}

#[test]
fn only_the_operator_passes_an_unbound_secret_in_and_is_warned() {
    let server = server(3, 1);
    let dir = tempfile::tempdir().unwrap();
    let out = hostile_cli(
        dir.path(),
        "exfiltrate-error",
        &server.base_url(),
        &["--pass-secrets-to-component"],
    );
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("passing the secret config field into the component"),
        "{stderr}"
    );
    // The raw value is redacted from what the host prints; encodings are
    // the risk the operator took. The bound token still stays in the host.
    assert!(!stderr.contains(OTHER), "{stderr}");
    assert!(
        stderr.contains(&base64(OTHER.as_bytes())),
        "the component did get it"
    );
    for encoded in encodings(TOKEN) {
        assert!(!stderr.contains(&encoded), "{stderr}");
    }
}
