//! A run's whole configuration (`SimConfig` and its parts), its file form
//! and its validation.
//!
//! The serde attributes here are the scenario file format: the defaults a
//! file may leave out, probabilities as floats. Drawing one configuration
//! per seed is `swarm`; which options may be pinned instead of drawn is the
//! knob table in `knobs`.

use serde::{Deserialize, Serialize};

use paxos::Config as ClusterConfig;

use crate::disk::DiskConfig;
use crate::edge::probability;
use crate::faults::{FaultRates, ScheduledFault};
use crate::heal::HealPlan;
use crate::rng::{self, Ppm};

/// How every message between two nodes, or a node and a client, travels.
/// In files probabilities are floats in 0..=1 (`drop: 0.05`), ppm inside.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NetworkConfig {
    pub delay_us_min: u64,
    pub delay_us_max: u64,
    /// A message takes the long tail, up to `tail_delay_us_max`, this often.
    #[serde(
        rename = "tail",
        with = "probability",
        default,
        skip_serializing_if = "is_zero"
    )]
    pub tail_ppm: Ppm,
    /// The longest long-tail delay; `None`: no longer than `delay_us_max`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tail_delay_us_max: Option<u64>,
    #[serde(
        rename = "drop",
        with = "probability",
        default,
        skip_serializing_if = "is_zero"
    )]
    pub drop_ppm: Ppm,
    #[serde(
        rename = "duplicate",
        with = "probability",
        default,
        skip_serializing_if = "is_zero"
    )]
    pub duplicate_ppm: Ppm,
}

impl NetworkConfig {
    /// The longest long-tail delay in force.
    pub fn tail_us_max(&self) -> u64 {
        self.tail_delay_us_max.unwrap_or(self.delay_us_max)
    }
}

/// Bounds on the workload, so that a typo cannot make one run take hours.
pub const CLIENTS_MAX: u32 = 1_000;
pub const KEYS_MAX: u32 = 10_000;
pub const OPS_PER_CLIENT_MAX: u32 = 100_000;
pub const HEAL_OPS_PER_CLIENT_MAX: u32 = 1_000;

/// The simulated clients. The defaults are those a scenario file may leave out.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WorkloadConfig {
    pub clients: u32,
    /// Keys are `user_profile:0` .. `user_profile:{keys-1}`; few keys, much contention.
    pub keys: u32,
    /// Operations each client runs from the start, faults or not.
    pub ops_per_client: u32,
    /// Operations each client runs once its first `ops_per_client` are
    /// done and the heal phase has begun (it waits for the heal if need
    /// be), so that every run asks liveness of every client. 0: none.
    #[serde(default = "heal_ops_per_client_default")]
    pub heal_ops_per_client: u32,
    #[serde(default = "Mix::default_for_files")]
    pub mix: Mix,
    #[serde(default = "think_us_max_default")]
    pub think_us_max: u64,
    /// A client retries on another node after this long without an answer.
    #[serde(default = "request_timeout_us_default")]
    pub request_timeout_us: u64,
    /// During the chaos phase a client gives up on an operation after this
    /// many attempts; the operation's outcome is then unknown.
    #[serde(default = "attempts_max_default")]
    pub attempts_max: u32,
    /// Explicit operations, one list per client. When present, client `i`
    /// runs `scripts[i]` instead of drawing `ops_per_client` and
    /// `heal_ops_per_client` operations (its ops marked `after_heal` are
    /// its heal-phase ones), and `clients` must equal `scripts.len()`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub scripts: Vec<Vec<ScriptedOp>>,
}

fn heal_ops_per_client_default() -> u32 {
    1
}

fn think_us_max_default() -> u64 {
    10_000
}

fn request_timeout_us_default() -> u64 {
    200_000
}

fn attempts_max_default() -> u32 {
    4
}

/// The operation mix, summing to one; in files `{"put", "get", "cas"}` as
/// floats.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Mix {
    #[serde(rename = "put", with = "probability")]
    pub put_ppm: Ppm,
    #[serde(rename = "get", with = "probability")]
    pub get_ppm: Ppm,
    #[serde(rename = "cas", with = "probability")]
    pub cas_ppm: Ppm,
}

impl Mix {
    /// Cas gets what Put and Get leave.
    pub fn put_get(put_ppm: Ppm, get_ppm: Ppm) -> Mix {
        assert!(put_ppm + get_ppm <= rng::PPM_ONE);
        Mix {
            put_ppm,
            get_ppm,
            cas_ppm: rng::PPM_ONE - put_ppm - get_ppm,
        }
    }

    /// The mix of a scenario file that gives none.
    pub fn default_for_files() -> Mix {
        Mix::put_get(400_000, 400_000)
    }
}

