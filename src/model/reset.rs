//! Resetting stuck months (SPEC §4): the months a reset considers and what it did.

use chrono::{DateTime, Utc};
use serde::Serialize;

use crate::model::lock_key::YearMonth;

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct StuckMonthRow {
    pub month: YearMonth,
    pub started_at: Option<DateTime<Utc>>,
    pub retry_count: i32,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct ResetReport {
    /// A plan: the routine ran and was rolled back.
    pub dry_run: bool,
    /// Months reset, with their new status (`retry`, or `failed` when retries ran out).
    #[serde(serialize_with = "named_resets")]
    pub reset: Vec<(YearMonth, String)>,
    /// Left alone: a live session holds the month's lock.
    pub skipped_locked: Vec<YearMonth>,
    /// Left alone: no longer processing or no longer old enough when we got there.
    pub skipped_changed: Vec<YearMonth>,
    /// Left alone: its message is still in the queue (a consumer stall, not a stuck
    /// month: a reset would let the claim routine queue its work a second time).
    pub skipped_queued: Vec<QueuedMonth>,
}

/// The months reset as objects with named fields: `{"year": 2023, "month": 1, "status": "retry"}`.
fn named_resets<S: serde::Serializer>(reset: &[(YearMonth, String)], s: S) -> Result<S::Ok, S::Error> {
    #[derive(Serialize)]
    struct Reset<'a> {
        year: i32,
        month: i32,
        status: &'a str,
    }
    s.collect_seq(reset.iter().map(|(m, status)| Reset { year: m.year, month: m.month, status }))
}

/// A month left alone because its message is still in the queue.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct QueuedMonth {
    #[serde(serialize_with = "crate::model::months::as_text::one")]
    pub month: YearMonth,
    pub msg_id: i64,
}

impl QueuedMonth {
    pub fn describe(&self) -> String {
        format!("its message #{} is still in the queue: a consumer stall, not a stuck month", self.msg_id)
    }
}
