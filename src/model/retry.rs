//! Retrying failed months (`failed` → `retry`, for the claim routine to take again):
//! what was asked and what came of each month.

use serde::Serialize;

use super::lock_key::YearMonth;
use super::months;
use super::status::Status;

/// Why a chosen month was not retried.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "reason", rename_all = "snake_case")]
pub enum RetrySkip {
    /// Its `retry_count` reached the cap; only `--reset-count` retries it.
    AtRetryCap { retry_count: i32 },
    /// A live session holds the month's lock (a worker or a scheduler is on it).
    Locked,
    /// Its message is still in the queue: a consumer may yet take it.
    Queued { msg_id: i64 },
    /// It is not `failed` (any more): only failed months go back to retry.
    Status { status: Status },
    /// No such month in `backfill_log`.
    Missing,
}

impl RetrySkip {
    pub fn describe(&self) -> String {
        match self {
            RetrySkip::AtRetryCap { retry_count } => {
                format!("at the retry cap ({retry_count} retries; only a retry that resets the count takes it)")
            }
            RetrySkip::Locked => "a live session holds its lock".into(),
            RetrySkip::Queued { msg_id } => {
                format!("its message #{msg_id} is still in the queue (a consumer may yet take it)")
            }
            RetrySkip::Status { status } => format!("it is {} (only failed months are retried)", status.as_str()),
            RetrySkip::Missing => "not in backfill_log".into(),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Skipped {
    #[serde(serialize_with = "month_text")]
    pub month: YearMonth,
    #[serde(flatten)]
    pub why: RetrySkip,
}

fn month_text<S: serde::Serializer>(month: &YearMonth, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(&month.to_string())
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct RetryReport {
    /// Nothing was changed: the same routine ran and was rolled back.
    pub dry_run: bool,
    /// The retry count of the retried months was set back to 0 (audited as such).
    pub reset_count: bool,
    /// Months now `retry` (or that would be, in a dry run), oldest first.
    #[serde(serialize_with = "months::as_text::serialize")]
    pub retried: Vec<YearMonth>,
    pub skipped: Vec<Skipped>,
    /// The one audit row of the whole action.
    pub audit_id: Option<i64>,
}
