//! The proposer's rules: ballots, the value rule, stepping down, redirects.

mod common;

use common::*;
use paxos::{
    AcceptedEntry, Ballot, Command, DurableWrite, Message, Mode, Output, Probe, Reply, Timer,
};

fn promise(ballot: Ballot, accepted: Vec<AcceptedEntry>) -> Message {
    Message::Promise { ballot, accepted }
}

fn entry(slot: u64, ballot: Ballot, command: Command) -> AcceptedEntry {
    AcceptedEntry {
        slot,
        ballot,
        command,
    }
}

#[test]
fn campaign_persists_round_before_prepare_and_ballot_carries_node_id() {
    let mut solo = Solo::new(config(3, Mode::StableLeader), 1);

    let out = solo.timer(Timer::Election);

    let persist_at = position(&out, |o| {
        matches!(o, Output::Persist(DurableWrite::RoundMax(1)))
    })
    .expect("round persisted");
    let prepare_at = position(&out, |o| is_send_kind(o, "Prepare")).expect("Prepare sent");
    assert!(
        persist_at < prepare_at,
        "Persist(RoundMax) must precede the Prepare"
    );
    let targets: Vec<u8> = sends(&out).iter().map(|(to, _)| *to).collect();
    assert_eq!(
        targets,
        vec![0, 1, 2],
        "Prepare goes to every acceptor, itself included"
    );
    assert_eq!(prepare_ballots(&out), vec![ballot(1, 1); 3]);
    assert_eq!(solo.node.ballot(), Some(ballot(1, 1)));
    assert_eq!(solo.durable.round_max, 1);
}

#[test]
fn successive_campaigns_use_strictly_higher_ballots() {
    let mut solo = Solo::new(config(3, Mode::StableLeader), 2);
    let mut previous = Ballot::ZERO;
    for _ in 0..5 {
        let out = solo.timer(Timer::Election);
        let ballots = prepare_ballots(&out);
        assert!(
            !ballots.is_empty(),
            "a candidate whose election timer fires campaigns again"
        );
        let current = ballots[0];
        assert_eq!(current.node, 2);
        assert!(current > previous, "{current} is not above {previous}");
        assert_eq!(solo.durable.round_max, current.round);
        previous = current;
    }
}

#[test]
fn campaign_goes_above_every_round_seen() {
    let mut solo = Solo::new(config(3, Mode::StableLeader), 0);
    solo.feed(
        2,
        Message::Prepare {
            ballot: ballot(7, 2),
            from_slot: 0,
        },
    );
    let out = solo.timer(Timer::Election);
    assert_eq!(prepare_ballots(&out)[0], ballot(8, 0));
}

#[test]
fn a_recovered_node_never_reuses_or_lowers_a_ballot() {
    for mode in Mode::ALL {
        let mut solo = Solo::new(config(3, mode), 1);
        let mut used: Vec<Ballot> = Vec::new();
        for restarts in 0..4 {
            for _ in 0..=restarts {
                let out = match mode {
                    Mode::StableLeader => solo.timer(Timer::Election),
                    // Leaderless: a client request starts the first proposal;
                    // later ones come from a Nack and the backoff timer.
                    Mode::Leaderless => match solo.node.ballot() {
                        None => solo.client(put(1, 1, "k", 1)),
                        Some(own) => {
                            let higher = Ballot::new(own.round, 2);
                            solo.feed(
                                2,
                                Message::Nack {
                                    ballot: own,
                                    promised: higher,
                                },
                            );
                            solo.timer(Timer::Election)
                        }
                    },
                };
                let ballot = prepare_ballots(&out)[0];
                assert!(
                    used.iter().all(|old| ballot > *old),
                    "{mode:?}: ballot {ballot} not above earlier {used:?}"
                );
                used.push(ballot);
            }
            let round_max_before = solo.durable.round_max;
            solo = solo.restart();
            assert!(
                solo.node.ballot().is_none(),
                "a recovered node starts as follower"
            );
            assert_eq!(solo.node.durable().round_max, round_max_before);
        }
    }
}

