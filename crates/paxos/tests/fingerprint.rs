//! `Fingerprint`: equal states feed equal streams, different states
//! different ones, and the stream depends on nothing but the state.

use std::collections::hash_map::DefaultHasher;
use std::hash::Hasher;
use std::sync::Arc;

use paxos::{Ballot, Command, Config, Fingerprint, Message, Mode, Node, Op, Request, Value};

fn print(value: &impl Fingerprint) -> u64 {
    let mut hasher = DefaultHasher::new();
    value.fingerprint(&mut hasher);
    hasher.finish()
}

fn node(id: u8) -> Node {
    let config = Arc::new(Config::new(3, Mode::StableLeader));
    Node::new(config, id, &mut Vec::new())
}

fn put(client: u32, seq: u64, text: &str) -> Arc<Request> {
    let value: Value = Arc::new(serde_json::json!(text));
    let key = "user_profile:0".into();
    Arc::new(Request {
        client,
        seq,
        op: Op::Put { key, value },
    })
}

#[test]
fn equal_nodes_have_equal_fingerprints() {
    let one = node(1);
    assert_eq!(print(&one), print(&node(1)));
    assert_eq!(print(&one), print(&one.clone()));
    assert_ne!(print(&one), print(&node(2)), "the id is part of the state");
}

#[test]
fn a_change_of_state_changes_the_fingerprint() {
    let mut one = node(1);
    let before = print(&one);
    let prepare = Message::Prepare {
        ballot: Ballot::new(1, 0),
        from_slot: 0,
    };
    one.handle_message(0, prepare.clone(), &mut Vec::new());
    let promised = print(&one);
    assert_ne!(before, promised);
    // A resent Prepare for the ballot already promised changes nothing.
    one.handle_message(0, prepare, &mut Vec::new());
    assert_eq!(print(&one), promised);
    let accept = Message::Accept {
        ballot: Ballot::new(1, 0),
        slot: 0,
        command: Command::Client(put(0, 1, "a")),
    };
    one.handle_message(0, accept, &mut Vec::new());
    assert_ne!(print(&one), promised);
    assert_ne!(print(one.durable()), print(node(1).durable()));
}

#[test]
fn requests_are_named_by_client_seq_and_shape() {
    // The same request in another allocation is the same command.
    let a = Command::Client(put(0, 1, "a"));
    assert_eq!(print(&a), print(&Command::Client(put(0, 1, "a"))));
    assert_ne!(print(&a), print(&Command::Client(put(0, 2, "a"))));
    assert_ne!(print(&a), print(&Command::Client(put(1, 1, "a"))));
    assert_ne!(print(&a), print(&Command::Noop));
    let messages = [
        Message::Decide {
            slot: 0,
            command: a.clone(),
        },
        Message::Decide {
            slot: 1,
            command: a.clone(),
        },
        Message::Accepted {
            ballot: Ballot::new(1, 0),
            slot: 0,
            command: a,
        },
    ];
    for (index, one) in messages.iter().enumerate() {
        for other in &messages[index + 1..] {
            assert_ne!(print(one), print(other), "{one} vs {other}");
        }
    }
}
