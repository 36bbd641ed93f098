//! `paxsim fuzz`: turn flags into a campaign plan, run it with progress
//! and Ctrl-C handling, and report.

use std::process::ExitCode;
use std::sync::atomic::{AtomicBool, Ordering};

use crate::campaign::{self, Plan};
use crate::cli::{FuzzArgs, jobs_or_all_cores};
use crate::error::InputError;
use crate::progress::{self, Counters};
use crate::summary;
use crate::units::{SeedStart, Shard, os_random_seed, probability_to_ppm};

/// The default campaign: a few thousand seeds, well under a minute on two cores.
pub const SEEDS_DEFAULT: u64 = 2_000;

/// Raised by the first Ctrl-C: hand out no more seeds.
static STOP: AtomicBool = AtomicBool::new(false);

pub fn command(args: FuzzArgs) -> Result<ExitCode, InputError> {
    let plan = plan(&args)?;
    if matches!(args.seed_start, SeedStart::Random) {
        eprintln!("seed start: {} (drawn at random)", plan.seed_start);
    }
    if let Some(dir) = &plan.out {
        std::fs::create_dir_all(dir)
            .map_err(|error| InputError(format!("--out {}: {error}", dir.display())))?;
    }
    install_ctrl_c()?;
    let counters = Counters::default();
    let finished = AtomicBool::new(false);
    let total = (args.seeds.is_some() || args.duration.is_none()).then(|| plan.seeds_in_shard());
    let result = std::thread::scope(|scope| {
        scope.spawn(|| progress::show(&counters, total, &finished));
        let result = campaign::run(&plan, &STOP, &counters);
        finished.store(true, Ordering::SeqCst);
        result
    });
    if args.json {
        println!("{}", summary::to_json(&plan, &result));
    } else {
        summary::print_human(&plan, &result);
    }
    let totals = &result.totals;
    for error in &totals.shrink_failures {
        eprintln!("note: not shrunk: {error}");
    }
    for error in &totals.write_errors {
        eprintln!("error: {error}");
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

fn plan(args: &FuzzArgs) -> Result<Plan, InputError> {
    let seed_start = match args.seed_start {
        SeedStart::Fixed(seed) => seed,
        SeedStart::Random => os_random_seed(),
    };
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
    Ok(Plan {
        pins,
        seed_start,
        index_last,
        shard: args.shard.unwrap_or(Shard::ALL),
        duration: args.duration,
        jobs: jobs_or_all_cores(args.jobs),
        determinism_ppm,
        out: args.out.clone(),
        shrink: args.shrink,
    })
}

/// First Ctrl-C: stop handing out seeds and report what completed. Second:
/// exit at once.
fn install_ctrl_c() -> Result<(), InputError> {
    ctrlc::set_handler(|| {
        if STOP.swap(true, Ordering::SeqCst) {
            eprintln!("\ninterrupted twice: exiting now");
            std::process::exit(130);
        }
        eprintln!("\ninterrupted: finishing the seeds in flight (Ctrl-C again to exit now)");
    })
    .map_err(|error| InputError(format!("cannot install the Ctrl-C handler: {error}")))
}
