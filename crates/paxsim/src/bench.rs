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
//!
//! This is the one place, besides progress output, that reads the wall
//! clock; the times it reads never feed a simulated run. Stdout gets exactly
//! one JSON object, every figure with its unit last in its key; stderr gets
//! progress lines and, at the end, a short table.

use std::process::ExitCode;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use clap::{Args, ValueEnum};
use serde_json::{Map, Value, json};

use paxos::{Flaw, Flaws};
use sim::linearizability::{self, BUDGET_STEPS_DEFAULT};
use sim::{Invariant, Pins, RunOptions, SimConfig, Simulation, Verdict};

use crate::campaign::{self, CampaignResult, Plan};
use crate::cli::jobs_or_all_cores;
use crate::error::InputError;
use crate::fuzz::SEEDS_DEFAULT;
use crate::guarded;
use crate::progress::{self, Counters};
use crate::units::Shard;

/// Bounds on the flags, so that a typo cannot make the bench run for days.
const SEEDS_MAX: u64 = 10_000_000;
const REPEAT_MAX: u64 = 100;
const FLAW_STARTS_MAX: u64 = 100;
const FLAW_SEEDS_MAX: u64 = 100_000;
const HISTORIES_MAX: u64 = 1_000;

/// Flaw searches start this far apart, so their seed ranges never overlap.
const FLAW_START_SPACING_SEEDS: u64 = 1_000_000;

/// The linearizability grid: history lengths and concurrent clients.
const LINEARIZABILITY_OPS: [usize; 2] = [1_000, 10_000];
const LINEARIZABILITY_CLIENTS: [u32; 3] = [2, 4, 8];

/// The targets, reported against and never asserted.
const TARGET_EVENTS_PER_SEC_CHECKERS_ON: f64 = 2_000_000.0;
const TARGET_CHECKER_COST_FRACTION: f64 = 0.25;
const TARGET_SPEEDUP_J2: f64 = 1.8;
/// "Flat": the largest campaign's peak at most this fraction above the smallest's.
const TARGET_PEAK_RSS_GROWTH_FRACTION: f64 = 0.10;
const TARGET_PEAK_RSS_MIB: f64 = 64.0;
const TARGET_LINEARIZABILITY_10K_8_CLIENTS_MS: f64 = 1_000.0;

const MIB: f64 = 1024.0 * 1024.0;

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
}

impl Section {
    const ALL: [Section; 5] = [
        Section::Throughput,
        Section::Scaling,
        Section::Memory,
        Section::Linearizability,
        Section::Flaws,
    ];

    fn name(self) -> &'static str {
        match self {
            Section::Throughput => "throughput",
            Section::Scaling => "scaling",
            Section::Memory => "memory",
            Section::Linearizability => "linearizability",
            Section::Flaws => "flaws",
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
        Section::Throughput => throughput(args.seeds, args.repeat),
        Section::Scaling => scaling(args.seeds, args.repeat),
        Section::Memory => memory(&args.memory_seeds),
        Section::Linearizability => linearizability(args.linearizability_histories),
        Section::Flaws => flaws(args.flaw_starts, args.flaw_seeds_max),
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
// Throughput: one thread, checkers on and off
// ---------------------------------------------------------------------------

/// Totals of a run of consecutive seeds on the calling thread.
struct SerialRun {
    events: u64,
    /// Seeds that did not pass (a violation, a limit, a panic).
    failures: u64,
    elapsed: Duration,
}

/// One seed of the default swarm, panics caught.
fn run_seed(seed: u64, pins: &Pins, checkers: bool) -> Result<sim::RunReport, String> {
    let options = RunOptions {
        trace: false,
        checkers,
        stop_after_event: None,
    };
    guarded::catch(|| Simulation::new(SimConfig::draw(seed, pins), options).map(Simulation::run))
        .and_then(|result| result)
}

fn run_serial(seeds: u64, checkers: bool) -> SerialRun {
    let pins = Pins::default();
    let started = Instant::now();
    let mut run = SerialRun {
        events: 0,
        failures: 0,
        elapsed: Duration::ZERO,
    };
    for seed in 0..seeds {
        match run_seed(seed, &pins, checkers) {
            Ok(report) => {
                run.events += report.events;
                run.failures += u64::from(!report.verdict.is_pass());
            }
            Err(_) => run.failures += 1,
        }
    }
    run.elapsed = started.elapsed();
    run
}

fn throughput(seeds: u64, repeat: u64) -> SectionReport {
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
        "events_per_sec": median(rates.iter().copied()),
        "events_per_sec_best": best_rate(runs),
        "seeds_per_sec": median(runs.iter().map(|run| rate(seeds, run.elapsed))),
        "elapsed_s": median(runs.iter().map(|run| run.elapsed.as_secs_f64())),
        "events_per_sec_rounds": rates,
    })
}

