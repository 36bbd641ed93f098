//! What the log orders: client requests and no-ops, and what applying them returns.

use serde::{Deserialize, Serialize};
use std::sync::Arc;

/// A key such as `user_profile:123`. Shared, so moving it costs a reference count.
pub type Key = Arc<str>;

/// A JSON document such as `{"name": "Alice", "email": "alice@example.com"}`.
/// Shared, so a value travels between nodes without a deep copy.
pub type Value = Arc<serde_json::Value>;

/// A client's identity. Each client numbers its requests `1, 2, 3, ...`.
pub type ClientId = u32;

/// One key-value operation.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub enum Op {
    /// Write `value`; returns the key's new version.
    Put { key: Key, value: Value },
    /// Read; returns `(value, version)` or not-found. Goes through the log.
    Get { key: Key },
    /// Write `value` only if the key's version is `expected_version`.
    Cas {
        key: Key,
        expected_version: u64,
        value: Value,
    },
}

impl Op {
    pub fn key(&self) -> &Key {
        match self {
            Op::Put { key, .. } | Op::Get { key } | Op::Cas { key, .. } => key,
        }
    }

    pub fn is_write(&self) -> bool {
        !matches!(self, Op::Get { .. })
    }
}

/// A client request: `(client, seq)` names it uniquely, and a retry of the
/// same request carries the same pair, which is what deduplication keys on.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Request {
    pub client: ClientId,
    pub seq: u64,
    pub op: Op,
}

/// The result of applying an operation.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub enum OpResult {
    Put { version: u64 },
    Get { found: Option<(Value, u64)> },
    CasOk { version: u64 },
    CasConflict { current_version: u64 },
}

/// An entry of the replicated log.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub enum Command {
    /// Fills a slot that a new leader found empty, so later slots can execute.
    Noop,
    Client(Arc<Request>),
}

impl Command {
    /// The `(client, seq)` of a client command.
    pub fn request_id(&self) -> Option<(ClientId, u64)> {
        match self {
            Command::Noop => None,
            Command::Client(request) => Some((request.client, request.seq)),
        }
    }

    /// Same command: both no-ops, or the same request. A retried request is
    /// the same command even when it arrives as a different allocation.
    pub fn same_as(&self, other: &Command) -> bool {
        #[cfg(feature = "flaws")]
        if crate::flaws::in_shared_code(crate::flaws::Flaw::SameAsAlwaysTrue) {
            // Flaw same-as-always-true: a comparison that says yes to
            // everything (a match arm returning `true` for any pair).
            return true;
        }
        match (self, other) {
            (Command::Noop, Command::Noop) => true,
            (Command::Client(a), Command::Client(b)) => Arc::ptr_eq(a, b) || a == b,
            _ => false,
        }
    }
}

/// What a node tells a client.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub enum Reply {
    /// The request was applied (now or earlier, answered from the dedup table).
    Done(OpResult),
    /// This node does not lead; try `leader` if known.
    Redirect { leader: Option<u8> },
}

impl std::fmt::Display for Op {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Op::Put { key, value } => write!(f, "Put({key}, {value})"),
            Op::Get { key } => write!(f, "Get({key})"),
            Op::Cas {
                key,
                expected_version,
                value,
            } => write!(f, "Cas({key}, v{expected_version}, {value})"),
        }
    }
}

impl std::fmt::Display for Command {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Command::Noop => f.write_str("no-op"),
            Command::Client(request) => {
                write!(f, "c{}#{} {}", request.client, request.seq, request.op)
            }
        }
    }
}

impl std::fmt::Display for OpResult {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            OpResult::Put { version } => write!(f, "ok v{version}"),
            OpResult::Get { found: None } => f.write_str("not found"),
            OpResult::Get {
                found: Some((value, version)),
            } => write!(f, "{value} v{version}"),
            OpResult::CasOk { version } => write!(f, "cas ok v{version}"),
            OpResult::CasConflict { current_version } => {
                write!(f, "cas conflict at v{current_version}")
            }
        }
    }
}

impl std::fmt::Display for Reply {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Reply::Done(result) => write!(f, "{result}"),
            Reply::Redirect {
                leader: Some(leader),
            } => write!(f, "redirect to n{leader}"),
            Reply::Redirect { leader: None } => f.write_str("redirect (leader unknown)"),
        }
    }
}
