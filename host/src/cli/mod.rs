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

use std::sync::atomic::{AtomicI32, Ordering};
use std::sync::Mutex;

use crate::runtime::Canceller;

/// The listing a SIGINT or SIGTERM stops gracefully, while one runs.
static LISTING: Mutex<Option<Canceller>> = Mutex::new(None);
/// The exit code of the first signal that stopped a listing; 0 while none has.
static STOPPED_BY: AtomicI32 = AtomicI32::new(0);

/// While a sync lists (`Some`), the first SIGINT or SIGTERM cancels it instead of exiting,
/// so that its progress can be saved; `None` once the listing ended.
pub(crate) fn stop_listing_on_signal(canceller: Option<Canceller>) {
    *LISTING.lock().unwrap_or_else(|e| e.into_inner()) = canceller;
}

/// The exit code (130 or 143) of a signal that cancelled a listing.
pub(crate) fn stopped_by_signal() -> Option<u8> {
    match STOPPED_BY.load(Ordering::SeqCst) {
        0 => None,
        code => u8::try_from(code).ok(),
    }
}

/// On SIGINT or SIGTERM, removes the c1z store's temp files and exits (130
/// or 143). The target c1z is only ever replaced by an atomic rename, so an
/// interrupted sync leaves the previous file exactly as it was, and this
/// leaves nothing else behind. A signal that comes after the rename (the
/// sync had finished) says so, as the file is then the new one; one that
/// comes after `main` has claimed its exit ([`crate::c1z::claim_exit`]) is
/// ignored, so the exit code and the last log line always agree.
///
/// While a sync lists ([`stop_listing_on_signal`]), the first signal instead cancels the
/// listing, and `main` saves its progress and exits with the signal's code; a second
/// signal exits at once, as above.
pub fn exit_cleanly_on_signal() {
    std::thread::spawn(|| {
        let Ok(rt) = tokio::runtime::Builder::new_current_thread()
            .enable_io()
            .build()
        else {
            return;
        };
        rt.block_on(async {
            use tokio::signal::unix::{signal, SignalKind};
            let Ok(mut term) = signal(SignalKind::terminate()) else {
                return;
            };
            loop {
                let code = tokio::select! {
                    r = tokio::signal::ctrl_c() => match r {
                        Ok(()) => 130,
                        Err(_) => return,
                    },
                    _ = term.recv() => 143,
                };
                let listing = LISTING.lock().unwrap_or_else(|e| e.into_inner()).take();
                if let Some(canceller) = listing {
                    STOPPED_BY.store(code, Ordering::SeqCst);
                    canceller.cancel();
                    continue;
                }
                if crate::c1z::remove_temp_files_before_exit() {
                    tracing::warn!(
                        "interrupted after the sync finished; the new c1z file was written"
                    );
                } else {
                    tracing::warn!("interrupted; the c1z file was not changed");
                }
                std::process::exit(code);
            }
        });
    });
}
