//! The timeline of one run as plain data, for people to look at: who sent
//! what to whom and when, what became of it, what the clients saw, which
//! faults struck, and where the run broke an invariant.
//!
//! This module owns the shape of that data and its well-formedness rules
//! ([`Timeline::validate`]); it does not record anything. The driver fills a
//! [`Timeline`] as a run goes (`recorder`, when `RunOptions::timeline` is
//! on), and `paxsim` renders it as a self-contained HTML page. Everything is serialized with `serde`, so the page reads the
//! same field names as this file.
//!
//! Times are virtual microseconds from the start of the run. Values,
//! results and messages are carried as display text that is already JSON
//! where it is a value (`{"name":"Alice"}`), never Rust debug output.

use std::collections::BTreeSet;

use serde::Serialize;

use paxos::{ClientId, NodeId, Slot};

/// Everything a timeline page shows about one run.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct Timeline {
    /// What the page is about, such as `seed 42` or a scenario's name.
    pub title: String,
    /// The command line that reproduces the run; empty if there is none.
    pub command: String,
    pub nodes: u8,
    pub clients: u32,
    /// How many events the run executed.
    pub events: u64,
    /// When the run ended.
    pub end_us: u64,
    pub phases: Phases,
    /// Crashed, paused and recovering stretches of each node.
    pub node_spans: Vec<NodeSpan>,
    pub partitions: Vec<PartitionSpan>,
    pub messages: Vec<MessageRecord>,
    pub timers: Vec<TimerFiring>,
    pub operations: Vec<Operation>,
    pub chosen: Vec<ChosenSlot>,
    pub violation: Option<ViolationMark>,
    /// Present when the violation is a linearizability failure.
    pub linearizability: Option<LinearizabilityFailure>,
    /// Set when the recording hit its bound: from then on no new message,
    /// timer, span, partition, chosen slot or attempt was kept (operations
    /// and the violation still are).
    pub truncated: Option<Truncation>,
}

/// Where a recording stopped keeping new records.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub struct Truncation {
    /// The index of the event during which the bound was hit.
    pub after_event: u64,
    pub time_us: u64,
    /// The bound: records kept at most.
    pub records_max: u64,
}

/// When the chaos phase ran and when the heal phase began.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize)]
pub struct Phases {
    pub chaos_start_us: u64,
    /// `None` if the run ended during the chaos phase.
    pub chaos_end_us: Option<u64>,
    /// `None` if the run never healed.
    pub heal_start_us: Option<u64>,
}

/// What a node was doing during a [`NodeSpan`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum NodeState {
    /// Down: messages sent to it are lost.
    Crashed,
    /// Frozen: messages to it wait in its backlog until it resumes.
    Paused,
    /// Restarted from its durable state and catching up.
    Recovering,
}

/// A stretch of time a node spent crashed, paused or recovering.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct NodeSpan {
    pub node: NodeId,
    pub state: NodeState,
    pub start_us: u64,
    /// `None`: still so when the run ended.
    pub end_us: Option<u64>,
}

/// A partition in force: the directed links it cut, and when.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct PartitionSpan {
    pub start_us: u64,
    /// `None`: still in force when the run ended.
    pub end_us: Option<u64>,
    /// Each `[from, to]` link on which messages were lost.
    pub links_cut: Vec<(NodeId, NodeId)>,
    /// The shape as people read it, such as `{0} | {1, 2}`.
    pub text: String,
}

/// One end of a message: a node, or a client (requests and replies).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Endpoint {
    Node(NodeId),
    Client(ClientId),
}

/// What became of a message.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Fate {
    /// Handled by its receiver at `receive_us`.
    Delivered,
    /// Lost on the wire.
    Dropped,
    /// Cut by a partition when it was sent.
    Blocked,
    /// Reached its receiver at `receive_us` while the receiver was down, or
    /// waited in a paused receiver's backlog (from `arrive_us`) until the
    /// receiver crashed at `receive_us`.
    LostToCrash,
    /// Reached its paused receiver at `arrive_us` and still waited in its
    /// backlog when the run ended.
    Held,
    /// Still travelling when the run ended.
    InFlight,
}