/// One scripted client operation. Written values are generated, unique per
/// `(client, seq)`, so a script names only the kind and the key. `at_us`,
/// when present, holds the operation back until that virtual time: a
/// materialized failure keeps each operation's original invocation time, so
/// removing one operation does not shift when the others start.
/// `after_heal` holds it back until the heal phase has begun: a client's
/// heal-phase operations, as materialization writes them out.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case", tag = "op", deny_unknown_fields)]
pub enum ScriptedOp {
    Put {
        key: u32,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        at_us: Option<u64>,
        #[serde(default, skip_serializing_if = "is_false")]
        after_heal: bool,
    },
    Get {
        key: u32,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        at_us: Option<u64>,
        #[serde(default, skip_serializing_if = "is_false")]
        after_heal: bool,
    },
    /// `expected_version` absent: the last version this client saw of the key.
    Cas {
        key: u32,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        expected_version: Option<u64>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        at_us: Option<u64>,
        #[serde(default, skip_serializing_if = "is_false")]
        after_heal: bool,
    },
}

impl ScriptedOp {
    pub fn key(&self) -> u32 {
        match self {
            ScriptedOp::Put { key, .. }
            | ScriptedOp::Get { key, .. }
            | ScriptedOp::Cas { key, .. } => *key,
        }
    }

    /// Not before this virtual time, if set.
    pub fn at_us(&self) -> Option<u64> {
        match self {
            ScriptedOp::Put { at_us, .. }
            | ScriptedOp::Get { at_us, .. }
            | ScriptedOp::Cas { at_us, .. } => *at_us,
        }
    }

    /// Not before the heal phase has begun.
    pub fn after_heal(&self) -> bool {
        match self {
            ScriptedOp::Put { after_heal, .. }
            | ScriptedOp::Get { after_heal, .. }
            | ScriptedOp::Cas { after_heal, .. } => *after_heal,
        }
    }
}

/// Bounds on one run. A run that hits `steps_max` or `time_us_max` is
/// reported as a limit, never as a pass. A field a file leaves out takes
/// its default.
///
/// The last three are the heal phase's efficiency budgets (`efficiency`),
/// each over the steady state: from the first slot chosen in the heal
/// phase to the end of the run. Their defaults are ten times the clean
/// core's 99.9th percentile over 100,000 default seeds (README,
/// "Efficiency budgets").
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Limits {
    pub steps_max: u64,
    pub time_us_max: u64,
    /// After the heal phase begins, every outstanding client operation must
    /// complete, and every core replica catch up, within this much virtual
    /// time.
    pub liveness_us: u64,
    /// The linearizability search gives up (inconclusive) past this.
    pub linearizability_steps_max: u64,
    /// Events waiting in the queue at once: a run that would queue more
    /// (a duplication storm, say) ends as a limit, so that no run's memory
    /// grows without bound.
    pub queued_events_max: u64,
    /// Slots chosen in any node's log: the core keeps its whole log (there
    /// is no compaction), so past this a run ends as a limit rather than
    /// hold ever more memory.
    pub log_slots_max: u64,
    /// Leader changes in the steady state (stable-leader mode): new leader
    /// ballots heartbeating after the first slot chosen in the heal phase.
    pub leader_changes_max: u64,
    /// Messages between nodes per slot chosen in the steady state.
    pub messages_per_command_max: u64,
    /// Retries (a timeout, then the request again) one operation may take
    /// in the heal phase.
    pub retries_per_op_max: u32,
}

impl Default for Limits {
    fn default() -> Limits {
        Limits {
            steps_max: 2_000_000,
            time_us_max: 600_000_000,
            liveness_us: 30_000_000,
            linearizability_steps_max: crate::linearizability::BUDGET_STEPS_DEFAULT,
            queued_events_max: 100_000,
            log_slots_max: 5_000,
            leader_changes_max: LEADER_CHANGES_MAX_DEFAULT,
            messages_per_command_max: MESSAGES_PER_COMMAND_MAX_DEFAULT,
            retries_per_op_max: RETRIES_PER_OP_MAX_DEFAULT,
        }
    }
}

/// The efficiency budgets' defaults: ten times the clean core's 99.9th
/// percentile over the 88,650 judged runs of default seeds 0..100,000
/// (`paxsim bench --only budgets`): leader changes p99.9 5 (max 8),
/// messages per command p99.9 264 (max 854), retries per operation
/// p99.9 15 (max 35).
pub const LEADER_CHANGES_MAX_DEFAULT: u64 = 50;
pub const MESSAGES_PER_COMMAND_MAX_DEFAULT: u64 = 2_640;
pub const RETRIES_PER_OP_MAX_DEFAULT: u32 = 150;

impl Limits {
    fn is_default(&self) -> bool {
        *self == Limits::default()
    }
}

