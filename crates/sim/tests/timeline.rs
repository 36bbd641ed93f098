//! Recording a run's timeline (`RunOptions::timeline`): it never alters the
//! run, what it records is well formed, and it agrees with the run's own
//! counters and history, which the driver keeps apart from the recorder.

use paxos::{Flaw, Flaws};
use sim::timeline::{Endpoint, Fate, NodeState, Timeline};
use sim::{Pins, RunOptions, RunReport, SimConfig, Simulation, Verdict};

/// A run, with the timeline recorded or not; with it, the trace is kept
/// too, to count what the counters do not tell apart.
fn run(config: &SimConfig, timeline: bool) -> RunReport {
    let options = RunOptions {
        timeline,
        trace: timeline,
        ..RunOptions::default()
    };
    Simulation::new(config.clone(), options).unwrap().run()
}

fn flawed(flaw: Flaw) -> Pins {
    Pins {
        flaws: Flaws::NONE.with(flaw),
        ..Pins::default()
    }
}

fn count(timeline: &Timeline, keep: impl Fn(&sim::timeline::MessageRecord) -> bool) -> u64 {
    timeline.messages.iter().filter(|m| keep(m)).count() as u64
}

/// The timeline agrees with the counters and the history of its run.
fn assert_agrees(what: &str, timeline: &Timeline, report: &RunReport) {
    assert_eq!(timeline.validate(), Ok(()), "{what}");
    assert_eq!(
        timeline.truncated, None,
        "{what}: a small run is kept whole"
    );
    let counters = &report.counters;
    assert_eq!(timeline.events, report.events, "{what}");
    assert_eq!(timeline.end_us, report.time_us, "{what}");
    assert_eq!(
        timeline.messages.len() as u64,
        counters.messages_sent + counters.messages_duplicated,
        "{what}: every message put on the network, and every copy"
    );
    let is_node = |endpoint: Endpoint| matches!(endpoint, Endpoint::Node(_));
    let between_nodes = |m: &sim::timeline::MessageRecord| is_node(m.from) && is_node(m.to);
    // The counters count a node's messages to itself, which never touch the
    // network and are not drawn: the trace tells them apart.
    let from_itself = (report.trace.iter())
        .filter(|line| line.event == "recv")
        .filter(|line| {
            line.detail
                .ends_with(&format!("<- n{}", line.node.unwrap()))
        })
        .count() as u64;
    // Likewise a message to itself that a crash beat to its handling (a
    // crash triggered by the send, between a broadcast and its delivery to
    // the sender).
    let lost_from_itself = (report.trace.iter())
        .filter(|line| line.event == "lost")
        .filter(|line| {
            line.detail
                .ends_with(&format!(" from n{}: node down", line.node.unwrap()))
        })
        .count() as u64;
    // The heal core keeps nodes out behind a cut of its own, which the page
    // draws as a partition and the counters do not count as one.
    let kept_out_by_a_cut = u64::from(report.heal_core.as_ref().is_some_and(|core| {
        !core.excluded.is_empty()
            && matches!(
                core.how,
                sim::heal::Exclusion::Cut | sim::heal::Exclusion::CutOneWay
            )
    }));
    // Likewise a running node the heal keeps out paused: a span from the
    // heal on, not a pause of the random plan.
    let kept_out_paused = match &report.heal_core {
        Some(core) if core.how == sim::heal::Exclusion::Paused => (timeline.node_spans.iter())
            .filter(|span| {
                span.state == NodeState::Paused
                    && Some(span.start_us) == report.heal_us
                    && core.excluded.contains(&span.node)
            })
            .count() as u64,
        _ => 0,
    };
    let checks = [
        (
            "dropped",
            count(timeline, |m| m.fate == Fate::Dropped),
            counters.messages_dropped,
        ),
        (
            "blocked",
            count(timeline, |m| m.fate == Fate::Blocked),
            counters.messages_blocked,
        ),
        (
            "duplicated",
            count(timeline, |m| m.duplicate),
            counters.messages_duplicated,
        ),
        (
            "delivered between nodes",
            count(timeline, |m| m.fate == Fate::Delivered && between_nodes(m)),
            counters.messages_delivered - from_itself,
        ),
        (
            "lost on arrival at a crashed node",
            count(timeline, |m| {
                m.fate == Fate::LostToCrash && m.arrive_us.is_none()
            }),
            counters.messages_lost_to_crash - lost_from_itself,
        ),
        (
            "timers",
            timeline.timers.len() as u64,
            counters.timers_fired,
        ),
        (
            "partitions",
            timeline.partitions.len() as u64,
            counters.partitions + kept_out_by_a_cut,
        ),
        (
            "chosen slots",
            timeline.chosen.len() as u64,
            counters.slots_chosen,
        ),
        (
            "crashes",
            timeline
                .node_spans
                .iter()
                .filter(|s| s.state == NodeState::Crashed)
                .count() as u64,
            counters.crashes,
        ),
        (
            "pauses",
            timeline
                .node_spans
                .iter()
                .filter(|s| s.state == NodeState::Paused)
                .count() as u64,
            counters.pauses + kept_out_paused,
        ),
        (
            "operations",
            timeline.operations.len() as u64,
            report.history.ops.len() as u64,
        ),
        (
            "attempts",
            timeline
                .operations
                .iter()
                .map(|op| op.attempts.len() as u64)
                .sum(),
            counters.client_requests,
        ),
    ];
    for (name, recorded, counted) in checks {
        assert_eq!(recorded, counted, "{what}: {name}");
    }
    for (op, record) in timeline.operations.iter().zip(&report.history.ops) {
        assert_eq!(
            (op.client, op.seq, op.invoke_us),
            (record.client, record.seq, record.invoke_us)
        );
        assert_eq!(
            op.complete_us,
            record.complete.as_ref().map(|(time_us, _)| *time_us)
        );
        assert!(
            !op.attempts.is_empty(),
            "{what}: every operation sent a request"
        );
    }
    match &report.verdict {
        Verdict::Violation(violation) => {
            let mark = timeline
                .violation
                .as_ref()
                .expect("the violation is marked");
            assert_eq!(mark.invariant, violation.invariant.name(), "{what}");
            assert_eq!(mark.text, violation.to_string(), "{what}");
        }
        _ => assert!(timeline.violation.is_none(), "{what}"),
    }
}

