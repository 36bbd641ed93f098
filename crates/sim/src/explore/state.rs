//! One explored state, its parts and its fingerprint; and the model, what
//! every state of one exploration shares.
//!
//! A state is cloned for every successor, so its parts are shared: each
//! node's host, the clients, the history and the checker sit behind `Rc`
//! and are copied only when a step changes them (`Rc::make_mut`); within a
//! host, the running node and the disk are `Rc`s too, replaced whole by
//! the result of a memoized transition (`memo`), never edited in place.
//! Each part keeps its own fingerprint (a node's and a disk's travel with
//! them), recomputed only when it changes; the messages in flight
//! are a multiset whose fingerprint is the wrapping sum of theirs, kept up
//! to date as messages come and go. The state's fingerprint hashes the
//! parts' fingerprints in a fixed order.

use std::cell::{Cell, RefCell};
use std::collections::VecDeque;
use std::hash::Hasher;
use std::rc::Rc;
use std::sync::Arc;

use paxos::{ClientId, Durable, Fingerprint, Key, Node, NodeId, Timer};

use super::clients::Client;
use super::footprint::Footprint;
use super::hash::{Fingerprinter, Visited, fingerprint_of};
use super::memo::Memo;
pub(crate) use super::network::{Envelope, Flight, Network, Sent};
use super::{Budgets, ExploreConfig};
use crate::check::SafetyChecker;
use crate::config::ScriptedOp;
use crate::workload::History;

/// What every state of one exploration shares.
pub(crate) struct Model {
    pub(crate) cluster: Arc<paxos::Config>,
    pub(crate) scripts: Vec<Vec<ScriptedOp>>,
    pub(crate) targets: Vec<NodeId>,
    pub(crate) keys: Vec<Key>,
    pub(crate) budgets: Budgets,
    /// Histories (by fingerprint) already found linearizable: the same
    /// history recurs in many states, and is checked once.
    pub(crate) linearizable: RefCell<Visited>,
    /// The value each client writes in each operation, one allocation per
    /// value for the whole search: the linearizability checker tells values
    /// apart by pointer, and a node or reply reused from another path
    /// (`memo`) must hold the same pointer as this path's history.
    pub(crate) values: Vec<Vec<paxos::Value>>,
    /// Node and checker transitions already computed (`memo`).
    pub(crate) memo: RefCell<Memo>,
    /// The buffer a node's outputs go to, reused from step to step.
    pub(crate) outputs: Cell<Vec<paxos::Output>>,
    /// While a counterexample is rendered: the deliveries each step makes
    /// within itself (see `note`), in order.
    pub(crate) within: RefCell<Option<Vec<super::Action>>>,
    /// Whether states are stored without the messages their receivers
    /// ignore for good (`ignored`): on for a search that asks for it, off
    /// for a replay, which must find every message an action names.
    pub(crate) discard_ignored: bool,
}

impl Model {
    pub(crate) fn new(config: &ExploreConfig) -> Model {
        let nodes = config.cluster.nodes;
        let targets = if config.targets.is_empty() {
            (0..config.scripts.len())
                .map(|client| (client % usize::from(nodes)) as NodeId)
                .collect()
        } else {
            config.targets.clone()
        };
        Model {
            cluster: Arc::new(config.cluster.clone()),
            scripts: config.scripts.clone(),
            targets,
            keys: (0..super::KEYS_MAX)
                .map(|key| Key::from(format!("user_profile:{key}")))
                .collect(),
            budgets: config.budgets,
            linearizable: RefCell::new(Visited::default()),
            memo: RefCell::new(Memo::default()),
            values: config
                .scripts
                .iter()
                .enumerate()
                .map(|(client, script)| {
                    (1..=script.len() as u64)
                        .map(|seq| crate::workload::plain_value(client as ClientId, seq))
                        .collect()
                })
                .collect(),
            outputs: Cell::new(Vec::new()),
            within: RefCell::new(None),
            discard_ignored: false,
        }
    }