/// Everything that shapes one run. Serializable, so a drawn configuration
/// can be printed in full, saved, and replayed; a scenario file is this
/// object plus a name and an expectation, with the defaults its serde
/// attributes give (`scenarios/README.md` lists them).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SimConfig {
    pub seed: u64,
    pub cluster: ClusterConfig,
    pub network: NetworkConfig,
    pub workload: WorkloadConfig,
    /// How long faults are injected before the heal phase.
    pub chaos_us: u64,
    /// Begin the heal phase as soon as every client has finished its
    /// chaos-phase operations (its first `ops_per_client`, or its script
    /// up to its first `after_heal` operation), rather than at `chaos_us`:
    /// nothing is left to disturb, so the run ends sooner.
    #[serde(default = "yes", skip_serializing_if = "is_true")]
    pub heal_when_clients_done: bool,
    /// Random faults drawn from the seed; none unless given.
    #[serde(default = "no_fault_rates", skip_serializing_if = "is_no_fault_rates")]
    pub fault_rates: FaultRates,
    /// Explicit faults, in addition to the random ones the rates draw.
    #[serde(default)]
    pub faults: Vec<ScheduledFault>,
    /// How each node's disk behaves; absent: instant, with no faults.
    #[serde(default, skip_serializing_if = "DiskConfig::is_default")]
    pub disk: DiskConfig,
    /// Which nodes the heal phase brings back, and how it keeps the others
    /// out; absent: every node.
    #[serde(default, skip_serializing_if = "HealPlan::is_full")]
    pub heal: HealPlan,
    #[serde(default, skip_serializing_if = "Limits::is_default")]
    pub limits: Limits,
    /// An exact schedule (`schedule`): when present, the run takes these
    /// steps in order, each naming the pending event it handles (a message
    /// delivered, dropped or duplicated, a timer, a crash or restart, a
    /// client's invocation or timeout), instead of the queue's order and
    /// the random draws; then it ends. `paxsim explore` writes them.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub schedule: Vec<crate::explore::Action>,
}

