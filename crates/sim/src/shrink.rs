//! Shrinking: from a failing seed to a minimal regression scenario.
//!
//! A failing seed is first *materialized*: its random fault plan becomes an
//! explicit schedule and its clients' operations become explicit scripts,
//! all of them: those issued before the failure and those still to come.
//! The materialized configuration replays the original run exactly (same
//! digest), because the fault plan and the operation draws come from their
//! own streams and scripted clients draw the same numbers as drawing ones.
//!
//! Then it is *minimized* greedily, for as long as the run still fails with
//! the same invariant: remove faults (delta-debugging chunks, then one by
//! one), clients, and operations; lower drop, duplicate and tail rates;
//! simplify the disk (no torn writes, corrupt records or read errors, an
//! instant disk, no explicit storage faults); shorten delays, fault durations and the chaos phase; use fewer keys,
//! majority quorums and fewer nodes; heal every node; renumber keys and
//! drop operations' hold-back times. Every
//! step is a full run of the candidate; candidates come in a fixed order,
//! so the same input always gives the same output.
//!
//! A caller may abandon a shrink ([`shrink_with`]): the hook it passes is
//! asked before every run, and once it says so no further run starts.

use crate::config::{ScriptedOp, SimConfig};
use crate::faults::{self, FaultAction, FaultRates, Partition, ScheduledFault, Trigger};
use crate::simulation::{RunOptions, RunReport, Simulation};
use crate::workload::scripts_of;

/// Candidate runs one shrink may spend, by default.
pub const RUNS_MAX_DEFAULT: u64 = 10_000;

/// Other seeds a candidate may try when its own seed no longer fails. A
/// smaller scenario shifts every later random draw, so a timing-sensitive
/// failure often needs a nearby seed to show again; the seed is part of the
/// scenario, and changing it is a legitimate simplification.
pub const SEED_ALTERNATIVES: u64 = 8;

/// How big a scenario is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize)]
pub struct Sizes {
    pub faults: usize,
    pub ops: usize,
    pub events: u64,
}

impl Sizes {
    pub(crate) fn of(config: &SimConfig, report: &RunReport) -> Sizes {
        Sizes {
            faults: config.faults.len(),
            ops: config.workload.scripts.iter().map(Vec::len).sum(),
            events: report.events,
        }
    }
}

/// What shrinking produced.
#[derive(Debug)]
pub struct Shrunk {
    /// The seed's run, materialized: explicit faults and scripts.
    pub materialized: SimConfig,
    pub shrunk: SimConfig,
    /// What both fail with: an invariant's name, `limit` or `inconclusive`.
    pub invariant: &'static str,
    pub before: Sizes,
    pub after: Sizes,
    /// Candidate runs spent.
    pub runs: u64,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ShrinkError {
    Invalid(String),
    /// The configuration does not fail: nothing to shrink.
    Passes,
    /// The materialized scenario did not fail the same way as the seed.
    NotReproduced {
        expected: &'static str,
        actual: Option<&'static str>,
    },
    /// The caller's hook asked to stop, after `runs` runs.
    Abandoned {
        runs: u64,
    },
}

impl std::fmt::Display for ShrinkError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ShrinkError::Invalid(error) => write!(f, "invalid configuration: {error}"),
            ShrinkError::Passes => write!(f, "the run passes: there is no failure to shrink"),
            ShrinkError::NotReproduced { expected, actual } => write!(
                f,
                "the materialized scenario failed with {} instead of {expected}",
                actual.unwrap_or("nothing (it passed)")
            ),
            ShrinkError::Abandoned { runs } => {
                write!(f, "the shrink was abandoned after {runs} runs")
            }
        }
    }
}

fn run(config: &SimConfig) -> Option<RunReport> {
    let options = RunOptions::default();
    Some(Simulation::new(config.clone(), options).ok()?.run())
}

