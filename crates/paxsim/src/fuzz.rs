//! `paxsim fuzz`: turn flags into a campaign plan, run it with progress
//! and signal handling (`interrupt`), and report: on stdout, and in the
//! files `--summary` (JSON) and `--junit` (JUnit XML) ask for. `--dry-run`
//! stops after the plan and prints it.
//!
//! Exit codes: 0 every seed passed; 1 a failure; 2 bad input, nothing to
//! do, or a file that could not be written; 130 or 143 the campaign was
//! interrupted by SIGINT or SIGTERM (whatever it found: it did not finish).

use std::path::Path;
use std::process::ExitCode;
use std::sync::atomic::{AtomicBool, Ordering};

use crate::atomic;
use crate::campaign::{self, Plan};
use crate::cli::{FuzzArgs, jobs_or_all_cores};
use crate::error::InputError;
use crate::interrupt::Interrupt;
use crate::junit;
use crate::pins;
use crate::progress::{self, Counters};
use crate::shard::{self, ShardSource};
use crate::summary;
use crate::summary_file::SummaryFile;
use crate::units::{SeedStart, Shard, ShardArg, os_random_seed, probability_to_ppm};

/// The default campaign: a few thousand seeds, well under a minute on two cores.
pub const SEEDS_DEFAULT: u64 = 2_000;

pub fn command(args: FuzzArgs) -> Result<ExitCode, InputError> {
    let plan = plan(&args)?;
    if matches!(args.seed_start, SeedStart::Random) {
        eprintln!("seed start: {} (drawn at random)", plan.seed_start);
    }
    if args.dry_run {
        print_plan(&plan, &args);
        return Ok(ExitCode::SUCCESS);
    }
    if let Some(dir) = &plan.out {
        std::fs::create_dir_all(dir)
            .map_err(|error| InputError(format!("--out {}: {error}", dir.display())))?;
    }
    for (flag, file) in [("--summary", &args.summary), ("--junit", &args.junit)] {
        if let Some(file) = file {
            create_parent(flag, file)?;
        }
    }
    let interrupt = Interrupt::install()
        .map_err(|error| InputError(format!("cannot install the signal handlers: {error}")))?;
    let counters = Counters::default();
    let finished = AtomicBool::new(false);
    let total = plan.bounded.then(|| plan.seeds_in_shard());
    let result = std::thread::scope(|scope| {
        scope.spawn(|| progress::show(&counters, total, &finished, Some(&interrupt)));
        // Ends the display however the campaign ends, a panic included,
        // so that the scope never waits for it forever.
        let _finish = Finish(&finished);
        campaign::run(&plan, interrupt.stop_flag(), &counters)
    });
    // The stop flag is raised only by a signal, which is then known.
    let signal = interrupt.signal();
    assert_eq!(
        result.stopped,
        signal.is_some(),
        "only a signal stops a campaign"
    );
    let json = summary::to_json(&plan, &result, signal);
    if args.json {
        println!("{json}");
    } else {
        summary::print_human(&plan, &result, signal);
    }
    let totals = &result.totals;
    let mut write_errors = totals.write_errors.clone();
    write_errors.extend(write_reports(
        &json,
        args.summary.as_deref(),
        args.junit.as_deref(),
    ));
    if let Some(warning) = totals.empty_seeds_warning() {
        eprintln!("warning: {warning}");
    }
    for error in &totals.shrink_failures {
        eprintln!("note: not shrunk: {error}");
    }
    for error in &write_errors {
        eprintln!("error: {error}");
    }
    if let Some(signal) = signal {
        return Ok(ExitCode::from(signal.exit_code()));
    }
    if !write_errors.is_empty() {
        return Ok(ExitCode::from(2));
    }
    let failed = !totals.failures.is_empty() || !totals.nondeterministic.is_empty();
    Ok(if failed {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    })
}

/// Write the `--summary` and `--junit` files of a summary, each atomically;
/// the errors of those that could not be written.
pub fn write_reports(
    json: &serde_json::Value,
    summary_path: Option<&Path>,
    junit_path: Option<&Path>,
) -> Vec<String> {
    let mut errors = Vec::new();
    if let Some(path) = summary_path {
        let mut text = serde_json::to_string_pretty(json).expect("a summary always serializes");
        text.push('\n');
        errors.extend(atomic::write(path, text.as_bytes()).err());
    }
    if let Some(path) = junit_path {
        let summary: SummaryFile = serde_json::from_value(json.clone())
            .expect("a summary reads back as the summary file type");
        let xml = junit::render(&summary);
        errors.extend(atomic::write(path, xml.as_bytes()).err());
    }
    errors
}

/// Make the directory a result file goes in, before the campaign runs, so
/// that a long campaign does not end unable to write its report.
pub fn create_parent(flag: &str, file: &Path) -> Result<(), InputError> {
    match file.parent() {
        Some(parent) if !parent.as_os_str().is_empty() => std::fs::create_dir_all(parent)
            .map_err(|error| InputError(format!("{flag} {}: {error}", file.display()))),
        _ => Ok(()),
    }
}

