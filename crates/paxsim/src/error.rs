//! The one error type the commands return: bad usage or bad input.
//!
//! A violation is not an error: it is a result, reported with exit code 1.
//! An `InputError` means the harness could not even start what was asked —
//! a malformed file, an impossible flag combination — and exits with 2.

use std::fmt;

/// What was wrong, where, and what would be right; shown as `error: ...`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InputError(pub String);

impl InputError {
    pub fn new(message: impl Into<String>) -> InputError {
        InputError(message.into())
    }
}

impl fmt::Display for InputError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl From<String> for InputError {
    fn from(message: String) -> InputError {
        InputError(message)
    }
}