/// Turn `config`'s random faults and drawn operations into an explicit
/// schedule and scripts, and its drawn heal core into an explicit one (so
/// that a candidate on another seed keeps it). Returns the materialized
/// configuration and the run it was read from.
pub fn materialize(config: &SimConfig) -> Result<(SimConfig, RunReport), String> {
    let report = Simulation::new(config.clone(), RunOptions::default())?.run();
    let draws = faults::draw(config);
    let mut materialized = config.clone();
    materialized.faults.extend(draws.planned);
    materialized.fault_rates = FaultRates::NONE;
    if !draws.heal.is_full() {
        materialized.heal.core_nodes = None;
        materialized.heal.core = Some(draws.heal.core);
        materialized.heal.excluded = Some(draws.heal.how);
    }
    materialized.workload.scripts = scripts_of(
        config.seed,
        &config.workload,
        config.cluster.nodes,
        &report.history,
    );
    Ok((materialized, report))
}

/// Materialize `config`, check it fails like the seed, and minimize it.
pub fn shrink(config: &SimConfig, runs_max: u64) -> Result<Shrunk, ShrinkError> {
    shrink_with(config, runs_max, &|| false)
}

/// [`shrink`], abandoned once `cancelled` says so: it is asked before every
/// run (the seed's, the materialized check, each candidate, the last), so a
/// shrink stops within one run of being told. A run is bounded by its
/// `limits.steps_max`.
pub fn shrink_with(
    config: &SimConfig,
    runs_max: u64,
    cancelled: &dyn Fn() -> bool,
) -> Result<Shrunk, ShrinkError> {
    config.validate().map_err(ShrinkError::Invalid)?;
    if cancelled() {
        return Err(ShrinkError::Abandoned { runs: 0 });
    }
    if !config.schedule.is_empty() {
        // An exact schedule shrinks by its steps (`schedule::shrink`).
        return crate::schedule::shrink::shrink(config, runs_max, cancelled);
    }
    let (materialized, report) = materialize(config).map_err(ShrinkError::Invalid)?;
    let Some(invariant) = report.verdict.invariant_name() else {
        return Err(ShrinkError::Passes);
    };
    if cancelled() {
        return Err(ShrinkError::Abandoned { runs: 1 });
    }
    let replay = run(&materialized).expect("a materialized configuration stays valid");
    if replay.verdict.invariant_name() != Some(invariant) {
        return Err(ShrinkError::NotReproduced {
            expected: invariant,
            actual: replay.verdict.invariant_name(),
        });
    }
    let before = Sizes::of(&materialized, &replay);
    let mut shrinker = Shrinker {
        invariant,
        runs: 0,
        runs_max,
        current: materialized.clone(),
        cancelled,
        abandoned: false,
    };
    shrinker.minimize();
    if shrinker.abandoned || cancelled() {
        return Err(ShrinkError::Abandoned {
            runs: shrinker.runs + 2,
        });
    }
    let mut shrunk = shrinker.current;
    let last = run(&shrunk).expect("the shrunk configuration is valid");
    assert_eq!(
        last.verdict.invariant_name(),
        Some(invariant),
        "shrinking must keep the failure"
    );
    // A fault left that never fired is one removing it changed the run
    // (or the budget ran out first): keep it, marked optional, since a
    // scenario with a required fault that never fires fails `paxsim run`.
    // The mark changes nothing in the run.
    for &index in &last.unfired_faults {
        shrunk.faults[index].optional = true;
    }
    Ok(Shrunk {
        materialized,
        after: Sizes::of(&shrunk, &last),
        shrunk,
        invariant,
        before,
        runs: shrinker.runs + 2,
    })
}

struct Shrinker<'a> {
    invariant: &'static str,
    runs: u64,
    runs_max: u64,
    current: SimConfig,
    /// Asked before every candidate run.
    cancelled: &'a dyn Fn() -> bool,
    /// `cancelled` said so: no candidate runs any more.
    abandoned: bool,
}

