//! Configuration validation and its messages, data-driven: each case is a
//! configuration and the words its error must contain.

use paxos::{Config, ConfigError, Mode, NODES_MAX};

fn with_quorums(nodes: u8, phase1: Option<u8>, phase2: Option<u8>) -> Config {
    let mut config = Config::new(nodes, Mode::StableLeader);
    config.quorum_phase1 = phase1;
    config.quorum_phase2 = phase2;
    config
}

#[test]
fn invalid_configs_are_rejected_with_clear_messages() {
    let cases: Vec<(Config, ConfigError, &[&str])> = vec![
        (
            Config::new(0, Mode::StableLeader),
            ConfigError::NodesOutOfRange { nodes: 0 },
            &["nodes is 0", "1..=64"],
        ),
        (
            Config::new(65, Mode::Leaderless),
            ConfigError::NodesOutOfRange { nodes: 65 },
            &["nodes is 65", "1..=64"],
        ),
        (
            with_quorums(3, Some(0), None),
            ConfigError::QuorumOutOfRange {
                phase: 1,
                size: 0,
                nodes: 3,
            },
            &["phase-1 quorum is 0", "1..=3", "3-node"],
        ),
        (
            with_quorums(3, None, Some(4)),
            ConfigError::QuorumOutOfRange {
                phase: 2,
                size: 4,
                nodes: 3,
            },
            &["phase-2 quorum is 4", "1..=3"],
        ),
        (
            with_quorums(5, Some(2), Some(3)),
            ConfigError::QuorumsDoNotIntersect {
                phase1: 2,
                phase2: 3,
                nodes: 5,
            },
            &[
                "q1=2",
                "q2=3",
                "5 nodes",
                "must exceed 5",
                "allow_unsafe_quorums",
            ],
        ),
        (
            with_quorums(4, None, Some(1)),
            ConfigError::QuorumsDoNotIntersect {
                phase1: 3,
                phase2: 1,
                nodes: 4,
            },
            &["q1=3", "q2=1", "4 nodes"],
        ),
        (
            {
                let mut config = Config::new(3, Mode::StableLeader);
                config.timing.heartbeat_interval_us = 0;
                config
            },
            ConfigError::TimingZero {
                field: "heartbeat_interval_us",
            },
            &["timing.heartbeat_interval_us is 0"],
        ),
    ];
    for (config, expected, words) in cases {
        let error = config.validate().expect_err("config should be rejected");
        assert_eq!(error, expected);
        let message = error.to_string();
        for word in words {
            assert!(message.contains(word), "{message:?} lacks {word:?}");
        }
    }
}

#[test]
fn valid_configs_are_accepted() {
    for nodes in 1..=NODES_MAX as u8 {
        for mode in Mode::ALL {
            Config::new(nodes, mode)
                .validate()
                .expect("majority quorums are valid");
        }
    }
    // Flexible Paxos: unequal quorums are fine while they intersect.
    with_quorums(5, Some(4), Some(2)).validate().unwrap();
    with_quorums(3, Some(3), Some(1)).validate().unwrap();
    with_quorums(1, Some(1), Some(1)).validate().unwrap();
}

#[test]
fn unsafe_quorums_pass_only_when_allowed() {
    let mut config = with_quorums(5, Some(2), Some(2));
    assert!(config.validate().is_err());
    config.allow_unsafe_quorums = true;
    config.validate().unwrap();
    assert_eq!(config.quorum_phase1(), 2);
    assert_eq!(config.quorum_phase2(), 2);
    // Out-of-range sizes stay errors even then.
    config.quorum_phase2 = Some(6);
    assert!(matches!(
        config.validate(),
        Err(ConfigError::QuorumOutOfRange { phase: 2, .. })
    ));
}

#[test]
fn default_quorums_are_majorities() {
    for (nodes, majority) in [(1, 1), (2, 2), (3, 2), (4, 3), (5, 3), (64, 33)] {
        let config = Config::new(nodes, Mode::StableLeader);
        assert_eq!(config.majority(), majority);
        assert_eq!(config.quorum_phase1(), majority as usize);
        assert_eq!(config.quorum_phase2(), majority as usize);
    }
}

#[test]
fn mode_names_round_trip() {
    for mode in Mode::ALL {
        assert_eq!(Mode::from_name(mode.name()), Some(mode));
    }
    assert_eq!(Mode::from_name("stable_leader"), None);
}

#[test]
fn unknown_fields_are_rejected() {
    let error = serde_json::from_str::<Config>(r#"{"nodes": 3, "mode": "leaderless", "node": 1}"#)
        .unwrap_err();
    assert!(
        error.to_string().contains("unknown field `node`"),
        "{error}"
    );
}

/// Built without the `flaws` feature, a configuration cannot switch a flaw
/// on: there is no `flaws` field, and a file naming one is rejected. Runs
/// only in that build: RUSTFLAGS="--cfg paxos_no_flaws" cargo test -p paxos
#[cfg(not(feature = "flaws"))]
#[test]
fn a_config_naming_flaws_is_rejected_without_the_feature() {
    for flaws in [r#"["minority-quorum"]"#, "[]"] {
        let json = format!(r#"{{"nodes": 3, "mode": "leaderless", "flaws": {flaws}}}"#);
        let error = serde_json::from_str::<Config>(&json).unwrap_err();
        assert!(
            error.to_string().contains("unknown field `flaws`"),
            "{json}: {error}"
        );
    }
    let plain = r#"{"nodes": 3, "mode": "leaderless"}"#;
    let parsed: Config = serde_json::from_str(plain).unwrap();
    assert_eq!(parsed, Config::new(3, Mode::Leaderless));
}
