//! The throughput section: the default swarm campaign over a fixed seed
//! range on the calling thread, with every checker on and then off; the two
//! event rates give the checkers' cost.

use std::time::{Duration, Instant};

use serde_json::{Value, json};

use sim::{Admission, Pins, RunOptions, SimConfig, Verdict};

use super::{SectionReport, Target, finite_or_null, median, rate};
use crate::guarded;

/// The targets, reported against and never asserted.
const TARGET_EVENTS_PER_SEC_CHECKERS_ON: f64 = 2_000_000.0;
const TARGET_CHECKER_COST_FRACTION: f64 = 0.25;

/// Totals of a run of consecutive seeds on the calling thread.
struct SerialRun {
    events: u64,
    /// Seeds that found something (a violation, a limit, a panic); with the
    /// checkers off, a seed that runs to its end is `unchecked`, which is
    /// what that side measures, and is counted there, not here.
    failures: u64,
    /// Seeds that ran to their end with the checkers off: not passes.
    unchecked: u64,
    elapsed: Duration,
}

/// One seed of the default swarm, panics caught; `Ok(None)` when its
/// configuration was refused as expected (quorums that need not intersect).
pub(super) fn run_seed(
    seed: u64,
    pins: &Pins,
    checkers: bool,
) -> Result<Option<sim::RunReport>, String> {
    run_config(SimConfig::draw(seed, pins), checkers)
}

/// One configuration, panics caught; `Ok(None)` when refused as expected.
pub(super) fn run_config(
    config: SimConfig,
    checkers: bool,
) -> Result<Option<sim::RunReport>, String> {
    let options = RunOptions {
        checkers,
        ..RunOptions::default()
    };
    guarded::catch(|| {
        sim::admit(config, options).map(|admission| match admission {
            Admission::Run(simulation) => Some(simulation.run()),
            Admission::Refused { .. } => None,
        })
    })
    .and_then(|result| result)
}

fn run_serial(seeds: u64, checkers: bool) -> SerialRun {
    let pins = Pins::default();
    let started = Instant::now();
    let mut run = SerialRun {
        events: 0,
        failures: 0,
        unchecked: 0,
        elapsed: Duration::ZERO,
    };
    for seed in 0..seeds {
        match run_seed(seed, &pins, checkers) {
            Ok(Some(report)) => {
                run.events += report.events;
                let expected = if checkers {
                    Verdict::Pass
                } else {
                    Verdict::Unchecked
                };
                run.unchecked += u64::from(report.verdict == Verdict::Unchecked);
                run.failures += u64::from(report.verdict != expected);
            }
            Ok(None) => {}
            Err(_) => run.failures += 1,
        }
    }
    run.elapsed = started.elapsed();
    run
}

pub(super) fn run(seeds: u64, repeat: u64) -> SectionReport {
    let mut on = Vec::new();
    let mut off = Vec::new();
    // Interleaved, so that a noisy neighbour slows both sides alike.
    for round in 1..=repeat {
        eprintln!("bench: throughput round {round}/{repeat}: {seeds} seeds, checkers on");
        on.push(run_serial(seeds, true));
        eprintln!("bench: throughput round {round}/{repeat}: {seeds} seeds, checkers off");
        off.push(run_serial(seeds, false));
    }
    let on_rate = median(on.iter().map(|run| rate(run.events, run.elapsed)));
    let off_rate = median(off.iter().map(|run| rate(run.events, run.elapsed)));
    let cost = 1.0 - on_rate / off_rate;
    // Noise on a shared machine only slows a round down, so the fastest
    // rounds give a second, often steadier, view of the cost.
    let cost_best = 1.0 - best_rate(&on) / best_rate(&off);
    let value = json!({
        "seed_start": 0,
        "seeds": seeds,
        "repeat": repeat,
        "threads": 1,
        "checkers_on": serial_json(&on, seeds),
        "checkers_off": serial_json(&off, seeds),
        "checker_cost_fraction": finite_or_null(cost),
        "checker_cost_fraction_best": finite_or_null(cost_best),
    });
    let targets = vec![
        Target {
            name: "events_per_sec_checkers_on",
            comparison: ">=",
            threshold: TARGET_EVENTS_PER_SEC_CHECKERS_ON,
            measured: on_rate,
            unit: "events/s",
        },
        Target {
            name: "checker_cost_fraction",
            comparison: "<=",
            threshold: TARGET_CHECKER_COST_FRACTION,
            measured: cost,
            unit: "of throughput",
        },
    ];
    let table = vec![
        format!(
            "throughput, 1 thread, checkers on   {:>10.2}M events/s",
            on_rate / 1e6
        ),
        format!(
            "throughput, 1 thread, checkers off  {:>10.2}M events/s",
            off_rate / 1e6
        ),
        format!(
            "checker cost                        {:>10.1}%",
            cost * 100.0
        ),
    ];
    SectionReport {
        value,
        targets,
        table,
    }
}

fn best_rate(runs: &[SerialRun]) -> f64 {
    runs.iter()
        .map(|run| rate(run.events, run.elapsed))
        .fold(0.0, f64::max)
}

fn serial_json(runs: &[SerialRun], seeds: u64) -> Value {
    let first = runs.first().expect("at least one round");
    let rates: Vec<f64> = runs
        .iter()
        .map(|run| rate(run.events, run.elapsed))
        .collect();
    json!({
        "events": first.events,
        "events_per_seed": first.events as f64 / seeds as f64,
        "failures": first.failures,
        "unchecked": first.unchecked,
        "events_per_sec": median(rates.iter().copied()),
        "events_per_sec_best": best_rate(runs),
        "seeds_per_sec": median(runs.iter().map(|run| rate(seeds, run.elapsed))),
        "elapsed_s": median(runs.iter().map(|run| run.elapsed.as_secs_f64())),
        "events_per_sec_rounds": rates,
    })
}