impl Shrinker<'_> {
    /// Still fails the same way? Spends one run; false once out of budget
    /// or abandoned.
    fn fails(&mut self, candidate: &SimConfig) -> bool {
        if self.abandoned || self.runs >= self.runs_max || candidate.validate().is_err() {
            return false;
        }
        if (self.cancelled)() {
            self.abandoned = true;
            return false;
        }
        self.runs += 1;
        run(candidate).is_some_and(|report| report.verdict.invariant_name() == Some(self.invariant))
    }

    /// Adopt `candidate` if it still fails, with its own seed or, failing
    /// that, with one of a few alternative seeds derived from it.
    fn try_adopt(&mut self, mut candidate: SimConfig) -> bool {
        if candidate == self.current {
            return false;
        }
        let seed = candidate.seed;
        for alternative in 0..=SEED_ALTERNATIVES {
            candidate.seed = seed.wrapping_add(alternative.wrapping_mul(0x9e37_79b9_7f4a_7c15));
            if self.fails(&candidate) {
                self.current = candidate;
                return true;
            }
        }
        false
    }

    fn minimize(&mut self) {
        // Keep the chaos phase for its whole length, if the failure allows:
        // then operations are no longer needed just to keep the run going
        // until a late fault strikes, and can be removed.
        let mut candidate = self.current.clone();
        candidate.heal_when_clients_done = false;
        self.try_adopt(candidate);
        loop {
            let size_before = self.size();
            self.remove_faults();
            self.remove_clients();
            self.remove_keys();
            self.remove_ops();
            self.simpler_ops();
            self.simplify_network();
            self.simplify_disk();
            self.shorten_times();
            self.fewer_keys();
            self.majority_quorums();
            self.fewer_nodes();
            self.full_heal();
            self.tidy_scripts();
            if self.size() >= size_before || self.runs >= self.runs_max || self.abandoned {
                return;
            }
        }
    }

    /// A measure that every accepted step lowers or keeps: faults, then
    /// operations, then compare-and-sets among them, then the chaos phase.
    fn size(&self) -> (usize, usize, usize, u64) {
        let config = &self.current;
        let ops = config.workload.scripts.iter().flatten();
        let cas = ops
            .clone()
            .filter(|op| matches!(op, ScriptedOp::Cas { .. }))
            .count();
        (config.faults.len(), ops.count(), cas, config.chaos_us)
    }

    /// Delta debugging over a list: remove chunks of halving size.
    fn remove_chunks<T: Clone>(
        &mut self,
        get: impl Fn(&SimConfig) -> &Vec<T>,
        set: impl Fn(&mut SimConfig, Vec<T>),
    ) {
        let mut chunk = get(&self.current).len().div_ceil(2);
        while chunk >= 1 {
            let mut start = 0;
            while start < get(&self.current).len() {
                let items = get(&self.current);
                let end = (start + chunk).min(items.len());
                let kept: Vec<T> = items[..start]
                    .iter()
                    .chain(&items[end..])
                    .cloned()
                    .collect();
                let mut candidate = self.current.clone();
                set(&mut candidate, kept);
                if !self.try_adopt(candidate) {
                    start += chunk;
                }
            }
            if chunk == 1 {
                break;
            }
            chunk = chunk.div_ceil(2);
        }
    }

    fn remove_faults(&mut self) {
        self.remove_chunks(
            |config| &config.faults,
            |config, faults| config.faults = faults,
        );
    }

    fn remove_clients(&mut self) {
        // From the last client down, so removal renumbers as few as possible.
        let mut client = self.current.workload.clients as usize;
        while client > 0 {
            client -= 1;
            if self.current.workload.clients == 1 {
                return;
            }
            let mut candidate = self.current.clone();
            candidate.workload.scripts.remove(client);
            candidate.workload.clients -= 1;
            if !self.try_adopt(candidate) && !self.current.workload.scripts[client].is_empty() {
                let mut emptied = self.current.clone();
                emptied.workload.scripts[client].clear();
                self.try_adopt(emptied);
            }
        }
    }

    fn remove_ops(&mut self) {
        for client in 0..self.current.workload.scripts.len() {
            self.remove_chunks(
                |config| &config.workload.scripts[client],
                |config, script| config.workload.scripts[client] = script,
            );
        }
    }

    /// Every operation on one key, across clients, at once: the operations
    /// a failure does not need are often those on other keys, and removing
    /// them one at a time can shift the timing each removal needs.
    fn remove_keys(&mut self) {
        for key in 0..self.current.workload.keys {
            let mut candidate = self.current.clone();
            for script in &mut candidate.workload.scripts {
                script.retain(|op| op.key() != key);
            }
            self.try_adopt(candidate);
        }
    }

    /// A compare-and-set as a plain put, all at once and then one by one,
    /// if the failure allows: a put always writes, so the operations left
    /// depend less on one another and more of them can go.
    fn simpler_ops(&mut self) {
        let as_put = |op: &mut ScriptedOp| {
            if let ScriptedOp::Cas {
                key,
                at_us,
                after_heal,
                ..
            } = *op
            {
                *op = ScriptedOp::Put {
                    key,
                    at_us,
                    after_heal,
                };
            }
        };
        let mut candidate = self.current.clone();
        candidate
            .workload
            .scripts
            .iter_mut()
            .flatten()
            .for_each(as_put);
        self.try_adopt(candidate);
        for client in 0..self.current.workload.scripts.len() {
            for index in 0..self.current.workload.scripts[client].len() {
                if matches!(
                    self.current.workload.scripts[client][index],
                    ScriptedOp::Cas { .. }
                ) {
                    let mut candidate = self.current.clone();
                    as_put(&mut candidate.workload.scripts[client][index]);
                    self.try_adopt(candidate);
                }
            }
        }
    }

    fn simplify_network(&mut self) {
        let edits: [fn(&mut SimConfig); 6] = [
            |c| c.network.drop_ppm = 0,
            |c| c.network.duplicate_ppm = 0,
            |c| c.network.tail_ppm = 0,
            |c| c.network.tail_delay_us_max = Some(c.network.delay_us_max),
            |c| {
                c.network.delay_us_max =
                    c.network.delay_us_min + (c.network.delay_us_max - c.network.delay_us_min) / 2
            },
            |c| c.network.drop_ppm /= 2,
        ];
        for edit in edits {
            let mut candidate = self.current.clone();
            edit(&mut candidate);
            self.try_adopt(candidate);
        }
    }

    /// A simpler disk: no torn writes, corrupt records or read errors
    /// (each on its own), then an instant disk, then no explicit storage
    /// faults; each kept only if the failure stays.
    fn simplify_disk(&mut self) {
        let edits: [fn(&mut SimConfig); 5] = [
            |c| c.disk.torn_ppm = 0,
            |c| c.disk.corrupt_ppm = 0,
            |c| c.disk.read_error_ppm = 0,
            |c| {
                c.disk.write_us_min = 0;
                c.disk.write_us_max = 0;
                c.disk.tail_ppm = 0;
                c.disk.tail_us_max = 0;
            },
            |c| {
                c.faults.retain(|fault| {
                    !matches!(
                        fault.action,
                        FaultAction::Corrupt { .. } | FaultAction::ReadError { .. }
                    )
                })
            },
        ];
        for edit in edits {
            let mut candidate = self.current.clone();
            edit(&mut candidate);
            self.try_adopt(candidate);
        }
    }

    fn shorten_times(&mut self) {
        // The chaos phase need not outlast its last timed fault.
        let last_fault_us = self
            .current
            .faults
            .iter()
            .filter_map(|fault| match fault.trigger {
                Trigger::At { time_us } => Some(time_us),
                _ => None,
            })
            .max()
            .unwrap_or(0);
        let mut candidate = self.current.clone();
        candidate.chaos_us = candidate.chaos_us.min(last_fault_us + 1);
        self.try_adopt(candidate);
        for index in 0..self.current.faults.len() {
            let mut candidate = self.current.clone();
            if halve_duration(&mut candidate.faults[index]) {
                self.try_adopt(candidate);
            }
            // Earlier faults let the workload, and the run, end sooner.
            let mut candidate = self.current.clone();
            if let Trigger::At { time_us } = &mut candidate.faults[index].trigger
                && *time_us > 1_000
            {
                *time_us /= 2;
                self.try_adopt(candidate);
            }
        }
        let mut candidate = self.current.clone();
        candidate.workload.think_us_max = 0;
        self.try_adopt(candidate);
    }

    /// Renumber the keys in use densely from 0, and drop every hold-back
    /// time, if the failure allows: a simpler file to read.
    fn tidy_scripts(&mut self) {
        let mut used: Vec<u32> = self
            .current
            .workload
            .scripts
            .iter()
            .flatten()
            .map(ScriptedOp::key)
            .collect();
        used.sort_unstable();
        used.dedup();
        let mut candidate = self.current.clone();
        for op in candidate.workload.scripts.iter_mut().flatten() {
            let rank = used.binary_search(&op.key()).expect("every key is in use") as u32;
            match op {
                ScriptedOp::Put { key, .. }
                | ScriptedOp::Get { key, .. }
                | ScriptedOp::Cas { key, .. } => *key = rank,
            }
        }
        candidate.workload.keys = (used.len() as u32).max(1);
        self.try_adopt(candidate);
        let mut candidate = self.current.clone();
        for op in candidate.workload.scripts.iter_mut().flatten() {
            match op {
                ScriptedOp::Put { at_us, .. }
                | ScriptedOp::Get { at_us, .. }
                | ScriptedOp::Cas { at_us, .. } => *at_us = None,
            }
        }
        self.try_adopt(candidate);
    }

    fn fewer_keys(&mut self) {
        let used = self
            .current
            .workload
            .scripts
            .iter()
            .flatten()
            .map(|op| op.key() + 1)
            .max()
            .unwrap_or(1);
        let mut candidate = self.current.clone();
        candidate.workload.keys = used.min(candidate.workload.keys).max(1);
        self.try_adopt(candidate);
    }

    /// Majority quorums, if the failure does not need the flexible pair.
    fn majority_quorums(&mut self) {
        let mut candidate = self.current.clone();
        candidate.cluster.quorum_phase1 = None;
        candidate.cluster.quorum_phase2 = None;
        self.try_adopt(candidate);
    }

    /// Heal every node, if the failure does not need some kept out.
    fn full_heal(&mut self) {
        let mut candidate = self.current.clone();
        candidate.heal = crate::heal::HealPlan::default();
        self.try_adopt(candidate);
    }

    fn fewer_nodes(&mut self) {
        for nodes in 1..self.current.cluster.nodes {
            let mut candidate = self.current.clone();
            candidate.cluster.nodes = nodes;
            // A partition keeps its cut among the nodes left; any other
            // fault on a node that is gone goes with it.
            for fault in &mut candidate.faults {
                if let FaultAction::Partition { partition, .. } = &mut fault.action {
                    restrict(partition, nodes);
                }
            }
            candidate
                .faults
                .retain(|fault| fault_nodes(fault).iter().all(|node| *node < nodes));
            if let Some(core) = &mut candidate.heal.core {
                core.retain(|node| *node < nodes);
                if core.len() == usize::from(nodes) {
                    candidate.heal = crate::heal::HealPlan::default();
                }
            }
            if self.try_adopt(candidate) {
                return;
            }
        }
    }
}

