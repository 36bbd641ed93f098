//! The checkers' own vocabulary, taken from the specification rather than
//! from the core: quorum sizes from the configuration's plain fields, a
//! value's identity, a set of acceptors.
//!
//! Nothing here calls into `paxos` beyond reading plain data (a
//! configuration's fields, a command's `(client, seq)`), so that a bug in
//! the core's quorum arithmetic (`Config::quorum_phase2()`), its command
//! comparison (`Command::same_as`) or its vote sets (`NodeSet`) cannot move
//! the checkers that would catch it. Admission (`admission`) and the swarm
//! draw (`swarm`) take their quorum sizes from here too.

use paxos::{ClientId, Command, NodeId};

/// The quorum sizes `(phase 1, phase 2)` the specification gives a
/// cluster: the sizes its configuration names, a majority (`nodes / 2 + 1`)
/// where it names none. Read from the plain fields alone, so that a bug in
/// the core's quorum arithmetic cannot move the checker's.
pub fn quorum_sizes(cluster: &paxos::Config) -> (usize, usize) {
    let majority = cluster.nodes / 2 + 1;
    let phase1 = cluster.quorum_phase1.unwrap_or(majority);
    let phase2 = cluster.quorum_phase2.unwrap_or(majority);
    (usize::from(phase1), usize::from(phase2))
}

/// What the checker calls one value: a client request by the `(client,
/// seq)` that wrote it (a retry is the same request, however it travels),
/// or a no-op. Its own notion, independent of `Command::same_as`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ValueId {
    Noop,
    Request { client: ClientId, seq: u64 },
}

impl ValueId {
    pub fn of(command: &Command) -> ValueId {
        match command {
            Command::Noop => ValueId::Noop,
            Command::Client(request) => ValueId::Request {
                client: request.client,
                seq: request.seq,
            },
        }
    }
}

/// A set of acceptors, the checker's own (not the core's `NodeSet`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Acceptors(u64);

impl Acceptors {
    pub fn insert(&mut self, node: NodeId) {
        assert!(node < 64, "node {node} outside the checker's set");
        self.0 |= 1 << node;
    }

    pub fn contains(self, node: NodeId) -> bool {
        node < 64 && self.0 & (1 << node) != 0
    }

    pub fn len(self) -> usize {
        self.0.count_ones() as usize
    }

    pub fn is_empty(self) -> bool {
        self.0 == 0
    }

    pub fn iter(self) -> impl Iterator<Item = NodeId> {
        (0..64).filter(move |node| self.contains(*node))
    }
}
