//! The transition relation: which steps a state enables, and what one
//! step does to it.
//!
//! A step hands a live node one input, then carries out what the node
//! emitted, in order, as the simulator's `node_io` does: each output first
//! goes to the safety checker (`SafetyChecker::observe`, the simulator's
//! own function), then a `Persist` to the node's disk, a `Send` into flight
//! (or, to itself, into the node's local queue, delivered before the step
//! ends), a `SetTimer` into the pending set, a `Reply` into flight to the
//! client. A crash and a restart call the checker's `on_crash` and
//! `on_restart` as the simulator's `lifecycle` does, in the same order.

use std::collections::VecDeque;
use std::rc::Rc;
use std::sync::Arc;

use paxos::{ClientId, Message, Node, NodeId, Output, Request, Timer};

use super::action::{describe, message_text};
use super::footprint::{Budget, Footprint};
use super::memo::{Effect, effects_of};
use super::state::{Envelope, Host, Model, Sent, State, node_fingerprint};
use super::{Action, Endpoint, LINEARIZABILITY_STEPS_MAX};
use crate::check::{self, Place, SafetyChecker};
use crate::history_check::{HistoryVerdict, check_history};
use crate::report::Violation;

/// One step, compact: a message is named by its fingerprint.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Step {
    /// Deliver one copy of a message in flight (lost if its node is down).
    Deliver {
        print: u128,
    },
    /// Deliver a copy and keep one in flight.
    Duplicate {
        print: u128,
    },
    Drop {
        print: u128,
    },
    Timer {
        node: NodeId,
        timer: Timer,
    },
    Crash {
        node: NodeId,
    },
    Restart {
        node: NodeId,
    },
    /// A client invokes its next operation; with `duplicate` (only when
    /// requests are delivered within the step), a copy stays in flight.
    Invoke {
        client: ClientId,
        duplicate: bool,
    },
    Timeout {
        client: ClientId,
    },
    /// Deliver the messages node `node` sent itself in the step before
    /// (parked there while a crash is left in the budget), each with its
    /// own outputs, messages to itself among them delivered at once.
    Local {
        node: NodeId,
    },
}

fn worse(one: Checked, other: Checked) -> Checked {
    if one == Checked::Inconclusive {
        one
    } else {
        other
    }
}

/// A step that raised no violation may still leave a check undecided.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Checked {
    Fine,
    /// A linearizability search ran out of budget.
    Inconclusive,
}

type Outcome = Result<Checked, Box<Violation>>;

/// Histories remembered as linearizable, at most; past it they are checked
/// again each time (slower, same verdicts).
const LINEARIZABLE_KNOWN_MAX: usize = 1 << 20;