/// One message between nodes, or between a client and a node.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct MessageRecord {
    /// Unique within the timeline.
    pub id: u64,
    /// `Prepare`, `Accept`, ..., or `Request` and `Reply` for clients.
    pub kind: String,
    pub from: Endpoint,
    pub to: Endpoint,
    pub send_us: u64,
    /// When the message reached its receiver: set for `Delivered` and
    /// `LostToCrash`, `None` otherwise.
    pub receive_us: Option<u64>,
    /// Set when the message reached a paused receiver at this time and
    /// waited in its backlog until `receive_us`.
    pub arrive_us: Option<u64>,
    pub fate: Fate,
    /// A second copy made by the network.
    pub duplicate: bool,
    /// The log slot the message concerns, if it concerns one.
    pub slot: Option<Slot>,
    /// The message as people read it, values as JSON.
    pub text: String,
}

/// A timer that fired at a node.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct TimerFiring {
    pub node: NodeId,
    /// `election`, `heartbeat`, `retransmit` or `catchup`.
    pub timer: String,
    pub time_us: u64,
}

/// The kind of a client operation.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum OpKind {
    Put,
    Get,
    Cas,
}

/// One request to a node on behalf of an operation.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub struct Attempt {
    pub node: NodeId,
    pub send_us: u64,
}

/// One client operation, from invocation to completion.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Operation {
    /// Unique within the timeline.
    pub id: u64,
    pub client: ClientId,
    pub seq: u64,
    pub key: String,
    pub kind: OpKind,
    /// The argument as JSON: the value written, or
    /// `{"expected_version":3,"value":...}` for a Cas; empty for a Get.
    pub input: String,
    pub invoke_us: u64,
    /// `None`: never answered; it may or may not have taken effect.
    pub complete_us: Option<u64>,
    /// The result as JSON, such as `{"version":3}`; `None` when unanswered.
    pub result: Option<String>,
    /// Each request sent for this operation, in order.
    pub attempts: Vec<Attempt>,
}

/// The value chosen for one log slot.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct ChosenSlot {
    pub slot: Slot,
    /// The command as people read it, values as JSON.
    pub value: String,
    pub time_us: u64,
}

/// The broken invariant, placed on the timeline.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct ViolationMark {
    /// The invariant's name, such as `linearizability`.
    pub invariant: String,
    /// The index of the event after which the check failed.
    pub event: u64,
    pub time_us: u64,
    /// The full report, as the text report prints it.
    pub text: String,
    pub slot: Option<Slot>,
    pub key: Option<String>,
    pub node: Option<NodeId>,
    /// The operations the report implicates.
    pub ops: Vec<u64>,
    /// The message whose handling was the violating event, if it was one.
    pub message: Option<u64>,
}

/// A linearizability failure on one key, in the terms Porcupine draws.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct LinearizabilityFailure {
    pub key: String,
    /// Every operation on the key, by id.
    pub ops: Vec<u64>,
    /// The longest linearizable prefix found: op ids in linearization order.
    pub prefix: Vec<u64>,
    /// The key's state after each op of `prefix`, such as
    /// `v2 {"name":"Bob"}`; empty, or one entry per op of `prefix`.
    pub prefix_states: Vec<String>,
    /// The operation that cannot be placed after the prefix, if known.
    pub unplaceable: Option<u64>,
}

impl Timeline {
    /// Check that the timeline is consistent: ids unique, every reference
    /// resolves, every span ends after it starts and before the run ends.
    /// The error names the first element that breaks a rule.
    pub fn validate(&self) -> Result<(), String> {
        self.validate_spans()?;
        self.validate_messages()?;
        self.validate_operations()?;
        for timer in &self.timers {
            self.node_in_range(timer.node, "timer")?;
            self.time_in_range(timer.time_us, "timer")?;
        }
        for chosen in &self.chosen {
            self.time_in_range(chosen.time_us, &format!("chosen slot {}", chosen.slot))?;
        }
        let slots: BTreeSet<Slot> = self.chosen.iter().map(|chosen| chosen.slot).collect();
        if slots.len() != self.chosen.len() {
            return Err("a slot is chosen twice in `chosen`".into());
        }
        self.validate_violation()?;
        self.validate_linearizability()?;
        if let Some(truncation) = self.truncated {
            self.time_in_range(truncation.time_us, "the truncation")?;
        }
        Ok(())
    }

