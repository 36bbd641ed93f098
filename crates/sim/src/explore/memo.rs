//! Memoized transitions: what a node becomes when it handles an input,
//! what a disk becomes when a write is carried out on it, and what the
//! safety checker's ghost becomes when it observes an output.
//!
//! Both are functions of their inputs alone. The core is sans-IO and
//! deterministic, so a node's handling of an input depends on the node's
//! state (its fingerprint covers all of it but the cluster configuration,
//! which one exploration shares) and the input; the ghost's update depends
//! on the ghost, the node and the output. The same local transition recurs
//! in many global states (a state is a product of the nodes' states), so
//! each is computed once and its result shared (`Rc`), never edited in
//! place, so no state holding it changes.
//!
//! Keys are 128-bit fingerprints, as the visited set's are: inputs whose
//! fingerprints are equal are taken as equal (the same assumption that
//! merges two states with one fingerprint). A message's and a command's
//! fingerprint leave out a Put's value, which explore's clients derive
//! from the request's client and sequence number. A violation is never
//! remembered: its report names the place it happened, so it is computed
//! afresh each time.
//!
//! Each cache is bounded; a full one is emptied, which only costs
//! recomputation: a result found or computed is the same, so nothing the
//! search reports depends on the caches.

use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hasher};
use std::rc::Rc;

use paxos::{Durable, DurableWrite, Fingerprint, Node, NodeId, Output};

use super::hash::{PassThrough, fingerprint_of};
use super::state::{Envelope, Model, Sent, State, node_fingerprint};
use super::step::Input;
use crate::check::{Place, SafetyChecker};
use crate::report::Violation;

/// Node transitions held at most. Each holds a node (about 2 KB at the
/// sizes explored), often shared with states that hold it anyway.
const NODE_TRANSITIONS_MAX: usize = 1 << 17;
/// Checker transitions held at most (a ghost is a few hundred bytes).
const CHECKER_TRANSITIONS_MAX: usize = 1 << 17;
/// Disk transitions held at most (a disk is a few hundred bytes).
const DISK_TRANSITIONS_MAX: usize = 1 << 16;
/// Verdicts of `ignores_now` held at most (a key and a flag each).
const IGNORES_MAX: usize = 1 << 16;

/// One node's handling of one input: the node it becomes (with its
/// fingerprint) and the outputs it gives, in order, each ready to carry out.
#[derive(Clone, Debug)]
struct NodeTransition {
    node: Rc<Node>,
    print: u128,
    effects: Effects,
}

/// One output of a node, with what carrying it out needs computed once,
/// when the transition that gives it is: a transition is taken again in
/// many states, and these hashes and copies are the same each time.
#[derive(Debug)]
pub(crate) struct Effect {
    pub(crate) output: Output,
    /// The fingerprint the checker's cache keys on (`watched_fingerprint`),
    /// if the checker watches this output.
    pub(crate) watched: Option<u128>,
    /// A write's fingerprint (`write_fingerprint`), for a `Persist`.
    pub(crate) write: u128,
    /// The envelope of a `Send` (to another node or to itself) or a
    /// `Reply` in flight, with its fingerprint.
    pub(crate) sent: Option<Sent>,
}

/// A transition's outputs, shared by every state that takes it.
pub(crate) type Effects = Rc<[Effect]>;

/// Node `id`'s outputs, made ready to carry out (`Effect`).
pub(crate) fn effects_of(id: NodeId, outputs: impl Iterator<Item = Output>) -> Effects {
    outputs
        .map(|output| {
            let watched = SafetyChecker::watches(&output)
                .then(|| fingerprint_of(|hasher| watched_fingerprint(id, &output, hasher)));
            let write = match &output {
                Output::Persist(write) => fingerprint_of(|hasher| write_fingerprint(write, hasher)),
                _ => 0,
            };
            let envelope = match &output {
                Output::Send { to, message } => Some(Envelope::Peer {
                    from: id,
                    to: *to,
                    message: message.clone(),
                }),
                Output::Reply { client, seq, reply } => Some(Envelope::Reply {
                    from: id,
                    client: *client,
                    seq: *seq,
                    reply: reply.clone(),
                }),
                _ => None,
            };
            Effect {
                output,
                watched,
                write,
                sent: envelope.map(Sent::new),
            }
        })
        .collect()
}

/// The ghost after one observation, with its fingerprint.
#[derive(Clone, Debug)]
struct CheckerTransition {
    checker: Rc<SafetyChecker>,
    print: u128,
}

