//! The driver: advances virtual time and routes events between the parts.
//!
//! One event at a time is popped from a priority queue ordered by
//! `(time_us, sequence)`. The event goes to a node (a message, a timer, a
//! client request), a client (a reply, a timeout, a wake-up) or the fault
//! injector. A node's outputs are carried out in order: persists to its
//! durable copy, sends through the network, timers back into the queue.
//! After each event the checkers look at that event's outputs.

use std::sync::Arc;

use rand_chacha::ChaCha8Rng;

use paxos::{
    Ballot, ClientId, Durable, DurableWrite, Message, Node, NodeId, Output, Reply, Request, Timer,
};

use crate::check::{self, HistoryVerdict, Place, SafetyChecker};
use crate::config::SimConfig;
use crate::faults::{self, FaultAction, Partition, ScheduledFault, Trigger};
use crate::network::{Fate, Network};
use crate::queue::EventQueue;
use crate::report::{Counters, Invariant, LimitKind, ProbePoint, Probes, Verdict, Violation};
use crate::rng::{self, Stream, between};
use crate::trace::{Digest, TraceEvent};
use crate::workload::{ClientEffect, History, Workload};

/// How to run: what to keep and what to check.
#[derive(Clone, Copy, Debug)]
pub struct RunOptions {
    /// Keep a readable trace in memory.
    pub trace: bool,
    /// Run the checkers. Off only to measure what they cost.
    pub checkers: bool,
    /// Stop after this event index (to fetch the trace leading to a violation).
    pub stop_after_event: Option<u64>,
}

impl Default for RunOptions {
    fn default() -> RunOptions {
        RunOptions {
            trace: false,
            checkers: true,
            stop_after_event: None,
        }
    }
}

/// Everything a run produced.
#[derive(Debug)]
pub struct RunReport {
    pub config: SimConfig,
    pub verdict: Verdict,
    /// Events processed.
    pub events: u64,
    pub digest: u64,
    /// Virtual time at the end.
    pub time_us: u64,
    pub counters: Counters,
    pub probes: Probes,
    pub history: History,
    pub trace: Vec<TraceEvent>,
    /// When the heal phase began, if it did.
    pub heal_us: Option<u64>,
    /// Per node at the end: the next slot it would apply, or `None` if down.
    pub applied_upto: Vec<Option<paxos::Slot>>,
}

#[derive(Clone, Debug)]
enum Event {
    Deliver {
        from: NodeId,
        to: NodeId,
        message: Message,
        duplicate: bool,
    },
    ClientRequest {
        to: NodeId,
        request: Arc<Request>,
        duplicate: bool,
    },
    ClientReply {
        from: NodeId,
        client: ClientId,
        seq: u64,
        reply: Reply,
        duplicate: bool,
    },
    Timer {
        node: NodeId,
        timer: Timer,
        generation: u64,
    },
    ClientWake {
        client: ClientId,
    },
    ClientTimeout {
        client: ClientId,
        seq: u64,
        attempt: u32,
    },
    Fault(FaultAction),
    Restart {
        node: NodeId,
        incarnation: u64,
    },
    PartitionEnd {
        epoch: u64,
    },
    Resume {
        node: NodeId,
        epoch: u64,
    },
    Heal,
    Deadline,
}

impl Event {
    /// The same message once more, marked as the network's duplicate.
    fn duplicated(&self) -> Event {
        let mut copy = self.clone();
        match &mut copy {
            Event::Deliver { duplicate, .. }
            | Event::ClientRequest { duplicate, .. }
            | Event::ClientReply { duplicate, .. } => *duplicate = true,
            _ => unreachable!("only messages travel the network"),
        }
        copy
    }

    /// A short name, for observers.
    fn kind(&self) -> &'static str {
        match self {
            Event::Deliver { .. } => "deliver",
            Event::ClientRequest { .. } => "client-request",
            Event::ClientReply { .. } => "client-reply",
            Event::Timer { .. } => "timer",
            Event::ClientWake { .. } => "client-wake",
            Event::ClientTimeout { .. } => "client-timeout",
            Event::Fault(_) => "fault",
            Event::Restart { .. } => "restart",
            Event::PartitionEnd { .. } => "partition-end",
            Event::Resume { .. } => "resume",
            Event::Heal => "heal",
            Event::Deadline => "deadline",
        }
    }

    /// The node whose handling this event needs, for pauses.
    fn node(&self) -> Option<NodeId> {
        match self {
            Event::Deliver { to, .. } | Event::ClientRequest { to, .. } => Some(*to),
            Event::Timer { node, .. } => Some(*node),
            _ => None,
        }
    }
}

