//! Test drivers for the sans-IO core, using only its public API.
//!
//! - [`Solo`] drives one node by hand: feed it a message, a timer or a
//!   client request and get back exactly the outputs of that one input,
//!   with every `Persist` applied to its own `Durable` (its "disk").
//! - [`Cluster`] is a perfect FIFO network among `n` nodes: every `Send` is
//!   queued and delivered in order unless a test drops it, every `Persist`
//!   goes to the sender's `Durable` before the sends that follow it, and
//!   replies and applied entries are recorded. Messages take no time.
//!   Timers fire only when a test fires them (scripted schedules) or when
//!   it lets virtual time run with [`Cluster::run_until`], which fires the
//!   earliest pending timer whenever the network is quiet, with jitter
//!   drawn from a seeded generator.
//!
//! Every test file uses a different subset of these helpers.
#![allow(dead_code)]

use std::collections::{BTreeMap, VecDeque};
use std::sync::Arc;

use paxos::{
    Ballot, ClientId, Command, Config, Durable, DurableWrite, Message, Mode, Node, NodeId, Op,
    OpResult, Output, Probe, Reply, Request, Slot, Timer, Value,
};

/// Deliveries one `Cluster::deliver_all` may make before the test calls the
/// cluster livelocked.
pub const DELIVERIES_MAX: usize = 100_000;

// ------------------------------------------------------------------ builders

pub fn config(nodes: u8, mode: Mode) -> Arc<Config> {
    let config = Config::new(nodes, mode);
    config.validate().expect("test config is valid");
    Arc::new(config)
}

/// Needs the `flaws` feature, which `cargo test -p paxos` turns on through
/// the crate's dev-dependency on itself.
#[cfg(feature = "flaws")]
pub fn config_with_flaws(nodes: u8, mode: Mode, flaws: &[paxos::Flaw]) -> Arc<Config> {
    let mut config = Config::new(nodes, mode);
    config.flaws = flaws.iter().copied().collect::<paxos::Flaws>();
    config.validate().expect("test config is valid");
    Arc::new(config)
}

pub fn ballot(round: u64, node: NodeId) -> Ballot {
    Ballot::new(round, node)
}

pub fn value(number: i64) -> Value {
    Arc::new(serde_json::json!(number))
}

pub fn put(client: ClientId, seq: u64, key: &str, number: i64) -> Arc<Request> {
    let op = Op::Put {
        key: key.into(),
        value: value(number),
    };
    Arc::new(Request { client, seq, op })
}

pub fn get(client: ClientId, seq: u64, key: &str) -> Arc<Request> {
    let op = Op::Get { key: key.into() };
    Arc::new(Request { client, seq, op })
}

pub fn cas(
    client: ClientId,
    seq: u64,
    key: &str,
    expected_version: u64,
    number: i64,
) -> Arc<Request> {
    let op = Op::Cas {
        key: key.into(),
        expected_version,
        value: value(number),
    };
    Arc::new(Request { client, seq, op })
}

pub fn command(request: &Arc<Request>) -> Command {
    Command::Client(request.clone())
}

/// `(client, seq)` of a client command, `None` for a no-op.
pub fn request_id(command: &Command) -> Option<(ClientId, u64)> {
    command.request_id()
}

pub fn is_noop(command: &Command) -> bool {
    matches!(command, Command::Noop)
}

/// `"noop"` or `"client C seq S"`, for readable comparisons.
pub fn label(command: &Command) -> String {
    match command.request_id() {
        None => "noop".to_string(),
        Some((client, seq)) => format!("client {client} seq {seq}"),
    }
}

// ---------------------------------------------------------- output helpers

pub fn sends(out: &[Output]) -> Vec<(NodeId, Message)> {
    out.iter()
        .filter_map(|output| match output {
            Output::Send { to, message } => Some((*to, message.clone())),
            _ => None,
        })
        .collect()
}

