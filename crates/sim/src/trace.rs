//! The event trace and the run digest.
//!
//! The digest is a 64-bit fold over every event's structured fields; it is
//! always on and costs a few multiplications per event. The readable trace
//! is built only when asked for, so it costs nothing when off.

use serde::Serialize;

use paxos::NodeId;

/// One line of the timeline.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct TraceEvent {
    /// The index (from 0) of the event during which this happened: a drop
    /// or a block is logged under the event that sent the message.
    pub index: u64,
    pub time_us: u64,
    /// The node the event happened at, if any.
    pub node: Option<NodeId>,
    /// What happened: `recv`, `drop`, `timer`, `client`, `crash`, ...
    pub event: &'static str,
    /// The message or detail, human-readable.
    pub detail: String,
}

impl std::fmt::Display for TraceEvent {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let node = match self.node {
            Some(node) => format!("n{node}"),
            None => "--".into(),
        };
        write!(
            f,
            "{:>7} {:>10}.{:03}ms {node:<3} {:<9} {}",
            self.index,
            self.time_us / 1_000,
            self.time_us % 1_000,
            self.event,
            self.detail
        )
    }
}

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
}
