//! The `baton-notion` CLI: runs a connector component and writes a c1z.
//!
//! The host's own flags are static. The connector's flags are built from the
//! component's metadata (`config-fields`), so the host knows nothing about
//! Notion: `--scim-token` exists because the component declares it.

use std::ffi::OsString;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use anyhow::{bail, Context};
use clap::{Arg, ArgAction, ArgMatches, Args, Command, FromArgMatches};

use super::config_file::{self, ConfigFile};
use super::flag_source::{self, FlagSources};
use super::health::{self, HealthCheckArgs};
use super::logging::{self, LogFormat};
use super::modes::ModeArgs;
use super::progress::{RunFigures, SyncProgress};
use super::provisioning::ProvisioningArgs;
use super::schema;
use super::size;
use crate::bindings::types::{ConfigValue, ConnectorMetadata};
use crate::bindings::CONTRACT_VERSION;
use crate::c1z::History;
use crate::provision::{self, ProvisionReport};
use crate::runtime::{
    ComponentCache, ConnectorComponent, EgressPolicy, Origin, RateLimiter, RunPolicy, Runtime,
    NOTION_COMPONENT,
};
use crate::sync::external::ExternalResources;
use crate::sync::{PageEvent, SyncError, SyncRun};
use crate::telemetry::OtelArgs;
use clap_complete::Shell;

