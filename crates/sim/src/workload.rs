//! Simulated clients and the history they record.
//!
//! Each client issues one operation at a time: Put, Get or Cas on a small
//! key set (contention is the point), with think time between operations.
//! A request that goes unanswered for `request_timeout_us` is retried on
//! another node with the same sequence number; a redirect is followed at
//! once. During the chaos phase a client gives up after `attempts_max`
//! attempts and records the outcome as unknown (the operation is
//! *abandoned*); in the heal phase it keeps trying, and the liveness
//! checker holds it to a bound. After its first `ops_per_client`
//! operations a client waits for the heal phase and issues
//! `heal_ops_per_client` more, so that liveness is asked of every client
//! whatever the chaos phase did to its first ones.

use std::collections::BTreeMap;
use std::sync::Arc;

use rand::RngExt;
use rand_chacha::ChaCha8Rng;
use serde_json::json;

use paxos::{ClientId, Key, NodeId, Op, OpResult, Request, Value};

use crate::config::{ScriptedOp, WorkloadConfig};
use crate::rng::{self, between};

const NAMES: [&str; 8] = [
    "Alice", "Bob", "Carol", "Dave", "Erin", "Frank", "Grace", "Heidi",
];

/// One client operation as the client saw it.
#[derive(Clone, Debug)]
pub struct OpRecord {
    pub client: ClientId,
    pub seq: u64,
    pub op: Op,
    pub invoke_us: u64,
    /// `None`: never answered; it may or may not have taken effect.
    pub complete: Option<(u64, OpResult)>,
    pub attempts: u32,
}

/// Every operation of a run, in invocation order.
#[derive(Clone, Debug, Default)]
pub struct History {
    pub ops: Vec<OpRecord>,
}

impl History {
    pub fn pending(&self) -> impl Iterator<Item = &OpRecord> {
        self.ops.iter().filter(|op| op.complete.is_none())
    }
}

/// What a client wants the simulator to do next.
#[derive(Clone, Debug)]
pub enum ClientEffect {
    /// Send `request` to `node` and time out after `timeout_us` (tagged `attempt`).
    Send {
        node: NodeId,
        request: Arc<Request>,
        attempt: u32,
        timeout_us: u64,
    },
    /// Wake the client again after `delay_us` to issue its next operation.
    Think { delay_us: u64 },
    /// The client's next operation waits for the heal phase; it is woken
    /// when the heal begins ([`Workload::on_heal`]).
    AwaitHeal,
    /// The client has issued and settled all its operations.
    Done,
}

#[derive(Clone, Debug)]
enum State {
    Idle,
    Waiting {
        history_index: usize,
        request: Arc<Request>,
        attempt: u32,
        redirects: u32,
        /// The think time after this operation settles, drawn with it.
        think_after_us: u64,
    },
    /// Its chaos-phase operations are done; the next waits for the heal.
    AwaitingHeal,
    Done,
}

pub struct Client {
    id: ClientId,
    stream: ClientStream,
    /// The think time before the first operation, drawn when the stream opens.
    first_think_us: Option<u64>,
    ops_issued: u32,
    /// Where the next request goes: the last node that answered, or the
    /// leader a redirect named.
    target: NodeId,
    /// Where a timeout sends the request next: one step on round the
    /// cluster per timeout, whatever redirects did meanwhile, so that two
    /// nodes cut off together (one redirecting to the other) cannot hold a
    /// client forever.
    rotation: NodeId,
    state: State,
    /// The last version this client saw per key; Cas expects it.
    versions_seen: BTreeMap<u32, u64>,
}

/// The clients of a run and their shared history.
pub struct Workload {
    config: WorkloadConfig,
    nodes: u8,
    keys: Vec<Key>,
    pub clients: Vec<Client>,
    pub history: History,
    /// The heal phase has begun: clients no longer give up, and their
    /// heal-phase operations may start.
    healing: bool,
    /// Operations given up on (their outcome unknown).
    pub abandoned: u64,
    /// Written values are [`plain_value`]s, not drawn documents: a run
    /// that follows a schedule names messages by their text, which the
    /// explorer wrote with these values.
    pub(crate) plain_values: bool,
}

