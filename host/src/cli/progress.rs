//! Live progress of a sync on a terminal: one line per resource type with
//! pages, items and rate. Off a terminal nothing is drawn; the engine's
//! per-type log lines and the final summary say the same once.

use std::collections::HashMap;
use std::io::IsTerminal;
use std::time::Instant;

use indicatif::{MultiProgress, ProgressBar, ProgressDrawTarget, ProgressStyle};

use crate::sync::PageEvent;

/// Progress lines for one sync.
pub struct SyncProgress {
    multi: MultiProgress,
    lines: HashMap<String, (ProgressBar, Instant)>,
}

impl SyncProgress {
    /// Draws on stderr when it is a terminal; `None` otherwise.
    pub fn on_terminal() -> Option<SyncProgress> {
        std::io::stderr().is_terminal().then(|| SyncProgress {
            multi: MultiProgress::with_draw_target(ProgressDrawTarget::stderr()),
            lines: HashMap::new(),
        })
    }

    /// Updates the line of the event's resource type.
    pub fn observe(&mut self, event: &PageEvent<'_>) {
        let multi = &self.multi;
        let (bar, started) = self
            .lines
            .entry(event.resource_type.to_string())
            .or_insert_with(|| {
                let bar = multi.add(ProgressBar::new_spinner());
                bar.set_style(
                    ProgressStyle::with_template("{spinner} {prefix:>12} {msg}")
                        .expect("valid template"),
                );
                bar.set_prefix(event.resource_type.to_string());
                (bar, Instant::now())
            });
        let t = event.totals;
        let items = t.resources + t.entitlements + t.grants;
        let secs = started.elapsed().as_secs_f64().max(0.001);
        let duplicates = match t.duplicates {
            0 => String::new(),
            n => format!(", {n} duplicates"),
        };
        bar.set_message(format!(
            "{} pages, {} resources, {} entitlements, {} grants{duplicates} ({:.0} items/s)",
            t.pages,
            t.resources,
            t.entitlements,
            t.grants,
            items as f64 / secs
        ));
        bar.tick();
    }

    /// Leaves the final lines on screen.
    pub fn finish(self) {
        for (bar, _) in self.lines.values() {
            bar.finish();
        }
    }
}
