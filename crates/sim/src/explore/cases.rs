//! The planted flaws as exploration cases: for each flaw, the smallest
//! configuration (clients, operations, budgets) its shortest counterexample
//! needs, on 3 nodes where it can be; the same budgets with the flaw off
//! explore the clean core. Shared by the tests, `paxsim bench` and the
//! README's flaw table.

use paxos::{Config, Flaw, Mode};

use super::{Budgets, ExploreConfig};
use crate::config::ScriptedOp;

/// Flaws whose harm explore cannot see: `decide-with-all` only stops
/// progress (liveness), `heartbeat-keeps-no-timer` only costs leader changes
/// (an efficiency budget judged over time); explore checks safety, with
/// abstract time. The disk's flaws need what explore does not model: its
/// disk is instant and never fails, and a handler's outputs are carried out
/// whole, so a send placed before its write (`promise-sent-before-persist`,
/// `accepted-sent-before-persist`) has no window to be caught in, and no
/// record is ever corrupt or unreadable (`trust-corrupt-record`,
/// `vote-while-recovering`). The simulator's disk finds all four.
pub const UNEXPLORABLE: [Flaw; 6] = [
    Flaw::DecideWithAll,
    Flaw::HeartbeatKeepsNoTimer,
    Flaw::PromiseSentBeforePersist,
    Flaw::AcceptedSentBeforePersist,
    Flaw::TrustCorruptRecord,
    Flaw::VoteWhileRecovering,
];

/// Every flaw explore is meant to find, in `Flaw::ALL` order.
pub fn explorable() -> impl Iterator<Item = Flaw> {
    Flaw::ALL
        .iter()
        .copied()
        .filter(|flaw| !UNEXPLORABLE.contains(flaw))
}

pub fn put(key: u32) -> ScriptedOp {
    ScriptedOp::Put {
        key,
        at_us: None,
        after_heal: false,
    }
}

pub fn get(key: u32) -> ScriptedOp {
    ScriptedOp::Get {
        key,
        at_us: None,
        after_heal: false,
    }
}

/// A 3-node stable-leader cluster with `flaw` on, if any.
pub fn cluster(flaw: Option<Flaw>) -> Config {
    let mut cluster = Config::new(3, Mode::StableLeader);
    if let Some(flaw) = flaw {
        cluster.flaws = cluster.flaws.with(flaw);
    }
    cluster
}

/// The configuration that exposes `flaw`: the fewest clients, operations
/// and budgets its shortest counterexample needs. With `None` for the
/// cluster's flaw, the same budgets explore the clean core.
pub fn flaw_case(flaw: Flaw, planted: bool) -> ExploreConfig {
    let elections = |count| Budgets {
        election_timers: count,
        ..Budgets::default()
    };
    let crash_once = |budgets: Budgets| Budgets {
        crashes: 1,
        restarts: 1,
        ..budgets
    };
    let (scripts, targets, budgets, quorums) = match flaw {
        Flaw::PromiseNotPersisted => (vec![vec![]], vec![], crash_once(elections(1)), None),
        Flaw::AcceptNotPersisted => (vec![vec![put(0)]], vec![], crash_once(elections(1)), None),
        Flaw::IgnorePromisedValues => (vec![vec![put(0)]], vec![], elections(2), None),
        Flaw::BallotReuseAfterRestart => (vec![vec![]], vec![], crash_once(elections(2)), None),
        Flaw::BallotWithoutNodeId => (
            vec![vec![put(0)], vec![put(0)]],
            vec![0, 1],
            elections(2),
            None,
        ),
        Flaw::AcceptBelowPromise => (vec![vec![put(0)]], vec![], elections(2), None),
        Flaw::MinorityQuorum => (
            vec![vec![put(0)], vec![put(0)]],
            vec![0, 1],
            elections(2),
            None,
        ),
        Flaw::DoubleCountVotes => (
            vec![vec![put(0)]],
            vec![],
            Budgets {
                duplicates: 1,
                ..elections(1)
            },
            Some((2, 3)),
        ),
        Flaw::LearnAcrossBallots => (vec![vec![put(0)]], vec![], elections(2), None),
        Flaw::StaleLeaderRead => (
            vec![vec![get(0)], vec![put(0)]],
            vec![0, 1],
            elections(2),
            None,
        ),
        Flaw::NoClientDedup => (
            vec![vec![put(0), get(0)]],
            vec![],
            Budgets {
                duplicates: 1,
                ..elections(1)
            },
            None,
        ),
        Flaw::SkipGapFill => (
            vec![vec![put(0)], vec![put(1)]],
            vec![0, 0],
            elections(1),
            None,
        ),
        Flaw::LearnWithPhase1Quorum => (vec![vec![put(0)]], vec![], elections(1), Some((1, 3))),
        Flaw::ValidationOffByOne => (vec![vec![]], vec![], Budgets::default(), Some((1, 2))),
        Flaw::RoundFromPromise => (vec![vec![]], vec![], crash_once(elections(3)), None),
        // With ignore-promised-values, whose violation it would hide from a
        // checker that shared the core's comparison.
        Flaw::SameAsAlwaysTrue => (vec![vec![put(0)]], vec![], elections(2), None),
        // Inert on 3 nodes: explored on 2 (see `nodes_for`).
        Flaw::EvenSizeMajority => (
            vec![vec![put(0)], vec![put(0)]],
            vec![0, 1],
            elections(2),
            None,
        ),
        // Liveness and cost: nothing explore checks (see `UNEXPLORABLE`).
        Flaw::DecideWithAll | Flaw::HeartbeatKeepsNoTimer => {
            (vec![vec![put(0)]], vec![], elections(1), None)
        }
        // The disk's: nothing explore models (see `UNEXPLORABLE`).
        Flaw::PromiseSentBeforePersist
        | Flaw::AcceptedSentBeforePersist
        | Flaw::TrustCorruptRecord
        | Flaw::VoteWhileRecovering => (vec![vec![put(0)]], vec![], crash_once(elections(1)), None),
    };
    let mut cluster = cluster(planted.then_some(flaw));
    cluster.nodes = nodes_for(flaw);
    if planted && flaw == Flaw::SameAsAlwaysTrue {
        cluster.flaws = cluster.flaws.with(Flaw::IgnorePromisedValues);
    }
    if let Some((phase1, phase2)) = quorums {
        cluster.quorum_phase1 = Some(phase1);
        cluster.quorum_phase2 = Some(phase2);
    }
    ExploreConfig {
        cluster,
        scripts,
        targets,
        budgets,
    }
}

/// The cluster size each flaw is explored on: 3, but 2 for
/// `even-size-majority`, which changes nothing for an odd size.
pub fn nodes_for(flaw: Flaw) -> u8 {
    if flaw == Flaw::EvenSizeMajority { 2 } else { 3 }
}
