//! Campaign progress on stderr: a progress bar on a terminal, otherwise a
//! plain line every few seconds (CI logs, pipes).

use std::io::IsTerminal;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

/// How often a plain progress line is printed when stderr is not a terminal.
const PLAIN_INTERVAL: Duration = Duration::from_secs(5);
/// How often the display looks at the counters.
const POLL_INTERVAL: Duration = Duration::from_millis(100);

/// Counters the workers bump and the display reads.
#[derive(Debug, Default)]
pub struct Counters {
    seeds: AtomicU64,
    events: AtomicU64,
    failures: AtomicU64,
}

impl Counters {
    pub fn seed_done(&self, events: u64, failed: bool) {
        self.seeds.fetch_add(1, Ordering::Relaxed);
        self.events.fetch_add(events, Ordering::Relaxed);
        if failed {
            self.failures.fetch_add(1, Ordering::Relaxed);
        }
    }

    fn read(&self) -> (u64, u64, u64) {
        (
            self.seeds.load(Ordering::Relaxed),
            self.events.load(Ordering::Relaxed),
            self.failures.load(Ordering::Relaxed),
        )
    }
}

/// Show progress until `finished` is raised. `total` is the number of
/// seeds, when bounded.
pub fn show(counters: &Counters, total: Option<u64>, finished: &AtomicBool) {
    let started = Instant::now();
    if std::io::stderr().is_terminal() {
        show_bar(counters, total, finished, started);
    } else {
        show_lines(counters, total, finished, started);
    }
}

fn show_bar(counters: &Counters, total: Option<u64>, finished: &AtomicBool, started: Instant) {
    let bar = match total {
        Some(total) => ProgressBar::with_draw_target(Some(total), ProgressDrawTarget::stderr()),
        None => ProgressBar::with_draw_target(None, ProgressDrawTarget::stderr()),
    };
    let template = if total.is_some() {
        "{bar:30} {pos}/{len} seeds  {msg}  ETA {eta}"
    } else {
        "{spinner} {pos} seeds  {msg}  {elapsed}"
    };
    bar.set_style(ProgressStyle::with_template(template).expect("the template is valid"));
    while !finished.load(Ordering::SeqCst) {
        let (seeds, events, failures) = counters.read();
        bar.set_position(seeds);
        bar.set_message(rate_message(events, failures, started));
        std::thread::sleep(POLL_INTERVAL);
    }
    bar.finish_and_clear();
}

fn show_lines(counters: &Counters, total: Option<u64>, finished: &AtomicBool, started: Instant) {
    let mut last_line = Instant::now();
    while !finished.load(Ordering::SeqCst) {
        std::thread::sleep(POLL_INTERVAL);
        if last_line.elapsed() < PLAIN_INTERVAL {
            continue;
        }
        last_line = Instant::now();
        let (seeds, events, failures) = counters.read();
        let of_total = total.map(|total| format!("/{total}")).unwrap_or_default();
        eprintln!(
            "fuzz: {seeds}{of_total} seeds, {}, {:.0}s elapsed",
            rate_message(events, failures, started),
            started.elapsed().as_secs_f64()
        );
    }
}

fn rate_message(events: u64, failures: u64, started: Instant) -> String {
    let seconds = started.elapsed().as_secs_f64().max(1e-3);
    format!(
        "{:.2}M events/s, {failures} failures",
        events as f64 / seconds / 1e6
    )
}
