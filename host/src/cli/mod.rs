//! Command-line front ends. Each binary in `src/bin/` is a thin wrapper around one of these.

mod config_file;
pub mod connector;
mod flag_source;
mod health;
pub mod logging;
mod modes;
mod progress;
mod provisioning;
pub mod reader;
mod schema;
mod size;

/// On SIGINT or SIGTERM, removes the c1z store's temp files and exits (130
/// or 143). The target c1z is only ever replaced by an atomic rename, so an
/// interrupted sync leaves the previous file exactly as it was, and this
/// leaves nothing else behind. A signal that comes after the rename (the
/// sync had finished) says so, as the file is then the new one; one that
/// comes after `main` has claimed its exit ([`crate::c1z::claim_exit`]) is
/// ignored, so the exit code and the last log line always agree.
pub fn exit_cleanly_on_signal() {
    std::thread::spawn(|| {
        let Ok(rt) = tokio::runtime::Builder::new_current_thread()
            .enable_io()
            .build()
        else {
            return;
        };
        let code = rt.block_on(async {
            use tokio::signal::unix::{signal, SignalKind};
            let mut term = signal(SignalKind::terminate()).ok()?;
            tokio::select! {
                r = tokio::signal::ctrl_c() => r.ok().map(|_| 130),
                _ = term.recv() => Some(143),
            }
        });
        if let Some(code) = code {
            if crate::c1z::remove_temp_files_before_exit() {
                tracing::warn!("interrupted after the sync finished; the new c1z file was written");
            } else {
                tracing::warn!("interrupted; the c1z file was not changed");
            }
            std::process::exit(code);
        }
    });
}
