//! Recording one run's timeline ([`Timeline`]) as it goes, when
//! `RunOptions::timeline` asks for it: messages from send to receive and
//! what became of them, node and partition spans, timer firings, the
//! requests each client operation sent, the slots chosen (by the safety
//! checker's own record), and at the end the operations, the violation and,
//! for a linearizability failure, what the search found.
//!
//! The driver calls the recorder where those things happen; the recorder
//! only watches. It draws no random number, schedules nothing and changes
//! nothing in the run, so a run is the same, digest and all, with the
//! recording on or off; off, it costs one `Option` test per hook.
//!
//! A message is followed by the queue sequence of its delivery event, and
//! through a paused receiver's backlog in order. What is kept is bounded:
//! past `records_max` records (messages, timers, spans, partitions, chosen
//! slots, attempts) no new one is kept and the timeline says where it was
//! truncated. The operations are always kept: the run's history holds them
//! anyway.

use std::collections::{BTreeMap, VecDeque};

use paxos::{ClientId, Command, Message, NodeId, Op, Slot};

use crate::check::Place;
use crate::event::Event;
use crate::faults::Partition;
use crate::history_check::{self, KeyFailure};
use crate::network;
use crate::report::Verdict;
use crate::text;
use crate::timeline::{
    Attempt, ChosenSlot, Endpoint, Fate, LinearizabilityFailure, MessageRecord, NodeSpan,
    NodeState, OpKind, Operation, PartitionSpan, Phases, Timeline, TimerFiring, Truncation,
    ViolationMark,
};
use crate::workload::History;

/// Records one timeline keeps at most (messages, timers, spans, partitions,
/// chosen slots, attempts): about 120,000 events, a page of some 20 MB.
pub const RECORDS_MAX: u64 = 100_000;

/// The messages a transmission created: the message, and the network's
/// duplicate of it.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Sent {
    pub(crate) message: Option<usize>,
    pub(crate) copy: Option<usize>,
}

pub(crate) struct Recorder {
    timeline: Timeline,
    records_max: u64,
    records: u64,
    /// Messages on their way, by the queue sequence of their delivery.
    in_flight: BTreeMap<u64, usize>,
    /// Per node: the messages in its backlog while it is paused, in order
    /// (`None` for one sent after the recording was truncated).
    held: Vec<VecDeque<Option<usize>>>,
    /// The open span of each node and state.
    open_spans: BTreeMap<(NodeId, NodeState), usize>,
    open_partition: Option<usize>,
    /// Each request sent for an operation, by `(client, seq)`.
    attempts: BTreeMap<(ClientId, u64), Vec<Attempt>>,
    /// The message the event at this index handled.
    handled: Option<(u64, usize)>,
    key_failure: Option<KeyFailure>,
}

impl Recorder {
    pub(crate) fn new(nodes: u8, clients: u32, records_max: u64) -> Recorder {
        Recorder {
            timeline: Timeline {
                nodes,
                clients,
                ..Timeline::default()
            },
            records_max,
            records: 0,
            in_flight: BTreeMap::new(),
            held: vec![VecDeque::new(); usize::from(nodes)],
            open_spans: BTreeMap::new(),
            open_partition: None,
            attempts: BTreeMap::new(),
            handled: None,
            key_failure: None,
        }
    }

    /// Room for one more record? Past the bound, the timeline is marked
    /// truncated where it first was hit.
    fn room(&mut self, place: Place) -> bool {
        if self.records < self.records_max {
            self.records += 1;
            return true;
        }
        self.timeline.truncated.get_or_insert(Truncation {
            after_event: place.event,
            time_us: place.time_us,
            records_max: self.records_max,
        });
        false
    }

    // ------------------------------------------------------------ messages

    /// `event` was put on the network with `fate`: a message, and its
    /// duplicate if the network made one. Not a message: nothing.
    pub(crate) fn send(&mut self, event: &Event, fate: &network::Fate, place: Place) -> Sent {
        let Some(shape) = MessageShape::of(event) else {
            return Sent {
                message: None,
                copy: None,
            };
        };
        let (fate, duplicated) = match fate {
            network::Fate::Deliver {
                duplicate_delay_us, ..
            } => (Fate::InFlight, duplicate_delay_us.is_some()),
            network::Fate::Dropped => (Fate::Dropped, false),
            network::Fate::Blocked => (Fate::Blocked, false),
        };
        let message = self.push_message(&shape, fate, false, place);
        let copy = duplicated
            .then(|| self.push_message(&shape, fate, true, place))
            .flatten();
        Sent { message, copy }
    }

