//! The heal phase's efficiency budgets: progress is not enough, it must
//! also not cost absurdly much.
//!
//! Definitions, all over the heal phase (the core up and connected, the
//! others kept out, no drops or duplicates):
//! - the *steady state* begins when the first slot is chosen in the heal
//!   phase (by the safety checker's count) and lasts to the end of the run:
//!   from then on the core has shown it can make progress, and whatever it
//!   does is its ordinary cost;
//! - a *leader change* in the steady state is a node heartbeating with a
//!   leader ballot above every leader ballot heartbeated before (stable-
//!   leader mode; a leaderless cluster has no leader to change). Read off
//!   the wire, not from the core's own account;
//! - *messages per command* is the messages sent between nodes (a node's
//!   messages to itself do not travel) in the steady state, divided by the
//!   slots chosen in it after the first; judged at the end of a run. The
//!   time-driven messages are left out: heartbeats, catch-up requests and
//!   the empty replies to them are paid per interval, not per command, and
//!   an idle core keeps sending them for as long as the run lasts (a run
//!   with one command in a three-second steady state would otherwise count
//!   thousands of heartbeats against that one command). Leader changes
//!   judge the heartbeats;
//! - *retries per operation* counts, for each operation, the requests its
//!   client sends again after a timeout in the heal phase; judged when the
//!   operation completes (one that never does is a liveness failure).
//!
//! Each budget is a limit in `Limits` and an invariant of its own:
//! `leader-change-budget`, `message-budget`, `retry-budget`. They are
//! judged only where the network keeps the protocol's timing assumptions
//! ([`timing_holds`]): a round trip within the retransmit interval, and a
//! heartbeat's worst lateness within the election timeout. Where it does
//! not (the swarm's slow share, on purpose), followers time out on a live
//! leader and proposers resend before any answer can come: leader changes
//! and resends are then the network's doing, not the protocol's. The
//! figures are gathered either way. The checker keeps only counters: O(1)
//! per event. The figures it gathers are in the
//! run's report ([`Efficiency`]), so that `paxsim bench --only budgets`
//! can measure the clean core's distribution, from which the default
//! limits were set.

use serde::Serialize;

use paxos::{Ballot, ClientId, Message, NodeId};

use crate::check::Place;
use crate::config::{Limits, SimConfig};
use crate::report::{Invariant, Violation};

/// Whether `config`'s network keeps the protocol's timing assumptions: a
/// round trip (two longest delays) fits in the retransmit interval, and a
/// heartbeat's worst lateness (its interval plus the delays' spread) in
/// the election timeout. The long tail is left out: it is rare by design.
pub fn timing_holds(config: &SimConfig) -> bool {
    let timing = &config.cluster.timing;
    let network = &config.network;
    let spread_us = network.delay_us_max - network.delay_us_min;
    2 * network.delay_us_max <= timing.retransmit_interval_us
        && timing.heartbeat_interval_us + spread_us < timing.election_timeout_us
}

/// What a run's heal phase cost, as the budgets count it.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize)]
pub struct Efficiency {
    /// Whether the budgets were judged: the network kept the protocol's
    /// timing assumptions ([`timing_holds`]).
    pub judged: bool,
    /// When the steady state began: the first slot chosen in the heal phase.
    pub steady_us: Option<u64>,
    /// Leader changes in the steady state.
    pub leader_changes: u64,
    /// Messages between nodes in the steady state.
    pub messages_steady: u64,
    /// Slots chosen in the steady state after the first.
    pub commands_steady: u64,
    /// The most retries any operation took in the heal phase.
    pub retries_per_op_max: u32,
}

impl Efficiency {
    /// Messages per command in the steady state, rounded up; `None`
    /// before a second slot is chosen in it.
    pub fn messages_per_command(&self) -> Option<u64> {
        (self.commands_steady > 0).then(|| self.messages_steady.div_ceil(self.commands_steady))
    }
}

pub(crate) struct EfficiencyChecker {
    leader_changes_max: u64,
    messages_per_command_max: u64,
    retries_per_op_max: u32,
    healing: bool,
    /// The highest leader ballot heartbeated so far, all run long.
    leader_ballot_max: Ballot,
    /// Per client, the sequence number of its operation in flight and the
    /// retries it took in the heal phase.
    retries: Vec<(u64, u32)>,
    figures: Efficiency,
}

impl EfficiencyChecker {
    /// A checker of `limits`, judging them only if `judged`.
    pub(crate) fn new(limits: &Limits, clients: u32, judged: bool) -> EfficiencyChecker {
        // A budget not judged is one no figure can exceed.
        let limit = |value: u64| if judged { value } else { u64::MAX };
        EfficiencyChecker {
            leader_changes_max: limit(limits.leader_changes_max),
            messages_per_command_max: limit(limits.messages_per_command_max),
            retries_per_op_max: if judged {
                limits.retries_per_op_max
            } else {
                u32::MAX
            },
            healing: false,
            leader_ballot_max: Ballot::ZERO,
            retries: vec![(0, 0); clients as usize],
            figures: Efficiency {
                judged,
                ..Efficiency::default()
            },
        }
    }