    /// Record a delivery made within a step, if a rendering asks for them;
    /// `action` is built only then.
    pub(crate) fn note(&self, action: impl FnOnce() -> super::Action) {
        if let Some(within) = self.within.borrow_mut().as_mut() {
            within.push(action());
        }
    }

    pub(crate) fn nodes(&self) -> u8 {
        self.cluster.nodes
    }

    /// Whether clients cannot time out. Then a client's request reaches
    /// its target within the step that invokes it, and a node's reply its
    /// client within the step that sends it (see the module doc for why
    /// nothing is lost); with retries, a late request or reply can cause a
    /// timeout, so both fly.
    pub(crate) fn clients_patient(&self) -> bool {
        self.budgets.client_retries == 0
    }
}

/// One node: the running `Node` while it is up, its disk always, and the
/// kinds of timer it has pending (a bit per `Timer::index`). The timers
/// are left out of the host's fingerprint: the state's adds those that can
/// still fire. Small: a step copies the host it changes, and every field
/// but the fingerprints is a pointer.
#[derive(Clone, Debug)]
pub(crate) struct Host {
    /// The node's fingerprint, kept with it (meaningless while down).
    node_print: u128,
    /// The disk's fingerprint, if `disk_known`: the disk changes far less
    /// often than the node, so it is not hashed with every step.
    disk_print: u128,
    /// The running node, shared with every state (and the transition
    /// cache) that holds the same node: a handler's result is a new node,
    /// never an edit of a shared one (`step::handle`).
    node: Option<Rc<Node>>,
    /// Shared between states and never edited in place: a write makes a
    /// new disk (`memo`), so a step that writes nothing copies no disk.
    disk: Rc<Durable>,
    /// Messages the node sent itself in the step just taken, not yet
    /// delivered: kept only while a crash is left in the budget, so that a
    /// crash can come between a send to itself and its delivery (`step`).
    /// Boxed, and none when empty, as it nearly always is.
    #[expect(
        clippy::box_collection,
        reason = "a host is copied by each step that changes it: one pointer, not a whole empty queue"
    )]
    local: Option<Box<VecDeque<Sent>>>,
    pub(crate) timers: u8,
    disk_known: bool,
}

impl Host {
    /// A node that has not booted yet, with an empty disk.
    pub(crate) fn unbooted() -> Host {
        Host {
            node_print: 0,
            disk_print: 0,
            node: None,
            disk: Rc::new(Durable::default()),
            local: None,
            timers: 0,
            disk_known: false,
        }
    }

    /// Whether messages to itself wait to be delivered (`Step::Local`).
    pub(crate) fn has_local(&self) -> bool {
        self.local.is_some()
    }

    /// Park `local`, the messages to itself not yet delivered.
    pub(crate) fn park(&mut self, local: VecDeque<Sent>) {
        assert!(self.local.is_none(), "one step's messages parked at a time");
        self.local = (!local.is_empty()).then(|| Box::new(local));
    }

    /// The parked messages to itself, taken out to be delivered.
    pub(crate) fn take_local(&mut self) -> VecDeque<Sent> {
        self.local.take().map(|local| *local).unwrap_or_default()
    }

    pub(crate) fn node(&self) -> Option<&Node> {
        self.node.as_deref()
    }

    pub(crate) fn is_up(&self) -> bool {
        self.node.is_some()
    }

    /// The running node and its fingerprint, to look a transition up.
    pub(crate) fn running(&self) -> Option<(&Rc<Node>, u128)> {
        self.node.as_ref().map(|node| (node, self.node_print))
    }

    /// Run `node` (booted, recovered or the result of a handler), whose
    /// fingerprint is `print`.
    pub(crate) fn run(&mut self, node: Rc<Node>, print: u128) {
        debug_assert_eq!(
            print,
            node_fingerprint(&node),
            "a node's cached fingerprint"
        );
        self.node = Some(node);
        self.node_print = print;
    }

