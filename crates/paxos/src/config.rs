//! Cluster configuration, its validation, and the deliberate flaws.

use serde::{Deserialize, Serialize};
use std::fmt;

use crate::types::NODES_MAX;

/// How proposals are driven.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Mode {
    /// Multi-Paxos: an elected leader runs phase 1 once for all later slots,
    /// then only phase 2 per command. Followers redirect clients.
    StableLeader,
    /// No stable leader: every proposal runs both phases (basic Paxos per
    /// slot). Any node takes client requests; proposers duel.
    Leaderless,
}

impl Mode {
    pub const ALL: [Mode; 2] = [Mode::StableLeader, Mode::Leaderless];

    pub fn name(self) -> &'static str {
        match self {
            Mode::StableLeader => "stable-leader",
            Mode::Leaderless => "leaderless",
        }
    }

    pub fn from_name(name: &str) -> Option<Mode> {
        Mode::ALL.into_iter().find(|mode| mode.name() == name)
    }
}

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

/// Protocol timing, in virtual microseconds. The caller adds the jitter: the
/// core asks for "at least `delay_us`, plus up to `jitter_us`". A field a
/// file leaves out takes its default.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Timing {
    /// How often a leader sends heartbeats.
    pub heartbeat_interval_us: u64,
    /// How long a follower waits without a heartbeat before it campaigns.
    pub election_timeout_us: u64,
    /// Random extra added to the election timeout and to backoff.
    pub election_jitter_us: u64,
    /// How long a proposer waits before it resends unanswered phase 1 or 2 messages.
    pub retransmit_interval_us: u64,
    /// How often a node asks a peer for chosen entries it may have missed.
    pub catchup_interval_us: u64,
}

impl Default for Timing {
    fn default() -> Timing {
        Timing {
            heartbeat_interval_us: 20_000,
            election_timeout_us: 100_000,
            election_jitter_us: 100_000,
            retransmit_interval_us: 40_000,
            catchup_interval_us: 50_000,
        }
    }
}

/// The configuration every node of a cluster shares.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    pub nodes: u8,
    pub mode: Mode,
    /// Phase-1 (prepare) quorum size; `None` means a majority.
    #[serde(default)]
    pub quorum_phase1: Option<u8>,
    /// Phase-2 (accept) quorum size; `None` means a majority.
    #[serde(default)]
    pub quorum_phase2: Option<u8>,
    /// Allow quorums that need not intersect (`q1 + q2 <= n`), to show what they break.
    #[serde(default)]
    pub allow_unsafe_quorums: bool,
    #[serde(default)]
    pub timing: Timing,
    #[serde(default)]
    pub flaws: Flaws,
}

/// Why a configuration was rejected.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ConfigError {
    NodesOutOfRange { nodes: u8 },
    QuorumOutOfRange { phase: u8, size: u8, nodes: u8 },
    QuorumsDoNotIntersect { phase1: u8, phase2: u8, nodes: u8 },
    TimingZero { field: &'static str },
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ConfigError::NodesOutOfRange { nodes } => {
                write!(f, "nodes is {nodes}, expected 1..={NODES_MAX}")
            }
            ConfigError::QuorumOutOfRange { phase, size, nodes } => write!(
                f,
                "phase-{phase} quorum is {size}, expected 1..={nodes} for a {nodes}-node cluster"
            ),
            ConfigError::QuorumsDoNotIntersect {
                phase1,
                phase2,
                nodes,
            } => write!(
                f,
                "quorums q1={phase1} and q2={phase2} need not intersect in {nodes} nodes \
                 (q1 + q2 must exceed {nodes}); set allow_unsafe_quorums to run it anyway"
            ),
            ConfigError::TimingZero { field } => write!(f, "timing.{field} is 0, expected > 0"),
        }
    }
}

impl std::error::Error for ConfigError {}

impl ConfigError {
    /// The configuration field at fault, as `nodes`, `quorum_phase1`,
    /// `timing.heartbeat_interval_us`, ...
    pub fn field(&self) -> String {
        match self {
            ConfigError::NodesOutOfRange { .. } => "nodes".into(),
            ConfigError::QuorumOutOfRange { phase, .. } => format!("quorum_phase{phase}"),
            ConfigError::QuorumsDoNotIntersect { .. } => "quorum_phase1, quorum_phase2".into(),
            ConfigError::TimingZero { field } => format!("timing.{field}"),
        }
    }
}

impl Config {
    /// A majority-quorum cluster with default timing and no flaws.
    pub fn new(nodes: u8, mode: Mode) -> Config {
        Config {
            nodes,
            mode,
            quorum_phase1: None,
            quorum_phase2: None,
            allow_unsafe_quorums: false,
            timing: Timing::default(),
            flaws: Flaws::NONE,
        }
    }

    pub fn majority(&self) -> u8 {
        self.nodes / 2 + 1
    }

    /// The phase-1 quorum in force, flaws included.
    pub fn quorum_phase1(&self) -> usize {
        if self.flaws.contains(Flaw::MinorityQuorum) {
            // Flaw minority-quorum: the classic off-by-one, `n / 2` instead of `n / 2 + 1`.
            return (self.nodes / 2).max(1) as usize;
        }
        self.quorum_phase1.unwrap_or(self.majority()) as usize
    }

    /// The phase-2 quorum in force, flaws included.
    pub fn quorum_phase2(&self) -> usize {
        if self.flaws.contains(Flaw::MinorityQuorum) {
            // Flaw minority-quorum: the classic off-by-one, `n / 2` instead of `n / 2 + 1`.
            return (self.nodes / 2).max(1) as usize;
        }
        self.quorum_phase2.unwrap_or(self.majority()) as usize
    }

    pub fn has(&self, flaw: Flaw) -> bool {
        self.flaws.contains(flaw)
    }

    pub fn validate(&self) -> Result<(), ConfigError> {
        if self.nodes == 0 || self.nodes as usize > NODES_MAX {
            return Err(ConfigError::NodesOutOfRange { nodes: self.nodes });
        }
        let phase1 = self.quorum_phase1.unwrap_or(self.majority());
        let phase2 = self.quorum_phase2.unwrap_or(self.majority());
        for (phase, size) in [(1, phase1), (2, phase2)] {
            if size == 0 || size > self.nodes {
                return Err(ConfigError::QuorumOutOfRange {
                    phase,
                    size,
                    nodes: self.nodes,
                });
            }
        }
        if phase1 as u16 + phase2 as u16 <= self.nodes as u16 && !self.allow_unsafe_quorums {
            return Err(ConfigError::QuorumsDoNotIntersect {
                phase1,
                phase2,
                nodes: self.nodes,
            });
        }
        let timing = &self.timing;
        for (field, value) in [
            ("heartbeat_interval_us", timing.heartbeat_interval_us),
            ("election_timeout_us", timing.election_timeout_us),
            ("retransmit_interval_us", timing.retransmit_interval_us),
            ("catchup_interval_us", timing.catchup_interval_us),
        ] {
            if value == 0 {
                return Err(ConfigError::TimingZero { field });
            }
        }
        Ok(())
    }
}