    pub(crate) fn figures(&self) -> Efficiency {
        self.figures
    }

    pub(crate) fn on_heal(&mut self) {
        self.healing = true;
    }

    fn steady(&self) -> bool {
        self.figures.steady_us.is_some()
    }

    /// The safety checker counted a slot chosen.
    pub(crate) fn on_chosen(&mut self, now_us: u64) {
        if !self.healing {
            return;
        }
        if self.steady() {
            self.figures.commands_steady += 1;
        } else {
            self.figures.steady_us = Some(now_us);
        }
    }

    /// Node `from` sent `message` to node `to`: a message between nodes,
    /// and perhaps a leader's heartbeat.
    pub(crate) fn on_send(
        &mut self,
        place: Place,
        from: NodeId,
        to: NodeId,
        message: &Message,
    ) -> Result<(), Box<Violation>> {
        if self.steady() && from != to && !time_driven(message) {
            self.figures.messages_steady += 1;
        }
        let Message::Heartbeat { ballot, .. } = message else {
            return Ok(());
        };
        if *ballot <= self.leader_ballot_max {
            return Ok(());
        }
        self.leader_ballot_max = *ballot;
        if !self.steady() {
            return Ok(());
        }
        self.figures.leader_changes += 1;
        if self.figures.leader_changes <= self.leader_changes_max {
            return Ok(());
        }
        Err(budget(
            Invariant::LeaderChangeBudget,
            place,
            Some(from),
            format!(
                "{} leader changes in the steady state, above the budget of {} \
                 (limits.leader_changes_max); the latest: n{from} leading at ballot {ballot}",
                self.figures.leader_changes, self.leader_changes_max
            ),
        ))
    }

    /// Client `client` sent operation `seq` again after a timeout.
    pub(crate) fn on_retry(&mut self, client: ClientId, seq: u64) {
        if !self.healing {
            return;
        }
        let (current, retries) = &mut self.retries[client as usize];
        if *current != seq {
            *current = seq;
            *retries = 0;
        }
        *retries += 1;
    }

    /// Client `client`'s operation `seq` completed: its retries in the heal
    /// phase are judged now. (One that never completes is liveness's to
    /// report, not this budget's.)
    pub(crate) fn on_completed(
        &mut self,
        place: Place,
        client: ClientId,
        seq: u64,
    ) -> Result<(), Box<Violation>> {
        let (current, retries) = self.retries[client as usize];
        if current != seq {
            return Ok(());
        }
        self.figures.retries_per_op_max = self.figures.retries_per_op_max.max(retries);
        if retries <= self.retries_per_op_max {
            return Ok(());
        }
        Err(budget(
            Invariant::RetryBudget,
            place,
            None,
            format!(
                "client {client} sent seq {seq} again {retries} times in the heal phase, \
                 above the budget of {} (limits.retries_per_op_max)",
                self.retries_per_op_max
            ),
        ))
    }

    /// At the end of a run: the steady state's messages per command.
    pub(crate) fn check_at_end(&self, place: Place) -> Result<(), Box<Violation>> {
        let Some(per_command) = self.figures.messages_per_command() else {
            return Ok(());
        };
        if per_command <= self.messages_per_command_max {
            return Ok(());
        }
        Err(budget(
            Invariant::MessageBudget,
            place,
            None,
            format!(
                "{} messages for {} commands in the steady state, {per_command} per command, \
                 above the budget of {} (limits.messages_per_command_max)",
                self.figures.messages_steady,
                self.figures.commands_steady,
                self.messages_per_command_max
            ),
        ))
    }
}

/// A message a node sends because time passed, not because of a command:
/// left out of messages per command.
fn time_driven(message: &Message) -> bool {
    match message {
        Message::Heartbeat { .. } | Message::CatchupRequest { .. } => true,
        Message::CatchupReply { entries } => entries.is_empty(),
        _ => false,
    }
}

