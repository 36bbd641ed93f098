//! The messages in flight: each message's envelope (who sent it, to
//! whom) with its fingerprint, and the multiset of them, kept sorted by
//! fingerprint with a fingerprint of its own, the wrapping sum of its
//! messages', kept up to date as messages come and go.

use std::hash::Hasher;
use std::rc::Rc;
use std::sync::Arc;

use paxos::{ClientId, Fingerprint, Message, NodeId, Reply, Request};

use super::hash::fingerprint_of;

/// A message in flight.
#[derive(Clone, Debug)]
pub(crate) enum Envelope {
    Peer {
        from: NodeId,
        to: NodeId,
        message: Message,
    },
    Request {
        client: ClientId,
        to: NodeId,
        request: Arc<Request>,
    },
    Reply {
        from: NodeId,
        client: ClientId,
        seq: u64,
        reply: Reply,
    },
}

/// A message sent, with its envelope's fingerprint, made once with the
/// node transition that sends it (`memo::Effect`) and shared by every state
/// that takes the transition.
#[derive(Clone, Debug)]
pub(crate) struct Sent {
    pub(crate) print: u128,
    pub(crate) envelope: Rc<Envelope>,
}

impl Sent {
    pub(crate) fn new(envelope: Envelope) -> Sent {
        Sent {
            print: envelope.fingerprint(),
            envelope: Rc::new(envelope),
        }
    }

    /// The message of a node to a node (a message to itself, parked).
    pub(crate) fn message(&self) -> &Message {
        match &*self.envelope {
            Envelope::Peer { message, .. } => message,
            _ => unreachable!("a node's message to itself"),
        }
    }
}

impl Envelope {
    pub(crate) fn fingerprint(&self) -> u128 {
        fingerprint_of(|hasher| match self {
            Envelope::Peer { from, to, message } => {
                hasher.write_u8(0);
                hasher.write_u8(*from);
                hasher.write_u8(*to);
                message.fingerprint(hasher);
            }
            Envelope::Request {
                client,
                to,
                request,
            } => {
                hasher.write_u8(1);
                hasher.write_u32(*client);
                hasher.write_u8(*to);
                request.fingerprint(hasher);
            }
            Envelope::Reply {
                from,
                client,
                seq,
                reply,
            } => {
                hasher.write_u8(2);
                hasher.write_u8(*from);
                hasher.write_u32(*client);
                hasher.write_u64(*seq);
                reply.fingerprint(hasher);
            }
        })
    }

    /// The node it is addressed to, if any (a reply goes to a client).
    pub(crate) fn to_node(&self) -> Option<NodeId> {
        match self {
            Envelope::Peer { to, .. } | Envelope::Request { to, .. } => Some(*to),
            Envelope::Reply { .. } => None,
        }
    }
}

/// Copies of one message in flight.
#[derive(Clone, Debug)]
pub(crate) struct Flight {
    pub(crate) print: u128,
    pub(crate) envelope: Rc<Envelope>,
    pub(crate) copies: u32,
}

/// The messages in flight: a multiset, kept sorted by fingerprint so that
/// the order of the steps it offers depends on its contents only.
#[derive(Clone, Debug, Default)]
pub(crate) struct Network {
    pub(crate) flights: Vec<Flight>,
    pub(crate) print: u128,
}

impl Network {
    /// Put a copy of `sent` in flight.
    pub(crate) fn add(&mut self, sent: &Sent) {
        let print = sent.print;
        self.print = self.print.wrapping_add(print);
        match self
            .flights
            .binary_search_by(|flight| flight.print.cmp(&print))
        {
            Ok(index) => self.flights[index].copies += 1,
            Err(index) => self.flights.insert(
                index,
                Flight {
                    print,
                    envelope: sent.envelope.clone(),
                    copies: 1,
                },
            ),
        }
    }

    pub(crate) fn find(&self, print: u128) -> Option<&Flight> {
        let index = self.index(print)?;
        Some(&self.flights[index])
    }

    fn index(&self, print: u128) -> Option<usize> {
        self.flights
            .binary_search_by(|flight| flight.print.cmp(&print))
            .ok()
    }

    /// Take every message to node `to` out of flight.
    pub(crate) fn discard_to(&mut self, to: NodeId) {
        let mut print = self.print;
        self.flights.retain(|flight| {
            let keep = flight.envelope.to_node() != Some(to);
            if !keep {
                let copies = u128::from(flight.copies);
                print = print.wrapping_sub(flight.print.wrapping_mul(copies));
            }
            keep
        });
        self.print = print;
    }

    /// Take every copy of the message with fingerprint `print` out of
    /// flight.
    pub(crate) fn discard(&mut self, print: u128) {
        let index = self.index(print).expect("a message in flight");
        let flight = self.flights.remove(index);
        let copies = u128::from(flight.copies);
        self.print = self.print.wrapping_sub(print.wrapping_mul(copies));
    }

    /// Take one copy of the message with fingerprint `print` out of flight.
    pub(crate) fn take(&mut self, print: u128) -> Rc<Envelope> {
        let index = self.index(print).expect("a step names a message in flight");
        self.print = self.print.wrapping_sub(print);
        let flight = &mut self.flights[index];
        assert!(flight.copies >= 1);
        flight.copies -= 1;
        if flight.copies == 0 {
            self.flights.remove(index).envelope
        } else {
            flight.envelope.clone()
        }
    }
}