/// A disk after one write, with its fingerprint.
#[derive(Clone, Debug)]
struct DiskTransition {
    disk: Rc<Durable>,
    print: u128,
}

type Cache<T> = HashMap<u128, T, BuildHasherDefault<PassThrough>>;

/// Both caches of one exploration.
#[derive(Default)]
pub(crate) struct Memo {
    nodes: Cache<NodeTransition>,
    checkers: Cache<CheckerTransition>,
    disks: Cache<DiskTransition>,
    /// Whether a node (by fingerprint) handling a message in flight (by
    /// envelope fingerprint) changes nothing.
    ignores: Cache<bool>,
}

impl Memo {
    /// Transitions held now, for the memory estimate: nodes, then ghosts
    /// and disks (each a few hundred bytes).
    pub(crate) fn len(&self) -> (usize, usize) {
        (self.nodes.len(), self.checkers.len() + self.disks.len())
    }
}

fn remember<T>(cache: &mut Cache<T>, max: usize, key: u128, value: T) {
    if cache.len() >= max {
        cache.clear();
    }
    cache.insert(key, value);
}

/// The fingerprint of an output the checker watches (`SafetyChecker::
/// watches`), with the node that gave it.
fn watched_fingerprint(node: NodeId, output: &Output, hasher: &mut impl Hasher) {
    hasher.write_u8(node);
    match output {
        Output::Send { to, message } => {
            hasher.write_u8(0);
            hasher.write_u8(*to);
            message.fingerprint(hasher);
        }
        Output::Persist(DurableWrite::Chosen { slot, command }) => {
            hasher.write_u8(1);
            hasher.write_u64(*slot);
            command.fingerprint(hasher);
        }
        Output::Applied {
            slot,
            command,
            result,
        } => {
            hasher.write_u8(2);
            hasher.write_u64(*slot);
            command.fingerprint(hasher);
            match result {
                Some(result) => {
                    hasher.write_u8(1);
                    result.fingerprint(hasher);
                }
                None => hasher.write_u8(0),
            }
        }
        _ => unreachable!("the checker watches sends, chosen writes and applies only"),
    }
}

fn write_fingerprint(write: &DurableWrite, hasher: &mut impl Hasher) {
    match write {
        DurableWrite::Promised(ballot) => {
            hasher.write_u8(0);
            ballot.fingerprint(hasher);
        }
        DurableWrite::RoundMax(round) => {
            hasher.write_u8(1);
            hasher.write_u64(*round);
        }
        DurableWrite::Accepted {
            slot,
            ballot,
            command,
        } => {
            hasher.write_u8(2);
            hasher.write_u64(*slot);
            ballot.fingerprint(hasher);
            command.fingerprint(hasher);
        }
        DurableWrite::Chosen { slot, command } => {
            hasher.write_u8(3);
            hasher.write_u64(*slot);
            command.fingerprint(hasher);
        }
    }
}

impl Memo {
    /// Whether `node` (fingerprint `node_print`) handling `message` from
    /// `from` (envelope fingerprint `envelope`) changes nothing: the same
    /// fingerprint after, and no output.
    pub(crate) fn ignores_now(
        &mut self,
        node: &Node,
        node_print: u128,
        from: NodeId,
        message: &paxos::Message,
        envelope: u128,
    ) -> bool {
        let key = fingerprint_of(|hasher| {
            hasher.write_u128(node_print);
            hasher.write_u128(envelope);
        });
        if let Some(&known) = self.ignores.get(&key) {
            return known;
        }
        let mut next = Node::clone(node);
        let mut out = Vec::new();
        next.handle_message(from, message.clone(), &mut out);
        let ignores = out.is_empty() && node_fingerprint(&next) == node_print;
        remember(&mut self.ignores, IGNORES_MAX, key, ignores);
        ignores
    }
}

