//! The readable event trace: one [`TraceEvent`] per line of the timeline.
//!
//! The trace is built only when asked for (in memory, or streamed to a
//! sink), so it costs nothing when off. What identifies a run is its digest
//! (`digest`), which is always on.

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