    /// The node crashes: it, its timers and its unsent messages to itself
    /// are gone; its disk stays.
    pub(crate) fn crash(&mut self) {
        assert!(self.node.is_some(), "only a running node crashes");
        self.node = None;
        self.node_print = 0;
        self.timers = 0;
        self.local = None;
    }

    pub(crate) fn disk(&self) -> &Durable {
        &self.disk
    }

    /// The disk and its fingerprint, brought up to date first.
    pub(crate) fn disk_now(&mut self) -> (&Rc<Durable>, u128) {
        if !self.disk_known {
            self.disk_print = fingerprint_of(|hasher| self.disk.fingerprint(hasher));
            self.disk_known = true;
        }
        (&self.disk, self.disk_print)
    }

    /// Replace the disk by `disk` (the result of a write, `memo`), whose
    /// fingerprint is `print`.
    pub(crate) fn set_disk(&mut self, disk: Rc<Durable>, print: u128) {
        self.disk = disk;
        self.disk_print = print;
        self.disk_known = true;
    }

    fn fingerprint(&mut self) -> u128 {
        let (_, disk_print) = self.disk_now();
        fingerprint_of(|hasher| {
            match &self.node {
                Some(_) => {
                    hasher.write_u8(1);
                    hasher.write_u128(self.node_print);
                }
                None => hasher.write_u8(0),
            }
            hasher.write_u128(disk_print);
            let local = self.local.as_deref();
            hasher.write_usize(local.map_or(0, VecDeque::len));
            for sent in local.into_iter().flatten() {
                sent.message().fingerprint(hasher);
            }
        })
    }

    pub(crate) fn timer_pending(&self, timer: Timer) -> bool {
        self.timers & (1 << timer.index()) != 0
    }
}

/// The fingerprint of a node's whole state.
pub(crate) fn node_fingerprint(node: &Node) -> u128 {
    fingerprint_of(|hasher| node.fingerprint(hasher))
}

/// A vector of at most `N` items held inline, so that cloning a state
/// allocates nothing for it; slots past `len` hold copies of a filler.
#[derive(Clone, Debug)]
pub(crate) struct Slots<T, const N: usize> {
    items: [T; N],
    len: usize,
}

impl<T: Clone, const N: usize> Slots<T, N> {
    fn new(values: Vec<T>, filler: T) -> Slots<T, N> {
        assert!(values.len() <= N, "{} items, at most {N}", values.len());
        let len = values.len();
        let mut values = values.into_iter();
        let items = std::array::from_fn(|_| values.next().unwrap_or_else(|| filler.clone()));
        Slots { items, len }
    }
}

impl<T, const N: usize> std::ops::Deref for Slots<T, N> {
    type Target = [T];

    fn deref(&self) -> &[T] {
        &self.items[..self.len]
    }
}

impl<T, const N: usize> std::ops::DerefMut for Slots<T, N> {
    fn deref_mut(&mut self) -> &mut [T] {
        &mut self.items[..self.len]
    }
}

const NODES: usize = super::NODES_MAX as usize;
/// The fingerprint of every host that is down for good.
const DEAD_HOST_PRINT: u128 = 0xdead;
const CLIENTS: usize = super::CLIENTS_MAX;

