//! `paxsim bench`: how fast the harness is, what its checkers cost, how it
//! scales, whether its memory stays flat, and how soon it finds each flaw.
//!
//! Sections, each runnable alone with `--only`:
//! - `throughput`: the default swarm campaign over a fixed seed range, on
//!   the calling thread, with every checker on and then with them off; the
//!   two event rates give the checkers' cost.
//! - `scaling`: the same seeds as a real campaign at -j1 and at -j2.
//! - `memory`: a small and a large campaign on every core, with the
//!   process's peak resident set read after each; flat means the large
//!   campaign peaks where the small one did.
//! - `linearizability`: the checker alone on generated histories.
//! - `flaws`: for each deliberate flaw, seeds and seconds until the
//!   invariant that should catch it does, from several start points.
//! - `budgets`: the clean core's heal-phase efficiency over many seeds,
//!   with the budgets lifted; the percentiles the default limits come from.
//! - `explore`: the explorer's unique states per second and bytes per
//!   state on a fixed clean configuration, and each flaw's shortest
//!   counterexample by BFS, with its states and seconds.
//!
//! Each section lives in its own file; this one holds the flags, the
//! targets, the report assembly and the figures the sections share.
//!
//! This is the one place, besides progress output, that reads the wall
//! clock; the times it reads never feed a simulated run. Stdout gets exactly
//! one JSON object, every figure with its unit last in its key; stderr gets
//! progress lines and, at the end, a short table.

mod budgets;
mod explore;
mod flaws;
mod linearizability;
mod memory;
mod scaling;
mod throughput;

use std::process::ExitCode;
use std::time::{Duration, Instant};

use clap::{Args, ValueEnum};
use serde_json::{Map, Value, json};

use crate::cli::jobs_or_all_cores;
use crate::error::InputError;
use crate::fuzz::SEEDS_DEFAULT;

/// Bounds on the flags, so that a typo cannot make the bench run for days.
const SEEDS_MAX: u64 = 10_000_000;
const REPEAT_MAX: u64 = 100;
const FLAW_STARTS_MAX: u64 = 100;
const FLAW_SEEDS_MAX: u64 = 100_000;
const HISTORIES_MAX: u64 = 1_000;
const BUDGET_SEEDS_MAX: u64 = 10_000_000;

/// Measure throughput, scaling, memory and checker costs; print one JSON object.
///
/// Stdout gets one JSON object with a key per section run, `targets` (each
/// target, the measured value, and whether it was met), `machine` and the
/// total `elapsed_s`. Progress and a short table go to stderr. The default
/// run takes about a minute and a half on two cores, most of it memory.
#[derive(Args, Debug)]
pub struct BenchArgs {
    /// Seeds, from 0, for the throughput and scaling sections.
    #[arg(long, value_name = "N", default_value_t = SEEDS_DEFAULT,
          value_parser = clap::value_parser!(u64).range(1..=SEEDS_MAX))]
    pub seeds: u64,
    /// Runs of each throughput and scaling measurement; the median is reported.
    #[arg(long, value_name = "R", default_value_t = 3,
          value_parser = clap::value_parser!(u64).range(1..=REPEAT_MAX))]
    pub repeat: u64,
    /// Campaign sizes for the memory section, smallest first.
    #[arg(long, value_name = "A,B", value_delimiter = ',',
          default_values_t = [10_000u64, 100_000])]
    pub memory_seeds: Vec<u64>,
    /// Start points for each flaw's search: seeds 0, 1000000, 2000000, ...
    #[arg(long, value_name = "K", default_value_t = 10,
          value_parser = clap::value_parser!(u64).range(1..=FLAW_STARTS_MAX))]
    pub flaw_starts: u64,
    /// Seeds each flaw search tries from one start point before giving up.
    #[arg(long, value_name = "N", default_value_t = 1_000,
          value_parser = clap::value_parser!(u64).range(1..=FLAW_SEEDS_MAX))]
    pub flaw_seeds_max: u64,
    /// Seeds, from 0, for the budgets section.
    #[arg(long, value_name = "N", default_value_t = 100_000,
          value_parser = clap::value_parser!(u64).range(1..=BUDGET_SEEDS_MAX))]
    pub budget_seeds: u64,
    /// Generated histories per (operations, clients) case.
    #[arg(long, value_name = "H", default_value_t = 5,
          value_parser = clap::value_parser!(u64).range(1..=HISTORIES_MAX))]
    pub linearizability_histories: u64,
    /// Run only this section (repeatable) [default: all].
    #[arg(long = "only", value_name = "SECTION")]
    pub only: Vec<Section>,
}