pub fn persists(out: &[Output]) -> Vec<DurableWrite> {
    out.iter()
        .filter_map(|output| match output {
            Output::Persist(write) => Some(write.clone()),
            _ => None,
        })
        .collect()
}

pub fn replies(out: &[Output]) -> Vec<(ClientId, u64, Reply)> {
    out.iter()
        .filter_map(|output| match output {
            Output::Reply { client, seq, reply } => Some((*client, *seq, reply.clone())),
            _ => None,
        })
        .collect()
}

pub fn probes(out: &[Output]) -> Vec<Probe> {
    out.iter()
        .filter_map(|output| match output {
            Output::Probe(probe) => Some(*probe),
            _ => None,
        })
        .collect()
}

/// Index of the first output that matches.
pub fn position(out: &[Output], matches: impl Fn(&Output) -> bool) -> Option<usize> {
    out.iter().position(matches)
}

pub fn is_persist_promised(output: &Output, expected: Ballot) -> bool {
    matches!(output, Output::Persist(DurableWrite::Promised(ballot)) if *ballot == expected)
}

pub fn is_persist_accepted(output: &Output, expected_slot: Slot, expected: Ballot) -> bool {
    matches!(
        output,
        Output::Persist(DurableWrite::Accepted { slot, ballot, .. })
            if *slot == expected_slot && *ballot == expected
    )
}

pub fn is_send_kind(output: &Output, kind: &str) -> bool {
    matches!(output, Output::Send { message, .. } if message.kind() == kind)
}

/// All `Accept` messages among the sends: `(to, ballot, slot, command)`.
pub fn accepts(out: &[Output]) -> Vec<(NodeId, Ballot, Slot, Command)> {
    sends(out)
        .into_iter()
        .filter_map(|(to, message)| match message {
            Message::Accept {
                ballot,
                slot,
                command,
            } => Some((to, ballot, slot, command)),
            _ => None,
        })
        .collect()
}

/// The command each slot is proposed with in `out`, asserting that one
/// batch of outputs never proposes two different commands for one slot.
pub fn proposals(out: &[Output]) -> BTreeMap<Slot, Command> {
    let mut by_slot: BTreeMap<Slot, Command> = BTreeMap::new();
    for (_, _, slot, command) in accepts(out) {
        if let Some(earlier) = by_slot.get(&slot) {
            assert!(
                earlier.same_as(&command),
                "two commands proposed for slot {slot}"
            );
        }
        by_slot.insert(slot, command);
    }
    by_slot
}

/// Ballots of all `Prepare` messages among the sends.
pub fn prepare_ballots(out: &[Output]) -> Vec<Ballot> {
    sends(out)
        .into_iter()
        .filter_map(|(_, message)| match message {
            Message::Prepare { ballot, .. } => Some(ballot),
            _ => None,
        })
        .collect()
}

pub fn done(reply: &Reply) -> &OpResult {
    match reply {
        Reply::Done(result) => result,
        Reply::Redirect { .. } => panic!("expected Done, got {reply:?}"),
    }
}

// ---------------------------------------------------------------------- solo

/// One node driven by hand. Each input returns exactly its own outputs;
/// `Persist` writes go to `durable` as a caller would apply them.
pub struct Solo {
    pub node: Node,
    pub durable: Durable,
}

impl Solo {
    pub fn new(config: Arc<Config>, id: NodeId) -> Solo {
        Solo::recover(config, id, Durable::default())
    }

    pub fn recover(config: Arc<Config>, id: NodeId, durable: Durable) -> Solo {
        let mut out = Vec::new();
        let node = Node::recover(config, id, durable.clone(), &mut out);
        assert!(persists(&out).is_empty(), "booting writes nothing");
        Solo { node, durable }
    }

    /// Crash (drop the volatile part) and recover from what was persisted.
    pub fn restart(self) -> Solo {
        let config = Arc::new(self.node.config().clone());
        Solo::recover(config, self.node.id(), self.durable)
    }