    fn validate_spans(&self) -> Result<(), String> {
        let phases = self.phases;
        self.time_in_range(phases.chaos_start_us, "phases.chaos_start_us")?;
        for (end_us, name) in [
            (phases.chaos_end_us, "phases.chaos_end_us"),
            (phases.heal_start_us, "phases.heal_start_us"),
        ] {
            if let Some(end_us) = end_us {
                self.time_in_range(end_us, name)?;
                if end_us < phases.chaos_start_us {
                    return Err(format!("{name} is before phases.chaos_start_us"));
                }
            }
        }
        for span in &self.node_spans {
            let what = format!("node {} {:?} span", span.node, span.state);
            self.node_in_range(span.node, &what)?;
            self.interval_in_range(span.start_us, span.end_us, &what)?;
        }
        for partition in &self.partitions {
            let what = format!("partition {:?}", partition.text);
            self.interval_in_range(partition.start_us, partition.end_us, &what)?;
            for &(from, to) in &partition.links_cut {
                self.node_in_range(from, &what)?;
                self.node_in_range(to, &what)?;
                if from == to {
                    return Err(format!("{what} cuts the link from node {from} to itself"));
                }
            }
        }
        Ok(())
    }

    fn validate_messages(&self) -> Result<(), String> {
        let mut ids = BTreeSet::new();
        for message in &self.messages {
            let what = format!("message {}", message.id);
            if !ids.insert(message.id) {
                return Err(format!("{what}: the id is used twice"));
            }
            self.endpoint_in_range(message.from, &what)?;
            self.endpoint_in_range(message.to, &what)?;
            if message.from == message.to {
                return Err(format!("{what} is sent to its own sender"));
            }
            self.time_in_range(message.send_us, &what)?;
            let reaches = matches!(message.fate, Fate::Delivered | Fate::LostToCrash);
            match message.receive_us {
                Some(receive_us) if reaches => {
                    self.interval_in_range(message.send_us, Some(receive_us), &what)?;
                }
                None if !reaches => {}
                Some(_) => {
                    return Err(format!("{what} is {:?} but has a receive_us", message.fate));
                }
                None => {
                    return Err(format!(
                        "{what} is {:?} but has no receive_us",
                        message.fate
                    ));
                }
            }
            let held = message.fate == Fate::Held;
            if let Some(arrive_us) = message.arrive_us {
                let until_us = match message.receive_us {
                    Some(receive_us) => receive_us,
                    None if held => self.end_us,
                    None => {
                        return Err(format!("{what} has an arrive_us but was never received"));
                    }
                };
                if arrive_us < message.send_us || arrive_us > until_us {
                    return Err(format!("{what}: arrive_us is outside send_us..receive_us"));
                }
            } else if held {
                return Err(format!("{what} is Held but has no arrive_us"));
            }
        }
        Ok(())
    }

    fn validate_operations(&self) -> Result<(), String> {
        let mut ids = BTreeSet::new();
        for op in &self.operations {
            let what = format!("operation {}", op.id);
            if !ids.insert(op.id) {
                return Err(format!("{what}: the id is used twice"));
            }
            if op.client >= self.clients {
                return Err(format!(
                    "{what}: client {} is not below clients = {}",
                    op.client, self.clients
                ));
            }
            self.interval_in_range(op.invoke_us, op.complete_us, &what)?;
            if op.complete_us.is_some() != op.result.is_some() {
                return Err(format!(
                    "{what}: complete_us and result must be both set or both unset"
                ));
            }
            for attempt in &op.attempts {
                self.node_in_range(attempt.node, &what)?;
                let end_us = op.complete_us.unwrap_or(self.end_us);
                if attempt.send_us < op.invoke_us || attempt.send_us > end_us {
                    return Err(format!("{what}: an attempt is sent outside the operation"));
                }
            }
        }
        Ok(())
    }

    fn validate_violation(&self) -> Result<(), String> {
        let Some(violation) = &self.violation else {
            return Ok(());
        };
        self.time_in_range(violation.time_us, "the violation")?;
        if let Some(node) = violation.node {
            self.node_in_range(node, "the violation")?;
        }
        for &op in &violation.ops {
            self.operation(op, "the violation")?;
        }
        if let Some(id) = violation.message
            && !self.messages.iter().any(|message| message.id == id)
        {
            return Err(format!(
                "the violation names message {id}, which does not exist"
            ));
        }
        Ok(())
    }

