//! Messages between nodes, and the effects a node hands to its caller.

use crate::command::{ClientId, Command, Reply};
use crate::durable::DurableWrite;
use crate::types::{Ballot, NodeId, Slot};

/// An accepted entry an acceptor reports in a `Promise`.
#[derive(Clone, Debug)]
pub struct AcceptedEntry {
    pub slot: Slot,
    pub ballot: Ballot,
    pub command: Command,
}

/// A message from one node to another. Commands inside are shared (`Arc`),
/// so cloning a message never deep-copies a value.
#[derive(Clone, Debug)]
pub enum Message {
    /// Phase 1a: "promise me `ballot` for every slot from `from_slot` on".
    Prepare { ballot: Ballot, from_slot: Slot },
    /// Phase 1b: the promise, with every entry the acceptor has accepted at
    /// or after the requested slot.
    Promise {
        ballot: Ballot,
        accepted: Vec<AcceptedEntry>,
    },
    /// The acceptor refused `ballot` because it promised the higher `promised`.
    Nack { ballot: Ballot, promised: Ballot },
    /// Phase 2a: "accept `command` in `slot` at `ballot`".
    Accept {
        ballot: Ballot,
        slot: Slot,
        command: Command,
    },
    /// Phase 2b: the acceptor accepted `command` in `slot` at `ballot`.
    Accepted {
        ballot: Ballot,
        slot: Slot,
        command: Command,
    },
    /// `command` is chosen in `slot`: the learner broadcast.
    Decide { slot: Slot, command: Command },
    /// A leader's liveness signal, with the next slot it will execute.
    Heartbeat { ballot: Ballot, applied_upto: Slot },
    /// "Send me the chosen entries from `from_slot` on."
    CatchupRequest { from_slot: Slot },
    /// Chosen entries, contiguous, starting at the requested slot.
    CatchupReply { entries: Vec<(Slot, Command)> },
    /// "My disk lost votes: tell me what you promised and accepted." Sent
    /// by a node recovering from damaged records (`node/recovery.rs`).
    RecoveryRequest,
    /// The answer of a node that is not recovering itself: its promise, the
    /// highest round it has used or seen, and every entry it has accepted.
    RecoveryReply {
        promised: Ballot,
        round: u64,
        accepted: Vec<AcceptedEntry>,
    },
}

impl Message {
    /// A short name for traces and counters.
    pub fn kind(&self) -> &'static str {
        match self {
            Message::Prepare { .. } => "Prepare",
            Message::Promise { .. } => "Promise",
            Message::Nack { .. } => "Nack",
            Message::Accept { .. } => "Accept",
            Message::Accepted { .. } => "Accepted",
            Message::Decide { .. } => "Decide",
            Message::Heartbeat { .. } => "Heartbeat",
            Message::CatchupRequest { .. } => "CatchupRequest",
            Message::CatchupReply { .. } => "CatchupReply",
            Message::RecoveryRequest => "RecoveryRequest",
            Message::RecoveryReply { .. } => "RecoveryReply",
        }
    }
}

/// The timers a node asks for. Setting a timer replaces the pending one of
/// the same kind.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Timer {
    /// Stable-leader: no heartbeat for too long, so campaign. Leaderless:
    /// the backoff after a proposal was refused.
    Election,
    /// Leader: time to send heartbeats.
    Heartbeat,
    /// Proposer: resend unanswered Prepare or Accept messages.
    Retransmit,
    /// Ask a peer for chosen entries this node may have missed.
    Catchup,
}

impl Timer {
    pub const ALL: [Timer; 4] = [
        Timer::Election,
        Timer::Heartbeat,
        Timer::Retransmit,
        Timer::Catchup,
    ];

    pub fn index(self) -> usize {
        self as usize
    }

    pub fn name(self) -> &'static str {
        match self {
            Timer::Election => "election",
            Timer::Heartbeat => "heartbeat",
            Timer::Retransmit => "retransmit",
            Timer::Catchup => "catchup",
        }
    }
}

