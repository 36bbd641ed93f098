//! The schedule-driven mode: a run that follows an exact schedule
//! (`SimConfig::schedule`) instead of the queue's order and the random
//! draws. `paxsim explore` writes its counterexamples this way, so that
//! `paxsim run` replays them exactly.
//!
//! Events are queued as in any run (messages by the network, timers,
//! client wake-ups and timeouts, the heal), but none happens on its own:
//! each step names the pending event it handles, and only named events
//! ever happen. A step is one of:
//! - `deliver` a message (node to node, client to node, node to client),
//!   named by its endpoints and its text; with `duplicate`, a copy is
//!   handled and the message stays pending;
//! - `drop` a pending message;
//! - `timer`: a node's pending timer of that kind (its latest setting)
//!   fires;
//! - `crash`, `restart` a node, as a fault does;
//! - `invoke`: a client issues its next operation, sending it to the named
//!   node; `timeout`: a waiting client times out and resends to the named
//!   node.
//!
//! Virtual time advances by [`TICK_US`] per step: the history's
//! timestamps keep the steps' order, which is all linearizability reads.
//! A step that names an event not pending there (or an invocation whose
//! operation differs) stops the run as [`Verdict::Diverged`], never a
//! pass. Once every step has run, the run ends: replicas that are all up
//! and have applied the same prefix must agree, and the history must be
//! linearizable. Liveness is not judged: the schedule, not the cluster,
//! decides what happens.
//!
//! Validation asks for what makes a run follow its schedule: the clients'
//! scripts, plain values (set here), no random or explicit faults, no drops
//! or duplicates drawn by the network.

pub(crate) mod shrink;

use paxos::{NodeId, Timer};

use crate::config::SimConfig;
use crate::event::Event;
use crate::explore::{Action, Endpoint, message_text};
use crate::faults::FaultAction;
use crate::history_check::{HistoryVerdict, check_history};
use crate::report::{LimitKind, Verdict};
use crate::simulation::{RunReport, Simulation};

/// Virtual time between two steps of a schedule.
pub const TICK_US: u64 = 1_000;

/// What a schedule-driven run needs of its configuration.
pub(crate) fn validate(config: &SimConfig) -> Result<(), String> {
    if config.schedule.is_empty() {
        return Ok(());
    }
    let refuse = |field: &str, why: &str| Err(format!("{field}: {why} with a schedule"));
    if config.workload.scripts.is_empty() {
        return refuse("workload.scripts", "expected one script per client");
    }
    for (client, script) in config.workload.scripts.iter().enumerate() {
        for (index, op) in script.iter().enumerate() {
            if op.at_us().is_some() || op.after_heal() {
                return refuse(
                    &format!("workload.scripts[{client}][{index}]"),
                    "expected no at_us and no after_heal",
                );
            }
        }
    }
    if !config.faults.is_empty() {
        return refuse("faults", "expected none (crashes are steps)");
    }
    if config.fault_rates != crate::faults::FaultRates::NONE {
        return refuse("fault_rates", "expected none");
    }
    if config.network.drop_ppm != 0 || config.network.duplicate_ppm != 0 {
        return refuse(
            "network.drop, network.duplicate",
            "expected 0 (drops and duplicates are steps)",
        );
    }
    if !config.disk.is_default() {
        return refuse(
            "disk",
            "expected none (an instant disk that never fails, as explore's: a write's durability \
             would be an event no step names)",
        );
    }
    let nodes = config.cluster.nodes;
    let clients = config.workload.clients;
    for (index, action) in config.schedule.iter().enumerate() {
        let field = format!("schedule[{index}]");
        let mut named_nodes = Vec::new();
        let mut named_clients = Vec::new();
        match action {
            Action::Deliver { from, to, .. } | Action::Drop { from, to, .. } => {
                for end in [from, to] {
                    match end {
                        Endpoint::Node(node) => named_nodes.push(*node),
                        Endpoint::Client(client) => named_clients.push(*client),
                    }
                }
                if !matches!(from, Endpoint::Node(_)) && !matches!(to, Endpoint::Node(_)) {
                    return refuse(&field, "expected a node at one end at least");
                }
            }
            Action::Timer { node, timer } => {
                named_nodes.push(*node);
                if !Timer::ALL.iter().any(|kind| kind.name() == timer) {
                    let known: Vec<&str> = Timer::ALL.iter().map(|kind| kind.name()).collect();
                    return refuse(
                        &format!("{field}.timer"),
                        &format!("`{timer}` is unknown, expected one of {}", known.join(", ")),
                    );
                }
            }
            Action::Crash { node } | Action::Restart { node } => named_nodes.push(*node),
            Action::Invoke {
                client,
                node,
                duplicate,
                ..
            } => {
                if *duplicate {
                    return refuse(
                        &format!("{field}.duplicate"),
                        "expected false (a duplicate is a `deliver` with `duplicate`)",
                    );
                }
                named_nodes.push(*node);
                named_clients.push(*client);
            }
            Action::Timeout { client, node, .. } => {
                named_nodes.push(*node);
                named_clients.push(*client);
            }
            Action::Local { .. } => {
                return refuse(
                    &field,
                    "`local` is explore's own step, expected each delivery named instead",
                );
            }
        }
        if let Some(node) = named_nodes.iter().find(|&&node| node >= nodes) {
            return refuse(&field, &format!("node {node} does not exist (0..{nodes})"));
        }
        if let Some(client) = named_clients.iter().find(|&&client| client >= clients) {
            return refuse(
                &field,
                &format!("client {client} does not exist (0..{clients})"),
            );
        }
    }
    Ok(())
}