/// Per node: the simulator's view of its lifecycle.
struct NodeSlot {
    node: Option<Node>,
    /// The node's disk: every `Persist` it emitted, applied in order.
    storage: Durable,
    /// Bumped on every crash, so a stale scheduled restart is ignored.
    incarnation: u64,
    /// The live generation of each timer kind; a fired timer whose
    /// generation differs was replaced or died in a crash.
    timer_generation: [u64; Timer::ALL.len()],
    paused_epoch: Option<u64>,
    backlog: Vec<Event>,
    /// Sends per message kind, for `OnSend` triggers.
    sent_by_kind: [u32; faults::MESSAGE_KINDS.len()],
    /// The ballot of the last Prepare sent, and whether an Accept followed.
    prepare_ballot: Option<Ballot>,
    accept_sent: bool,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Phase {
    Chaos,
    Heal,
}

/// What an observer sees after each event: which event it was, and read
/// access to every node's state.
pub struct StepView<'a> {
    /// The event's index in the run, from 0.
    pub index: u64,
    pub time_us: u64,
    /// `deliver`, `client-request`, `client-reply`, `timer`, `client-wake`,
    /// `client-timeout`, `fault`, `restart`, `partition-end`, `resume`,
    /// `heal` or `deadline`.
    pub event: &'static str,
    /// The node the event was addressed to, if any.
    pub node: Option<NodeId>,
    nodes: &'a [NodeSlot],
}

impl StepView<'_> {
    /// How many nodes the cluster has.
    pub fn nodes(&self) -> u8 {
        self.nodes.len() as u8
    }

    /// Node `id`'s state, or `None` while it is down.
    pub fn node_state(&self, id: NodeId) -> Option<&Node> {
        self.nodes[usize::from(id)].node.as_ref()
    }

    /// Whether node `id` is paused.
    pub fn paused(&self, id: NodeId) -> bool {
        self.nodes[usize::from(id)].paused_epoch.is_some()
    }
}

