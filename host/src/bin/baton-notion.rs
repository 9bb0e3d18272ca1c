//! `baton-notion`: syncs a Notion workspace into a Baton c1z file.

fn main() -> std::process::ExitCode {
    baton_host::cli::connector::main()
}
