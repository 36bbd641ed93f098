//! The heal plan: which nodes form the live core once the faults stop, and
//! how the others are kept out for the whole heal phase.
//!
//! Liveness is asked of a core, not of the whole cluster. A protocol that
//! needs every node, or one more vote than its quorum, passes a campaign
//! that heals everything; it fails one that heals only a quorum-sized core
//! and leaves the rest crashed, paused or cut off for good (TigerBeetle's
//! VOPR does the same). A core always holds both quorums (`max(q1, q2)`
//! nodes at least), so a correct protocol can finish there: phase 1 finds
//! a phase-1 quorum inside it, and that quorum meets every phase-2 quorum
//! that ever chose a value.
//!
//! The configuration describes the heal ([`HealPlan`]): the core's size,
//! drawn by the swarm, and optionally which nodes and how the rest are
//! kept out. What it leaves open is drawn from the fault stream
//! ([`draw_core`]) before the random fault plan, with a fixed number of
//! draws, so that the fault plan is the same whatever the core, and a
//! materialized scenario (its random faults written out) draws the same
//! core as the seed did.

use rand_chacha::ChaCha8Rng;
use serde::{Deserialize, Serialize};

use paxos::NodeId;

use crate::rng::between;

/// How the nodes outside the core are kept out of the heal phase.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Exclusion {
    /// Down for good: crashed at the heal if running, never restarted.
    Crashed,
    /// Running but paused for good: everything sent to it waits forever.
    Paused,
    /// Running, with every link between it and the core cut both ways.
    Cut,
    /// Running; it can still send to the core but hears nothing back (a
    /// deposed leader that keeps talking).
    CutOneWay,
}

impl Exclusion {
    pub const ALL: [Exclusion; 4] = [
        Exclusion::Crashed,
        Exclusion::Paused,
        Exclusion::Cut,
        Exclusion::CutOneWay,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Exclusion::Crashed => "crashed",
            Exclusion::Paused => "paused",
            Exclusion::Cut => "cut",
            Exclusion::CutOneWay => "cut-one-way",
        }
    }
}

/// The configuration's description of the heal, `heal` in a scenario file.
/// Empty (the default, and what a file without `heal` means) heals every
/// node. What it leaves out is drawn from the fault stream.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct HealPlan {
    /// How many nodes form the live core; absent: every node.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub core_nodes: Option<u8>,
    /// Which nodes form it; absent: drawn. Its length is the core's size.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub core: Option<Vec<NodeId>>,
    /// How the others are kept out; absent: drawn.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub excluded: Option<Exclusion>,
}

impl HealPlan {
    pub fn is_full(&self) -> bool {
        *self == HealPlan::default()
    }

    /// The core's size in an `nodes`-node cluster.
    pub fn size(&self, nodes: u8) -> u8 {
        match (&self.core, self.core_nodes) {
            (Some(core), _) => core.len() as u8,
            (None, Some(size)) => size,
            (None, None) => nodes,
        }
    }

    /// The plan must name a core of existing, distinct nodes that holds
    /// both quorums (`quorum_max` nodes): a smaller one cannot be live.
    pub fn validate(&self, nodes: u8, quorum_max: u8) -> Result<(), String> {
        if let Some(core) = &self.core {
            let mut sorted = core.clone();
            sorted.sort_unstable();
            sorted.dedup();
            if sorted.len() != core.len() {
                return Err(format!("heal.core {core:?} names a node twice"));
            }
            if let Some(node) = core.iter().find(|node| **node >= nodes) {
                return Err(format!(
                    "heal.core names node {node}, which does not exist in a {nodes}-node cluster"
                ));
            }
            if let Some(size) = self.core_nodes
                && usize::from(size) != core.len()
            {
                return Err(format!(
                    "heal.core_nodes is {size} but heal.core names {} nodes",
                    core.len()
                ));
            }
        }
        let size = self.size(nodes);
        if size > nodes {
            return Err(format!(
                "heal.core_nodes is {size}, expected at most the cluster's {nodes} nodes"
            ));
        }
        if size < quorum_max.max(1) {
            return Err(format!(
                "heal.core_nodes is {size}, expected at least {} (the larger quorum): \
                 a smaller core holds no quorum and cannot make progress",
                quorum_max.max(1)
            ));
        }
        Ok(())
    }
}

/// The core a run heals, as drawn or given: the core's nodes, the others,
/// and how those are kept out.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct HealCore {
    /// In order.
    pub core: Vec<NodeId>,
    /// In order; empty for a full heal.
    pub excluded: Vec<NodeId>,
    pub how: Exclusion,
}