// ---------------------------------------------------------------------------
// Scaling: a real campaign at -j1 and -j2
// ---------------------------------------------------------------------------

/// The default campaign over `seeds` seeds from 0, no determinism reruns.
fn default_plan(seeds: u64, jobs: usize) -> Plan {
    assert!(seeds > 0, "a campaign needs a seed");
    assert!(jobs > 0, "a campaign needs a worker");
    Plan {
        pins: Pins::default(),
        seed_start: 0,
        index_last: seeds - 1,
        shard: Shard::ALL,
        duration: None,
        jobs,
        determinism_ppm: 0,
        out: None,
        shrink: false,
    }
}

fn run_campaign(plan: &Plan) -> CampaignResult {
    let stop = AtomicBool::new(false);
    let result = campaign::run(plan, &stop, &Counters::default());
    assert_eq!(
        result.totals.seeds_run,
        plan.seeds_in_shard(),
        "a campaign with no stop and no duration runs every seed"
    );
    result
}

fn scaling(seeds: u64, repeat: u64) -> SectionReport {
    let mut j1 = Vec::new();
    let mut j2 = Vec::new();
    for round in 1..=repeat {
        eprintln!("bench: scaling round {round}/{repeat}: {seeds} seeds at -j1");
        j1.push(run_campaign(&default_plan(seeds, 1)));
        eprintln!("bench: scaling round {round}/{repeat}: {seeds} seeds at -j2");
        j2.push(run_campaign(&default_plan(seeds, 2)));
    }
    let j1_rate = median(j1.iter().map(seeds_per_sec));
    let j2_rate = median(j2.iter().map(seeds_per_sec));
    let speedup = j2_rate / j1_rate;
    let value = json!({
        "seed_start": 0,
        "seeds": seeds,
        "repeat": repeat,
        "determinism_ppm": 0,
        "j1": campaign_rounds_json(&j1),
        "j2": campaign_rounds_json(&j2),
        "speedup_j2_over_j1": finite_or_null(speedup),
    });
    let targets = vec![Target {
        name: "speedup_j2_over_j1",
        comparison: ">=",
        threshold: TARGET_SPEEDUP_J2,
        measured: speedup,
        unit: "x",
    }];
    let table = vec![
        format!("campaign -j1                        {j1_rate:>10.0} seeds/s"),
        format!("campaign -j2                        {j2_rate:>10.0} seeds/s"),
        format!("speedup -j2 / -j1                   {speedup:>10.2}x"),
    ];
    SectionReport {
        value,
        targets,
        table,
    }
}

fn seeds_per_sec(result: &CampaignResult) -> f64 {
    rate(result.totals.seeds_run, result.elapsed)
}

fn events_per_sec(result: &CampaignResult) -> f64 {
    rate(result.totals.events, result.elapsed)
}

fn campaign_rounds_json(rounds: &[CampaignResult]) -> Value {
    let rates: Vec<f64> = rounds.iter().map(seeds_per_sec).collect();
    json!({
        "seeds_per_sec": median(rates.iter().copied()),
        "events_per_sec": median(rounds.iter().map(events_per_sec)),
        "elapsed_s": median(rounds.iter().map(|result| result.elapsed.as_secs_f64())),
        "seeds_per_sec_rounds": rates,
    })
}

// ---------------------------------------------------------------------------
// Memory: peak resident set of growing campaigns
// ---------------------------------------------------------------------------

