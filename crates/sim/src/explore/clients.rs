//! The explored clients: each runs its script one operation at a time,
//! and records what it saw in the history, as the simulator's clients do
//! (`workload`), without their clock and random draws.
//!
//! A client invokes its next operation only once the previous one
//! completed. It sends the request to its target node; a redirect sends it
//! on at once (to the hinted leader, else the next node), as the
//! simulator's client does, at most `client_redirects` times per operation
//! (the simulator's client allows `2 * nodes` per attempt); a timeout
//! (a step of its own, within the `client_retries` budget) resends it to the
//! next node with the same `(client, seq)`. Only the first answer of the
//! request it waits on completes an operation; others are ignored.
//!
//! Written values are unique per `(client, seq)`, as the fingerprints of
//! `paxos::fingerprint` assume: the value is made from the pair alone, and a
//! resend carries the same request.
//!
//! The history's clock counts client events: an invocation or a completion
//! moves it by one. Linearizability depends only on their order.

use std::hash::Hasher;
use std::rc::Rc;
use std::sync::Arc;

use paxos::{ClientId, Fingerprint, NodeId, Op, OpResult, Reply, Request, Value};

use super::KEYS_MAX;
use super::state::{Envelope, Model, State};
use crate::config::ScriptedOp;
use crate::workload::OpRecord;

/// A client waits on this request.
#[derive(Clone, Debug)]
pub(crate) struct Waiting {
    history_index: usize,
    pub(crate) request: Arc<Request>,
    /// Timeouts used on this operation.
    pub(crate) retries: u8,
    redirects: u8,
}

#[derive(Clone, Debug)]
pub(crate) struct Client {
    /// The index of the next operation in its script.
    pub(crate) next_op: u8,
    pub(crate) target: NodeId,
    pub(crate) waiting: Option<Waiting>,
    /// Per key, the last version this client saw; a Cas without an
    /// expected version expects it.
    versions_seen: [u64; KEYS_MAX as usize],
}

impl Client {
    pub(crate) fn new(target: NodeId) -> Client {
        Client {
            next_op: 0,
            target,
            waiting: None,
            versions_seen: [0; KEYS_MAX as usize],
        }
    }

    pub(crate) fn fingerprint<H: Hasher>(&self, hasher: &mut H) {
        hasher.write_u8(self.next_op);
        hasher.write_u8(self.target);
        match &self.waiting {
            Some(waiting) => {
                hasher.write_usize(waiting.history_index);
                waiting.request.fingerprint(hasher);
                hasher.write_u8(waiting.retries);
                hasher.write_u8(waiting.redirects);
            }
            None => hasher.write_usize(usize::MAX),
        }
        for version in self.versions_seen {
            hasher.write_u64(version);
        }
    }

    /// The operation it invokes next, as `seq = next_op + 1`.
    pub(crate) fn next_operation(&self, model: &Model, client: ClientId) -> Op {
        let scripted = &model.scripts[client as usize][usize::from(self.next_op)];
        let seq = u64::from(self.next_op) + 1;
        let key_index = scripted.key();
        let key = model.keys[key_index as usize].clone();
        match scripted {
            ScriptedOp::Put { .. } => Op::Put {
                key,
                value: value_of(model, client, seq),
            },
            ScriptedOp::Get { .. } => Op::Get { key },
            ScriptedOp::Cas {
                expected_version, ..
            } => Op::Cas {
                key,
                expected_version: expected_version
                    .unwrap_or(self.versions_seen[key_index as usize]),
                value: value_of(model, client, seq),
            },
        }
    }

    /// Whether it can invoke its next operation now.
    pub(crate) fn can_invoke(&self, script: &[ScriptedOp]) -> bool {
        self.waiting.is_none() && usize::from(self.next_op) < script.len()
    }
}

/// The value client `client` writes in its operation `seq`: unique per
/// pair, the simulator's plain value (so that a schedule names the same
/// messages), one shared allocation per pair (`Model::values`).
fn value_of(model: &Model, client: ClientId, seq: u64) -> Value {
    model.values[client as usize][seq as usize - 1].clone()
}