/// One explored state. Cheap to clone: the big parts are shared.
#[derive(Clone, Debug)]
pub(crate) struct State {
    pub(crate) hosts: Slots<Rc<Host>, NODES>,
    host_prints: Slots<u128, NODES>,
    pub(crate) network: Network,
    /// Shared until a client step changes one (`clients`).
    pub(crate) clients: Rc<Slots<Client, CLIENTS>>,
    pub(crate) history: Rc<History>,
    /// Client events (invocations and completions) so far: the history's
    /// clock. Only their order matters to linearizability, so a step that
    /// is not a client event leaves time where it was.
    pub(crate) clock: u64,
    pub(crate) checker: Rc<SafetyChecker>,
    checker_print: u128,
    /// Budgets used so far (`client_retries` and `client_redirects` are
    /// counted per operation, in the client, and stay 0 here).
    pub(crate) used: Budgets,
    /// The clients, the history and its clock, hashed together.
    clients_print: u128,
    /// Parts changed since the last `refresh`: a bit per host, the
    /// checker, the clients (with the history and its clock).
    hosts_dirty: u32,
    checker_dirty: bool,
    /// Set by whoever changes a client, the history or the clock (`clients`).
    pub(crate) clients_dirty: bool,
    /// Nodes down for good: down with no restart left in the budget. Follows
    /// from the hosts and the budgets, so it is not fingerprinted.
    dead: u32,
    /// What the last step touched (`footprint`); not part of the state.
    pub(crate) footprint: Footprint,
    /// A bit per node that the last step changed or sent a message to; not
    /// part of the state (`discard_ignored` looks at those nodes' messages).
    pub(crate) touched: u8,
}

impl State {
    /// Every node booted, no message in flight, no client started.
    pub(crate) fn new(model: &Model, hosts: Vec<Host>, checker: SafetyChecker) -> State {
        let clients = model
            .targets
            .iter()
            .map(|&target| Client::new(target))
            .collect();
        let hosts: Vec<Rc<Host>> = hosts.into_iter().map(Rc::new).collect();
        let filler = hosts[0].clone();
        let mut state = State {
            host_prints: Slots::new(vec![0; hosts.len()], 0),
            hosts: Slots::new(hosts, filler),
            network: Network::default(),
            clients: Rc::new(Slots::new(clients, Client::new(0))),
            history: Rc::new(History::default()),
            clock: 0,
            checker: Rc::new(checker),
            checker_print: 0,
            used: Budgets::default(),
            clients_print: 0,
            hosts_dirty: u32::MAX,
            checker_dirty: true,
            clients_dirty: true,
            dead: 0,
            footprint: Footprint::default(),
            touched: 0,
        };
        state.refresh();
        state
    }

    /// Make this state a copy of `source`, as `clone` would, reusing this
    /// one's vector of flights: the search steps a spare state this way
    /// rather than allocate a new one per successor.
    pub(crate) fn copy_from(&mut self, source: &State) {
        let State {
            hosts,
            host_prints,
            network,
            clients,
            history,
            clock,
            checker,
            checker_print,
            used,
            clients_print,
            hosts_dirty,
            checker_dirty,
            clients_dirty,
            dead,
            footprint,
            touched,
        } = source;
        self.hosts.clone_from(hosts);
        self.host_prints.clone_from(host_prints);
        self.network.flights.clone_from(&network.flights);
        self.network.print = network.print;
        self.clients.clone_from(clients);
        self.history.clone_from(history);
        self.clock = *clock;
        self.checker.clone_from(checker);
        self.checker_print = *checker_print;
        self.used = *used;
        self.clients_print = *clients_print;
        self.hosts_dirty = *hosts_dirty;
        self.checker_dirty = *checker_dirty;
        self.clients_dirty = *clients_dirty;
        self.dead = *dead;
        self.footprint = *footprint;
        self.touched = *touched;
    }

    /// Node `id`'s host, to change: copied first if another state shares it.
    pub(crate) fn host_mut(&mut self, id: NodeId) -> &mut Host {
        self.hosts_dirty |= 1 << id;
        self.touched |= 1 << id;
        Rc::make_mut(&mut self.hosts[usize::from(id)])
    }

    /// The checker and its fingerprint, brought up to date first.
    pub(crate) fn checker_now(&mut self) -> (&Rc<SafetyChecker>, u128) {
        if self.checker_dirty {
            self.checker_print = fingerprint_of(|hasher| self.checker.fingerprint(hasher));
            self.checker_dirty = false;
        }
        (&self.checker, self.checker_print)
    }

    /// Replace the checker by `checker`, whose fingerprint is `print`.
    pub(crate) fn set_checker(&mut self, checker: Rc<SafetyChecker>, print: u128) {
        self.checker = checker;
        self.checker_print = print;
        self.checker_dirty = false;
    }