/// Drive node 0 (3 nodes, stable leader) to a candidate at round 6 with one
/// client command queued, then feed `promises` in order.
fn campaign_with_reports(promises: Vec<(u8, Vec<AcceptedEntry>)>) -> (Solo, Vec<Output>) {
    let mut solo = Solo::new(config(3, Mode::StableLeader), 0);
    solo.feed(
        2,
        Message::Prepare {
            ballot: ballot(5, 2),
            from_slot: 0,
        },
    );
    solo.timer(Timer::Election);
    let own = solo.node.ballot().expect("campaigning");
    assert_eq!(own, ballot(6, 0));
    let out = solo.client(put(1, 1, "own", 100));
    assert!(
        replies(&out).is_empty(),
        "a candidate holds client requests"
    );
    let mut all = Vec::new();
    for (from, accepted) in promises {
        all.extend(solo.feed(from, promise(own, accepted)));
    }
    assert!(solo.node.is_leader());
    (solo, all)
}

fn value_rule_reports() -> [(u8, Vec<AcceptedEntry>); 2] {
    let x = command(&put(7, 1, "a", 1));
    let y = command(&put(8, 1, "a", 2));
    let z = command(&put(9, 1, "b", 3));
    [
        (
            1,
            vec![entry(0, ballot(2, 1), x), entry(2, ballot(4, 2), z)],
        ),
        (2, vec![entry(0, ballot(3, 2), y)]),
    ]
}

fn assert_value_rule(out: &[Output]) {
    let proposed = proposals(out);
    let by_slot: Vec<(u64, String)> = proposed
        .iter()
        .map(|(slot, command)| (*slot, label(command)))
        .collect();
    let expected = [
        (0, "client 8 seq 1"), // the higher-ballot report wins
        (1, "noop"),           // a gap below the highest report
        (2, "client 9 seq 1"), // the only report
        (3, "client 1 seq 1"), // own command, fresh slot only
    ];
    let expected: Vec<(u64, String)> = expected.iter().map(|(s, l)| (*s, l.to_string())).collect();
    assert_eq!(by_slot, expected);
    for slot in 0..4 {
        let targets: Vec<u8> = accepts(out)
            .iter()
            .filter(|(_, b, s, _)| *s == slot && *b == ballot(6, 0))
            .map(|(to, ..)| *to)
            .collect();
        assert_eq!(targets, vec![0, 1, 2], "slot {slot} goes to every acceptor");
    }
    assert!(probes(out).contains(&Probe::AdoptedValue));
}

#[test]
fn value_rule_adopts_highest_ballot_report_lower_first() {
    let (_, out) = campaign_with_reports(value_rule_reports().into_iter().collect());
    assert_value_rule(&out);
}

#[test]
fn value_rule_adopts_highest_ballot_report_higher_first() {
    let (_, out) = campaign_with_reports(value_rule_reports().into_iter().rev().collect());
    assert_value_rule(&out);
}

#[test]
fn without_reports_own_commands_start_at_the_first_unchosen_slot() {
    let (_, out) = campaign_with_reports(vec![(1, vec![]), (2, vec![])]);
    let proposed = proposals(&out);
    assert_eq!(proposed.len(), 1);
    assert_eq!(request_id(&proposed[&0]), Some((1, 1)));
}

#[test]
fn a_promise_for_another_ballot_does_not_count() {
    let mut solo = Solo::new(config(3, Mode::StableLeader), 0);
    solo.timer(Timer::Election);
    solo.feed(1, promise(ballot(0, 0), vec![]));
    solo.feed(2, promise(ballot(9, 2), vec![]));
    assert!(!solo.node.is_leader());
    solo.feed(1, promise(ballot(1, 0), vec![]));
    assert!(!solo.node.is_leader(), "one promise is not a quorum of 2");
    solo.feed(1, promise(ballot(1, 0), vec![]));
    assert!(
        !solo.node.is_leader(),
        "a duplicate promise does not count twice"
    );
    solo.feed(2, promise(ballot(1, 0), vec![]));
    assert!(solo.node.is_leader());
}

fn leader(id: u8) -> Solo {
    let mut solo = Solo::new(config(3, Mode::StableLeader), id);
    solo.timer(Timer::Election);
    let own = solo.node.ballot().unwrap();
    for from in 0..3 {
        solo.feed(from, promise(own, vec![]));
    }
    assert!(solo.node.is_leader());
    solo
}