#[test]
fn recording_never_changes_a_run_and_agrees_with_it() {
    let mut held = 0;
    let mut lost_in_backlog = 0;
    for seed in 0..120 {
        let config = SimConfig::draw(seed, &Pins::default());
        if config.validate().is_err() {
            continue; // refused as expected: unsafe quorums, nothing runs
        }
        let (off, on) = (run(&config, false), run(&config, true));
        assert!(off.timeline.is_none(), "off by default");
        assert_eq!(
            (off.digest, off.events, off.verdict.label()),
            (on.digest, on.events, on.verdict.label()),
            "seed {seed}: the recording altered the run"
        );
        let timeline = on.timeline.as_ref().expect("recorded");
        assert_agrees(&format!("seed {seed}"), timeline, &on);
        held += count(timeline, |m| m.arrive_us.is_some());
        lost_in_backlog += count(timeline, |m| {
            m.fate == Fate::LostToCrash && m.arrive_us.is_some()
        });
    }
    // The swarm pauses nodes: messages wait in backlogs, some lost to a crash.
    assert!(held > 50, "{held} messages held by paused nodes");
    assert!(lost_in_backlog > 0, "no backlog lost to a crash");
}

#[test]
fn a_safety_violation_marks_the_message_whose_handling_broke_it() {
    // These flaws break a safety invariant while a node handles a message:
    // from another node (drawn, and marked), or from itself (a node's
    // messages to itself are not drawn).
    let mut marked = 0;
    let flaws = [
        Flaw::BallotWithoutNodeId,
        Flaw::AcceptBelowPromise,
        Flaw::DoubleCountVotes,
        Flaw::LearnAcrossBallots,
    ];
    for (flaw, seed) in flaws
        .into_iter()
        .flat_map(|flaw| (0..6).map(move |seed| (flaw, seed)))
    {
        let config = SimConfig::draw(seed, &flawed(flaw));
        let (off, on) = (run(&config, false), run(&config, true));
        assert_eq!(
            (off.digest, off.events),
            (on.digest, on.events),
            "{flaw} seed {seed}"
        );
        let timeline = on.timeline.as_ref().unwrap();
        assert_agrees(&format!("{flaw} seed {seed}"), timeline, &on);
        let Some(mark) = &timeline.violation else {
            continue;
        };
        let handled = (on.trace.iter())
            .find(|line| {
                line.index == mark.event && ["recv", "request", "reply"].contains(&line.event)
            })
            .expect("these violations happen while a message is handled");
        match mark.message {
            Some(id) => {
                let message = &timeline.messages[id as usize];
                assert_eq!(message.receive_us, Some(mark.time_us), "{flaw} seed {seed}");
                assert_eq!(message.fate, Fate::Delivered, "{flaw} seed {seed}");
                assert_eq!(
                    handled.detail,
                    message.text.clone()
                        + &format!(
                            " <- n{}",
                            match message.from {
                                Endpoint::Node(node) => node,
                                Endpoint::Client(_) =>
                                    unreachable!("an acceptor handles an Accept"),
                            }
                        ),
                    "{flaw} seed {seed}: the marked message is the one handled"
                );
                marked += 1;
            }
            None => {
                let node = handled.node.unwrap();
                assert!(
                    handled.detail.ends_with(&format!("<- n{node}")),
                    "{flaw} seed {seed}: {handled}"
                );
            }
        }
    }
    assert!(
        marked >= 3,
        "only {marked} violations handled a message from another node"
    );
}

#[test]
fn a_linearizability_failure_carries_what_the_search_found() {
    let pins = flawed(Flaw::NoClientDedup);
    let seed = (0..50)
        .find(|seed| {
            let report = sim::run(SimConfig::draw(*seed, &pins)).unwrap();
            report.verdict.label() == "linearizability"
        })
        .expect("no-client-dedup breaks linearizability within 50 seeds");
    let config = SimConfig::draw(seed, &pins);
    let report = run(&config, true);
    let timeline = report.timeline.as_ref().unwrap();
    assert_agrees(&format!("no-client-dedup seed {seed}"), timeline, &report);
    let Verdict::Violation(violation) = &report.verdict else {
        unreachable!()
    };
    let failure = timeline.linearizability.as_ref().expect("drawn");
    assert_eq!(Some(&failure.key), violation.key.as_ref());
    let on_key = (report.history.ops.iter())
        .filter(|op| op.op.key().as_ref() == failure.key)
        .count();
    assert_eq!(failure.ops.len(), on_key);
    assert_eq!(failure.prefix_states.len(), failure.prefix.len());
    let unplaceable = failure.unplaceable.expect("blamed");
    assert_eq!(violation.ops.first(), Some(&(unplaceable as usize)));
    let mark = timeline.violation.as_ref().unwrap();
    assert!(mark.ops.contains(&unplaceable));
    assert!(
        !mark.text.contains("Some(") && !mark.text.contains("Object {"),
        "values are JSON: {}",
        mark.text
    );
}
