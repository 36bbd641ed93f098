//! `paxsim replay`: one seed in detail — its drawn configuration first,
//! then the outcome, the events that led to a failure (and those of the
//! client operations it implicates), and the digest last; with `--html`,
//! the run's timeline page as well.

use std::path::Path;
use std::process::ExitCode;

use serde_json::json;

use sim::{Admission, Pins, RunOptions, RunReport, SimConfig, TraceEvent, Verdict};

use crate::atomic;
use crate::cli::ReplayArgs;
use crate::error::InputError;
use crate::guarded;
use crate::input;
use crate::outcome::{self, format_time_us};
use crate::pages;
use crate::summary;

/// How many events before a violation the report shows.
const TRACE_CONTEXT_EVENTS: usize = 30;

pub fn command(args: ReplayArgs) -> Result<ExitCode, InputError> {
    let config = configuration(&args)?;
    if !args.json {
        println!("{}", pretty(&config));
    }
    let keep_trace = args.trace || args.trace_json.is_some();
    let options = RunOptions {
        trace: keep_trace,
        // Recording the timeline never alters the run: the same run, drawn.
        timeline: args.html.is_some(),
        ..RunOptions::default()
    };
    let run_config = config.clone();
    let result = guarded::catch(move || {
        sim::admit(run_config, options).map(|admission| match admission {
            Admission::Run(simulation) => Ok(simulation.run()),
            Admission::Refused { reason, .. } => Err(reason),
        })
    });
    let mut report = match result {
        Ok(Ok(Ok(report))) => report,
        Ok(Ok(Err(refusal))) => return Ok(report_refused(&args, &config, &refusal)),
        Ok(Err(invalid)) => return Err(InputError(format!("configuration: {invalid}"))),
        Err(panic) => return Ok(report_panic(&args, &config, &panic)),
    };
    if let Some(path) = &args.trace_json {
        write_trace_json(path, &report.trace)?;
    }
    if let Some(path) = &args.html {
        let timeline = report.timeline.take().expect("the timeline was asked for");
        let (title, command) = page_title(&args, &config, &report);
        pages::write(path, timeline, &title, &command).map_err(InputError)?;
    }
    if args.json {
        print_json(&config, &report);
    } else {
        print_human(&args, &config, &report)?;
    }
    Ok(if report.verdict.is_pass() {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}

/// The seed's drawn configuration, or the scenario's.
fn configuration(args: &ReplayArgs) -> Result<SimConfig, InputError> {
    let pins = &args.config.pins;
    if let Some(path) = &args.scenario {
        if *pins != Pins::default() {
            return Err(InputError::new(
                "--scenario takes no configuration flags: the file holds the whole configuration",
            ));
        }
        return input::load_scenario_config(path);
    }
    let seed = args.seed.expect("clap requires --seed without --scenario");
    pins.draw_checked(seed)
        .map_err(|error| InputError(format!("configuration flags: {error}")))
}

fn pretty(config: &SimConfig) -> String {
    serde_json::to_string_pretty(config).expect("a configuration always serializes")
}

fn print_human(
    args: &ReplayArgs,
    config: &SimConfig,
    report: &RunReport,
) -> Result<(), InputError> {
    if args.trace {
        println!();
        println!("trace ({} events):", report.trace.len());
        if print_lines(&report.trace).is_err() {
            // The reader went away (`| head`): nothing more to say.
            return Ok(());
        }
    }
    println!();
    println!(
        "seed {}: {} after {} events, virtual time {}",
        config.seed,
        outcome::label(&report.verdict),
        report.events,
        format_time_us(report.time_us)
    );
    if let Some(core) = &report.heal_core {
        println!("heal: {}", core.describe());
    }
    let counters = serde_json::to_value(report.counters).expect("counters serialize");
    if let Some(fields) = counters.as_object() {
        let line: Vec<String> = fields
            .iter()
            .map(|(name, value)| format!("{name}={value}"))
            .collect();
        println!("counters: {}", line.join(" "));
    }
    for fault in unfired(config, report) {
        let optional = if fault.optional { " (optional)" } else { "" };
        println!("fault {}{optional}", fault.describe());
    }
    if let Some(finding) = outcome::finding(&report.verdict, report.events, report.time_us) {
        match &report.verdict {
            Verdict::Violation(violation) => println!("violation: {violation}"),
            _ => println!("{}", finding.headline()),
        }
        if let Some(event) = finding.event {
            print_context(config, report, event)?;
        }
    }
    if let Some(path) = &args.trace_json {
        println!("wrote the trace to {}", path.display());
    }
    if let Some(path) = &args.html {
        println!("wrote the timeline page to {}", path.display());
    }
    println!("digest: {:#018x}", report.digest);
    Ok(())
}

/// Print every event, stopping quietly if stdout is closed.
fn print_lines(trace: &[TraceEvent]) -> std::io::Result<()> {
    use std::io::Write;
    let mut out = std::io::BufWriter::new(std::io::stdout().lock());
    for event in trace {
        writeln!(out, "{event}")?;
    }
    out.flush()
}

/// The events leading up to and including `event`, and before them those
/// of the client operations the violation implicates (a linearizability
/// failure is found at the end of the run, long after its operations),
/// with `...` where events are left out.
fn print_context(config: &SimConfig, report: &RunReport, event: u64) -> Result<(), InputError> {
    let ops: Vec<(u32, u64)> = match &report.verdict {
        Verdict::Violation(violation) => (violation.ops.iter())
            .map(|&index| &report.history.ops[index])
            .map(|op| (op.client, op.seq))
            .collect(),
        _ => Vec::new(),
    };
    let context = sim::trace::context(config, event, TRACE_CONTEXT_EVENTS, &ops)
        .map_err(|error| InputError(format!("configuration: {error}")))?;
    println!();
    if ops.is_empty() {
        println!("the {} events up to event {event}:", context.len());
    } else {
        let named: Vec<String> = (ops.iter())
            .map(|(client, seq)| format!("client {client} seq {seq}"))
            .collect();
        println!(
            "the events of {}, and the last events up to event {event}:",
            named.join(" and ")
        );
    }
    let mut previous: Option<u64> = None;
    for traced in &context {
        if previous.is_some_and(|index| traced.index > index + 1) {
            println!("    ...");
        }
        previous = Some(traced.index);
        println!("{traced}");
    }
    println!();
    Ok(())
}

/// The page's title, `seed 28 --flaw stale-leader-read: linearizability` or
/// the scenario's, and the command that replays the run.
fn page_title(args: &ReplayArgs, config: &SimConfig, report: &RunReport) -> (String, String) {
    let outcome = report.verdict.label();
    match &args.scenario {
        Some(path) => (
            format!("{}: {outcome}", path.display()),
            format!("paxsim replay --scenario {}", path.display()),
        ),
        None => {
            let command = summary::replay_command(config.seed, &args.config.pins);
            let flags = command.trim_start_matches("paxsim replay --");
            (format!("{flags}: {outcome}"), command)
        }
    }
}

fn print_json(config: &SimConfig, report: &RunReport) {
    let finding = outcome::finding(&report.verdict, report.events, report.time_us);
    let object = json!({
        "seed": config.seed,
        "outcome": report.verdict.outcome(),
        "invariant": report.verdict.invariant_name(),
        "events": report.events,
        "time_us": report.time_us,
        "digest": format!("{:#018x}", report.digest),
        "message": finding.as_ref().map(|finding| finding.message.clone()),
        "event": finding.as_ref().and_then(|finding| finding.event),
        "violation": match &report.verdict {
            Verdict::Violation(violation) => json!(violation),
            _ => serde_json::Value::Null,
        },
        "counters": report.counters,
        "heal": report.heal_core,
        "efficiency": report.efficiency,
        "unfired_faults": unfired(config, report)
            .iter()
            .map(outcome::UnfiredFault::to_json)
            .collect::<Vec<_>>(),
        "probes": report
            .probes
            .iter()
            .map(|(name, hits)| (name.to_string(), json!(hits)))
            .collect::<serde_json::Map<String, serde_json::Value>>(),
        "config": config,
    });
    println!("{object}");
}

/// A seed that asks for quorums that need not intersect, refused by
/// validation as it must be: the seed's correct outcome.
fn report_refused(args: &ReplayArgs, config: &SimConfig, refusal: &str) -> ExitCode {
    if args.json {
        let object = json!({
            "seed": config.seed,
            "outcome": "refused",
            "invariant": null,
            "events": 0,
            "digest": null,
            "message": refusal,
            "config": config,
        });
        println!("{object}");
    } else {
        println!();
        println!(
            "seed {}: refused as expected (its quorums need not intersect): {refusal}",
            config.seed
        );
    }
    ExitCode::SUCCESS
}

/// The explicit faults the run never fired, each with why.
fn unfired(config: &SimConfig, report: &RunReport) -> Vec<outcome::UnfiredFault> {
    outcome::unfired_faults(
        config,
        &report.unfired_faults,
        report.heal_us,
        report.time_us,
    )
}

fn report_panic(args: &ReplayArgs, config: &SimConfig, panic: &str) -> ExitCode {
    if args.json {
        let object = json!({
            "seed": config.seed,
            "outcome": outcome::PANIC,
            "invariant": outcome::PANIC,
            "events": null,
            "digest": null,
            "message": panic,
            "config": config,
        });
        println!("{object}");
    } else {
        println!();
        println!("seed {}: panic: {panic}", config.seed);
        println!("digest: none (the run panicked)");
    }
    ExitCode::from(1)
}

fn write_trace_json(path: &Path, trace: &[TraceEvent]) -> Result<(), InputError> {
    let mut text = String::new();
    for event in trace {
        text.push_str(&serde_json::to_string(event).expect("trace events serialize"));
        text.push('\n');
    }
    atomic::write(path, text.as_bytes()).map_err(InputError)
}
