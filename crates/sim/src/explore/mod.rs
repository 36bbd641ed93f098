//! Exhaustive exploration: every schedule of a small cluster, up to its
//! budgets and bounds, run through the real `paxos::Node` and judged by the
//! same checkers the simulator runs.
//!
//! # What a state is
//!
//! Every node's real `paxos::Node` (volatile and durable state) while it is
//! up, and its disk (the `Durable` its `Persist` outputs built) always; the
//! timers each live node has pending (a set of kinds: setting a timer
//! replaces the pending one of its kind); the multiset of messages in
//! flight, node to node, client to node and node to client; each client's
//! place in its script and the request it waits on; the clients' history;
//! the safety checker's ghost state; and the fault and timer budgets used.
//! A state's 128-bit fingerprint covers all of it (`state`).
//!
//! # The actions
//!
//! From a state, each of these is one step (`step`):
//! - deliver one copy of any message in flight; or deliver it and keep a
//!   copy in flight (a duplicate, within `duplicates`); or drop it (within
//!   `drops`). A message to a node that is down is lost when delivered;
//! - fire any pending timer of a live node (within the timer budgets);
//! - crash a live node (within `crashes`): the `Node` is dropped, its disk
//!   and the messages in flight to it stay, its timers die; restart a down
//!   node (within `restarts`) with `Node::recover` from its disk;
//! - a client invokes its next operation, sending it to the node it
//!   targets (or, with a duplicate, keeping a copy in flight); a waiting
//!   client times out and resends to the next node
//!   (within `client_retries` per operation). A redirect is followed at once,
//!   as the simulator's client does, within `client_redirects` per operation.
//!
//! Three kinds of message are not left in flight, to keep the space small.
//! The first loses the interleavings it names; the other two lose no
//! schedule that could break a checked invariant:
//! - A node's messages to itself are never lost, duplicated or reordered
//!   (the simulator never loses them and delivers them before anything
//!   later happens). Without a crash left in the budget they are delivered
//!   at once, in order, within the step that sent them. With one, they wait
//!   in the node's host for the next step, which is either their delivery
//!   (`local`, with any further messages to itself at once) or a crash of
//!   that node: a proposer may crash between sending itself its Prepare
//!   and promising it, as a triggered crash in the simulator can.
//!   (Lost: other events between a send to itself and its delivery, and a
//!   crash between the second-level ones.)
//! - When clients cannot time out (`client_retries` is 0), a client's
//!   request reaches its target within the step that invokes it (with a
//!   copy left in flight, if the duplicate budget allows), and a node's
//!   reply reaches its client within the step that sends it. The node sees
//!   the request when it would have anyway; only the history's timestamps
//!   move, and an earlier completion or a later invocation only adds
//!   real-time order, so a history that cannot be linearized with the
//!   message in flight cannot be with it delivered at once. A request or
//!   reply that is lost leaves the operation pending forever, which the
//!   same client not invoking (or its operation staying unanswered) already
//!   covers. With retries, a late reply can cause a timeout, so both fly.
//! - A message to a node that is down with no restart left in the budget
//!   is lost at once: nothing can ever receive it. Such a node's host then
//!   counts as one fingerprint, whatever its disk holds.
//!
//! # Time
//!
//! Time is abstract: there is no clock, and any pending timer may fire at
//! any step, in any order, whatever its delay. Every schedule the simulator
//! can produce is thus one of the explored ones (up to the budgets), and so
//! are schedules no real timing allows (a follower's election timer firing
//! while heartbeats arrive in time). For safety this is the right reading:
//! Paxos must be safe under any timing. It tells nothing about liveness,
//! which explore does not check. Timers that always re-arm (catch-up, a
//! leader's heartbeat, retransmit) would make the space infinite, so each
//! timer kind has a budget of firings for the whole run: a schedule that
//! needs more firings of a kind than its budget is not explored. A pending
//! timer of a kind whose budget is spent can never fire again, so it is
//! left out of the fingerprint.
//!
//! # The checks
//!
//! Each output a node emits goes to `SafetyChecker::observe`, the function
//! the simulator calls too, before it is carried out; crashes and restarts
//! go to `on_crash` and `on_restart` as in the simulator's lifecycle. The
//! client history is checked for linearizability (`check::check_history`)
//! whenever an operation completes: linearizability is prefix-closed, so
//! the history of every terminal state (no step enabled) has been checked
//! at its last completion. At a terminal state where every node is up and
//! all have applied the same prefix, replicas must also agree
//! (`final_agreement`).
//!
//! # What a result means
//!
//! `Pass`: no schedule within the budgets violates a checked invariant;
//! the search ran out of states before any bound. `Bounded`: a bound (depth,
//! states, the caller's stop, a linearizability search's budget) cut the
//! search; no violation was found in what was explored, and nothing is
//! claimed about the rest. `Violation`: the action list leads from the
//! initial state to the violation; with BFS it is a shortest one.
//!
//! Explore does not prove: anything beyond its budgets (more crashes, more
//! timer firings, more operations, larger clusters); liveness; that the
//! simulator's timing reaches a schedule it found; anything about a
//! fingerprint collision (two different states merged, at a chance near
//! 2^-128 each pair, could hide a violation only the second reaches).
//!
//! # Reductions
//!
//! Sleep sets (`search`, `footprint`): of two independent steps (different
//! hosts, budgets and messages, no acceptance paired with a learn in a slot
//! not yet chosen, not both touching the history), only one order is
//! taken; every state is still reached. They can miss nothing the checks
//! see: independent steps commute to one state and raise the same
//! violations.
//!
//! Symmetry reduction is left out. Nodes are not interchangeable in this
//! core: ballots order by node id, catch-up asks peers in id order, and
//! clients start at fixed nodes. Clients with identical scripts are
//! interchangeable, but merging them needs a fingerprint that renames client
//! ids inside every node's state, for a gain of at most 2x with 2 clients.
//!
//! # Output
//!
//! A counterexample is a list of [`Action`]s, each readable (`Display`,
//! one line in the style of `paxsim replay --trace`) and serializable, and
//! [`replay`] runs such a list again from the initial state.