/// A checker of your own, called after every event. An `Err` stops the run
/// with an `observer` violation carrying the message.
pub type Observer = Box<dyn FnMut(&StepView<'_>) -> Result<(), String>>;

/// Receives each trace event as it happens, instead of (or as well as) the
/// in-memory trace: for streaming a long run's timeline out.
pub type TraceSink = Box<dyn FnMut(&TraceEvent)>;

/// One simulated run. Build it with [`Simulation::new`], then [`Simulation::run`].
pub struct Simulation {
    config: SimConfig,
    cluster: Arc<paxos::Config>,
    options: RunOptions,
    queue: EventQueue<Event>,
    now_us: u64,
    events: u64,
    nodes: Vec<NodeSlot>,
    network: Network,
    node_rng: ChaCha8Rng,
    workload: Workload,
    checker: SafetyChecker,
    violation: Option<Box<Violation>>,
    triggers: Vec<(ScheduledFault, bool)>,
    phase: Phase,
    heal_us: Option<u64>,
    partition_epoch: u64,
    pause_epoch: u64,
    timer_generation_next: u64,
    heal_progress_pending: bool,
    counters: Counters,
    probes: Probes,
    digest: Digest,
    trace: Vec<TraceEvent>,
    outputs: Vec<Output>,
    finished: bool,
    observers: Vec<Observer>,
    trace_sink: Option<TraceSink>,
    /// When the last client finished its operations.
    workload_done_us: Option<u64>,
}

impl Simulation {
    /// Validate `config` and set up the run: the cluster booted, the
    /// clients ready, the random fault plan drawn and scheduled.
    pub fn new(config: SimConfig, options: RunOptions) -> Result<Simulation, String> {
        config.validate()?;
        let seed = config.seed;
        let cluster = Arc::new(config.cluster.clone());
        let nodes_count = cluster.nodes;
        let network = Network::new(
            config.network.clone(),
            nodes_count,
            rng::stream(seed, Stream::Network),
        );
        let workload = Workload::new(seed, config.workload.clone(), nodes_count);
        let checker = SafetyChecker::new(nodes_count, cluster.quorum_phase2());
        let mut simulation = Simulation {
            cluster: cluster.clone(),
            options,
            queue: EventQueue::default(),
            now_us: 0,
            events: 0,
            nodes: Vec::new(),
            network,
            node_rng: rng::stream(seed, Stream::Nodes),
            workload,
            checker,
            violation: None,
            triggers: Vec::new(),
            phase: Phase::Chaos,
            heal_us: None,
            partition_epoch: 0,
            pause_epoch: 0,
            timer_generation_next: 1,
            heal_progress_pending: false,
            counters: Counters::default(),
            probes: Probes::default(),
            digest: Digest::default(),
            trace: Vec::new(),
            outputs: Vec::new(),
            finished: false,
            observers: Vec::new(),
            trace_sink: None,
            workload_done_us: None,
            config,
        };
        simulation.boot();
        Ok(simulation)
    }

    /// Add a checker of your own, called after every event with read access
    /// to every node. Costs nothing when none is added.
    pub fn observe(mut self, observer: Observer) -> Simulation {
        self.observers.push(observer);
        self
    }

    /// Stream trace events to `sink` as they happen.
    pub fn trace_to(mut self, sink: TraceSink) -> Simulation {
        self.trace_sink = Some(sink);
        self
    }

    fn boot(&mut self) {
        for id in 0..self.cluster.nodes {
            let mut out = std::mem::take(&mut self.outputs);
            let node = Node::new(self.cluster.clone(), id, &mut out);
            self.nodes.push(NodeSlot {
                node: Some(node),
                storage: Durable::default(),
                incarnation: 0,
                timer_generation: [0; Timer::ALL.len()],
                paused_epoch: None,
                backlog: Vec::new(),
                sent_by_kind: [0; faults::MESSAGE_KINDS.len()],
                prepare_ballot: None,
                accept_sent: false,
            });
            self.carry_out(id, &mut out);
            self.outputs = out;
        }
        for client in 0..self.config.workload.clients {
            let effect = self.workload.start(client);
            self.client_effect(client, effect);
        }
        let mut fault_rng = rng::stream(self.config.seed, Stream::Faults);
        let planned = faults::plan(
            &mut fault_rng,
            &self.config.fault_rates,
            self.cluster.nodes,
            self.config.chaos_us,
        );
        let scheduled: Vec<ScheduledFault> =
            self.config.faults.iter().cloned().chain(planned).collect();
        for fault in scheduled {
            match fault.trigger {
                Trigger::At { time_us } => self.schedule(time_us, Event::Fault(fault.action)),
                _ => self.triggers.push((fault, false)),
            }
        }
        self.schedule(self.config.chaos_us, Event::Heal);
    }

    /// Run to the end and report.
    pub fn run(mut self) -> RunReport {
        while !self.finished {
            let Some((time_us, event)) = self.queue.pop() else {
                // Nothing left to happen at all: judge the end state now.
                self.finish();
                break;
            };
            assert!(time_us >= self.now_us, "time went backwards");
            self.now_us = time_us;
            if self.now_us > self.config.limits.time_us_max {
                return self.report(Verdict::Limit(LimitKind::Time));
            }
            if self.events >= self.config.limits.steps_max {
                return self.report(Verdict::Limit(LimitKind::Steps));
            }
            let (kind, node) = (event.kind(), event.node());
            self.step(event);
            if !self.observers.is_empty() && self.violation.is_none() {
                self.call_observers(kind, node);
            }
            self.events += 1;
            if let Some(violation) = self.violation.take() {
                return self.report(Verdict::Violation(violation));
            }
            if self
                .options
                .stop_after_event
                .is_some_and(|stop| self.events > stop)
            {
                return self.report(Verdict::Pass);
            }
            if self.phase == Phase::Heal && self.workload.done() && self.converged() {
                self.finish();
            }
        }
        let verdict = match self.violation.take() {
            Some(violation) => Verdict::Violation(violation),
            None => self.final_verdict(),
        };
        self.report(verdict)
    }

    fn report(mut self, verdict: Verdict) -> RunReport {
        let mut counters = self.counters;
        counters.slots_chosen = self.checker.slots_chosen;
        counters.ops_completed = self
            .workload
            .history
            .ops
            .iter()
            .filter(|op| op.complete.is_some())
            .count() as u64;
        counters.ops_unknown = self.workload.history.ops.len() as u64 - counters.ops_completed;
        RunReport {
            config: self.config.clone(),
            verdict,
            events: self.events,
            digest: self.digest.value(),
            time_us: self.now_us,
            counters,
            probes: self.probes,
            history: std::mem::take(&mut self.workload.history),
            trace: std::mem::take(&mut self.trace),
            heal_us: self.heal_us,
            applied_upto: self
                .nodes
                .iter()
                .map(|slot| slot.node.as_ref().map(Node::applied_upto))
                .collect(),
        }
    }

    fn place(&self) -> Place {
        Place {
            event: self.events,
            time_us: self.now_us,
        }
    }

    fn finish(&mut self) {
        self.finished = true;
    }

    fn final_verdict(&mut self) -> Verdict {
        if !self.options.checkers {
            return Verdict::Pass;
        }
        let place = self.place();
        if !(self.workload.done() && self.converged()) {
            return Verdict::Violation(self.liveness_violation("the run went quiet"));
        }
        let nodes: Vec<&Node> = self
            .nodes
            .iter()
            .filter_map(|slot| slot.node.as_ref())
            .collect();
        if let Err(violation) = self.checker.final_agreement(place, &nodes) {
            return Verdict::Violation(violation);
        }
        match check::check_history(
            &self.workload.history,
            place,
            self.config.limits.linearizability_steps_max,
        ) {
            HistoryVerdict::Linearizable => Verdict::Pass,
            HistoryVerdict::Violation(violation) => Verdict::Violation(violation),
            HistoryVerdict::Inconclusive { key, steps } => Verdict::Inconclusive { key, steps },
        }
    }

    /// Every node up and running, and every replica has applied the same
    /// prefix with nothing learned beyond it.
    fn converged(&self) -> bool {
        let mut applied = None;
        for slot in &self.nodes {
            let Some(node) = &slot.node else { return false };
            if slot.paused_epoch.is_some() {
                return false;
            }
            let upto = node.applied_upto();
            if *applied.get_or_insert(upto) != upto {
                return false;
            }
            if node.durable().chosen.range(upto..).next().is_some() {
                return false;
            }
        }
        true
    }

    /// Liveness in the heal phase: every operation completes within
    /// `liveness_us` of the later of its invocation and the heal, and once
    /// the clients are done the replicas converge within `liveness_us`.
    /// Reschedules itself for the next moment either could expire.
    fn check_liveness(&mut self) {
        if self.workload.done() && self.converged() {
            return;
        }
        let heal_us = self.heal_us.expect("the deadline is set when healing");
        let bound_us = self.config.limits.liveness_us;
        let waiting_since_us = match self.workload.oldest_outstanding_us() {
            Some(invoke_us) => invoke_us.max(heal_us),
            None if self.workload.done() => self.workload_done_us.unwrap_or(heal_us).max(heal_us),
            None => {
                // Every client is between operations: nothing waits yet.
                self.schedule(self.now_us + bound_us, Event::Deadline);
                return;
            }
        };
        let deadline_us = waiting_since_us.saturating_add(bound_us);
        if self.now_us < deadline_us {
            self.schedule(deadline_us, Event::Deadline);
            return;
        }
        let why = if self.workload.done() {
            "the replicas did not converge"
        } else {
            "an operation stayed outstanding"
        };
        self.violation = Some(self.liveness_violation(why));
    }

    fn liveness_violation(&self, why: &str) -> Box<Violation> {
        let outstanding = self.workload.outstanding();
        let leaders: Vec<String> = self
            .nodes
            .iter()
            .enumerate()
            .filter_map(|(id, slot)| {
                let node = slot.node.as_ref()?;
                let ballot = node.ballot()?;
                Some(format!("n{id} {} at ballot {ballot}", node.role_name()))
            })
            .collect();
        let applied: Vec<String> = self
            .nodes
            .iter()
            .enumerate()
            .map(|(id, slot)| match &slot.node {
                Some(node) => format!("n{id}:{}", node.applied_upto()),
                None => format!("n{id}:down"),
            })
            .collect();
        let pending: Vec<String> = outstanding
            .iter()
            .map(|(client, seq, attempt)| format!("client {client} seq {seq} (attempt {attempt})"))
            .collect();
        let heal_us = self.heal_us.unwrap_or(0);
        Box::new(Violation {
            invariant: Invariant::Liveness,
            event: self.events,
            time_us: self.now_us,
            slot: None,
            key: None,
            node: None,
            message: format!(
                "{why} for longer than the bound of {}us (the heal phase began at {heal_us}us); \
                 pending: [{}]; nodes believing they lead or campaign: [{}]; applied: [{}]",
                self.config.limits.liveness_us,
                pending.join(", "),
                leaders.join(", "),
                applied.join(" ")
            ),
            evidence: Vec::new(),
        })
    }

    // ----------------------------------------------------------- scheduling

    fn schedule(&mut self, time_us: u64, event: Event) {
        self.queue.push(time_us, event);
    }

    fn call_observers(&mut self, event: &'static str, node: Option<NodeId>) {
        let view = StepView {
            index: self.events,
            time_us: self.now_us,
            event,
            node,
            nodes: &self.nodes,
        };
        for observer in &mut self.observers {
            if let Err(message) = observer(&view) {
                self.violation = Some(Box::new(Violation {
                    invariant: Invariant::Observer,
                    event: view.index,
                    time_us: view.time_us,
                    slot: None,
                    key: None,
                    node,
                    message,
                    evidence: Vec::new(),
                }));
                return;
            }
        }
    }

    fn record(
        &mut self,
        node: Option<NodeId>,
        event: &'static str,
        detail: impl FnOnce() -> String,
    ) {
        if !self.options.trace && self.trace_sink.is_none() {
            return;
        }
        let line = TraceEvent {
            index: self.events,
            time_us: self.now_us,
            node,
            event,
            detail: detail(),
        };
        if let Some(sink) = &mut self.trace_sink {
            sink(&line);
        }
        if self.options.trace {
            self.trace.push(line);
        }
    }

    fn step(&mut self, event: Event) {
        self.digest.word(self.now_us);
        if let Some(node) = event.node() {
            let slot = &self.nodes[usize::from(node)];
            if slot.node.is_some() && slot.paused_epoch.is_some() {
                self.digest.word(0xba);
                self.record(Some(node), "deferred", || "paused".into());
                self.nodes[usize::from(node)].backlog.push(event);
                return;
            }
        }
        match event {
            Event::Deliver {
                from,
                to,
                message,
                duplicate,
            } => self.deliver(from, to, message, duplicate),
            Event::ClientRequest {
                to,
                request,
                duplicate,
            } => self.client_request(to, request, duplicate),
            Event::ClientReply {
                from,
                client,
                seq,
                reply,
                duplicate,
            } => {
                self.digest.word(0xc0 ^ u64::from(client) << 8 ^ seq << 24);
                if duplicate {
                    self.probes.hit(ProbePoint::DuplicateDelivered);
                }
                self.record(None, "reply", || {
                    format!("n{from} -> client {client} seq {seq}: {reply}")
                });
                let now_us = self.now_us;
                if let Some(effect) = self.workload.on_reply(client, seq, reply, now_us) {
                    self.client_effect(client, effect);
                }
            }
            Event::Timer {
                node,
                timer,
                generation,
            } => self.timer(node, timer, generation),
            Event::ClientWake { client } => {
                self.digest.word(0xc1 ^ u64::from(client) << 8);
                let now_us = self.now_us;
                let effect = self.workload.issue(client, now_us);
                self.record(None, "client", || match &effect {
                    ClientEffect::Send { request, node, .. } => {
                        format!(
                            "client {client} invokes seq {} at n{node}: {}",
                            request.seq, request.op
                        )
                    }
                    _ => format!("client {client} done"),
                });
                self.client_effect(client, effect);
            }
            Event::ClientTimeout {
                client,
                seq,
                attempt,
            } => {
                self.digest.word(0xc2 ^ u64::from(client) << 8 ^ seq << 24);
                if let Some(effect) = self.workload.on_timeout(client, seq, attempt) {
                    self.record(None, "timeout", || {
                        format!("client {client} seq {seq} attempt {attempt}")
                    });
                    self.client_effect(client, effect);
                }
            }
            Event::Fault(action) => {
                if self.phase == Phase::Chaos {
                    self.fault(action);
                }
            }
            Event::Restart { node, incarnation } => {
                if self.nodes[usize::from(node)].incarnation == incarnation {
                    self.restart(node);
                }
            }
            Event::PartitionEnd { epoch } => {
                if epoch == self.partition_epoch && self.network.partitioned() {
                    self.heal_partition();
                }
            }
            Event::Resume { node, epoch } => {
                if self.nodes[usize::from(node)].paused_epoch == Some(epoch) {
                    self.resume(node);
                }
            }
            Event::Heal => self.begin_heal(),
            Event::Deadline => self.check_liveness(),
        }
    }

    // ----------------------------------------------------------- node events

    fn deliver(&mut self, from: NodeId, to: NodeId, message: Message, duplicate: bool) {
        self.digest
            .word(0xd0 ^ u64::from(from) << 8 ^ u64::from(to) << 16);
        digest_message(&mut self.digest, &message);
        if self.nodes[usize::from(to)].node.is_none() {
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

    fn client_request(&mut self, to: NodeId, request: Arc<Request>, duplicate: bool) {
        self.digest
            .word(0xe0 ^ u64::from(to) << 8 ^ u64::from(request.client) << 16 ^ request.seq << 32);
        if self.nodes[usize::from(to)].node.is_none() {
            self.counters.messages_lost_to_crash += 1;
            self.record(Some(to), "lost", || {
                format!("client {} seq {}: node down", request.client, request.seq)
            });
            return;
        }
        if duplicate {
            self.probes.hit(ProbePoint::DuplicateDelivered);
        }
        self.record(Some(to), "request", || {
            format!(
                "client {} seq {}: {}",
                request.client, request.seq, request.op
            )
        });
        self.with_node(to, |node, out| node.handle_client(request, out));
    }

    fn timer(&mut self, node: NodeId, timer: Timer, generation: u64) {
        let slot = &self.nodes[usize::from(node)];
        if slot.node.is_none() || slot.timer_generation[timer.index()] != generation {
            return;
        }
        self.digest
            .word(0xf0 ^ u64::from(node) << 8 ^ (timer.index() as u64) << 16);
        self.counters.timers_fired += 1;
        self.record(Some(node), "timer", || timer.name().into());
        self.with_node(node, |n, out| n.handle_timer(timer, out));
    }

    fn with_node(&mut self, id: NodeId, handle: impl FnOnce(&mut Node, &mut Vec<Output>)) {
        let mut out = std::mem::take(&mut self.outputs);
        out.clear();
        let node = self.nodes[usize::from(id)]
            .node
            .as_mut()
            .expect("events reach only live nodes");
        handle(node, &mut out);
        self.carry_out(id, &mut out);
        self.outputs = out;
    }

    /// Carry out a node's outputs in order, showing each to the checkers.
    fn carry_out(&mut self, id: NodeId, out: &mut Vec<Output>) {
        for output in out.drain(..) {
            match output {
                Output::Persist(write) => self.persist(id, write),
                Output::Send { to, message } => self.send(id, to, message),
                Output::SetTimer {
                    timer,
                    delay_us,
                    jitter_us,
                } => {
                    let generation = self.timer_generation_next;
                    self.timer_generation_next += 1;
                    self.nodes[usize::from(id)].timer_generation[timer.index()] = generation;
                    let jitter = if jitter_us == 0 {
                        0
                    } else {
                        between(&mut self.node_rng, 0, jitter_us)
                    };
                    let at = self.now_us + delay_us + jitter;
                    self.schedule(
                        at,
                        Event::Timer {
                            node: id,
                            timer,
                            generation,
                        },
                    );
                }
                Output::Reply { client, seq, reply } => {
                    let event = Event::ClientReply {
                        from: id,
                        client,
                        seq,
                        reply,
                        duplicate: false,
                    };
                    self.transmit(None, event);
                }
                Output::Applied {
                    slot,
                    command,
                    result,
                } => {
                    if self.options.checkers && self.violation.is_none() {
                        let place = self.place();
                        if let Err(violation) =
                            self.checker
                                .on_applied(place, id, slot, &command, result.as_ref())
                        {
                            self.violation = Some(violation);
                        }
                    }
                }
                Output::Probe(probe) => self.probes.hit(ProbePoint::Core(probe)),
            }
        }
    }

    fn persist(&mut self, id: NodeId, write: DurableWrite) {
        if let DurableWrite::Chosen { slot, command } = &write
            && self.options.checkers
            && self.violation.is_none()
        {
            let place = self.place();
            if let Err(violation) = self.checker.on_learned(place, id, *slot, command) {
                self.violation = Some(violation);
            }
        }
        self.nodes[usize::from(id)].storage.apply(&write);
    }

    fn send(&mut self, from: NodeId, to: NodeId, message: Message) {
        self.observe_send(from, &message);
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

    /// Put one message on the network: schedule its delivery, and a
    /// duplicate's, or count its loss. A lost message comes back with how
    /// it was lost.
    fn transmit(&mut self, link: Option<(NodeId, NodeId)>, event: Event) -> Option<(Fate, Event)> {
        self.counters.messages_sent += 1;
        let fate = self.network.fate(link);
        match fate {
            Fate::Deliver {
                delay_us,
                duplicate_delay_us,
            } => {
                if let Some(duplicate_us) = duplicate_delay_us {
                    self.counters.messages_duplicated += 1;
                    self.schedule(self.now_us + duplicate_us, event.duplicated());
                }
                self.schedule(self.now_us + delay_us, event);
                return None;
            }
            Fate::Dropped => {
                self.counters.messages_dropped += 1;
                self.probes.hit(ProbePoint::MessageDropped);
            }
            Fate::Blocked => self.counters.messages_blocked += 1,
        }
        Some((fate, event))
    }

    /// What the checkers, probes and triggers learn from a send.
    fn observe_send(&mut self, from: NodeId, message: &Message) {
        let slot = &mut self.nodes[usize::from(from)];
        match message {
            Message::Prepare { ballot, .. } if slot.prepare_ballot != Some(*ballot) => {
                slot.prepare_ballot = Some(*ballot);
                slot.accept_sent = false;
            }
            Message::Accept { ballot, .. } if slot.prepare_ballot == Some(*ballot) => {
                slot.accept_sent = true;
            }
            _ => {}
        }
        if self.options.checkers && self.violation.is_none() {
            let place = self.place();
            let result = match message {
                Message::Prepare { ballot, .. } => self.checker.on_prepare(place, from, *ballot),
                Message::Promise { ballot, .. } => self.checker.on_promise(place, from, *ballot),
                Message::Accepted {
                    ballot,
                    slot,
                    command,
                } => match self
                    .checker
                    .on_accepted(place, from, *ballot, *slot, command)
                {
                    Ok(chosen) => {
                        if chosen && self.heal_progress_pending {
                            self.heal_progress_pending = false;
                            self.probes.hit(ProbePoint::HealThenProgress);
                        }
                        Ok(())
                    }
                    Err(violation) => Err(violation),
                },
                _ => Ok(()),
            };
            if let Err(violation) = result {
                self.violation = Some(violation);
            }
        }
        if !self.triggers.is_empty() {
            self.check_triggers(from, message);
        }
    }

    fn check_triggers(&mut self, from: NodeId, message: &Message) {
        let kind = message.kind();
        let kind_index = faults::MESSAGE_KINDS
            .iter()
            .position(|known| *known == kind)
            .expect("every message kind is listed");
        let count = {
            let slot = &mut self.nodes[usize::from(from)];
            slot.sent_by_kind[kind_index] += 1;
            slot.sent_by_kind[kind_index]
        };
        let accepted_slot = match message {
            Message::Accepted { slot, .. } => Some(*slot),
            _ => None,
        };
        let mut fire = Vec::new();
        for (fault, fired) in &mut self.triggers {
            if *fired {
                continue;
            }
            let hit = match &fault.trigger {
                Trigger::OnSend { node, message, nth } => {
                    *node == from && message == kind && *nth == count
                }
                Trigger::OnAccept { node, slot } => *node == from && accepted_slot == Some(*slot),
                Trigger::At { .. } => false,
            };
            if hit {
                *fired = true;
                fire.push(fault.action.clone());
            }
        }
        for action in fire {
            self.schedule(self.now_us, Event::Fault(action));
        }
    }

    // ----------------------------------------------------------------- faults

    fn fault(&mut self, action: FaultAction) {
        self.digest.word(0xfa);
        self.record(None, "fault", || format!("{action:?}"));
        match action {
            FaultAction::Crash { node, down_us } => {
                self.crash(node);
                if let Some(down_us) = down_us {
                    let incarnation = self.nodes[usize::from(node)].incarnation;
                    self.schedule(self.now_us + down_us, Event::Restart { node, incarnation });
                }
            }
            FaultAction::Restart { node } => self.restart(node),
            FaultAction::Partition {
                partition,
                duration_us,
            } => self.partition(partition, duration_us),
            FaultAction::Heal => {
                if self.network.partitioned() {
                    self.heal_partition();
                }
            }
            FaultAction::Pause { node, duration_us } => self.pause(node, duration_us),
        }
    }

    fn crash(&mut self, id: NodeId) {
        let slot = &mut self.nodes[usize::from(id)];
        if slot.node.is_none() {
            return;
        }
        if slot.prepare_ballot.is_some() && !slot.accept_sent {
            self.probes.hit(ProbePoint::CrashBetweenPrepareAndAccept);
        }
        slot.node = None;
        slot.incarnation += 1;
        slot.paused_epoch = None;
        slot.backlog.clear();
        slot.timer_generation = [0; Timer::ALL.len()];
        slot.prepare_ballot = None;
        slot.accept_sent = false;
        self.counters.crashes += 1;
        self.checker.on_crash(id);
        self.record(Some(id), "crash", String::new);
    }

    fn restart(&mut self, id: NodeId) {
        if self.nodes[usize::from(id)].node.is_some() {
            return;
        }
        self.digest.word(0xa0 ^ u64::from(id) << 8);
        self.counters.restarts += 1;
        self.record(Some(id), "restart", String::new);
        let mut out = std::mem::take(&mut self.outputs);
        out.clear();
        let durable = self.nodes[usize::from(id)].storage.clone();
        let node = Node::recover(self.cluster.clone(), id, durable, &mut out);
        if self.options.checkers && self.violation.is_none() {
            let place = self.place();
            if let Err(violation) = self.checker.on_restart(place, &node) {
                self.violation = Some(violation);
            }
        }
        self.nodes[usize::from(id)].node = Some(node);
        self.carry_out(id, &mut out);
        self.outputs = out;
    }

    fn partition(&mut self, partition: Partition, duration_us: Option<u64>) {
        self.counters.partitions += 1;
        self.partition_epoch += 1;
        self.network.partition(partition);
        if let Some(duration_us) = duration_us {
            let epoch = self.partition_epoch;
            self.schedule(self.now_us + duration_us, Event::PartitionEnd { epoch });
        }
    }

    fn heal_partition(&mut self) {
        self.network.heal();
        self.heal_progress_pending = true;
        self.record(None, "heal", String::new);
    }

    fn pause(&mut self, id: NodeId, duration_us: u64) {
        let slot = &mut self.nodes[usize::from(id)];
        if slot.node.is_none() || slot.paused_epoch.is_some() {
            return;
        }
        self.pause_epoch += 1;
        slot.paused_epoch = Some(self.pause_epoch);
        self.counters.pauses += 1;
        let epoch = self.pause_epoch;
        self.schedule(self.now_us + duration_us, Event::Resume { node: id, epoch });
    }

    fn resume(&mut self, id: NodeId) {
        let slot = &mut self.nodes[usize::from(id)];
        slot.paused_epoch = None;
        let backlog = std::mem::take(&mut slot.backlog);
        if !backlog.is_empty() {
            self.probes.hit(ProbePoint::PausedNodeResumesWithBacklog);
        }
        self.record(Some(id), "resume", || {
            format!("{} events waited", backlog.len())
        });
        for event in backlog {
            self.schedule(self.now_us, event);
        }
    }

    /// The heal phase: every partition healed, every crashed node restarted,
    /// every paused node resumed, drops and duplicates off. From now on the
    /// liveness bound runs.
    fn begin_heal(&mut self) {
        if self.phase == Phase::Heal {
            return;
        }
        self.phase = Phase::Heal;
        self.heal_us = Some(self.now_us);
        self.record(None, "heal-phase", String::new);
        self.triggers.clear();
        if self.network.partitioned() {
            self.heal_partition();
        }
        self.network.calm();
        for id in 0..self.cluster.nodes {
            if self.nodes[usize::from(id)].node.is_none() {
                self.restart(id);
            } else if self.nodes[usize::from(id)].paused_epoch.is_some() {
                self.resume(id);
            }
        }
        self.workload.patient = true;
        self.check_liveness();
    }

    // ---------------------------------------------------------------- clients

    fn client_effect(&mut self, client: ClientId, effect: ClientEffect) {
        match effect {
            ClientEffect::Send {
                node,
                request,
                attempt,
                timeout_us,
            } => {
                self.counters.client_requests += 1;
                let seq = request.seq;
                let event = Event::ClientRequest {
                    to: node,
                    request,
                    duplicate: false,
                };
                self.transmit(None, event);
                self.schedule(
                    self.now_us + timeout_us,
                    Event::ClientTimeout {
                        client,
                        seq,
                        attempt,
                    },
                );
            }
            ClientEffect::Think { delay_us } => {
                self.schedule(self.now_us + delay_us, Event::ClientWake { client });
            }
            ClientEffect::Done => {
                if self.workload.done() {
                    self.workload_done_us = Some(self.now_us);
                }
                let heal_early = self.config.heal_when_clients_done;
                if heal_early && self.phase == Phase::Chaos && self.workload.done() {
                    // Nothing left to disturb: heal now rather than idle
                    // through the rest of the chaos phase.
                    self.schedule(self.now_us, Event::Heal);
                }
            }
        }
    }
}

/// Fold the fields that identify a message into the digest.
fn digest_message(digest: &mut Digest, message: &Message) {
    let ballot_word = |ballot: &Ballot| ballot.round << 8 | u64::from(ballot.node);
    match message {
        Message::Prepare { ballot, from_slot } => {
            digest.word(1 ^ ballot_word(ballot) << 4);
            digest.word(*from_slot);
        }
        Message::Promise { ballot, accepted } => {
            digest.word(2 ^ ballot_word(ballot) << 4);
            digest.word(accepted.len() as u64);
        }
        Message::Nack { ballot, promised } => {
            digest.word(3 ^ ballot_word(ballot) << 4);
            digest.word(ballot_word(promised));
        }
        Message::Accept {
            ballot,
            slot,
            command,
        }
        | Message::Accepted {
            ballot,
            slot,
            command,
        } => {
            let kind = if matches!(message, Message::Accept { .. }) {
                4
            } else {
                5
            };
            digest.word(kind ^ ballot_word(ballot) << 4);
            digest.word(*slot);
            digest.word(command_word(command));
        }
        Message::Decide { slot, command } => {
            digest.word(6);
            digest.word(*slot);
            digest.word(command_word(command));
        }
        Message::Heartbeat {
            ballot,
            applied_upto,
        } => {
            digest.word(7 ^ ballot_word(ballot) << 4);
            digest.word(*applied_upto);
        }
        Message::CatchupRequest { from_slot } => {
            digest.word(8);
            digest.word(*from_slot);
        }
        Message::CatchupReply { entries } => {
            digest.word(9);
            digest.word(entries.len() as u64);
        }
    }
}

fn command_word(command: &paxos::Command) -> u64 {
    match command.request_id() {
        Some((client, seq)) => u64::from(client) << 40 | seq,
        None => u64::MAX,
    }
}

/// Run `config` with default options.
pub fn run(config: SimConfig) -> Result<RunReport, String> {
    Ok(Simulation::new(config, RunOptions::default())?.run())
}

/// The trace of the `count` events up to and including event `index`,
/// by running the same configuration again with the trace on.
pub fn trace_until(
    config: &SimConfig,
    index: u64,
    count: usize,
) -> Result<Vec<TraceEvent>, String> {
    let options = RunOptions {
        trace: true,
        checkers: true,
        stop_after_event: Some(index),
    };
    let mut trace = Simulation::new(config.clone(), options)?.run().trace;
    trace.retain(|event| event.index <= index);
    let skip = trace.len().saturating_sub(count);
    Ok(trace.split_off(skip))
}