impl Workload {
    pub fn new(seed: u64, config: WorkloadConfig, nodes: u8) -> Workload {
        let keys = (0..config.keys)
            .map(|key| Key::from(format!("user_profile:{key}")))
            .collect();
        let clients = (0..config.clients)
            .map(|id| {
                let (stream, opening) = ClientStream::open(seed, id, nodes, config.think_us_max);
                Client {
                    id,
                    stream,
                    first_think_us: Some(opening.think_us),
                    ops_issued: 0,
                    target: opening.target,
                    rotation: opening.target,
                    state: State::Idle,
                    versions_seen: BTreeMap::new(),
                }
            })
            .collect();
        Workload {
            config,
            nodes,
            keys,
            clients,
            history: History::default(),
            healing: false,
            abandoned: 0,
            plain_values: false,
        }
    }

    /// Send client `client`'s next request, or resend after a timeout,
    /// to `node`: a schedule names where each one goes. After a timeout
    /// the client moves one past its rotation, so the rotation is set one
    /// before `node` for that.
    pub(crate) fn aim(&mut self, client: ClientId, node: NodeId, timeout: bool) {
        let c = &mut self.clients[client as usize];
        c.target = node;
        c.rotation = if timeout {
            (node + self.nodes - 1) % self.nodes
        } else {
            node
        };
    }

    /// Every client finished its operations.
    pub fn done(&self) -> bool {
        self.clients
            .iter()
            .all(|client| matches!(client.state, State::Done))
    }

    /// Every client finished its chaos-phase operations: each is done or
    /// waits for the heal phase.
    pub fn chaos_done(&self) -> bool {
        self.clients
            .iter()
            .all(|client| matches!(client.state, State::Done | State::AwaitingHeal))
    }

    /// The heal phase begins: from now on clients persist, and those that
    /// wait for it are returned, in id order, to be woken now.
    pub fn on_heal(&mut self) -> Vec<ClientId> {
        assert!(!self.healing, "the heal phase begins once");
        self.healing = true;
        let mut waiting = Vec::new();
        for client in &mut self.clients {
            if matches!(client.state, State::AwaitingHeal) {
                client.state = State::Idle;
                waiting.push(client.id);
            }
        }
        waiting
    }

    /// How many operations client `client` runs in all, and whether its
    /// `index`th (from 0) waits for the heal phase.
    fn plan_of(&self, client: ClientId, index: usize) -> (usize, bool) {
        match self.config.scripts.get(client as usize) {
            Some(script) => (
                script.len(),
                script.get(index).is_some_and(ScriptedOp::after_heal),
            ),
            None => {
                let chaos = self.config.ops_per_client as usize;
                let total = chaos + self.config.heal_ops_per_client as usize;
                (total, index >= chaos)
            }
        }
    }

    /// The client's first think time. Called once per client.
    pub fn start(&mut self, client: ClientId) -> ClientEffect {
        let c = &mut self.clients[client as usize];
        ClientEffect::Think {
            delay_us: c.first_think_us.take().expect("a client is started once"),
        }
    }

