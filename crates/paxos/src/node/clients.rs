//! Client requests at a node: the queue of requests waiting for a slot,
//! the dedup check on arrival, and the replies this node owes.
//!
//! Rules it enforces: the queue holds at most `QUEUE_MAX` requests (beyond
//! that a client is told to go elsewhere), and a request already queued or
//! in flight is not queued again;
//! a request already applied is answered from the dedup table, not proposed
//! again; a client gets a `Done` reply only for the sequence number this
//! node owes it, once.

use std::sync::Arc;

use crate::command::{ClientId, OpResult, Reply, Request};
use crate::message::Output;

use super::{Node, QUEUE_MAX, Role};

impl Node {
    pub(super) fn dedup_lookup(&self, request: &Request) -> Option<Option<OpResult>> {
        // Flaw no-client-dedup: the dedup table is never consulted, so a
        // retry that reaches the log twice is applied twice.
        if flaw!(self.config, NoClientDedup) {
            return None;
        }
        let recorded = self.volatile.kv.session(request.client, request.seq)?;
        Some(recorded.cloned())
    }

    pub(super) fn enqueue(&mut self, request: Arc<Request>, out: &mut Vec<Output>) {
        let owed = self.volatile.owed.entry(request.client).or_insert(0);
        *owed = (*owed).max(request.seq);
        let queued = self
            .volatile
            .queue
            .iter()
            .any(|queued| queued.client == request.client && queued.seq == request.seq);
        let in_flight = match &self.volatile.role {
            Role::Leader(phase2) => phase2
                .proposals
                .values()
                .any(|command| command.request_id() == Some((request.client, request.seq))),
            _ => false,
        };
        if queued || in_flight {
            return;
        }
        if self.volatile.queue.len() >= QUEUE_MAX {
            let reply = Reply::Redirect { leader: None };
            self.reply(request.client, request.seq, reply, out);
            return;
        }
        self.volatile.queue.push_back(request);
    }

    pub(super) fn requeue_front(&mut self, request: Arc<Request>) {
        let applied = self
            .volatile
            .kv
            .session(request.client, request.seq)
            .is_some();
        if !applied && self.volatile.queue.len() < QUEUE_MAX {
            self.volatile.queue.push_front(request);
        }
    }

    /// Send `reply` if this node owes the client an answer for `seq`.
    pub(super) fn reply(
        &mut self,
        client: ClientId,
        seq: u64,
        reply: Reply,
        out: &mut Vec<Output>,
    ) {
        if let Reply::Done(_) = reply {
            match self.volatile.owed.get(&client) {
                Some(owed) if *owed == seq => {
                    self.volatile.owed.remove(&client);
                }
                _ => return,
            }
        }
        out.push(Output::Reply { client, seq, reply });
    }
}

pub(super) fn reply_to(request: &Request, reply: Reply) -> Output {
    Output::Reply {
        client: request.client,
        seq: request.seq,
        reply,
    }
}
