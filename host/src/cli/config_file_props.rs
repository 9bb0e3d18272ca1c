//! Property tests of the config file and of both command lines
//! (`prop_config_*`, `prop_argv_*`), standing in for cargo-fuzz (which needs
//! nightly; this project builds on stable).
//!
//! - Any text given to the `.baton.yaml` parser is accepted or refused with a
//!   message; what it accepts reads back the same once written out again.
//! - Accepted pairs applied to the real `baton-notion` command (built from a
//!   hand-made metadata, as the embedded component would declare it) and any
//!   argv given to it or to `baton` end in matches or a clap error.
//!
//! The committed seeds (`tests/corpus/config`, `tests/corpus/argv`, one
//! argument per line) run first as fixed cases.

use std::ffi::OsString;
use std::os::unix::ffi::OsStringExt;
use std::path::Path;

use clap::FromArgMatches;
use proptest::collection::vec;
use proptest::prelude::*;
use proptest::sample::select;

use super::*;
use crate::bindings::types::{ConfigField, ConnectorMetadata};
use crate::cli::connector::{command as baton_notion, HostArgs};
use crate::prop_support::run;

/// The files of `tests/corpus/<dir>`, sorted, as text.
fn corpus(dir: &str) -> Vec<(String, String)> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/corpus")
        .join(dir);
    let mut files: Vec<_> = std::fs::read_dir(&root)
        .unwrap()
        .map(|e| {
            let p = e.unwrap().path();
            let name = p.file_name().unwrap().to_string_lossy().into_owned();
            (
                name,
                String::from_utf8_lossy(&std::fs::read(&p).unwrap()).into_owned(),
            )
        })
        .collect();
    files.sort();
    assert!(!files.is_empty(), "{} holds no seed", root.display());
    files
}

/// The metadata the embedded Notion component declares, by hand.
fn metadata() -> ConnectorMetadata {
    let field = |name: &str, required, secret, hidden, default: Option<&str>| ConfigField {
        name: name.into(),
        display_name: name.into(),
        description: format!("the {name}"),
        required,
        secret,
        hidden,
        egress_origin: name == "base-url",
        default_value: default.map(Into::into),
        credential: None,
    };
    ConnectorMetadata {
        name: "baton-notion".into(),
        version: "0.1.0".into(),
        display_name: "Notion".into(),
        description: "test".into(),
        help_url: String::new(),
        icon_url: String::new(),
        config_fields: vec![
            field("scim-token", true, true, false, None),
            field(
                "base-url",
                false,
                false,
                true,
                Some("https://api.notion.com/scim/v2"),
            ),
        ],
        resource_types: Vec::new(),
        account_creation_schema: Vec::new(),
        credential_options: Vec::new(),
        read_only_posts: Vec::new(),
    }
}

/// The long flags of `baton-notion`, for keys and argv words.
fn long_flags() -> Vec<String> {
    baton_notion(&metadata())
        .get_arguments()
        .filter_map(|a| a.get_long().map(String::from))
        .collect()
}

/// Writes pairs back as a config file, quoting every value.
fn render(pairs: &[(String, String)]) -> String {
    pairs
        .iter()
        .map(|(k, v)| format!("{k}: \"{v}\"\n"))
        .collect()
}

/// The config-file property: no panic; accepted pairs are well formed and
/// read back the same; applied to the real command, parsing still ends in
/// matches or an error.
fn check_config(text: &str) {
    let path = Path::new("c.yaml");
    let Ok(pairs) = parse(text, path) else {
        return;
    };
    for (key, value) in &pairs {
        assert!(
            !key.is_empty() && key.trim() == key && !key.contains(':'),
            "{key:?}"
        );
        assert!(!value.contains('\n'), "{value:?}");
    }
    assert_eq!(parse(&render(&pairs), path).unwrap(), pairs, "round trip");
    if let Ok(cmd) = apply(baton_notion(&metadata()), &pairs, path) {
        if let Ok(m) = cmd.try_get_matches_from(["baton-notion"]) {
            let _ = HostArgs::from_arg_matches(&m);
        }
    }
}

