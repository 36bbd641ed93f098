//! The same seed and the same build give the same run, event for event.

use sim::{Pins, RunOptions, SimConfig, Simulation};

/// The seed's digest and event count; `None` when its quorums were
/// refused, as the specification says they must be.
fn digest(seed: u64) -> Option<(u64, u64)> {
    let report = sim::run_admitted(SimConfig::draw(seed, &Pins::default())).unwrap()?;
    Some((report.digest, report.events))
}

#[test]
fn every_one_of_200_seeds_run_twice_gives_the_same_digest() {
    let mut distinct = std::collections::BTreeSet::new();
    for seed in 0..200 {
        let first = digest(seed);
        let second = digest(seed);
        assert_eq!(first, second, "seed {seed} ran differently twice");
        if let Some((digest, _)) = first {
            distinct.insert(digest);
        }
    }
    // Different seeds really are different runs (a few are refused).
    assert!(
        distinct.len() >= 190,
        "only {} distinct digests",
        distinct.len()
    );
}

#[test]
fn a_batch_spread_over_threads_gives_the_same_digests() {
    let seeds: Vec<u64> = (1_000..1_120).collect();
    let serial: Vec<Option<(u64, u64)>> = seeds.iter().map(|seed| digest(*seed)).collect();
    let threads = 4;
    let parallel: Vec<Option<(u64, u64)>> = std::thread::scope(|scope| {
        let handles: Vec<_> = (0..threads)
            .map(|worker| {
                let seeds = &seeds;
                scope.spawn(move || {
                    seeds
                        .iter()
                        .enumerate()
                        .filter(|(index, _)| index % threads == worker)
                        .map(|(index, seed)| (index, digest(*seed)))
                        .collect::<Vec<_>>()
                })
            })
            .collect();
        let mut results: Vec<(usize, Option<(u64, u64)>)> = handles
            .into_iter()
            .flat_map(|handle| handle.join().unwrap())
            .collect();
        results.sort_unstable();
        results.into_iter().map(|(_, digest)| digest).collect()
    });
    assert_eq!(serial, parallel);
}

#[test]
fn the_trace_is_identical_text_and_does_not_change_the_digest() {
    for seed in [3, 17, 99] {
        let config = SimConfig::draw(seed, &Pins::default());
        let traced = |config: &SimConfig| {
            let options = RunOptions {
                trace: true,
                ..RunOptions::default()
            };
            Simulation::new(config.clone(), options).unwrap().run()
        };
        let first = traced(&config);
        let second = traced(&config);
        let text = |report: &sim::RunReport| {
            report
                .trace
                .iter()
                .map(|event| event.to_string())
                .collect::<Vec<_>>()
                .join("\n")
        };
        assert!(!first.trace.is_empty());
        assert_eq!(text(&first), text(&second), "seed {seed}");
        let untraced = sim::run(config).unwrap();
        assert_eq!(first.digest, untraced.digest, "tracing changed seed {seed}");
        assert_eq!(first.events, untraced.events);
    }
}

#[test]
fn a_pin_changes_only_its_own_field() {
    for seed in 0..50 {
        let drawn = SimConfig::draw(seed, &Pins::default());
        let pins = Pins {
            drop_ppm: Some(123),
            ..Pins::default()
        };
        let mut pinned = SimConfig::draw(seed, &pins);
        assert_eq!(pinned.network.drop_ppm, 123);
        pinned.network.drop_ppm = drawn.network.drop_ppm;
        assert_eq!(pinned, drawn, "seed {seed}");
    }
}

#[test]
fn the_digest_depends_on_what_happened() {
    // Same seed, one more crash: a different run, a different digest.
    let config = SimConfig::draw(5, &Pins::default());
    let mut crashed = config.clone();
    crashed.faults.push(sim::ScheduledFault {
        trigger: sim::Trigger::At { time_us: 50_000 },
        action: sim::FaultAction::Crash {
            node: 0,
            down_us: Some(100_000),
        },
        optional: false,
    });
    assert_ne!(
        sim::run(config).unwrap().digest,
        sim::run(crashed).unwrap().digest
    );
}

#[test]
fn network_rates_leave_the_other_streams_draws_alone() {
    use paxos::Op;
    // What each client drew: its operations, keys and written values (a
    // Cas's expected version is what the run showed it, so it is left out).
    fn drawn(report: &sim::RunReport) -> Vec<(u32, u64, String)> {
        let mut ops: Vec<(u32, u64, String)> = report
            .history
            .ops
            .iter()
            .map(|record| {
                let what = match &record.op {
                    Op::Put { key, value } => format!("put {key} {value}"),
                    Op::Get { key } => format!("get {key}"),
                    Op::Cas { key, value, .. } => format!("cas {key} {value}"),
                };
                (record.client, record.seq, what)
            })
            .collect();
        ops.sort();
        ops
    }
    for seed in 0..20 {
        let config = SimConfig::draw(seed, &Pins::default());
        let mut rough = config.clone();
        rough.network.tail_ppm = 400_000;
        rough.network.drop_ppm = 150_000;
        rough.network.duplicate_ppm = 300_000;
        let (calm, rough) = (sim::run(config).unwrap(), sim::run(rough).unwrap());
        assert!(
            calm.verdict.is_pass() && rough.verdict.is_pass(),
            "seed {seed}"
        );
        assert_ne!(
            calm.digest, rough.digest,
            "seed {seed}: the rates changed the run"
        );
        assert_eq!(drawn(&calm), drawn(&rough), "seed {seed}");
    }
}