mod action;
pub mod cases;
mod clients;
mod footprint;
mod hash;
mod ignored;
mod memo;
mod network;
mod scenario;
mod search;
mod state;
mod step;

use std::time::Duration;

use serde::{Deserialize, Serialize};

use paxos::{NodeId, Timer};

use crate::config::ScriptedOp;
use crate::report::Violation;

pub(crate) use action::message_text;
pub use action::{Action, Endpoint, Replayed, fingerprints, replay, schedule_of};
pub use scenario::sim_config;

/// Cluster sizes explore accepts.
pub const NODES_MIN: u8 = 2;
pub const NODES_MAX: u8 = 5;
/// Clients explore accepts.
pub const CLIENTS_MAX: usize = 3;
/// Operations in one client's script.
pub const OPS_PER_CLIENT_MAX: usize = 4;
/// Keys a script may name: `user_profile:0` .. `user_profile:3`.
pub const KEYS_MAX: u32 = 4;
/// The linearizability search's budget per check; past it the run is
/// `Bounded`, never a pass.
pub const LINEARIZABILITY_STEPS_MAX: u64 = 100_000;

/// What to explore: the cluster, the clients' scripts, the budgets.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ExploreConfig {
    /// Nodes, mode, quorums and flaws. Timing is ignored: time is abstract.
    pub cluster: paxos::Config,
    /// One script per client; its operations are invoked in order, each
    /// once the previous one completed. `at_us` must be absent.
    pub scripts: Vec<Vec<ScriptedOp>>,
    /// The node each client sends its first request to; empty means
    /// client `i` starts at node `i % nodes`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub targets: Vec<NodeId>,
    #[serde(default)]
    pub budgets: Budgets,
}

/// How many of each fault and timer firing a schedule may contain.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Budgets {
    pub crashes: u8,
    pub restarts: u8,
    pub drops: u8,
    pub duplicates: u8,
    pub election_timers: u8,
    pub heartbeat_timers: u8,
    pub retransmit_timers: u8,
    pub catchup_timers: u8,
    /// Per operation: how often a waiting client may time out and resend.
    pub client_retries: u8,
    /// Per operation: how many redirects a client follows; past them it
    /// waits. Each one is a request and a reply more in flight.
    pub client_redirects: u8,
}

