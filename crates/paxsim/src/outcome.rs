//! One run's outcome as the harness reports it, and running a configuration
//! with panics caught and, when asked, twice to check determinism.
//!
//! Outcomes are named by one word, the *label*: `pass`, an invariant name
//! (`linearizability`, ...), `limit`, `inconclusive`, `panic`, or
//! `nondeterministic`; a run cut short is `stopped` and one run without
//! its checkers `unchecked`; a configuration validation refused as it must
//! (quorums that need not intersect) is `refused`: correct, but nothing
//! ran, so never called a pass. Expectations in scenario and corpus files use
//! the same words (but the last two, which a file's run cannot have).
//! Everything but `pass` is not a pass.

use serde::{Deserialize, Serialize};

use sim::{
    Admission, Counters, Invariant, LimitKind, Probes, RunOptions, SimConfig, Trigger, Verdict,
};

use crate::guarded;

pub const PASS: &str = "pass";
/// Validation refused the configuration, as the specification says it
/// must: the right outcome, with nothing run.
pub const REFUSED: &str = "refused";
pub const PANIC: &str = "panic";
pub const NONDETERMINISTIC: &str = "nondeterministic";
/// The configuration did not validate; only the campaign can meet this,
/// when pins and a drawn configuration disagree.
pub const INVALID_CONFIG: &str = "invalid-config";

/// Every label a file may expect. `stopped` and `unchecked` are not among
/// them: the harness runs every file to its end with every checker on.
pub fn labels() -> Vec<&'static str> {
    let mut labels = vec![PASS, REFUSED];
    labels.extend(Invariant::ALL.iter().map(|invariant| invariant.name()));
    labels.extend(["limit", "inconclusive", PANIC, NONDETERMINISTIC]);
    labels
}

/// An expected outcome: one of [`labels`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Expect(pub &'static str);

impl Expect {
    pub fn from_name(name: &str) -> Result<Expect, String> {
        labels()
            .into_iter()
            .find(|label| *label == name)
            .map(Expect)
            .ok_or_else(|| {
                format!(
                    "unknown expectation `{name}`, expected one of: {}",
                    labels().join(", ")
                )
            })
    }
}

impl Serialize for Expect {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.0)
    }
}

impl<'de> Deserialize<'de> for Expect {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Expect, D::Error> {
        let name = String::deserialize(deserializer)?;
        Expect::from_name(&name).map_err(serde::de::Error::custom)
    }
}

/// Where and why a run failed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Finding {
    pub label: &'static str,
    pub event: Option<u64>,
    pub time_us: Option<u64>,
    pub slot: Option<u64>,
    pub key: Option<String>,
    pub node: Option<u8>,
    /// One line (a violation's Display may add evidence lines).
    pub message: String,
}

impl Finding {
    /// A finding with no place in a run: a panic, nondeterminism, a bad config.
    pub fn bare(label: &'static str, message: String) -> Finding {
        Finding {
            label,
            event: None,
            time_us: None,
            slot: None,
            key: None,
            node: None,
            message,
        }
    }

    /// `label location: message`, the location left out when unknown.
    pub fn headline(&self) -> String {
        let location = self.location();
        if location.is_empty() {
            format!("{}: {}", self.label, self.message)
        } else {
            format!("{} {location}: {}", self.label, self.message)
        }
    }

    /// `at event 12 (t=3.004ms) slot 4 key k node 2`, as much as is known.
    pub fn location(&self) -> String {
        location(
            self.event,
            self.time_us.map(format_time_us).as_deref(),
            self.slot,
            self.key.as_deref(),
            self.node,
        )
    }
}

/// Virtual time as seconds with microseconds: `1.234567s`.
/// Where a finding happened, as much as is known:
/// `at event 12 (t=0.003004s) slot 4 key k node 2`. One wording for live
/// findings and for those read back from a summary.
pub fn location(
    event: Option<u64>,
    time: Option<&str>,
    slot: Option<u64>,
    key: Option<&str>,
    node: Option<u8>,
) -> String {
    let mut parts = Vec::new();
    if let Some(event) = event {
        parts.push(format!("at event {event}"));
    }
    if let Some(time) = time {
        parts.push(format!("(t={time})"));
    }
    if let Some(slot) = slot {
        parts.push(format!("slot {slot}"));
    }
    if let Some(key) = key {
        parts.push(format!("key {key}"));
    }
    if let Some(node) = node {
        parts.push(format!("node {node}"));
    }
    parts.join(" ")
}

pub fn format_time_us(time_us: u64) -> String {
    format!("{}.{:06}s", time_us / 1_000_000, time_us % 1_000_000)
}

/// The word for a verdict.
pub fn label(verdict: &Verdict) -> &'static str {
    verdict.label()
}