    /// The checker, to change: copied first if another state shares it.
    pub(crate) fn checker_mut(&mut self) -> &mut SafetyChecker {
        self.checker_dirty = true;
        Rc::make_mut(&mut self.checker)
    }

    /// The fingerprint of the clients, the history and its clock, as of
    /// the last `refresh`.
    pub(crate) fn clients_print(&self) -> u128 {
        self.clients_print
    }

    /// The fingerprint of the history and its clock (with the clients).
    pub(crate) fn history_print(&self) -> u128 {
        assert!(!self.clients_dirty, "history fingerprint after refresh");
        self.clients_print
    }

    /// Put `envelope` in flight (`send_shared`).
    pub(crate) fn send(&mut self, envelope: Envelope) {
        self.send_shared(&Sent::new(envelope));
    }

    /// Put `sent` in flight, unless its node is down for good: nothing
    /// could ever receive it, so it is lost at once.
    pub(crate) fn send_shared(&mut self, sent: &Sent) {
        let to = sent.envelope.to_node();
        if to.is_some_and(|to| self.dead & (1 << to) != 0) {
            return;
        }
        if let Some(to) = to {
            self.touched |= 1 << to;
        }
        self.network.add(sent);
    }

    /// After a crash or a restart: a node that is down with no restart
    /// left will never receive a message, and its disk will never be read
    /// again. Its messages in flight are lost now, and its host counts as
    /// one fingerprint whatever its disk holds.
    pub(crate) fn bury_dead(&mut self, model: &Model) {
        if self.used.restarts < model.budgets.restarts {
            return;
        }
        for id in 0..self.hosts.len() {
            let bit = 1 << id;
            if !self.hosts[id].is_up() && self.dead & bit == 0 {
                self.dead |= bit;
                self.hosts_dirty |= bit;
                self.footprint.host(id as NodeId);
                self.network.discard_to(id as NodeId);
            }
        }
    }

    /// Take out of flight the messages their receivers ignore for good
    /// (`ignored`), among those to a node that the step just taken changed
    /// or sent something to, or to any node if `all`. Taking one out counts
    /// as touching its receiver (`footprint`): the step read that node.
    pub(crate) fn discard_ignored(&mut self, model: &Model, all: bool) {
        if self.used.restarts < model.budgets.restarts {
            return;
        }
        let looked_at = if all { u8::MAX } else { self.touched };
        // A handful die in one step: found a buffer at a time, scanning
        // again after each full one.
        let mut dead = [0u128; 8];
        loop {
            let mut dead_len = 0;
            for flight in &self.network.flights {
                if dead_len == dead.len() {
                    break;
                }
                let Envelope::Peer { from, to, message } = &*flight.envelope else {
                    continue;
                };
                if looked_at & (1 << to) == 0 {
                    continue;
                }
                let Some((node, node_print)) = self.hosts[usize::from(*to)].running() else {
                    continue;
                };
                if !super::ignored::ignored_for_good(
                    node,
                    *from,
                    message,
                    &self.used,
                    &model.budgets,
                ) {
                    continue;
                }
                let ignores = model.memo.borrow_mut().ignores_now(
                    node,
                    node_print,
                    *from,
                    message,
                    flight.print,
                );
                if !ignores {
                    continue;
                }
                dead[dead_len] = flight.print;
                dead_len += 1;
                self.footprint.host(*to);
            }
            for &print in &dead[..dead_len] {
                self.network.discard(print);
            }
            if dead_len < dead.len() {
                return;
            }
        }
    }