/// `VmHWM` (peak resident set) or `VmRSS` from /proc/self/status, in bytes.
fn proc_status_bytes(field: &str) -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status
        .lines()
        .find(|line| line.split(':').next() == Some(field))?;
    let kib: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kib * 1024)
}

fn proc_status_mib(field: &str) -> Option<f64> {
    proc_status_bytes(field).map(|bytes| bytes as f64 / MIB)
}

/// Reset the peak resident set to the current one (Linux 4.0+), so that
/// each campaign's peak is its own. Whether it worked is reported.
fn reset_peak_rss() -> bool {
    std::fs::write("/proc/self/clear_refs", "5").is_ok()
}

fn memory(sizes: &[u64]) -> SectionReport {
    let jobs = jobs_or_all_cores(None);
    let rss_mib_at_start = proc_status_mib("VmRSS");
    let mut campaigns = Vec::new();
    let mut peaks = Vec::new();
    let mut resets = Vec::new();
    for &seeds in sizes {
        eprintln!("bench: memory: a campaign of {seeds} seeds at -j{jobs}");
        let reset = reset_peak_rss();
        let result = run_campaign_with_progress(&default_plan(seeds, jobs));
        let peak_rss_mib = proc_status_mib("VmHWM");
        campaigns.push(json!({
            "seeds": seeds,
            "jobs": jobs,
            "hwm_reset_before": reset,
            "failures": result.totals.failures.len(),
            "elapsed_s": result.elapsed.as_secs_f64(),
            "seeds_per_sec": seeds_per_sec(&result),
            "events_per_sec": events_per_sec(&result),
            "peak_rss_mib": peak_rss_mib,
            "rss_mib": proc_status_mib("VmRSS"),
        }));
        peaks.push(peak_rss_mib);
        resets.push(reset);
    }
    let peaks: Option<Vec<f64>> = peaks.into_iter().collect();
    let growth = peaks.as_ref().map(|peaks| {
        let first = peaks.first().expect("at least two sizes");
        let last = peaks.last().expect("at least two sizes");
        (last - first) / first
    });
    let peak_max = peaks
        .as_ref()
        .map(|peaks| peaks.iter().copied().fold(0.0, f64::max));
    let hwm_reset = resets.iter().all(|reset| *reset);
    let note = if hwm_reset {
        "peak_rss_mib is VmHWM (peak resident set), reset through /proc/self/clear_refs before \
         each campaign, so each figure is that campaign's own peak; flat means the figures are \
         about equal"
    } else {
        "peak_rss_mib is VmHWM (peak resident set); it could not be reset, so it is monotone \
         over the process: flat means the later figures are about the first"
    };
    let value = json!({
        "jobs": jobs,
        "hwm_reset": hwm_reset,
        "note": note,
        "rss_mib_at_start": rss_mib_at_start,
        "campaigns": campaigns,
        "peak_rss_growth_fraction": growth.map(finite_or_null),
        "peak_rss_mib_max": peak_max,
    });
    let mut targets = Vec::new();
    let mut table = Vec::new();
    if let (Some(growth), Some(peak_max), Some(peaks)) = (growth, peak_max, &peaks) {
        targets.push(Target {
            name: "peak_rss_growth_fraction",
            comparison: "<=",
            threshold: TARGET_PEAK_RSS_GROWTH_FRACTION,
            measured: growth,
            unit: "of the smallest campaign's peak",
        });
        targets.push(Target {
            name: "peak_rss_mib",
            comparison: "<",
            threshold: TARGET_PEAK_RSS_MIB,
            measured: peak_max,
            unit: "MiB",
        });
        for (seeds, peak) in sizes.iter().zip(peaks) {
            table.push(format!(
                "peak RSS, {seeds:>7} seeds               {peak:>10.1} MiB"
            ));
        }
    } else {
        table.push("peak RSS                            unavailable (no /proc)".into());
    }
    SectionReport {
        value,
        targets,
        table,
    }
}

