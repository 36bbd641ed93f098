//! The acceptor: answers `Prepare` and `Accept`, and owns the promise.
//!
//! Rules it enforces: a promise only rises; a `Prepare` at or below the
//! promise is refused with `Nack(promised)` (except a re-sent `Prepare` for
//! the ballot already promised, answered again); an `Accept` is taken if and
//! only if its ballot is at least the promise; a promise or an acceptance is
//! made durable (a `Persist` output) before the message that reports it.

use crate::command::Command;
use crate::config::Mode;
use crate::durable::DurableWrite;
use crate::message::{AcceptedEntry, Message, Output, Probe};
use crate::types::{Ballot, NodeId, Slot};

use super::Node;

impl Node {
    pub(super) fn on_prepare(
        &mut self,
        from: NodeId,
        ballot: Ballot,
        from_slot: Slot,
        out: &mut Vec<Output>,
    ) {
        self.observe_round(ballot);
        if !self.may_vote() {
            return;
        }
        // A re-sent Prepare for the ballot already promised is answered
        // again: the promise stands, and the first answer may have been lost.
        let repeat = ballot == self.durable.promised && ballot != Ballot::ZERO;
        if ballot <= self.durable.promised && !repeat {
            out.push(Output::Probe(Probe::RejectedLowerBallot));
            let promised = self.durable.promised;
            self.send(from, Message::Nack { ballot, promised }, out);
            return;
        }
        // A repeat is already promised, but perhaps not yet durable (the
        // first answer may still wait for the disk): the promise is written
        // again, unchanged, so that this answer waits for the disk too.
        let accepted: Vec<AcceptedEntry> = self
            .durable
            .accepted
            .range(from_slot..)
            .map(|(slot, (ballot, command))| AcceptedEntry {
                slot: *slot,
                ballot: *ballot,
                command: command.clone(),
            })
            .collect();
        let promise = Message::Promise { ballot, accepted };
        // Flaw promise-sent-before-persist: the Promise is sent before the
        // promise is written (a reply issued before the fsync it depends on).
        if flaw!(self.config, PromiseSentBeforePersist) {
            self.send(from, promise, out);
            self.write_promise(ballot, repeat, out);
            return;
        }
        self.write_promise(ballot, repeat, out);
        self.send(from, promise, out);
    }

    /// Promise `ballot` durably: raise the promise, or write it again for a
    /// repeat.
    fn write_promise(&mut self, ballot: Ballot, repeat: bool, out: &mut Vec<Output>) {
        if repeat && flaw!(self.config, PromiseNotPersisted) {
            // The flaw below skipped the first write; it skips this one too.
            self.persist_skipped(DurableWrite::Promised(ballot));
        } else if repeat {
            self.persist(DurableWrite::Promised(ballot), out);
        } else {
            self.raise_promise(ballot, out);
        }
    }

    pub(super) fn on_accept(
        &mut self,
        from: NodeId,
        ballot: Ballot,
        slot: Slot,
        command: Command,
        out: &mut Vec<Output>,
    ) {
        self.observe_round(ballot);
        if !self.may_vote() {
            return;
        }
        let below_promise = ballot < self.durable.promised;
        // Flaw accept-below-promise: the acceptor forgets to compare the
        // ballot with its promise (the missing `if` of many hand-rolled Paxos).
        if below_promise && !flaw!(self.config, AcceptBelowPromise) {
            out.push(Output::Probe(Probe::RejectedLowerBallot));
            let promised = self.durable.promised;
            self.send(from, Message::Nack { ballot, promised }, out);
            return;
        }
        if ballot > self.durable.promised {
            self.raise_promise(ballot, out);
        }
        if self.config.mode == Mode::StableLeader {
            self.volatile.leader_hint = Some(from);
        }
        let write = DurableWrite::Accepted {
            slot,
            ballot,
            command: command.clone(),
        };
        let message = Message::Accepted {
            ballot,
            slot,
            command,
        };
        // Flaw accepted-sent-before-persist: `Accepted` is sent before the
        // acceptance is written (a reply issued ahead of its fsync).
        if flaw!(self.config, AcceptedSentBeforePersist) {
            self.send(from, message.clone(), out);
        }
        if flaw!(self.config, AcceptNotPersisted) {
            // Flaw accept-not-persisted: `Accepted` leaves before the acceptance
            // is on disk (an fsync skipped or batched past the reply).
            self.persist_skipped(write);
        } else {
            self.persist(write, out);
        }
        if !flaw!(self.config, AcceptedSentBeforePersist) {
            self.send(from, message, out);
        }
    }

    /// Raise the promise to `ballot`, durably, and step down from any lower
    /// ballot of our own.
    fn raise_promise(&mut self, ballot: Ballot, out: &mut Vec<Output>) {
        assert!(ballot > self.durable.promised);
        let write = DurableWrite::Promised(ballot);
        if flaw!(self.config, PromiseNotPersisted) {
            // Flaw promise-not-persisted: the promise leaves before it is on
            // disk, so a restart forgets it and can promise a lower ballot.
            self.persist_skipped(write);
        } else {
            self.persist(write, out);
        }
        if self.ballot().is_some_and(|own| own < ballot) {
            self.step_down(out);
        }
    }
}
