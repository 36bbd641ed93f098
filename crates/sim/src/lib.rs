//! A deterministic discrete-event simulator that runs the `paxos` core under
//! faults, reproducibly, from one `u64` seed.
//!
//! The simulator performs no I/O of its own: no files, no terminal, no
//! clock, no threads. Callers (the `paxsim` command line, tests) build a
//! [`SimConfig`] — drawn from a seed by swarm testing, or written out
//! explicitly — run it with [`Simulation`], and read the [`RunReport`].
//!
//! Parts, one concern each: [`rng`] (one seed, independent streams),
//! [`network`] (delay, loss, duplication, partitions), [`faults`] (crashes,
//! partitions, pauses, schedules), [`workload`] (clients and their history),
//! [`check`] and [`linearizability`] (the checkers), [`simulation`] (the
//! driver: virtual time and routing).

pub mod check;
pub mod config;
pub mod faults;
pub mod linearizability;
pub mod network;
pub mod queue;
pub mod report;
pub mod rng;
pub mod shrink;
pub mod simulation;
#[cfg(feature = "proptest")]
pub mod strategies;
pub mod timeline;
pub mod trace;
pub mod workload;

pub use config::{Limits, NetworkConfig, Pins, ScriptedOp, SimConfig, WorkloadConfig};
pub use faults::{FaultAction, FaultRates, Partition, ScheduledFault, Trigger};
pub use report::{
    Counters, Evidence, Invariant, LimitKind, ProbePoint, Probes, Verdict, Violation,
};
pub use simulation::{
    Observer, RunOptions, RunReport, Simulation, StepView, TraceSink, run, trace_until,
};
pub use trace::TraceEvent;
