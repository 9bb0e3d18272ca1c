//! `--help` in the layout of Baton's Go CLI (cobra + pflag), rendered from clap's metadata.
//!
//! clap's own help differs from cobra's in every line (`Usage: baton x [OPTIONS]`,
//! `<VALUE>` placeholders, one "Options" list), so users comparing with Baton's docs and
//! scripts grepping the help would see a different tool. We therefore render the cobra text
//! ourselves and install it with `override_help`, which clap prints for `-h`, `--help` and
//! `baton help <command>`. Layout rules mirrored from cobra/pflag:
//!
//! * the short description, a blank line, `Usage:` with `<path> [flags]` (runnable commands)
//!   and `<path> [command]` (commands with subcommands);
//! * `Available Commands:` sorted by name, names padded to the longest (at least 11);
//! * `Flags:` = the command's own flags plus `-h, --help`, `Global Flags:` = the root's
//!   global flags; each list sorted by long name and aligned on its own, the description
//!   three spaces after the longest `-x, --name string` part;
//! * flags taking a value show the pflag type `string`; non-empty defaults end the line
//!   as ` (default "value")`.

use clap::{Arg, Command};

/// cobra pads command names to at least this width.
const MIN_NAME_PADDING: usize = 11;

/// Installs cobra-style help text on `root` and every subcommand below it.
pub fn cobra_style(root: Command) -> Command {
    let globals: Vec<Arg> = root
        .get_arguments()
        .filter(|a| a.is_global_set() && !a.is_hide_set())
        .cloned()
        .collect();
    let path = root.get_name().to_string();
    install(root, &path, &globals, true)
}

fn install(cmd: Command, path: &str, globals: &[Arg], is_root: bool) -> Command {
    let text = render(&cmd, path, globals, is_root);
    let names: Vec<String> = cmd
        .get_subcommands()
        .map(|s| s.get_name().to_string())
        .collect();
    let mut cmd = cmd.override_help(text);
    for name in names {
        let sub_path = format!("{path} {name}");
        cmd = cmd.mut_subcommand(&name, |s| install(s, &sub_path, globals, false));
    }
    cmd
}

/// The help text of `cmd`, whose full command path is `path`.
fn render(cmd: &Command, path: &str, globals: &[Arg], is_root: bool) -> String {
    let name = cmd.get_name();
    let mut out = String::new();
    if let Some(about) = cmd.get_about() {
        out.push_str(about.to_string().trim_end());
        out.push_str("\n\n");
    }
    let subs: Vec<(String, String)> = {
        let mut s: Vec<(String, String)> = cmd
            .get_subcommands()
            .filter(|s| !s.is_hide_set())
            .map(|s| {
                let about = s.get_about().map(|a| a.to_string()).unwrap_or_default();
                (s.get_name().to_string(), about)
            })
            .collect();
        if is_root {
            // clap adds its `help` subcommand only when building; cobra lists it.
            s.push(("help".into(), "Help about any command".into()));
        }
        s.sort();
        s
    };
    out.push_str("Usage:");
    // The root only prints help when run alone, so (like Go's) it is not "runnable".
    if !is_root {
        out.push_str(&format!("\n  {path} [flags]"));
    }
    if !subs.is_empty() {
        out.push_str(&format!("\n  {path} [command]"));
    }
    if !subs.is_empty() {
        let pad = subs
            .iter()
            .map(|(n, _)| n.len())
            .max()
            .unwrap_or(0)
            .max(MIN_NAME_PADDING);
        out.push_str("\n\nAvailable Commands:");
        for (n, about) in &subs {
            out.push_str(&format!("\n  {n:pad$} {about}"));
        }
    }
    let mut local: Vec<FlagLine> = cmd
        .get_arguments()
        .filter(|a| !a.is_hide_set() && !a.is_positional() && a.get_id() != "help")
        .filter(|a| is_root || !a.is_global_set())
        .map(FlagLine::of)
        .collect();
    local.push(FlagLine {
        short: Some('h'),
        long: "help".into(),
        takes_value: false,
        help: format!("help for {name}"),
        default: None,
    });
    out.push_str("\n\nFlags:\n");
    out.push_str(&flag_block(local));
    if !is_root && !globals.is_empty() {
        out.push_str("\n\nGlobal Flags:\n");
        out.push_str(&flag_block(globals.iter().map(FlagLine::of).collect()));
    }
    if !subs.is_empty() {
        out.push_str(&format!(
            "\n\nUse \"{path} [command] --help\" for more information about a command."
        ));
    }
    out.push('\n');
    out
}