/// The finding a report carries, if it is not a pass.
pub fn finding(verdict: &Verdict, events: u64, time_us: u64) -> Option<Finding> {
    match verdict {
        Verdict::Pass => None,
        Verdict::Violation(violation) => Some(Finding {
            label: violation.invariant.name(),
            event: Some(violation.event),
            time_us: Some(violation.time_us),
            slot: violation.slot,
            key: violation.key.clone(),
            node: violation.node,
            message: message_with_evidence(violation),
        }),
        Verdict::Inconclusive { key, steps } => Some(Finding {
            key: Some(key.clone()),
            ..Finding::bare(
                "inconclusive",
                format!("the linearizability search gave up after {steps} steps"),
            )
        }),
        Verdict::Limit(kind) => {
            let bound = match kind {
                LimitKind::Steps => "limits.steps_max",
                LimitKind::Time => "limits.time_us_max",
                LimitKind::Queue => "limits.queued_events_max",
                LimitKind::Log => "limits.log_slots_max",
            };
            Some(Finding {
                event: Some(events.saturating_sub(1)),
                time_us: Some(time_us),
                ..Finding::bare("limit", format!("the run hit {bound} before it finished"))
            })
        }
        Verdict::Stopped { after_event } => Some(Finding {
            event: Some(*after_event),
            time_us: Some(time_us),
            ..Finding::bare(
                verdict.label(),
                format!(
                    "the run was stopped after event {after_event}, before its end and its final checks"
                ),
            )
        }),
        Verdict::Unchecked => Some(Finding::bare(
            verdict.label(),
            "the run went to its end with the checkers off: nothing was checked".into(),
        )),
        Verdict::Diverged { step, reason } => Some(Finding {
            event: Some(*step),
            time_us: Some(time_us),
            ..Finding::bare(
                verdict.label(),
                format!("schedule[{step}] cannot be followed: {reason}"),
            )
        }),
    }
}

/// The violation's message and, one per line below it, its evidence.
fn message_with_evidence(violation: &sim::Violation) -> String {
    // Display puts the located message on the first line(s) and one
    // evidence item per line after it.
    let display = violation.to_string();
    let message_lines = violation.message.lines().count().max(1);
    let mut text = violation.message.clone();
    for evidence in display.lines().skip(message_lines) {
        text.push('\n');
        text.push_str(evidence.trim_start());
    }
    text
}

/// An explicit fault of a configuration that never fired.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct UnfiredFault {
    /// Its index in the configuration's `faults`.
    pub index: usize,
    /// Marked `"optional": true`: the file does not mind.
    pub optional: bool,
    /// Why, as far as the run shows.
    pub why: String,
}

impl UnfiredFault {
    /// `faults[3] never fired (it was due at ...)`.
    pub fn describe(&self) -> String {
        format!("faults[{}] never fired ({})", self.index, self.why)
    }

    pub fn to_json(&self) -> serde_json::Value {
        serde_json::json!({"index": self.index, "optional": self.optional, "why": self.why})
    }
}

/// The explicit faults of `config` at `unfired`, each with why it did not
/// fire: its time came after the heal or after the end, or its trigger
/// never matched while faults could strike.
pub fn unfired_faults(
    config: &SimConfig,
    unfired: &[usize],
    heal_us: Option<u64>,
    end_us: u64,
) -> Vec<UnfiredFault> {
    let window = match heal_us {
        Some(heal_us) => format!("before the heal phase began at {heal_us}us"),
        None => format!("before the run ended at {end_us}us"),
    };
    unfired
        .iter()
        .map(|&index| {
            let fault = &config.faults[index];
            let why = match &fault.trigger {
                Trigger::At { time_us } => match heal_us {
                    Some(heal_us) if *time_us >= heal_us => format!(
                        "it was due at {time_us}us, at or after the heal phase began at {heal_us}us"
                    ),
                    _ => format!("it was due at {time_us}us, after the run ended at {end_us}us"),
                },
                Trigger::OnSend { node, message, nth } => {
                    format!("node {node} did not send {message} number {nth} {window}")
                }
                Trigger::OnAccept { node, slot } => {
                    format!("node {node} did not accept in slot {slot} {window}")
                }
                Trigger::DuringSend { node, message, nth } => {
                    format!("node {node} did not send {message} number {nth} {window}")
                }
                Trigger::OnWrite { node, record, nth } => {
                    format!("node {node} did not write {record} record number {nth} {window}")
                }
            };
            UnfiredFault {
                index,
                optional: fault.optional,
                why,
            }
        })
        .collect()
}

