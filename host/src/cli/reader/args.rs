//! The command line of `baton`: flags, subcommands and their descriptions, worded as in
//! Baton's Go CLI (`tests/fixtures/go-c1z/baton-cli-output/help-*.txt`) so `--help` reads
//! the same. Help texts are given with `help = ...` rather than doc comments because clap
//! would drop their final period.
//!
//! Our additions to Go's flags, all listed in the help: `entitlements -r`, `stats
//! --sync-id` and the `diff` flags that pick the two syncs (Go's `diff` can only compare the
//! two newest full syncs of one file). `principals compare` has Go's flag names, but
//! `--compare-file` defaults to `--file` instead of `sync.c1z`.

use clap::{ArgAction, Args, Parser, Subcommand, ValueEnum};
use std::path::PathBuf;

const SYNC_ID_HELP: &str =
    "The sync ID to view data for. Will use the latest completed sync if not set.";
const RESOURCE_TYPE_HELP: &str = "The resource type to filter output by";
const RESOURCE_HELP: &str = "The resource to filter output by";
const ENTITLEMENT_HELP: &str = "The entitlement to filter output by";

/// Command line of `baton`.
#[derive(Debug, Parser)]
#[command(
    name = "baton",
    about = "baton is a utility for working with the output of a baton-based connector",
    version,
    disable_version_flag = true
)]
pub struct Cli {
    /// `-f`: the c1z file.
    #[arg(
        short = 'f',
        long = "file",
        default_value = "sync.c1z",
        global = true,
        help = "The path to the c1z file to work with."
    )]
    pub file: PathBuf,
    /// `-o`: console tables or JSON.
    #[arg(
        short = 'o',
        long = "output-format",
        value_enum,
        default_value = "console",
        global = true,
        help = "The format to output results in: (console, json)"
    )]
    pub output_format: Format,
    /// `--sync-id` written before the subcommand name (`baton --sync-id X grants`), which
    /// cobra accepts too; hidden because each subcommand documents its own `--sync-id`.
    #[arg(long = "sync-id", hide = true)]
    pub sync_id: Option<String>,
    #[arg(short = 'v', long = "version", action = ArgAction::Version, help = "version for baton")]
    version: Option<bool>,
    /// The subcommand; `None` prints the help.
    #[command(subcommand)]
    pub command: Option<Command>,
}

/// `-o` values.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Format {
    /// Tables for people.
    Console,
    /// protojson of Go's output messages.
    Json,
}

/// `--sync-id` of one subcommand.
#[derive(Debug, Clone, Default, Args)]
pub struct SyncArg {
    /// The sync to read; the default sync when `None`.
    #[arg(long = "sync-id", help = SYNC_ID_HELP)]
    pub sync_id: Option<String>,
}

/// The grant filters shared by `grants` and `principals`.
#[derive(Debug, Clone, Default, Args)]
pub struct GrantArgs {
    /// `-e`: grants of one entitlement.
    #[arg(
        short = 'e',
        long = "entitlement",
        conflicts_with = "resource",
        help = ENTITLEMENT_HELP
    )]
    pub entitlement: Option<String>,
    /// `-r`: grants on one resource (with `-t`).
    #[arg(
        short = 'r',
        long = "resource",
        requires = "resource_type",
        help = RESOURCE_HELP
    )]
    pub resource: Option<String>,
    /// `-t`: grants on resources of one type.
    #[arg(short = 't', long = "resource-type", help = RESOURCE_TYPE_HELP)]
    pub resource_type: Option<String>,
    /// `--sync-id`.
    #[command(flatten)]
    pub sync: SyncArg,
}

/// The subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// `baton resources`.
    #[command(about = "List resources for the latest sync")]
    Resources {
        /// `-t`.
        #[arg(short = 't', long = "resource-type", help = RESOURCE_TYPE_HELP)]
        resource_type: Option<String>,
        /// `--sync-id`.
        #[command(flatten)]
        sync: SyncArg,
    },
    /// `baton resource-types`.
    #[command(about = "List resource types for the latest (or current) sync")]
    ResourceTypes {
        /// `--sync-id`.
        #[command(flatten)]
        sync: SyncArg,
    },
    /// `baton entitlements`.
    #[command(about = "List entitlements")]
    Entitlements {
        /// `-t`.
        #[arg(short = 't', long = "resource-type", help = RESOURCE_TYPE_HELP)]
        resource_type: Option<String>,
        /// `-r` (ours; Go's `entitlements` has no resource filter).
        #[arg(
            short = 'r',
            long = "resource",
            requires = "resource_type",
            help = "The resource to filter output by (needs --resource-type)"
        )]
        resource: Option<String>,
        /// `--sync-id`.
        #[command(flatten)]
        sync: SyncArg,
    },
    /// `baton grants`.
    #[command(about = "List grants")]
    Grants(GrantArgs),
    /// `baton principals`: the distinct principals of the grants `grants` would list.
    #[command(about = "List principals", disable_help_subcommand = true)]
    Principals {
        /// Filters, as for `grants`.
        #[command(flatten)]
        filter: GrantArgs,
        /// `compare`.
        #[command(subcommand)]
        compare: Option<PrincipalsCommand>,
    },
    /// `baton stats`.
    #[command(about = "Simple stats about the c1z")]
    Stats {
        /// `--sync-id` (ours; Go's `stats` always counts the newest finished sync).
        #[command(flatten)]
        sync: SyncArg,
    },
    /// `baton syncs`.
    #[command(about = "List the information for the various sync data stored in the C1Z")]
    Syncs,
    /// `baton diff`.
    #[command(about = "Perform a diff between sync runs")]
    Diff(DiffArgs),
}

/// Subcommands of `principals`.
#[derive(Debug, Subcommand)]
pub enum PrincipalsCommand {
    /// `baton principals compare`.
    #[command(
        about = "Compare principals between two entitlements. These entitlements can exist in \
                 different C1Z files. The results are relative to the 'base' entitlement."
    )]
    Compare(CompareArgs),
}

/// Flags of `principals compare`.
#[derive(Debug, Args)]
pub struct CompareArgs {
    /// `-e`: the base entitlement, in `-f`.
    #[arg(
        short = 'e',
        long = "entitlement",
        required = true,
        help = "The base entitlement, in the file of --file"
    )]
    pub entitlement: String,
    /// The entitlement compared with the base.
    #[arg(
        long = "compare-entitlement",
        required = true,
        help = "The entitlement to compare with the base, in the file of --compare-file"
    )]
    pub compare_entitlement: String,
    /// The file holding `compare_entitlement`; `-f` when `None`.
    #[arg(
        long = "compare-file",
        help = "The c1z file holding --compare-entitlement. Will use --file if not set."
    )]
    pub compare_file: Option<PathBuf>,
}

/// Flags of `diff`.
#[derive(Debug, Args)]
pub struct DiffArgs {
    /// The newer sync, in `-f`.
    #[arg(
        long = "applied-sync-id",
        help = "The newer sync, in --file. Will use the latest completed full sync if not set."
    )]
    pub applied_sync_id: Option<String>,
    /// The older sync.
    #[arg(
        long = "base-sync-id",
        help = "The older sync to compare against, in --base-file. Will use the previous \
                completed full sync (the latest one of --base-file if given) if not set."
    )]
    pub base_sync_id: Option<String>,
    /// A second file holding the base sync.
    #[arg(
        long = "base-file",
        help = "Another c1z file holding the base sync, to compare two files. Will use \
                --file if not set."
    )]
    pub base_file: Option<PathBuf>,
}