// Flags that belong to the host, whatever the component.
#[derive(Debug, Args)]
pub(crate) struct HostArgs {
    /// The path to the c1z file to sync with
    #[arg(
        short = 'f',
        long = "file",
        env = "BATON_FILE",
        default_value = "sync.c1z"
    )]
    file: PathBuf,

    /// The log level: debug, info, warn, error
    #[arg(long, env = "BATON_LOG_LEVEL", default_value = "info", ignore_case = true,
          hide_possible_values = true,
          value_parser = clap::builder::PossibleValuesParser::new(logging::LOG_LEVELS))]
    pub(crate) log_level: String,

    /// The output format for logs: json, console [default: console on a terminal, json otherwise]
    #[arg(long, env = "BATON_LOG_FORMAT", value_enum)]
    log_format: Option<LogFormat>,

    /// Run this connector component (.wasm) instead of the embedded one. It is
    /// treated as untrusted: it may only reach the origin of its base URL.
    #[arg(long, env = "BATON_COMPONENT", value_name = "PATH")]
    component: Option<PathBuf>,

    /// Upper bound in seconds for each HTTP request the connector makes
    #[arg(long, env = "BATON_HTTP_TIMEOUT_SECONDS", default_value_t = 60,
          value_parser = clap::value_parser!(u64).range(1..=1800))]
    http_timeout_seconds: u64,

    /// Attempts per HTTP request that is safe to retry, the first included (1 turns retries off)
    #[arg(long, env = "BATON_MAX_ATTEMPTS", default_value_t = 5,
          value_parser = clap::value_parser!(u32).range(1..=100))]
    max_attempts: u32,

    /// Requests per second the connector may send on average (0 turns the limit off)
    #[arg(long, env = "BATON_RATE_LIMIT", value_name = "PER_SECOND",
          default_value_t = RateLimiter::DEFAULT_PER_SECOND, value_parser = per_second)]
    rate_limit: f64,

    /// Requests the connector may send at once after a quiet period
    #[arg(long, env = "BATON_RATE_LIMIT_BURST", default_value_t = RateLimiter::DEFAULT_BURST,
          value_parser = clap::value_parser!(u32).range(1..=1000))]
    rate_limit_burst: u32,

    /// Carry resources from this c1z into the sync (its newest finished sync)
    #[arg(long, env = "BATON_EXTERNAL_RESOURCE_C1Z", value_name = "PATH")]
    external_resource_c1z: Option<PathBuf>,

    /// Carry only this entitlement of the external c1z, its grants and their principals
    #[arg(
        long,
        env = "BATON_EXTERNAL_RESOURCE_ENTITLEMENT_ID_FILTER",
        requires = "external_resource_c1z",
        value_name = "ID"
    )]
    external_resource_entitlement_id_filter: Option<String>,

    /// Give the connector component the values of secret fields it has no
    /// credential binding for. Off: it gets a placeholder, and the host sends
    /// bound credentials itself. Only for a component you trust.
    #[arg(long, env = "BATON_PASS_SECRETS_TO_COMPONENT")]
    pass_secrets_to_component: bool,

    /// Stop the sync when one listing (the resources of a type, or the entitlements or
    /// grants of one resource) needs more pages than this
    #[arg(long, env = "BATON_MAX_PAGES_PER_LISTING", value_name = "PAGES",
          default_value_t = RunPolicy::default().max_pages_per_listing,
          value_parser = clap::value_parser!(u64).range(1..))]
    max_pages_per_listing: u64,

    /// Stop the sync when the connector returns more objects (resources, entitlements and
    /// grants) than this
    #[arg(long, env = "BATON_MAX_OBJECTS", value_name = "OBJECTS",
          default_value_t = RunPolicy::default().max_objects,
          value_parser = clap::value_parser!(u64).range(1..))]
    max_objects: u64,

    /// Stop the sync when the database inside the c1z being written would grow past this
    /// size (bytes, or with KiB, MiB, GiB, TiB; at least 1MiB)
    #[arg(long, env = "BATON_MAX_DATABASE_SIZE", value_name = "SIZE",
          default_value_t = size::ByteSize(RunPolicy::default().max_database_bytes),
          value_parser = size::at_least(1 << 20))]
    max_database_size: size::ByteSize,

    /// Upper bound in seconds for each call into the connector component (a
    /// page of a listing, a provisioning action), its waits on HTTP included
    #[arg(long, env = "BATON_CALL_TIMEOUT_SECONDS",
          default_value_t = RunPolicy::default().call_timeout.as_secs(),
          value_parser = clap::value_parser!(u64).range(1..))]
    call_timeout_seconds: u64,

    /// Upper bound in seconds for the whole run of the connector component
    #[arg(long, env = "BATON_RUN_TIMEOUT_SECONDS",
          default_value_t = RunPolicy::default().run_timeout.as_secs(),
          value_parser = clap::value_parser!(u64).range(1..))]
    run_timeout_seconds: u64,

    /// Finished full syncs the c1z keeps, the new one included; older ones are dropped
    /// once the new sync succeeds
    #[arg(long, env = "BATON_KEEP_SYNC_COUNT", value_name = "COUNT",
          default_value_t = History::DEFAULT_KEEP as u64,
          value_parser = clap::value_parser!(u64).range(1..=100_000))]
    keep_sync_count: u64,

    /// Keep every earlier sync in the c1z (overrides --keep-sync-count)
    #[arg(long, env = "BATON_SKIP_CLEANUP")]
    skip_cleanup: bool,

    /// Start a new history: replace the c1z with this sync alone, even one that cannot
    /// be read
    #[arg(long, env = "BATON_FRESH_HISTORY")]
    fresh_history: bool,

    /// Start a new sync even when the c1z holds an unfinished one that this run would
    /// resume (the unfinished one is dropped)
    #[arg(long, env = "BATON_FRESH_SYNC")]
    fresh_sync: bool,

    #[command(flatten)]
    provisioning: ProvisioningArgs,

    #[command(flatten)]
    modes: ModeArgs,

    #[command(flatten)]
    otel: OtelArgs,
}

/// `--rate-limit`: a finite number of requests per second, 0 or more.
fn per_second(raw: &str) -> Result<f64, String> {
    match raw.trim().parse::<f64>() {
        Ok(rate) if rate.is_finite() && rate >= 0.0 => Ok(rate),
        _ => Err(format!(
            "`{raw}` is not a rate of 0 or more requests per second"
        )),
    }
}

/// Entry point of the `baton-notion` binary.
pub fn main() -> ExitCode {
    super::exit_cleanly_on_signal();
    let result = run(std::env::args_os().collect());
    let code = match (result, super::stopped_by_signal()) {
        (result, Some(code)) => {
            // A signal stopped the listing: one line says what the file now is.
            match result {
                Ok(()) => tracing::warn!(
                    "interrupted after the sync finished; the new c1z file was written"
                ),
                Err(e) => match e.downcast_ref::<SyncError>() {
                    Some(SyncError::Stopped { at, saved, .. }) => tracing::warn!(
                        sync_id = %saved.sync_id,
                        "interrupted in {at}; the progress is saved in {}, and the next sync \
                         into it resumes there",
                        saved.path.display()
                    ),
                    _ => tracing::warn!("interrupted; the c1z file was not changed"),
                },
            }
            ExitCode::from(code)
        }
        (Ok(()), None) => ExitCode::SUCCESS,
        (Err(e), None) => {
            logging::report_error(&e);
            ExitCode::FAILURE
        }
    };
    crate::c1z::claim_exit();
    code
}