#[test]
fn a_nack_with_a_higher_ballot_makes_the_leader_step_down() {
    let mut solo = leader(0);
    let own = solo.node.ballot().unwrap();

    // Stale or irrelevant Nacks change nothing.
    solo.feed(
        1,
        Message::Nack {
            ballot: ballot(0, 0),
            promised: ballot(9, 2),
        },
    );
    solo.feed(
        1,
        Message::Nack {
            ballot: own,
            promised: own,
        },
    );
    assert!(solo.node.is_leader());

    solo.feed(
        1,
        Message::Nack {
            ballot: own,
            promised: ballot(9, 2),
        },
    );
    assert!(!solo.node.is_leader());
    assert_eq!(solo.node.ballot(), None);
    assert_eq!(solo.node.role_name(), "follower");

    let out = solo.timer(Timer::Election);
    assert_eq!(
        prepare_ballots(&out)[0],
        ballot(10, 0),
        "next campaign goes above the Nack"
    );
}

#[test]
fn a_leader_steps_down_on_a_higher_heartbeat_and_redirects_its_queue() {
    let mut solo = leader(0);
    let own = solo.node.ballot().unwrap();
    // Fill the in-flight window so the next request waits in the queue.
    for seq in 1..=64 {
        solo.client(put(1, seq, "k", seq as i64));
    }
    assert!(solo.node.queue_len() > 0);
    let higher = Ballot::new(own.round + 1, 2);

    let out = solo.feed(
        2,
        Message::Heartbeat {
            ballot: higher,
            applied_upto: 0,
        },
    );

    assert!(!solo.node.is_leader());
    assert_eq!(solo.node.leader_hint(), Some(2));
    assert_eq!(solo.node.queue_len(), 0, "a follower holds no requests");
    let redirected = replies(&out);
    assert_eq!(redirected.len(), 64, "every held request gets an answer");
    for (_, _, reply) in redirected {
        assert_eq!(reply, Reply::Redirect { leader: Some(2) });
    }
}

#[test]
fn a_leader_steps_down_when_its_acceptor_promises_higher() {
    let mut solo = leader(0);
    let own = solo.node.ballot().unwrap();
    solo.feed(
        1,
        Message::Prepare {
            ballot: Ballot::new(own.round + 1, 1),
            from_slot: 0,
        },
    );
    assert!(!solo.node.is_leader());
}

#[test]
fn a_lower_heartbeat_is_nacked_so_a_stale_leader_learns() {
    let mut solo = Solo::new(config(3, Mode::StableLeader), 1);
    solo.feed(
        2,
        Message::Prepare {
            ballot: ballot(5, 2),
            from_slot: 0,
        },
    );
    let out = solo.feed(
        0,
        Message::Heartbeat {
            ballot: ballot(4, 0),
            applied_upto: 0,
        },
    );
    assert!(
        matches!(&sends(&out)[..], [(0, Message::Nack { ballot: b, promised })]
            if *b == ballot(4, 0) && *promised == ballot(5, 2))
    );
    assert_ne!(solo.node.leader_hint(), Some(0));
}

#[test]
fn stable_followers_redirect_clients_to_the_known_leader() {
    let mut solo = Solo::new(config(3, Mode::StableLeader), 1);
    let out = solo.client(put(1, 1, "k", 1));
    assert_eq!(
        replies(&out),
        vec![(1, 1, Reply::Redirect { leader: None })]
    );
    assert!(sends(&out).is_empty());

    solo.feed(
        2,
        Message::Heartbeat {
            ballot: ballot(1, 2),
            applied_upto: 0,
        },
    );
    let out = solo.client(put(1, 2, "k", 1));
    assert_eq!(
        replies(&out),
        vec![(1, 2, Reply::Redirect { leader: Some(2) })]
    );
    assert_eq!(solo.node.queue_len(), 0);

    // An Accept from a leader also names it.
    solo.feed(
        0,
        Message::Accept {
            ballot: ballot(2, 0),
            slot: 0,
            command: Command::Noop,
        },
    );
    let out = solo.client(put(1, 3, "k", 1));
    assert_eq!(
        replies(&out),
        vec![(1, 3, Reply::Redirect { leader: Some(0) })]
    );
}