fn budget(
    invariant: Invariant,
    place: Place,
    node: Option<NodeId>,
    message: String,
) -> Box<Violation> {
    Box::new(Violation {
        invariant,
        event: place.event,
        time_us: place.time_us,
        slot: None,
        key: None,
        node,
        message,
        evidence: Vec::new(),
        ops: Vec::new(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn limits(leader_changes: u64, messages: u64, retries: u32) -> Limits {
        Limits {
            leader_changes_max: leader_changes,
            messages_per_command_max: messages,
            retries_per_op_max: retries,
            ..Limits::default()
        }
    }

    fn place() -> Place {
        Place {
            event: 9,
            time_us: 90,
        }
    }

    fn heartbeat(round: u64, node: NodeId) -> Message {
        Message::Heartbeat {
            ballot: Ballot::new(round, node),
            applied_upto: 0,
        }
    }

    #[test]
    fn leader_changes_count_only_in_the_steady_state_and_only_new_ballots() {
        let mut checker = EfficiencyChecker::new(&limits(1, 1_000, 10), 1, true);
        checker.on_send(place(), 0, 1, &heartbeat(1, 0)).unwrap();
        checker.on_heal();
        checker.on_send(place(), 1, 0, &heartbeat(2, 1)).unwrap();
        checker.on_chosen(100);
        assert_eq!(
            checker.figures().leader_changes,
            0,
            "before the steady state"
        );
        checker.on_send(place(), 1, 0, &heartbeat(2, 1)).unwrap();
        checker.on_send(place(), 0, 1, &heartbeat(1, 0)).unwrap();
        assert_eq!(checker.figures().leader_changes, 0, "old ballots");
        checker.on_send(place(), 2, 0, &heartbeat(3, 2)).unwrap();
        let over = checker
            .on_send(place(), 0, 2, &heartbeat(4, 0))
            .unwrap_err();
        assert_eq!(over.invariant, Invariant::LeaderChangeBudget);
        assert_eq!(checker.figures().leader_changes, 2);
    }

    #[test]
    fn messages_per_command_is_judged_over_the_steady_state() {
        let mut checker = EfficiencyChecker::new(&limits(10, 3, 10), 1, true);
        checker.on_heal();
        let accept = Message::Nack {
            ballot: Ballot::new(1, 0),
            promised: Ballot::new(2, 1),
        };
        checker.on_send(place(), 0, 1, &accept).unwrap();
        checker.on_chosen(10);
        for _ in 0..3 {
            checker.on_send(place(), 0, 1, &accept).unwrap();
            checker.on_send(place(), 0, 0, &accept).unwrap();
        }
        assert_eq!(checker.figures().messages_per_command(), None);
        assert!(checker.check_at_end(place()).is_ok(), "no figure yet");
        checker.on_chosen(20);
        assert_eq!(checker.figures().messages_per_command(), Some(3));
        assert!(checker.check_at_end(place()).is_ok());
        for time_driven in [
            heartbeat(1, 0),
            Message::CatchupRequest { from_slot: 0 },
            Message::CatchupReply { entries: vec![] },
        ] {
            checker.on_send(place(), 1, 0, &time_driven).unwrap();
        }
        assert_eq!(
            checker.figures().messages_per_command(),
            Some(3),
            "time-driven"
        );
        checker.on_send(place(), 1, 0, &accept).unwrap();
        let over = checker.check_at_end(place()).unwrap_err();
        assert_eq!(over.invariant, Invariant::MessageBudget);
    }

    #[test]
    fn retries_count_per_operation_in_the_heal_phase() {
        let mut checker = EfficiencyChecker::new(&limits(10, 1_000, 2), 2, true);
        for _ in 0..3 {
            checker.on_retry(0, 1);
        }
        checker.on_completed(place(), 0, 1).unwrap();
        assert_eq!(checker.figures().retries_per_op_max, 0, "before the heal");
        checker.on_heal();
        checker.on_retry(0, 1);
        checker.on_retry(1, 1);
        checker.on_retry(0, 1);
        checker.on_completed(place(), 0, 1).unwrap();
        checker.on_completed(place(), 1, 1).unwrap();
        assert_eq!(checker.figures().retries_per_op_max, 2);
        for _ in 0..3 {
            checker.on_retry(0, 2);
        }
        assert_eq!(checker.figures().retries_per_op_max, 2, "not judged yet");
        let over = checker.on_completed(place(), 0, 2).unwrap_err();
        assert_eq!(over.invariant, Invariant::RetryBudget);
        assert_eq!(checker.figures().retries_per_op_max, 3);
    }

    #[test]
    fn budgets_not_judged_are_counted_and_never_exceeded() {
        let mut checker = EfficiencyChecker::new(&limits(0, 0, 0), 1, false);
        checker.on_heal();
        checker.on_chosen(1);
        checker.on_send(place(), 0, 1, &heartbeat(7, 0)).unwrap();
        checker.on_retry(0, 1);
        checker.on_completed(place(), 0, 1).unwrap();
        checker.on_chosen(2);
        assert!(checker.check_at_end(place()).is_ok());
        let figures = checker.figures();
        assert!(!figures.judged);
        assert_eq!((figures.leader_changes, figures.retries_per_op_max), (1, 1));
    }

    #[test]
    fn timing_holds_for_the_fast_swarm_and_not_for_the_slow_share() {
        use crate::knobs::Pins;
        let configs: Vec<SimConfig> = (0..500)
            .map(|seed| SimConfig::draw(seed, &Pins::default()))
            .collect();
        let fast = |config: &&SimConfig| config.network.delay_us_max <= 21_000;
        assert!(configs.iter().filter(fast).all(timing_holds));
        let slow = configs.iter().filter(|config| !fast(config)).count();
        let slow_judged = configs
            .iter()
            .filter(|config| !fast(config) && timing_holds(config))
            .count();
        assert!(slow > 20, "{slow} slow seeds");
        assert!(
            slow_judged * 2 < slow,
            "{slow_judged} of {slow} slow seeds judged"
        );
    }
}
