//! `baton <command> --help` against what Baton's Go CLI printed
//! (tests/fixtures/go-c1z/baton-cli-output/help-*.txt).
//!
//! Most subcommands match byte for byte. Three have flags Go's lacks, listed in `EXTRA`:
//! `entitlements -r`, `stats --sync-id` and the `diff` flags that choose the two syncs. For
//! those, the help minus the extra lines must equal Go's modulo runs of spaces, because
//! cobra aligns each flag list on its longest flag, so a longer extra flag moves the
//! description column of the others.

use std::path::{Path, PathBuf};
use std::process::Command;

fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/go-c1z")
}

fn golden(name: &str) -> String {
    std::fs::read_to_string(fixtures().join("baton-cli-output").join(name)).unwrap()
}

fn baton(args: &[&str]) -> String {
    let o = Command::new(env!("CARGO_BIN_EXE_baton"))
        .args(args)
        .output()
        .unwrap();
    assert!(o.status.success(), "{args:?}");
    assert!(o.stderr.is_empty(), "{args:?}");
    String::from_utf8(o.stdout).unwrap()
}

/// Our additions to Go's flags, per subcommand: the flag and the start of its description.
const EXTRA: &[(&str, &[(&str, &str)])] = &[
    (
        "entitlements",
        &[("-r, --resource string", "The resource to filter output by")],
    ),
    (
        "stats",
        &[("--sync-id string", "The sync ID to view data for.")],
    ),
    (
        "diff",
        &[
            ("--applied-sync-id string", "The newer sync, in --file."),
            (
                "--base-file string",
                "Another c1z file holding the base sync",
            ),
            ("--base-sync-id string", "The older sync to compare against"),
        ],
    ),
];

fn squeeze(s: &str) -> String {
    s.lines()
        .map(|l| l.split_whitespace().collect::<Vec<_>>().join(" "))
        .collect::<Vec<_>>()
        .join("\n")
}

#[test]
fn subcommand_help_matches_go() {
    for cmd in [
        "resources",
        "resource-types",
        "entitlements",
        "grants",
        "principals",
        "stats",
        "syncs",
        "diff",
    ] {
        let ours = baton(&[cmd, "--help"]);
        assert_eq!(baton(&[cmd, "-h"]), ours, "{cmd} -h");
        assert_eq!(baton(&["help", cmd]), ours, "help {cmd}");
        let want = golden(&format!("help-{cmd}.txt"));
        let extra = EXTRA
            .iter()
            .find(|(c, _)| *c == cmd)
            .map_or(&[][..], |e| e.1);
        if extra.is_empty() {
            assert_eq!(ours, want, "baton {cmd} --help");
            continue;
        }
        let mut kept = Vec::new();
        for line in ours.lines() {
            let flag = line.trim_start();
            match extra.iter().find(|(f, _)| flag.starts_with(f)) {
                Some((f, help)) => assert!(
                    flag[f.len()..].trim_start().starts_with(help),
                    "{cmd}: {line}"
                ),
                None => kept.push(line),
            }
        }
        assert_eq!(kept.len() + extra.len(), ours.lines().count(), "{cmd}");
        assert_eq!(
            squeeze(&kept.join("\n")),
            squeeze(&want),
            "baton {cmd} --help"
        );
    }
}

#[test]
fn root_help_is_gos_minus_the_commands_we_lack() {
    let ours = baton(&["--help"]);
    let go = golden("help.txt");
    // Go's CLI also has access, completion, explorer and export, which need its web UI,
    // its shell completion setup or ConductorOne's upload format.
    let lacking = ["access", "completion", "explorer", "export"];
    let want: Vec<&str> = go
        .lines()
        .filter(|l| {
            let word = l.split_whitespace().next().unwrap_or("");
            !(l.starts_with("  ") && lacking.contains(&word))
        })
        .collect();
    assert_eq!(ours, want.join("\n") + "\n");
    assert_eq!(baton(&[]), ours, "no command prints the help");
}

#[test]
fn help_of_our_own_flags() {
    assert_eq!(
        baton(&["principals", "compare", "--help"]),
        "Compare principals between two entitlements. These entitlements can exist in \
         different C1Z files. The results are relative to the 'base' entitlement.\n\n\
         Usage:\n  baton principals compare [flags]\n\n\
         Flags:\n      \
         --compare-entitlement string   The entitlement to compare with the base, in the file \
         of --compare-file\n      \
         --compare-file string          The c1z file holding --compare-entitlement. Will use \
         --file if not set.\n  \
         -e, --entitlement string           The base entitlement, in the file of --file\n  \
         -h, --help                         help for compare\n\n\
         Global Flags:\n  \
         -f, --file string            The path to the c1z file to work with. (default \
         \"sync.c1z\")\n  \
         -o, --output-format string   The format to output results in: (console, json) \
         (default \"console\")\n"
    );
    let diff = baton(&["diff", "--help"]);
    assert!(
        diff.contains(
            "\n      --applied-sync-id string   The newer sync, in --file. Will use the latest \
             completed full sync if not set.\n"
        ),
        "{diff}"
    );
}

#[test]
fn flags_where_they_do_not_apply_are_errors() {
    let dir = fixtures();
    for (args, want) in [
        (
            &["-f", "small-expanded.c1z", "--sync-id", "x", "syncs"][..],
            "error: `baton syncs` takes no --sync-id",
        ),
        (
            &["-f", "small-expanded.c1z", "syncs", "--sync-id", "x"][..],
            "error: unexpected argument '--sync-id'",
        ),
        (
            &[
                "-f",
                "small-expanded.c1z",
                "principals",
                "-t",
                "user",
                "compare",
                "-e",
                "a",
                "--compare-entitlement",
                "b",
            ][..],
            "error: `principals compare` does not use the flags given before `compare`",
        ),
    ] {
        let o = Command::new(env!("CARGO_BIN_EXE_baton"))
            .args(args)
            .current_dir(&dir)
            .output()
            .unwrap();
        assert_eq!(o.status.code(), Some(1), "{args:?}");
        let err = String::from_utf8(o.stderr).unwrap();
        assert!(err.starts_with(want), "{args:?}: {err}");
        assert!(o.stdout.is_empty());
    }
}
