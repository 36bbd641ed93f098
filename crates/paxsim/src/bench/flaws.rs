//! The flaws section: for each deliberate flaw, seeds and seconds until the
//! invariant that should catch it does, from several start points.

use std::time::{Duration, Instant};

use serde_json::{Value, json};

use paxos::Flaw;
use sim::{Invariant, Pins, Verdict};

use super::throughput::run_seed;
use super::{SectionReport, median_of_options};

/// Flaw searches start this far apart, so their seed ranges never overlap.
const FLAW_START_SPACING_SEEDS: u64 = 1_000_000;

/// One search from one start point.
struct FlawSearch {
    seed_start: u64,
    /// Seeds run up to and including the first that caught the flaw.
    seeds: Option<u64>,
    elapsed: Duration,
    /// Seeds that failed some other way first (another invariant, a panic).
    other_failures: u64,
}

/// Run seeds from `seed_start` on this thread until the run fails with the
/// invariant that catches `flaw`, or `seeds_max` seeds pass without.
fn search_flaw(flaw: Flaw, seed_start: u64, seeds_max: u64) -> FlawSearch {
    let pins = Pins {
        flaws: Invariant::shown_with(flaw),
        ..Pins::default()
    };
    let expected = Invariant::catching(flaw);
    let started = Instant::now();
    let mut other_failures = 0;
    for index in 0..seeds_max {
        let caught = match run_seed(seed_start + index, &pins, true) {
            Ok(None) => false,
            Ok(Some(report)) => match &report.verdict {
                Verdict::Pass => false,
                Verdict::Violation(violation) if violation.invariant == expected => true,
                _ => {
                    other_failures += 1;
                    false
                }
            },
            Err(_) => {
                other_failures += 1;
                false
            }
        };
        if caught {
            return FlawSearch {
                seed_start,
                seeds: Some(index + 1),
                elapsed: started.elapsed(),
                other_failures,
            };
        }
    }
    FlawSearch {
        seed_start,
        seeds: None,
        elapsed: started.elapsed(),
        other_failures,
    }
}

pub(super) fn run(starts: u64, seeds_max: u64) -> SectionReport {
    let mut results = Vec::new();
    let mut table = Vec::new();
    let mut found_from_first_start = 0;
    for &flaw in Flaw::ALL {
        let searches: Vec<FlawSearch> = (0..starts)
            .map(|start| search_flaw(flaw, start * FLAW_START_SPACING_SEEDS, seeds_max))
            .collect();
        let first = &searches[0];
        found_from_first_start += u64::from(first.seeds.is_some());
        let median_seeds = median_found(searches.iter().map(|search| {
            search
                .seeds
                .map(|seeds| (seeds as f64, search.elapsed.as_secs_f64()))
        }));
        let describe =
            |seeds: Option<u64>| seeds.map_or(format!(">{seeds_max}"), |n| n.to_string());
        eprintln!(
            "bench: flaw {}: caught by {} after {} seeds from seed 0",
            flaw.name(),
            Invariant::catching(flaw).name(),
            describe(first.seeds)
        );
        table.push(format!(
            "flaw {:<28} {:>6} seeds {:>8.3}s  (median {} seeds)",
            flaw.name(),
            describe(first.seeds),
            first.elapsed.as_secs_f64(),
            median_seeds.map_or(format!(">{seeds_max}"), |(seeds, _)| format!("{seeds}")),
        ));
        results.push(flaw_json(flaw, &searches, median_seeds));
    }
    let value = json!({
        "starts": starts,
        "start_spacing_seeds": FLAW_START_SPACING_SEEDS,
        "seeds_max_per_start": seeds_max,
        "found_from_first_start": found_from_first_start,
        "flaws_total": Flaw::ALL.len(),
        "results": results,
    });
    SectionReport {
        value,
        targets: Vec::new(),
        table,
    }
}

fn flaw_json(flaw: Flaw, searches: &[FlawSearch], median: Option<(f64, f64)>) -> Value {
    let first = &searches[0];
    let per_start: Vec<Value> = searches
        .iter()
        .map(|search| {
            json!({
                "seed_start": search.seed_start,
                "found": search.seeds.is_some(),
                "seeds": search.seeds,
                "elapsed_s": search.elapsed.as_secs_f64(),
                "other_failures": search.other_failures,
            })
        })
        .collect();
    json!({
        "flaw": flaw.name(),
        "invariant": Invariant::catching(flaw).name(),
        "first_start_found": first.seeds.is_some(),
        "first_start_seeds": first.seeds,
        "first_start_elapsed_s": first.seeds.map(|_| first.elapsed.as_secs_f64()),
        "median_seeds": median.map(|(seeds, _)| seeds),
        "median_elapsed_s": median.map(|(_, seconds)| seconds),
        "found_starts": searches.iter().filter(|search| search.seeds.is_some()).count(),
        "per_start": per_start,
    })
}

/// The median (seeds, seconds) over start points, a search that found
/// nothing counting as longer than any that did: `None` when the median
/// falls on such a search. Seeds and seconds are medians taken separately.
fn median_found(searches: impl Iterator<Item = Option<(f64, f64)>>) -> Option<(f64, f64)> {
    let searches: Vec<Option<(f64, f64)>> = searches.collect();
    let seeds = median_of_options(searches.iter().map(|found| found.map(|(seeds, _)| seeds)))?;
    let seconds = median_of_options(searches.iter().map(|found| found.map(|(_, s)| s)))?;
    Some((seeds, seconds))
}
