//! The replicated state machine: a versioned key-value map with a
//! per-client dedup table.
//!
//! Every key starts at version 0 (absent). Each applied write adds exactly 1.
//! `Cas` writes only when the key's version equals `expected_version`, so a
//! `Cas` with expected version 0 creates an absent key.
//!
//! The dedup table keeps, per client, the sequence number and result of the
//! last request applied. Clients issue requests in sequence order, so a
//! request whose sequence number is not above the last applied one is a
//! retry (answered from the table) or stale (the client gave up on it).

use std::collections::BTreeMap;

use crate::command::{ClientId, Key, Op, OpResult, Request, Value};
use crate::fingerprint::{Fingerprint, json_fingerprint, str_fingerprint};

/// What applying a request did.
#[derive(Clone, Debug, PartialEq)]
pub enum Applied {
    /// Applied now, with this result.
    Fresh(OpResult),
    /// Already applied: this is the recorded result.
    Duplicate(OpResult),
    /// Older than the client's last applied request: ignored.
    Stale,
}

#[derive(Clone, Debug, Default)]
pub struct Kv {
    entries: BTreeMap<Key, (Value, u64)>,
    sessions: BTreeMap<ClientId, (u64, OpResult)>,
}

impl Kv {
    /// The value and version of `key`, if it was ever written.
    pub fn get(&self, key: &str) -> Option<(Value, u64)> {
        self.entries.get(key).cloned()
    }

    pub fn version(&self, key: &str) -> u64 {
        self.entries.get(key).map_or(0, |(_, version)| *version)
    }

    /// All keys in order, with value and version.
    pub fn entries(&self) -> impl Iterator<Item = (&Key, &(Value, u64))> {
        self.entries.iter()
    }

    /// What the dedup table says of `(client, seq)`: `Some(result)` for the
    /// last applied request, `Some(None)` for an older one, `None` if new.
    pub fn session(&self, client: ClientId, seq: u64) -> Option<Option<&OpResult>> {
        let (seq_last, result) = self.sessions.get(&client)?;
        if seq == *seq_last {
            Some(Some(result))
        } else if seq < *seq_last {
            Some(None)
        } else {
            None
        }
    }

    /// Apply `request` unless the dedup table shows it was applied already.
    /// `dedup: false` is the `no-client-dedup` flaw's path.
    pub fn apply(&mut self, request: &Request, dedup: bool) -> Applied {
        if dedup {
            match self.session(request.client, request.seq) {
                Some(Some(result)) => return Applied::Duplicate(result.clone()),
                Some(None) => return Applied::Stale,
                None => {}
            }
        }
        let result = self.execute(&request.op);
        let seq_last = self
            .sessions
            .get(&request.client)
            .map_or(0, |(seq, _)| *seq);
        self.sessions
            .insert(request.client, (request.seq.max(seq_last), result.clone()));
        Applied::Fresh(result)
    }

    /// Execute an operation against the map, ignoring the dedup table.
    pub fn execute(&mut self, op: &Op) -> OpResult {
        match op {
            Op::Get { key } => OpResult::Get {
                found: self.get(key),
            },
            Op::Put { key, value } => OpResult::Put {
                version: self.write(key, value),
            },
            Op::Cas {
                key,
                expected_version,
                value,
            } => {
                let current_version = self.version(key);
                if current_version == *expected_version {
                    OpResult::CasOk {
                        version: self.write(key, value),
                    }
                } else {
                    OpResult::CasConflict { current_version }
                }
            }
        }
    }

    fn write(&mut self, key: &Key, value: &Value) -> u64 {
        let version_before = self.version(key);
        let version = version_before + 1;
        self.entries.insert(key.clone(), (value.clone(), version));
        assert_eq!(self.version(key), version_before + 1);
        version
    }
}

impl Fingerprint for Kv {
    fn fingerprint<H: std::hash::Hasher>(&self, state: &mut H) {
        let Kv { entries, sessions } = self;
        state.write_usize(entries.len());
        for (key, (value, version)) in entries {
            str_fingerprint(key, state);
            json_fingerprint(value, state);
            state.write_u64(*version);
        }
        state.write_usize(sessions.len());
        for (client, (seq, result)) in sessions {
            state.write_u32(*client);
            state.write_u64(*seq);
            result.fingerprint(state);
        }
    }
}
