//! Liveness under faults, in miniature: retrying clients, message loss,
//! duplication and reordering, isolated nodes and crashes for a while, then
//! a healed network. Every client operation must complete after the heal,
//! in both modes, and the replicas must agree. (The simulator explores this
//! far more widely; this is the core's own smoke test for stuck states.)

mod common;

use std::collections::BTreeMap;
use std::sync::Arc;

use common::*;
use paxos::{Mode, NodeId, OpResult, Reply, Request};

/// Virtual time with faults, then time allowed to finish after the heal.
const FAULTS_US: u64 = 2_000_000;
const HEALED_US: u64 = 60_000_000;
const CLIENT_TIMEOUT_US: u64 = 300_000;
const CLIENT_BACKOFF_US: u64 = 10_000;
const OPS_PER_CLIENT: u64 = 40;
const CLIENTS: u32 = 4;

struct Rng(u64);

impl Rng {
    fn below(&mut self, bound: u64) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0 % bound
    }

    fn chance_percent(&mut self, percent: u64) -> bool {
        self.below(100) < percent
    }
}

struct Client {
    id: u32,
    seq: u64,
    request: Arc<Request>,
    target: NodeId,
    send_at_us: Option<u64>,
    deadline_us: u64,
    results: Vec<OpResult>,
}

impl Client {
    fn done(&self) -> bool {
        self.results.len() as u64 == OPS_PER_CLIENT
    }
}

/// Odd requests touch the client's own key, which no one else writes, so
/// their results are known in advance; even ones touch a key all share.
fn request(client: u32, seq: u64) -> Arc<Request> {
    let key = if seq.is_multiple_of(2) {
        "shared".to_string()
    } else {
        format!("own{client}")
    };
    match seq % 3 {
        0 => get(client, seq, &key),
        1 => put(client, seq, &key, seq as i64),
        _ => cas(client, seq, &key, seq / 2, seq as i64),
    }
}

/// One run; returns when the last operation completed, or a description
/// of what is stuck.
fn run(mode: Mode, nodes: u8, seed: u64) -> Result<u64, String> {
    let mut cluster = Cluster::with_seed(config(nodes, mode), seed);
    let mut rng = Rng(seed.wrapping_mul(0x2545_F491_4F6C_DD1D) | 1);
    let drop_percent = rng.below(30);
    let mut clients: Vec<Client> = (1..=CLIENTS)
        .map(|id| Client {
            id,
            seq: 1,
            request: request(id, 1),
            target: (id % nodes as u32) as NodeId,
            send_at_us: Some(0),
            deadline_us: CLIENT_TIMEOUT_US,
            results: Vec::new(),
        })
        .collect();
    let mut replies_seen = 0;
    let mut next_fault_us = rng.below(300_000);
    let mut healed = false;
    let mut side = vec![false; nodes as usize];
    let mut in_flight: BTreeMap<(u64, u64), Envelope> = BTreeMap::new();
    let mut sequence: u64 = 0;

    for _ in 0..5_000_000 {
        let now_us = cluster.now_us;
        let faulty = now_us < FAULTS_US;
        if !faulty && !healed {
            healed = true;
            for id in 0..nodes {
                cluster.heal(id);
                if cluster.nodes[id as usize].is_none() {
                    cluster.recover(id);
                }
            }
        }

        // Clients read their replies.
        while replies_seen < cluster.replies.len() {
            let (_, client_id, seq, reply) = cluster.replies[replies_seen].clone();
            replies_seen += 1;
            let client = &mut clients[client_id as usize - 1];
            if seq != client.seq || client.done() {
                continue;
            }
            match reply {
                Reply::Done(result) => {
                    client.results.push(result);
                    if !client.done() {
                        client.seq += 1;
                        client.request = request(client.id, client.seq);
                        client.send_at_us = Some(now_us);
                    }
                }
                Reply::Redirect { leader } => {
                    client.target = leader.unwrap_or((client.target + 1) % nodes);
                    client.send_at_us = Some(now_us + CLIENT_BACKOFF_US);
                }
            }
        }
        if clients.iter().all(Client::done) {
            cluster.deliver_all();
            check_agreement(&cluster)?;
            check_results(&clients)?;
            return Ok(cluster.now_us);
        }

        // Messages leave the node's outbox at once and arrive after a
        // delay, so they reorder; while faults last some are lost,
        // duplicated or held back much longer.
        while let Some(envelope) = cluster.network.pop_front() {
            let copies = if faulty && rng.chance_percent(5) {
                2
            } else {
                1
            };
            for _ in 0..copies {
                let slow = faulty && rng.chance_percent(5);
                let delay_us = 100 + rng.below(if slow { 50_000 } else { 2_000 });
                in_flight.insert((now_us + delay_us, sequence), envelope.clone());
                sequence += 1;
            }
        }

        // Then whatever happens next in time: a client send or timeout, a
        // fault, or a node's timer.
        let client_next = clients
            .iter()
            .filter(|c| !c.done())
            .map(|c| c.send_at_us.unwrap_or(c.deadline_us))
            .min()
            .unwrap_or(u64::MAX);
        let fault_next = if faulty { next_fault_us } else { u64::MAX };
        let timer_next = cluster.next_timer();
        let timer_at = timer_next.map_or(u64::MAX, |(at, ..)| at);
        let message_at = in_flight.keys().next().map_or(u64::MAX, |(at, _)| *at);
        let soonest = client_next.min(fault_next).min(timer_at).min(message_at);
        if soonest > FAULTS_US + HEALED_US {
            break;
        }
        if soonest == message_at {
            let (_, envelope) = in_flight.pop_first().unwrap();
            cluster.now_us = cluster.now_us.max(soonest);
            let split = side[envelope.from as usize] != side[envelope.to as usize];
            let lose = faulty && (split || rng.chance_percent(drop_percent));
            cluster.network.push_front(envelope);
            cluster.step_unless(|_| lose);
        } else if soonest == client_next {
            cluster.now_us = cluster.now_us.max(soonest);
            let now_us = cluster.now_us;
            for client in clients.iter_mut().filter(|c| !c.done()) {
                match client.send_at_us {
                    Some(at) if at <= now_us => {}
                    None if client.deadline_us <= now_us => {
                        client.target = (client.target + 1) % nodes;
                    }
                    _ => continue,
                }
                client.send_at_us = None;
                client.deadline_us = now_us + CLIENT_TIMEOUT_US;
                if cluster.nodes[client.target as usize].is_some() {
                    cluster.client(client.target, client.request.clone());
                }
            }
        } else if soonest == fault_next {
            cluster.now_us = cluster.now_us.max(soonest);
            inject_fault(&mut cluster, &mut rng, nodes, &mut side);
            next_fault_us = soonest + 50_000 + rng.below(300_000);
        } else {
            let (at, id, timer) = timer_next.unwrap();
            cluster.fire(at, id, timer);
        }
    }
    Err(describe_stuck(&cluster, &clients))
}