/// `--dry-run`: what the campaign would run and write.
fn print_plan(plan: &Plan, args: &FuzzArgs) {
    let seeds_planned = plan.bounded.then(|| plan.seeds_in_shard());
    let seeds = summary::progression(plan, 0, seeds_planned).describe();
    let files: Vec<String> = [
        args.summary
            .as_ref()
            .map(|p| format!("{} (summary)", p.display())),
        args.junit
            .as_ref()
            .map(|p| format!("{} (JUnit)", p.display())),
        plan.out.as_ref().map(|p| {
            let shrunk = if plan.shrink { ", shrunk" } else { "" };
            format!("{}/ (failure files{shrunk})", p.display())
        }),
    ]
    .into_iter()
    .flatten()
    .collect();
    if args.json {
        let json = serde_json::json!({
            "dry_run": true,
            "seed_start": plan.seed_start,
            "seed_last": plan.bounded.then(|| plan.seed_start + plan.index_last),
            "shard": plan.shard.to_string(),
            "shard_source": plan.shard_source.to_json(),
            "seeds_planned": seeds_planned,
            "duration_s": plan.duration.map(|duration| duration.as_secs_f64()),
            "flaws": plan.pins.flaws.iter().map(|flaw| flaw.name()).collect::<Vec<_>>(),
            "pins": pins::to_json(&plan.pins),
            "jobs": plan.jobs,
            "summary": args.summary,
            "junit": args.junit,
            "out": plan.out,
            "shrink": plan.shrink,
        });
        println!("{json}");
        return;
    }
    println!("paxsim fuzz --dry-run: nothing was run");
    println!(
        "shard {}{}: {seeds}",
        plan.shard,
        summary::shard_source_note(plan)
    );
    if let Some(duration) = plan.duration {
        println!("stops after {}s of wall time", duration.as_secs());
    }
    println!("pins and flaws: {}", pins::describe(&plan.pins));
    println!("jobs: {}", plan.jobs);
    if !files.is_empty() {
        println!("writes: {}", files.join(", "));
    }
}

/// Raises its flag when dropped.
struct Finish<'a>(&'a AtomicBool);

impl Drop for Finish<'_> {
    fn drop(&mut self) {
        self.0.store(true, Ordering::SeqCst);
    }
}

fn plan(args: &FuzzArgs) -> Result<Plan, InputError> {
    let seed_start = match args.seed_start {
        SeedStart::Fixed(seed) => seed,
        SeedStart::Random => os_random_seed(),
    };
    if args.duration.is_some_and(|duration| duration.is_zero()) {
        return Err(InputError::new(
            "--duration 0s would run nothing, expected a positive duration (e.g. 30s)",
        ));
    }
    let index_last = match (args.seeds, args.duration) {
        (Some(0), _) => {
            return Err(InputError::new(
                "--seeds 0 would run nothing, expected at least 1",
            ));
        }
        (Some(seeds), _) => seeds - 1,
        (None, Some(_)) => u64::MAX - seed_start,
        (None, None) => SEEDS_DEFAULT - 1,
    };
    if seed_start.checked_add(index_last).is_none() {
        return Err(InputError(format!(
            "--seed-start {seed_start} with {} seeds runs past the largest seed {}",
            index_last as u128 + 1,
            u64::MAX
        )));
    }
    let pins = args.config.pins.clone();
    pins.draw_checked(seed_start)
        .map_err(|error| InputError(format!("configuration flags: {error}")))?;
    let determinism_ppm = probability_to_ppm(args.check_determinism)
        .map_err(|error| InputError(format!("--check-determinism: {error}")))?;
    let (shard, shard_source) = shard_of(args)?;
    if shard.index > index_last {
        return Err(InputError(format!(
            "--shard {shard} of {} seeds would run nothing: the shard holds no seed",
            index_last + 1
        )));
    }
    Ok(Plan {
        pins,
        seed_start,
        index_last,
        shard,
        shard_source,
        duration: args.duration,
        jobs: jobs_or_all_cores(args.jobs),
        determinism_ppm,
        out: args.out.clone(),
        shrink: args.shrink,
        bounded: args.seeds.is_some() || args.duration.is_none(),
    })
}

/// The shard, from `--shard K/N`, or from the environment for `--shard auto`.
fn shard_of(args: &FuzzArgs) -> Result<(Shard, ShardSource), InputError> {
    match (args.shard, args.shard_count) {
        (None, _) => Ok((Shard::ALL, ShardSource::new("default"))),
        (Some(ShardArg::Fixed(_)), Some(count)) => Err(InputError(format!(
            "--shard-count {count} goes with --shard auto; --shard K/N names its count itself"
        ))),
        (Some(ShardArg::Fixed(shard)), None) => Ok((shard, ShardSource::new("flag"))),
        (Some(ShardArg::Auto), count) => {
            let lookup =
                |name: &str| std::env::var_os(name).map(|value| value.to_string_lossy().into());
            shard::from_env(&lookup, count).map_err(InputError)
        }
    }
}