impl Simulation {
    /// Take every step of the schedule in order, then judge the end state.
    pub(crate) fn run_schedule(mut self) -> RunReport {
        let schedule = self.config.schedule.clone();
        for (index, action) in schedule.iter().enumerate() {
            if let Some(kind) = self.bound_hit {
                return self.report(Verdict::Limit(kind));
            }
            if self.events >= self.config.limits.steps_max {
                return self.report(Verdict::Limit(LimitKind::Steps));
            }
            self.now_us += TICK_US;
            self.digest.event_time(self.now_us);
            let (kind, node) = match self.take_step(action) {
                Ok(named) => named,
                Err(reason) => {
                    let step = index as u64;
                    return self.report(Verdict::Diverged { step, reason });
                }
            };
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
                let after_event = self.events - 1;
                return self.report(Verdict::Stopped { after_event });
            }
        }
        let verdict = self.schedule_verdict();
        self.report(verdict)
    }

    /// Handle the event `action` names; `Err` says why it is not pending.
    /// Returns the kind of event and its node, for observers.
    fn take_step(&mut self, action: &Action) -> Result<(&'static str, Option<NodeId>), String> {
        match action {
            Action::Deliver {
                from,
                to,
                message,
                duplicate,
                ..
            } => {
                let names = |event: &Event| names_message(event, *from, *to, message);
                let event = if *duplicate {
                    self.queue.find(names).map(Event::duplicated)
                } else {
                    self.queue.take(names).map(|(_, event)| event)
                };
                let event = event.ok_or_else(|| format!("no such message pending: {action}"))?;
                let named = (event.kind(), event.node());
                self.step(event);
                Ok(named)
            }
            Action::Drop { from, to, message } => {
                let names = |event: &Event| names_message(event, *from, *to, message);
                let (_, event) = self
                    .queue
                    .take(names)
                    .ok_or_else(|| format!("no such message pending: {action}"))?;
                self.counters.messages_dropped += 1;
                self.record(event.node(), "drop", || message.clone());
                Ok(("drop", event.node()))
            }
            Action::Timer { node, timer } => {
                let host = &self.hosts[usize::from(*node)];
                let kind = Timer::ALL
                    .into_iter()
                    .find(|kind| kind.name() == timer)
                    .expect("validation names known timers");
                let live = host.timer_generation[kind.index()];
                let taken = host.is_up()
                    && self
                        .queue
                        .take(|event| {
                            matches!(event, Event::Timer { node: n, timer: t, generation }
                                if n == node && *t == kind && *generation == live)
                        })
                        .is_some();
                if !taken {
                    return Err(format!("no such timer pending: {action}"));
                }
                let generation = live;
                self.timer(*node, kind, generation);
                Ok(("timer", Some(*node)))
            }
            Action::Crash { node } | Action::Restart { node } => {
                let up = self.hosts[usize::from(*node)].is_up();
                let crash = matches!(action, Action::Crash { .. });
                if up != crash {
                    let state = if up { "up" } else { "down" };
                    return Err(format!("node {node} is {state}: {action}"));
                }
                let fault = if crash {
                    FaultAction::Crash {
                        node: *node,
                        down_us: None,
                    }
                } else {
                    FaultAction::Restart { node: *node }
                };
                self.fault(fault, None);
                Ok(("fault", Some(*node)))
            }
            Action::Invoke {
                client,
                seq,
                node,
                op,
                ..
            } => {
                let wakes =
                    |event: &Event| matches!(event, Event::ClientWake { client: c } if c == client);
                if self.queue.take(wakes).is_none() {
                    return Err(format!("client {client} is not ready to invoke: {action}"));
                }
                self.workload.aim(*client, *node, false);
                let invoked = self.workload.history.ops.len();
                self.client_wake(*client);
                let record = self.workload.history.ops.get(invoked);
                let matches = record.is_some_and(|record| {
                    record.client == *client && record.seq == *seq && record.op.to_string() == *op
                });
                if !matches {
                    return Err(format!("client {client} invoked something else: {action}"));
                }
                Ok(("client-wake", None))
            }
            Action::Timeout { client, seq, node } => {
                let attempt = self
                    .workload
                    .outstanding()
                    .into_iter()
                    .find(|(c, s, _)| c == client && s == seq)
                    .map(|(_, _, attempt)| attempt)
                    .ok_or_else(|| {
                        format!("client {client} does not wait on seq {seq}: {action}")
                    })?;
                let times_out = |event: &Event| {
                    matches!(event, Event::ClientTimeout { client: c, seq: s, attempt: a }
                        if c == client && s == seq && *a == attempt)
                };
                if self.queue.take(times_out).is_none() {
                    return Err(format!("no such timeout pending: {action}"));
                }
                self.workload.aim(*client, *node, true);
                self.client_timeout(*client, *seq, attempt);
                Ok(("client-timeout", None))
            }
            Action::Local { .. } => Err(format!("not a schedule step: {action}")),
        }
    }

    /// The end of a schedule without a violation: replicas that are all up
    /// and have applied the same prefix agree, and the history is
    /// linearizable. A pass says this schedule broke no safety invariant;
    /// liveness is not asked of a schedule.
    fn schedule_verdict(&mut self) -> Verdict {
        if !self.options.checkers {
            return Verdict::Unchecked;
        }
        let place = self.place();
        let nodes = self.hosts.iter().map(|host| host.node.as_ref());
        if let Err(violation) = self.checker.agreement_if_converged(place, nodes) {
            return Verdict::Violation(violation);
        }
        match check_history(
            &self.workload.history,
            place,
            self.config.limits.linearizability_steps_max,
        ) {
            HistoryVerdict::Linearizable => Verdict::Pass,
            HistoryVerdict::Violation(violation, failure) => {
                if let Some(recorder) = &mut self.recorder {
                    recorder.key_failure(*failure);
                }
                Verdict::Violation(violation)
            }
            HistoryVerdict::Inconclusive { key, steps } => Verdict::Inconclusive { key, steps },
        }
    }
}

/// Whether `event` is the message a step names by its endpoints and text.
fn names_message(event: &Event, from: Endpoint, to: Endpoint, text: &str) -> bool {
    match (event, from, to) {
        (
            Event::Deliver {
                from: f,
                to: t,
                message,
                ..
            },
            Endpoint::Node(from),
            Endpoint::Node(to),
        ) => *f == from && *t == to && message_text(message) == text,
        (
            Event::ClientRequest { to: t, request, .. },
            Endpoint::Client(client),
            Endpoint::Node(to),
        ) => {
            *t == to
                && request.client == client
                && format!("client {client} seq {}: {}", request.seq, request.op) == text
        }
        (
            Event::ClientReply {
                from: f,
                client: c,
                seq,
                reply,
                ..
            },
            Endpoint::Node(from),
            Endpoint::Client(client),
        ) => *f == from && *c == client && format!("seq {seq}: {reply}") == text,
        _ => false,
    }
}