    /// The client wakes: issue the next operation, wait for the heal
    /// phase, or finish.
    pub fn issue(&mut self, client: ClientId, now_us: u64) -> ClientEffect {
        let issued = self.clients[client as usize].ops_issued as usize;
        let (ops_total, after_heal) = self.plan_of(client, issued);
        let healing = self.healing;
        let c = &mut self.clients[client as usize];
        assert!(
            matches!(c.state, State::Idle),
            "client {client} issued while busy"
        );
        if issued == ops_total {
            c.state = State::Done;
            return ClientEffect::Done;
        }
        // The heal first: a held-back time is checked once it has begun,
        // so a materialized heal-phase operation wakes when a drawn one does.
        if after_heal && !healing {
            c.state = State::AwaitingHeal;
            return ClientEffect::AwaitHeal;
        }
        let script = self.config.scripts.get(client as usize);
        let at_us = script.and_then(|script| script[issued].at_us());
        if let Some(at_us) = at_us
            && at_us > now_us
        {
            return ClientEffect::Think {
                delay_us: at_us - now_us,
            };
        }
        c.ops_issued += 1;
        let seq = u64::from(c.ops_issued);
        // Draw the same numbers whether or not a script decides the
        // operation, so a materialized script replays the drawn run exactly.
        let drawn = c
            .stream
            .operation(self.keys.len(), self.config.think_us_max);
        let op = match script {
            Some(script) => scripted_op(
                &script[c.ops_issued as usize - 1],
                &self.keys,
                &c.versions_seen,
                (!self.plain_values).then_some(drawn.name),
                client,
                seq,
            ),
            None => drawn.op(&self.config, &self.keys, &c.versions_seen, client, seq),
        };
        let request = Arc::new(Request { client, seq, op });
        let history_index = self.history.ops.len();
        self.history.ops.push(OpRecord {
            client,
            seq,
            op: request.op.clone(),
            invoke_us: now_us,
            complete: None,
            attempts: 1,
        });
        c.state = State::Waiting {
            history_index,
            request: request.clone(),
            attempt: 1,
            redirects: 0,
            think_after_us: drawn.think_after_us,
        };
        ClientEffect::Send {
            node: c.target,
            request,
            attempt: 1,
            timeout_us: self.config.request_timeout_us,
        }
    }

    /// A reply reached the client. Stale replies (another seq) are ignored.
    pub fn on_reply(
        &mut self,
        client: ClientId,
        seq: u64,
        reply: paxos::Reply,
        now_us: u64,
    ) -> Option<ClientEffect> {
        let nodes = self.nodes;
        let c = &mut self.clients[client as usize];
        let State::Waiting {
            history_index,
            request,
            attempt,
            redirects,
            think_after_us,
        } = &mut c.state
        else {
            return None;
        };
        if request.seq != seq {
            return None;
        }
        match reply {
            paxos::Reply::Done(result) => {
                let record = &mut self.history.ops[*history_index];
                assert!(record.complete.is_none(), "operation completed twice");
                record.complete = Some((now_us, result.clone()));
                let key_index = key_index(request.op.key());
                if let Some(version) = result_version(&result) {
                    c.versions_seen.insert(key_index, version);
                }
                let delay_us = *think_after_us;
                c.state = State::Idle;
                Some(ClientEffect::Think { delay_us })
            }
            paxos::Reply::Redirect { leader } => {
                // Follow a hint at once, but not around a loop forever: past
                // a few redirects, wait for the timeout instead.
                *redirects += 1;
                if *redirects > 2 * u32::from(nodes) {
                    return None;
                }
                c.target = match leader {
                    Some(leader) if leader != c.target => leader,
                    _ => (c.target + 1) % nodes,
                };
                Some(ClientEffect::Send {
                    node: c.target,
                    request: request.clone(),
                    attempt: *attempt,
                    timeout_us: self.config.request_timeout_us,
                })
            }
        }
    }

    /// The client's timer for `attempt` of `seq` fired.
    pub fn on_timeout(
        &mut self,
        client: ClientId,
        seq: u64,
        attempt_fired: u32,
    ) -> Option<ClientEffect> {
        let attempts_max = self.config.attempts_max;
        let patient = self.healing;
        let nodes = self.nodes;
        let c = &mut self.clients[client as usize];
        let State::Waiting {
            history_index,
            request,
            attempt,
            redirects,
            think_after_us,
        } = &mut c.state
        else {
            return None;
        };
        if request.seq != seq || *attempt != attempt_fired {
            return None;
        }
        if !patient && *attempt >= attempts_max {
            // Give up: the outcome stays unknown in the history.
            let delay_us = *think_after_us;
            c.state = State::Idle;
            self.abandoned += 1;
            return Some(ClientEffect::Think { delay_us });
        }
        *attempt += 1;
        *redirects = 0;
        self.history.ops[*history_index].attempts = *attempt;
        c.rotation = (c.rotation + 1) % nodes;
        c.target = c.rotation;
        Some(ClientEffect::Send {
            node: c.target,
            request: request.clone(),
            attempt: *attempt,
            timeout_us: self.config.request_timeout_us,
        })
    }

