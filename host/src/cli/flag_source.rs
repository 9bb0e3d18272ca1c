//! Where a flag's value came from: the command line, its environment
//! variable or the config file. An error about a value names the place to
//! fix it, since a bad `BATON_*` variable or `.baton.yaml` line is otherwise
//! hard to find from a message that names only the flag.

use std::ffi::{OsStr, OsString};

use clap::Command;

use super::config_file::ConfigFile;

/// The sources of flag values of one run, in precedence order.
pub(crate) struct FlagSources<'a> {
    args: &'a [OsString],
    file: Option<&'a ConfigFile>,
}

impl<'a> FlagSources<'a> {
    /// Sources for `args` (program name first) and the config file, if any.
    pub(crate) fn new(args: &'a [OsString], file: Option<&'a ConfigFile>) -> Self {
        FlagSources { args, file }
    }

    /// Where the value of `--long` came from, when not from the command
    /// line: `BATON_X` or `` `long` in path ``. `None` when the flag was given
    /// on the command line or has no value from elsewhere.
    pub(crate) fn origin(&self, cmd: &Command, long: &str) -> Option<String> {
        let arg = cmd.get_arguments().find(|a| a.get_long() == Some(long))?;
        self.origin_from(long, arg.get_short(), arg.get_env())
    }

    /// Flag, then `env`, then file: the precedence clap applies.
    fn origin_from(&self, long: &str, short: Option<char>, env: Option<&OsStr>) -> Option<String> {
        if self.on_command_line(long, short) {
            return None;
        }
        if let Some(env) = env.filter(|env| std::env::var_os(env).is_some()) {
            return Some(env.to_string_lossy().into_owned());
        }
        let file = self.file?;
        file.get(long)
            .map(|_| format!("`{long}` in {}", file.path.display()))
    }

    /// The value of a flag read before clap parses (`--component`, which
    /// shapes the command itself), with the same precedence, and how to name
    /// it in an error (see [`label`]).
    pub(crate) fn early(&self, long: &str, env: &str) -> Option<(OsString, String)> {
        let value = self
            .early_value(long)
            .or_else(|| std::env::var_os(env))
            .or_else(|| self.file?.get(long).map(OsString::from))?;
        let origin = self.origin_from(long, None, Some(OsStr::new(env)));
        Some((value, label(long, origin)))
    }

    /// The value of `--long` given on the command line.
    fn early_value(&self, long: &str) -> Option<OsString> {
        let flag = format!("--{long}");
        let mut iter = self.args.iter().skip(1);
        while let Some(arg) = iter.next() {
            let text = arg.to_string_lossy();
            if text == "--" {
                break;
            }
            if text == flag {
                return iter.next().cloned();
            }
            if let Some(value) = text.strip_prefix(&format!("{flag}=")) {
                return Some(value.into());
            }
        }
        None
    }

    fn on_command_line(&self, long: &str, short: Option<char>) -> bool {
        let flag = format!("--{long}");
        self.args
            .iter()
            .skip(1)
            .map(|a| a.to_string_lossy())
            .take_while(|a| a != "--")
            .any(|a| {
                a == flag
                    || a.starts_with(&format!("{flag}="))
                    || short.is_some_and(|c| {
                        !a.starts_with("--") && a.strip_prefix('-').is_some_and(|r| r.contains(c))
                    })
            })
    }
}

/// `--long`, and where its value came from when not the command line.
pub(crate) fn label(long: &str, origin: Option<String>) -> String {
    match origin {
        Some(origin) => format!("--{long} (set by {origin})"),
        None => format!("--{long}"),
    }
}

/// The long name of the flag a clap error is about, from its
/// `--flag <VALUE>` rendering; `None` for a positional or no flag.
pub(crate) fn flag_of(e: &clap::Error) -> Option<String> {
    use clap::error::{ContextKind, ContextValue};
    let ContextValue::String(arg) = e.get(ContextKind::InvalidArg)? else {
        return None;
    };
    let long = arg.strip_prefix("--")?;
    let end = long.find([' ', '=', '<']).unwrap_or(long.len());
    Some(long[..end].to_string())
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Arg;
    use std::path::PathBuf;

    fn cmd() -> Command {
        Command::new("t")
            .arg(
                Arg::new("level")
                    .long("log-level")
                    .env("T_FLAG_SOURCE_UNSET_VAR"),
            )
            .arg(Arg::new("file").short('f').long("file"))
    }

    fn argv(words: &[&str]) -> Vec<OsString> {
        std::iter::once("t")
            .chain(words.iter().copied())
            .map(OsString::from)
            .collect()
    }

    #[test]
    fn names_the_file_key_when_neither_flag_nor_variable_is_set() {
        let file = ConfigFile {
            path: PathBuf::from(".baton.yaml"),
            pairs: vec![("log-level".into(), "loud".into())],
        };
        let args = argv(&[]);
        let sources = FlagSources::new(&args, Some(&file));
        assert_eq!(
            sources.origin(&cmd(), "log-level").as_deref(),
            Some("`log-level` in .baton.yaml")
        );
        let args = argv(&["--log-level=loud"]);
        assert_eq!(
            FlagSources::new(&args, Some(&file)).origin(&cmd(), "log-level"),
            None
        );
        let args = argv(&["-fx.c1z"]);
        assert_eq!(FlagSources::new(&args, None).origin(&cmd(), "file"), None);
    }

    #[test]
    fn early_values_come_from_either_flag_form() {
        let args = argv(&["--component", "a.wasm"]);
        let sources = FlagSources::new(&args, None);
        assert_eq!(sources.early_value("component"), Some("a.wasm".into()));
        let args = argv(&["-f", "y", "--component=b.wasm"]);
        let sources = FlagSources::new(&args, None);
        assert_eq!(sources.early_value("component"), Some("b.wasm".into()));
        let args = argv(&["--", "--component", "c"]);
        assert_eq!(FlagSources::new(&args, None).early_value("component"), None);
    }

    #[test]
    fn finds_the_flag_a_value_error_is_about() {
        let c = Command::new("t").arg(
            Arg::new("n")
                .long("max-attempts")
                .value_parser(clap::value_parser!(u32)),
        );
        let e = c
            .try_get_matches_from(["t", "--max-attempts", "x"])
            .unwrap_err();
        assert_eq!(flag_of(&e).as_deref(), Some("max-attempts"));
    }
}