#[test]
fn a_candidate_that_loses_redirects_what_it_held() {
    let mut solo = Solo::new(config(3, Mode::StableLeader), 0);
    solo.timer(Timer::Election);
    let own = solo.node.ballot().unwrap();
    solo.client(put(1, 1, "k", 1));
    let out = solo.feed(
        1,
        Message::Nack {
            ballot: own,
            promised: ballot(own.round, 2),
        },
    );
    assert_eq!(
        replies(&out),
        vec![(1, 1, Reply::Redirect { leader: None })]
    );
}

#[test]
fn leaderless_nodes_take_requests_and_back_off_after_a_refusal() {
    let mut solo = Solo::new(config(3, Mode::Leaderless), 1);
    let out = solo.client(put(1, 1, "k", 1));
    assert!(replies(&out).is_empty(), "leaderless nodes never redirect");
    let own = prepare_ballots(&out)[0];
    assert_eq!(own, ballot(1, 1));

    solo.feed(
        2,
        Message::Nack {
            ballot: own,
            promised: ballot(4, 2),
        },
    );
    assert_eq!(solo.node.role_name(), "follower");
    assert_eq!(solo.node.queue_len(), 1, "the request waits for the retry");

    let out = solo.client(put(2, 1, "k", 2));
    assert!(
        prepare_ballots(&out).is_empty(),
        "backing off: no new proposal yet"
    );

    let out = solo.timer(Timer::Election);
    let retry = prepare_ballots(&out);
    assert!(!retry.is_empty(), "the backoff timer retries");
    assert_eq!(retry[0], ballot(5, 1));
}

#[test]
fn leaderless_proposer_retransmits_until_answered() {
    let mut solo = Solo::new(config(3, Mode::Leaderless), 0);
    solo.client(put(1, 1, "k", 1));
    let own = solo.node.ballot().unwrap();
    solo.feed(0, promise(own, vec![]));

    let out = solo.timer(Timer::Retransmit);
    let targets: Vec<u8> = sends(&out).iter().map(|(to, _)| *to).collect();
    assert_eq!(
        targets,
        vec![1, 2],
        "Prepare again to those that did not promise"
    );
    assert_eq!(prepare_ballots(&out), vec![own; 2]);

    solo.feed(1, promise(own, vec![]));
    assert!(solo.node.is_leader());
    solo.feed(
        0,
        Message::Accepted {
            ballot: own,
            slot: 0,
            command: command(&put(1, 1, "k", 1)),
        },
    );
    let out = solo.timer(Timer::Retransmit);
    let resent = accepts(&out);
    let targets: Vec<u8> = resent.iter().map(|(to, ..)| *to).collect();
    assert_eq!(
        targets,
        vec![1, 2],
        "Accept again to those that did not accept"
    );
}

/// The election timer a batch of outputs sets: (delay, jitter).
fn election_timer(out: &[Output]) -> (u64, u64) {
    out.iter()
        .rev()
        .find_map(|output| match output {
            Output::SetTimer {
                timer: Timer::Election,
                delay_us,
                jitter_us,
            } => Some((*delay_us, *jitter_us)),
            _ => None,
        })
        .expect("the batch sets the election timer")
}

#[test]
fn failed_campaigns_back_off_exponentially_up_to_a_cap_and_reset_on_winning() {
    let config = config(3, Mode::StableLeader);
    let timing = config.timing;
    let mut solo = Solo::new(config, 0);
    // Campaign after campaign times out without a quorum of promises.
    let mut delays = Vec::new();
    for _ in 0..8 {
        let fired = solo.timer(Timer::Election);
        let out = solo.run_self(fired);
        let (delay_us, jitter_us) = election_timer(&out);
        assert_eq!(
            delay_us / timing.election_timeout_us,
            jitter_us / timing.election_jitter_us
        );
        delays.push(delay_us / timing.election_timeout_us);
    }
    let cap = 1 << paxos::node::BACKOFF_DOUBLINGS_MAX;
    assert_eq!(delays, vec![1, 2, 4, 8, 16, cap, cap, cap]);
    // Winning resets the backoff: the next loss starts from the bottom.
    let ballot = solo.node.ballot().expect("campaigning");
    let promised = solo.feed(
        1,
        Message::Promise {
            ballot,
            accepted: vec![],
        },
    );
    let out = solo.run_self(promised);
    assert!(solo.node.is_leader(), "{out:?}");
    let higher = Ballot::new(ballot.round + 1, 2);
    let out = solo.feed(
        2,
        Message::Heartbeat {
            ballot: higher,
            applied_upto: 0,
        },
    );
    assert!(!solo.node.is_leader());
    assert_eq!(election_timer(&out).0, timing.election_timeout_us);
}

