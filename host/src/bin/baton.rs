//! `baton`: reads Baton `.c1z` sync files (see [`baton_host::cli::reader`]).

fn main() -> std::process::ExitCode {
    baton_host::cli::reader::main()
}
