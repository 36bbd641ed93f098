//! Deterministic sample timelines for the page's tests, its measurements and
//! its screenshot: a cluster doing Multi-Paxos-shaped work (client requests,
//! redirects, Accept / Accepted rounds, Decide broadcasts, heartbeats, an
//! election) under faults (a leader crash and recovery, a pause, a
//! partition, drops and duplicates), ending in a stale read that breaks
//! linearizability. It is shaped like a real run but is not one: real runs'
//! pages are tested in `tests/html.rs` through `paxsim replay --html`; the
//! sample gives the drawing tests a size and shape of their choosing.

use std::collections::BTreeMap;

use sim::timeline::{
    Attempt, ChosenSlot, Endpoint, Fate, LinearizabilityFailure, MessageRecord, NodeSpan,
    NodeState, OpKind, Operation, PartitionSpan, Phases, Timeline, TimerFiring, ViolationMark,
};

const MS: u64 = 1_000;
const HEARTBEAT_US: u64 = 25 * MS;
const CLIENT_TIMEOUT_US: u64 = 30 * MS;
const RETRANSMIT_US: u64 = 12 * MS;
const ATTEMPTS_MAX: u32 = 4;
const KEYS: [&str; 3] = ["user_profile:0", "user_profile:1", "user_profile:2"];
const NAMES: [&str; 6] = ["Alice", "Bob", "Carol", "Dave", "Erin", "Frank"];
/// The key whose read goes stale.
const FAILING_KEY: &str = "user_profile:1";

/// A timeline of about `events` events, the same for the same arguments.
pub fn sample(events: usize, seed: u64) -> Timeline {
    // The fault plan is placed at fractions of the run's length, which is
    // known only after a run: measure it with a first pass.
    let length_us = Generator::new(events, seed, 10 * MS * events as u64 / 50 + 200 * MS)
        .run()
        .end_us;
    Generator::new(events, seed, length_us).run()
}

/// SplitMix64: enough randomness for a sample, no dependency.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    fn between(&mut self, low: u64, high: u64) -> u64 {
        low + self.next() % (high - low + 1)
    }

    /// True with probability `percent` / 100.
    fn percent(&mut self, percent: u64) -> bool {
        self.next() % 100 < percent
    }
}

/// The fault plan, in absolute times.
struct Plan {
    chaos_end_us: u64,
    crash: (u8, u64, u64),
    elected: (u8, u64),
    pause: (u8, u64, u64),
    partition: (u8, u64, u64),
}

struct Client {
    next_us: u64,
    target: u8,
    seq: u64,
}

struct Generator {
    rng: Rng,
    events_target: usize,
    timeline: Timeline,
    plan: Plan,
    clients: Vec<Client>,
    next_slot: u64,
    /// Per key: (version, value).
    store: BTreeMap<&'static str, (u64, String)>,
    /// The slot each applied operation took, by op id.
    op_slot: BTreeMap<u64, u64>,
    /// The state after each applied operation, by op id.
    op_state: BTreeMap<u64, String>,
    heartbeats_until_us: u64,
}

impl Generator {
    fn new(events: usize, seed: u64, length_us: u64) -> Generator {
        let nodes: u8 = if events > 2_000 { 5 } else { 3 };
        let clients = if events > 2_000 { 4 } else { 3 };
        let chaos_end_us = length_us * 7 / 10;
        let crash_start_us = length_us * 30 / 100;
        let plan = Plan {
            chaos_end_us,
            crash: (0, crash_start_us, crash_start_us + length_us / 10),
            elected: (1, crash_start_us + length_us / 25),
            pause: (
                2,
                length_us * 12 / 100,
                length_us * 12 / 100 + length_us / 25,
            ),
            partition: (
                nodes - 1,
                length_us * 50 / 100,
                length_us * 50 / 100 + length_us / 14,
            ),
        };
        let mut rng = Rng(seed);
        let clients: Vec<Client> = (0..clients)
            .map(|_| Client {
                next_us: rng.between(0, 4 * MS),
                target: 0,
                seq: 0,
            })
            .collect();
        Generator {
            rng,
            events_target: events,
            timeline: Timeline {
                title: format!("sample timeline, seed {seed}"),
                command: format!("paxsim replay --seed {seed} --html timeline.html"),
                nodes,
                clients: clients.len() as u32,
                ..Timeline::default()
            },
            plan,
            clients,
            next_slot: 0,
            store: BTreeMap::new(),
            op_slot: BTreeMap::new(),
            op_state: BTreeMap::new(),
            heartbeats_until_us: 0,
        }
    }

