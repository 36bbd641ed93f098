//! The readable, serializable form of a step, for counterexamples: each
//! action prints as one line in the style of `paxsim replay --trace`
//! (`n1  recv      Prepare(b1.0 from s0) <- n0`), and [`replay`] runs a
//! list of them again from the initial state.
//!
//! A message is named by its endpoints and its full text; the text names
//! every command by `(client, seq)`, operation and value, so it picks out
//! one message among those in flight (copies are interchangeable).

use std::fmt;

use serde::{Deserialize, Serialize};

use paxos::{ClientId, Message, NodeId};

use super::state::{Envelope, Model, State};
use super::step::{self, Checked, Step};
use super::{ExploreConfig, LINEARIZABILITY_STEPS_MAX};
use crate::report::Violation;

/// One end of a message: a node or a client, written `n0` or `c0`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Endpoint {
    Node(NodeId),
    Client(ClientId),
}

impl fmt::Display for Endpoint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Endpoint::Node(node) => write!(f, "n{node}"),
            Endpoint::Client(client) => write!(f, "c{client}"),
        }
    }
}

impl Serialize for Endpoint {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for Endpoint {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Endpoint, D::Error> {
        let text = String::deserialize(deserializer)?;
        let parsed = match text.split_at_checked(1) {
            Some(("n", id)) => id.parse().ok().map(Endpoint::Node),
            Some(("c", id)) => id.parse().ok().map(Endpoint::Client),
            _ => None,
        };
        parsed.ok_or_else(|| {
            serde::de::Error::custom(format!(
                "endpoint `{text}`, expected a node `n<id>` or a client `c<id>`"
            ))
        })
    }
}

/// One step of a schedule.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "action", rename_all = "kebab-case", deny_unknown_fields)]
pub enum Action {
    /// One copy of a message reaches `to`; with `duplicate`, another copy
    /// stays in flight. `lost`: `to` was down, so the message was lost.
    Deliver {
        from: Endpoint,
        to: Endpoint,
        message: String,
        #[serde(default, skip_serializing_if = "is_false")]
        duplicate: bool,
        #[serde(default, skip_serializing_if = "is_false")]
        lost: bool,
    },
    Drop {
        from: Endpoint,
        to: Endpoint,
        message: String,
    },
    Timer {
        node: NodeId,
        timer: String,
    },
    Crash {
        node: NodeId,
    },
    Restart {
        node: NodeId,
    },
    /// Client `client` invokes its operation `seq` at node `node`; with
    /// `duplicate`, a copy of the request stays in flight.
    Invoke {
        client: ClientId,
        seq: u64,
        node: NodeId,
        op: String,
        #[serde(default, skip_serializing_if = "is_false")]
        duplicate: bool,
    },
    /// Client `client` times out on `seq` and resends it to node `node`.
    Timeout {
        client: ClientId,
        seq: u64,
        node: NodeId,
    },
    /// Node `node` receives the messages it sent itself in the action
    /// before (explore's own step; a schedule lists each delivery instead).
    Local {
        node: NodeId,
    },
}

fn is_false(flag: &bool) -> bool {
    !*flag
}

/// `node event detail`, as a `replay --trace` line without index and time.
impl fmt::Display for Action {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let line = |f: &mut fmt::Formatter<'_>, node: Option<NodeId>, event: &str, detail| {
            let node = node.map_or("--".to_string(), |node| format!("n{node}"));
            write!(f, "{node:<3} {event:<9} {detail}")
        };
        match self {
            Action::Deliver {
                from,
                to,
                message,
                duplicate,
                lost,
            } => {
                let dup = if *duplicate { "(dup) " } else { "" };
                match (from, to) {
                    (_, Endpoint::Node(node)) if *lost => line(
                        f,
                        Some(*node),
                        "lost",
                        format!("{message} from {from}: node down"),
                    ),
                    (Endpoint::Node(_), Endpoint::Node(node)) => {
                        line(f, Some(*node), "recv", format!("{dup}{message} <- {from}"))
                    }
                    (Endpoint::Client(_), Endpoint::Node(node)) => {
                        line(f, Some(*node), "request", format!("{dup}{message}"))
                    }
                    (_, Endpoint::Client(client)) => line(
                        f,
                        None,
                        "reply",
                        format!("{dup}{from} -> client {client} {message}"),
                    ),
                }
            }
            Action::Drop { from, to, message } => {
                let node = match from {
                    Endpoint::Node(node) => Some(*node),
                    Endpoint::Client(_) => None,
                };
                line(f, node, "drop", format!("{message} {from} -> {to}"))
            }
            Action::Timer { node, timer } => line(f, Some(*node), "timer", timer.clone()),
            Action::Crash { node } => line(f, Some(*node), "crash", String::new()),
            Action::Restart { node } => line(f, Some(*node), "restart", String::new()),
            Action::Invoke {
                client,
                seq,
                node,
                op,
                duplicate,
            } => {
                let dup = if *duplicate { " (dup)" } else { "" };
                let detail = format!("client {client} invokes seq {seq} at n{node}: {op}{dup}");
                line(f, None, "client", detail)
            }
            Action::Local { node } => line(f, Some(*node), "local", "its own messages".into()),
            Action::Timeout { client, seq, node } => line(
                f,
                None,
                "timeout",
                format!("client {client} seq {seq}: resends to n{node}"),
            ),
        }
    }
}

