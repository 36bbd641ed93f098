//! The driver: advances virtual time and routes each event to the part
//! that handles it.
//!
//! One event at a time is popped from a priority queue ordered by
//! `(time_us, sequence)` and goes to a node (`node_io`: a message, a timer,
//! a client request, then the node's outputs carried out in order), to a
//! client (`client_io`: a reply, a timeout, a wake-up) or to the lifecycle
//! (`lifecycle`: a fault, a restart or resume falling due, the heal). The
//! safety checker sees each output as it is carried out, the liveness
//! checker looks at its deadlines, observers look after every event. The
//! run ends once the heal phase has converged, when nothing is left to
//! happen, at a violation or at a limit; the final checks then judge it.
//!
//! This file holds the loop, the routing, the run's options and report, and
//! the hooks (observers, the trace); `ending` holds how a run ends (the
//! final checks and the report). Each part is an `impl Simulation` block
//! in its own file and reaches the run's state through the `pub(crate)`
//! fields of [`Simulation`].

use std::sync::Arc;

use rand_chacha::ChaCha8Rng;

use paxos::{ClientId, Node, NodeId, Output};

use crate::check::{Place, SafetyChecker};
use crate::config::SimConfig;
use crate::digest::Digest;
use crate::efficiency::{Efficiency, EfficiencyChecker};
use crate::event::Event;
use crate::heal::HealCore;

use crate::durability::DurabilityChecker;
use crate::host::Host;
use crate::liveness::{self, LivenessChecker};
use crate::network::{Fate, Network};
use crate::queue::EventQueue;
use crate::recorder::{self, Recorder};
use crate::report::{Counters, Invariant, LimitKind, ProbePoint, Probes, Verdict, Violation};
use crate::rng::{self, Stream};
use crate::timeline::Timeline;
use crate::trace::TraceEvent;
use crate::triggers::Triggers;
use crate::workload::{History, Workload};

/// How to run: what to keep and what to check.
#[derive(Clone, Copy, Debug)]
pub struct RunOptions {
    /// Keep a readable trace in memory.
    pub trace: bool,
    /// Run the checkers. Off only to measure what they cost: the safety
    /// checks and the final ones (agreement, linearizability) are skipped
    /// and a run that reaches its end is [`Verdict::Unchecked`], never a
    /// pass. The liveness bound still ends a run that got stuck.
    pub checkers: bool,
    /// Stop after this event index (to fetch the trace leading to a
    /// violation); a run cut short is [`Verdict::Stopped`], never a pass.
    pub stop_after_event: Option<u64>,
    /// Record the run's timeline ([`RunReport::timeline`]) for people to
    /// look at. It never alters the run; off, it costs nothing but a test
    /// per hook. Bounded by `recorder::RECORDS_MAX` records.
    pub timeline: bool,
}

impl Default for RunOptions {
    fn default() -> RunOptions {
        RunOptions {
            trace: false,
            checkers: true,
            stop_after_event: None,
            timeline: false,
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
    /// The run's timeline, when [`RunOptions::timeline`] asked for it.
    pub timeline: Option<Timeline>,
    /// When the heal phase began, if it did.
    pub heal_us: Option<u64>,
    /// The live core the heal phase brought back, and how the others were
    /// kept out, if the heal phase began.
    pub heal_core: Option<HealCore>,
    /// What the heal phase cost, as the efficiency budgets count it.
    pub efficiency: Efficiency,
    /// Per node at the end: the next slot it would apply, or `None` if down.
    pub applied_upto: Vec<Option<paxos::Slot>>,
    /// The indices in `config.faults` of the explicit faults that never
    /// fired: their time came after the heal began or after the run
    /// ended, or their trigger never matched before the heal.
    pub unfired_faults: Vec<usize>,
}

/// A run has two phases: chaos, when faults strike, then heal, when they
/// have stopped and liveness is asked for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Phase {
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
    hosts: &'a [Host],
}

impl StepView<'_> {
    /// How many nodes the cluster has.
    pub fn nodes(&self) -> u8 {
        self.hosts.len() as u8
    }

