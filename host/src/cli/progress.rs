//! Live progress of a sync on a terminal: one line per resource type. When
//! the connector gives a total (`page.total-estimate`) the line is a bar of
//! resources done out of it, with pages, rate and an ETA that respects the
//! rate limit; without one it is a spinner with counts. Off a terminal
//! nothing is drawn; the engine's per-type log lines and the final summary
//! say the same once. Log lines go above the bars (`logging.rs`).

use std::collections::HashMap;
use std::io::IsTerminal;
use std::time::{Duration, Instant};

use indicatif::{MultiProgress, ProgressBar, ProgressDrawTarget, ProgressStyle};

use super::logging;
use crate::sync::{PageEvent, SyncReport, TypeStats};

/// Progress lines for one sync.
pub struct SyncProgress {
    multi: MultiProgress,
    lines: HashMap<String, Line>,
    /// Requests per second the host allows; bounds the ETA from below.
    rate_limit: Option<f64>,
}

struct Line {
    bar: ProgressBar,
    started: Instant,
    with_total: bool,
}

impl SyncProgress {
    /// Draws on stderr when it is a terminal; `None` otherwise.
    pub fn on_terminal(rate_limit: Option<f64>) -> Option<SyncProgress> {
        if !std::io::stderr().is_terminal() {
            return None;
        }
        let multi = MultiProgress::with_draw_target(ProgressDrawTarget::stderr());
        logging::draw_above(Some(multi.clone()));
        Some(SyncProgress {
            multi,
            lines: HashMap::new(),
            rate_limit: rate_limit.filter(|r| *r > 0.0),
        })
    }

    /// Updates the line of the event's resource type.
    pub fn observe(&mut self, event: &PageEvent<'_>) {
        let multi = &self.multi;
        let line = self
            .lines
            .entry(event.resource_type.to_string())
            .or_insert_with(|| {
                let bar = multi.add(ProgressBar::new_spinner());
                bar.set_style(spinner_style());
                bar.set_prefix(event.resource_type.to_string());
                Line {
                    bar,
                    started: Instant::now(),
                    with_total: false,
                }
            });
        let t = event.totals;
        let elapsed = line.started.elapsed().as_secs_f64().max(0.001);
        match t.total_estimate {
            Some(total) => {
                if !line.with_total {
                    line.bar.set_style(bar_style());
                    line.with_total = true;
                }
                // A total that lies low must not make the bar run backwards or overflow.
                line.bar.set_length(total.max(t.resources));
                line.bar.set_position(t.resources);
                let eta = eta(t, total, elapsed, self.rate_limit);
                line.bar.set_message(format!(
                    "page {} of ~{}, {:.0} resources/s, ETA {}",
                    t.pages,
                    pages_for(t, total),
                    t.resources as f64 / elapsed,
                    short(eta)
                ));
            }
            None => {
                let items = t.resources + t.entitlements + t.grants;
                line.bar.set_message(format!(
                    "{} pages, {} resources, {} entitlements, {} grants{} ({:.0} items/s)",
                    t.pages,
                    t.resources,
                    t.entitlements,
                    t.grants,
                    match t.duplicates {
                        0 => String::new(),
                        n => format!(", {n} duplicates"),
                    },
                    items as f64 / elapsed
                ));
                line.bar.tick();
            }
        }
    }

    /// Leaves the final lines on screen; log lines go straight to stderr again.
    pub fn finish(self) {
        for line in self.lines.values() {
            if line.with_total {
                // The listing is over: the total was whatever was listed.
                let done = line.bar.position();
                line.bar.set_length(done);
                line.bar.set_message("done");
            }
            line.bar.finish();
        }
        logging::draw_above(None);
    }
}

/// Figures of a finished sync run besides the per-type counts.
pub struct RunFigures {
    /// Requests sent upstream, retries included.
    pub requests: u64,
    /// Of those, retries.
    pub retries: u64,
    /// Wall time of the sync.
    pub elapsed: Duration,
    /// Size of the c1z written, in bytes.
    pub size: u64,
}

