//! Releasing a month lock from outside (SPEC §4): what the operator chose and what came of it.

use chrono::{DateTime, Utc};
use serde::Serialize;

use crate::model::lock_key::YearMonth;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Method {
    /// `pg_terminate_backend`: ends the session; its open transaction rolls back.
    Terminate,
    /// `pg_cancel_backend`: cancels the running query only (an idle session keeps its locks).
    Cancel,
}

/// What the operator saw: this session holds this month's lock.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Target {
    pub pid: i32,
    pub backend_start: DateTime<Utc>,
    pub month: YearMonth,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "outcome", rename_all = "snake_case")]
pub enum Outcome {
    /// Signalled; `lock_released` says whether the lock was gone when we looked.
    Done { lock_released: bool },
    /// Not signalled: the pid ended, was reused, or no longer holds the key.
    Refused { reason: String },
}
