//! The deliberate flaws: named bugs the harness plants in the core to prove
//! that its checkers catch them. Compiled only with the `flaws` cargo
//! feature; the core built without it has neither this module, nor the
//! `Config::flaws` field, nor any flaw branch (`flaw!` is then `false`).
//!
//! Rules it enforces: no flaw is on unless asked for (`Flaws` is empty by
//! default); a flaw is named by a fixed kebab-case name, and an unknown name
//! is rejected with the list of known ones.

use serde::{Deserialize, Serialize};
use std::fmt;

use crate::config::Config;

macro_rules! flaws {
    ($($variant:ident = $name:literal: $breaks:literal,)*) => {
        /// A deliberate, named bug, for testing the harness only. Each one is
        /// a small deviation at the spot where the real bug would live.
        #[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
        pub enum Flaw { $($variant,)* }

        impl Flaw {
            pub const ALL: &'static [Flaw] = &[$(Flaw::$variant,)*];

            pub fn name(self) -> &'static str {
                match self { $(Flaw::$variant => $name,)* }
            }

            /// One line on what the flaw breaks.
            pub fn breaks(self) -> &'static str {
                match self { $(Flaw::$variant => $breaks,)* }
            }
        }
    };
}

flaws! {
    PromiseNotPersisted = "promise-not-persisted":
        "the acceptor replies before its promise is durable, so a restart forgets it",
    AcceptNotPersisted = "accept-not-persisted":
        "the acceptor replies before its accepted value is durable, so a restart forgets it",
    IgnorePromisedValues = "ignore-promised-values":
        "the proposer proposes its own value even when a promise reports an accepted one",
    BallotReuseAfterRestart = "ballot-reuse-after-restart":
        "the proposer's round counter is volatile, so a restarted node reuses ballots",
    BallotWithoutNodeId = "ballot-without-node-id":
        "ballots carry no node id, so two proposers can hold equal ballots",
    AcceptBelowPromise = "accept-below-promise":
        "the acceptor accepts a ballot below the one it promised",
    MinorityQuorum = "minority-quorum":
        "quorums are n/2 rounded down, so two quorums need not intersect",
    DoubleCountVotes = "double-count-votes":
        "duplicated Promise or Accepted messages from one acceptor count twice",
    LearnAcrossBallots = "learn-across-ballots":
        "a value is deemed chosen from Accepted messages of different ballots",
    StaleLeaderRead = "stale-leader-read":
        "a leader answers Get from local state without going through the log",
    NoClientDedup = "no-client-dedup":
        "a retried client request is applied again",
    SkipGapFill = "skip-gap-fill":
        "a new leader executes later slots without first completing earlier ones",
    DecideWithAll = "decide-with-all":
        "the learner decides only once every node voted, so one node down stops all progress",
    LearnWithPhase1Quorum = "learn-with-phase1-quorum":
        "the learner counts votes up to the phase-1 quorum instead of the phase-2 quorum",
    EvenSizeMajority = "even-size-majority":
        "a majority is half the cluster rounded up: exactly half for an even size, so quorums can miss",
    ValidationOffByOne = "validation-off-by-one":
        "validation refuses quorums only when q1 + q2 < n, admitting pairs that need not intersect",
    RoundFromPromise = "round-from-promise":
        "a restarted proposer takes its round from its promise, forgetting a Prepare it sent",
    SameAsAlwaysTrue = "same-as-always-true":
        "the shared command comparison says any two commands are the same",
    HeartbeatKeepsNoTimer = "heartbeat-keeps-no-timer":
        "a heartbeat does not reset the follower's election timer, so followers keep campaigning",
}

impl Flaw {
    pub fn from_name(name: &str) -> Option<Flaw> {
        Flaw::ALL.iter().copied().find(|flaw| flaw.name() == name)
    }

    fn bit(self) -> u32 {
        1 << (self as u32)
    }
}

impl fmt::Display for Flaw {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl Serialize for Flaw {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.name())
    }
}

impl<'de> Deserialize<'de> for Flaw {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Flaw, D::Error> {
        let name = String::deserialize(deserializer)?;
        Flaw::from_name(&name).ok_or_else(|| {
            let known: Vec<&str> = Flaw::ALL.iter().map(|flaw| flaw.name()).collect();
            serde::de::Error::custom(format!(
                "unknown flaw `{name}`, expected one of: {}",
                known.join(", ")
            ))
        })
    }
}

/// A set of flaws. Empty by default: no flaw is ever on unless asked for.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct Flaws(u32);

impl Flaws {
    pub const NONE: Flaws = Flaws(0);

    pub fn with(mut self, flaw: Flaw) -> Flaws {
        self.0 |= flaw.bit();
        self
    }

    pub fn contains(self, flaw: Flaw) -> bool {
        self.0 & flaw.bit() != 0
    }

    pub fn is_empty(self) -> bool {
        self.0 == 0
    }

    pub fn iter(self) -> impl Iterator<Item = Flaw> {
        Flaw::ALL
            .iter()
            .copied()
            .filter(move |flaw| self.contains(*flaw))
    }
}

impl FromIterator<Flaw> for Flaws {
    fn from_iter<I: IntoIterator<Item = Flaw>>(iter: I) -> Flaws {
        iter.into_iter().fold(Flaws::NONE, Flaws::with)
    }
}

impl Serialize for Flaws {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_seq(self.iter())
    }
}

impl<'de> Deserialize<'de> for Flaws {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Flaws, D::Error> {
        let list = Vec::<Flaw>::deserialize(deserializer)?;
        Ok(list.into_iter().collect())
    }
}

impl Config {
    /// Whether the deliberate flaw `flaw` is on. The node asks through the
    /// `flaw!` macro, which is `false` without the `flaws` feature.
    pub fn has(&self, flaw: Flaw) -> bool {
        self.flaws.contains(flaw)
    }
}

thread_local! {
    /// The flaws of the cluster whose node last took an input on this
    /// thread. A bug in a free function that every caller shares (the
    /// command comparison `Command::same_as`, which has no configuration at
    /// hand) is a bug for every caller in the process, the checkers included
    /// if they call it: this models exactly that, one thread per run, so
    /// that parallel runs with different flaws stay apart and every run
    /// stays deterministic. Set by each `Node` input; read by
    /// [`in_shared_code`].
    static SHARED_CODE: std::cell::Cell<Flaws> = const { std::cell::Cell::new(Flaws::NONE) };
}

/// A node of a cluster configured with `config` is about to take an input:
/// the shared functions on this thread behave as that cluster's flaws say.
pub(crate) fn enter(config: &Config) {
    SHARED_CODE.with(|flaws| flaws.set(config.flaws));
}

/// Whether `flaw` is on in the shared code of this thread (see [`enter`]).
pub(crate) fn in_shared_code(flaw: Flaw) -> bool {
    SHARED_CODE.with(|flaws| flaws.get().contains(flaw))
}
