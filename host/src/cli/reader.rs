//! The `baton` c1z reader CLI: lists what a `.c1z` sync file holds, like Baton's Go `baton`.
//!
//! Subcommands `resources`, `resource-types`, `entitlements`, `grants`, `stats` and `syncs`
//! print the same console tables (columns, order, padding) and `-o json` shapes (protojson
//! of Go's output messages) as the Go CLI on SDK v0.7.27. Where Go is cryptic we are
//! clearer: a missing file, a v3 file or `stats` without a finished sync give one-line
//! errors, and listing an unfinished sync prints a warning on stderr.
//!
//! Output streams: rows are read a page at a time. Console tables need every row's width
//! before the first line is printed, so console output walks the rows twice (measure, then
//! print) instead of holding them all in memory; JSON is written as rows arrive.

mod json;
mod rows;
mod table;

use crate::c1z::{C1zReader, EntitlementFilter, GrantFilter, ResourceFilter, SyncRun};
use anyhow::{anyhow, Result};
use clap::{ArgAction, CommandFactory, Parser, Subcommand, ValueEnum};
use rows::{Lookups, Row, Sink};
use std::collections::BTreeMap;
use std::ffi::OsString;
use std::io::{self, BufWriter, Write};
use std::path::PathBuf;
use std::process::ExitCode;

/// Command line of `baton`.
#[derive(Debug, Parser)]
#[command(
    name = "baton",
    about = "baton is a utility for working with the output of a baton-based connector",
    version,
    disable_version_flag = true
)]
struct Cli {
    /// The path to the c1z file to work with.
    #[arg(short = 'f', long = "file", default_value = "sync.c1z", global = true)]
    file: PathBuf,
    /// The format to output results in
    #[arg(
        short = 'o',
        long = "output-format",
        value_enum,
        default_value = "console",
        global = true
    )]
    output_format: Format,
    /// The sync ID to view data for. Will use the latest completed sync if not set.
    #[arg(long = "sync-id", global = true)]
    sync_id: Option<String>,
    /// Print version
    #[arg(short = 'v', long = "version", action = ArgAction::Version)]
    version: Option<bool>,
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum Format {
    Console,
    Json,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// List resources for the latest sync
    Resources {
        /// The resource type to filter output by
        #[arg(short = 't', long = "resource-type")]
        resource_type: Option<String>,
    },
    /// List resource types for the latest (or current) sync
    ResourceTypes,
    /// List entitlements
    Entitlements {
        /// The resource type to filter output by
        #[arg(short = 't', long = "resource-type")]
        resource_type: Option<String>,
        /// The resource to filter output by (needs --resource-type)
        #[arg(short = 'r', long = "resource", requires = "resource_type")]
        resource: Option<String>,
    },
    /// List grants
    Grants {
        /// The entitlement to filter output by
        #[arg(short = 'e', long = "entitlement", conflicts_with = "resource")]
        entitlement: Option<String>,
        /// The resource to filter output by (needs --resource-type)
        #[arg(short = 'r', long = "resource", requires = "resource_type")]
        resource: Option<String>,
        /// The resource type to filter output by
        #[arg(short = 't', long = "resource-type")]
        resource_type: Option<String>,
    },
    /// Simple stats about the c1z
    Stats,
    /// List the information for the various sync data stored in the C1Z
    Syncs,
}

/// Runs `baton` with the process arguments; prints errors as one `error: ...` line on
/// stderr and returns exit code 1 for them.
pub fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
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
            eprintln!("error: {e:#}");
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
    let cli = Cli::try_parse_from(args)?;
    execute(&cli, io::stdout().lock())
}

fn execute(cli: &Cli, out: impl Write) -> Result<()> {
    let Some(command) = &cli.command else {
        Cli::command().print_help()?;
        return Ok(());
    };
    let reader = C1zReader::open(&cli.file)?;
    let mut out = BufWriter::with_capacity(1 << 16, out);
    let format = cli.output_format;
    match command {
        Command::Syncs => emit(format, &mut out, |sink: Sink<'_, SyncRun>| {
            reader.syncs()?.into_iter().try_for_each(sink)
        })?,
        Command::Stats => stats(&reader, cli, &mut out)?,
        listing => {
            let sync = reader.select_sync(cli.sync_id.as_deref())?;
            if !sync.is_finished() {
                warn_unfinished(&reader, &sync, cli.sync_id.is_some());
            }
            let mut look = Lookups::new(&reader, &sync);
            list(listing, format, &mut look, &mut out)?;
        }
    }
    out.flush()?;
    Ok(())
}

