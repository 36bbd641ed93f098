//! Deterministic fingerprints of the core's state and messages, for a caller
//! that must tell states apart without comparing them field by field (an
//! exhaustive explorer keeps only a hash of every state it has seen).
//!
//! [`Fingerprint::fingerprint`] feeds every field that can change what a
//! value does next into a caller-given [`Hasher`], in a fixed order, with a
//! tag before each variant and a length before each sequence, so that two
//! different states feed different streams. Nothing here depends on memory
//! addresses, on hash-table order or on the process: the same state gives the
//! same stream in every run.
//!
//! One identity rule keeps it cheap: a client request is named by its
//! `(client, seq)` and the shape of its operation (kind, key, expected
//! version), not by the JSON value it writes. The core already relies on the
//! same rule: `(client, seq)` names a request uniquely, which is what
//! deduplication keys on. A caller that gave two different values the same
//! `(client, seq)` would break deduplication before it broke this. Values
//! that live apart from their request (a key's current value, a recorded
//! `Get` result) are hashed by content.

use std::collections::BTreeMap;
use std::hash::Hasher;

use crate::command::{Command, Op, OpResult, Reply, Request};
use crate::durable::Durable;
use crate::message::{AcceptedEntry, Message, Timer};
use crate::types::{Ballot, NodeSet, Slot};

/// A value whose state can be fed into a hasher, deterministically.
pub trait Fingerprint {
    fn fingerprint<H: Hasher>(&self, state: &mut H);
}

impl Fingerprint for Ballot {
    fn fingerprint<H: Hasher>(&self, state: &mut H) {
        state.write_u64(self.round);
        state.write_u8(self.node);
    }
}

impl Fingerprint for NodeSet {
    fn fingerprint<H: Hasher>(&self, state: &mut H) {
        state.write_u64(self.0);
    }
}

impl Fingerprint for Timer {
    fn fingerprint<H: Hasher>(&self, state: &mut H) {
        state.write_u8(self.index() as u8);
    }
}

/// By `(client, seq)` and the operation's shape; see the module doc.
impl Fingerprint for Request {
    fn fingerprint<H: Hasher>(&self, state: &mut H) {
        state.write_u32(self.client);
        state.write_u64(self.seq);
        self.op.fingerprint(state);
    }
}

/// Kind, key and expected version; the written value is named by the
/// request that carries the operation (see the module doc).
impl Fingerprint for Op {
    fn fingerprint<H: Hasher>(&self, state: &mut H) {
        match self {
            Op::Put { key, .. } => {
                state.write_u8(0);
                str_fingerprint(key, state);
            }
            Op::Get { key } => {
                state.write_u8(1);
                str_fingerprint(key, state);
            }
            Op::Cas {
                key,
                expected_version,
                ..
            } => {
                state.write_u8(2);
                str_fingerprint(key, state);
                state.write_u64(*expected_version);
            }
        }
    }
}

impl Fingerprint for Command {
    fn fingerprint<H: Hasher>(&self, state: &mut H) {
        match self {
            Command::Noop => state.write_u8(0),
            Command::Client(request) => {
                state.write_u8(1);
                request.fingerprint(state);
            }
        }
    }
}

impl Fingerprint for OpResult {
    fn fingerprint<H: Hasher>(&self, state: &mut H) {
        match self {
            OpResult::Put { version } => {
                state.write_u8(0);
                state.write_u64(*version);
            }
            OpResult::Get { found: None } => state.write_u8(1),
            OpResult::Get {
                found: Some((value, version)),
            } => {
                state.write_u8(2);
                json_fingerprint(value, state);
                state.write_u64(*version);
            }
            OpResult::CasOk { version } => {
                state.write_u8(3);
                state.write_u64(*version);
            }
            OpResult::CasConflict { current_version } => {
                state.write_u8(4);
                state.write_u64(*current_version);
            }
        }
    }
}

impl Fingerprint for Reply {
    fn fingerprint<H: Hasher>(&self, state: &mut H) {
        match self {
            Reply::Done(result) => {
                state.write_u8(0);
                result.fingerprint(state);
            }
            Reply::Redirect { leader } => {
                state.write_u8(1);
                state.write_u16(leader.map_or(u16::MAX, u16::from));
            }
        }
    }
}

impl Fingerprint for AcceptedEntry {
    fn fingerprint<H: Hasher>(&self, state: &mut H) {
        state.write_u64(self.slot);
        self.ballot.fingerprint(state);
        self.command.fingerprint(state);
    }
}