/// A message's text, complete enough to tell it from any other in flight
/// (a `CatchupReply` lists its entries, which its `Display` leaves out).
pub(crate) fn message_text(message: &Message) -> String {
    match message {
        Message::CatchupReply { entries } => {
            let mut text = String::from("CatchupReply(");
            for (index, (slot, command)) in entries.iter().enumerate() {
                let gap = if index == 0 { "" } else { " " };
                text.push_str(&format!("{gap}s{slot}={command}"));
            }
            text.push(')');
            text
        }
        _ => message.to_string(),
    }
}

/// An envelope's endpoints and text.
pub(crate) fn describe(envelope: &Envelope) -> (Endpoint, Endpoint, String) {
    match envelope {
        Envelope::Peer { from, to, message } => (
            Endpoint::Node(*from),
            Endpoint::Node(*to),
            message_text(message),
        ),
        Envelope::Request {
            client,
            to,
            request,
        } => (
            Endpoint::Client(*client),
            Endpoint::Node(*to),
            format!("client {client} seq {}: {}", request.seq, request.op),
        ),
        Envelope::Reply {
            from,
            client,
            seq,
            reply,
        } => (
            Endpoint::Node(*from),
            Endpoint::Client(*client),
            format!("seq {seq}: {reply}"),
        ),
    }
}

/// The action `step` takes from `state`.
pub(crate) fn render(state: &State, model: &Model, step: Step) -> Action {
    let envelope_of = |print| {
        let flight = state
            .network
            .find(print)
            .expect("a step names a message in flight");
        describe(&flight.envelope)
    };
    let down = |to: Endpoint| match to {
        Endpoint::Node(node) => !state.hosts[usize::from(node)].is_up(),
        Endpoint::Client(_) => false,
    };
    match step {
        Step::Deliver { print } | Step::Duplicate { print } => {
            let (from, to, message) = envelope_of(print);
            Action::Deliver {
                from,
                to,
                message,
                duplicate: matches!(step, Step::Duplicate { .. }),
                lost: down(to),
            }
        }
        Step::Drop { print } => {
            let (from, to, message) = envelope_of(print);
            Action::Drop { from, to, message }
        }
        Step::Timer { node, timer } => Action::Timer {
            node,
            timer: timer.name().to_string(),
        },
        Step::Crash { node } => Action::Crash { node },
        Step::Restart { node } => Action::Restart { node },
        Step::Invoke { client, duplicate } => {
            let c = &state.clients[client as usize];
            Action::Invoke {
                client,
                seq: u64::from(c.next_op) + 1,
                node: c.target,
                op: c.next_operation(model, client).to_string(),
                duplicate,
            }
        }
        Step::Local { node } => Action::Local { node },
        Step::Timeout { client } => {
            let c = &state.clients[client as usize];
            let waiting = c.waiting.as_ref().expect("only a waiting client times out");
            Action::Timeout {
                client,
                seq: waiting.request.seq,
                node: (c.target + 1) % model.nodes(),
            }
        }
    }
}