fn run(args: Vec<OsString>) -> anyhow::Result<()> {
    let config_file = ConfigFile::load()?;
    let sources = FlagSources::new(&args, config_file.as_ref());
    let mut runtime = Runtime::new()?;
    if let Some(cache) = ComponentCache::default_location() {
        runtime = runtime.with_cache(cache);
    }
    let component = load_component(&runtime, component_path(&sources))?;
    let metadata = component.instantiate(RunPolicy::default())?.metadata()?;

    let mut cmd = command(&metadata);
    if let Some(file) = &config_file {
        cmd = config_file::apply(cmd, &file.pairs, &file.path)?;
    }
    let matches = cmd.clone().try_get_matches_from(&args);
    let matches = match matches {
        Ok(m) => m,
        Err(e) if e.use_stderr() => bail!("{}", one_line(&e, &sources, &cmd)),
        Err(e) => {
            // --help and --version
            e.print()?;
            return Ok(());
        }
    };
    match matches.subcommand() {
        Some(("capabilities", _)) => {
            // Baton's protojson has no place for it, so the operator reads it on stderr.
            if !metadata.read_only_posts.is_empty() {
                eprintln!(
                    "note: the connector declares these POST paths read-only (allowed where \
                     writes are refused): {}",
                    metadata.read_only_posts.join(", ")
                );
            }
            return print_json(&schema::capabilities(&metadata));
        }
        Some(("config", _)) => return print_json(&schema::config(&metadata)),
        Some(("health-check", sub)) => {
            return health::check(&HealthCheckArgs::from_arg_matches(sub)?)
        }
        Some(("completion", sub)) => {
            let shell = *sub.get_one::<Shell>("shell").expect("required by clap");
            clap_complete::generate(
                shell,
                &mut command(&metadata),
                "baton-notion",
                &mut std::io::stdout(),
            );
            return Ok(());
        }
        _ => {}
    }
    let host = HostArgs::from_arg_matches(&matches)?;
    let log_format = logging::init(&host.log_level, host.log_format)?;
    host.modes.check(&metadata.display_name)?;
    let action = host.provisioning.request()?;
    let resolves_ids = matches!(
        action,
        Some(
            provision::ProvisionRequest::Grant { .. } | provision::ProvisionRequest::Revoke { .. }
        )
    );
    check_paths(&host, resolves_ids, &|long| flag_name(&sources, &cmd, long))?;

    let config = config_values(&metadata, &matches);
    // The component would refuse it too, but naming the field, not the flag.
    for field in metadata.config_fields.iter().filter(|f| f.required) {
        if config
            .iter()
            .any(|v| v.name == field.name && v.value.trim().is_empty())
        {
            bail!(
                "{}: must not be empty",
                flag_name(&sources, &cmd, &field.name)
            );
        }
    }
    let policy = RunPolicy {
        egress: egress_policy(&metadata, &config)?,
        request_timeout: Duration::from_secs(host.http_timeout_seconds),
        max_attempts: host.max_attempts,
        rate_limit: RateLimiter::new(host.rate_limit, host.rate_limit_burst),
        pass_secrets_to_component: host.pass_secrets_to_component,
        max_pages_per_listing: host.max_pages_per_listing,
        max_objects: host.max_objects,
        max_database_bytes: host.max_database_size.0,
        call_timeout: Duration::from_secs(host.call_timeout_seconds),
        run_timeout: Duration::from_secs(host.run_timeout_seconds),
        ..Default::default()
    };
    if let Some(request) = &action {
        let run = OneShot {
            component: &component,
            metadata: &metadata,
            config: &config,
            file: &host.file,
            flags: host.provisioning.action_flags(),
        };
        let dry_run = host.provisioning.dry_run;
        let report = run.provision(request, RunPolicy { dry_run, ..policy });
        match log_format {
            LogFormat::Json => println!("{}", report.to_json()),
            // A refusal is the error line below; a person needs it once.
            LogFormat::Console if report.result.is_ok() => println!("{}", report.to_text()),
            LogFormat::Console => {}
        }
        return match report.result {
            Ok(_) => Ok(()),
            Err(e) => Err(anyhow::anyhow!("{e}")),
        };
    }
    let mut instance = component.instantiate(policy)?;
    // From here until the last call into the connector, a signal stops the run gracefully.
    super::stop_listing_on_signal(Some(instance.canceller()));
    instance.configure(&metadata, &config)?;
    instance.validate()?;

    if host.modes.skip_full_sync {
        tracing::info!("the configuration is valid; --skip-full-sync is set, so no sync was run");
        return Ok(());
    }

    tracing::info!(file = %host.file.display(), connector = %metadata.name, "starting sync");
    // --otel-collector-endpoint: the trace is exported after the sync, whatever its outcome.
    // SyncRun has one observer slot; other page consumers go in this closure too.
    let mut trace = host.otel.start(&metadata, &config, &host.file);
    let mut progress = SyncProgress::on_terminal(Some(host.rate_limit));
    let mut observe = |event: &PageEvent<'_>| {
        trace.observe(event);
        if let Some(p) = progress.as_mut() {
            p.observe(event);
        }
    };
    let history = History {
        keep: (!host.skip_cleanup).then_some(host.keep_sync_count as usize),
        fresh: host.fresh_history,
    };
    let mut sync = match SyncRun::with_history(&mut instance, &metadata, &host.file, &history) {
        Ok(sync) if host.fresh_sync => sync.without_resume().with_observer(&mut observe),
        Ok(sync) => sync.with_observer(&mut observe),
        Err(e) => {
            trace.end(Err(&e));
            return Err(e.into());
        }
    };
    if let Some(path) = &host.external_resource_c1z {
        let filter = host.external_resource_entitlement_id_filter.clone();
        sync = sync.with_external(ExternalResources::new(path, filter));
    }
    let listed = sync.list();
    super::stop_listing_on_signal(None);
    let result = listed.and_then(|listed| listed.finish());
    let on_terminal = progress.is_some();
    if let Some(p) = progress {
        p.finish();
    }
    trace.end(result.as_ref());
    // Each repeated warning was logged once as it came; here is the count.
    for summary in instance.repeated_warnings() {
        tracing::warn!(
            count = summary.count,
            examples = %summary.examples.join(","),
            "{summary}"
        );
    }
    let report = match result {
        Ok(report) => report,
        // It says itself what the file now holds.
        Err(e @ SyncError::Stopped { .. }) => return Err(e.into()),
        Err(e) => {
            return Err(anyhow::Error::new(e).context(format!(
                "sync failed; {} was not changed",
                host.file.display()
            )))
        }
    };

    let counts = &report.summary.counts;
    let size = std::fs::metadata(&report.summary.path).map_or(0, |m| m.len());
    if on_terminal {
        let run = RunFigures {
            requests: instance.requests_sent(),
            retries: instance.requests_retried(),
            elapsed: report.elapsed,
            size,
        };
        eprintln!("{}", super::progress::summary_table(&report, &run));
    }
    tracing::info!(
        file = %report.summary.path.display(),
        size_bytes = size,
        retries = instance.requests_retried(),
        pages = report.per_type.iter().map(|(_, s)| s.pages).sum::<u64>(),
        sync_id = %report.summary.sync_id,
        resources = counts.resources,
        entitlements = counts.entitlements,
        grants = counts.grants,
        duplicates = counts.duplicates,
        external_overlaps = counts.external_overlaps,
        requests = instance.requests_sent(),
        elapsed_ms = report.elapsed.as_millis() as u64,
        "sync finished"
    );
    // Objects the sync shares with --external-resource-c1z are `external_overlaps`, which
    // the import reports itself: only the connector's own repeats hint at lost objects.
    if counts.duplicates > 0 {
        tracing::warn!(
            duplicates = counts.duplicates,
            "the connector returned {} objects more than once (the server's page order \
             shifted during the sync); the c1z keeps the first copy of each, and objects \
             may have been missed",
            counts.duplicates
        );
    }
    Ok(())
}

