//! The readable event trace: one [`TraceEvent`] per line of the timeline.
//!
//! The trace is built only when asked for (in memory, or streamed to a
//! sink), so it costs nothing when off. What identifies a run is its digest
//! (`digest`), which is always on. [`context`] fetches the lines around a
//! violation without keeping the whole trace.

use std::cell::RefCell;
use std::collections::VecDeque;
use std::rc::Rc;

use serde::Serialize;

use paxos::{ClientId, NodeId};

use crate::config::SimConfig;
use crate::simulation::{RunOptions, Simulation};

/// The most lines [`context`] keeps for the client operations it is asked
/// about: a few per attempt, and attempts are bounded.
pub const OP_EVENTS_MAX: usize = 200;

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
    /// The message or detail, human-readable, values as JSON.
    pub detail: String,
    /// The client operation `(client, seq)` the event belongs to, for the
    /// events of a client's own: its invocation, its requests reaching a
    /// node (or lost), its replies and its timeouts.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub op: Option<(ClientId, u64)>,
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

/// The trace around event `index` of a run of `config`: the `count` lines
/// up to and including that event, and before them the lines of the client
/// operations `ops` (`(client, seq)`; at most [`OP_EVENTS_MAX`]), all in the
/// order they happened. The run is replayed with the trace streamed, so
/// only these lines are kept, however long the run.
pub fn context(
    config: &SimConfig,
    index: u64,
    count: usize,
    ops: &[(ClientId, u64)],
) -> Result<Vec<TraceEvent>, String> {
    #[derive(Default)]
    struct Kept {
        /// `(position in the stream, line)`, the last `count` lines.
        tail: VecDeque<(u64, TraceEvent)>,
        /// The lines of `ops`, in order.
        of_ops: Vec<(u64, TraceEvent)>,
        position: u64,
    }
    let kept = Rc::new(RefCell::new(Kept::default()));
    let sink = kept.clone();
    let ops = ops.to_vec();
    let options = RunOptions {
        trace: false,
        checkers: true,
        stop_after_event: Some(index),
        ..RunOptions::default()
    };
    Simulation::new(config.clone(), options)?
        .trace_to(Box::new(move |line: &TraceEvent| {
            if line.index > index {
                return;
            }
            let mut kept = sink.borrow_mut();
            let position = kept.position;
            kept.position += 1;
            if line.op.is_some_and(|op| ops.contains(&op)) && kept.of_ops.len() < OP_EVENTS_MAX {
                kept.of_ops.push((position, line.clone()));
            }
            if count > 0 {
                if kept.tail.len() == count {
                    kept.tail.pop_front();
                }
                kept.tail.push_back((position, line.clone()));
            }
        }))
        .run();
    let kept = kept.take();
    let mut lines: Vec<(u64, TraceEvent)> = kept.of_ops;
    lines.extend(kept.tail);
    lines.sort_by_key(|(position, _)| *position);
    lines.dedup_by_key(|(position, _)| *position);
    Ok(lines.into_iter().map(|(_, line)| line).collect())
}
