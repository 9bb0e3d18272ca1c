//! The `baton` c1z reader CLI: lists what a `.c1z` sync file holds, like Baton's Go `baton`.
//!
//! Subcommands `resources`, `resource-types`, `entitlements`, `grants`, `principals`,
//! `stats` and `syncs` print the same console tables (columns, order, padding) and `-o json`
//! shapes (protojson of Go's output messages) as the Go CLI on SDK v0.7.27, and every
//! `--help` is laid out as cobra prints it (see `help`). `diff` and `principals compare`
//! keep Go's JSON shapes and add console tables and flags to pick what is compared. Where
//! Go is cryptic we are clearer: a missing file, a v3 file or `stats` without a finished
//! sync give one-line errors, and reading an unfinished sync prints a warning on stderr.
//!
//! Output streams: rows are read a page at a time. Console tables need every row's width
//! before the first line is printed, so console output walks the rows twice (measure, then
//! print) instead of holding them all in memory; JSON is written as rows arrive.

mod args;
mod diff;
mod help;
pub(crate) mod json;
mod lookups;
mod principals;
mod rows;
mod stats;
mod table;

use crate::c1z::{C1zReader, EntitlementFilter, GrantFilter, ResourceFilter, SyncRun};
use anyhow::{bail, Context, Result};
use args::{Cli, Command, Format, GrantArgs, PrincipalsCommand, SyncArg};
use clap::{CommandFactory, FromArgMatches};
use lookups::Lookups;
use rows::{Row, Sink};
use std::ffi::OsString;
use std::io::{self, BufWriter, Write};
use std::process::ExitCode;

/// Runs `baton` with the process arguments; prints errors as one `error: ...` line on
/// stderr and returns exit code 1 for them.
pub fn main() -> ExitCode {
    let cli = match parse(std::env::args_os()) {
        Ok(cli) => cli,
        Err(e) => {
            // Help and --version are "errors" to clap but successes to the user.
            let _ = e.print();
            return if e.use_stderr() {
                ExitCode::from(1)
            } else {
                ExitCode::SUCCESS
            };
        }
    };
    match execute(&cli, io::stdout().lock()) {
        Ok(()) => ExitCode::SUCCESS,
        // `baton grants | head` closing the pipe early is not a failure.
        Err(e) if is_broken_pipe(&e) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {}", super::logging::cause_chain(e.as_ref()));
            ExitCode::from(1)
        }
    }
}

/// Parses `args` (program name first) and runs the command, printing to stdout.
pub fn run<I, T>(args: I) -> Result<()>
where
    I: IntoIterator<Item = T>,
    T: Into<OsString> + Clone,
{
    let cli = parse(args)?;
    execute(&cli, io::stdout().lock())
}

/// The command line with cobra-style help installed (see `help`).
fn command() -> clap::Command {
    help::cobra_style(Cli::command())
}

pub(crate) fn parse<I, T>(args: I) -> Result<Cli, clap::Error>
where
    I: IntoIterator<Item = T>,
    T: Into<OsString> + Clone,
{
    Cli::from_arg_matches(&command().try_get_matches_from(args)?)
}

pub(crate) fn execute(cli: &Cli, out: impl Write) -> Result<()> {
    let Some(command) = &cli.command else {
        command().print_help()?;
        return Ok(());
    };
    let mut out = BufWriter::with_capacity(1 << 16, out);
    let format = cli.output_format;
    match command {
        Command::Syncs => {
            no_sync_id(cli, "syncs", "it lists every sync")?;
            let reader = open(&cli.file, "--file")?;
            emit(format, &mut out, |sink: Sink<'_, SyncRun>| {
                reader.syncs()?.into_iter().try_for_each(sink)
            })?
        }
        Command::Stats { sync } => {
            let reader = open(&cli.file, "--file")?;
            stats::stats(&reader, sync_id(cli, sync), format, &mut out)?
        }
        Command::Diff(args) => {
            no_sync_id(cli, "diff", "use --base-sync-id and --applied-sync-id")?;
            diff::run(&cli.file, args, format, &mut out)?
        }
        Command::Principals {
            compare: Some(PrincipalsCommand::Compare(args)),
            filter,
        } => {
            no_sync_id(
                cli,
                "principals compare",
                "it reads the default sync of each file",
            )?;
            if filter.entitlement.is_some()
                || filter.resource_type.is_some()
                || filter.sync.sync_id.is_some()
            {
                // Written before `compare`, they would silently be ignored.
                bail!(
                    "`principals compare` does not use the flags given before `compare`: pass \
                     the base entitlement as `principals compare -e ENT`; -r, -t and --sync-id \
                     do not apply"
                );
            }
            principals::compare(&cli.file, args, format, &mut out)?
        }
        listing => {
            let reader = open(&cli.file, "--file")?;
            let explicit = listing_sync_id(cli, listing);
            let sync = reader.select_sync(explicit).context("--sync-id")?;
            if !sync.is_finished() {
                warn_unfinished(&reader, &sync, explicit.is_some());
            } else if explicit.is_none() {
                note_later_unfinished(&reader, &sync);
            }
            let mut look = Lookups::new(&reader, &sync);
            list(listing, format, &mut look, &mut out)?;
        }
    }
    out.flush()?;
    Ok(())
}

/// The `--sync-id` of a subcommand, or the one written before the subcommand name.
fn sync_id<'a>(cli: &'a Cli, sync: &'a SyncArg) -> Option<&'a str> {
    sync.sync_id.as_deref().or(cli.sync_id.as_deref())
}