/// What a one-shot provisioning run needs.
struct OneShot<'a> {
    component: &'a ConnectorComponent,
    metadata: &'a ConnectorMetadata,
    config: &'a [ConfigValue],
    file: &'a std::path::Path,
    /// The action flags given, to name them when the connector refuses.
    flags: String,
}

impl OneShot<'_> {
    /// Resolves, validates and runs one provisioning request. Ids and
    /// profiles are checked before anything is sent upstream; a refusal at
    /// any step is the report's error, so a dry run refuses exactly as the
    /// real run would.
    fn provision(
        &self,
        request: &provision::ProvisionRequest,
        policy: RunPolicy,
    ) -> ProvisionReport {
        let mut report = ProvisionReport {
            operation: request.operation(),
            dry_run: policy.dry_run,
            result: Err(String::new()),
            writes: Vec::new(),
            requests: 0,
        };
        let mut instance = None;
        let result = (|| -> anyhow::Result<provision::ProvisionOutcome> {
            let action = provision::prepare(self.metadata, request, self.file)?;
            let instance = instance.insert(self.component.instantiate(policy)?);
            instance.configure(self.metadata, self.config)?;
            instance.validate()?;
            provision::execute(instance, &action).with_context(|| self.flags.clone())
        })();
        if let Some(instance) = &instance {
            report.writes = instance.writes();
            report.requests = instance.requests_sent();
        }
        report.result = result.map_err(|e| logging::cause_chain(e.as_ref()));
        report
    }
}