/// A part of the bench, runnable alone.
#[derive(ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum Section {
    Throughput,
    Scaling,
    Memory,
    Linearizability,
    Flaws,
    Budgets,
    Explore,
}

impl Section {
    const ALL: [Section; 7] = [
        Section::Throughput,
        Section::Scaling,
        Section::Memory,
        Section::Linearizability,
        Section::Flaws,
        Section::Budgets,
        Section::Explore,
    ];

    fn name(self) -> &'static str {
        match self {
            Section::Throughput => "throughput",
            Section::Scaling => "scaling",
            Section::Memory => "memory",
            Section::Linearizability => "linearizability",
            Section::Flaws => "flaws",
            Section::Budgets => "budgets",
            Section::Explore => "explore",
        }
    }
}

/// One target: what the issue asks for and what was measured.
struct Target {
    name: &'static str,
    /// `>=`, `<=` or `<`.
    comparison: &'static str,
    threshold: f64,
    measured: f64,
    unit: &'static str,
}

impl Target {
    fn met(&self) -> bool {
        match self.comparison {
            ">=" => self.measured >= self.threshold,
            "<=" => self.measured <= self.threshold,
            "<" => self.measured < self.threshold,
            other => unreachable!("unknown comparison {other}"),
        }
    }

    fn to_json(&self) -> Value {
        json!({
            "target": format!("{} {} {}", self.comparison, self.threshold, self.unit),
            "threshold": self.threshold,
            "measured": finite_or_null(self.measured),
            "unit": self.unit,
            "met": self.met(),
        })
    }
}

/// What one section produced.
struct SectionReport {
    value: Value,
    targets: Vec<Target>,
    /// Rows for the closing table on stderr.
    table: Vec<String>,
}

pub fn command(args: BenchArgs) -> Result<ExitCode, InputError> {
    check_memory_seeds(&args.memory_seeds)?;
    let started = Instant::now();
    let mut report = Map::new();
    let mut targets = Vec::new();
    let mut table = Vec::new();
    for section in sections(&args.only) {
        eprintln!("bench: {} ...", section.name());
        let section_started = Instant::now();
        let mut result = run_section(section, &args);
        let elapsed_s = section_started.elapsed().as_secs_f64();
        if let Value::Object(fields) = &mut result.value {
            fields.insert("elapsed_s".into(), json!(elapsed_s));
        }
        eprintln!("bench: {} done in {elapsed_s:.1}s", section.name());
        report.insert(section.name().into(), result.value);
        targets.extend(result.targets);
        table.extend(result.table);
    }
    let targets_json: Map<String, Value> = targets
        .iter()
        .map(|target| (target.name.to_string(), target.to_json()))
        .collect();
    report.insert("targets".into(), Value::Object(targets_json));
    report.insert("machine".into(), machine());
    let elapsed = started.elapsed();
    report.insert("elapsed_s".into(), json!(elapsed.as_secs_f64()));
    let text = serde_json::to_string_pretty(&Value::Object(report))
        .expect("a JSON value always serializes");
    println!("{text}");
    print_table(&table, &targets, elapsed);
    Ok(ExitCode::SUCCESS)
}

fn check_memory_seeds(memory_seeds: &[u64]) -> Result<(), InputError> {
    if memory_seeds.len() < 2 {
        return Err(InputError(format!(
            "--memory-seeds has {} size(s), expected at least two, smallest first (e.g. 10000,100000)",
            memory_seeds.len()
        )));
    }
    if let Some(size) = memory_seeds
        .iter()
        .find(|size| **size == 0 || **size > SEEDS_MAX)
    {
        return Err(InputError(format!(
            "--memory-seeds has {size}, expected sizes in 1..={SEEDS_MAX}"
        )));
    }
    if memory_seeds.windows(2).any(|pair| pair[0] >= pair[1]) {
        return Err(InputError(format!(
            "--memory-seeds {memory_seeds:?} is not increasing, expected the smallest first (e.g. 10000,100000)"
        )));
    }
    Ok(())
}