impl Budgets {
    pub(crate) fn timers(&self, timer: Timer) -> u8 {
        match timer {
            Timer::Election => self.election_timers,
            Timer::Heartbeat => self.heartbeat_timers,
            Timer::Retransmit => self.retransmit_timers,
            Timer::Catchup => self.catchup_timers,
        }
    }

    pub(crate) fn timers_mut(&mut self, timer: Timer) -> &mut u8 {
        match timer {
            Timer::Election => &mut self.election_timers,
            Timer::Heartbeat => &mut self.heartbeat_timers,
            Timer::Retransmit => &mut self.retransmit_timers,
            Timer::Catchup => &mut self.catchup_timers,
        }
    }
}

impl ExploreConfig {
    /// Why this configuration cannot be explored, naming the field.
    pub fn validate(&self) -> Result<(), String> {
        self.cluster
            .validate()
            .map_err(|error| format!("cluster.{}: {error}", error.field()))?;
        let nodes = self.cluster.nodes;
        if !(NODES_MIN..=NODES_MAX).contains(&nodes) {
            return Err(format!(
                "cluster.nodes is {nodes}, expected {NODES_MIN}..={NODES_MAX} for explore"
            ));
        }
        let clients = self.scripts.len();
        if !(1..=CLIENTS_MAX).contains(&clients) {
            return Err(format!(
                "scripts holds {clients} clients, expected 1..={CLIENTS_MAX}"
            ));
        }
        for (client, script) in self.scripts.iter().enumerate() {
            if script.len() > OPS_PER_CLIENT_MAX {
                return Err(format!(
                    "scripts[{client}] holds {} operations, expected at most {OPS_PER_CLIENT_MAX}",
                    script.len()
                ));
            }
            for (index, op) in script.iter().enumerate() {
                if op.key() >= KEYS_MAX {
                    return Err(format!(
                        "scripts[{client}][{index}].key is {}, expected 0..{KEYS_MAX}",
                        op.key()
                    ));
                }
                if op.after_heal() {
                    return Err(format!(
                        "scripts[{client}][{index}].after_heal is set, expected none: explore has no heal phase"
                    ));
                }
                if op.at_us().is_some() {
                    return Err(format!(
                        "scripts[{client}][{index}].at_us is set, expected none: explore has no clock"
                    ));
                }
            }
        }
        if !self.targets.is_empty() && self.targets.len() != clients {
            return Err(format!(
                "targets holds {} nodes, expected one per client ({clients}) or none",
                self.targets.len()
            ));
        }
        if let Some(target) = self.targets.iter().find(|&&target| target >= nodes) {
            return Err(format!("targets names node {target}, expected 0..{nodes}"));
        }
        Ok(())
    }
}

/// Breadth first (shortest counterexample, memory for a whole level) or
/// depth first (memory for one path, any counterexample).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Strategy {
    Bfs,
    Dfs,
}

/// Where the search stops. Hitting one makes the result `Bounded`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Bounds {
    /// States this many steps from the initial state are not expanded.
    pub depth_max: u32,
    /// The search stops once it has seen this many distinct states.
    pub states_max: u64,
}

/// A bound the search hit.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Bound {
    Depth,
    States,
    /// The caller's progress callback asked to stop (a wall-time limit).
    Stopped,
    /// A linearizability check ran out of its budget.
    Linearizability,
}

/// How a search ended.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(tag = "outcome", rename_all = "kebab-case")]
pub enum Verdict {
    /// `actions` lead from the initial state to `violation`.
    Violation {
        actions: Vec<Action>,
        violation: Box<Violation>,
    },
    /// Every state within the budgets was explored: no violation.
    Pass,
    /// No violation in what was explored, but these bounds cut the search.
    Bounded { bounds: Vec<Bound> },
}