    fn push_message(
        &mut self,
        shape: &MessageShape,
        fate: Fate,
        duplicate: bool,
        place: Place,
    ) -> Option<usize> {
        if !self.room(place) {
            return None;
        }
        let index = self.timeline.messages.len();
        self.timeline.messages.push(MessageRecord {
            id: index as u64,
            kind: shape.kind.to_string(),
            from: shape.from,
            to: shape.to,
            send_us: place.time_us,
            receive_us: None,
            arrive_us: None,
            fate,
            duplicate,
            slot: shape.slot,
            text: shape.text.clone(),
        });
        Some(index)
    }

    /// Message `message`'s delivery was queued as `sequence` (`None`: the
    /// queue was full and the run ends; it stays in flight).
    pub(crate) fn scheduled(&mut self, message: Option<usize>, sequence: Option<u64>) {
        if let (Some(message), Some(sequence)) = (message, sequence) {
            self.in_flight.insert(sequence, message);
        }
    }

    /// The delivery queued as `sequence` reached its receiver, which was up
    /// or down.
    pub(crate) fn received(&mut self, sequence: u64, receiver_up: bool, place: Place) {
        let Some(index) = self.in_flight.remove(&sequence) else {
            return;
        };
        let message = &mut self.timeline.messages[index];
        message.receive_us = Some(place.time_us);
        message.fate = if receiver_up {
            Fate::Delivered
        } else {
            Fate::LostToCrash
        };
        self.handled = Some((place.event, index));
    }

    /// The delivery queued as `sequence` reached paused `node` and waits in
    /// its backlog.
    pub(crate) fn held(&mut self, node: NodeId, sequence: u64, place: Place) {
        let index = self.in_flight.remove(&sequence);
        if let Some(index) = index {
            let message = &mut self.timeline.messages[index];
            message.arrive_us.get_or_insert(place.time_us);
            message.fate = Fate::Held;
        }
        self.held[usize::from(node)].push_back(index);
    }

    /// `node` resumed and the next message of its backlog was queued again
    /// as `sequence`.
    pub(crate) fn released(&mut self, node: NodeId, sequence: Option<u64>) {
        let index = self.held[usize::from(node)]
            .pop_front()
            .expect("every message released from a backlog was held there");
        self.scheduled(index, sequence);
    }

    // --------------------------------------------------------------- nodes

    /// A stretch of `state` begins at `node` (crashed, paused, and
    /// recovering, should recovery take time).
    pub(crate) fn span_start(&mut self, node: NodeId, state: NodeState, place: Place) {
        if self.open_spans.contains_key(&(node, state)) || !self.room(place) {
            return;
        }
        self.open_spans
            .insert((node, state), self.timeline.node_spans.len());
        self.timeline.node_spans.push(NodeSpan {
            node,
            state,
            start_us: place.time_us,
            end_us: None,
        });
    }

    pub(crate) fn span_end(&mut self, node: NodeId, state: NodeState, place: Place) {
        if let Some(index) = self.open_spans.remove(&(node, state)) {
            self.timeline.node_spans[index].end_us = Some(place.time_us);
        }
    }

    /// `node` crashed: a pause ends with it, its backlog is lost.
    pub(crate) fn crashed(&mut self, node: NodeId, place: Place) {
        self.span_end(node, NodeState::Paused, place);
        for index in std::mem::take(&mut self.held[usize::from(node)])
            .into_iter()
            .flatten()
        {
            let message = &mut self.timeline.messages[index];
            message.fate = Fate::LostToCrash;
            message.receive_us = Some(place.time_us);
        }
        self.span_start(node, NodeState::Crashed, place);
    }

    pub(crate) fn timer(&mut self, node: NodeId, timer: &str, place: Place) {
        if self.room(place) {
            self.timeline.timers.push(TimerFiring {
                node,
                timer: timer.to_string(),
                time_us: place.time_us,
            });
        }
    }

    // ------------------------------------------------------------ the rest