/// What one configuration came to.
#[derive(Clone, Debug)]
pub struct Outcome {
    pub label: &'static str,
    pub events: u64,
    /// Absent when the run panicked.
    pub digest: Option<u64>,
    pub probes: Probes,
    /// The run's counters (all zero when it panicked): operations invoked,
    /// completed and abandoned among them.
    pub counters: Counters,
    /// `None` on a pass.
    pub finding: Option<Finding>,
    /// The explicit faults that never fired (none when the run panicked).
    pub unfired_faults: Vec<UnfiredFault>,
    /// The configuration asks for quorums that need not intersect and
    /// validation refused it, as it must: a pass with nothing run, so no
    /// operation (`sim::admission`).
    pub refused: bool,
    /// Set when a second run of the same configuration differed.
    pub nondeterminism: Option<String>,
}

impl Outcome {
    pub fn is_pass(&self) -> bool {
        self.finding.is_none() && self.nondeterminism.is_none()
    }

    /// The faults that never fired and are not marked optional.
    pub fn required_unfired(&self) -> impl Iterator<Item = &UnfiredFault> {
        self.unfired_faults.iter().filter(|fault| !fault.optional)
    }

    /// The label a file's expectation is compared with: nondeterminism
    /// overrides whatever the first run found.
    pub fn actual(&self) -> &'static str {
        if self.nondeterminism.is_some() {
            NONDETERMINISTIC
        } else {
            self.label
        }
    }
}

/// Run `config`, catching panics; with `recheck`, run it a second time and
/// compare digests, event counts and verdicts.
pub fn run(config: &SimConfig, recheck: bool) -> Outcome {
    let first = run_once(config);
    let mut outcome = match &first {
        Ok(report) => Outcome {
            label: if report.refused {
                REFUSED
            } else {
                label(&report.verdict)
            },
            events: report.events,
            digest: Some(report.digest),
            probes: report.probes,
            counters: report.counters,
            finding: finding(&report.verdict, report.events, report.time_us),
            unfired_faults: unfired_faults(
                config,
                &report.unfired_faults,
                report.heal_us,
                report.time_us,
            ),
            refused: report.refused,
            nondeterminism: None,
        },
        Err(finding) => Outcome {
            label: finding.label,
            events: 0,
            digest: None,
            probes: Probes::default(),
            counters: Counters::default(),
            finding: Some(finding.clone()),
            unfired_faults: Vec::new(),
            refused: false,
            nondeterminism: None,
        },
    };
    if recheck && outcome.digest.is_some() {
        let second = run_once(config);
        outcome.nondeterminism = compare(&first, &second);
    }
    outcome
}

/// A fingerprint of a finished run: equal for equal runs.
type Fingerprint = (u64, u64, &'static str);

fn run_once(config: &SimConfig) -> Result<RunSummary, Finding> {
    let config = config.clone();
    let result = guarded::catch(move || {
        sim::admit(config, RunOptions::default()).map(|admission| match admission {
            Admission::Run(simulation) => {
                let report = simulation.run();
                RunSummary {
                    verdict: report.verdict,
                    events: report.events,
                    digest: report.digest,
                    time_us: report.time_us,
                    probes: report.probes,
                    counters: report.counters,
                    unfired_faults: report.unfired_faults,
                    heal_us: report.heal_us,
                    refused: false,
                }
            }
            // Refused as the specification says it must be: the seed's
            // correct outcome, counted by its probe. Nothing ran, so it
            // has no operations and no faults.
            Admission::Refused { probes, .. } => RunSummary {
                verdict: Verdict::Pass,
                events: 0,
                digest: 0,
                time_us: 0,
                probes,
                counters: Counters::default(),
                unfired_faults: Vec::new(),
                heal_us: None,
                refused: true,
            },
        })
    });
    match result {
        Ok(Ok(summary)) => Ok(summary),
        Ok(Err(invalid)) => Err(Finding::bare(INVALID_CONFIG, invalid)),
        Err(panic) => Err(Finding::bare(PANIC, panic)),
    }
}

/// The parts of a report the harness keeps; the history and trace go.
struct RunSummary {
    verdict: Verdict,
    events: u64,
    digest: u64,
    time_us: u64,
    probes: Probes,
    counters: Counters,
    unfired_faults: Vec<usize>,
    heal_us: Option<u64>,
    /// Refused by validation as the specification says it must be.
    refused: bool,
}

impl RunSummary {
    fn fingerprint(&self) -> Fingerprint {
        (self.digest, self.events, label(&self.verdict))
    }
}

fn compare(
    first: &Result<RunSummary, Finding>,
    second: &Result<RunSummary, Finding>,
) -> Option<String> {
    let describe = |run: &Result<RunSummary, Finding>| match run {
        Ok(summary) => {
            let (digest, events, label) = summary.fingerprint();
            format!("{label} after {events} events, digest {digest:#018x}")
        }
        Err(finding) => format!("{}: {}", finding.label, finding.message),
    };
    let same = match (first, second) {
        (Ok(a), Ok(b)) => a.fingerprint() == b.fingerprint(),
        _ => false,
    };
    (!same).then(|| {
        format!(
            "two runs of one configuration differ: first {}; then {}",
            describe(first),
            describe(second)
        )
    })
}
