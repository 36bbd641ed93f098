//! Each fault kind happens, and does what it says.

use paxos::Mode;
use sim::faults::Partition;
use sim::network::{Fate, Network};
use sim::{
    FaultAction, FaultRates, NetworkConfig, Pins, RunOptions, ScheduledFault, SimConfig,
    Simulation, Trigger, Verdict,
};

fn traced(config: SimConfig) -> sim::RunReport {
    let options = RunOptions {
        trace: true,
        ..RunOptions::default()
    };
    Simulation::new(config, options).unwrap().run()
}

fn busy_config(seed: u64) -> SimConfig {
    let pins = Pins {
        nodes: Some(5),
        mode: Some(Mode::StableLeader),
        clients: Some(4),
        ops_per_client: Some(30),
        ..Pins::default()
    };
    let mut config = SimConfig::draw(seed, &pins);
    config.chaos_us = 3_000_000;
    config.network.drop_ppm = 50_000;
    config.network.duplicate_ppm = 50_000;
    config.fault_rates = FaultRates {
        crash_interval_us: 400_000,
        crash_down_us_max: 300_000,
        partition_interval_us: 400_000,
        partition_duration_us_max: 300_000,
        pause_interval_us: 400_000,
        pause_duration_us_max: 200_000,
        triggered_crashes: 2,
    };
    config
}

