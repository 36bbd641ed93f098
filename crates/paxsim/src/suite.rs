//! `paxsim run`: run scenario and seed-corpus files and check that each
//! entry's outcome is the one it expects.
//!
//! Every entry runs twice and the digests are compared, so a scenario that
//! stopped being deterministic shows as `nondeterministic`. Entries run in
//! parallel; results come out sorted by file, then entry. With `--html DIR`
//! each unmet expectation gets its timeline page there.

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};

use serde_json::json;

use crate::cli::{RunArgs, jobs_or_all_cores};
use crate::error::InputError;
use crate::input::{self, Entry};
use crate::outcome::{self, Outcome, UnfiredFault};

pub fn command(args: RunArgs) -> Result<ExitCode, InputError> {
    let files = input::expand(&args.paths, "scenario or seed-corpus files")?;
    let mut entries = Vec::new();
    let mut errors = Vec::new();
    for file in &files {
        match input::load(file) {
            Ok(loaded) => entries.extend(loaded),
            Err(error) => errors.push(error),
        }
    }
    if !errors.is_empty() {
        let lines: Vec<String> = errors.iter().map(|error| error.0.clone()).collect();
        return Err(InputError(lines.join("\nerror: ")));
    }
    let outcomes = run_all(&entries, jobs_or_all_cores(args.jobs));
    let unmet = entries
        .iter()
        .zip(&outcomes)
        .filter(|(entry, outcome)| !met(entry, outcome))
        .count();
    let pages = match &args.html {
        Some(dir) => write_pages(dir, &entries, &outcomes)?,
        None => vec![None; entries.len()],
    };
    if args.json {
        print_json(&entries, &outcomes, &pages);
    } else {
        print_table(&entries, &outcomes, unmet);
        for page in pages.iter().flatten() {
            println!("wrote the timeline page {}", page.display());
        }
    }
    Ok(if unmet == 0 {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}

/// The expected outcome, with every expected probe reached and every
/// explicit fault fired (but those marked optional).
fn met(entry: &Entry, outcome: &Outcome) -> bool {
    entry.expect.0 == outcome.actual()
        && missed_probes(entry, outcome).is_empty()
        && outcome.required_unfired().next().is_none()
}

/// The expected probes the run never hit.
fn missed_probes(entry: &Entry, outcome: &Outcome) -> Vec<&'static str> {
    entry
        .expect_probes
        .iter()
        .copied()
        .filter(|expected| {
            !outcome
                .probes
                .iter()
                .any(|(name, hits)| name == *expected && hits > 0)
        })
        .collect()
}

/// Each entry's outcome, in the entries' order.
fn run_all(entries: &[Entry], jobs: usize) -> Vec<Outcome> {
    let next = AtomicUsize::new(0);
    let results: Mutex<Vec<Option<Outcome>>> = Mutex::new(vec![None; entries.len()]);
    std::thread::scope(|scope| {
        for _ in 0..jobs.min(entries.len()).max(1) {
            scope.spawn(|| {
                loop {
                    let index = next.fetch_add(1, Ordering::SeqCst);
                    let Some(entry) = entries.get(index) else {
                        break;
                    };
                    let outcome = outcome::run(&entry.config, true);
                    results.lock().expect("no worker panics holding the lock")[index] =
                        Some(outcome);
                }
            });
        }
    });
    results
        .into_inner()
        .expect("no worker panics holding the lock")
        .into_iter()
        .map(|outcome| outcome.expect("every entry ran"))
        .collect()
}

fn print_table(entries: &[Entry], outcomes: &[Outcome], unmet: usize) {
    let file_width = entries
        .iter()
        .map(|entry| entry.file.len())
        .max()
        .unwrap_or(4)
        .max(4);
    let name_width = entries
        .iter()
        .map(|entry| entry.name.len())
        .max()
        .unwrap_or(4)
        .max(4);
    println!(
        "{:<file_width$}  {:<name_width$}  {:<24}  {:<24}  ok",
        "file", "name", "expected", "actual"
    );
    for (entry, outcome) in entries.iter().zip(outcomes) {
        let ok = if met(entry, outcome) { "ok" } else { "FAIL" };
        println!(
            "{:<file_width$}  {:<name_width$}  {:<24}  {:<24}  {ok}",
            entry.file,
            entry.name,
            entry.expect.0,
            outcome.actual()
        );
    }
    for (entry, outcome) in entries.iter().zip(outcomes) {
        if met(entry, outcome) {
            continue;
        }
        println!();
        if entry.expect.0 == outcome.actual() {
            for fault in outcome.required_unfired() {
                println!(
                    "{} ({}): expected {}, but fault {}; mark it \"optional\": true if it \
                     need not fire",
                    entry.file,
                    entry.name,
                    entry.expect.0,
                    fault.describe()
                );
            }
            if !missed_probes(entry, outcome).is_empty() {
                println!(
                    "{} ({}): {} as expected, but:",
                    entry.file,
                    entry.name,
                    outcome.actual()
                );
            }
        } else {
            println!(
                "{} ({}): expected {}, got {}",
                entry.file,
                entry.name,
                entry.expect.0,
                outcome.actual()
            );
        }
        if let Some(finding) = &outcome.finding {
            println!("  {}", finding.headline());
        }
        if let Some(difference) = &outcome.nondeterminism {
            println!("  {difference}");
        }
        let missed = missed_probes(entry, outcome);
        if !missed.is_empty() {
            println!(
                "  never reached the expected probes: {} (did the scenario's fault land?)",
                missed.join(", ")
            );
        }
    }
    println!();
    println!(
        "{} entries, {} as expected, {unmet} unmet",
        entries.len(),
        entries.len() - unmet
    );
}

/// `--html DIR`: the timeline page of every unmet expectation (but a
/// panic's, which leaves no timeline), per entry.
fn write_pages(
    dir: &Path,
    entries: &[Entry],
    outcomes: &[Outcome],
) -> Result<Vec<Option<PathBuf>>, InputError> {
    std::fs::create_dir_all(dir)
        .map_err(|error| InputError(format!("--html {}: {error}", dir.display())))?;
    let mut pages = Vec::with_capacity(entries.len());
    let mut taken = Vec::new();
    for (entry, outcome) in entries.iter().zip(outcomes) {
        if met(entry, outcome) || outcome.label == outcome::PANIC {
            pages.push(None);
            continue;
        }
        let path = crate::pages::path_in(dir, &entry.name, &taken);
        let title = format!(
            "{} ({}): expected {}, got {}",
            entry.name,
            entry.file,
            entry.expect.0,
            outcome.actual()
        );
        crate::pages::write_run(&path, &entry.config, &title, &entry.replay).map_err(InputError)?;
        taken.push(path.clone());
        pages.push(Some(path));
    }
    Ok(pages)
}

fn print_json(entries: &[Entry], outcomes: &[Outcome], pages: &[Option<PathBuf>]) {
    let results: Vec<serde_json::Value> = entries
        .iter()
        .zip(outcomes)
        .zip(pages)
        .map(|((entry, outcome), page)| {
            json!({
                "file": entry.file,
                "name": entry.name,
                "expected": entry.expect.0,
                "actual": outcome.actual(),
                "ok": met(entry, outcome),
                "missed_probes": missed_probes(entry, outcome),
                "unfired_faults": outcome
                    .unfired_faults
                    .iter()
                    .map(UnfiredFault::to_json)
                    .collect::<Vec<_>>(),
                "events": outcome.events,
                "digest": outcome.digest.map(|digest| format!("{digest:#018x}")),
                "message": outcome.finding.as_ref().map(|finding| finding.message.clone()),
                "page": page,
            })
        })
        .collect();
    println!("{}", json!({ "results": results }));
}