/// Crash or restart a node, cut it off or reconnect it, or split the
/// cluster in two (`side[id]`: messages between sides are lost).
fn inject_fault(cluster: &mut Cluster, rng: &mut Rng, nodes: u8, side: &mut [bool]) {
    let id = rng.below(nodes as u64) as NodeId;
    match rng.below(6) {
        0 if cluster.nodes[id as usize].is_some() => cluster.crash(id),
        0 | 1 if cluster.nodes[id as usize].is_none() => cluster.recover(id),
        2 => cluster.isolate(id),
        3 => side.iter_mut().for_each(|s| *s = rng.chance_percent(50)),
        4 => side.iter_mut().for_each(|s| *s = false),
        _ => cluster.heal(id),
    }
}

/// Exactly-once, seen from the clients: own-key results match a sequential
/// model of that client alone, and the writes to the shared key got the
/// versions 1, 2, 3, ... each once.
fn check_results(clients: &[Client]) -> Result<(), String> {
    let mut shared_versions = Vec::new();
    for client in clients {
        let mut own: Option<(paxos::Value, u64)> = None;
        for (index, result) in client.results.iter().enumerate() {
            let seq = index as u64 + 1;
            if seq.is_multiple_of(2) {
                if let OpResult::Put { version } | OpResult::CasOk { version } = result {
                    shared_versions.push(*version);
                }
                continue;
            }
            let version = own.as_ref().map_or(0, |(_, version)| *version);
            let expected = match seq % 3 {
                0 => OpResult::Get { found: own.clone() },
                1 => {
                    own = Some((value(seq as i64), version + 1));
                    OpResult::Put {
                        version: version + 1,
                    }
                }
                _ if version == seq / 2 => {
                    own = Some((value(seq as i64), version + 1));
                    OpResult::CasOk {
                        version: version + 1,
                    }
                }
                _ => OpResult::CasConflict {
                    current_version: version,
                },
            };
            if *result != expected {
                return Err(format!(
                    "client {} seq {seq}: got {result:?}, expected {expected:?}",
                    client.id
                ));
            }
        }
    }
    shared_versions.sort();
    let expected: Vec<u64> = (1..=shared_versions.len() as u64).collect();
    if shared_versions != expected {
        return Err(format!("shared-key write versions {shared_versions:?}"));
    }
    Ok(())
}

fn check_agreement(cluster: &Cluster) -> Result<(), String> {
    std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| cluster.assert_agreement()))
        .map_err(|_| "replicas disagree".to_string())
}

fn describe_stuck(cluster: &Cluster, clients: &[Client]) -> String {
    let mut text = format!("stuck at {} us\n", cluster.now_us);
    for (id, node) in cluster.nodes.iter().enumerate() {
        let Some(node) = node else {
            text += &format!("  node {id}: down\n");
            continue;
        };
        text += &format!(
            "  node {id}: {} ballot {:?} promised {} applied {} chosen {} queue {} hint {:?} timers {:?}\n",
            node.role_name(),
            node.ballot(),
            node.promised(),
            node.applied_upto(),
            node.durable().chosen.len(),
            node.queue_len(),
            node.leader_hint(),
            cluster.timers[id],
        );
    }
    for client in clients.iter().filter(|c| !c.done()) {
        text += &format!(
            "  client {} waits on seq {} at node {} (send {:?}, deadline {})\n",
            client.id, client.seq, client.target, client.send_at_us, client.deadline_us
        );
    }
    text
}

fn check_mode(mode: Mode) {
    let mut failures = Vec::new();
    let mut finished_after_faults = 0;
    for seed in 0..200 {
        let nodes = [3, 5][seed as usize % 2];
        match run(mode, nodes, seed) {
            Ok(finished_us) => finished_after_faults += (finished_us > FAULTS_US) as u32,
            Err(stuck) => failures.push(format!("{mode:?} nodes={nodes} seed={seed}: {stuck}")),
        }
    }
    assert!(
        failures.is_empty(),
        "{} runs failed:\n{}",
        failures.len(),
        failures.join("\n")
    );
    // The workload must overlap the faults, or this tests nothing.
    assert!(
        finished_after_faults >= 10,
        "{mode:?}: only {finished_after_faults} runs outlasted the faults"
    );
}

#[test]
fn every_operation_completes_after_faults_heal_stable_leader() {
    check_mode(Mode::StableLeader);
}

#[test]
fn every_operation_completes_after_faults_heal_leaderless() {
    check_mode(Mode::Leaderless);
}