    /// When the longest-waiting outstanding operation was invoked.
    pub fn oldest_outstanding_us(&self) -> Option<u64> {
        self.clients
            .iter()
            .filter_map(|client| match &client.state {
                State::Waiting { history_index, .. } => {
                    Some(self.history.ops[*history_index].invoke_us)
                }
                _ => None,
            })
            .min()
    }

    /// Clients still waiting for an answer, with their request.
    pub fn outstanding(&self) -> Vec<(ClientId, u64, u32)> {
        self.clients
            .iter()
            .filter_map(|client| match &client.state {
                State::Waiting {
                    request, attempt, ..
                } => Some((client.id, request.seq, *attempt)),
                _ => None,
            })
            .collect()
    }
}

fn scripted_op(
    scripted: &ScriptedOp,
    keys: &[Key],
    versions_seen: &BTreeMap<u32, u64>,
    name: Option<&str>,
    client: ClientId,
    seq: u64,
) -> Op {
    let value = || match name {
        Some(name) => document(name, client, seq),
        None => plain_value(client, seq),
    };
    let key_index = scripted.key();
    let key = keys[key_index as usize].clone();
    match scripted {
        ScriptedOp::Put { .. } => Op::Put {
            key,
            value: value(),
        },
        ScriptedOp::Get { .. } => Op::Get { key },
        ScriptedOp::Cas {
            expected_version, ..
        } => Op::Cas {
            key,
            expected_version: expected_version
                .unwrap_or_else(|| versions_seen.get(&key_index).copied().unwrap_or(0)),
            value: value(),
        },
    }
}

/// The value client `client` writes in its operation `seq` when values are
/// plain: `"c0#1"`, unique per pair. The explorer's clients write these.
pub fn plain_value(client: ClientId, seq: u64) -> Value {
    Arc::new(json!(format!("c{client}#{seq}")))
}

/// A value shaped like the motivating example, unique per `(client, seq)`.
fn document(name: &str, client: ClientId, seq: u64) -> Value {
    Arc::new(json!({
        "name": name,
        "email": format!("{}.{client}.{seq}@example.com", name.to_lowercase()),
    }))
}

/// Every client's whole script: the operations `history` shows it issued
/// (at the time it issued them, a Cas with the version it really expected),
/// then the ones it would have issued had the run gone on, drawn from the
/// client's stream exactly as a drawing client draws them (a Cas then
/// expects the last version the client saw, as a drawing client's does).
/// A drawing client's heal-phase operations are marked `after_heal`, as a
/// given script's keep their marks.
pub fn scripts_of(
    seed: u64,
    config: &WorkloadConfig,
    nodes: u8,
    history: &History,
) -> Vec<Vec<ScriptedOp>> {
    let mut scripts: Vec<Vec<ScriptedOp>> = vec![Vec::new(); config.clients as usize];
    let after_heal = |client: usize, index: usize| match config.scripts.get(client) {
        Some(given) => given[index].after_heal(),
        None => index >= config.ops_per_client as usize,
    };
    for record in &history.ops {
        let key = key_index(record.op.key());
        let at_us = Some(record.invoke_us);
        let client = record.client as usize;
        let after_heal = after_heal(client, scripts[client].len());
        let op = match &record.op {
            Op::Put { .. } => ScriptedOp::Put {
                key,
                at_us,
                after_heal,
            },
            Op::Get { .. } => ScriptedOp::Get {
                key,
                at_us,
                after_heal,
            },
            Op::Cas {
                expected_version, ..
            } => ScriptedOp::Cas {
                key,
                expected_version: Some(*expected_version),
                at_us,
                after_heal,
            },
        };
        scripts[client].push(op);
    }
    for (client, script) in scripts.iter_mut().enumerate() {
        let issued = script.len();
        if let Some(given) = config.scripts.get(client) {
            script.extend(given.iter().skip(issued).cloned());
            continue;
        }
        // Replay the client's stream through the same draws a live client makes.
        let (mut stream, _) =
            ClientStream::open(seed, client as ClientId, nodes, config.think_us_max);
        let chaos = config.ops_per_client as usize;
        for index in 0..chaos + config.heal_ops_per_client as usize {
            let drawn = stream.operation(config.keys as usize, config.think_us_max);
            if index >= issued {
                script.push(drawn.scripted(config, index >= chaos));
            }
        }
    }
    scripts
}

