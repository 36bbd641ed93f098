//! A deterministic discrete-event simulator that runs the `paxos` core under
//! faults, reproducibly, from one `u64` seed.
//!
//! The simulator performs no I/O of its own: no files, no terminal, no
//! clock, no threads. Callers (the `paxsim` command line, tests) build a
//! [`SimConfig`] — drawn from a seed by swarm testing, or written out
//! explicitly — run it with [`Simulation`], and read the [`RunReport`].
//!
//! Parts, one concern each (private ones without a link):
//! - the driver: [`simulation`] (virtual time, the loop, routing, the
//!   report), `event` (what can happen) and [`queue`] (in which order);
//! - the nodes: `host` (a node, its disk, its lifecycle record), [`disk`]
//!   (writes durable after a latency, lost at a crash, torn, corrupt or
//!   unreadable records), `node_io` (a node's inputs handed in, its outputs
//!   carried out, sends held until their write is durable), `lifecycle`
//!   (crash, restart, pause, partition, the heal phase) and `atlas`
//!   (storage faults within what the protocol can survive);
//! - faults: [`faults`] (what can go wrong, the random plan), `triggers`
//!   (faults at a protocol moment), [`heal`] (the live core and how the
//!   others are kept out) and [`network`] (delay, loss, duplication,
//!   partitions);
//! - the clients: [`workload`] (clients and their history) and `client_io`
//!   (their events in and out of the queue);
//! - the checkers: [`spec`] (their own vocabulary: quorum sizes, value
//!   identity, acceptor sets, from the specification), [`check`] (safety,
//!   as events happen), `liveness` (progress of the heal core),
//!   [`efficiency`] (the heal phase's budgets), [`linearizability`] (one
//!   key's history) and [`history_check`] (the whole history, key by key,
//!   and its report);
//! - what a run leaves: [`report`] (verdict, violations, probes, counters),
//!   [`digest`] (its fingerprint), [`trace`] (the readable event log) and,
//!   when asked for, [`timeline`] (a run as data for a page to draw, filled
//!   by [`recorder`]); [`text`] says values the same way in all of them;
//! - configuration: [`config`] (a run's configuration, its file form),
//!   `swarm` (one drawn per seed), [`bounds`] (the bounds of every number
//!   in it, checked once), [`knobs`] (what may be pinned instead of drawn,
//!   described once), [`admission`] (validation held to the
//!   specification) and [`edge`] (values as people write them);
//! - around runs: [`rng`] (one seed, independent streams), [`shrink`] (from
//!   a failing seed to a minimal scenario) and [`strategies`] (proptest
//!   generators);
//! - beside runs: [`explore`] (every schedule of a small cluster, up to
//!   budgets, through the same core and checkers).

pub mod admission;
mod atlas;
pub mod bounds;
pub mod check;
mod client_io;
pub mod config;
pub mod digest;
pub mod disk;
mod durability;
pub mod edge;
pub mod efficiency;
mod ending;
mod event;
pub mod explore;
pub mod faults;
pub mod heal;
pub mod history_check;
mod host;
pub mod knobs;
mod lifecycle;
pub mod linearizability;
mod liveness;
pub mod network;
mod node_io;
pub mod queue;
pub mod recorder;
pub mod report;
pub mod rng;
pub mod schedule;
pub mod shrink;
pub mod simulation;
pub mod spec;
#[cfg(feature = "proptest")]
pub mod strategies;
mod swarm;
pub mod text;
pub mod timeline;
pub mod trace;
mod triggers;
pub mod workload;

pub use admission::{Admission, admit, run_admitted};
pub use config::{Limits, Mix, NetworkConfig, ScriptedOp, SimConfig, WorkloadConfig};
pub use disk::DiskConfig;
pub use efficiency::Efficiency;
pub use faults::{FaultAction, FaultRates, Partition, ScheduledFault, Trigger};
pub use heal::{Exclusion, HealCore, HealPlan};
pub use knobs::{KNOBS, Knob, Pins};
pub use report::{
    Counters, Evidence, Invariant, LimitKind, ProbePoint, Probes, Verdict, Violation,
};
pub use simulation::{
    Observer, RunOptions, RunReport, Simulation, StepView, TraceSink, run, trace_until,
};
pub use trace::TraceEvent;
