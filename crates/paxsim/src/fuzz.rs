//! `paxsim fuzz`: turn flags into a campaign plan, run it with progress
//! and signal handling (`interrupt`), and report.
//!
//! Exit codes: 0 every seed passed; 1 a failure; 2 bad input, nothing to
//! do, or a file that could not be written; 130 or 143 the campaign was
//! interrupted by SIGINT or SIGTERM (whatever it found: it did not finish).

use std::process::ExitCode;
use std::sync::atomic::{AtomicBool, Ordering};

use crate::campaign::{self, Plan};
use crate::cli::{FuzzArgs, jobs_or_all_cores};
use crate::error::InputError;
use crate::interrupt::Interrupt;
use crate::progress::{self, Counters};
use crate::summary;
use crate::units::{SeedStart, Shard, os_random_seed, probability_to_ppm};

/// The default campaign: a few thousand seeds, well under a minute on two cores.
pub const SEEDS_DEFAULT: u64 = 2_000;

pub fn command(args: FuzzArgs) -> Result<ExitCode, InputError> {
    let plan = plan(&args)?;
    if matches!(args.seed_start, SeedStart::Random) {
        eprintln!("seed start: {} (drawn at random)", plan.seed_start);
    }
    if let Some(dir) = &plan.out {
        std::fs::create_dir_all(dir)
            .map_err(|error| InputError(format!("--out {}: {error}", dir.display())))?;
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
    if args.json {
        println!("{}", summary::to_json(&plan, &result, signal));
    } else {
        summary::print_human(&plan, &result, signal);
    }
    let totals = &result.totals;
    if let Some(warning) = totals.empty_seeds_warning() {
        eprintln!("warning: {warning}");
    }
    for error in &totals.shrink_failures {
        eprintln!("note: not shrunk: {error}");
    }
    for error in &totals.write_errors {
        eprintln!("error: {error}");
    }
    if let Some(signal) = signal {
        return Ok(ExitCode::from(signal.exit_code()));
    }
    if !totals.write_errors.is_empty() {
        return Ok(ExitCode::from(2));
    }
    let failed = !totals.failures.is_empty() || !totals.nondeterministic.is_empty();
    Ok(if failed {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    })
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
    let shard = args.shard.unwrap_or(Shard::ALL);
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
        duration: args.duration,
        jobs: jobs_or_all_cores(args.jobs),
        determinism_ppm,
        out: args.out.clone(),
        shrink: args.shrink,
        bounded: args.seeds.is_some() || args.duration.is_none(),
    })
}
