//! A sans-IO Multi-Paxos core for a replicated key-value store.
//!
//! This crate performs no I/O and keeps no clock: no sockets, files,
//! threads, async or randomness of its own. Inputs come in as method calls,
//! effects go out as values. The same inputs always give the same outputs,
//! which is what lets a simulator run this exact code reproducibly from a
//! seed.
//!
//! # Call protocol
//!
//! A caller (a simulator, or a real server loop) owns one [`Node`] per
//! replica and one [`Durable`] copy per replica that stands for its disk.
//!
//! **Inputs** — each appends outputs to a caller-owned `Vec<Output>`:
//! - [`Node::new`] / [`Node::recover`]: boot, or rebuild after a crash from
//!   the caller's `Durable` alone. Both ask for the initial timers.
//! - [`Node::handle_message`]`(from, message, out)`: a message from
//!   another node (or from itself: a node is its own acceptor, and sends to
//!   itself like to any peer).
//! - [`Node::handle_timer`]`(timer, out)`: a timer it set fired.
//! - [`Node::handle_client`]`(request, out)`: a client request.
//!
//! No input carries the time. The core keeps no clock and reads none: every
//! timing decision is a relative delay in a `SetTimer` output, and the caller
//! alone decides when, in its own time, that delay is up.
//!
//! **Outputs** ([`Output`]), carried out in the order given:
//! - `Persist(write)`: apply `write` to the durable copy ([`Durable::apply`])
//!   and make it durable. It precedes the sends it guards; the caller must
//!   finish it before carrying out any later `Send` of the same batch. The
//!   node has applied the same write to its own copy ([`Node::durable`]);
//!   `Persist` is the only way durable state changes.
//! - `Send { to, message }`: deliver `message` to node `to`, or lose it.
//! - `SetTimer { timer, delay_us, jitter_us }`: call `handle_timer(timer)`
//!   once, `delay_us` plus a random `0..=jitter_us` (the caller draws it)
//!   after this output, replacing any pending timer of the same kind. All
//!   randomness the protocol needs (election jitter, backoff) enters this
//!   way.
//! - `Reply { client, seq, reply }`: answer the client.
//! - `Applied` and `Probe`: observations for checkers and coverage counters;
//!   a production caller may ignore them.
//!
//! A caller whose disk makes writes durable some time after it was asked
//! (every real one) holds each `Send` and `Reply` that comes after a
//! `Persist` in a batch until that write, and every earlier one, is
//! durable; a `Send` before the batch's first `Persist` may leave at once.
//! A crash loses the writes not yet durable and the messages held for them.
//!
//! A crash is "drop the `Node`"; pending timers die with it. Recovery is
//! `Node::recover(config, id, durable.clone(), out)` from what was durable.
//! A caller that checksums its records and finds some damaged (or cannot
//! read them) calls `Node::recover_damaged(config, id, intact, damage,
//! out)` with the intact records and the [`Damage`]: the node then asks its
//! peers (`RecoveryRequest`) before it votes again; see `node/recovery.rs`
//! for the rule and why it is safe.
//!
//! See [`node`] for the algorithm.
//!
//! # Features
//!
//! `flaws` compiles in twenty-three deliberate bugs (`Flaw`), switched on per
//! cluster through `Config::flaws`, which the simulator uses to prove that
//! its checkers catch them. Without the feature, which is how a production
//! caller builds the core, there is no `Flaw` type, no `flaws` field (a
//! configuration naming one is rejected as an unknown field), and every flaw
//! branch is `if false`, compiled to nothing.

/// `flaw!(config, Name)`: whether the deliberate flaw `Flaw::Name` is on in
/// `config`. With the `flaws` feature it asks `Config::has`; without it, it
/// is the constant `false`, so the branch it guards compiles to nothing.
#[cfg(feature = "flaws")]
macro_rules! flaw {
    ($config:expr, $flaw:ident) => {
        $config.has($crate::flaws::Flaw::$flaw)
    };
}

#[cfg(not(feature = "flaws"))]
macro_rules! flaw {
    ($config:expr, $flaw:ident) => {
        false
    };
}

pub mod command;
pub mod config;
pub mod durable;
pub mod fingerprint;
#[cfg(feature = "flaws")]
pub mod flaws;
pub mod kv;
pub mod message;
pub mod node;
pub mod types;

pub use command::{ClientId, Command, Key, Op, OpResult, Reply, Request, Value};
pub use config::{Config, ConfigError, Mode, Timing};
pub use durable::{Damage, Durable, DurableWrite};
pub use fingerprint::Fingerprint;
#[cfg(feature = "flaws")]
pub use flaws::{Flaw, Flaws};
pub use kv::Kv;
pub use message::{AcceptedEntry, Message, Output, Probe, Timer};
pub use node::Node;
pub use types::{Ballot, NODES_MAX, NodeId, NodeSet, Slot};
