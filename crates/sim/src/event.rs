//! What can happen in a run: the events the driver's queue holds.
//!
//! An event is addressed to a node (a message, a client request, a timer),
//! to a client (a reply, a timeout, a wake-up) or to the lifecycle (a
//! fault, a restart or resume falling due, the end of a partition, the heal,
//! a liveness deadline). Stale lifecycle events carry the incarnation or
//! epoch they were scheduled for, so one that was overtaken does nothing.

use std::sync::Arc;

use paxos::{ClientId, Message, NodeId, Reply, Request, Timer};

use crate::faults::FaultAction;

#[derive(Clone, Debug)]
pub(crate) enum Event {
    Deliver {
        from: NodeId,
        to: NodeId,
        message: Message,
        duplicate: bool,
    },
    ClientRequest {
        to: NodeId,
        request: Arc<Request>,
        duplicate: bool,
    },
    ClientReply {
        from: NodeId,
        client: ClientId,
        seq: u64,
        reply: Reply,
        duplicate: bool,
    },
    Timer {
        node: NodeId,
        timer: Timer,
        generation: u64,
    },
    ClientWake {
        client: ClientId,
    },
    ClientTimeout {
        client: ClientId,
        seq: u64,
        attempt: u32,
    },
    /// `explicit`: its index in `SimConfig::faults`, so that the run can
    /// tell which explicit faults fired; `None` for the random plan's.
    Fault {
        action: FaultAction,
        explicit: Option<usize>,
    },
    Restart {
        node: NodeId,
        incarnation: u64,
    },
    PartitionEnd {
        epoch: u64,
    },
    Resume {
        node: NodeId,
        epoch: u64,
    },
    Heal,
    Deadline,
}

impl Event {
    /// The same message once more, marked as the network's duplicate.
    pub(crate) fn duplicated(&self) -> Event {
        let mut copy = self.clone();
        match &mut copy {
            Event::Deliver { duplicate, .. }
            | Event::ClientRequest { duplicate, .. }
            | Event::ClientReply { duplicate, .. } => *duplicate = true,
            _ => unreachable!("only messages travel the network"),
        }
        copy
    }

    /// A short name, for observers.
    pub(crate) fn kind(&self) -> &'static str {
        match self {
            Event::Deliver { .. } => "deliver",
            Event::ClientRequest { .. } => "client-request",
            Event::ClientReply { .. } => "client-reply",
            Event::Timer { .. } => "timer",
            Event::ClientWake { .. } => "client-wake",
            Event::ClientTimeout { .. } => "client-timeout",
            Event::Fault { .. } => "fault",
            Event::Restart { .. } => "restart",
            Event::PartitionEnd { .. } => "partition-end",
            Event::Resume { .. } => "resume",
            Event::Heal => "heal",
            Event::Deadline => "deadline",
        }
    }

    /// A message on the network: between nodes, or to or from a client.
    pub(crate) fn is_message(&self) -> bool {
        matches!(
            self,
            Event::Deliver { .. } | Event::ClientRequest { .. } | Event::ClientReply { .. }
        )
    }

    /// The node whose handling this event needs, for pauses.
    pub(crate) fn node(&self) -> Option<NodeId> {
        match self {
            Event::Deliver { to, .. } | Event::ClientRequest { to, .. } => Some(*to),
            Event::Timer { node, .. } => Some(*node),
            _ => None,
        }
    }
}