/// What a search saw, every so often, for a progress display or a stop.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize)]
pub struct Progress {
    pub states_generated: u64,
    pub states_unique: u64,
    /// The deepest state reached so far.
    pub depth: u32,
    /// States waiting to be expanded (BFS) or on the stack (DFS).
    pub frontier: u64,
}

/// Everything a search produced.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct ExploreReport {
    pub verdict: Verdict,
    /// Successor states built, duplicates included.
    pub states_generated: u64,
    /// Distinct states (by fingerprint), the initial one included.
    pub states_unique: u64,
    /// States with no step enabled.
    pub states_terminal: u64,
    /// The wrapping sum of the terminal states' fingerprints: equal for two
    /// searches that ended in the same terminal states (whatever their
    /// order or reductions).
    pub terminal_digest: u128,
    pub depth_reached: u32,
    /// The most states held for expansion at once.
    pub frontier_max: u64,
    /// An estimate of the memory per distinct state: the visited set's
    /// table plus the peak frontier (each state's own allocations, shared
    /// parts counted in full), over the distinct states.
    pub bytes_per_state: u64,
}

impl ExploreReport {
    /// Distinct states per second of `elapsed`, which the caller measured
    /// (the simulator crate reads no clock).
    pub fn states_per_second(&self, elapsed: Duration) -> f64 {
        self.states_unique as f64 / elapsed.as_secs_f64().max(1e-9)
    }
}

/// Which reductions a search uses. Each is sound: it skips only steps
/// whose effect another order already covers (`footprint`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Reduction {
    /// Sleep sets: fewer steps taken, the same states reached.
    pub sleep_sets: bool,
    /// States stored without the messages their receivers ignore for good
    /// (`ignored`): fewer states, each standing for all that differ from
    /// it only by such messages; the same terminal states and violations.
    pub discard_ignored: bool,
}

impl Default for Reduction {
    fn default() -> Reduction {
        Reduction {
            sleep_sets: true,
            discard_ignored: true,
        }
    }
}

/// Explore `config` with `strategy` within `bounds`. `progress` is called
/// every few thousand states and once at the end; returning `false` stops
/// the search (reported as `Bound::Stopped`). Where it stops may depend on
/// the caller's clock; which states come first never does.
pub fn explore(
    config: &ExploreConfig,
    strategy: Strategy,
    bounds: Bounds,
    progress: &mut dyn FnMut(&Progress) -> bool,
) -> Result<ExploreReport, String> {
    explore_with(config, strategy, bounds, Reduction::default(), progress)
}

/// For tests of the discarding of ignored messages (`ignored`): the
/// fingerprints of every state a search without it reaches, each taken as
/// that state without its ignored messages, and of every state a search
/// with it reaches. Equal sets show that on `config` it merged states and
/// lost none. `None` past `states_max` states (either search) or at a
/// violation.
#[doc(hidden)]
pub fn discard_images(
    config: &ExploreConfig,
    states_max: usize,
) -> Option<(
    std::collections::BTreeSet<u128>,
    std::collections::BTreeSet<u128>,
)> {
    config.validate().ok()?;
    let full = state::Model::new(config);
    let mut discarding = state::Model::new(config);
    discarding.discard_ignored = true;
    let images = search::reachable(&full, states_max, &mut |state| {
        let mut image = state.clone();
        image.discard_ignored(&discarding, true);
        image.refresh();
        image.fingerprint(&discarding)
    })?;
    let reached = search::reachable(&discarding, states_max, &mut |state| {
        state.fingerprint(&discarding)
    })?;
    Some((images, reached))
}

/// [`explore`] with the reductions chosen, to measure what each one saves.
pub fn explore_with(
    config: &ExploreConfig,
    strategy: Strategy,
    bounds: Bounds,
    reduction: Reduction,
    progress: &mut dyn FnMut(&Progress) -> bool,
) -> Result<ExploreReport, String> {
    config.validate()?;
    let mut model = state::Model::new(config);
    model.discard_ignored = reduction.discard_ignored;
    Ok(match strategy {
        Strategy::Bfs => search::bfs(&model, bounds, reduction, progress),
        Strategy::Dfs => search::dfs(&model, bounds, reduction, progress),
    })
}