impl HealCore {
    /// Every node of an `nodes`-node cluster.
    pub fn full(nodes: u8) -> HealCore {
        HealCore {
            core: (0..nodes).collect(),
            excluded: Vec::new(),
            how: Exclusion::Crashed,
        }
    }

    pub fn is_full(&self) -> bool {
        self.excluded.is_empty()
    }

    pub fn contains(&self, node: NodeId) -> bool {
        self.core.contains(&node)
    }

    /// `core [0, 2, 3]; n1, n4 cut-one-way`, or `every node` for a full heal.
    pub fn describe(&self) -> String {
        if self.is_full() {
            return format!("core {:?} (every node)", self.core);
        }
        let excluded: Vec<String> = self.excluded.iter().map(|n| format!("n{n}")).collect();
        format!(
            "core {:?}; {} {}",
            self.core,
            excluded.join(", "),
            self.how.name()
        )
    }
}

/// Draw the heal core of an `nodes`-node cluster from the fault stream,
/// leaving what `plan` gives as given. Always the same draws for a given
/// `nodes` (a shuffle of the nodes, then the exclusion), whatever the plan
/// says, so the random fault plan drawn next never depends on it.
pub fn draw_core(rng: &mut ChaCha8Rng, plan: &HealPlan, nodes: u8) -> HealCore {
    let mut shuffled: Vec<NodeId> = (0..nodes).collect();
    for i in (1..shuffled.len()).rev() {
        let j = between(rng, 0, i as u64) as usize;
        shuffled.swap(i, j);
    }
    let how_drawn = Exclusion::ALL[between(rng, 0, Exclusion::ALL.len() as u64 - 1) as usize];
    let size = usize::from(plan.size(nodes));
    assert!(size >= 1 && size <= usize::from(nodes), "a validated plan");
    let mut core = match &plan.core {
        Some(core) => core.clone(),
        None => shuffled[..size].to_vec(),
    };
    core.sort_unstable();
    let excluded: Vec<NodeId> = (0..nodes).filter(|node| !core.contains(node)).collect();
    HealCore {
        core,
        excluded,
        how: plan.excluded.unwrap_or(how_drawn),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rng::{self, Stream};

    #[test]
    fn the_draw_takes_the_same_numbers_whatever_the_plan() {
        use rand::RngExt;
        for size in 1..=5 {
            let plan = HealPlan {
                core_nodes: Some(size),
                ..HealPlan::default()
            };
            let mut rng = rng::stream(9, Stream::Faults);
            let core = draw_core(&mut rng, &plan, 5);
            assert_eq!(core.core.len(), usize::from(size));
            assert_eq!(core.core.len() + core.excluded.len(), 5);
            let after: u64 = rng.random();
            let mut full = rng::stream(9, Stream::Faults);
            draw_core(&mut full, &HealPlan::default(), 5);
            assert_eq!(after, full.random::<u64>(), "size {size}");
        }
    }

    #[test]
    fn a_given_core_and_exclusion_are_kept() {
        let plan = HealPlan {
            core_nodes: None,
            core: Some(vec![4, 0, 2]),
            excluded: Some(Exclusion::CutOneWay),
        };
        let mut rng = rng::stream(1, Stream::Faults);
        let core = draw_core(&mut rng, &plan, 5);
        assert_eq!(core.core, vec![0, 2, 4]);
        assert_eq!(core.excluded, vec![1, 3]);
        assert_eq!(core.how, Exclusion::CutOneWay);
        assert_eq!(core.describe(), "core [0, 2, 4]; n1, n3 cut-one-way");
    }

    #[test]
    fn a_core_without_a_quorum_or_with_strangers_is_refused() {
        let plan = |core_nodes| HealPlan {
            core_nodes: Some(core_nodes),
            ..HealPlan::default()
        };
        assert!(plan(3).validate(5, 3).is_ok());
        assert!(plan(2).validate(5, 3).unwrap_err().contains("at least 3"));
        assert!(plan(6).validate(5, 3).unwrap_err().contains("at most"));
        let strangers = HealPlan {
            core: Some(vec![0, 7]),
            ..HealPlan::default()
        };
        assert!(strangers.validate(5, 1).unwrap_err().contains("node 7"));
        let twice = HealPlan {
            core: Some(vec![1, 1]),
            ..HealPlan::default()
        };
        assert!(twice.validate(5, 1).unwrap_err().contains("twice"));
        assert!(HealPlan::default().validate(5, 3).is_ok());
    }
}
