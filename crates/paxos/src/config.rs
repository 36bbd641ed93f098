//! Cluster configuration and its validation: size, mode, quorums, timing.
//!
//! Rules it enforces: 1..=`NODES_MAX` nodes; quorums within the cluster and
//! intersecting (`q1 + q2 > n`) unless `allow_unsafe_quorums` says to run
//! without; no timing interval of zero; no unknown field in a file. The
//! deliberate flaws (`crate::flaws`) add a `flaws` field only when the
//! crate is built with the `flaws` feature; without it a config that names
//! one is rejected as an unknown field.

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
    /// The deliberate bugs switched on; none by default.
    #[cfg(feature = "flaws")]
    #[serde(default)]
    pub flaws: crate::flaws::Flaws,
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
            #[cfg(feature = "flaws")]
            flaws: crate::flaws::Flaws::NONE,
        }
    }

    pub fn majority(&self) -> u8 {
        self.nodes / 2 + 1
    }

    /// The majority the quorums in force default to, flaws included.
    fn majority_in_force(&self) -> u8 {
        if flaw!(self, EvenSizeMajority) {
            // Flaw even-size-majority: "more than half" written as half
            // rounded up, right for odd sizes and exactly half for even ones.
            return self.nodes.div_ceil(2);
        }
        self.majority()
    }

    /// The phase-1 quorum in force, flaws included.
    pub fn quorum_phase1(&self) -> usize {
        if flaw!(self, MinorityQuorum) {
            // Flaw minority-quorum: the classic off-by-one, `n / 2` instead of `n / 2 + 1`.
            return (self.nodes / 2).max(1) as usize;
        }
        self.quorum_phase1.unwrap_or(self.majority_in_force()) as usize
    }

    /// The phase-2 quorum in force, flaws included.
    pub fn quorum_phase2(&self) -> usize {
        if flaw!(self, MinorityQuorum) {
            // Flaw minority-quorum: the classic off-by-one, `n / 2` instead of `n / 2 + 1`.
            return (self.nodes / 2).max(1) as usize;
        }
        self.quorum_phase2.unwrap_or(self.majority_in_force()) as usize
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
        let sum = phase1 as u16 + phase2 as u16;
        // Flaw validation-off-by-one: `<` where `<=` belongs, so a pair
        // that exactly halves the cluster (q1 + q2 = n) passes.
        let disjoint = if flaw!(self, ValidationOffByOne) {
            sum < self.nodes as u16
        } else {
            sum <= self.nodes as u16
        };
        if disjoint && !self.allow_unsafe_quorums {
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