impl State {
    /// Carry out `write` on node `id`'s disk: the disk it makes is found
    /// in the cache by the disk's and the write's fingerprints, or made on
    /// a copy and remembered.
    /// `write_print` is the write's fingerprint (`Effect::write`).
    pub(crate) fn persist(
        &mut self,
        model: &Model,
        id: NodeId,
        write: &DurableWrite,
        write_print: u128,
    ) {
        let host = self.host_mut(id);
        let (disk, disk_print) = host.disk_now();
        let key = fingerprint_of(|hasher| {
            hasher.write_u128(disk_print);
            hasher.write_u128(write_print);
        });
        if let Some(known) = model.memo.borrow().disks.get(&key) {
            host.set_disk(known.disk.clone(), known.print);
            return;
        }
        let mut next = Durable::clone(disk);
        next.apply(write);
        let print = fingerprint_of(|hasher| next.fingerprint(hasher));
        let next = Rc::new(next);
        let transition = DiskTransition {
            disk: next.clone(),
            print,
        };
        let memo = &mut model.memo.borrow_mut();
        remember(&mut memo.disks, DISK_TRANSITIONS_MAX, key, transition);
        host.set_disk(next, print);
    }

    /// Node `id` handles `input`: found in the cache by the node's and the
    /// input's fingerprints, or computed on a copy of the node and
    /// remembered. Returns its outputs, ready to carry out.
    pub(crate) fn handle(&mut self, model: &Model, id: NodeId, input: Input) -> Effects {
        let (node, node_print) = self.hosts[usize::from(id)]
            .running()
            .expect("inputs reach only live nodes");
        let key = fingerprint_of(|hasher| {
            hasher.write_u128(node_print);
            match &input {
                Input::Message(_, _, Some(envelope)) => {
                    // The envelope's fingerprint covers sender and message.
                    hasher.write_u8(3);
                    hasher.write_u128(*envelope);
                }
                Input::Message(from, message, None) => {
                    hasher.write_u8(0);
                    hasher.write_u8(*from);
                    message.fingerprint(hasher);
                }
                Input::Client(request) => {
                    hasher.write_u8(1);
                    request.fingerprint(hasher);
                }
                Input::Timer(timer) => {
                    hasher.write_u8(2);
                    hasher.write_usize(timer.index());
                }
            }
        });
        if let Some(known) = model.memo.borrow().nodes.get(&key) {
            if known.print == node_print {
                // The node is unchanged (a message it ignores, a resend):
                // its host is not copied, nor its fingerprint recomputed.
                // It still counts as touched (`State::discard_ignored`).
                self.touched |= 1 << id;
            } else {
                self.host_mut(id).run(known.node.clone(), known.print);
            }
            return known.effects.clone();
        }
        let mut next = Node::clone(node);
        // One output buffer for the whole search: it is emptied into the
        // effects before the next transition is computed.
        let mut out = model.outputs.take();
        out.clear();
        match input {
            Input::Message(from, message, _) => {
                next.handle_message(from, message.clone(), &mut out)
            }
            Input::Client(request) => next.handle_client(request.clone(), &mut out),
            Input::Timer(timer) => next.handle_timer(timer, &mut out),
        }
        let effects = effects_of(id, out.drain(..));
        model.outputs.replace(out);
        let print = node_fingerprint(&next);
        let next = Rc::new(next);
        let transition = NodeTransition {
            node: next.clone(),
            print,
            effects: effects.clone(),
        };
        let memo = &mut model.memo.borrow_mut();
        remember(&mut memo.nodes, NODE_TRANSITIONS_MAX, key, transition);
        self.host_mut(id).run(next, print);
        effects
    }

    /// The checker observes `output` of node `id` (one it watches): the
    /// ghost it becomes is found in the cache by the ghost's and the
    /// output's fingerprints (`watched`: `Effect::watched`), or computed
    /// on a copy and remembered.
    pub(crate) fn observe(
        &mut self,
        model: &Model,
        place: Place,
        id: NodeId,
        output: &Output,
        watched: u128,
    ) -> Result<(), Box<Violation>> {
        debug_assert!(SafetyChecker::watches(output));
        let (checker, checker_print) = self.checker_now();
        let key = fingerprint_of(|hasher| {
            hasher.write_u128(checker_print);
            hasher.write_u128(watched);
        });
        if let Some(known) = model.memo.borrow().checkers.get(&key) {
            self.set_checker(known.checker.clone(), known.print);
            return Ok(());
        }
        let mut next = SafetyChecker::clone(checker);
        next.observe(place, id, output)?;
        let print = fingerprint_of(|hasher| next.fingerprint(hasher));
        let next = Rc::new(next);
        let transition = CheckerTransition {
            checker: next.clone(),
            print,
        };
        let memo = &mut model.memo.borrow_mut();
        remember(&mut memo.checkers, CHECKER_TRANSITIONS_MAX, key, transition);
        self.set_checker(next, print);
        Ok(())
    }
}