    /// `partition` cuts links from now, replacing any in force.
    pub(crate) fn partition_began(&mut self, partition: &Partition, nodes: u8, place: Place) {
        self.partition_healed(place);
        if !self.room(place) {
            return;
        }
        self.open_partition = Some(self.timeline.partitions.len());
        self.timeline.partitions.push(PartitionSpan {
            start_us: place.time_us,
            end_us: None,
            links_cut: partition.cut_links(nodes),
            text: describe_partition(partition, nodes),
        });
    }

    pub(crate) fn partition_healed(&mut self, place: Place) {
        if let Some(index) = self.open_partition.take() {
            self.timeline.partitions[index].end_us = Some(place.time_us);
        }
    }

    /// The safety checker's record chose `command` in `slot`.
    pub(crate) fn chosen(&mut self, slot: Slot, command: &Command, place: Place) {
        if self.room(place) {
            self.timeline.chosen.push(ChosenSlot {
                slot,
                value: command.to_string(),
                time_us: place.time_us,
            });
        }
    }

    /// Client `client` sent a request for its operation `seq` to `node`.
    pub(crate) fn attempt(&mut self, client: ClientId, seq: u64, node: NodeId, place: Place) {
        if self.room(place) {
            let attempt = Attempt {
                node,
                send_us: place.time_us,
            };
            self.attempts
                .entry((client, seq))
                .or_default()
                .push(attempt);
        }
    }

    /// The history's linearizability failure, for the page's drawing.
    pub(crate) fn key_failure(&mut self, failure: KeyFailure) {
        self.key_failure = Some(failure);
    }

    /// The timeline, once the run ended with `verdict` after `events`
    /// events at `end_us`.
    pub(crate) fn finish(
        mut self,
        verdict: &Verdict,
        history: &History,
        events: u64,
        end_us: u64,
        heal_us: Option<u64>,
    ) -> Timeline {
        let mut timeline = std::mem::take(&mut self.timeline);
        timeline.events = events;
        timeline.end_us = end_us;
        timeline.phases = Phases {
            chaos_start_us: 0,
            chaos_end_us: heal_us,
            heal_start_us: heal_us,
        };
        timeline.operations = (history.ops.iter().enumerate())
            .map(|(id, record)| Operation {
                id: id as u64,
                client: record.client,
                seq: record.seq,
                key: record.op.key().to_string(),
                kind: match record.op {
                    Op::Put { .. } => OpKind::Put,
                    Op::Get { .. } => OpKind::Get,
                    Op::Cas { .. } => OpKind::Cas,
                },
                input: text::op_input(&record.op),
                invoke_us: record.invoke_us,
                complete_us: record.complete.as_ref().map(|(time_us, _)| *time_us),
                result: record
                    .complete
                    .as_ref()
                    .map(|(_, result)| text::result(result)),
                attempts: self
                    .attempts
                    .remove(&(record.client, record.seq))
                    .unwrap_or_default(),
            })
            .collect();
        if let Verdict::Violation(violation) = verdict {
            let message = self
                .handled
                .filter(|(event, _)| *event == violation.event)
                .map(|(_, index)| index as u64);
            timeline.violation = Some(ViolationMark {
                invariant: violation.invariant.name().to_string(),
                event: violation.event,
                time_us: violation.time_us,
                text: violation.to_string(),
                slot: violation.slot,
                key: violation.key.clone(),
                node: violation.node,
                ops: violation.ops.iter().map(|&op| op as u64).collect(),
                message,
            });
        }
        timeline.linearizability = self
            .key_failure
            .map(|failure| linearizability(&failure, history));
        timeline
    }
}

/// A linearizability failure in the page's terms.
fn linearizability(failure: &KeyFailure, history: &History) -> LinearizabilityFailure {
    LinearizabilityFailure {
        key: failure.key.clone(),
        ops: failure.ops.iter().map(|&op| op as u64).collect(),
        prefix: failure.prefix.iter().map(|&op| op as u64).collect(),
        prefix_states: history_check::prefix_states(history, &failure.prefix),
        unplaceable: Some(failure.unplaceable as u64),
    }
}

/// What the page shows of one message.
struct MessageShape {
    from: Endpoint,
    to: Endpoint,
    kind: &'static str,
    slot: Option<Slot>,
    text: String,
}