fn list(
    command: &Command,
    format: Format,
    look: &mut Lookups<'_>,
    out: &mut impl Write,
) -> Result<()> {
    match command {
        Command::ResourceTypes => emit(format, out, |sink| look.resource_types(sink)),
        Command::Resources { resource_type } => {
            let filter = ResourceFilter {
                resource_type: resource_type.clone(),
                ..Default::default()
            };
            emit(format, out, |sink| look.resources(&filter, sink))
        }
        Command::Entitlements {
            resource_type,
            resource,
        } => {
            let filter = EntitlementFilter {
                resource_type: resource_type.clone(),
                resource_id: resource.clone(),
            };
            emit(format, out, |sink| look.entitlements(&filter, sink))
        }
        Command::Grants {
            entitlement,
            resource,
            resource_type,
        } => {
            let filter = GrantFilter {
                entitlement_id: entitlement.clone(),
                resource_type: resource_type.clone(),
                resource_id: resource.clone(),
                ..Default::default()
            };
            emit(format, out, |sink| look.grants(&filter, sink))
        }
        Command::Stats | Command::Syncs => unreachable!("handled by execute"),
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

/// `baton stats`: counts of the newest finished sync (or `--sync-id`).
fn stats(reader: &C1zReader, cli: &Cli, out: &mut impl Write) -> Result<()> {
    let sync = match &cli.sync_id {
        Some(id) => reader.select_sync(Some(id))?,
        None => match reader.latest_finished_sync()? {
            Some(s) => s,
            None => return Err(no_finished_sync(reader)?),
        },
    };
    if !sync.is_finished() {
        warn_unfinished(reader, &sync, true);
    }
    let counts: BTreeMap<String, u64> = reader.stats(&sync)?;
    match cli.output_format {
        Format::Console => {
            let rows: Vec<Vec<String>> = counts
                .iter()
                .map(|(k, v)| vec![k.clone(), v.to_string()])
                .collect();
            let mut table = table::Table::new(&["Type", "Count"]);
            rows.iter().for_each(|r| table.measure(r));
            table.write_header(out)?;
            for r in &rows {
                table.write_row(out, r)?;
            }
            table.write_end(out)?;
        }
        Format::Json => {
            // Go's stats has no JSON mode; this is our own small shape.
            let counts = counts
                .into_iter()
                .map(|(k, v)| (k, json::J::Num(v.to_string())))
                .collect();
            json::J::Obj(vec![
                ("syncId".into(), json::J::Str(sync.sync_id.clone())),
                ("counts".into(), json::J::Obj(counts)),
            ])
            .write(out)?;
        }
    }
    Ok(())
}

fn no_finished_sync(reader: &C1zReader) -> Result<anyhow::Error> {
    let syncs = reader.syncs()?;
    let file = reader.path().display();
    Ok(
        match syncs.iter().max_by(|a, b| a.started_at.cmp(&b.started_at)) {
            None => anyhow!("{file} holds no sync runs, so there is nothing to count"),
            Some(newest) => anyhow!(
            "no finished sync in {file}: `stats` counts the newest finished sync, but the newest \
             sync here, {} (started {}), is unfinished; pass --sync-id {} to count it anyway",
            newest.sync_id,
            shown_time(newest),
            newest.sync_id
        ),
        },
    )
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

fn shown_time(sync: &SyncRun) -> String {
    sync.started()
        .map_or_else(|| sync.started_at.clone(), |t| t.to_rfc3339(false))
}

fn is_broken_pipe(e: &anyhow::Error) -> bool {
    e.chain()
        .filter_map(|c| c.downcast_ref::<io::Error>())
        .any(|io| io.kind() == io::ErrorKind::BrokenPipe)
}