impl Fingerprint for Message {
    fn fingerprint<H: Hasher>(&self, state: &mut H) {
        match self {
            Message::Prepare { ballot, from_slot } => {
                state.write_u8(0);
                ballot.fingerprint(state);
                state.write_u64(*from_slot);
            }
            Message::Promise { ballot, accepted } => {
                state.write_u8(1);
                ballot.fingerprint(state);
                state.write_usize(accepted.len());
                for entry in accepted {
                    entry.fingerprint(state);
                }
            }
            Message::Nack { ballot, promised } => {
                state.write_u8(2);
                ballot.fingerprint(state);
                promised.fingerprint(state);
            }
            Message::Accept {
                ballot,
                slot,
                command,
            } => {
                state.write_u8(3);
                ballot.fingerprint(state);
                state.write_u64(*slot);
                command.fingerprint(state);
            }
            Message::Accepted {
                ballot,
                slot,
                command,
            } => {
                state.write_u8(4);
                ballot.fingerprint(state);
                state.write_u64(*slot);
                command.fingerprint(state);
            }
            Message::Decide { slot, command } => {
                state.write_u8(5);
                state.write_u64(*slot);
                command.fingerprint(state);
            }
            Message::Heartbeat {
                ballot,
                applied_upto,
            } => {
                state.write_u8(6);
                ballot.fingerprint(state);
                state.write_u64(*applied_upto);
            }
            Message::CatchupRequest { from_slot } => {
                state.write_u8(7);
                state.write_u64(*from_slot);
            }
            Message::CatchupReply { entries } => {
                state.write_u8(8);
                state.write_usize(entries.len());
                for (slot, command) in entries {
                    state.write_u64(*slot);
                    command.fingerprint(state);
                }
            }
            Message::RecoveryRequest => state.write_u8(9),
            Message::RecoveryReply {
                promised,
                round,
                accepted,
            } => {
                state.write_u8(10);
                promised.fingerprint(state);
                state.write_u64(*round);
                state.write_usize(accepted.len());
                for entry in accepted {
                    entry.fingerprint(state);
                }
            }
        }
    }
}

impl Fingerprint for Durable {
    fn fingerprint<H: Hasher>(&self, state: &mut H) {
        let Durable {
            promised,
            round_max,
            accepted,
            chosen,
        } = self;
        promised.fingerprint(state);
        state.write_u64(*round_max);
        accepted_fingerprint(accepted, state);
        state.write_usize(chosen.len());
        for (slot, command) in chosen {
            state.write_u64(*slot);
            command.fingerprint(state);
        }
    }
}

/// A log of acceptances by slot (a durable state's, a recovery's merge of
/// its peers' replies), in slot order.
pub fn accepted_fingerprint<H: Hasher>(
    accepted: &BTreeMap<Slot, (Ballot, Command)>,
    state: &mut H,
) {
    state.write_usize(accepted.len());
    for (slot, (ballot, command)) in accepted {
        state.write_u64(*slot);
        ballot.fingerprint(state);
        command.fingerprint(state);
    }
}

/// A string, length first, so that two strings in a row cannot run together.
pub fn str_fingerprint<H: Hasher>(text: &str, state: &mut H) {
    state.write_usize(text.len());
    state.write(text.as_bytes());
}

/// A JSON value by content. `serde_json::Map` is ordered by key (the crate
/// is built without `preserve_order`), so the order is fixed.
pub fn json_fingerprint<H: Hasher>(value: &serde_json::Value, state: &mut H) {
    use serde_json::Value as Json;
    match value {
        Json::Null => state.write_u8(0),
        Json::Bool(flag) => {
            state.write_u8(1);
            state.write_u8(u8::from(*flag));
        }
        Json::Number(number) => {
            state.write_u8(2);
            str_fingerprint(&number.to_string(), state);
        }
        Json::String(text) => {
            state.write_u8(3);
            str_fingerprint(text, state);
        }
        Json::Array(items) => {
            state.write_u8(4);
            state.write_usize(items.len());
            for item in items {
                json_fingerprint(item, state);
            }
        }
        Json::Object(fields) => {
            state.write_u8(5);
            state.write_usize(fields.len());
            for (name, field) in fields {
                str_fingerprint(name, state);
                json_fingerprint(field, state);
            }
        }
    }
}