    fn validate_linearizability(&self) -> Result<(), String> {
        let Some(failure) = &self.linearizability else {
            return Ok(());
        };
        let what = "linearizability";
        let ops: BTreeSet<u64> = failure.ops.iter().copied().collect();
        for &id in &ops {
            let op = self.operation(id, what)?;
            if op.key != failure.key {
                return Err(format!(
                    "{what}: operation {id} is on key {:?}, not {:?}",
                    op.key, failure.key
                ));
            }
        }
        let mut placed = BTreeSet::new();
        for &id in &failure.prefix {
            if !ops.contains(&id) {
                return Err(format!("{what}: prefix op {id} is not one of `ops`"));
            }
            if !placed.insert(id) {
                return Err(format!("{what}: prefix places op {id} twice"));
            }
        }
        if !failure.prefix_states.is_empty() && failure.prefix_states.len() != failure.prefix.len()
        {
            return Err(format!(
                "{what}: prefix_states must be empty or one per prefix op"
            ));
        }
        if let Some(id) = failure.unplaceable {
            if !ops.contains(&id) {
                return Err(format!(
                    "{what}: the unplaceable op {id} is not one of `ops`"
                ));
            }
            if placed.contains(&id) {
                return Err(format!("{what}: the unplaceable op {id} is in the prefix"));
            }
        }
        Ok(())
    }

    fn operation(&self, id: u64, what: &str) -> Result<&Operation, String> {
        self.operations
            .iter()
            .find(|op| op.id == id)
            .ok_or_else(|| format!("{what} names operation {id}, which does not exist"))
    }

    fn node_in_range(&self, node: NodeId, what: &str) -> Result<(), String> {
        if node < self.nodes {
            Ok(())
        } else {
            Err(format!(
                "{what}: node {node} is not below nodes = {}",
                self.nodes
            ))
        }
    }

    fn endpoint_in_range(&self, endpoint: Endpoint, what: &str) -> Result<(), String> {
        match endpoint {
            Endpoint::Node(node) => self.node_in_range(node, what),
            Endpoint::Client(client) if client < self.clients => Ok(()),
            Endpoint::Client(client) => Err(format!(
                "{what}: client {client} is not below clients = {}",
                self.clients
            )),
        }
    }

    fn time_in_range(&self, time_us: u64, what: &str) -> Result<(), String> {
        if time_us <= self.end_us {
            Ok(())
        } else {
            Err(format!(
                "{what}: {time_us}us is after end_us = {}",
                self.end_us
            ))
        }
    }

