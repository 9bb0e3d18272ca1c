//! Baton's optional config file: `./.baton.yaml`, or the path in
//! `BATON_CONFIG_PATH`. Its keys are flag names; a value there applies when
//! neither the flag nor its environment variable is given (flag > env > file
//! > default, as with Baton's viper setup).
//!
//! Baton config files are flat maps of scalars, so this reads exactly that
//! subset of YAML and rejects anything else by line number, rather than
//! pulling in a YAML parser.

use std::path::{Path, PathBuf};

use anyhow::{bail, Context};
use clap::Command;

/// A parsed config file: its path and its `flag-name: value` pairs.
#[derive(Debug, Clone)]
pub struct ConfigFile {
    /// Where it was read from.
    pub path: PathBuf,
    /// Its pairs, in file order.
    pub pairs: Vec<(String, String)>,
}

impl ConfigFile {
    /// Reads and parses the file [`locate`] finds, if any.
    pub fn load() -> anyhow::Result<Option<ConfigFile>> {
        let Some(path) = locate()? else {
            return Ok(None);
        };
        let text = std::fs::read_to_string(&path)
            .with_context(|| format!("cannot read {}", path.display()))?;
        let pairs = parse(&text, &path)?;
        Ok(Some(ConfigFile { path, pairs }))
    }

    /// The value the file gives `key` (a flag's long name).
    pub fn get(&self, key: &str) -> Option<&str> {
        self.pairs
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    }
}

/// The file to read: `BATON_CONFIG_PATH`, else `./.baton.yaml` if present.
pub fn locate() -> anyhow::Result<Option<PathBuf>> {
    match std::env::var_os("BATON_CONFIG_PATH") {
        Some(path) => {
            let path = PathBuf::from(path);
            let ext = path.extension().and_then(|e| e.to_str()).unwrap_or("");
            if ext != "yaml" && ext != "yml" {
                bail!(
                    "BATON_CONFIG_PATH must name a .yaml or .yml file, got {}",
                    path.display()
                );
            }
            if !path.is_file() {
                bail!(
                    "BATON_CONFIG_PATH names {}, which does not exist",
                    path.display()
                );
            }
            Ok(Some(path))
        }
        None => {
            let default = Path::new(".baton.yaml");
            Ok(default.is_file().then(|| default.to_path_buf()))
        }
    }
}

/// Parses `key: value` lines into pairs, in file order.
pub fn parse(text: &str, path: &Path) -> anyhow::Result<Vec<(String, String)>> {
    let mut out: Vec<(String, String)> = Vec::new();
    for (n, raw) in text.lines().enumerate() {
        let line = raw.trim_end();
        let content = line.trim_start();
        if content.is_empty() || content.starts_with('#') || content == "---" {
            continue;
        }
        let at = || format!("{}:{}", path.display(), n + 1);
        if line.starts_with([' ', '\t']) || content.starts_with('-') {
            bail!(
                "{}: only top-level `flag-name: value` lines are supported",
                at()
            );
        }
        let Some((key, value)) = content.split_once(':') else {
            bail!("{}: expected `flag-name: value`", at());
        };
        let key = key.trim();
        if key.is_empty() {
            bail!("{}: missing flag name before `:`", at());
        }
        let value = scalar(value.trim()).with_context(at)?;
        if out.iter().any(|(k, _)| k == key) {
            bail!("{}: `{key}` is set twice", at());
        }
        out.push((key.to_string(), value));
    }
    Ok(out)
}

fn scalar(v: &str) -> anyhow::Result<String> {
    for quote in ['"', '\''] {
        if let Some(inner) = v.strip_prefix(quote) {
            let Some(inner) = inner.strip_suffix(quote) else {
                bail!("unterminated quoted value");
            };
            return Ok(inner.to_string());
        }
    }
    if v.starts_with(['[', '{', '|', '>', '&', '*']) {
        bail!("only plain, single-line values are supported");
    }
    // A trailing comment after a plain value.
    let v = match v.find(" #") {
        Some(i) => v[..i].trim_end(),
        None => v,
    };
    if v.is_empty() {
        bail!("no value (lists and nested maps are not supported)");
    }
    Ok(v.to_string())
}

/// Makes the file's values the defaults of their flags. An unknown key is
/// an error that names it, so a typo does not pass unnoticed.
pub fn apply(mut cmd: Command, pairs: &[(String, String)], path: &Path) -> anyhow::Result<Command> {
    for (key, value) in pairs {
        let id = cmd
            .get_arguments()
            .find(|a| a.get_long() == Some(key.as_str()))
            .map(|a| a.get_id().clone());
        let Some(id) = id else {
            bail!(
                "{}: `{key}` is not a flag of this connector",
                path.display()
            );
        };
        let value = value.clone();
        // A value from the file satisfies a required flag.
        cmd = cmd.mut_arg(id, |a| a.default_value(value).required(false));
    }
    Ok(cmd)
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Arg;

    #[test]
    fn reads_flat_scalars_with_quotes_and_comments() {
        let text = "# comment\nlog-level: debug\nfile: 'out.c1z'\nscim-token: \"a:b#c\"\n\nflag: x # note\n";
        let pairs = parse(text, Path::new("c.yaml")).unwrap();
        let want = [
            ("log-level", "debug"),
            ("file", "out.c1z"),
            ("scim-token", "a:b#c"),
            ("flag", "x"),
        ];
        let got: Vec<(&str, &str)> = pairs
            .iter()
            .map(|(k, v)| (k.as_str(), v.as_str()))
            .collect();
        assert_eq!(got, want);
    }

    #[test]
    fn rejects_what_it_does_not_understand_with_the_line() {
        for (text, needle) in [
            ("a:\n  - x\n", "c.yaml:1: no value"),
            ("a: x\n  b: y\n", "c.yaml:2"),
            ("just text\n", "expected `flag-name: value`"),
            ("a: [1, 2]\n", "single-line"),
            ("a: 'open\n", "unterminated"),
            ("a: 1\na: 2\n", "set twice"),
            ("a:\n", "no value"),
        ] {
            let e = format!("{:#}", parse(text, Path::new("c.yaml")).unwrap_err());
            assert!(e.contains(needle), "{text:?}: {e}");
        }
    }

    #[test]
    fn values_become_defaults_and_unknown_keys_are_named() {
        let cmd = Command::new("t").arg(
            Arg::new("log_level")
                .long("log-level")
                .default_value("info"),
        );
        let pairs = vec![("log-level".to_string(), "debug".to_string())];
        let m = apply(cmd.clone(), &pairs, Path::new("c.yaml"))
            .unwrap()
            .get_matches_from(["t"]);
        assert_eq!(m.get_one::<String>("log_level").unwrap(), "debug");
        let m = apply(cmd.clone(), &pairs, Path::new("c.yaml"))
            .unwrap()
            .get_matches_from(["t", "--log-level", "warn"]);
        assert_eq!(
            m.get_one::<String>("log_level").unwrap(),
            "warn",
            "the flag wins"
        );
        let bad = vec![("nope".to_string(), "1".to_string())];
        let e = apply(cmd, &bad, Path::new("c.yaml"))
            .unwrap_err()
            .to_string();
        assert!(e.contains("`nope`"), "{e}");
    }
}

#[cfg(test)]
#[path = "config_file_props.rs"]
mod props;