pub(crate) enum Input<'a> {
    /// From a node, with the fingerprint of its envelope if it was in
    /// flight (`memo` keys on it instead of hashing the message again).
    Message(NodeId, &'a Message, Option<u128>),
    Client(&'a Arc<Request>),
    Timer(Timer),
}

/// Where a step happens, for violation reports: explore has no time, so
/// `event` is the step's index in the schedule and `time_us` is 0.
pub(crate) fn place(index: u64) -> Place {
    Place {
        event: index,
        time_us: 0,
    }
}

/// The initial state: every node booted (its boot outputs carried out and
/// checked), no message in flight, no client started.
pub(crate) fn initial(model: &Model) -> Result<State, Box<Violation>> {
    // Validation admitted the cluster; the specification may say it must
    // not have (the simulator's admission, the same function).
    if let Some(violation) = crate::admission::admitted_unsafe(&model.cluster) {
        return Err(violation);
    }
    let hosts = (0..model.nodes()).map(|_| Host::unbooted()).collect();
    let (_, quorum_phase2) = check::quorum_sizes(&model.cluster);
    let checker = SafetyChecker::new(model.nodes(), quorum_phase2);
    let mut state = State::new(model, hosts, checker);
    for id in 0..model.nodes() {
        let mut out = Vec::new();
        let node = Node::new(model.cluster.clone(), id, &mut out);
        let print = node_fingerprint(&node);
        state.host_mut(id).run(Rc::new(node), print);
        state.carry_out(model, id, &effects_of(id, out.into_iter()), place(0), false)?;
    }
    if model.discard_ignored {
        state.discard_ignored(model, true);
    }
    state.refresh();
    Ok(state)
}

impl State {
    /// Every step this state enables, in a fixed order: deliveries,
    /// duplicates, drops (messages in fingerprint order), timers, client
    /// steps, crashes, restarts.
    pub(crate) fn enabled(&self, model: &Model, steps: &mut Vec<Step>) {
        steps.clear();
        let budgets = &model.budgets;
        let used = &self.used;
        // Mid-step: a node's messages to itself wait. Its delivery, or a
        // crash of that node, comes next; nothing else does, since the
        // simulator delivers them before any later event.
        if let Some(id) = self.hosts.iter().position(|host| host.has_local()) {
            let node = id as NodeId;
            steps.push(Step::Local { node });
            if used.crashes < budgets.crashes {
                steps.push(Step::Crash { node });
            }
            return;
        }
        for flight in &self.network.flights {
            steps.push(Step::Deliver {
                print: flight.print,
            });
        }
        // Duplicating or dropping a message to a node that is down is the
        // same as delivering it: it is lost.
        let reachable = |envelope: &Envelope| {
            envelope
                .to_node()
                .is_none_or(|to| self.hosts[usize::from(to)].is_up())
        };
        if used.duplicates < budgets.duplicates {
            for flight in &self.network.flights {
                if reachable(&flight.envelope) {
                    steps.push(Step::Duplicate {
                        print: flight.print,
                    });
                }
            }
        }
        if used.drops < budgets.drops {
            for flight in &self.network.flights {
                if reachable(&flight.envelope) {
                    steps.push(Step::Drop {
                        print: flight.print,
                    });
                }
            }
        }
        for (id, host) in self.hosts.iter().enumerate() {
            if !host.is_up() {
                continue;
            }
            for timer in Timer::ALL {
                if host.timer_pending(timer) && used.timers(timer) < budgets.timers(timer) {
                    steps.push(Step::Timer {
                        node: id as NodeId,
                        timer,
                    });
                }
            }
        }
        for (index, client) in self.clients.iter().enumerate() {
            let client_id = index as ClientId;
            if client.can_invoke(&model.scripts[index]) {
                steps.push(Step::Invoke {
                    client: client_id,
                    duplicate: false,
                });
                if model.clients_patient() && used.duplicates < budgets.duplicates {
                    steps.push(Step::Invoke {
                        client: client_id,
                        duplicate: true,
                    });
                }
            }
            if client
                .waiting
                .as_ref()
                .is_some_and(|waiting| waiting.retries < budgets.client_retries)
            {
                steps.push(Step::Timeout { client: client_id });
            }
        }
        for (id, host) in self.hosts.iter().enumerate() {
            let up = host.is_up();
            if up && used.crashes < budgets.crashes {
                steps.push(Step::Crash { node: id as NodeId });
            }
            if !up && used.restarts < budgets.restarts {
                steps.push(Step::Restart { node: id as NodeId });
            }
        }
    }

    /// Take `step`, the `index`-th of its schedule (from 0).
    pub(crate) fn apply(&mut self, model: &Model, step: Step, index: u64) -> Outcome {
        let place = place(index);
        let clients_before = self.clients_print();
        self.footprint = Footprint::default();
        self.touched = 0;
        self.note_footprint(step);
        let budgets_before = (self.used.restarts, self.used.retransmit_timers);
        let outcome = self.apply_inner(model, step, place);
        if model.discard_ignored && outcome.is_ok() {
            // Spending the last restart or retransmit can make messages to
            // any node dead (`ignored`).
            let all = budgets_before != (self.used.restarts, self.used.retransmit_timers);
            self.discard_ignored(model, all);
        }
        self.refresh();
        self.footprint.history |= self.clients_print() != clients_before;
        outcome
    }

    /// The hosts, budgets and message `step` touches by its kind; the
    /// checker's slots and the history are noted as the step runs.
    fn note_footprint(&mut self, step: Step) {
        let footprint = &mut self.footprint;
        match step {
            Step::Deliver { print } | Step::Duplicate { print } | Step::Drop { print } => {
                footprint.message = print;
                let flight = self
                    .network
                    .find(print)
                    .expect("a step names a message in flight");
                match flight.envelope.to_node() {
                    Some(to) => footprint.host(to),
                    // A reply reaches a client: the history.
                    None => footprint.history = true,
                }
                match step {
                    Step::Duplicate { .. } => footprint.budget(Budget::Duplicate, 0),
                    Step::Drop { .. } => footprint.budget(Budget::Drop, 0),
                    _ => {}
                }
            }
            Step::Timer { node, timer } => {
                footprint.host(node);
                footprint.budget(Budget::Timer, timer.index());
            }
            Step::Crash { node } => {
                footprint.host(node);
                footprint.budget(Budget::Crash, 0);
            }
            Step::Restart { node } => {
                footprint.host(node);
                footprint.budget(Budget::Restart, 0);
            }
            Step::Invoke { client, duplicate } => {
                footprint.history = true;
                footprint.host(self.clients[client as usize].target);
                if duplicate {
                    footprint.budget(Budget::Duplicate, 0);
                }
            }
            Step::Timeout { .. } => footprint.history = true,
            Step::Local { node } => footprint.host(node),
        }
    }

    fn apply_inner(&mut self, model: &Model, step: Step, place: Place) -> Outcome {
        match step {
            Step::Deliver { print } => {
                let envelope = self.network.take(print);
                self.deliver(model, &envelope, Some(print), place)
            }
            Step::Duplicate { print } => {
                self.used.duplicates += 1;
                let envelope = self
                    .network
                    .find(print)
                    .expect("a step names a message in flight")
                    .envelope
                    .clone();
                self.deliver(model, &envelope, Some(print), place)
            }
            Step::Drop { print } => {
                self.used.drops += 1;
                self.network.take(print);
                Ok(Checked::Fine)
            }
            Step::Timer { node, timer } => {
                *self.used.timers_mut(timer) += 1;
                let host = self.host_mut(node);
                assert!(host.timer_pending(timer), "only a pending timer fires");
                host.timers &= !(1 << timer.index());
                self.run_node(model, node, Input::Timer(timer), place)
            }
            Step::Crash { node } => {
                self.used.crashes += 1;
                self.host_mut(node).crash();
                self.checker_mut().on_crash(node);
                self.bury_dead(model);
                Ok(Checked::Fine)
            }
            Step::Restart { node } => {
                self.used.restarts += 1;
                let outcome = self.restart(model, node, place);
                self.bury_dead(model);
                outcome
            }
            Step::Invoke { client, duplicate } => {
                let request = self.invoke(model, client);
                if model.clients_patient() {
                    if duplicate {
                        self.used.duplicates += 1;
                        self.send(request.clone());
                    }
                    model.note(|| {
                        let (from, to, message) = describe(&request);
                        let lost = request
                            .to_node()
                            .is_some_and(|to| !self.hosts[usize::from(to)].is_up());
                        Action::Deliver {
                            from,
                            to,
                            message,
                            duplicate,
                            lost,
                        }
                    });
                    self.deliver(model, &request, None, place)
                } else {
                    self.send(request);
                    Ok(Checked::Fine)
                }
            }
            Step::Timeout { client } => {
                self.timeout(model, client);
                Ok(Checked::Fine)
            }
            Step::Local { node } => {
                let local = self.host_mut(node).take_local();
                assert!(!local.is_empty(), "only parked messages are delivered");
                self.deliver_local(model, node, local, place)
            }
        }
    }

    /// Deliver `envelope`, whose fingerprint is `print` if it was in flight.
    fn deliver(
        &mut self,
        model: &Model,
        envelope: &Envelope,
        print: Option<u128>,
        place: Place,
    ) -> Outcome {
        match envelope {
            Envelope::Peer { from, to, message } => {
                if !self.hosts[usize::from(*to)].is_up() {
                    return Ok(Checked::Fine);
                }
                self.run_node(model, *to, Input::Message(*from, message, print), place)
            }
            Envelope::Request { to, request, .. } => {
                if !self.hosts[usize::from(*to)].is_up() {
                    return Ok(Checked::Fine);
                }
                self.run_node(model, *to, Input::Client(request), place)
            }
            Envelope::Reply {
                client, seq, reply, ..
            } => {
                if !self.client_reply(model, *client, *seq, reply) {
                    return Ok(Checked::Fine);
                }
                self.check_history(model, place)
            }
        }
    }

    /// The history changed by a completion: check it, unless the same
    /// history (by fingerprint) was found linearizable before.
    fn check_history(&mut self, model: &Model, place: Place) -> Outcome {
        self.refresh();
        let print = self.history_print();
        if model.linearizable.borrow().contains(&print) {
            return Ok(Checked::Fine);
        }
        match check_history(&self.history, place, LINEARIZABILITY_STEPS_MAX) {
            HistoryVerdict::Linearizable => {
                let mut known = model.linearizable.borrow_mut();
                if known.len() < LINEARIZABLE_KNOWN_MAX {
                    known.insert(print);
                }
                Ok(Checked::Fine)
            }
            HistoryVerdict::Violation(violation, _) => Err(violation),
            HistoryVerdict::Inconclusive { .. } => Ok(Checked::Inconclusive),
        }
    }

    /// Rebuild node `id` from its disk, as the simulator's `lifecycle` does:
    /// recover, let the checker judge the recovered node, then carry out
    /// its boot outputs.
    fn restart(&mut self, model: &Model, id: NodeId, place: Place) -> Outcome {
        let host = &self.hosts[usize::from(id)];
        assert!(!host.is_up(), "only a node that is down restarts");
        let mut out = Vec::new();
        let node = Node::recover(model.cluster.clone(), id, host.disk().clone(), &mut out);
        // Explore's disk is never damaged: every recovered node is judged.
        self.checker_mut().on_restart(place, &node, true)?;
        let print = node_fingerprint(&node);
        self.host_mut(id).run(Rc::new(node), print);
        self.carry_out(model, id, &effects_of(id, out.into_iter()), place, false)
    }

    /// Hand live node `id` one input, carry out its outputs, and deliver
    /// the messages it sends itself, in order, until there are none.
    fn run_node(&mut self, model: &Model, id: NodeId, input: Input, place: Place) -> Outcome {
        let effects = self.handle(model, id, input);
        // A crash left in the budget may come between the node's sends to
        // itself and their delivery: park them (see `Step::Local`).
        let park = self.used.crashes < model.budgets.crashes;
        self.carry_out(model, id, &effects, place, park)
    }

    pub(crate) fn carry_out(
        &mut self,
        model: &Model,
        id: NodeId,
        effects: &[Effect],
        place: Place,
        park: bool,
    ) -> Outcome {
        let mut local = VecDeque::new();
        let checked = self.carry_out_once(model, id, effects, &mut local, place)?;
        if park && !local.is_empty() {
            // Until they are delivered, no other step is enabled: parking
            // is dependent on every step.
            self.footprint.hosts = u8::MAX;
            self.footprint.history = true;
            self.host_mut(id).park(local);
            return Ok(checked);
        }
        let delivered = self.deliver_local(model, id, local, place)?;
        Ok(worse(checked, delivered))
    }

    /// Deliver node `id`'s messages to itself, in order, until there are
    /// none: each one's outputs are carried out before the next.
    fn deliver_local(
        &mut self,
        model: &Model,
        id: NodeId,
        mut local: VecDeque<Sent>,
        place: Place,
    ) -> Outcome {
        let mut checked = Checked::Fine;
        while let Some(sent) = local.pop_front() {
            let message = sent.message();
            model.note(|| Action::Deliver {
                from: Endpoint::Node(id),
                to: Endpoint::Node(id),
                message: message_text(message),
                duplicate: false,
                lost: false,
            });
            let input = Input::Message(id, message, Some(sent.print));
            let effects = self.handle(model, id, input);
            let more = self.carry_out_once(model, id, &effects, &mut local, place)?;
            checked = worse(checked, more);
        }
        Ok(checked)
    }

    /// Carry out the outputs in `out`, in order, each shown to the checker
    /// first; messages to itself go to `local`.
    fn carry_out_once(
        &mut self,
        model: &Model,
        id: NodeId,
        effects: &[Effect],
        local: &mut VecDeque<Sent>,
        place: Place,
    ) -> Outcome {
        let mut checked = Checked::Fine;
        for effect in effects {
            let output = &effect.output;
            if let Some(watched) = effect.watched {
                // Only before a slot is chosen does the order of a learn
                // and an acceptance in it matter (`footprint`).
                match &output {
                    Output::Send {
                        message: Message::Accepted { slot, .. },
                        ..
                    } if self.checker.chosen(*slot).is_none() => self.footprint.accept(*slot),
                    Output::Persist(paxos::DurableWrite::Chosen { slot, .. })
                    | Output::Applied { slot, .. }
                        if self.checker.chosen(*slot).is_none() =>
                    {
                        self.footprint.learn(*slot)
                    }
                    _ => {}
                }
                self.observe(model, place, id, output, watched)?;
            }
            let sent = || effect.sent.as_ref().expect("a message's envelope");
            match output {
                Output::Persist(write) => self.persist(model, id, write, effect.write),
                Output::Send { to, .. } if *to == id => local.push_back(sent().clone()),
                Output::Send { .. } => self.send_shared(sent()),
                Output::SetTimer { timer, .. } => {
                    let bit = 1 << timer.index();
                    if self.hosts[usize::from(id)].timers & bit == 0 {
                        self.host_mut(id).timers |= bit;
                    } else {
                        // Pending already: nothing changes, and the host
                        // is not copied; it still counts as touched.
                        self.touched |= 1 << id;
                    }
                }
                Output::Reply { client, seq, reply } if model.clients_patient() => {
                    model.note(|| Action::Deliver {
                        from: Endpoint::Node(id),
                        to: Endpoint::Client(*client),
                        message: format!("seq {seq}: {reply}"),
                        duplicate: false,
                        lost: false,
                    });
                    if self.client_reply(model, *client, *seq, reply)
                        && self.check_history(model, place)? == Checked::Inconclusive
                    {
                        checked = Checked::Inconclusive;
                    }
                }
                Output::Reply { .. } => self.send_shared(sent()),
                Output::Applied { .. } | Output::Probe(_) => {}
            }
        }
        Ok(checked)
    }

    /// At a terminal state: replicas that are all up and have applied the
    /// same prefix must hold the same state.
    pub(crate) fn check_terminal(&self, index: u64) -> Result<(), Box<Violation>> {
        let nodes = self.hosts.iter().map(|host| host.node());
        self.checker.agreement_if_converged(place(index), nodes)
    }
}