/// Named points in the core that a healthy campaign should reach at least
/// once ("sometimes" assertions). The caller counts them.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Probe {
    /// A proposer adopted a value a promise reported, instead of its own.
    AdoptedValue,
    /// An acceptor refused a ballot below its promise.
    RejectedLowerBallot,
    /// A node won an election (stable-leader mode).
    BecameLeader,
    /// A retried client request was answered from the dedup table.
    DedupHit,
    /// A Cas found a version other than the expected one.
    CasConflict,
    /// A node restarted with damaged records and began recovering.
    CorruptRecordDetected,
    /// A recovering node heard enough peers and votes again.
    RecoveredFromPeers,
}

impl Probe {
    pub const ALL: [Probe; 7] = [
        Probe::AdoptedValue,
        Probe::RejectedLowerBallot,
        Probe::BecameLeader,
        Probe::DedupHit,
        Probe::CasConflict,
        Probe::CorruptRecordDetected,
        Probe::RecoveredFromPeers,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Probe::AdoptedValue => "proposer-adopts-accepted-value",
            Probe::RejectedLowerBallot => "acceptor-rejects-lower-ballot",
            Probe::BecameLeader => "leader-changes",
            Probe::DedupHit => "retry-answered-from-dedup-table",
            Probe::CasConflict => "cas-conflicts",
            Probe::CorruptRecordDetected => "corrupt-record-detected",
            Probe::RecoveredFromPeers => "node-recovered-from-peers",
        }
    }
}

/// An effect for the caller to carry out, in the order given.
#[derive(Clone, Debug)]
pub enum Output {
    /// Make this write durable. It comes before every `Send` that depends on
    /// it; the caller must finish it before carrying out those sends.
    Persist(DurableWrite),
    Send {
        to: NodeId,
        message: Message,
    },
    /// Fire `timer` after `delay_us` plus a uniformly random `0..=jitter_us`
    /// that the caller draws, replacing any pending timer of that kind.
    SetTimer {
        timer: Timer,
        delay_us: u64,
        jitter_us: u64,
    },
    Reply {
        client: ClientId,
        seq: u64,
        reply: Reply,
    },
    /// Observation only: this replica applied `slot`. `result` is what the
    /// command did here: `None` for a no-op, and for a client request the
    /// dedup table shows was applied already (a duplicate or stale entry).
    Applied {
        slot: Slot,
        command: Command,
        result: Option<crate::command::OpResult>,
    },
    /// Observation only: a probe point was reached.
    Probe(Probe),
}

/// Compact, for traces: `Accept(b1.2 s0 c0#1 Get(user_profile:0))`.
impl std::fmt::Display for Message {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Message::Prepare { ballot, from_slot } => {
                write!(f, "Prepare(b{ballot} from s{from_slot})")
            }
            Message::Promise { ballot, accepted } => {
                write!(f, "Promise(b{ballot}")?;
                for entry in accepted {
                    write!(f, " s{}@b{}={}", entry.slot, entry.ballot, entry.command)?;
                }
                f.write_str(")")
            }
            Message::Nack { ballot, promised } => {
                write!(f, "Nack(b{ballot} promised b{promised})")
            }
            Message::Accept {
                ballot,
                slot,
                command,
            } => write!(f, "Accept(b{ballot} s{slot} {command})"),
            Message::Accepted {
                ballot,
                slot,
                command,
            } => write!(f, "Accepted(b{ballot} s{slot} {command})"),
            Message::Decide { slot, command } => write!(f, "Decide(s{slot} {command})"),
            Message::Heartbeat {
                ballot,
                applied_upto,
            } => write!(f, "Heartbeat(b{ballot} applied<s{applied_upto})"),
            Message::CatchupRequest { from_slot } => write!(f, "CatchupRequest(from s{from_slot})"),
            Message::CatchupReply { entries } => {
                write!(f, "CatchupReply({} entries", entries.len())?;
                if let (Some(first), Some(last)) = (entries.first(), entries.last()) {
                    write!(f, " s{}..=s{}", first.0, last.0)?;
                }
                f.write_str(")")
            }
            Message::RecoveryRequest => f.write_str("RecoveryRequest"),
            Message::RecoveryReply {
                promised,
                round,
                accepted,
            } => write!(
                f,
                "RecoveryReply(promised b{promised} round {round}, {} accepted)",
                accepted.len()
            ),
        }
    }
}
