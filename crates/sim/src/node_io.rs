//! A node's inputs and outputs: the simulator hands a live node its events
//! and carries out what it emits.
//!
//! Inputs are a message, a client's request or a timer; one for a crashed
//! node is lost, a stale timer is ignored. The node's outputs are carried
//! out in the order it emitted them, which the core relies on (persist
//! before send): a `Persist` goes to the node's disk (`disk`), a `Send`
//! through the network, a `SetTimer` into the queue, a `Reply` back to its
//! client. A `Send` or `Reply` after a `Persist` in the same batch is held
//! until that write is durable (a "write durable" event releases it); one
//! before the batch's first `Persist` leaves at once. A fault that strikes
//! mid-batch (a crash at a send or a write) drops the rest of it. The
//! safety checker sees each output as it is carried out (a promise, an
//! acceptance, a value learned or applied) through `SafetyChecker::observe`,
//! the same function the explorer calls, and judges it against its own
//! record of what was chosen. A send is shown to it when it leaves, so a
//! message held for the disk and lost in a crash was never seen sent.

use std::sync::Arc;

use paxos::{DurableWrite, Message, Node, NodeId, Output, Request, Timer};

use crate::event::Event;
use crate::host::Held;
use crate::network::Fate;
use crate::report::{LimitKind, ProbePoint};
use crate::rng::{between, chance};
use crate::simulation::Simulation;
use crate::text;

impl Simulation {
    /// A message reaches node `to`, or is lost if it is down.
    pub(crate) fn deliver(&mut self, from: NodeId, to: NodeId, message: Message, duplicate: bool) {
        self.digest.deliver(from, to, &message);
        if !self.hosts[usize::from(to)].is_up() {
            self.counters.messages_lost_to_crash += 1;
            self.record(Some(to), "lost", || {
                format!("{message} from n{from}: node down")
            });
            return;
        }
        if duplicate {
            self.probes.hit(ProbePoint::DuplicateDelivered);
        }
        self.counters.messages_delivered += 1;
        self.record(Some(to), "recv", || {
            format!(
                "{}{message} <- n{from}",
                if duplicate { "(dup) " } else { "" }
            )
        });
        self.with_node(to, |node, out| node.handle_message(from, message, out));
    }

    /// A client's request reaches node `to`, or is lost if it is down.
    pub(crate) fn client_request(&mut self, to: NodeId, request: Arc<Request>, duplicate: bool) {
        self.digest.client_request(to, request.client, request.seq);
        let op = Some((request.client, request.seq));
        if !self.hosts[usize::from(to)].is_up() {
            self.counters.messages_lost_to_crash += 1;
            self.record_for(Some(to), "lost", op, || {
                format!("client {} seq {}: node down", request.client, request.seq)
            });
            return;
        }
        if duplicate {
            self.probes.hit(ProbePoint::DuplicateDelivered);
        }
        self.record_for(Some(to), "request", op, || {
            text::request(request.client, request.seq, &request.op)
        });
        self.with_node(to, |node, out| node.handle_client(request, out));
    }

    /// A timer fires at `node`, unless it was replaced or died in a crash.
    pub(crate) fn timer(&mut self, node: NodeId, timer: Timer, generation: u64) {
        let host = &self.hosts[usize::from(node)];
        if !host.is_up() || host.timer_generation[timer.index()] != generation {
            return;
        }
        self.digest.timer(node, timer);
        self.counters.timers_fired += 1;
        let place = self.place();
        if let Some(recorder) = &mut self.recorder {
            recorder.timer(node, timer.name(), place);
        }
        self.record(Some(node), "timer", || timer.name().into());
        self.with_node(node, |n, out| n.handle_timer(timer, out));
    }

    /// Hand live node `id` one input, then carry out what it emitted.
    fn with_node(&mut self, id: NodeId, handle: impl FnOnce(&mut Node, &mut Vec<Output>)) {
        let mut out = std::mem::take(&mut self.outputs);
        out.clear();
        let node = self.hosts[usize::from(id)]
            .node
            .as_mut()
            .expect("events reach only live nodes");
        handle(node, &mut out);
        self.carry_out(id, &mut out);
        self.outputs = out;
    }

