//! Properties over generated inputs.

mod common;

use std::collections::BTreeMap;
use std::sync::Arc;

use common::*;
use paxos::{Ballot, Message, Mode, Node, Op, OpResult, Reply, Request, Timer};
use proptest::prelude::*;

fn any_ballot() -> impl Strategy<Value = Ballot> {
    prop_oneof![
        (0u64..4, 0u8..4).prop_map(|(round, node)| Ballot::new(round, node)),
        (any::<u64>(), any::<u8>()).prop_map(|(round, node)| Ballot::new(round, node)),
    ]
}

proptest! {
    #[test]
    fn ballot_order_is_lexicographic_round_then_node(a in any_ballot(), b in any_ballot()) {
        prop_assert_eq!(a.cmp(&b), (a.round, a.node).cmp(&(b.round, b.node)));
        prop_assert_eq!(a == b, a.round == b.round && a.node == b.node);
        prop_assert_eq!(a.cmp(&b), b.cmp(&a).reverse());
    }

    #[test]
    fn ballot_order_is_total(mut ballots in proptest::collection::vec(any_ballot(), 0..20)) {
        let mut tuples: Vec<(u64, u8)> = ballots.iter().map(|b| (b.round, b.node)).collect();
        ballots.sort();
        tuples.sort();
        let sorted: Vec<(u64, u8)> = ballots.iter().map(|b| (b.round, b.node)).collect();
        prop_assert_eq!(sorted, tuples);
        for pair in ballots.windows(2) {
            prop_assert!(pair[0] <= pair[1]);
        }
    }
}

// ------------------------------------------------------------- acceptor

#[derive(Clone, Debug)]
enum AcceptorInput {
    Prepare {
        from: u8,
        ballot: Ballot,
        from_slot: u64,
    },
    Accept {
        from: u8,
        ballot: Ballot,
        slot: u64,
    },
}

fn small_ballot() -> impl Strategy<Value = Ballot> {
    (0u64..6, 0u8..3).prop_map(|(round, node)| Ballot::new(round, node))
}