/// A campaign with the usual progress display on stderr.
fn run_campaign_with_progress(plan: &Plan) -> CampaignResult {
    let stop = AtomicBool::new(false);
    let counters = Counters::default();
    let finished = AtomicBool::new(false);
    let result = std::thread::scope(|scope| {
        scope.spawn(|| progress::show(&counters, Some(plan.seeds_in_shard()), &finished));
        let result = campaign::run(plan, &stop, &counters);
        finished.store(true, Ordering::SeqCst);
        result
    });
    assert_eq!(result.totals.seeds_run, plan.seeds_in_shard());
    result
}

// ---------------------------------------------------------------------------
// Linearizability: the checker alone on generated histories
// ---------------------------------------------------------------------------

fn linearizability(histories: u64) -> SectionReport {
    let mut cases = Vec::new();
    let mut table = Vec::new();
    let mut target_ms = f64::NAN;
    for ops in LINEARIZABILITY_OPS {
        for clients in LINEARIZABILITY_CLIENTS {
            eprintln!(
                "bench: linearizability: {histories} histories of {ops} ops, {clients} clients"
            );
            let case = linearizability_case(ops, clients, histories);
            if ops == 10_000 && clients == 8 {
                target_ms = case.max_ms;
            }
            table.push(format!(
                "linearizability {ops:>5} ops {clients} clients {:>10.2} ms (median)",
                case.median_ms
            ));
            cases.push(case.to_json(ops, clients, histories));
        }
    }
    let value = json!({
        "budget_steps": BUDGET_STEPS_DEFAULT,
        "histories_per_case": histories,
        "cases": cases,
    });
    let targets = vec![Target {
        name: "linearizability_10000_ops_8_clients_max_ms",
        comparison: "<",
        threshold: TARGET_LINEARIZABILITY_10K_8_CLIENTS_MS,
        measured: target_ms,
        unit: "ms",
    }];
    SectionReport {
        value,
        targets,
        table,
    }
}

struct CheckTimes {
    median_ms: f64,
    max_ms: f64,
    times_ms: Vec<f64>,
    /// Verdict counts: generated histories are linearizable by construction.
    linearizable: u64,
    not_linearizable: u64,
    inconclusive: u64,
}

impl CheckTimes {
    fn to_json(&self, ops: usize, clients: u32, histories: u64) -> Value {
        json!({
            "ops": ops,
            "clients": clients,
            "histories": histories,
            "median_ms": self.median_ms,
            "max_ms": self.max_ms,
            "times_ms": self.times_ms,
            "linearizable": self.linearizable,
            "not_linearizable": self.not_linearizable,
            "inconclusive": self.inconclusive,
        })
    }
}

fn linearizability_case(ops: usize, clients: u32, histories: u64) -> CheckTimes {
    let mut times = CheckTimes {
        median_ms: 0.0,
        max_ms: 0.0,
        times_ms: Vec::new(),
        linearizable: 0,
        not_linearizable: 0,
        inconclusive: 0,
    };
    for seed in 0..histories {
        let history = linearizability::generate_history(seed, ops, clients);
        assert_eq!(history.len(), ops);
        let started = Instant::now();
        let verdict = linearizability::check_key(&history, BUDGET_STEPS_DEFAULT);
        times.times_ms.push(started.elapsed().as_secs_f64() * 1e3);
        match verdict {
            linearizability::Verdict::Linearizable => times.linearizable += 1,
            linearizability::Verdict::NotLinearizable { .. } => times.not_linearizable += 1,
            linearizability::Verdict::Inconclusive { .. } => times.inconclusive += 1,
        }
    }
    times.median_ms = median(times.times_ms.iter().copied());
    times.max_ms = times.times_ms.iter().copied().fold(0.0, f64::max);
    times
}

// ---------------------------------------------------------------------------
// Flaws: time to the first violation
// ---------------------------------------------------------------------------

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
        flaws: Flaws::NONE.with(flaw),
        ..Pins::default()
    };
    let expected = Invariant::catching(flaw);
    let started = Instant::now();
    let mut other_failures = 0;
    for index in 0..seeds_max {
        let caught = match run_seed(seed_start + index, &pins, true) {
            Ok(report) => match &report.verdict {
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

fn flaws(starts: u64, seeds_max: u64) -> SectionReport {
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
