//! How client operations, their results, a key's state and faults read in
//! reports, traces and the timeline: values as JSON, never Rust's debug
//! form. One place, so every report says them the same way.

use paxos::{ClientId, Op, OpResult, Reply, Value};

use crate::faults::{FaultAction, Partition};

/// `client 3 seq 4: Put(user_profile:1, {"name":"Alice"})`.
pub fn request(client: ClientId, seq: u64, op: &Op) -> String {
    format!("client {client} seq {seq}: {op}")
}

/// An operation's argument as JSON: the value a Put writes,
/// `{"expected_version":3,"value":...}` for a Cas, empty for a Get.
pub fn op_input(op: &Op) -> String {
    match op {
        Op::Put { value, .. } => value.to_string(),
        Op::Get { .. } => String::new(),
        Op::Cas {
            expected_version,
            value,
            ..
        } => serde_json::json!({
            "expected_version": expected_version,
            "value": value.as_ref(),
        })
        .to_string(),
    }
}

/// A result as JSON: `{"version":3}` for a write, `{"value":...,"version":3}`
/// for a read (`{"value":null,"version":0}`: not found),
/// `{"ok":true,"version":3}` or `{"current_version":2,"ok":false}` for a Cas.
pub fn result(result: &OpResult) -> String {
    let json = match result {
        OpResult::Put { version } => serde_json::json!({ "version": version }),
        OpResult::Get { found: None } => serde_json::json!({ "value": null, "version": 0 }),
        OpResult::Get {
            found: Some((value, version)),
        } => serde_json::json!({ "value": value.as_ref(), "version": version }),
        OpResult::CasOk { version } => serde_json::json!({ "ok": true, "version": version }),
        OpResult::CasConflict { current_version } => {
            serde_json::json!({ "ok": false, "current_version": current_version })
        }
    };
    json.to_string()
}

/// A reply as a client reads it: the result as JSON, or the redirect.
pub fn reply(reply: &Reply) -> String {
    match reply {
        Reply::Done(done) => result(done),
        Reply::Redirect {
            leader: Some(leader),
        } => format!("redirect to n{leader}"),
        Reply::Redirect { leader: None } => "redirect (leader unknown)".into(),
    }
}

/// A key's state: `v2 {"name":"Bob"}`, or `v0 (absent)`.
pub fn state(version: u64, value: Option<&Value>) -> String {
    match value {
        Some(value) if version > 0 => format!("v{version} {value}"),
        _ => format!("v{version} (absent)"),
    }
}

/// A fault as a scenario file writes it: `{"fault":"crash","node":1}`.
pub fn fault(action: &FaultAction) -> String {
    serde_json::to_string(action).expect("a fault action serializes")
}

/// A partition as a scenario file writes it: `{"shape":"isolate","node":1}`.
pub fn partition(partition: &Partition) -> String {
    serde_json::to_string(partition).expect("a partition serializes")
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::*;

    #[test]
    fn results_and_inputs_are_json() {
        let value: Value = Arc::new(serde_json::json!({ "name": "Alice" }));
        let found = OpResult::Get {
            found: Some((value.clone(), 3)),
        };
        assert_eq!(result(&found), r#"{"value":{"name":"Alice"},"version":3}"#);
        assert_eq!(
            result(&OpResult::Get { found: None }),
            r#"{"value":null,"version":0}"#
        );
        assert_eq!(
            result(&OpResult::CasConflict { current_version: 2 }),
            r#"{"current_version":2,"ok":false}"#
        );
        let cas = Op::Cas {
            key: "k".into(),
            expected_version: 1,
            value: value.clone(),
        };
        assert_eq!(
            op_input(&cas),
            r#"{"expected_version":1,"value":{"name":"Alice"}}"#
        );
        assert_eq!(state(3, Some(&value)), r#"v3 {"name":"Alice"}"#);
        assert_eq!(state(0, None), "v0 (absent)");
        let crash = FaultAction::Crash {
            node: 1,
            down_us: Some(5),
        };
        assert_eq!(fault(&crash), r#"{"fault":"crash","node":1,"down_us":5}"#);
    }
}