#[test]
fn prop_config_file_text() {
    for (name, text) in corpus("config") {
        println!("seed {name}");
        check_config(&text);
    }
    let mut words: Vec<String> = long_flags();
    words.extend(
        [
            "",
            " ",
            "\t",
            ":",
            ": ",
            "#",
            " #",
            "'",
            "\"",
            "-",
            "---",
            "[",
            "{",
            "|",
            "x",
            "é",
            "\r",
            "1",
            "true",
            "60",
            "http://127.0.0.1:1",
            "debug",
        ]
        .map(String::from),
    );
    let line = vec(select(words), 0..6).prop_map(|w| w.concat());
    let text = prop_oneof![
        vec(line, 0..6).prop_map(|lines| lines.join("\n")),
        ".{0,60}",
        "[a-z-]{1,12}: [ -~]{0,16}",
    ];
    run(256, text, |t| check_config(t));
}

/// Words an argv is made of: every flag of both commands, subcommands,
/// values good and bad, `=` forms and bytes that are not UTF-8.
fn argv_word() -> impl Strategy<Value = OsString> {
    let mut words = long_flags()
        .into_iter()
        .map(|f| format!("--{f}"))
        .collect::<Vec<_>>();
    words.extend(
        [
            "-f",
            "-o",
            "-p",
            "-v",
            "-h",
            "-t",
            "-r",
            "-e",
            "--",
            "-",
            "--help",
            "--version",
            "--sync-id",
            "--output-format",
            "--file",
            "--resource-type",
            "--resource",
            "--entitlement",
            "--compare-entitlement",
            "--compare-file",
            "--base-sync-id",
            "--applied-sync-id",
            "--base-file",
            "capabilities",
            "config",
            "health-check",
            "completion",
            "bash",
            "help",
            "syncs",
            "stats",
            "resources",
            "resource-types",
            "entitlements",
            "grants",
            "principals",
            "compare",
            "diff",
            "json",
            "console",
            "0",
            "1",
            "60",
            "1801",
            "-1",
            "nan",
            "1e9",
            "user",
            "{}",
            "{\"first_name\":1}",
            "[]",
            "x.c1z",
            "http://127.0.0.1:1",
            "ftp://x",
            "--log-format=json",
            "--file=",
            "--http-timeout-seconds=0",
            "-fx",
            "-ojson",
            "-pv",
        ]
        .map(String::from),
    );
    prop_oneof![
        8 => select(words).prop_map(OsString::from),
        1 => ".{0,8}".prop_map(OsString::from),
        1 => vec(any::<u8>(), 0..6).prop_map(OsString::from_vec),
    ]
}

fn check_argv(args: &[OsString]) {
    let argv = |name: &str| std::iter::once(OsString::from(name)).chain(args.iter().cloned());
    match baton_notion(&metadata()).try_get_matches_from(argv("baton-notion")) {
        Ok(m) if m.subcommand().is_none() => {
            if let Ok(host) = HostArgs::from_arg_matches(&m) {
                // What parses must not fail later, where no logger may exist yet.
                let level = host.log_level.to_ascii_lowercase();
                assert!(
                    crate::cli::logging::LOG_LEVELS.contains(&level.as_str()),
                    "--log-level {level} parsed"
                );
            }
        }
        Ok(_) => {}
        Err(e) => assert_names_its_flag(&e),
    }
    if let Err(e) = crate::cli::reader::parse(argv("baton")) {
        assert_names_its_flag(&e);
    }
}

/// A usage error has a message, and one about a flag's value names the flag.
fn assert_names_its_flag(e: &clap::Error) {
    let text = e.render().to_string();
    if !e.use_stderr() {
        return; // --help, --version
    }
    let first = text.lines().next().unwrap_or_default();
    assert!(
        first.starts_with("error: ") && first.len() > "error: ".len(),
        "{text}"
    );
    if let Some(flag) = crate::cli::flag_source::flag_of(e) {
        assert!(text.contains(&format!("--{flag}")), "{text}");
    }
}

#[test]
fn prop_argv_both_commands() {
    for (name, text) in corpus("argv") {
        println!("seed {name}");
        let args: Vec<OsString> = text.lines().map(OsString::from).collect();
        check_argv(&args);
    }
    run(256, vec(argv_word(), 0..8), |args| check_argv(args));
}