/// One flag as pflag prints it.
struct FlagLine {
    short: Option<char>,
    long: String,
    takes_value: bool,
    help: String,
    default: Option<String>,
}

impl FlagLine {
    fn of(a: &Arg) -> FlagLine {
        let takes_value = a.get_action().takes_values();
        let default = a
            .get_default_values()
            .first()
            .map(|v| v.to_string_lossy().into_owned())
            .filter(|v| takes_value && !v.is_empty());
        FlagLine {
            short: a.get_short(),
            long: a.get_long().unwrap_or_else(|| a.get_id().as_str()).into(),
            takes_value,
            help: a.get_help().map(|h| h.to_string()).unwrap_or_default(),
            default,
        }
    }

    fn left(&self) -> String {
        let mut s = match self.short {
            Some(c) => format!("  -{c}, --{}", self.long),
            None => format!("      --{}", self.long),
        };
        if self.takes_value {
            s.push_str(" string");
        }
        s
    }
}

/// The flags sorted by long name and aligned, without the final newline (cobra trims it).
fn flag_block(mut flags: Vec<FlagLine>) -> String {
    flags.sort_by(|a, b| a.long.cmp(&b.long));
    let width = flags.iter().map(|f| f.left().len()).max().unwrap_or(0);
    let lines: Vec<String> = flags
        .iter()
        .map(|f| {
            let mut line = format!("{:width$}   {}", f.left(), f.help);
            if let Some(d) = &f.default {
                // Go's %q; our defaults are plain ASCII, where it equals JSON quoting.
                line.push_str(&format!(
                    " (default {})",
                    serde_json::Value::from(d.as_str())
                ));
            }
            line.trim_end().to_string()
        })
        .collect();
    lines.join("\n")
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::ArgAction;

    #[test]
    fn cobra_layout() {
        let root = Command::new("tool")
            .about("A tool")
            .arg(
                Arg::new("file")
                    .short('f')
                    .long("file")
                    .global(true)
                    .default_value("a.c1z")
                    .help("The file"),
            )
            .subcommand(
                Command::new("list")
                    .about("List things")
                    .arg(Arg::new("id").long("sync-id").help("The sync"))
                    .arg(
                        Arg::new("all")
                            .short('a')
                            .long("all")
                            .action(ArgAction::SetTrue)
                            .help("Everything"),
                    ),
            );
        let root = cobra_style(root);
        let list = root.find_subcommand("list").unwrap();
        let got = render(
            list,
            "tool list",
            &[root.get_arguments().next().unwrap().clone()],
            false,
        );
        assert_eq!(
            got,
            "List things\n\nUsage:\n  tool list [flags]\n\nFlags:\n  \
             -a, --all              Everything\n  \
             -h, --help             help for list\n      \
             --sync-id string   The sync\n\nGlobal Flags:\n  \
             -f, --file string   The file (default \"a.c1z\")\n"
        );
        let top = render(&root, "tool", &[], true);
        assert!(
            top.contains(
                "Usage:\n  tool [command]\n\nAvailable Commands:\n  \
                 help        Help about any command\n  \
                 list        List things\n"
            ),
            "{top}"
        );
        assert!(
            top.ends_with("Use \"tool [command] --help\" for more information about a command.\n")
        );
    }
}
