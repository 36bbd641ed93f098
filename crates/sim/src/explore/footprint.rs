//! What a step touches, for the sleep sets of the search (`search`): two
//! steps whose footprints do not overlap are independent, so that taking
//! them in either order reaches the same state and raises the same
//! violations, and the search need take only one of the two orders.
//!
//! A step touches:
//! - the hosts it reads or changes: the node a message is delivered,
//!   duplicated or dropped to (whether it is up decides what happens), the
//!   node whose timer fires, that crashes or restarts, that receives a
//!   client's request or its own messages;
//! - the budgets it spends (each kind is shared by every node, so two steps
//!   spending one kind can disable each other);
//! - the message it names (a delivery or drop of the last copy disables
//!   every other step on that message);
//! - the safety checker's ghost by slot: acceptances sent in a slot, and
//!   values learned or applied in it. Most checks are per node (a ballot,
//!   a promise) or symmetric (two values in one ballot, two chosen values,
//!   two versions of a key fail whichever comes second), but one is not:
//!   a value learned before a quorum accepted it fails, after it does not.
//!   So a learn and an acceptance in the same slot are dependent while the
//!   slot is not yet chosen (once it is, the chosen value never changes,
//!   and every later learn or acceptance is judged against it alike; a
//!   footprint taken earlier, before the choice, only says more);
//! - the clients and their history: an invocation and a completion order
//!   operations in real time, so any two steps that touch them are
//!   dependent.
//!
//! Sends are additions to the multiset in flight: they commute with
//! everything. A footprint is taken when the step is applied; while a step
//! sleeps, only steps independent of it are taken, so nothing it reads
//! changes and its footprint stays true.

/// The slot bit of `slot`; slots past 62 share the last bit.
fn slot_bit(slot: u64) -> u64 {
    1 << slot.min(63)
}

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) struct Footprint {
    pub(crate) hosts: u8,
    /// A bit per budget kind spent (`Budget` order).
    pub(crate) budgets: u16,
    /// The fingerprint of the message the step names, or 0.
    pub(crate) message: u128,
    pub(crate) accepts: u64,
    pub(crate) learns: u64,
    pub(crate) history: bool,
}

/// The budget kinds, one bit each.
#[derive(Clone, Copy, Debug)]
pub(crate) enum Budget {
    Crash = 0,
    Restart = 1,
    Drop = 2,
    Duplicate = 3,
    /// A timer kind: `Timer + timer.index()`.
    Timer = 4,
}

impl Footprint {
    pub(crate) fn host(&mut self, node: u8) {
        self.hosts |= 1 << node;
    }

    pub(crate) fn budget(&mut self, budget: Budget, offset: usize) {
        self.budgets |= 1 << (budget as usize + offset);
    }

    pub(crate) fn accept(&mut self, slot: u64) {
        self.accepts |= slot_bit(slot);
    }

    pub(crate) fn learn(&mut self, slot: u64) {
        self.learns |= slot_bit(slot);
    }

    /// Whether the two steps commute, state and violations alike.
    pub(crate) fn independent(&self, other: &Footprint) -> bool {
        self.hosts & other.hosts == 0
            && self.budgets & other.budgets == 0
            && (self.message == 0 || self.message != other.message)
            && self.accepts & other.learns == 0
            && self.learns & other.accepts == 0
            && !(self.history && other.history)
    }
}
