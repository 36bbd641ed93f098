//! Property tests over whole generated scenarios, with the public
//! strategies: what users of the harness can write themselves.

use paxos::{Flaw, Flaws};
use proptest::prelude::*;
use proptest::test_runner::{Config, RngSeed, TestError, TestRunner};
use sim::strategies;

proptest! {
    #![proptest_config(Config { cases: 96, ..Config::default() })]

    #[test]
    fn every_generated_scenario_without_a_flaw_passes(config in strategies::scenario(Flaws::NONE)) {
        config.validate().unwrap();
        let report = sim::run(config).unwrap();
        prop_assert!(report.verdict.is_pass(), "{:?}", report.verdict);
    }

    #[test]
    fn generated_scenarios_replay_identically(config in strategies::scenario(Flaws::NONE)) {
        let first = sim::run(config.clone()).unwrap();
        let second = sim::run(config).unwrap();
        prop_assert_eq!(first.digest, second.digest);
    }
}

#[test]
fn proptest_shrinks_a_flaw_failure_to_a_small_scenario() {
    let mut runner = TestRunner::new(Config {
        cases: 256,
        max_shrink_iters: 20_000,
        failure_persistence: None,
        // A fixed seed: the same scenarios and the same shrink path on
        // every run, so the bounds below are facts, not luck.
        rng_seed: RngSeed::Fixed(0x5eed),
        ..Config::default()
    });
    let result = runner.run(
        &strategies::scenario(Flaws::NONE.with(Flaw::MinorityQuorum)),
        |config| {
            let report = sim::run(config).unwrap();
            prop_assert!(report.verdict.is_pass());
            Ok(())
        },
    );
    let Err(TestError::Fail(_, minimal)) = result else {
        panic!("minority quorums went unnoticed in 256 scenarios: {result:?}");
    };
    let ops: usize = minimal.workload.scripts.iter().map(Vec::len).sum();
    assert!(
        minimal.faults.len() <= 2,
        "{} faults left",
        minimal.faults.len()
    );
    assert!(ops <= 4, "{ops} operations left");
    assert!(!sim::run(minimal).unwrap().verdict.is_pass());
}