#[test]
fn a_leaderless_node_fills_a_gap_nobody_else_will() {
    let mut solo = Solo::new(config(3, Mode::Leaderless), 0);
    // Slot 1 is chosen; slot 0 never was (its proposer gave it up).
    let chosen = command(&put(7, 1, "user_profile:1", 1));
    solo.feed(
        1,
        Message::Decide {
            slot: 1,
            command: chosen,
        },
    );
    assert_eq!(solo.node.applied_upto(), 0);
    // One catch-up interval could be a reordering that fills itself...
    let first = solo.timer(Timer::Catchup);
    assert!(prepare_ballots(&first).is_empty(), "{first:?}");
    // ...a second with the same gap is not: run phase 1 from the gap.
    let second = solo.timer(Timer::Catchup);
    let prepares: Vec<_> = sends(&second)
        .into_iter()
        .filter_map(|(_, message)| match message {
            Message::Prepare { from_slot, .. } => Some(from_slot),
            _ => None,
        })
        .collect();
    assert_eq!(prepares, vec![0, 0, 0], "{second:?}");
}

#[test]
fn a_stable_follower_leaves_gaps_to_the_leader() {
    let mut solo = Solo::new(config(3, Mode::StableLeader), 0);
    let chosen = command(&put(7, 1, "user_profile:1", 1));
    solo.feed(
        1,
        Message::Decide {
            slot: 1,
            command: chosen,
        },
    );
    for _ in 0..3 {
        let out = solo.timer(Timer::Catchup);
        assert!(prepare_ballots(&out).is_empty(), "{out:?}");
    }
}

#[test]
fn a_leader_that_hears_no_other_node_steps_down() {
    // Cut off one way: its Accepts and heartbeats still go out, nothing
    // comes back. Followers take its heartbeats as long as it sends them,
    // so it must stop: after LEADER_UNHEARD_RETRANSMITS_MAX retransmits
    // with a proposal outstanding and no Accepted from any other node.
    let mut solo = leader(0);
    solo.client(put(1, 1, "k", 1));
    for tick in 1..=paxos::node::LEADER_UNHEARD_RETRANSMITS_MAX {
        let out = solo.timer(Timer::Retransmit);
        assert!(
            solo.node.is_leader(),
            "still leading after {tick} retransmits"
        );
        assert!(!accepts(&out).is_empty(), "it keeps resending");
    }
    let out = solo.timer(Timer::Retransmit);
    assert!(!solo.node.is_leader(), "it steps down");
    assert!(accepts(&out).is_empty());
    assert_eq!(
        replies(&out),
        vec![(1, 1, Reply::Redirect { leader: None })],
        "its client is sent elsewhere"
    );
    let out = solo.timer(Timer::Heartbeat);
    assert!(sends(&out).is_empty(), "no more heartbeats");
}

#[test]
fn one_accepted_from_another_node_keeps_the_leader() {
    let mut solo = leader(0);
    let own = solo.node.ballot().unwrap();
    solo.client(put(1, 1, "k", 1));
    solo.client(put(1, 2, "k", 2));
    for _ in 0..paxos::node::LEADER_UNHEARD_RETRANSMITS_MAX {
        solo.timer(Timer::Retransmit);
    }
    // One acceptor answers for slot 0: the leader is heard, slot 1 is not
    // decided yet, and the count starts again.
    solo.feed(
        1,
        Message::Accepted {
            ballot: own,
            slot: 0,
            command: command(&put(1, 1, "k", 1)),
        },
    );
    for _ in 0..paxos::node::LEADER_UNHEARD_RETRANSMITS_MAX {
        solo.timer(Timer::Retransmit);
        assert!(solo.node.is_leader());
    }
    // A follower, or a leader with nothing outstanding, never counts.
    let mut idle = leader(1);
    for _ in 0..3 * paxos::node::LEADER_UNHEARD_RETRANSMITS_MAX {
        idle.timer(Timer::Retransmit);
    }
    assert!(idle.node.is_leader());
}