impl State {
    /// Client `client` invokes its next operation at its target node;
    /// returns the request, for the caller to send or deliver.
    pub(crate) fn invoke(&mut self, model: &Model, client: ClientId) -> Envelope {
        let c = &mut Rc::make_mut(&mut self.clients)[client as usize];
        let script = &model.scripts[client as usize];
        assert!(c.can_invoke(script), "client {client} invoked while busy");
        let op = c.next_operation(model, client);
        c.next_op += 1;
        let seq = u64::from(c.next_op);
        let request = Arc::new(Request { client, seq, op });
        let invoke_us = self.clock;
        self.clients_dirty = true;
        let history = Rc::make_mut(&mut self.history);
        let history_index = history.ops.len();
        history.ops.push(OpRecord {
            client,
            seq,
            op: request.op.clone(),
            invoke_us,
            complete: None,
            attempts: 1,
        });
        self.clock += 1;
        c.waiting = Some(Waiting {
            history_index,
            request: request.clone(),
            retries: 0,
            redirects: 0,
        });
        Envelope::Request {
            client,
            to: c.target,
            request,
        }
    }

    /// Client `client` times out on its request and resends it to the next node.
    pub(crate) fn timeout(&mut self, model: &Model, client: ClientId) {
        let nodes = model.nodes();
        let c = &mut Rc::make_mut(&mut self.clients)[client as usize];
        let waiting = c.waiting.as_mut().expect("only a waiting client times out");
        assert!(waiting.retries < model.budgets.client_retries);
        waiting.retries += 1;
        waiting.redirects = 0;
        self.clients_dirty = true;
        let record = &mut Rc::make_mut(&mut self.history).ops[waiting.history_index];
        record.attempts += 1;
        c.target = (c.target + 1) % nodes;
        let envelope = Envelope::Request {
            client,
            to: c.target,
            request: waiting.request.clone(),
        };
        self.send(envelope);
    }

    /// A reply reaches client `client`. Returns whether it completed an
    /// operation (then the history must be checked).
    pub(crate) fn client_reply(
        &mut self,
        model: &Model,
        client: ClientId,
        seq: u64,
        reply: &Reply,
    ) -> bool {
        let nodes = model.nodes();
        let c = &mut Rc::make_mut(&mut self.clients)[client as usize];
        let Some(waiting) = c.waiting.as_mut() else {
            return false;
        };
        if waiting.request.seq != seq {
            return false;
        }
        self.clients_dirty = true;
        match reply {
            Reply::Done(result) => {
                let record = &mut Rc::make_mut(&mut self.history).ops[waiting.history_index];
                assert!(record.complete.is_none(), "operation completed twice");
                record.complete = Some((self.clock, result.clone()));
                self.clock += 1;
                let key_index = crate::workload::key_index(waiting.request.op.key());
                if let Some(version) = result_version(result) {
                    c.versions_seen[key_index as usize] = version;
                }
                c.waiting = None;
                true
            }
            Reply::Redirect { leader } => {
                // Follow a hint at once, within the budget; past it, wait
                // (for a timeout, if the budget allows one).
                if waiting.redirects >= model.budgets.client_redirects {
                    return false;
                }
                waiting.redirects += 1;
                c.target = match leader {
                    Some(leader) if *leader != c.target => *leader,
                    _ => (c.target + 1) % nodes,
                };
                let envelope = Envelope::Request {
                    client,
                    to: c.target,
                    request: waiting.request.clone(),
                };
                self.send(envelope);
                false
            }
        }
    }
}

fn result_version(result: &OpResult) -> Option<u64> {
    match result {
        OpResult::Put { version } | OpResult::CasOk { version } => Some(*version),
        OpResult::Get { found } => Some(found.as_ref().map_or(0, |(_, version)| *version)),
        OpResult::CasConflict { current_version } => Some(*current_version),
    }
}