    pub fn feed(&mut self, from: NodeId, message: Message) -> Vec<Output> {
        let mut out = Vec::new();
        self.node.handle_message(from, message, &mut out);
        self.apply_persists(&out);
        out
    }

    pub fn timer(&mut self, timer: Timer) -> Vec<Output> {
        let mut out = Vec::new();
        self.node.handle_timer(timer, &mut out);
        self.apply_persists(&out);
        out
    }

    pub fn client(&mut self, request: Arc<Request>) -> Vec<Output> {
        let mut out = Vec::new();
        self.node.handle_client(request, &mut out);
        self.apply_persists(&out);
        out
    }

    /// Deliver the node's messages to itself until it sends itself none;
    /// messages to others are returned, in order, with everything else.
    pub fn run_self(&mut self, mut out: Vec<Output>) -> Vec<Output> {
        let id = self.node.id();
        let mut all = Vec::new();
        for _ in 0..DELIVERIES_MAX {
            let mut next = Vec::new();
            for output in out {
                match output {
                    Output::Send { to, message } if to == id => {
                        next.extend(self.feed(id, message));
                    }
                    other => all.push(other),
                }
            }
            if next.is_empty() {
                return all;
            }
            out = next;
        }
        panic!("node {id} keeps sending itself messages");
    }

    fn apply_persists(&mut self, out: &[Output]) {
        for write in persists(out) {
            self.durable.apply(&write);
        }
    }
}

// ------------------------------------------------------------------- cluster

#[derive(Clone, Debug)]
pub struct Envelope {
    pub from: NodeId,
    pub to: NodeId,
    pub message: Message,
}

/// A perfect FIFO network among `n` nodes, with crash and recovery.
pub struct Cluster {
    pub config: Arc<Config>,
    pub nodes: Vec<Option<Node>>,
    /// Each node's disk: every `Persist` it emitted, applied in order.
    pub durables: Vec<Durable>,
    pub network: VecDeque<Envelope>,
    /// Replies as `(node, client, seq, reply)`, in the order given.
    pub replies: Vec<(NodeId, ClientId, u64, Reply)>,
    /// What each node applied, in order, as `(slot, command, result)`.
    pub applied: Vec<Vec<(Slot, Command, Option<OpResult>)>>,
    /// Every output of every node, for tests that inspect a whole run.
    pub outputs: Vec<Vec<Output>>,
    /// Nodes cut off from everyone: messages to and from them are lost.
    pub isolated: Vec<bool>,
    /// Pending timers per node, as deadlines in virtual microseconds.
    pub timers: Vec<BTreeMap<Timer, u64>>,
    pub now_us: u64,
    /// Jitter source: xorshift64, seeded per cluster.
    rng_state: u64,
}

impl Cluster {
    /// A cluster whose timer jitter comes from `seed`.
    pub fn with_seed(config: Arc<Config>, seed: u64) -> Cluster {
        let mut cluster = Cluster::new(config);
        cluster.rng_state = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
        cluster
    }

    pub fn new(config: Arc<Config>) -> Cluster {
        let n = config.nodes as usize;
        let mut cluster = Cluster {
            config: config.clone(),
            nodes: (0..n).map(|_| None).collect(),
            durables: vec![Durable::default(); n],
            network: VecDeque::new(),
            replies: Vec::new(),
            applied: vec![Vec::new(); n],
            outputs: vec![Vec::new(); n],
            isolated: vec![false; n],
            timers: vec![BTreeMap::new(); n],
            now_us: 0,
            rng_state: 0x9E37_79B9_7F4A_7C15,
        };
        for id in 0..config.nodes {
            cluster.recover(id);
        }
        cluster
    }

    pub fn node(&self, id: NodeId) -> &Node {
        self.nodes[id as usize].as_ref().expect("node is up")
    }

    /// Drop the node: its volatile state, its timers and every message
    /// queued for it are gone; its durable copy stays.
    pub fn crash(&mut self, id: NodeId) {
        assert!(
            self.nodes[id as usize].take().is_some(),
            "node {id} already down"
        );
        self.network.retain(|envelope| envelope.to != id);
        self.timers[id as usize].clear();
    }

