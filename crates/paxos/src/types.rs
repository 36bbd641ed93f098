//! Small value types shared by every part of the protocol.

use serde::{Deserialize, Serialize};
use std::fmt;

/// A node's identity: an index into the cluster, `0..nodes`.
pub type NodeId = u8;

/// A position in the replicated log, from 0.
pub type Slot = u64;

/// The largest cluster the core supports. Vote sets are `u64` bitmasks.
pub const NODES_MAX: usize = 64;

/// A ballot (proposal number): `(round, node)`, compared round first.
///
/// The node id makes ballots unique per node: two proposers never hold the
/// same ballot, so a ballot names at most one proposal per slot. The derived
/// `Ord` compares `round` and then `node`, which is the required total order.
#[derive(
    Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize,
)]
pub struct Ballot {
    pub round: u64,
    pub node: NodeId,
}

impl Ballot {
    /// The ballot below every real ballot: nothing promised, nothing accepted.
    pub const ZERO: Ballot = Ballot { round: 0, node: 0 };

    pub fn new(round: u64, node: NodeId) -> Ballot {
        Ballot { round, node }
    }
}

impl fmt::Display for Ballot {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}.{}", self.round, self.node)
    }
}

/// A set of nodes as a bitmask. Used to count distinct votes.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct NodeSet(pub u64);

impl NodeSet {
    pub fn insert(&mut self, node: NodeId) -> bool {
        assert!((node as usize) < NODES_MAX);
        let bit = 1u64 << node;
        let fresh = self.0 & bit == 0;
        self.0 |= bit;
        fresh
    }

    pub fn contains(&self, node: NodeId) -> bool {
        (node as usize) < NODES_MAX && self.0 & (1u64 << node) != 0
    }

    pub fn len(&self) -> usize {
        self.0.count_ones() as usize
    }

    pub fn is_empty(&self) -> bool {
        self.0 == 0
    }

    pub fn iter(&self) -> impl Iterator<Item = NodeId> + '_ {
        (0..NODES_MAX as u8).filter(|&n| self.contains(n))
    }
}
