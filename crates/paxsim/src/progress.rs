//! Campaign progress on stderr: a progress bar on a terminal, otherwise a
//! plain line every few seconds (CI logs, pipes). Either says what is
//! running: seeds, or the seeds being shrunk; and once a signal has
//! stopped the campaign, that it is finishing what is in flight.

use std::io::IsTerminal;
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use crate::interrupt::Interrupt;

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
    /// The seeds whose failure is being shrunk now, at most one per worker.
    shrinking: Mutex<Vec<u64>>,
}

impl Counters {
    pub fn seed_done(&self, events: u64, failed: bool) {
        self.seeds.fetch_add(1, Ordering::Relaxed);
        self.events.fetch_add(events, Ordering::Relaxed);
        if failed {
            self.failures.fetch_add(1, Ordering::Relaxed);
        }
    }

    pub fn shrink_started(&self, seed: u64) {
        self.shrinking_seeds().push(seed);
    }

    pub fn shrink_ended(&self, seed: u64) {
        self.shrinking_seeds()
            .retain(|shrinking| *shrinking != seed);
    }

    fn shrinking_seeds(&self) -> std::sync::MutexGuard<'_, Vec<u64>> {
        // A worker never panics holding the lock; if one did, the list is
        // still a list of seeds.
        self.shrinking
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// What is running besides seeds: `shrinking seed 17`, or nothing.
    fn activity(&self) -> String {
        let mut seeds = self.shrinking_seeds().clone();
        seeds.sort_unstable();
        match seeds.as_slice() {
            [] => String::new(),
            [seed] => format!("shrinking seed {seed}"),
            seeds => {
                let list: Vec<String> = seeds.iter().map(u64::to_string).collect();
                format!("shrinking seeds {}", list.join(", "))
            }
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
/// seeds, when bounded. With `interrupt`, say once when a signal arrives.
pub fn show(
    counters: &Counters,
    total: Option<u64>,
    finished: &AtomicBool,
    interrupt: Option<&Interrupt>,
) {
    let started = Instant::now();
    let mut announce = Announcer {
        interrupt,
        done: false,
    };
    if std::io::stderr().is_terminal() {
        show_bar(counters, total, finished, started, &mut announce);
    } else {
        show_lines(counters, total, finished, started, &mut announce);
    }
}

/// Says once, on stderr, that a signal stopped the campaign.
struct Announcer<'a> {
    interrupt: Option<&'a Interrupt>,
    done: bool,
}

impl Announcer<'_> {
    /// The line to print, the first time a signal is seen.
    fn poll(&mut self) -> Option<String> {
        let signal = self.interrupt?.signal()?;
        if std::mem::replace(&mut self.done, true) {
            return None;
        }
        Some(format!(
            "{}: handing out no more seeds; finishing the seeds in flight and abandoning \
             any shrink (send it again to exit now)",
            signal.name()
        ))
    }
}

fn show_bar(
    counters: &Counters,
    total: Option<u64>,
    finished: &AtomicBool,
    started: Instant,
    announce: &mut Announcer,
) {
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
        if let Some(line) = announce.poll() {
            bar.println(line);
        }
        let (seeds, events, failures) = counters.read();
        bar.set_position(seeds);
        bar.set_message(message(counters, events, failures, started));
        std::thread::sleep(POLL_INTERVAL);
    }
    bar.finish_and_clear();
}

fn show_lines(
    counters: &Counters,
    total: Option<u64>,
    finished: &AtomicBool,
    started: Instant,
    announce: &mut Announcer,
) {
    let mut last_line = Instant::now();
    while !finished.load(Ordering::SeqCst) {
        std::thread::sleep(POLL_INTERVAL);
        if let Some(line) = announce.poll() {
            eprintln!("fuzz: {line}");
        }
        if last_line.elapsed() < PLAIN_INTERVAL {
            continue;
        }
        last_line = Instant::now();
        let (seeds, events, failures) = counters.read();
        let of_total = total.map(|total| format!("/{total}")).unwrap_or_default();
        eprintln!(
            "fuzz: {seeds}{of_total} seeds, {}, {:.0}s elapsed",
            message(counters, events, failures, started),
            started.elapsed().as_secs_f64()
        );
    }
}

/// The rates, and what runs besides seeds.
fn message(counters: &Counters, events: u64, failures: u64, started: Instant) -> String {
    let rates = rate_message(events, failures, started);
    match counters.activity() {
        activity if activity.is_empty() => rates,
        activity => format!("{activity}, {rates}"),
    }
}

fn rate_message(events: u64, failures: u64, started: Instant) -> String {
    let seconds = started.elapsed().as_secs_f64().max(1e-3);
    format!(
        "{:.2}M events/s, {failures} failures",
        events as f64 / seconds / 1e6
    )
}