    /// Rebuild the node from its durable copy alone.
    pub fn recover(&mut self, id: NodeId) {
        assert!(self.nodes[id as usize].is_none(), "node {id} is up");
        let mut out = Vec::new();
        let durable = self.durables[id as usize].clone();
        let node = Node::recover(self.config.clone(), id, durable, &mut out);
        self.nodes[id as usize] = Some(node);
        self.carry_out(id, out);
    }

    pub fn isolate(&mut self, id: NodeId) {
        self.isolated[id as usize] = true;
    }

    pub fn heal(&mut self, id: NodeId) {
        self.isolated[id as usize] = false;
    }

    pub fn client(&mut self, id: NodeId, request: Arc<Request>) {
        self.input(id, |node, out| node.handle_client(request, out));
    }

    pub fn timer(&mut self, id: NodeId, timer: Timer) {
        self.input(id, |node, out| node.handle_timer(timer, out));
    }

    /// Deliver the oldest queued message, if any. Returns false when the
    /// network is empty.
    pub fn step(&mut self) -> bool {
        self.step_unless(|_| false)
    }

    /// Deliver the oldest queued message unless `drop` says to lose it.
    pub fn step_unless(&mut self, drop: impl Fn(&Envelope) -> bool) -> bool {
        let Some(envelope) = self.network.pop_front() else {
            return false;
        };
        let cut = self.isolated[envelope.from as usize] || self.isolated[envelope.to as usize];
        if cut || drop(&envelope) || self.nodes[envelope.to as usize].is_none() {
            return true;
        }
        let Envelope { from, to, message } = envelope;
        self.input(to, |node, out| node.handle_message(from, message, out));
        true
    }

    /// Deliver until the network is empty.
    pub fn deliver_all(&mut self) {
        self.deliver_all_unless(|_| false);
    }

    /// Deliver until the network is empty, losing what `drop` selects.
    pub fn deliver_all_unless(&mut self, drop: impl Fn(&Envelope) -> bool) {
        for _ in 0..DELIVERIES_MAX {
            if !self.step_unless(&drop) {
                return;
            }
        }
        panic!("network never went quiet after {DELIVERIES_MAX} deliveries");
    }

    /// Stable-leader mode: make `id` leader by firing its election timer.
    pub fn elect(&mut self, id: NodeId) {
        self.timer(id, Timer::Election);
        self.deliver_all();
        assert!(
            self.node(id).is_leader(),
            "node {id} did not win its election"
        );
    }

    /// Let virtual time run until `done` holds: deliver every message, and
    /// whenever the network is quiet fire the earliest pending timer.
    /// Returns false if `done` still fails once time passes `until_us`.
    pub fn run_until(&mut self, until_us: u64, done: impl Fn(&Cluster) -> bool) -> bool {
        self.run_until_unless(until_us, |_| false, done)
    }

    /// `run_until`, losing the messages `drop` selects.
    pub fn run_until_unless(
        &mut self,
        until_us: u64,
        drop: impl Fn(&Envelope) -> bool,
        done: impl Fn(&Cluster) -> bool,
    ) -> bool {
        loop {
            if done(self) {
                return true;
            }
            if self.step_unless(&drop) {
                continue;
            }
            match self.next_timer() {
                Some((at_us, id, timer)) if at_us <= until_us => self.fire(at_us, id, timer),
                _ => return false,
            }
        }
    }

    /// The earliest pending timer of a running node: `(deadline, node, timer)`.
    pub fn next_timer(&self) -> Option<(u64, NodeId, Timer)> {
        (0..self.nodes.len())
            .filter(|&id| self.nodes[id].is_some())
            .flat_map(|id| {
                self.timers[id]
                    .iter()
                    .map(move |(timer, at_us)| (*at_us, id as NodeId, *timer))
            })
            .min()
    }