    /// Node `id`'s state, or `None` while it is down.
    pub fn node_state(&self, id: NodeId) -> Option<&Node> {
        self.hosts[usize::from(id)].node.as_ref()
    }

    /// Whether node `id` is paused.
    pub fn paused(&self, id: NodeId) -> bool {
        self.hosts[usize::from(id)].is_paused()
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
    // The run: what to simulate, virtual time, what is due.
    pub(crate) config: SimConfig,
    pub(crate) cluster: Arc<paxos::Config>,
    pub(crate) options: RunOptions,
    pub(crate) queue: EventQueue<Event>,
    /// The queue sequence of the event being handled.
    pub(crate) event_sequence: u64,
    pub(crate) now_us: u64,
    /// Events handled so far; the index of the one being handled.
    pub(crate) events: u64,
    pub(crate) phase: Phase,
    /// When the heal phase began, if it did.
    pub(crate) heal_us: Option<u64>,
    /// The core the heal phase brings back, drawn at boot.
    pub(crate) heal_core: HealCore,
    pub(crate) finished: bool,
    /// A bound on what the run holds was hit (`limits.queued_events_max`
    /// events waiting, `limits.log_slots_max` slots in a node's log): the
    /// run ends as that limit after the event being handled.
    pub(crate) bound_hit: Option<LimitKind>,

    // The parts.
    /// One per node, indexed by `NodeId`.
    pub(crate) hosts: Vec<Host>,
    pub(crate) network: Network,
    pub(crate) workload: Workload,
    pub(crate) triggers: Triggers,
    /// Per explicit fault (`config.faults`), whether it has fired.
    pub(crate) faults_fired: Vec<bool>,
    /// Timer jitter, the only randomness the nodes see.
    pub(crate) node_rng: ChaCha8Rng,
    /// Disk latencies and storage faults.
    pub(crate) disk_rng: ChaCha8Rng,
    /// The storage faults so far, for a violation's report.
    pub(crate) storage_faults: Vec<String>,
    /// The generation the next timer set gets; one counter for all nodes.
    pub(crate) timer_generation_next: u64,
    /// Bumped per partition and per pause, so that a stale end or resume
    /// does nothing.
    pub(crate) partition_epoch: u64,
    pub(crate) pause_epoch: u64,
    /// The output buffer handed to the nodes, reused across events.
    pub(crate) outputs: Vec<Output>,

    // The checkers and what they found.
    pub(crate) checker: SafetyChecker,
    pub(crate) durability: DurabilityChecker,
    pub(crate) liveness: LivenessChecker,
    pub(crate) efficiency: EfficiencyChecker,
    pub(crate) violation: Option<Box<Violation>>,
    /// A partition healed and no new value was chosen since: the next one
    /// hits the `HealThenProgress` probe.
    pub(crate) heal_progress_pending: bool,
    pub(crate) counters: Counters,
    pub(crate) probes: Probes,

    // What the run leaves behind.
    pub(crate) digest: Digest,
    pub(crate) trace: Vec<TraceEvent>,
    pub(crate) observers: Vec<Observer>,
    pub(crate) trace_sink: Option<TraceSink>,
    /// Fills the timeline, if asked for.
    pub(crate) recorder: Option<Box<Recorder>>,
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
        let (_, quorum_phase2) = crate::spec::quorum_sizes(&cluster);
        let checker = SafetyChecker::new(nodes_count, quorum_phase2);
        let liveness = LivenessChecker::new(config.limits.liveness_us);
        let judged = crate::efficiency::timing_holds(&config);
        let efficiency = EfficiencyChecker::new(&config.limits, config.workload.clients, judged);
        // Validation admitted it; the specification may still say it must not have.
        let violation = crate::admission::admitted_unsafe(&config.cluster);
        let mut simulation = Simulation {
            cluster: cluster.clone(),
            options,
            queue: EventQueue::default(),
            event_sequence: 0,
            now_us: 0,
            events: 0,
            hosts: Vec::new(),
            network,
            node_rng: rng::stream(seed, Stream::Nodes),
            disk_rng: rng::stream(seed, Stream::Disk),
            storage_faults: Vec::new(),
            workload,
            checker,
            durability: DurabilityChecker::new(quorum_phase2),
            liveness,
            efficiency,
            violation,
            triggers: Triggers::new(nodes_count),
            faults_fired: vec![false; config.faults.len()],
            phase: Phase::Chaos,
            heal_us: None,
            heal_core: HealCore::full(nodes_count),
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
            bound_hit: None,
            observers: Vec::new(),
            trace_sink: None,
            recorder: options.timeline.then(|| {
                let clients = config.workload.clients;
                Box::new(Recorder::new(nodes_count, clients, recorder::RECORDS_MAX))
            }),
            config,
        };
        // A schedule names messages by their text, which the explorer
        // wrote with plain values.
        simulation.workload.plain_values = !simulation.config.schedule.is_empty();
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

    /// Boot every node, start every client, schedule the faults and the heal.
    fn boot(&mut self) {
        for id in 0..self.cluster.nodes {
            let mut out = std::mem::take(&mut self.outputs);
            let node = Node::new(self.cluster.clone(), id, &mut out);
            self.hosts.push(Host::boot(node));
            self.carry_out(id, &mut out);
            self.outputs = out;
        }
        for client in 0..self.config.workload.clients {
            let effect = self.workload.start(client);
            self.client_effect(client, effect);
        }
        self.schedule_faults();
    }

    /// Run to the end and report.
    pub fn run(mut self) -> RunReport {
        if let Some(violation) = self.violation.take() {
            // Found before the first event (an unsafe configuration admitted).
            return self.report(Verdict::Violation(violation));
        }
        if !self.config.schedule.is_empty() {
            return self.run_schedule();
        }
        while !self.finished {
            if let Some(kind) = self.bound_hit {
                return self.report(Verdict::Limit(kind));
            }
            let Some((time_us, sequence, event)) = self.queue.pop_with_sequence() else {
                // Nothing left to happen at all: judge the end state now.
                self.finish();
                break;
            };
            assert!(time_us >= self.now_us, "time went backwards");
            self.now_us = time_us;
            self.event_sequence = sequence;
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
            if let Some(kind) = self.bound_hit {
                return self.report(Verdict::Limit(kind));
            }
            if self
                .options
                .stop_after_event
                .is_some_and(|stop| self.events > stop)
            {
                let after_event = self.events - 1;
                return self.report(Verdict::Stopped { after_event });
            }
            if self.phase == Phase::Heal
                && self.workload.done()
                && liveness::converged(&self.hosts, &self.heal_core.core)
            {
                self.finish();
            }
        }
        let verdict = match self.violation.take() {
            Some(violation) => Verdict::Violation(violation),
            None => self.final_verdict(),
        };
        self.report(verdict)
    }

    /// Route one event to the part that handles it. Every event folds its
    /// time into the digest first, whatever becomes of it.
    pub(crate) fn step(&mut self, event: Event) {
        self.digest.event_time(self.now_us);
        let Some(event) = self.defer_if_paused(event) else {
            return;
        };
        if let Some(recorder) = &mut self.recorder
            && event.is_message()
        {
            let up = event
                .node()
                .is_none_or(|node| self.hosts[usize::from(node)].is_up());
            let place = Place {
                event: self.events,
                time_us: self.now_us,
            };
            recorder.received(self.event_sequence, up, place);
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
            } => self.client_reply(from, client, seq, reply, duplicate),
            Event::Timer {
                node,
                timer,
                generation,
            } => self.timer(node, timer, generation),
            Event::ClientWake { client } => self.client_wake(client),
            Event::ClientTimeout {
                client,
                seq,
                attempt,
            } => self.client_timeout(client, seq, attempt),
            Event::Fault { action, explicit } => self.fault(action, explicit),
            Event::Restart { node, incarnation } => self.restart_due(node, incarnation),
            Event::PartitionEnd { epoch } => self.partition_end_due(epoch),
            Event::Resume { node, epoch } => self.resume_due(node, epoch),
            Event::Heal => self.begin_heal(),
            Event::Deadline => self.check_liveness(),
            Event::DiskDurable {
                node,
                incarnation,
                write,
            } => self.disk_durable(node, incarnation, write),
        }
    }