    fn run(mut self) -> Timeline {
        while self.events() < self.events_target {
            let client = (0..self.clients.len())
                .min_by_key(|&client| self.clients[client].next_us)
                .expect("there is a client");
            let invoke_us = self.clients[client].next_us;
            self.heartbeats_until(invoke_us);
            self.operation(client as u32, invoke_us);
        }
        let end_us = self.latest_us() + 2 * MS;
        self.finish(end_us)
    }

    fn events(&self) -> usize {
        let timeline = &self.timeline;
        timeline.messages.len() + timeline.timers.len() + 2 * timeline.operations.len()
    }

    // ------------------------------------------------------------ the plan

    fn chaos(&self, time_us: u64) -> bool {
        time_us < self.plan.chaos_end_us
    }

    fn crashed(&self, node: u8, time_us: u64) -> bool {
        let (crashed, start_us, end_us) = self.plan.crash;
        node == crashed && (start_us..end_us).contains(&time_us)
    }

    /// When a node paused at `time_us` resumes.
    fn resumes(&self, node: u8, time_us: u64) -> Option<u64> {
        let (paused, start_us, end_us) = self.plan.pause;
        (node == paused && (start_us..end_us).contains(&time_us)).then_some(end_us)
    }

    fn cut(&self, from: Endpoint, to: Endpoint, time_us: u64) -> bool {
        let (isolated, start_us, end_us) = self.plan.partition;
        let (Endpoint::Node(from), Endpoint::Node(to)) = (from, to) else {
            return false;
        };
        (from == isolated) != (to == isolated) && (start_us..end_us).contains(&time_us)
    }

    fn leader(&self, time_us: u64) -> u8 {
        let (elected, elected_us) = self.plan.elected;
        if time_us >= elected_us { elected } else { 0 }
    }

    // ------------------------------------------------------------ messages

    /// Send a message; returns when the receiver handles it, if it does.
    fn send(
        &mut self,
        kind: &str,
        from: Endpoint,
        to: Endpoint,
        send_us: u64,
        slot: Option<u64>,
        text: String,
    ) -> Option<u64> {
        let chaos = self.chaos(send_us);
        let fate_roll = self.rng.next() % 1000;
        let delay_us = self.rng.between(300, 2_400) + if self.rng.percent(4) { 6 * MS } else { 0 };
        let (fate, arrive_us, receive_us) = if self.cut(from, to, send_us) {
            (Fate::Blocked, None, None)
        } else if chaos && fate_roll < 35 {
            (Fate::Dropped, None, None)
        } else {
            self.arrival(to, send_us + delay_us)
        };
        let duplicate = chaos && fate == Fate::Delivered && fate_roll >= 970;
        self.push_message(
            kind,
            from,
            to,
            send_us,
            (fate, arrive_us, receive_us),
            slot,
            &text,
            false,
        );
        if duplicate {
            let copy_us = send_us + delay_us + self.rng.between(200, 3_000);
            let copy = self.arrival(to, copy_us);
            self.push_message(kind, from, to, send_us, copy, slot, &text, true);
        }
        receive_us.filter(|_| fate == Fate::Delivered)
    }

    fn arrival(&self, to: Endpoint, arrive_us: u64) -> (Fate, Option<u64>, Option<u64>) {
        let Endpoint::Node(node) = to else {
            return (Fate::Delivered, None, Some(arrive_us));
        };
        if self.crashed(node, arrive_us) {
            (Fate::LostToCrash, None, Some(arrive_us))
        } else if let Some(resume_us) = self.resumes(node, arrive_us) {
            (Fate::Delivered, Some(arrive_us), Some(resume_us))
        } else {
            (Fate::Delivered, None, Some(arrive_us))
        }
    }

    #[allow(clippy::too_many_arguments)]
    fn push_message(
        &mut self,
        kind: &str,
        from: Endpoint,
        to: Endpoint,
        send_us: u64,
        (fate, arrive_us, receive_us): (Fate, Option<u64>, Option<u64>),
        slot: Option<u64>,
        text: &str,
        duplicate: bool,
    ) {
        let id = self.timeline.messages.len() as u64;
        self.timeline.messages.push(MessageRecord {
            id,
            kind: kind.into(),
            from,
            to,
            send_us,
            receive_us,
            arrive_us,
            fate,
            duplicate,
            slot,
            text: text.into(),
        });
    }

