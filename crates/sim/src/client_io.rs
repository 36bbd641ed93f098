//! The clients' side of a run: replies, timeouts and wake-ups reaching the
//! workload, and what it asks for in return carried out (a request onto the
//! network with its timeout, a think time, the end of its operations).
//!
//! The workload (`workload`) decides; this file only moves its decisions in
//! and out of the queue. When the last client is done, the liveness checker
//! is told; when every client has finished its chaos-phase operations, the
//! heal may begin early; when the heal begins, the clients waiting for it
//! are woken.

use paxos::{ClientId, NodeId, Reply};

use crate::event::Event;
use crate::report::ProbePoint;
use crate::simulation::{Phase, Simulation};
use crate::text;
use crate::workload::ClientEffect;

impl Simulation {
    /// A node's reply reaches its client.
    pub(crate) fn client_reply(
        &mut self,
        from: NodeId,
        client: ClientId,
        seq: u64,
        reply: Reply,
        duplicate: bool,
    ) {
        self.digest.client_reply(client, seq);
        if duplicate {
            self.probes.hit(ProbePoint::DuplicateDelivered);
        }
        self.record_for(None, "reply", Some((client, seq)), || {
            format!(
                "n{from} -> client {client} seq {seq}: {}",
                text::reply(&reply)
            )
        });
        let now_us = self.now_us;
        if let Some(effect) = self.workload.on_reply(client, seq, reply, now_us) {
            // A reply that sets the client thinking completed its operation.
            let completed = matches!(effect, ClientEffect::Think { .. });
            if completed && self.options.checkers && self.violation.is_none() {
                let place = self.place();
                if let Err(violation) = self.efficiency.on_completed(place, client, seq) {
                    self.violation = Some(violation);
                }
            }
            self.client_effect(client, effect);
        }
    }

    /// A client's think time is over: it issues its next operation.
    pub(crate) fn client_wake(&mut self, client: ClientId) {
        self.digest.client_wake(client);
        let now_us = self.now_us;
        let effect = self.workload.issue(client, now_us);
        let op = match &effect {
            ClientEffect::Send { request, .. } => Some((client, request.seq)),
            _ => None,
        };
        self.record_for(None, "client", op, || match &effect {
            ClientEffect::Send { request, node, .. } => {
                format!(
                    "client {client} invokes seq {} at n{node}: {}",
                    request.seq, request.op
                )
            }
            ClientEffect::AwaitHeal => format!("client {client} waits for the heal phase"),
            _ => format!("client {client} done"),
        });
        self.client_effect(client, effect);
    }

    /// A client's timer for one attempt runs out; the workload ignores it
    /// if that attempt was answered.
    pub(crate) fn client_timeout(&mut self, client: ClientId, seq: u64, attempt: u32) {
        self.digest.client_timeout(client, seq);
        if let Some(effect) = self.workload.on_timeout(client, seq, attempt) {
            self.record_for(None, "timeout", Some((client, seq)), || {
                format!("client {client} seq {seq} attempt {attempt}")
            });
            if matches!(effect, ClientEffect::Send { .. }) {
                self.efficiency.on_retry(client, seq);
            }
            self.client_effect(client, effect);
        }
    }

    /// Carry out what the workload asks for.
    pub(crate) fn client_effect(&mut self, client: ClientId, effect: ClientEffect) {
        match effect {
            ClientEffect::Send {
                node,
                request,
                attempt,
                timeout_us,
            } => {
                self.counters.client_requests += 1;
                let seq = request.seq;
                let place = self.place();
                if let Some(recorder) = &mut self.recorder {
                    recorder.attempt(client, seq, node, place);
                }
                let event = Event::ClientRequest {
                    to: node,
                    request,
                    duplicate: false,
                };
                self.transmit(None, event);
                self.schedule_in(
                    timeout_us,
                    Event::ClientTimeout {
                        client,
                        seq,
                        attempt,
                    },
                );
            }
            ClientEffect::Think { delay_us } => {
                self.schedule_in(delay_us, Event::ClientWake { client });
            }
            ClientEffect::AwaitHeal | ClientEffect::Done => {
                if self.workload.done() {
                    self.liveness.on_clients_done(self.now_us);
                }
                let heal_early = self.config.heal_when_clients_done;
                if heal_early && self.phase == Phase::Chaos && self.workload.chaos_done() {
                    // Nothing left to disturb: heal now rather than idle
                    // through the rest of the chaos phase.
                    self.schedule(self.now_us, Event::Heal);
                }
            }
        }
    }

    /// The heal phase begins: clients persist from now on, and those that
    /// waited for it wake now, in id order.
    pub(crate) fn wake_clients_for_heal(&mut self) {
        for client in self.workload.on_heal() {
            self.schedule(self.now_us, Event::ClientWake { client });
        }
    }
}