/// The sections asked for, in the fixed order, each once.
fn sections(only: &[Section]) -> Vec<Section> {
    Section::ALL
        .into_iter()
        .filter(|section| only.is_empty() || only.contains(section))
        .collect()
}

fn run_section(section: Section, args: &BenchArgs) -> SectionReport {
    match section {
        Section::Throughput => throughput::run(args.seeds, args.repeat),
        Section::Scaling => scaling::run(args.seeds, args.repeat),
        Section::Memory => memory::run(&args.memory_seeds),
        Section::Linearizability => linearizability::run(args.linearizability_histories),
        Section::Flaws => flaws::run(args.flaw_starts, args.flaw_seeds_max),
        Section::Budgets => budgets::run(args.budget_seeds),
        Section::Explore => explore::run(),
    }
}

fn machine() -> Value {
    let command_line: Vec<String> = std::env::args().collect();
    json!({
        "available_parallelism": jobs_or_all_cores(None),
        "command_line": command_line.join(" "),
        "os": std::env::consts::OS,
        "arch": std::env::consts::ARCH,
        // An unoptimised or debug-asserting build (the test binary) is not
        // comparable with the targets.
        "debug_assertions": cfg!(debug_assertions),
    })
}

// ---------------------------------------------------------------------------
// Figures
// ---------------------------------------------------------------------------

fn rate(count: u64, elapsed: Duration) -> f64 {
    count as f64 / elapsed.as_secs_f64().max(1e-9)
}

/// The median of finite numbers (the mean of the middle two for an even count).
fn median(values: impl Iterator<Item = f64>) -> f64 {
    let values: Vec<f64> = values.collect();
    assert!(values.iter().all(|value| value.is_finite()));
    median_of_options(values.into_iter().map(Some)).expect("finite values have a finite median")
}

/// JSON has no NaN or infinity: such a figure is written as null.
fn finite_or_null(value: f64) -> Value {
    if value.is_finite() {
        json!(value)
    } else {
        Value::Null
    }
}

/// The median where `None` is larger than every number.
fn median_of_options(values: impl Iterator<Item = Option<f64>>) -> Option<f64> {
    let mut values: Vec<f64> = values.map(|value| value.unwrap_or(f64::INFINITY)).collect();
    assert!(!values.is_empty(), "a median needs a value");
    values.sort_by(f64::total_cmp);
    let middle = values.len() / 2;
    let median = if values.len() % 2 == 1 {
        values[middle]
    } else {
        (values[middle - 1] + values[middle]) / 2.0
    };
    median.is_finite().then_some(median)
}

fn print_table(rows: &[String], targets: &[Target], elapsed: Duration) {
    eprintln!();
    eprintln!("paxsim bench: {:.1}s in all", elapsed.as_secs_f64());
    for row in rows {
        eprintln!("  {row}");
    }
    if !targets.is_empty() {
        eprintln!("targets:");
    }
    for target in targets {
        eprintln!(
            "  {:<44} {:>14.3} {} {} {}  {}",
            target.name,
            target.measured,
            target.comparison,
            target.threshold,
            target.unit,
            if target.met() { "met" } else { "NOT MET" }
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn medians_count_a_search_that_found_nothing_as_longest() {
        assert_eq!(
            median_of_options([Some(3.0), None, Some(1.0)].into_iter()),
            Some(3.0)
        );
        assert_eq!(median_of_options([None, None, Some(1.0)].into_iter()), None);
        assert_eq!(
            median_of_options([Some(2.0), Some(4.0)].into_iter()),
            Some(3.0)
        );
        assert_eq!(median([5.0, 1.0, 3.0].into_iter()), 3.0);
    }

    #[test]
    fn memory_sizes_must_grow() {
        assert!(check_memory_seeds(&[10, 100]).is_ok());
        assert!(check_memory_seeds(&[100]).is_err());
        assert!(check_memory_seeds(&[100, 10]).is_err());
        assert!(check_memory_seeds(&[0, 10]).is_err());
    }
}