    fn timer(&mut self, node: u8, timer: &str, time_us: u64) {
        self.timeline.timers.push(TimerFiring {
            node,
            timer: timer.into(),
            time_us,
        });
    }

    fn heartbeats_until(&mut self, until_us: u64) {
        while self.heartbeats_until_us + HEARTBEAT_US <= until_us {
            self.heartbeats_until_us += HEARTBEAT_US;
            let time_us = self.heartbeats_until_us;
            let leader = self.leader(time_us);
            if self.crashed(leader, time_us) || self.resumes(leader, time_us).is_some() {
                continue;
            }
            self.timer(leader, "heartbeat", time_us);
            for node in (0..self.timeline.nodes).filter(|&node| node != leader) {
                let text = format!(
                    "Heartbeat ballot {}.{leader} applied_upto {}",
                    leader + 1,
                    self.next_slot
                );
                self.send(
                    "Heartbeat",
                    Endpoint::Node(leader),
                    Endpoint::Node(node),
                    time_us,
                    None,
                    text,
                );
            }
        }
    }

    // ---------------------------------------------------------- operations

    fn operation(&mut self, client: u32, invoke_us: u64) {
        let id = self.timeline.operations.len() as u64;
        let seq = {
            let state = &mut self.clients[client as usize];
            state.seq += 1;
            state.seq
        };
        let key = KEYS[self.rng.between(0, KEYS.len() as u64 - 1) as usize];
        let roll = self.rng.between(0, 99);
        let name = NAMES[self.rng.between(0, NAMES.len() as u64 - 1) as usize];
        let (kind, input) = match roll {
            0..45 => (OpKind::Put, format!(r#"{{"name":"{name}"}}"#)),
            45..85 => (OpKind::Get, String::new()),
            _ => {
                let expected = self.store.get(key).map_or(0, |(version, _)| *version);
                (
                    OpKind::Cas,
                    format!(r#"{{"expected_version":{expected},"value":{{"name":"{name}"}}}}"#),
                )
            }
        };
        let mut op = Operation {
            id,
            client,
            seq,
            key: key.into(),
            kind,
            input,
            invoke_us,
            complete_us: None,
            result: None,
            attempts: Vec::new(),
        };
        let mut time_us = invoke_us;
        let mut applied: Option<String> = None;
        while op.attempts.len() < ATTEMPTS_MAX as usize && op.complete_us.is_none() {
            let target = self.clients[client as usize].target;
            op.attempts.push(Attempt {
                node: target,
                send_us: time_us,
            });
            let call = format!("c{client}#{seq} {}", call_text(&op));
            let handled = self.send(
                "Request",
                Endpoint::Client(client),
                Endpoint::Node(target),
                time_us,
                None,
                call,
            );
            let Some(handled_us) = handled else {
                time_us += CLIENT_TIMEOUT_US;
                self.clients[client as usize].target = (target + 1) % self.timeline.nodes;
                continue;
            };
            let leader = self.leader(handled_us);
            if target != leader {
                let text = format!("c{client}#{seq} Redirect {{\"leader\":{leader}}}");
                let reply = self.send(
                    "Reply",
                    Endpoint::Node(target),
                    Endpoint::Client(client),
                    handled_us,
                    None,
                    text,
                );
                self.clients[client as usize].target = leader;
                time_us = reply.unwrap_or(handled_us + CLIENT_TIMEOUT_US);
                continue;
            }
            if applied.is_none() {
                applied = self.replicate(&op, leader, handled_us);
            }
            let answered_us = match &applied {
                Some(_) => self.op_answer_time(&op, handled_us),
                None => None,
            };
            let reply = match (&applied, answered_us) {
                (Some(result), Some(answered_us)) => {
                    let text = format!("c{client}#{seq} Done {result}");
                    self.send(
                        "Reply",
                        Endpoint::Node(leader),
                        Endpoint::Client(client),
                        answered_us,
                        None,
                        text,
                    )
                }
                _ => None,
            };
            match reply {
                Some(complete_us) => {
                    op.complete_us = Some(complete_us);
                    op.result = applied.clone();
                }
                None => {
                    time_us = time_us.max(handled_us) + CLIENT_TIMEOUT_US;
                    self.clients[client as usize].target = (target + 1) % self.timeline.nodes;
                }
            }
        }
        let settled_us = op.complete_us.unwrap_or(time_us);
        self.clients[client as usize].next_us = settled_us + self.rng.between(MS, 9 * MS);
        self.timeline.operations.push(op);
    }

    /// When the leader answers an applied op: once its slot is chosen.
    fn op_answer_time(&self, op: &Operation, handled_us: u64) -> Option<u64> {
        let slot = self.op_slot.get(&op.id)?;
        let chosen = self
            .timeline
            .chosen
            .iter()
            .find(|chosen| chosen.slot == *slot)?;
        Some(chosen.time_us.max(handled_us))
    }

    /// Run one Accept round for `op` at `leader`; the result if chosen.
    fn replicate(&mut self, op: &Operation, leader: u8, start_us: u64) -> Option<String> {
        let slot = self.next_slot;
        let command = format!("c{}#{} {}", op.client, op.seq, call_text(op));
        let others: Vec<u8> = (0..self.timeline.nodes)
            .filter(|&node| node != leader)
            .collect();
        let mut acks: Vec<u64> = Vec::new();
        let mut missing = Vec::new();
        for &node in &others {
            match self.accept_round(leader, node, start_us, slot, &command) {
                Some(ack_us) => acks.push(ack_us),
                None => missing.push(node),
            }
        }
        let needed = usize::from(self.timeline.nodes) / 2;
        if acks.len() < needed && !missing.is_empty() {
            let retry_us = start_us + RETRANSMIT_US;
            self.timer(leader, "retransmit", retry_us);
            for node in missing {
                if let Some(ack_us) = self.accept_round(leader, node, retry_us, slot, &command) {
                    acks.push(ack_us);
                }
            }
        }
        acks.sort_unstable();
        let chosen_us = *acks.get(needed - 1)?;
        if self.crashed(leader, chosen_us) {
            return None;
        }
        self.next_slot += 1;
        let result = self.apply(op);
        self.op_slot.insert(op.id, slot);
        self.timeline.chosen.push(ChosenSlot {
            slot,
            value: command.clone(),
            time_us: chosen_us,
        });
        for &node in &others {
            let text = format!("Decide slot {slot}: {command}");
            self.send(
                "Decide",
                Endpoint::Node(leader),
                Endpoint::Node(node),
                chosen_us,
                Some(slot),
                text,
            );
        }
        Some(result)
    }

    fn accept_round(
        &mut self,
        leader: u8,
        node: u8,
        send_us: u64,
        slot: u64,
        command: &str,
    ) -> Option<u64> {
        let ballot = format!("{}.{leader}", leader + 1);
        let text = format!("Accept ballot {ballot} slot {slot}: {command}");
        let handled_us = self.send(
            "Accept",
            Endpoint::Node(leader),
            Endpoint::Node(node),
            send_us,
            Some(slot),
            text,
        )?;
        let text = format!("Accepted ballot {ballot} slot {slot}: {command}");
        self.send(
            "Accepted",
            Endpoint::Node(node),
            Endpoint::Node(leader),
            handled_us + 60,
            Some(slot),
            text,
        )
    }

    /// Apply `op` to the store; its result as JSON.
    fn apply(&mut self, op: &Operation) -> String {
        let key = KEYS
            .iter()
            .copied()
            .find(|key| *key == op.key)
            .expect("a sample key");
        let (version, value) = self.store.get(key).cloned().unwrap_or((0, "null".into()));
        let result = match op.kind {
            OpKind::Get if version == 0 => "null".to_string(),
            OpKind::Get => format!(r#"{{"value":{value},"version":{version}}}"#),
            OpKind::Put => {
                self.store.insert(key, (version + 1, op.input.clone()));
                format!(r#"{{"version":{}}}"#, version + 1)
            }
            OpKind::Cas => {
                let expected: serde_json::Value =
                    serde_json::from_str(&op.input).expect("cas input is JSON");
                if expected["expected_version"] == version {
                    self.store
                        .insert(key, (version + 1, expected["value"].to_string()));
                    format!(r#"{{"version":{}}}"#, version + 1)
                } else {
                    format!(r#"{{"conflict":{{"current_version":{version}}}}}"#)
                }
            }
        };
        let (version, value) = self.store.get(key).cloned().unwrap_or((0, "null".into()));
        self.op_state.insert(op.id, format!("v{version} {value}"));
        result
    }

    // -------------------------------------------------------------- faults

    fn latest_us(&self) -> u64 {
        let timeline = &self.timeline;
        let messages = timeline
            .messages
            .iter()
            .map(|m| m.receive_us.unwrap_or(m.send_us));
        let ops = timeline
            .operations
            .iter()
            .map(|op| op.complete_us.unwrap_or(op.invoke_us));
        messages.chain(ops).max().unwrap_or(0)
    }

    fn finish(mut self, end_us: u64) -> Timeline {
        self.fault_records(end_us);
        let chaos_end_us = self.plan.chaos_end_us.min(end_us);
        self.timeline.phases = Phases {
            chaos_start_us: 0,
            chaos_end_us: Some(chaos_end_us),
            heal_start_us: Some(chaos_end_us),
        };
        self.timeline.end_us = end_us;
        self.stale_read();
        self.timeline.events = self.events() as u64;
        self.timeline
            .messages
            .sort_by_key(|message| (message.send_us, message.id));
        self.timeline
    }

    fn fault_records(&mut self, end_us: u64) {
        let clip = |time_us: u64| time_us.min(end_us);
        let (crashed, crash_us, restart_us) = self.plan.crash;
        let (paused, pause_us, resume_us) = self.plan.pause;
        let spans = [
            (crashed, NodeState::Crashed, crash_us, restart_us),
            (
                crashed,
                NodeState::Recovering,
                restart_us,
                restart_us + 8 * MS,
            ),
            (paused, NodeState::Paused, pause_us, resume_us),
        ];
        for (node, state, start_us, stop_us) in spans {
            if start_us < end_us {
                let end = (stop_us < end_us).then_some(stop_us);
                self.timeline.node_spans.push(NodeSpan {
                    node,
                    state,
                    start_us,
                    end_us: end,
                });
            }
        }
        let (isolated, cut_us, heal_us) = self.plan.partition;
        if cut_us < end_us {
            let others: Vec<u8> = (0..self.timeline.nodes)
                .filter(|&node| node != isolated)
                .collect();
            let links_cut = others
                .iter()
                .flat_map(|&node| [(isolated, node), (node, isolated)])
                .collect();
            let rest = others
                .iter()
                .map(u8::to_string)
                .collect::<Vec<_>>()
                .join(", ");
            self.timeline.partitions.push(PartitionSpan {
                start_us: cut_us,
                end_us: (heal_us < end_us).then_some(heal_us),
                links_cut,
                text: format!("{{{isolated}}} | {{{rest}}}"),
            });
        }
        // The election that follows the crash, and the restarted node catching up.
        let (elected, elected_us) = self.plan.elected;
        if elected_us < end_us {
            let campaign_us = elected_us.saturating_sub(3 * MS);
            self.timer(elected, "election", campaign_us);
            for node in (0..self.timeline.nodes).filter(|&node| node != elected) {
                let ballot = format!("{}.{elected}", elected + 1);
                let text = format!("Prepare ballot {ballot} from_slot 0");
                let from = Endpoint::Node(elected);
                if let Some(handled_us) = self.send(
                    "Prepare",
                    from,
                    Endpoint::Node(node),
                    campaign_us,
                    None,
                    text,
                ) {
                    let text = format!("Promise ballot {ballot} accepted []");
                    self.send(
                        "Promise",
                        Endpoint::Node(node),
                        from,
                        clip(handled_us + 50),
                        None,
                        text,
                    );
                }
            }
        }
        if restart_us + MS < end_us {
            self.timer(crashed, "catchup", restart_us + MS);
            let leader = self.leader(restart_us);
            let text = format!("CatchupRequest from_slot {}", self.next_slot / 2);
            if let Some(handled_us) = self.send(
                "CatchupRequest",
                Endpoint::Node(crashed),
                Endpoint::Node(leader),
                restart_us + MS,
                None,
                text,
            ) {
                let text = format!("CatchupReply {} entries", self.next_slot / 2);
                self.send(
                    "CatchupReply",
                    Endpoint::Node(leader),
                    Endpoint::Node(crashed),
                    handled_us,
                    None,
                    text,
                );
            }
        }
        for message in &mut self.timeline.messages {
            message.receive_us = message.receive_us.map(clip);
            if message
                .receive_us
                .is_some_and(|receive_us| receive_us >= end_us)
            {
                (message.fate, message.receive_us, message.arrive_us) =
                    (Fate::InFlight, None, None);
            }
        }
    }

    /// Make one late read of the failing key return the value before the
    /// last write that completed before it: a stale read.
    fn stale_read(&mut self) {
        let ops = &self.timeline.operations;
        let writes_before = |op: &Operation| {
            ops.iter()
                .filter(|w| {
                    w.key == FAILING_KEY
                        && w.kind != OpKind::Get
                        && w.complete_us.is_some_and(|c| c < op.invoke_us)
                })
                .filter(|w| {
                    self.op_slot.contains_key(&w.id)
                        && w.result.as_deref().is_some_and(|r| !r.contains("conflict"))
                })
                .max_by_key(|w| self.op_slot[&w.id])
        };
        let reads = ops.iter().filter(|op| {
            op.key == FAILING_KEY && op.kind == OpKind::Get && op.complete_us.is_some()
        });
        let late: Vec<&Operation> = reads
            .filter(|op| op.invoke_us > self.timeline.end_us * 3 / 4)
            .collect();
        let Some((read, write)) = late
            .iter()
            .find_map(|read| Some((*read, writes_before(read)?)))
        else {
            return;
        };
        let (read_id, write_id) = (read.id, write.id);
        let read_complete_us = read.complete_us.expect("the read completed");
        // Every other applied op on the key that real time does not force
        // after the read fits, in log order; the read fits nowhere, since a
        // write it did not see completed before it began.
        let mut prefix: Vec<u64> = ops
            .iter()
            .filter(|op| {
                op.key == FAILING_KEY && op.id != read_id && op.invoke_us <= read_complete_us
            })
            .filter(|op| self.op_slot.contains_key(&op.id))
            .map(|op| op.id)
            .collect();
        prefix.sort_by_key(|id| self.op_slot[id]);
        let write_slot = self.op_slot[&write_id];
        // The read returns the state just before the write it missed.
        let before = prefix.iter().rfind(|id| self.op_slot[*id] < write_slot);
        let stale = match before.map(|id| &self.op_state[id]) {
            Some(state) if !state.starts_with("v0 ") => {
                let (version, value) = state.split_once(' ').expect("a state is `vN value`");
                format!(r#"{{"value":{value},"version":{}}}"#, &version[1..])
            }
            _ => "null".to_string(),
        };
        let read = &ops[read_id as usize];
        let write = &ops[write_id as usize];
        let text = format!(
            "linearizability at event {} (t={}us) key {FAILING_KEY}: \
             no linearization of the operations on this key\n    \
             client {} #{} get({FAILING_KEY}) returned {stale} (completed at {}us)\n    \
             but client {} #{} {} completed at {}us, \
             before the read was invoked at {}us, with {}\n    \
             the read could only have observed {}",
            self.events(),
            self.timeline.end_us,
            read.client,
            read.seq,
            read.complete_us.expect("the read completed"),
            write.client,
            write.seq,
            call_text(write),
            write.complete_us.expect("the write completed"),
            read.invoke_us,
            write.result.as_deref().unwrap_or("?"),
            self.op_state[&write_id],
        );
        let states = prefix.iter().map(|id| self.op_state[id].clone()).collect();
        let key_ops = ops
            .iter()
            .filter(|op| op.key == FAILING_KEY)
            .map(|op| op.id)
            .collect();
        self.timeline.violation = Some(ViolationMark {
            invariant: "linearizability".into(),
            event: self.events() as u64,
            time_us: read.complete_us.expect("the read completed"),
            text,
            slot: None,
            key: Some(FAILING_KEY.into()),
            node: None,
            ops: vec![read_id, write_id],
            message: None,
        });
        self.timeline.operations[read_id as usize].result = Some(stale);
        self.timeline.linearizability = Some(LinearizabilityFailure {
            key: FAILING_KEY.into(),
            ops: key_ops,
            prefix,
            prefix_states: states,
            unplaceable: Some(read_id),
        });
    }
}

fn call_text(op: &Operation) -> String {
    let kind = match op.kind {
        OpKind::Put => "put",
        OpKind::Get => "get",
        OpKind::Cas => "cas",
    };
    if op.input.is_empty() {
        format!("{kind}({})", op.key)
    } else {
        format!("{kind}({}, {})", op.key, op.input)
    }
}
