//! `paxsim shrink` and `fuzz --shrink`: a failing seed in, a minimal
//! regression scenario out.
//!
//! The search itself is `sim::shrink` (deterministic, no I/O); this module
//! names the file, writes it atomically, and checks that what it wrote
//! fails again, with the same invariant, when read back.

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Instant;

use serde_json::json;

use sim::shrink::{self, Shrunk, Sizes};
use sim::{Pins, SimConfig};

use crate::atomic;
use crate::cli::ShrinkArgs;
use crate::error::InputError;
use crate::guarded;
use crate::input;
use crate::outcome::{self, Expect};
use crate::pins;
use crate::scenario::Scenario;

/// What one shrink did, for the report.
pub struct ShrinkReport {
    pub shrunk: Shrunk,
    pub path: PathBuf,
    pub elapsed_s: f64,
}

pub fn command(args: ShrinkArgs) -> Result<ExitCode, InputError> {
    let pins = &args.config.pins;
    let (config, origin) = match &args.scenario {
        Some(path) => {
            if *pins != Pins::default() {
                return Err(InputError::new(
                    "--scenario takes no configuration flags: the file holds the whole configuration",
                ));
            }
            let config = input::load_scenario_config(path)?;
            (config, format!("scenario {}", path.display()))
        }
        None => {
            let seed = args.seed.expect("clap requires --seed without --scenario");
            let config = pins
                .draw_checked(seed)
                .map_err(|error| InputError(format!("configuration flags: {error}")))?;
            (config, format!("seed {seed} ({})", pins::describe(pins)))
        }
    };
    let name = args.name.clone().unwrap_or_else(|| file_stem(&args.out));
    if !args.json {
        eprintln!("shrinking {origin} ...");
    }
    let report = shrink_to_file(&config, &origin, &args.out, &name, args.runs_max, &|| false)?;
    let shrunk = &report.shrunk;
    if args.json {
        let sizes = |sizes: &Sizes| json!({"faults": sizes.faults, "ops": sizes.ops, "events": sizes.events});
        let object = json!({
            "seed": args.seed,
            "scenario": args.scenario.as_ref().map(|path| path.display().to_string()),
            "invariant": shrunk.invariant,
            "before": sizes(&shrunk.before),
            "after": sizes(&shrunk.after),
            "runs": shrunk.runs,
            "elapsed_s": report.elapsed_s,
            "file": report.path.display().to_string(),
        });
        println!("{object}");
    } else {
        println!("invariant: {}", shrunk.invariant);
        println!("{:<8} {:>7} {:>7} {:>8}", "", "faults", "ops", "events");
        for (label, sizes) in [("before", &shrunk.before), ("after", &shrunk.after)] {
            println!(
                "{label:<8} {:>7} {:>7} {:>8}",
                sizes.faults, sizes.ops, sizes.events
            );
        }
        println!(
            "{} candidate runs in {:.2}s; wrote {} (expect {})",
            shrunk.runs,
            report.elapsed_s,
            report.path.display(),
            shrunk.invariant
        );
        println!("check it: paxsim run {}", report.path.display());
        println!(
            "trace it: paxsim replay --scenario {} --trace",
            report.path.display()
        );
    }
    Ok(ExitCode::SUCCESS)
}

/// Shrink `config` (from `origin`: a seed and its pins, or a file) and write the scenario
/// to `path`, expecting the failure. An error if the seed passes, if the
/// written scenario does not fail the same way when read back, or if
/// `cancelled` said to stop (it is asked before every run).
pub fn shrink_to_file(
    config: &SimConfig,
    origin: &str,
    path: &Path,
    name: &str,
    runs_max: u64,
    cancelled: &dyn Fn() -> bool,
) -> Result<ShrinkReport, String> {
    let started = Instant::now();
    let shrunk = guarded::catch(|| shrink::shrink_with(config, runs_max, cancelled))
        .map_err(|panic| format!("{origin}: the simulator panicked while shrinking: {panic}"))?
        .map_err(|error| format!("{origin}: {error}"))?;
    let elapsed_s = started.elapsed().as_secs_f64();
    let expect = Expect::from_name(shrunk.invariant)
        .expect("every failure the shrinker keeps is an expectation a file may hold");
    let description = format!(
        "Shrunk by `paxsim shrink` from {origin}, which fails with {}: \
         {} faults and {} operations in {} events became {} faults and {} operations in {} events.",
        shrunk.invariant,
        shrunk.before.faults,
        shrunk.before.ops,
        shrunk.before.events,
        shrunk.after.faults,
        shrunk.after.ops,
        shrunk.after.events,
    );
    let scenario = Scenario::from_config(name, &description, &shrunk.shrunk, expect);
    let mut text = serde_json::to_string_pretty(&scenario).expect("a scenario always serializes");
    text.push('\n');
    // Read back what will be written, and run it, before writing it.
    let read_back: Scenario = serde_json::from_str(&text).expect("a written scenario parses");
    let read_config = read_back
        .to_config()
        .map_err(|error| format!("the shrunk scenario does not read back: {error}"))?;
    let actual = outcome::run(&read_config, false).actual();
    if actual != shrunk.invariant {
        return Err(format!(
            "the shrunk scenario read back fails with {actual}, not {}",
            shrunk.invariant
        ));
    }
    atomic::write(path, text.as_bytes())?;
    Ok(ShrinkReport {
        shrunk,
        path: path.to_path_buf(),
        elapsed_s,
    })
}

fn file_stem(path: &Path) -> String {
    path.file_stem()
        .map(|stem| stem.to_string_lossy().into_owned())
        .unwrap_or_else(|| "shrunk".into())
}