    fn interval_in_range(
        &self,
        start_us: u64,
        end_us: Option<u64>,
        what: &str,
    ) -> Result<(), String> {
        self.time_in_range(start_us, what)?;
        if let Some(end_us) = end_us {
            self.time_in_range(end_us, what)?;
            if end_us < start_us {
                return Err(format!(
                    "{what} ends at {end_us}us, before it starts at {start_us}us"
                ));
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Two nodes, one client, one answered Put sent to node 0 and replicated.
    fn small() -> Timeline {
        Timeline {
            title: "small".into(),
            nodes: 2,
            clients: 1,
            events: 4,
            end_us: 1_000,
            messages: vec![
                message(
                    1,
                    Endpoint::Client(0),
                    Endpoint::Node(0),
                    10,
                    Some(20),
                    Fate::Delivered,
                ),
                message(
                    2,
                    Endpoint::Node(0),
                    Endpoint::Node(1),
                    20,
                    None,
                    Fate::Dropped,
                ),
                message(
                    3,
                    Endpoint::Node(0),
                    Endpoint::Client(0),
                    30,
                    Some(40),
                    Fate::Delivered,
                ),
            ],
            operations: vec![Operation {
                id: 7,
                client: 0,
                seq: 1,
                key: "k".into(),
                kind: OpKind::Put,
                input: r#"{"name":"Alice"}"#.into(),
                invoke_us: 10,
                complete_us: Some(40),
                result: Some(r#"{"version":1}"#.into()),
                attempts: vec![Attempt {
                    node: 0,
                    send_us: 10,
                }],
            }],
            ..Timeline::default()
        }
    }

    fn message(
        id: u64,
        from: Endpoint,
        to: Endpoint,
        send_us: u64,
        receive_us: Option<u64>,
        fate: Fate,
    ) -> MessageRecord {
        MessageRecord {
            id,
            kind: "Accept".into(),
            from,
            to,
            send_us,
            receive_us,
            arrive_us: None,
            fate,
            duplicate: false,
            slot: Some(0),
            text: String::new(),
        }
    }

    fn rejected(timeline: &Timeline) -> String {
        timeline
            .validate()
            .expect_err("the broken timeline is rejected")
    }

    #[test]
    fn a_consistent_timeline_is_accepted() {
        assert_eq!(small().validate(), Ok(()));
    }

    #[test]
    fn broken_references_and_times_are_named() {
        let mut timeline = small();
        timeline.messages[1].id = 1;
        assert!(rejected(&timeline).contains("message 1: the id is used twice"));

        let mut timeline = small();
        timeline.messages[0].to = Endpoint::Node(2);
        assert!(rejected(&timeline).contains("node 2 is not below nodes = 2"));

        let mut timeline = small();
        timeline.messages[1].receive_us = Some(25);
        assert!(rejected(&timeline).contains("message 2 is Dropped but has a receive_us"));

        let mut timeline = small();
        timeline.messages[2].receive_us = Some(5);
        assert!(rejected(&timeline).contains("ends at 5us, before it starts at 30us"));

        let mut timeline = small();
        timeline.messages[1].fate = Fate::Held;
        assert!(rejected(&timeline).contains("message 2 is Held but has no arrive_us"));
        timeline.messages[1].arrive_us = Some(30);
        assert_eq!(timeline.validate(), Ok(()), "held since 30us, to the end");

        let mut timeline = small();
        timeline.operations[0].result = None;
        assert!(rejected(&timeline).contains("complete_us and result"));

        let mut timeline = small();
        timeline.operations[0].complete_us = Some(2_000);
        assert!(rejected(&timeline).contains("after end_us = 1000"));

        let mut timeline = small();
        timeline.violation = Some(ViolationMark {
            invariant: "linearizability".into(),
            event: 3,
            time_us: 40,
            text: String::new(),
            slot: None,
            key: Some("k".into()),
            node: None,
            ops: vec![8],
            message: None,
        });
        assert!(rejected(&timeline).contains("names operation 8, which does not exist"));
    }

    #[test]
    fn a_linearizability_failure_must_fit_its_operations() {
        let mut timeline = small();
        let failure = LinearizabilityFailure {
            key: "k".into(),
            ops: vec![7],
            prefix: vec![7],
            prefix_states: vec![r#"v1 {"name":"Alice"}"#.into()],
            unplaceable: None,
        };
        timeline.linearizability = Some(failure.clone());
        assert_eq!(timeline.validate(), Ok(()));

        timeline.linearizability = Some(LinearizabilityFailure {
            unplaceable: Some(7),
            ..failure.clone()
        });
        assert!(rejected(&timeline).contains("the unplaceable op 7 is in the prefix"));

        timeline.linearizability = Some(LinearizabilityFailure {
            key: "other".into(),
            ..failure
        });
        assert!(rejected(&timeline).contains("is on key \"k\", not \"other\""));
    }

    #[test]
    fn serializes_with_the_names_the_page_reads() {
        let json = serde_json::to_value(small()).expect("a timeline serializes");
        let message = &json["messages"][0];
        assert_eq!(message["from"], serde_json::json!({ "client": 0 }));
        assert_eq!(message["to"], serde_json::json!({ "node": 0 }));
        assert_eq!(message["fate"], "delivered");
        assert_eq!(json["messages"][1]["receive_us"], serde_json::Value::Null);
        assert_eq!(json["operations"][0]["kind"], "put");
        assert_eq!(
            serde_json::to_value(Fate::LostToCrash).expect("a fate serializes"),
            "lost-to-crash"
        );
        assert_eq!(
            serde_json::to_value((3u8, 1u8)).expect("a link serializes"),
            serde_json::json!([3, 1])
        );
    }
}