impl SimConfig {
    /// Check everything a run relies on; the message names the field.
    /// Every number's bounds are checked first, in one place (`bounds`).
    pub fn validate(&self) -> Result<(), String> {
        self.cluster
            .validate()
            .map_err(|error| format!("cluster.{}: {error}", error.field()))?;
        crate::bounds::check(self)?;
        let network = &self.network;
        if network.delay_us_min > network.delay_us_max {
            return Err(format!(
                "network.delay_us_min ({}) is above network.delay_us_max ({})",
                network.delay_us_min, network.delay_us_max
            ));
        }
        if let Some(tail_us_max) = network.tail_delay_us_max
            && tail_us_max < network.delay_us_max
        {
            return Err(format!(
                "network.tail_delay_us_max ({tail_us_max}) is below network.delay_us_max ({})",
                network.delay_us_max
            ));
        }
        if self.disk.write_us_min > self.disk.write_us_max {
            return Err(format!(
                "disk.write_us_min ({}) is above disk.write_us_max ({})",
                self.disk.write_us_min, self.disk.write_us_max
            ));
        }
        for (field, us) in [
            ("disk.write_us_max", self.disk.write_us_max),
            ("disk.tail_us_max", self.disk.tail_us_max),
        ] {
            if us > crate::bounds::TIME_US_MAX {
                return Err(format!(
                    "{field} is {us}, expected at most {}",
                    crate::bounds::TIME_US_MAX
                ));
            }
        }
        let workload = &self.workload;
        let mix = &workload.mix;
        for (field, ppm) in [
            ("network.tail", network.tail_ppm),
            ("network.drop", network.drop_ppm),
            ("network.duplicate", network.duplicate_ppm),
            ("disk.tail", self.disk.tail_ppm),
            ("disk.torn", self.disk.torn_ppm),
            ("disk.corrupt", self.disk.corrupt_ppm),
            ("disk.read_error", self.disk.read_error_ppm),
        ] {
            if ppm > rng::PPM_ONE {
                return Err(format!(
                    "{field} is {ppm} ppm, expected at most 1000000 (certain)"
                ));
            }
        }
        let mix_ppm = u64::from(mix.put_ppm) + u64::from(mix.get_ppm) + u64::from(mix.cas_ppm);
        if mix_ppm != u64::from(rng::PPM_ONE) {
            return Err(format!(
                "workload.mix: put + get + cas is {}, expected 1",
                mix_ppm as f64 / f64::from(rng::PPM_ONE)
            ));
        }
        for (field, value, max) in [
            ("clients", workload.clients, CLIENTS_MAX),
            ("keys", workload.keys, KEYS_MAX),
            (
                "ops_per_client",
                workload.ops_per_client,
                OPS_PER_CLIENT_MAX,
            ),
            (
                "heal_ops_per_client",
                workload.heal_ops_per_client,
                HEAL_OPS_PER_CLIENT_MAX,
            ),
        ] {
            if value > max {
                return Err(format!(
                    "workload.{field} is {value}, expected at most {max}"
                ));
            }
        }
        if workload.clients == 0 {
            return Err("workload.clients is 0, expected at least 1".into());
        }
        if workload.keys == 0 {
            return Err("workload.keys is 0, expected at least 1".into());
        }
        if workload.request_timeout_us == 0 {
            return Err("workload.request_timeout_us is 0, expected > 0".into());
        }
        if !workload.scripts.is_empty() {
            if workload.scripts.len() != workload.clients as usize {
                return Err(format!(
                    "workload.scripts has {} client scripts but workload.clients is {}",
                    workload.scripts.len(),
                    workload.clients
                ));
            }
            for (client, script) in workload.scripts.iter().enumerate() {
                for (index, op) in script.iter().enumerate() {
                    if op.key() >= workload.keys {
                        return Err(format!(
                            "workload.scripts[{client}][{index}]: key {} does not exist (keys are 0..={})",
                            op.key(),
                            workload.keys - 1
                        ));
                    }
                }
            }
        }
        if workload.attempts_max == 0 {
            return Err("workload.attempts_max is 0, expected at least 1".into());
        }
        for (index, fault) in self.faults.iter().enumerate() {
            if let crate::faults::FaultAction::Partition { partition, .. } = &fault.action {
                partition
                    .validate(self.cluster.nodes)
                    .map_err(|error| format!("faults[{index}].action.partition: {error}"))?;
            }
            for node in fault.action.nodes() {
                if node >= self.cluster.nodes {
                    return Err(format!(
                        "faults[{index}]: node {node} does not exist in a {}-node cluster (nodes are 0..={})",
                        self.cluster.nodes,
                        self.cluster.nodes - 1
                    ));
                }
            }
            if let crate::faults::FaultAction::Corrupt { record, slot, .. }
            | crate::faults::FaultAction::ReadError { record, slot, .. } = &fault.action
            {
                crate::disk::record_key(record, *slot)
                    .map_err(|error| format!("faults[{index}].action: {error}"))?;
            }
            if let crate::faults::Trigger::OnWrite { node, record, nth } = &fault.trigger {
                if *nth == 0 {
                    return Err(format!(
                        "faults[{index}].when.nth is 0, expected at least 1 (writes count from 1)"
                    ));
                }
                if *node >= self.cluster.nodes {
                    return Err(format!(
                        "faults[{index}]: trigger node {node} does not exist in a {}-node cluster",
                        self.cluster.nodes
                    ));
                }
                if !crate::disk::RECORD_KINDS.contains(&record.as_str()) {
                    return Err(format!(
                        "faults[{index}].when.record: unknown record `{record}`, expected one of {}",
                        crate::disk::RECORD_KINDS.join(", ")
                    ));
                }
            }
            if let crate::faults::Trigger::OnSend { node, message, nth }
            | crate::faults::Trigger::DuringSend { node, message, nth } = &fault.trigger
            {
                if *nth == 0 {
                    return Err(format!(
                        "faults[{index}].when.nth is 0, expected at least 1 \
                         (sends count from 1, so the 0th never comes and the fault never fires)"
                    ));
                }
                if *node >= self.cluster.nodes {
                    return Err(format!(
                        "faults[{index}]: trigger node {node} does not exist in a {}-node cluster",
                        self.cluster.nodes
                    ));
                }
                if !crate::faults::MESSAGE_KINDS.contains(&message.as_str()) {
                    return Err(format!(
                        "faults[{index}]: unknown message kind `{message}`, expected one of {}",
                        crate::faults::MESSAGE_KINDS.join(", ")
                    ));
                }
            }
            if let crate::faults::Trigger::OnAccept { node, .. } = &fault.trigger
                && *node >= self.cluster.nodes
            {
                return Err(format!(
                    "faults[{index}]: trigger node {node} does not exist in a {}-node cluster",
                    self.cluster.nodes
                ));
            }
        }
        let (quorum_phase1, quorum_phase2) = crate::spec::quorum_sizes(&self.cluster);
        let quorum_max = quorum_phase1.max(quorum_phase2) as u8;
        self.heal.validate(self.cluster.nodes, quorum_max)?;
        crate::schedule::validate(self)
    }
}

fn no_fault_rates() -> FaultRates {
    FaultRates::NONE
}

fn is_no_fault_rates(rates: &FaultRates) -> bool {
    *rates == FaultRates::NONE
}

fn is_zero(ppm: &Ppm) -> bool {
    *ppm == 0
}

fn is_false(value: &bool) -> bool {
    !*value
}

fn yes() -> bool {
    true
}

fn is_true(value: &bool) -> bool {
    *value
}
