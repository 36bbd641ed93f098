//! The simulator's record of one node: the node while it is up, its disk,
//! the messages held until a write is durable, and the lifecycle
//! bookkeeping around them (incarnation, live timers, pause, held-back
//! events).
//!
//! The node itself is the volatile part: a crash drops it and everything
//! here that belonged to that run of the process. The disk survives; a
//! restart rebuilds the node from it.

use paxos::{Ballot, Message, Node, NodeId, Timer};

use crate::disk::{Disk, RecordKey};
use crate::event::Event;

pub(crate) struct Host {
    /// The running node, or `None` while it is down.
    pub(crate) node: Option<Node>,
    /// The node's disk: what is durable, what is on its way.
    pub(crate) disk: Disk,
    /// Sends and replies that wait for a write (by id) to be durable, in
    /// the order the node emitted them. A crash loses them.
    pub(crate) held: Vec<(u64, Held)>,
    /// Storage faults an explicit fault armed for the next restart: the
    /// record, and whether it is corrupt (else unreadable).
    pub(crate) damage_armed: Vec<(RecordKey, bool)>,
    /// Bumped on every crash, so a stale scheduled restart is ignored.
    pub(crate) incarnation: u64,
    /// The live generation of each timer kind; a fired timer whose
    /// generation differs was replaced or died in a crash.
    pub(crate) timer_generation: [u64; Timer::ALL.len()],
    /// The epoch of the pause in force, if the node is paused.
    pub(crate) paused_epoch: Option<u64>,
    /// Events that arrived while paused, delivered on resume.
    pub(crate) backlog: Vec<Event>,
    /// The ballot of the last Prepare sent, and whether an Accept followed:
    /// for the probe of a crash between the two.
    prepare_ballot: Option<Ballot>,
    accept_sent: bool,
}

impl Host {
    /// A node just booted, with an empty disk.
    pub(crate) fn boot(node: Node) -> Host {
        Host {
            node: Some(node),
            disk: Disk::default(),
            held: Vec::new(),
            damage_armed: Vec::new(),
            incarnation: 0,
            timer_generation: [0; Timer::ALL.len()],
            paused_epoch: None,
            backlog: Vec::new(),
            prepare_ballot: None,
            accept_sent: false,
        }
    }

    pub(crate) fn is_up(&self) -> bool {
        self.node.is_some()
    }

    pub(crate) fn is_paused(&self) -> bool {
        self.paused_epoch.is_some()
    }

    /// Whether the node sent a Prepare and no Accept at that ballot since.
    pub(crate) fn between_prepare_and_accept(&self) -> bool {
        self.prepare_ballot.is_some() && !self.accept_sent
    }

    /// Follow the node's Prepare/Accept sends, for
    /// [`Host::between_prepare_and_accept`].
    pub(crate) fn note_send(&mut self, message: &Message) {
        match message {
            Message::Prepare { ballot, .. } if self.prepare_ballot != Some(*ballot) => {
                self.prepare_ballot = Some(*ballot);
                self.accept_sent = false;
            }
            Message::Accept { ballot, .. } if self.prepare_ballot == Some(*ballot) => {
                self.accept_sent = true;
            }
            _ => {}
        }
    }

    /// Drop everything volatile and keep the disk: the node, its pause and
    /// backlog, its live timers. The new incarnation makes a restart
    /// scheduled for an earlier crash stale.
    pub(crate) fn crash(&mut self) {
        assert!(self.is_up(), "only a running node crashes");
        self.node = None;
        self.incarnation += 1;
        self.paused_epoch = None;
        self.backlog.clear();
        self.held.clear();
        self.timer_generation = [0; Timer::ALL.len()];
        self.prepare_ballot = None;
        self.accept_sent = false;
    }
}

/// An output held until a write is durable.
#[derive(Debug)]
pub(crate) enum Held {
    Send { to: NodeId, message: Message },
    Reply(Event),
}