    /// Advance virtual time to `at_us` and fire `timer` at node `id`.
    pub fn fire(&mut self, at_us: u64, id: NodeId, timer: Timer) {
        self.timers[id as usize].remove(&timer);
        self.now_us = self.now_us.max(at_us);
        self.timer(id, timer);
    }

    /// A uniform draw from `0..=max` from the cluster's seeded generator.
    pub fn draw(&mut self, max: u64) -> u64 {
        let mut x = self.rng_state;
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        self.rng_state = x;
        x % (max + 1)
    }

    /// Every `(client, seq)` has a `Done` reply.
    pub fn all_done(&self, requests: &[(ClientId, u64)]) -> bool {
        requests.iter().all(|(client, seq)| {
            self.replies
                .iter()
                .any(|(_, c, s, reply)| c == client && s == seq && matches!(reply, Reply::Done(_)))
        })
    }

    pub fn chosen(&self, id: NodeId) -> &BTreeMap<Slot, Command> {
        &self.durables[id as usize].chosen
    }

    /// The reply some node gave for `(client, seq)`, the last one if several.
    pub fn reply(&self, client: ClientId, seq: u64) -> Option<&Reply> {
        self.replies
            .iter()
            .rev()
            .find(|(_, c, s, _)| *c == client && *s == seq)
            .map(|(_, _, _, reply)| reply)
    }

    /// The `Done` result for `(client, seq)`; panics if there is none.
    pub fn result(&self, client: ClientId, seq: u64) -> OpResult {
        let reply = self
            .replies
            .iter()
            .rev()
            .find(|(_, c, s, reply)| *c == client && *s == seq && matches!(reply, Reply::Done(_)))
            .map(|(_, _, _, reply)| reply)
            .unwrap_or_else(|| panic!("no Done reply for client {client} seq {seq}"));
        done(reply).clone()
    }

    /// No two nodes' durable logs disagree on any slot.
    pub fn assert_agreement(&self) {
        let mut decided: BTreeMap<Slot, (NodeId, Command)> = BTreeMap::new();
        for (id, durable) in self.durables.iter().enumerate() {
            for (slot, command) in &durable.chosen {
                match decided.get(slot) {
                    Some((other, earlier)) => assert!(
                        earlier.same_as(command),
                        "slot {slot}: node {other} chose {earlier:?}, node {id} chose {command:?}"
                    ),
                    None => {
                        decided.insert(*slot, (id as NodeId, command.clone()));
                    }
                }
            }
        }
    }

    /// Feed one input. Each input advances virtual time by a microsecond,
    /// so timers set by consecutive inputs are set at distinct times.
    fn input(&mut self, id: NodeId, feed: impl FnOnce(&mut Node, &mut Vec<Output>)) {
        self.now_us += 1;
        let mut out = Vec::new();
        let node = self.nodes[id as usize].as_mut().expect("node is up");
        feed(node, &mut out);
        self.carry_out(id, out);
    }

    /// Carry out outputs in order: persist first, as the call protocol says.
    fn carry_out(&mut self, id: NodeId, out: Vec<Output>) {
        for output in &out {
            match output {
                Output::Persist(write) => self.durables[id as usize].apply(write),
                Output::Send { to, message } => self.network.push_back(Envelope {
                    from: id,
                    to: *to,
                    message: message.clone(),
                }),
                Output::Reply { client, seq, reply } => {
                    self.replies.push((id, *client, *seq, reply.clone()));
                }
                Output::Applied {
                    slot,
                    command,
                    result,
                } => self.applied[id as usize].push((*slot, command.clone(), result.clone())),
                Output::SetTimer {
                    timer,
                    delay_us,
                    jitter_us,
                } => {
                    let jitter = self.draw(*jitter_us);
                    let at_us = self.now_us + delay_us + jitter;
                    self.timers[id as usize].insert(*timer, at_us);
                }
                Output::Probe(_) => {}
            }
        }
        self.outputs[id as usize].extend(out);
    }
}