/// The enabled step that `action` names in `state`, if any.
fn resolve(state: &State, model: &Model, action: &Action) -> Option<Step> {
    let mut steps = Vec::new();
    state.enabled(model, &mut steps);
    steps
        .into_iter()
        .find(|&step| render(state, model, step) == *action)
}

/// What replaying a schedule did.
#[derive(Debug)]
pub enum Replayed {
    /// The action at `index` raised `violation`; nothing after it ran.
    Violation {
        index: usize,
        violation: Box<Violation>,
    },
    /// Every action ran and no check failed.
    Clean,
}

/// Run `actions` from the initial state of `config`, checking as the
/// search does. An action that is not enabled where it stands (a message
/// not in flight, a budget spent) is an error naming it.
pub fn replay(config: &ExploreConfig, actions: &[Action]) -> Result<Replayed, String> {
    config.validate()?;
    let model = Model::new(config);
    let mut state = match step::initial(&model) {
        Ok(state) => state,
        Err(violation) => {
            return Ok(Replayed::Violation {
                index: 0,
                violation,
            });
        }
    };
    for (index, action) in actions.iter().enumerate() {
        let Some(step) = resolve(&state, &model, action) else {
            return Err(format!("action {index} is not enabled there: {action}"));
        };
        match state.apply(&model, step, index as u64) {
            Ok(Checked::Fine) => {}
            Ok(Checked::Inconclusive) => {
                return Err(format!(
                    "action {index}: the linearizability check ran out of its \
                     {LINEARIZABILITY_STEPS_MAX} steps"
                ));
            }
            Err(violation) => return Ok(Replayed::Violation { index, violation }),
        }
    }
    Ok(Replayed::Clean)
}

/// The fingerprint of the initial state of `config`, then of the state
/// after each of `actions`: equal states give equal fingerprints, whatever
/// path led to them. An action that is not enabled, or one that raises a
/// violation before the last, is an error.
pub fn fingerprints(config: &ExploreConfig, actions: &[Action]) -> Result<Vec<u128>, String> {
    config.validate()?;
    let model = Model::new(config);
    let mut state = step::initial(&model).map_err(|violation| violation.to_string())?;
    let mut prints = vec![state.fingerprint(&model)];
    for (index, action) in actions.iter().enumerate() {
        let Some(step) = resolve(&state, &model, action) else {
            return Err(format!("action {index} is not enabled there: {action}"));
        };
        if let Err(violation) = state.apply(&model, step, index as u64) {
            return Err(format!("action {index}: {violation}"));
        }
        prints.push(state.fingerprint(&model));
    }
    Ok(prints)
}

/// `actions` as the simulator's schedule (`SimConfig::schedule`): each
/// action, then the deliveries explore made within it, in order (a node's
/// messages to itself; with patient clients, the request an invocation
/// sends and the replies a node sends), each named like any other. An
/// invocation's duplicate becomes a duplicated delivery of its request;
/// `Local` becomes the deliveries it made. Stops after the action that
/// raises a violation.
pub fn schedule_of(config: &ExploreConfig, actions: &[Action]) -> Result<Vec<Action>, String> {
    config.validate()?;
    let model = Model::new(config);
    let Ok(mut state) = step::initial(&model) else {
        return Ok(Vec::new());
    };
    let mut schedule = Vec::new();
    for (index, action) in actions.iter().enumerate() {
        let Some(step) = resolve(&state, &model, action) else {
            return Err(format!("action {index} is not enabled there: {action}"));
        };
        *model.within.borrow_mut() = Some(Vec::new());
        let outcome = state.apply(&model, step, index as u64);
        let within = model.within.borrow_mut().take().unwrap_or_default();
        match action {
            Action::Local { .. } => {}
            Action::Invoke {
                client,
                seq,
                node,
                op,
                ..
            } => schedule.push(Action::Invoke {
                client: *client,
                seq: *seq,
                node: *node,
                op: op.clone(),
                duplicate: false,
            }),
            other => schedule.push(other.clone()),
        }
        schedule.extend(within);
        if outcome.is_err() {
            break;
        }
    }
    Ok(schedule)
}