/// The table a person reads at a glance after a sync on a terminal: one row
/// per resource type, a total, then the run's figures and the file.
pub fn summary_table(report: &SyncReport, run: &RunFigures) -> String {
    let header = [
        "type",
        "resources",
        "entitlements",
        "grants",
        "duplicates",
        "pages",
    ];
    let mut rows: Vec<[String; 6]> = report
        .per_type
        .iter()
        .map(|(name, s)| {
            [
                name.clone(),
                s.resources.to_string(),
                s.entitlements.to_string(),
                s.grants.to_string(),
                s.duplicates.to_string(),
                s.pages.to_string(),
            ]
        })
        .collect();
    let sum = |f: fn(&TypeStats) -> u64| report.per_type.iter().map(|(_, s)| f(s)).sum::<u64>();
    rows.push([
        "total".into(),
        sum(|s| s.resources).to_string(),
        sum(|s| s.entitlements).to_string(),
        sum(|s| s.grants).to_string(),
        sum(|s| s.duplicates).to_string(),
        sum(|s| s.pages).to_string(),
    ]);
    let widths: Vec<usize> = (0..header.len())
        .map(|c| {
            rows.iter()
                .map(|r| r[c].len())
                .chain([header[c].len()])
                .max()
                .unwrap_or(0)
        })
        .collect();
    let line = |cells: &[&str]| {
        cells
            .iter()
            .enumerate()
            .map(|(c, v)| match c {
                0 => format!("{v:<w$}", w = widths[c]),
                _ => format!("{v:>w$}", w = widths[c]),
            })
            .collect::<Vec<_>>()
            .join("  ")
    };
    let mut out = vec![line(&header)];
    for row in &rows {
        out.push(line(&row.iter().map(String::as_str).collect::<Vec<_>>()));
    }
    out.push(format!(
        "{} requests ({} retries) in {:.1} s; wrote {} ({})",
        run.requests,
        run.retries,
        run.elapsed.as_secs_f64(),
        report.summary.path.display(),
        human_size(run.size)
    ));
    out.join("\n")
}

fn human_size(bytes: u64) -> String {
    match bytes {
        0..1024 => format!("{bytes} B"),
        1024..1_048_576 => format!("{:.1} KiB", bytes as f64 / 1024.0),
        _ => format!("{:.1} MiB", bytes as f64 / 1_048_576.0),
    }
}

fn spinner_style() -> ProgressStyle {
    ProgressStyle::with_template("{spinner} {prefix:>12} {msg}").expect("valid template")
}

fn bar_style() -> ProgressStyle {
    ProgressStyle::with_template("  {prefix:>12} [{bar:30}] {pos}/{len} {msg}")
        .expect("valid template")
        .progress_chars("=> ")
}

/// Pages the whole listing takes at the page size seen so far.
fn pages_for(t: &TypeStats, total: u64) -> u64 {
    let per_page = (t.resources / t.pages.max(1)).max(1);
    total.div_ceil(per_page).max(t.pages)
}

/// Time left: the remaining resources at the rate seen so far, but never
/// less than the remaining pages need at the rate limit (one request a page).
fn eta(t: &TypeStats, total: u64, elapsed: f64, rate_limit: Option<f64>) -> Duration {
    let left = total.saturating_sub(t.resources) as f64;
    let seen_rate = t.resources as f64 / elapsed;
    let by_rate = if seen_rate > 0.0 {
        left / seen_rate
    } else {
        0.0
    };
    let pages_left = pages_for(t, total).saturating_sub(t.pages) as f64;
    let by_limit = rate_limit.map_or(0.0, |r| pages_left / r);
    Duration::from_secs_f64(by_rate.max(by_limit))
}

/// `7s`, `3m05s`, `1h02m`.
fn short(d: Duration) -> String {
    let s = d.as_secs();
    match s {
        0..60 => format!("{s}s"),
        60..3600 => format!("{}m{:02}s", s / 60, s % 60),
        _ => format!("{}h{:02}m", s / 3600, (s % 3600) / 60),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn stats(pages: u64, resources: u64) -> TypeStats {
        TypeStats {
            pages,
            resources,
            total_estimate: Some(3000),
            ..Default::default()
        }
    }

    #[test]
    fn the_eta_respects_the_rate_limit() {
        // 9 pages of 100 in 0.1 s: fast, but 21 pages remain at 3 per second.
        let t = stats(9, 900);
        assert_eq!(pages_for(&t, 3000), 30);
        assert_eq!(eta(&t, 3000, 0.1, Some(3.0)), Duration::from_secs(7));
        // Without a limit the rate seen so far decides.
        assert_eq!(eta(&t, 3000, 9.0, None), Duration::from_secs(21));
    }

    #[test]
    fn a_total_that_lies_low_gives_no_negative_eta() {
        let t = stats(40, 4000);
        assert_eq!(eta(&t, 3000, 10.0, Some(3.0)), Duration::ZERO);
        assert_eq!(pages_for(&t, 3000), 40);
        assert_eq!(short(Duration::from_secs(185)), "3m05s");
    }
}