/// Prints protojson the way Baton's connectors do: two-space indented.
fn print_json(value: &serde_json::Value) -> anyhow::Result<()> {
    println!("{}", serde_json::to_string_pretty(value)?);
    Ok(())
}

/// `--long`, and where its value came from when not the command line.
fn flag_name(sources: &FlagSources<'_>, cmd: &Command, long: &str) -> String {
    flag_source::label(long, sources.origin(cmd, long))
}

/// Paths that cannot work are refused before anything is sent upstream,
/// with the flag named: the sync would otherwise fail only at its end.
fn check_paths(
    host: &HostArgs,
    resolves_ids: bool,
    flag: &dyn Fn(&str) -> String,
) -> anyhow::Result<()> {
    let file = &host.file;
    if resolves_ids {
        if !file.is_file() {
            bail!(
                "{} {}: no c1z file there; provisioning resolves ids in a synced c1z, so sync into it first",
                flag("file"),
                file.display()
            );
        }
    } else {
        if file.is_dir() {
            bail!(
                "{} {}: is a folder, not a c1z file",
                flag("file"),
                file.display()
            );
        }
        let folder = match file.parent() {
            Some(p) if !p.as_os_str().is_empty() => p,
            _ => std::path::Path::new("."),
        };
        if !folder.is_dir() {
            bail!(
                "{} {}: the folder {} does not exist",
                flag("file"),
                file.display(),
                folder.display()
            );
        }
    }
    if let Some(external) = &host.external_resource_c1z {
        if !external.is_file() {
            bail!(
                "{} {}: no such file",
                flag("external-resource-c1z"),
                external.display()
            );
        }
    }
    Ok(())
}

/// clap's usage errors span several lines; the CLI promises one. A bad value
/// that came from an environment variable or the config file says so.
fn one_line(e: &clap::Error, sources: &FlagSources<'_>, cmd: &Command) -> String {
    let rendered = e.render().to_string();
    let text: Vec<&str> = rendered
        .lines()
        .take_while(|l| !l.starts_with("Usage:"))
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with("For more information"))
        .collect();
    let mut text = text.join(" ");
    if let Some(long) = flag_source::flag_of(e) {
        if let Some(origin) = sources.origin(cmd, &long) {
            // After the quoted `'--flag <VALUE>'` clap names, else at the end.
            let quoted = format!("'--{long}");
            text = match text.find(&quoted).and_then(|at| {
                let close = text[at + 1..].find('\'')?;
                Some(at + 1 + close + 1)
            }) {
                Some(end) => format!("{} (set by {origin}){}", &text[..end], &text[end..]),
                None => format!("{text} (set by {origin})"),
            };
        }
    }
    let text = text.strip_prefix("error: ").unwrap_or(&text);
    format!("{text} (see --help)")
}

/// `--component` is needed before the full command line can be parsed,
/// because the component's metadata defines the rest of the flags.
fn component_path(sources: &FlagSources<'_>) -> Option<(PathBuf, String)> {
    let (path, flag) = sources.early("component", "BATON_COMPONENT")?;
    Some((path.into(), flag))
}