fn acceptor_input() -> impl Strategy<Value = AcceptorInput> {
    prop_oneof![
        (0u8..3, small_ballot(), 0u64..4).prop_map(|(from, ballot, from_slot)| {
            AcceptorInput::Prepare {
                from,
                ballot,
                from_slot,
            }
        }),
        (0u8..3, small_ballot(), 0u64..4).prop_map(|(from, ballot, slot)| AcceptorInput::Accept {
            from,
            ballot,
            slot
        }),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    /// Fed any Prepare/Accept sequence, an acceptor never lowers its
    /// promise, accepts exactly the Accepts at or above the promise it held,
    /// refuses the rest, and its disk always agrees with it.
    #[test]
    fn an_acceptor_never_lowers_its_promise_nor_accepts_below_it(
        mode in prop_oneof![Just(Mode::StableLeader), Just(Mode::Leaderless)],
        inputs in proptest::collection::vec(acceptor_input(), 1..40),
    ) {
        let mut solo = Solo::new(config(3, mode), 0);
        for input in inputs {
            let held = solo.node.promised();
            match input {
                AcceptorInput::Prepare { from, ballot, from_slot } => {
                    let out = solo.feed(from, Message::Prepare { ballot, from_slot });
                    prop_assert!(solo.node.promised() >= held, "promise lowered");
                    let sent = sends(&out);
                    prop_assert_eq!(sent.len(), 1);
                    match &sent[0].1 {
                        Message::Promise { ballot: promised, accepted } => {
                            prop_assert!(ballot >= held && ballot > Ballot::ZERO);
                            prop_assert_eq!(*promised, ballot);
                            prop_assert_eq!(solo.node.promised(), ballot);
                            prop_assert!(accepted.iter().all(|e| e.slot >= from_slot));
                            prop_assert!(accepted.iter().all(|e| e.ballot <= ballot));
                        }
                        Message::Nack { promised, .. } => {
                            prop_assert!(ballot < held || ballot == Ballot::ZERO);
                            prop_assert_eq!(*promised, held);
                            prop_assert_eq!(solo.node.promised(), held);
                        }
                        other => prop_assert!(false, "unexpected {:?}", other),
                    }
                }
                AcceptorInput::Accept { from, ballot, slot } => {
                    let command = command(&put(1, slot + 1, "k", 1));
                    let out = solo.feed(from, Message::Accept { ballot, slot, command });
                    prop_assert!(solo.node.promised() >= held, "promise lowered");
                    for (_, message) in sends(&out) {
                        match message {
                            Message::Accepted { ballot: accepted_at, .. } => {
                                prop_assert!(accepted_at >= held, "Accepted below the promise");
                                prop_assert_eq!(accepted_at, ballot);
                                prop_assert_eq!(solo.node.promised(), held.max(ballot));
                                prop_assert_eq!(solo.durable.accepted[&slot].0, ballot);
                            }
                            Message::Nack { promised, .. } => {
                                prop_assert!(ballot < held);
                                prop_assert_eq!(promised, held);
                            }
                            other => prop_assert!(false, "unexpected {:?}", other),
                        }
                    }
                }
            }
            // What the caller persisted is what the node believes.
            prop_assert_eq!(solo.durable.promised, solo.node.promised());
            prop_assert_eq!(solo.durable.accepted.len(), solo.node.durable().accepted.len());
        }
    }
}

// ------------------------------------------------------------ kv model

#[derive(Clone, Debug)]
enum Step {
    /// A new request from `client`.
    Fresh {
        client: u32,
        kind: u8,
        key: u8,
        number: i64,
        expected_version: u64,
    },
    /// `client` sends its last request again.
    Retry { client: u32 },
    /// The node crashes and recovers from its disk.
    Restart,
}

fn step() -> impl Strategy<Value = Step> {
    prop_oneof![
        8 => (0u32..3, 0u8..3, 0u8..3, -5i64..5, 0u64..4).prop_map(
            |(client, kind, key, number, expected_version)| Step::Fresh {
                client, kind, key, number, expected_version
            }
        ),
        2 => (0u32..3).prop_map(|client| Step::Retry { client }),
        1 => Just(Step::Restart),
    ]
}

/// The reference: a plain versioned map, and each client's last answer.
#[derive(Default)]
struct Model {
    entries: BTreeMap<Arc<str>, (paxos::Value, u64)>,
    last: BTreeMap<u32, (Arc<Request>, OpResult)>,
}

impl Model {
    fn execute(&mut self, op: &Op) -> OpResult {
        match op {
            Op::Get { key } => OpResult::Get {
                found: self.entries.get(key).cloned(),
            },
            Op::Put { key, value } => {
                let version = self.entries.get(key).map_or(0, |e| e.1) + 1;
                self.entries.insert(key.clone(), (value.clone(), version));
                OpResult::Put { version }
            }
            Op::Cas {
                key,
                expected_version,
                value,
            } => {
                let current_version = self.entries.get(key).map_or(0, |e| e.1);
                if current_version != *expected_version {
                    return OpResult::CasConflict { current_version };
                }
                self.entries
                    .insert(key.clone(), (value.clone(), current_version + 1));
                OpResult::CasOk {
                    version: current_version + 1,
                }
            }
        }
    }
}

fn lead_if_needed(solo: &mut Solo) {
    if solo.node.config().mode == Mode::StableLeader {
        let out = solo.timer(Timer::Election);
        solo.run_self(out);
        assert!(solo.node.is_leader());
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    /// A 1-node cluster answers any sequence of requests, retries and
    /// restarts exactly as a plain versioned map does.
    #[test]
    fn a_single_node_behaves_like_a_versioned_map(
        mode in prop_oneof![Just(Mode::StableLeader), Just(Mode::Leaderless)],
        steps in proptest::collection::vec(step(), 1..60),
    ) {
        let config = config(1, mode);
        let mut solo = Solo::new(config.clone(), 0);
        lead_if_needed(&mut solo);
        let mut model = Model::default();
        for step in steps {
            let (request, expected) = match step {
                Step::Restart => {
                    let durable = solo.durable.clone();
                    let mut out = Vec::new();
                    solo.node = Node::recover(config.clone(), 0, durable, &mut out);
                    lead_if_needed(&mut solo);
                    continue;
                }
                Step::Retry { client } => match model.last.get(&client) {
                    Some((request, result)) => (request.clone(), result.clone()),
                    None => continue,
                },
                Step::Fresh { client, kind, key, number, expected_version } => {
                    let seq = model.last.get(&client).map_or(0, |(r, _)| r.seq) + 1;
                    let key = format!("key{key}");
                    let request = match kind {
                        0 => put(client, seq, &key, number),
                        1 => get(client, seq, &key),
                        _ => cas(client, seq, &key, expected_version, number),
                    };
                    let result = model.execute(&request.op);
                    model.last.insert(client, (request.clone(), result.clone()));
                    (request, result)
                }
            };
            let out = solo.client(request.clone());
            let out = solo.run_self(out);
            let expected = vec![(request.client, request.seq, Reply::Done(expected))];
            prop_assert_eq!(replies(&out), expected, "{:?}", mode);
            prop_assert_eq!(solo.node.queue_len(), 0);
        }
        let state: Vec<_> = solo.node.kv().entries().map(|(k, v)| (k.clone(), v.clone())).collect();
        let reference: Vec<_> = model.entries.into_iter().collect();
        prop_assert_eq!(state, reference);
    }
}