    pub(crate) fn place(&self) -> Place {
        Place {
            event: self.events,
            time_us: self.now_us,
        }
    }

    // ------------------------------------------------------------ the queue

    /// Queue `event` at `time_us`, unless `limits.queued_events_max` wait
    /// already: then the run ends, as a limit, after the current event.
    /// Returns the event's queue sequence, if it was queued.
    pub(crate) fn schedule(&mut self, time_us: u64, event: Event) -> Option<u64> {
        if self.queue.len() as u64 >= self.config.limits.queued_events_max {
            self.bound_hit = Some(LimitKind::Queue);
            return None;
        }
        let sequence = self.queue.push(time_us, event);
        let queued = self.queue.len() as u64;
        if queued > self.counters.events_queued_max {
            self.counters.events_queued_max = queued;
        }
        Some(sequence)
    }

    /// Queue `event` `delay_us` from now. Validation bounds every delay,
    /// so the sum cannot overflow; it saturates all the same.
    pub(crate) fn schedule_in(&mut self, delay_us: u64, event: Event) -> Option<u64> {
        self.schedule(self.now_us.saturating_add(delay_us), event)
    }

    /// Put one message on the network: schedule its delivery, and a
    /// duplicate's, or count its loss. A lost message comes back with how
    /// it was lost.
    pub(crate) fn transmit(
        &mut self,
        link: Option<(NodeId, NodeId)>,
        event: Event,
    ) -> Option<(Fate, Event)> {
        self.counters.messages_sent += 1;
        let fate = self.network.fate(link);
        let place = self.place();
        let sent = (self.recorder.as_mut()).map(|recorder| recorder.send(&event, &fate, place));
        match fate {
            Fate::Deliver {
                delay_us,
                duplicate_delay_us,
            } => {
                if let Some(duplicate_us) = duplicate_delay_us {
                    self.counters.messages_duplicated += 1;
                    let sequence = self.schedule_in(duplicate_us, event.duplicated());
                    if let (Some(recorder), Some(sent)) = (&mut self.recorder, sent) {
                        recorder.scheduled(sent.copy, sequence);
                    }
                }
                let sequence = self.schedule_in(delay_us, event);
                if let (Some(recorder), Some(sent)) = (&mut self.recorder, sent) {
                    recorder.scheduled(sent.message, sequence);
                }
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

    // ---------------------------------------------------------------- hooks

    pub(crate) fn call_observers(&mut self, event: &'static str, node: Option<NodeId>) {
        let view = StepView {
            index: self.events,
            time_us: self.now_us,
            event,
            node,
            hosts: &self.hosts,
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
                    ops: Vec::new(),
                }));
                return;
            }
        }
    }

    /// One line of the trace, built only if someone reads it.
    pub(crate) fn record(
        &mut self,
        node: Option<NodeId>,
        event: &'static str,
        detail: impl FnOnce() -> String,
    ) {
        self.record_for(node, event, None, detail);
    }

    /// One line of the trace that belongs to client operation `op`
    /// (`(client, seq)`).
    pub(crate) fn record_for(
        &mut self,
        node: Option<NodeId>,
        event: &'static str,
        op: Option<(ClientId, u64)>,
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
            op,
        };
        if let Some(sink) = &mut self.trace_sink {
            sink(&line);
        }
        if self.options.trace {
            self.trace.push(line);
        }
    }
}

/// Run `config` with default options.
pub fn run(config: SimConfig) -> Result<RunReport, String> {
    Ok(Simulation::new(config, RunOptions::default())?.run())
}

/// The trace of the `count` events up to and including event `index`,
/// by running the same configuration again with the trace streamed (only
/// those lines are kept).
pub fn trace_until(
    config: &SimConfig,
    index: u64,
    count: usize,
) -> Result<Vec<TraceEvent>, String> {
    crate::trace::context(config, index, count, &[])
}