/// One client's private random stream, and the only code that draws from
/// it: the order of draws is defined here once, for the live client
/// ([`Workload`]) and for [`scripts_of`], which must replay it exactly.
/// Opening the stream draws the first target node and the first think
/// time; then each [`ClientStream::operation`] draws one operation's numbers
/// and the think time that follows it. A live client draws that think time
/// at issue, before the operation settles; nothing else reads the stream in
/// between, so the numbers are the same as drawing it on settling.
struct ClientStream {
    rng: ChaCha8Rng,
}

/// The draws that open a client's stream.
struct Opening {
    target: NodeId,
    think_us: u64,
}

impl ClientStream {
    fn open(seed: u64, client: ClientId, nodes: u8, think_us_max: u64) -> (ClientStream, Opening) {
        let mut rng = rng::client_stream(seed, client);
        let target = between(&mut rng, 0, u64::from(nodes) - 1) as NodeId;
        let think_us = between(&mut rng, 0, think_us_max);
        (ClientStream { rng }, Opening { target, think_us })
    }

    /// The next operation's draws, in their fixed order.
    fn operation(&mut self, keys: usize, think_us_max: u64) -> Drawn {
        let rng = &mut self.rng;
        let key = between(rng, 0, keys as u64 - 1) as u32;
        let roll = rng.random_range(0..crate::rng::PPM_ONE);
        let name = NAMES[between(rng, 0, NAMES.len() as u64 - 1) as usize];
        let think_after_us = between(rng, 0, think_us_max);
        Drawn {
            key,
            roll,
            name,
            think_after_us,
        }
    }
}

/// The random numbers behind one operation.
struct Drawn {
    key: u32,
    roll: crate::rng::Ppm,
    name: &'static str,
    /// The client's think time once the operation settles.
    think_after_us: u64,
}

impl Drawn {
    fn scripted(&self, config: &WorkloadConfig, after_heal: bool) -> ScriptedOp {
        let key = self.key;
        let at_us = None;
        if self.roll < config.mix.put_ppm {
            ScriptedOp::Put {
                key,
                at_us,
                after_heal,
            }
        } else if self.roll < config.mix.put_ppm + config.mix.get_ppm {
            ScriptedOp::Get {
                key,
                at_us,
                after_heal,
            }
        } else {
            ScriptedOp::Cas {
                key,
                expected_version: None,
                at_us,
                after_heal,
            }
        }
    }

    fn op(
        &self,
        config: &WorkloadConfig,
        keys: &[Key],
        versions_seen: &BTreeMap<u32, u64>,
        client: ClientId,
        seq: u64,
    ) -> Op {
        let key = keys[self.key as usize].clone();
        let value = || document(self.name, client, seq);
        if self.roll < config.mix.put_ppm {
            Op::Put {
                key,
                value: value(),
            }
        } else if self.roll < config.mix.put_ppm + config.mix.get_ppm {
            Op::Get { key }
        } else {
            let expected_version = versions_seen.get(&self.key).copied().unwrap_or(0);
            Op::Cas {
                key,
                expected_version,
                value: value(),
            }
        }
    }
}

/// `user_profile:N` -> N.
pub fn key_index(key: &str) -> u32 {
    key.rsplit(':')
        .next()
        .and_then(|index| index.parse().ok())
        .expect("workload keys are user_profile:N")
}

fn result_version(result: &OpResult) -> Option<u64> {
    match result {
        OpResult::Put { version } | OpResult::CasOk { version } => Some(*version),
        OpResult::Get { found } => Some(found.as_ref().map_or(0, |(_, version)| *version)),
        OpResult::CasConflict { current_version } => Some(*current_version),
    }
}