impl MessageShape {
    fn of(event: &Event) -> Option<MessageShape> {
        match event {
            Event::Deliver {
                from, to, message, ..
            } => Some(MessageShape {
                from: Endpoint::Node(*from),
                to: Endpoint::Node(*to),
                kind: message.kind(),
                slot: match message {
                    Message::Accept { slot, .. }
                    | Message::Accepted { slot, .. }
                    | Message::Decide { slot, .. } => Some(*slot),
                    _ => None,
                },
                text: message.to_string(),
            }),
            Event::ClientRequest { to, request, .. } => Some(MessageShape {
                from: Endpoint::Client(request.client),
                to: Endpoint::Node(*to),
                kind: "Request",
                slot: None,
                text: text::request(request.client, request.seq, &request.op),
            }),
            Event::ClientReply {
                from,
                client,
                seq,
                reply,
                ..
            } => Some(MessageShape {
                from: Endpoint::Node(*from),
                to: Endpoint::Client(*client),
                kind: "Reply",
                slot: None,
                text: format!("client {client} seq {seq}: {}", text::reply(reply)),
            }),
            _ => None,
        }
    }
}

/// A partition as people read it: `{0} | {1, 2}`.
fn describe_partition(partition: &Partition, nodes: u8) -> String {
    let set = |members: &[NodeId]| {
        let names: Vec<String> = members.iter().map(|node| node.to_string()).collect();
        format!("{{{}}}", names.join(", "))
    };
    let rest = |side: &[NodeId]| -> Vec<NodeId> {
        (0..nodes).filter(|node| !side.contains(node)).collect()
    };
    match partition {
        Partition::Isolate { node } => format!("{} | {}", set(&[*node]), set(&rest(&[*node]))),
        Partition::Split { side } => format!("{} | {}", set(side), set(&rest(side))),
        Partition::Bridge {
            bridge,
            left,
            right,
        } => format!("{} | {}, bridged by {bridge}", set(left), set(right)),
        Partition::OneWay { from, to } => format!("{} -> {} cut one way", set(from), set(to)),
        Partition::Groups { groups } => {
            let sets: Vec<String> = groups.iter().map(|group| set(group)).collect();
            sets.join(" | ")
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(event: u64, time_us: u64) -> Place {
        Place { event, time_us }
    }

    #[test]
    fn past_its_bound_the_recording_keeps_nothing_new_and_says_where() {
        let mut recorder = Recorder::new(2, 0, 3);
        for time_us in 0..5 {
            recorder.timer(0, "heartbeat", at(time_us, time_us * 10));
        }
        recorder.span_start(1, NodeState::Crashed, at(9, 90));
        let timeline = recorder.finish(&Verdict::Pass, &History::default(), 10, 100, None);
        assert_eq!(timeline.timers.len(), 3);
        assert!(timeline.node_spans.is_empty());
        assert_eq!(
            timeline.truncated,
            Some(Truncation {
                after_event: 3,
                time_us: 30,
                records_max: 3
            })
        );
        assert_eq!(timeline.validate(), Ok(()));
    }

    #[test]
    fn a_held_message_keeps_its_place_in_the_backlog_past_the_bound() {
        let mut recorder = Recorder::new(2, 0, 1);
        let event = Event::Deliver {
            from: 0,
            to: 1,
            message: Message::CatchupRequest { from_slot: 0 },
            duplicate: false,
        };
        let deliver = network::Fate::Deliver {
            delay_us: 5,
            duplicate_delay_us: None,
        };
        let first = recorder.send(&event, &deliver, at(0, 0));
        let second = recorder.send(&event, &deliver, at(0, 0));
        assert!(first.message.is_some() && second.message.is_none());
        recorder.scheduled(first.message, Some(10));
        recorder.scheduled(second.message, Some(11));
        // Both reach paused node 1; it resumes and they are queued again.
        recorder.held(1, 10, at(1, 5));
        recorder.held(1, 11, at(2, 5));
        recorder.released(1, Some(20));
        recorder.released(1, Some(21));
        recorder.received(20, true, at(3, 8));
        recorder.received(21, true, at(4, 8));
        let timeline = recorder.finish(&Verdict::Pass, &History::default(), 5, 10, None);
        let message = &timeline.messages[0];
        assert_eq!(
            (message.fate, message.arrive_us, message.receive_us),
            (Fate::Delivered, Some(5), Some(8))
        );
        assert_eq!(timeline.validate(), Ok(()));
    }
}