    /// Carry out a node's outputs in order, showing each to the checkers.
    /// Consecutive `Persist`s form one write; a `Send` or `Reply` after a
    /// `Persist` waits for it. A crash partway (a trigger at a send or a
    /// write) loses the rest.
    pub(crate) fn carry_out(&mut self, id: NodeId, out: &mut Vec<Output>) {
        let incarnation = self.hosts[usize::from(id)].incarnation;
        // The write this batch last issued, if still in flight, and whether
        // the previous output was a `Persist` (the next one joins it).
        let mut write: Option<u64> = None;
        let mut joining = false;
        for output in out.drain(..) {
            if self.hosts[usize::from(id)].incarnation != incarnation {
                // Crashed partway through: the rest never happened.
                break;
            }
            let is_persist = matches!(output, Output::Persist(_));
            // A send is checked when it leaves (`observe_send`), which may
            // be after its write is durable; what a node learns or applies
            // is checked here, as it is carried out.
            if matches!(output, Output::Persist(_) | Output::Applied { .. }) {
                self.check_output(id, &output);
            }
            match output {
                Output::Persist(persist) => {
                    let join = write.filter(|_| joining);
                    if let Some(issued) = self.persist(id, persist, join) {
                        write = Some(issued);
                    }
                }
                Output::Send { to, message } => match write {
                    Some(write) if self.hosts[usize::from(id)].disk.writing() => {
                        self.hold(id, write, Held::Send { to, message });
                    }
                    _ => self.send(id, to, message),
                },
                Output::SetTimer {
                    timer,
                    delay_us,
                    jitter_us,
                } => self.set_timer(id, timer, delay_us, jitter_us),
                Output::Reply { client, seq, reply } => {
                    let event = Event::ClientReply {
                        from: id,
                        client,
                        seq,
                        reply,
                        duplicate: false,
                    };
                    match write {
                        Some(write) if self.hosts[usize::from(id)].disk.writing() => {
                            self.hold(id, write, Held::Reply(event));
                        }
                        _ => {
                            self.transmit(None, event);
                        }
                    }
                }
                // Observations only: the checker has seen it above.
                Output::Applied { .. } => {}
                Output::Probe(probe) => {
                    self.probes.hit(ProbePoint::Core(probe));
                    if probe == paxos::Probe::RecoveredFromPeers {
                        self.recovered(id);
                    }
                }
            }
            joining = is_persist;
        }
    }

    /// Hold a send or reply of node `id` until write `write` is durable.
    fn hold(&mut self, id: NodeId, write: u64, held: Held) {
        self.counters.messages_held += 1;
        self.hosts[usize::from(id)].held.push((write, held));
    }

    /// Node `id`'s writes up to `write` are durable: release what waited.
    pub(crate) fn disk_durable(&mut self, id: NodeId, incarnation: u64, write: u64) {
        let host = &mut self.hosts[usize::from(id)];
        if host.incarnation != incarnation {
            return;
        }
        let records = host.disk.complete(write);
        // A copy lost here was overwritten by another value: judged at the
        // next crash or damage (`durability`).
        self.durability_sync(id);
        self.digest.disk_durable(id, write);
        self.record(Some(id), "durable", || {
            format!("write {write}: {records} records")
        });
        let waiting = self.hosts[usize::from(id)]
            .held
            .iter()
            .take_while(|(held, _)| *held <= write)
            .count();
        if waiting == 0 {
            return;
        }
        self.probes.hit(ProbePoint::MessageHeldUntilDurable);
        let released: Vec<(u64, Held)> =
            self.hosts[usize::from(id)].held.drain(..waiting).collect();
        for (_, held) in released {
            if self.hosts[usize::from(id)].incarnation != incarnation {
                break;
            }
            match held {
                Held::Send { to, message } => self.send(id, to, message),
                Held::Reply(event) => {
                    self.transmit(None, event);
                }
            }
        }
    }

    /// Start (or restart) one of node `id`'s timers. The jitter is drawn
    /// from the nodes' stream; the new generation makes the timer it
    /// replaces stale.
    fn set_timer(&mut self, id: NodeId, timer: Timer, delay_us: u64, jitter_us: u64) {
        let generation = self.timer_generation_next;
        self.timer_generation_next += 1;
        self.hosts[usize::from(id)].timer_generation[timer.index()] = generation;
        let jitter = if jitter_us == 0 {
            0
        } else {
            between(&mut self.node_rng, 0, jitter_us)
        };
        self.schedule_in(
            delay_us.saturating_add(jitter),
            Event::Timer {
                node: id,
                timer,
                generation,
            },
        );
    }