#[test]
fn with_a_fixed_seed_each_fault_kind_appears_in_the_trace() {
    let report = traced(busy_config(7));
    assert_eq!(report.verdict, Verdict::Pass);
    let has = |event: &str| report.trace.iter().any(|line| line.event == event);
    for event in [
        "crash",
        "restart",
        "lost",
        "fault",
        "heal",
        "deferred",
        "resume",
        "drop",
        "blocked",
        "heal-phase",
    ] {
        assert!(has(event), "no `{event}` event in the trace");
    }
    let duplicate = report
        .trace
        .iter()
        .any(|line| line.event == "recv" && line.detail.starts_with("(dup)"));
    assert!(duplicate, "no duplicate delivery in the trace");
    let partition = report
        .trace
        .iter()
        .any(|line| line.event == "fault" && line.detail.contains(r#""fault":"partition""#));
    assert!(partition, "no partition in the trace");
    let counters = report.counters;
    assert!(counters.crashes > 0 && counters.restarts >= counters.crashes);
    assert!(counters.messages_dropped > 0 && counters.messages_duplicated > 0);
    assert!(counters.messages_blocked > 0 && counters.pauses > 0);
}

fn lossless() -> NetworkConfig {
    NetworkConfig {
        delay_us_min: 10,
        delay_us_max: 20,
        tail_ppm: 0,
        tail_delay_us_max: Some(20),
        drop_ppm: 0,
        duplicate_ppm: 0,
    }
}

#[test]
fn a_partition_blocks_exactly_the_links_it_cuts() {
    let shapes = [
        Partition::Isolate { node: 2 },
        Partition::Split { side: vec![0, 3] },
        Partition::Bridge {
            bridge: 4,
            left: vec![0, 1],
            right: vec![2, 3],
        },
        Partition::OneWay {
            from: vec![1],
            to: vec![0, 2],
        },
        Partition::Groups {
            groups: vec![vec![0, 4], vec![1, 2], vec![3]],
        },
    ];
    for shape in shapes {
        let cut = shape.cut_links(5);
        let mut network = Network::new(
            lossless(),
            5,
            sim::rng::stream(1, sim::rng::Stream::Network),
        );
        network.partition(shape.clone());
        for from in 0..5 {
            for to in 0..5 {
                if from == to {
                    continue;
                }
                let fate = network.fate(Some((from, to)));
                let blocked = cut.contains(&(from, to));
                assert_eq!(
                    fate == Fate::Blocked,
                    blocked,
                    "{shape:?}: link {from}->{to}"
                );
            }
        }
        // Clients are outside the cluster: partitions never cut them.
        assert_ne!(network.fate(None), Fate::Blocked);
        network.heal();
        for from in 0..5 {
            for to in 0..5 {
                assert_ne!(network.fate(Some((from, to))), Fate::Blocked);
            }
        }
    }
}

#[test]
fn in_a_run_only_cut_links_are_blocked() {
    let mut config = busy_config(11);
    config.fault_rates = FaultRates::NONE;
    config.network = lossless();
    let partition = Partition::Split { side: vec![0, 1] };
    config.faults.push(ScheduledFault {
        trigger: Trigger::At { time_us: 1_000 },
        action: FaultAction::Partition {
            partition: partition.clone(),
            duration_us: Some(500_000),
        },
        optional: false,
    });
    let cut = partition.cut_links(5);
    let report = traced(config);
    assert_eq!(report.verdict, Verdict::Pass);
    let blocked: Vec<_> = report
        .trace
        .iter()
        .filter(|line| line.event == "blocked")
        .collect();
    assert!(!blocked.is_empty());
    for line in blocked {
        let from = line.node.unwrap();
        let to: u8 = line.detail.rsplit("-> n").next().unwrap().parse().unwrap();
        assert!(
            cut.contains(&(from, to)),
            "blocked {from}->{to}, not a cut link"
        );
    }
}

fn crash_config(node: u8, at_us: u64, down_us: u64) -> SimConfig {
    let mut config = busy_config(21);
    config.fault_rates = FaultRates::NONE;
    config.network = lossless();
    config.faults.push(ScheduledFault {
        trigger: Trigger::At { time_us: at_us },
        action: FaultAction::Crash {
            node,
            down_us: Some(down_us),
        },
        optional: false,
    });
    config
}

#[test]
fn a_crash_loses_volatile_state_and_keeps_durable_state() {
    // The checkers compare a restarted node's promise and acceptances with
    // everything it ever reported (promise-monotonic, acceptor-durability),
    // so a passing run with crashes in the middle of traffic shows the
    // durable state survived; messages lost while down show it was down.
    let report = traced(crash_config(1, 200_000, 400_000));
    assert_eq!(report.verdict, Verdict::Pass);
    assert_eq!(report.counters.crashes, 1);
    assert_eq!(report.counters.restarts, 1);
    assert!(report.counters.messages_lost_to_crash > 0);
    let crash = report
        .trace
        .iter()
        .position(|l| l.event == "crash")
        .unwrap();
    let restart = report
        .trace
        .iter()
        .position(|l| l.event == "restart")
        .unwrap();
    assert!(crash < restart);
    // No timer of the crashed node fires while it is down: they died with it.
    let down = &report.trace[crash..restart];
    assert!(!down.iter().any(|l| l.event == "timer" && l.node == Some(1)));
}

#[test]
fn a_restarted_node_rejoins_and_catches_up() {
    // Node 3 is down for most of the workload and must catch up after.
    let report = traced(crash_config(3, 10_000, 2_000_000));
    assert_eq!(report.verdict, Verdict::Pass);
    let applied: Vec<u64> = report.applied_upto.iter().map(|a| a.unwrap()).collect();
    assert!(
        applied[0] > 20,
        "too little work to show catch-up: {applied:?}"
    );
    assert!(applied.iter().all(|a| *a == applied[0]), "{applied:?}");
    let restart = report
        .trace
        .iter()
        .position(|l| l.event == "restart")
        .unwrap();
    let caught_up = report.trace[restart..]
        .iter()
        .any(|l| l.node == Some(3) && l.event == "recv" && l.detail.starts_with("CatchupReply"));
    assert!(
        caught_up,
        "node 3 never received a catch-up after restarting"
    );
}

#[test]
fn a_paused_node_handles_its_backlog_late() {
    let mut config = busy_config(31);
    config.fault_rates = FaultRates::NONE;
    config.network = lossless();
    config.faults.push(ScheduledFault {
        trigger: Trigger::At { time_us: 100_000 },
        action: FaultAction::Pause {
            node: 2,
            duration_us: 300_000,
        },
        optional: false,
    });
    let report = traced(config);
    assert_eq!(report.verdict, Verdict::Pass);
    let resume = report
        .trace
        .iter()
        .find(|l| l.event == "resume" && l.node == Some(2))
        .expect("node 2 resumed");
    assert_eq!(resume.time_us, 400_000);
    assert!(!resume.detail.starts_with("0 "), "{}", resume.detail);
    let deferred = report
        .trace
        .iter()
        .filter(|l| l.event == "deferred" && l.node == Some(2))
        .count();
    assert!(deferred > 0);
    // While paused, node 2 handled nothing.
    assert!(!report.trace.iter().any(|l| {
        l.node == Some(2)
            && (100_000..400_000).contains(&l.time_us)
            && matches!(l.event, "recv" | "timer" | "request")
    }));
}

#[test]
fn drops_and_duplicates_stop_in_the_heal_phase() {
    let report = traced(busy_config(41));
    let heal = report.heal_us.expect("a heal phase");
    assert!(report.counters.messages_dropped > 0);
    assert!(
        !report
            .trace
            .iter()
            .any(|l| l.time_us > heal && (l.event == "drop" || l.event == "blocked"))
    );
}

#[test]
fn the_report_lists_the_explicit_faults_that_never_fired() {
    let mut config = crash_config(1, 50_000, 10_000);
    config.heal_when_clients_done = false;
    let chaos_us = config.chaos_us;
    let crash = |node| FaultAction::Crash {
        node,
        down_us: Some(1_000),
    };
    config.faults.extend([
        // Just after the heal: faults strike only before it.
        ScheduledFault {
            trigger: Trigger::At {
                time_us: chaos_us + 1,
            },
            action: crash(2),
            optional: false,
        },
        // A send that never comes.
        ScheduledFault {
            trigger: Trigger::OnSend {
                node: 0,
                message: "Prepare".into(),
                nth: 1_000_000,
            },
            action: crash(0),
            optional: true,
        },
        // Long after the run's end.
        ScheduledFault {
            trigger: Trigger::At {
                time_us: 1_000_000_000_000,
            },
            action: crash(0),
            optional: false,
        },
    ]);
    let report = sim::run(config.clone()).unwrap();
    assert!(report.verdict.is_pass(), "{:?}", report.verdict);
    assert_eq!(report.unfired_faults, vec![1, 2, 3], "faults[0] fired");
    // A trigger on the 0th send can never fire: validation says so.
    config.faults[2].trigger = Trigger::OnSend {
        node: 0,
        message: "Prepare".into(),
        nth: 0,
    };
    let error = config.validate().unwrap_err();
    assert!(error.starts_with("faults[2].when.nth is 0"), "{error}");
}

#[test]
fn a_torn_record_comes_back_corrupt_and_the_node_recovers_from_its_peers() {
    // Default seed 3735 (found by replaying the first 5,000 seeds): node 3
    // crashes with a two-record write in flight; the first record is kept
    // and the second, its acceptance of slot 6, is torn. A checksum cannot
    // tell that from a corrupt record, so the restart reads it as damage
    // and the node recovers from its peers before voting again.
    let report = traced(SimConfig::draw(3735, &Pins::default()));
    assert!(report.verdict.is_pass(), "{:?}", report.verdict);
    let position = |event: &str, detail: &str| {
        (report.trace.iter())
            .position(|e| e.node == Some(3) && e.event == event && e.detail.contains(detail))
            .unwrap_or_else(|| panic!("no {event} {detail} at node 3"))
    };
    let torn = position("disk-torn", "accepted s6 torn (corrupt)");
    let read = position("disk-read-damaged", "accepted s6");
    let recovered = position("recovered", "");
    assert!(torn < read && read < recovered, "{torn} {read} {recovered}");
    assert!(report.probes.count(sim::ProbePoint::TornWrite) > 0);
}