    /// Recompute the fingerprints of the parts changed since the last call.
    pub(crate) fn refresh(&mut self) {
        for id in 0..self.hosts.len() {
            if self.hosts_dirty & (1 << id) != 0 {
                self.host_prints[id] = if self.dead & (1 << id) != 0 {
                    DEAD_HOST_PRINT
                } else {
                    // Unshared already: `host_mut` made it so in this step.
                    Rc::make_mut(&mut self.hosts[id]).fingerprint()
                };
            }
        }
        self.hosts_dirty = 0;
        if self.checker_dirty {
            self.checker_print = fingerprint_of(|hasher| self.checker.fingerprint(hasher));
            self.checker_dirty = false;
        }
        if self.clients_dirty {
            self.clients_print = fingerprint_of(|hasher| {
                for client in self.clients.iter() {
                    client.fingerprint(hasher);
                }
                hasher.write_u64(self.clock);
                history_fingerprint(&self.history, hasher);
            });
            self.clients_dirty = false;
        }
    }

    /// The state's fingerprint. `model` says which timers can still fire:
    /// a pending timer of a kind whose budget is spent changes nothing that
    /// can happen next, so it is left out.
    pub(crate) fn fingerprint(&self, model: &Model) -> u128 {
        assert!(
            self.hosts_dirty == 0 && !self.checker_dirty && !self.clients_dirty,
            "fingerprint after refresh"
        );
        let mut hasher = Fingerprinter::default();
        let mut live_timers = 0u8;
        for timer in Timer::ALL {
            if self.used.timers(timer) < model.budgets.timers(timer) {
                live_timers |= 1 << timer.index();
            }
        }
        // The hosts' timers and the budgets used, a byte each, packed into
        // words: fewer words to mix than a word per byte.
        let mut timers = 0u64;
        for (index, (print, host)) in self.host_prints.iter().zip(self.hosts.iter()).enumerate() {
            hasher.write_u128(*print);
            timers |= u64::from(host.timers & live_timers) << (8 * index);
        }
        hasher.write_u64(timers);
        hasher.write_u128(self.network.print);
        hasher.write_u128(self.checker_print);
        hasher.write_u128(self.clients_print);
        let Budgets {
            crashes,
            restarts,
            drops,
            duplicates,
            election_timers,
            heartbeat_timers,
            retransmit_timers,
            catchup_timers,
            client_retries,
            client_redirects,
        } = self.used;
        hasher.write_u128(u128::from_le_bytes([
            crashes,
            restarts,
            drops,
            duplicates,
            election_timers,
            heartbeat_timers,
            retransmit_timers,
            catchup_timers,
            client_retries,
            client_redirects,
            0,
            0,
            0,
            0,
            0,
            0,
        ]));
        hasher.finish128()
    }

    /// A rough size of this state's own allocations, counting shared parts
    /// in full: an upper bound for what holding it costs.
    pub(crate) fn approx_bytes(&self) -> usize {
        let host_bytes = |host: &Host| {
            let durable = |durable: &Durable| {
                (durable.accepted.len() + durable.chosen.len()) * 64 + size_of::<Durable>()
            };
            size_of::<Host>()
                + durable(host.disk())
                + host.node().map_or(0, |node| {
                    // The volatile part: a few maps, each entry about this big.
                    durable(node.durable()) + 1_024
                })
        };
        size_of::<State>()
            + self
                .hosts
                .iter()
                .map(|host| host_bytes(host))
                .sum::<usize>()
            + self.host_prints.len() * 16
            + self.network.flights.len() * (size_of::<Flight>() + 128)
            + self.clients.len() * size_of::<Client>()
            + self.history.ops.len() * 128
            + 512
    }
}

fn history_fingerprint(history: &History, hasher: &mut Fingerprinter) {
    hasher.write_usize(history.ops.len());
    for record in &history.ops {
        hasher.write_u32(record.client);
        hasher.write_u64(record.seq);
        record.op.fingerprint(hasher);
        hasher.write_u64(record.invoke_us);
        match &record.complete {
            Some((time, result)) => {
                hasher.write_u64(*time);
                result.fingerprint(hasher);
            }
            None => hasher.write_u64(u64::MAX),
        }
        hasher.write_u32(record.attempts);
    }
}