fn load_component(
    runtime: &Runtime,
    path: Option<(PathBuf, String)>,
) -> anyhow::Result<ConnectorComponent> {
    match path {
        None => Ok(runtime.load(NOTION_COMPONENT)?),
        Some((path, flag)) => {
            let bytes = std::fs::read(&path)
                .with_context(|| format!("{flag} {}: cannot read it", path.display()))?;
            runtime
                .load(&bytes)
                .with_context(|| format!("{flag} {}: cannot load it", path.display()))
        }
    }
}

/// The whole command line: host flags plus one flag per config field.
pub(crate) fn command(metadata: &ConnectorMetadata) -> Command {
    let about = format!(
        "{} connector for Baton: {}",
        metadata.display_name, metadata.description
    );
    let version = format!(
        "{} (component {} {}, contract baton:connector@{})",
        env!("CARGO_PKG_VERSION"),
        metadata.name,
        metadata.version,
        CONTRACT_VERSION
    );
    let mut cmd = HostArgs::augment_args(
        Command::new("baton-notion")
            .version(version)
            .disable_version_flag(true)
            .arg(
                Arg::new("version")
                    .short('v')
                    .long("version")
                    .action(ArgAction::Version)
                    .help("Print version"),
            ),
    )
    .about(about)
    // Subcommands need no connector configuration.
    .subcommand_negates_reqs(true)
    .args_conflicts_with_subcommands(false)
    .subcommand(Command::new("capabilities").about("Get connector capabilities"))
    .subcommand(Command::new("config").about("Get the connector config schema"))
    .subcommand(
        HealthCheckArgs::augment_args(Command::new("health-check"))
            .about("Check the health of a running connector"),
    )
    .subcommand(
        Command::new("completion")
            .about("Generate the autocompletion script for the specified shell")
            .arg(
                Arg::new("shell")
                    .required(true)
                    .value_parser(clap::value_parser!(Shell)),
            ),
    );
    for field in &metadata.config_fields {
        let env = format!("BATON_{}", field.name.to_uppercase().replace('-', "_"));
        let mut arg = Arg::new(field.name.clone())
            .long(field.name.clone())
            .env(env)
            .value_name(field.name.to_uppercase().replace('-', "_"))
            .help_heading("Connector")
            .help(field.description.clone())
            .hide(field.hidden)
            .hide_env_values(field.secret)
            .required(field.required && field.default_value.is_none());
        if let Some(default) = &field.default_value {
            arg = arg.default_value(default.clone());
        }
        cmd = cmd.arg(arg);
    }
    cmd
}

fn config_values(metadata: &ConnectorMetadata, matches: &ArgMatches) -> Vec<ConfigValue> {
    metadata
        .config_fields
        .iter()
        .filter_map(|f| {
            matches.get_one::<String>(&f.name).map(|v| ConfigValue {
                name: f.name.clone(),
                value: v.clone(),
            })
        })
        .collect()
}

/// The guest may reach only the origins of the config fields that the
/// metadata marks as egress origins (the base URL).
fn egress_policy(
    metadata: &ConnectorMetadata,
    config: &[ConfigValue],
) -> anyhow::Result<EgressPolicy> {
    let mut allowed = Vec::new();
    for field in metadata.config_fields.iter().filter(|f| f.egress_origin) {
        if let Some(value) = config.iter().find(|v| v.name == field.name) {
            let origin = Origin::of_url(&value.value)
                .map_err(|e| anyhow::anyhow!("--{}: {e}", field.name))?;
            allowed.push(origin);
        }
    }
    Ok(EgressPolicy { allowed })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn log_level_is_checked_while_parsing_in_any_case() {
        let metadata = crate::bindings::types::ConnectorMetadata::empty("t");
        let parse =
            |level: &str| command(&metadata).try_get_matches_from(["t", "--log-level", level]);
        assert!(parse("WARN").is_ok());
        let e = parse("loud").unwrap_err();
        let args: Vec<OsString> = ["t", "--log-level", "loud"].map(OsString::from).to_vec();
        let line = one_line(&e, &FlagSources::new(&args, None), &command(&metadata));
        assert!(
            line.contains("--log-level")
                && line.contains("loud")
                && line.contains("debug, info, warn, error"),
            "{line}"
        );
        assert!(!line.contains('\n'), "{line}");
    }
}