/// Drop from a partition every node at or above `nodes`. A bridge whose
/// bridge node is gone is left as it is, for the caller to drop.
fn restrict(partition: &mut Partition, nodes: u8) {
    let keep = |list: &mut Vec<u8>| list.retain(|node| *node < nodes);
    match partition {
        Partition::Isolate { .. } => {}
        Partition::Split { side } => keep(side),
        Partition::Bridge {
            bridge,
            left,
            right,
        } => {
            if *bridge < nodes {
                keep(left);
                keep(right);
            }
        }
        Partition::OneWay { from, to } => {
            keep(from);
            keep(to);
        }
        Partition::Groups { groups } => {
            groups.iter_mut().for_each(keep);
            groups.retain(|group| !group.is_empty());
        }
    }
}

/// Every node a fault names, its trigger included.
fn fault_nodes(fault: &ScheduledFault) -> Vec<u8> {
    let mut nodes = fault.action.nodes();
    match &fault.trigger {
        Trigger::At { .. } => {}
        trigger => nodes.extend(trigger.node()),
    }
    nodes
}

/// Halve a fault's down time or duration. False if it has none to halve.
fn halve_duration(fault: &mut ScheduledFault) -> bool {
    let duration = match &mut fault.action {
        FaultAction::Crash { down_us, .. } => down_us.as_mut(),
        FaultAction::Partition { duration_us, .. } => duration_us.as_mut(),
        FaultAction::Pause { duration_us, .. } => Some(duration_us),
        FaultAction::Restart { .. }
        | FaultAction::Heal
        | FaultAction::Corrupt { .. }
        | FaultAction::ReadError { .. } => None,
    };
    match duration {
        Some(duration) if *duration > 1_000 => {
            *duration /= 2;
            true
        }
        _ => false,
    }
}
