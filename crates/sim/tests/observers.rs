//! The observation hook: checkers of your own see every event and every
//! node's state, and the trace can be streamed instead of kept.

use std::cell::RefCell;
use std::collections::BTreeMap;
use std::rc::Rc;

use paxos::{Ballot, Mode};
use sim::{Invariant, Pins, RunOptions, SimConfig, Simulation, TraceEvent, Verdict};

fn config(seed: u64) -> SimConfig {
    let pins = Pins {
        nodes: Some(5),
        mode: Some(Mode::StableLeader),
        quorum_phase1: Some(3),
        quorum_phase2: Some(3),
        ..Pins::default()
    };
    SimConfig::draw(seed, &pins)
}

#[test]
fn an_observer_sees_every_event_and_every_node() {
    let seen = Rc::new(RefCell::new((0u64, 0u64)));
    let counter = seen.clone();
    let report = Simulation::new(config(3), RunOptions::default())
        .unwrap()
        .observe(Box::new(move |view| {
            let mut seen = counter.borrow_mut();
            assert_eq!(
                view.index, seen.0,
                "observers see events in order, once each"
            );
            seen.0 += 1;
            seen.1 += (0..view.nodes())
                .filter(|id| view.node_state(*id).is_some())
                .count() as u64;
            Ok(())
        }))
        .run();
    assert_eq!(report.verdict, Verdict::Pass);
    let (events, node_reads) = *seen.borrow();
    assert_eq!(events, report.events);
    assert!(node_reads >= events, "node states were readable");
}

#[test]
fn a_custom_checker_can_hold_a_property_across_the_run() {
    // At most one leader per ballot: a property the built-in checkers imply
    // but do not state, written as an observer over node state.
    let violations = (0..40u64)
        .map(|seed| {
            Simulation::new(config(seed), RunOptions::default())
                .unwrap()
                .observe(Box::new(|view| {
                    let mut leaders: BTreeMap<Ballot, u8> = BTreeMap::new();
                    for id in 0..view.nodes() {
                        let Some(node) = view.node_state(id) else {
                            continue;
                        };
                        if let (true, Some(ballot)) = (node.is_leader(), node.ballot())
                            && let Some(other) = leaders.insert(ballot, id)
                        {
                            return Err(format!("n{other} and n{id} both lead {ballot}"));
                        }
                    }
                    Ok(())
                }))
                .run()
                .verdict
        })
        .filter(|verdict| !verdict.is_pass())
        .count();
    assert_eq!(violations, 0);
}

#[test]
fn an_observer_error_stops_the_run_as_a_violation() {
    let report = Simulation::new(config(1), RunOptions::default())
        .unwrap()
        .observe(Box::new(|view| {
            if view.index == 100 {
                Err("planted at event 100".into())
            } else {
                Ok(())
            }
        }))
        .run();
    let Verdict::Violation(violation) = report.verdict else {
        panic!("{:?}", report.verdict);
    };
    assert_eq!(violation.invariant, Invariant::Observer);
    assert_eq!(violation.event, 100);
    assert_eq!(violation.message, "planted at event 100");
    assert_eq!(report.events, 101);
}

#[test]
fn a_streamed_trace_is_the_in_memory_trace() {
    let streamed: Rc<RefCell<Vec<TraceEvent>>> = Rc::default();
    let sink = streamed.clone();
    let options = RunOptions {
        trace: true,
        ..RunOptions::default()
    };
    let report = Simulation::new(config(9), options)
        .unwrap()
        .trace_to(Box::new(move |line| sink.borrow_mut().push(line.clone())))
        .run();
    assert!(!report.trace.is_empty());
    assert_eq!(*streamed.borrow(), report.trace);
    // Streaming alone, without the in-memory trace, changes nothing else.
    let count = Rc::new(RefCell::new(0usize));
    let counter = count.clone();
    let quiet = Simulation::new(config(9), RunOptions::default())
        .unwrap()
        .trace_to(Box::new(move |_| *counter.borrow_mut() += 1))
        .run();
    assert!(quiet.trace.is_empty());
    assert_eq!(*count.borrow(), report.trace.len());
    assert_eq!(quiet.digest, report.digest);
}