    /// Write to node `id`'s disk, after the checkers saw what it learned:
    /// at once on an instant disk, else as part of write `join` (or a new
    /// one), durable after a latency from the disk stream. Returns the
    /// write in flight, if any.
    fn persist(&mut self, id: NodeId, write: DurableWrite, join: Option<u64>) -> Option<u64> {
        let kind = crate::disk::RecordKey::of(&write).kind();
        let issued = if self.config.disk.instant() {
            self.hosts[usize::from(id)].disk.write_now(write);
            self.durability_sync(id);
            None
        } else {
            let disk_config = &self.config.disk;
            let tail = chance(&mut self.disk_rng, disk_config.tail_ppm);
            let normal_us = between(
                &mut self.disk_rng,
                disk_config.write_us_min,
                disk_config.write_us_max,
            );
            let tail_us = between(
                &mut self.disk_rng,
                disk_config.write_us_max,
                disk_config.tail_us_max.max(disk_config.write_us_max),
            );
            let latency_us = if tail { tail_us } else { normal_us };
            let host = &mut self.hosts[usize::from(id)];
            let joined = join.is_some();
            let issued = host.disk.issue(write, join);
            if !joined {
                let at_us = host.disk.durable_at(self.now_us, latency_us);
                let incarnation = host.incarnation;
                self.schedule(
                    at_us,
                    Event::DiskDurable {
                        node: id,
                        incarnation,
                        write: issued,
                    },
                );
            }
            self.record(Some(id), "write", || format!("write {issued}: {kind}"));
            Some(issued)
        };
        // The core keeps its whole log: past the bound, the run would only
        // hold more memory; it ends as a limit.
        if self.hosts[usize::from(id)].disk.chosen_count() > self.config.limits.log_slots_max {
            self.bound_hit = Some(LimitKind::Log);
        }
        for (action, explicit) in self.triggers.on_write(id, kind) {
            self.fault(action, explicit);
        }
        issued
    }

    /// A node's message: to itself directly, to others over the network.
    fn send(&mut self, from: NodeId, to: NodeId, message: Message) {
        let message = self.observe_send(from, to, message);
        if from == to {
            // A node's messages to itself never touch the network.
            let event = Event::Deliver {
                from,
                to,
                message,
                duplicate: false,
            };
            self.schedule(self.now_us, event);
            return;
        }
        let event = Event::Deliver {
            from,
            to,
            message,
            duplicate: false,
        };
        let Some((fate, lost)) = self.transmit(Some((from, to)), event) else {
            return;
        };
        let Event::Deliver { message, .. } = lost else {
            unreachable!("transmit hands back what it was given");
        };
        let event = if fate == Fate::Blocked {
            "blocked"
        } else {
            "drop"
        };
        self.record(Some(from), event, || format!("{message} -> n{to}"));
    }

    /// What the checkers, probes and triggers learn from a send, as it
    /// leaves; hands the message back.
    fn observe_send(&mut self, from: NodeId, to: NodeId, message: Message) -> Message {
        self.hosts[usize::from(from)].note_send(&message);
        let output = Output::Send { to, message };
        self.check_output(from, &output);
        let Output::Send { message, .. } = output else {
            unreachable!("built as a send just above");
        };
        let (later, now) = self.triggers.on_send(from, &message);
        for (action, explicit) in later {
            self.schedule(self.now_us, Event::Fault { action, explicit });
        }
        // A crash during the send: before the rest of the batch.
        for (action, explicit) in now {
            self.fault(action, explicit);
        }
        message
    }

    /// Show the checkers one output: the safety checker through the same
    /// function the explorer calls (`SafetyChecker::observe`), the
    /// efficiency budgets (simulator only) each send between nodes before
    /// the safety checker counts it, so that the acceptance that starts the
    /// steady state is not counted in it.
    fn check_output(&mut self, id: NodeId, output: &Output) {
        if !self.options.checkers || self.violation.is_some() {
            return;
        }
        let place = self.place();
        let budgets = match output {
            Output::Send { to, message } => self.efficiency.on_send(place, id, *to, message),
            _ => Ok(()),
        };
        match self.checker.observe(place, id, output) {
            Ok(chosen) => {
                if chosen {
                    self.efficiency.on_chosen(self.now_us);
                }
                if chosen
                    && let Output::Send {
                        message: Message::Accepted { slot, command, .. },
                        ..
                    } = output
                {
                    self.durability_chosen(*slot, command);
                    if let Some(recorder) = &mut self.recorder {
                        recorder.chosen(*slot, command, place);
                    }
                }
                if chosen && self.heal_progress_pending {
                    self.heal_progress_pending = false;
                    self.probes.hit(ProbePoint::HealThenProgress);
                }
                // Safety first: a budget overrun is reported only without
                // a safety violation at the same send.
                if let Err(violation) = budgets {
                    self.violation = Some(violation);
                }
            }
            Err(violation) => self.violation = Some(violation),
        }
    }
}
