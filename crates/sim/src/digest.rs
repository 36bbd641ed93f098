//! The run digest: a 64-bit fold over every event's identifying fields, and
//! the encoding of each event into the words that are folded.
//!
//! The digest is always on and costs a few multiplications per event. Every
//! word the simulator folds in is written here, one method per kind of
//! event, so the encoding reads in one place. Changing a word, or the order
//! in which the driver calls these methods, changes every committed digest
//! in `tests/data/digests.txt`: that is the point of the file.

use paxos::{Ballot, ClientId, Command, Message, NodeId, Timer};

/// A 64-bit digest over a stream of words: a multiply-rotate fold, fixed
/// here so that digests compare across machines and builds.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Digest(u64);

impl Default for Digest {
    fn default() -> Digest {
        Digest(0xcbf2_9ce4_8422_2325)
    }
}

impl Digest {
    pub fn word(&mut self, word: u64) {
        self.0 = (self.0 ^ word)
            .wrapping_mul(0x0000_0100_0000_01b3)
            .rotate_left(23);
    }

    pub fn value(self) -> u64 {
        // A final avalanche so that close streams give distant digests.
        let mut x = self.0;
        x ^= x >> 33;
        x = x.wrapping_mul(0xff51_afd7_ed55_8ccd);
        x ^= x >> 33;
        x
    }

    /// Every event, first: the virtual time it happens at.
    pub(crate) fn event_time(&mut self, time_us: u64) {
        self.word(time_us);
    }

    /// An event held back because its node is paused.
    pub(crate) fn deferred(&mut self) {
        self.word(0xba);
    }

    /// A fault striking (its effects are folded by what it does).
    pub(crate) fn fault(&mut self) {
        self.word(0xfa);
    }

    /// A node's writes up to `write` made durable.
    pub(crate) fn disk_durable(&mut self, node: NodeId, write: u64) {
        self.word(0xd0 ^ u64::from(node) << 8 ^ write << 16);
    }

    /// A crashed node coming back from its disk.
    pub(crate) fn restart(&mut self, node: NodeId) {
        self.word(0xa0 ^ u64::from(node) << 8);
    }

    /// A message reaching a node (or arriving at a crashed one).
    pub(crate) fn deliver(&mut self, from: NodeId, to: NodeId, message: &Message) {
        self.word(0xd0 ^ u64::from(from) << 8 ^ u64::from(to) << 16);
        self.message(message);
    }

    /// A client's request reaching a node.
    pub(crate) fn client_request(&mut self, to: NodeId, client: ClientId, seq: u64) {
        self.word(0xe0 ^ u64::from(to) << 8 ^ u64::from(client) << 16 ^ seq << 32);
    }

    /// A live timer firing (stale ones fold nothing but their time).
    pub(crate) fn timer(&mut self, node: NodeId, timer: Timer) {
        self.word(0xf0 ^ u64::from(node) << 8 ^ (timer.index() as u64) << 16);
    }

    /// A reply reaching its client.
    pub(crate) fn client_reply(&mut self, client: ClientId, seq: u64) {
        self.word(0xc0 ^ u64::from(client) << 8 ^ seq << 24);
    }

    /// A client waking to issue its next operation.
    pub(crate) fn client_wake(&mut self, client: ClientId) {
        self.word(0xc1 ^ u64::from(client) << 8);
    }

    /// A client's timeout for one attempt expiring.
    pub(crate) fn client_timeout(&mut self, client: ClientId, seq: u64) {
        self.word(0xc2 ^ u64::from(client) << 8 ^ seq << 24);
    }

    /// The fields that identify a message.
    fn message(&mut self, message: &Message) {
        let ballot_word = |ballot: &Ballot| ballot.round << 8 | u64::from(ballot.node);
        match message {
            Message::Prepare { ballot, from_slot } => {
                self.word(1 ^ ballot_word(ballot) << 4);
                self.word(*from_slot);
            }
            Message::Promise { ballot, accepted } => {
                self.word(2 ^ ballot_word(ballot) << 4);
                self.word(accepted.len() as u64);
            }
            Message::Nack { ballot, promised } => {
                self.word(3 ^ ballot_word(ballot) << 4);
                self.word(ballot_word(promised));
            }
            Message::Accept {
                ballot,
                slot,
                command,
            }
            | Message::Accepted {
                ballot,
                slot,
                command,
            } => {
                let kind = if matches!(message, Message::Accept { .. }) {
                    4
                } else {
                    5
                };
                self.word(kind ^ ballot_word(ballot) << 4);
                self.word(*slot);
                self.word(command_word(command));
            }
            Message::Decide { slot, command } => {
                self.word(6);
                self.word(*slot);
                self.word(command_word(command));
            }
            Message::Heartbeat {
                ballot,
                applied_upto,
            } => {
                self.word(7 ^ ballot_word(ballot) << 4);
                self.word(*applied_upto);
            }
            Message::CatchupRequest { from_slot } => {
                self.word(8);
                self.word(*from_slot);
            }
            Message::CatchupReply { entries } => {
                self.word(9);
                self.word(entries.len() as u64);
            }
            Message::RecoveryRequest => self.word(10),
            Message::RecoveryReply {
                promised,
                round,
                accepted,
            } => {
                self.word(11 ^ ballot_word(promised) << 4);
                self.word(*round);
                self.word(accepted.len() as u64);
            }
        }
    }
}

/// A command by the request it carries; a no-op (gap filler) has none.
fn command_word(command: &Command) -> u64 {
    match command.request_id() {
        Some((client, seq)) => u64::from(client) << 40 | seq,
        None => u64::MAX,
    }
}