fn listing_sync_id<'a>(cli: &'a Cli, command: &'a Command) -> Option<&'a str> {
    let sync = match command {
        Command::Resources { sync, .. }
        | Command::ResourceTypes { sync }
        | Command::Entitlements { sync, .. }
        | Command::Stats { sync } => sync,
        Command::Grants(g) | Command::Principals { filter: g, .. } => &g.sync,
        Command::Syncs | Command::Diff(_) => return cli.sync_id.as_deref(),
    };
    sync_id(cli, sync)
}

/// Rejects `baton --sync-id X <command>` for commands without a `--sync-id`, which clap
/// cannot do itself because that position belongs to the root command.
/// Opens a c1z named by `flag`; an error names the flag before the file.
pub(crate) fn open(path: &std::path::Path, flag: &'static str) -> Result<C1zReader> {
    C1zReader::open(path).context(flag)
}

fn no_sync_id(cli: &Cli, command: &str, why: &str) -> Result<()> {
    if cli.sync_id.is_some() {
        bail!("`baton {command}` takes no --sync-id: {why}");
    }
    Ok(())
}

impl GrantArgs {
    fn filter(&self) -> GrantFilter {
        GrantFilter {
            entitlement_id: self.entitlement.clone(),
            resource_type: self.resource_type.clone(),
            resource_id: self.resource.clone(),
            ..Default::default()
        }
    }
}

fn list(
    command: &Command,
    format: Format,
    look: &mut Lookups<'_>,
    out: &mut impl Write,
) -> Result<()> {
    match command {
        Command::ResourceTypes { .. } => emit(format, out, |sink| look.resource_types(sink)),
        Command::Resources { resource_type, .. } => {
            let filter = ResourceFilter {
                resource_type: resource_type.clone(),
                ..Default::default()
            };
            emit(format, out, |sink| look.resources(&filter, sink))
        }
        Command::Entitlements {
            resource_type,
            resource,
            ..
        } => {
            let filter = EntitlementFilter {
                resource_type: resource_type.clone(),
                resource_id: resource.clone(),
            };
            emit(format, out, |sink| look.entitlements(&filter, sink))
        }
        Command::Grants(args) => {
            let filter = args.filter();
            emit(format, out, |sink| look.grants(&filter, sink))
        }
        Command::Principals { filter, .. } => {
            let filter = filter.filter();
            emit(format, out, |sink| look.principals(&filter, sink))
        }
        Command::Stats { .. } | Command::Syncs | Command::Diff(_) => {
            unreachable!("handled by execute")
        }
    }
}

/// Prints the rows `visit` produces as a console table or as `{"<list key>":[...]}`
/// (`{}` when empty, as protojson omits an empty list). `visit` runs twice for the console
/// (see the module docs).
fn emit<R: Row>(
    format: Format,
    out: &mut impl Write,
    mut visit: impl FnMut(Sink<'_, R>) -> Result<()>,
) -> Result<()> {
    match format {
        Format::Console => {
            let mut table = table::Table::new(R::HEADERS);
            visit(&mut |row: R| {
                table.measure(&row.cells());
                Ok(())
            })?;
            table.write_header(out)?;
            visit(&mut |row: R| Ok(table.write_row(out, &row.cells())?))?;
            table.write_end(out)?;
        }
        Format::Json => {
            let mut first = true;
            visit(&mut |row: R| {
                if first {
                    write!(out, "{{\"{}\":[", R::LIST_KEY)?;
                    first = false;
                } else {
                    out.write_all(b",")?;
                }
                Ok(row.json().write(out)?)
            })?;
            // Like Go's CLI, no trailing newline after the JSON document.
            out.write_all(if first { b"{}" } else { b"]}" })?;
        }
    }
    Ok(())
}

/// Prints a titled console table of already collected rows (`diff`, `principals compare`):
/// `<title>: <count>` and the table, or `<title>: none` and a blank line.
fn titled_table(
    out: &mut impl Write,
    title: &str,
    headers: &'static [&'static str],
    rows: &[Vec<String>],
) -> Result<()> {
    if rows.is_empty() {
        writeln!(out, "{title}: none\n")?;
        return Ok(());
    }
    writeln!(out, "{title}: {}", rows.len())?;
    Ok(table::write_table(out, headers, rows)?)
}

fn warn_unfinished(reader: &C1zReader, sync: &SyncRun, explicit: bool) {
    let why = if explicit {
        String::new()
    } else {
        format!(" ({} holds no finished full sync)", reader.path().display())
    };
    eprintln!(
        "warning: sync {} ({}, started {}) is unfinished, so its data may be incomplete{why}",
        sync.sync_id,
        sync.sync_type,
        shown_time(sync)
    );
}

/// Warns that the file also holds an unfinished sync started after `shown`, the newest
/// finished one: a sync that stopped part-way and saved its progress, which the next sync
/// into the file resumes (or drops). Its data is not shown.
fn note_later_unfinished(reader: &C1zReader, shown: &SyncRun) {
    let Ok(runs) = reader.syncs() else { return };
    let later = runs
        .iter()
        .filter(|r| !r.is_finished() && r.started_at > shown.started_at)
        .max_by(|a, b| a.started_at.cmp(&b.started_at));
    if let Some(unfinished) = later {
        eprintln!(
            "warning: {} also holds an unfinished sync {} (started {}), not shown here: this \
             shows the newest finished sync {}; the next sync into the file resumes or drops \
             the unfinished one",
            reader.path().display(),
            unfinished.sync_id,
            shown_time(unfinished),
            shown.sync_id
        );
    }
}

fn shown_time(sync: &SyncRun) -> String {
    sync.started()
        .map_or_else(|| sync.started_at.clone(), |t| t.to_rfc3339(false))
}

fn is_broken_pipe(e: &anyhow::Error) -> bool {
    e.chain()
        .filter_map(|c| c.downcast_ref::<io::Error>())
        .any(|io| io.kind() == io::ErrorKind::BrokenPipe)
}
