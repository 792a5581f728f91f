//! The dead-letter table: messages that failed their third delivery, by reason, and
//! what a redrive (back to the queue) or a purge did with them.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use serde::Serialize;

use super::lock_key::YearMonth;
use super::status::Status;

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct DeadMessage {
    pub msg_id: i64,
    /// The month the message is for (from its payload), when it names one.
    #[serde(serialize_with = "month_text")]
    pub month: Option<YearMonth>,
    /// That month's status now (`None`: no such month).
    pub month_status: Option<Status>,
    pub read_count: i32,
    pub enqueued_at: DateTime<Utc>,
    pub dead_at: DateTime<Utc>,
    pub reason: Option<String>,
    pub message: serde_json::Value,
}

fn month_text<S: serde::Serializer>(month: &Option<YearMonth>, s: S) -> Result<S::Ok, S::Error> {
    match month {
        Some(m) => s.serialize_str(&m.to_string()),
        None => s.serialize_none(),
    }
}

/// Messages per redrive chunk when no rate is asked for (each chunk one transaction).
pub const CHUNK: usize = 500;

/// The rates the console offers for a redrive, messages a minute (`None`: as fast as it goes).
pub const CONSOLE_RATES: [Option<u32>; 4] = [None, Some(60), Some(600), Some(6000)];

/// Chunk size and the pause between chunks for a rate (messages a minute): a chunk
/// every second when the rate allows, else one message a chunk.
pub fn pacing(per_minute: Option<f64>) -> (usize, std::time::Duration) {
    use std::time::Duration;
    match per_minute {
        None => (CHUNK, Duration::ZERO),
        Some(r) if r >= 60.0 => (((r / 60.0).ceil() as usize).max(1), Duration::from_secs(1)),
        Some(r) => (1, Duration::from_secs_f64(60.0 / r.max(1.0))),
    }
}

/// The messages of one reason.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct DeadReason {
    pub reason: String,
    pub count: usize,
    pub msg_ids: Vec<i64>,
}

/// The reason of a message as grouped (a message without one is grouped as "(no reason)").
pub fn reason_of(message: &DeadMessage) -> &str {
    message.reason.as_deref().filter(|r| !r.trim().is_empty()).unwrap_or("(no reason)")
}

/// Messages grouped by reason, the most frequent first.
pub fn by_reason(messages: &[DeadMessage]) -> Vec<DeadReason> {
    let mut groups: BTreeMap<&str, Vec<i64>> = BTreeMap::new();
    for m in messages {
        groups.entry(reason_of(m)).or_default().push(m.msg_id);
    }
    let mut all: Vec<DeadReason> = groups
        .into_iter()
        .map(|(reason, msg_ids)| DeadReason { reason: reason.to_string(), count: msg_ids.len(), msg_ids })
        .collect();
    all.sort_by(|a, b| b.count.cmp(&a.count).then_with(|| a.reason.cmp(&b.reason)));
    all
}

/// Why a chosen message was not redriven.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "reason", rename_all = "snake_case")]
pub enum RedriveSkip {
    /// Its month is `completed` since: sending it again would redo finished work
    /// (only `--force` sends it).
    MonthCompleted,
    /// Not in the dead-letter table (any more): redriven or purged meanwhile.
    Gone,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SkippedMessage {
    pub msg_id: i64,
    #[serde(flatten)]
    pub why: RedriveSkip,
}

/// What a redrive did (or, `dry_run`, would do). Each chunk is its own committed,
/// audited transaction: `moved` lists what was committed before any stop.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct RedriveReport {
    pub dry_run: bool,
    pub moved: Vec<i64>,
    pub skipped: Vec<SkippedMessage>,
    /// How many chunks were committed.
    pub chunks: usize,
    /// Stopped before the end (cancelled): `remaining` were not tried.
    pub stopped: bool,
    pub remaining: Vec<i64>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct PurgeReport {
    pub purged: Vec<i64>,
    /// Chosen but no longer in the table.
    pub gone: Vec<i64>,
    pub audit_id: Option<i64>,
}

/// Message ids as compact ranges: `1..4, 7`.
pub fn compact_ids(ids: &[i64]) -> String {
    let mut sorted = ids.to_vec();
    sorted.sort_unstable();
    sorted.dedup();
    let mut parts = Vec::new();
    let mut i = 0;
    while i < sorted.len() {
        let start = sorted[i];
        while i + 1 < sorted.len() && sorted[i + 1] == sorted[i] + 1 {
            i += 1;
        }
        parts.push(if sorted[i] == start { start.to_string() } else { format!("{start}..{}", sorted[i]) });
        i += 1;
    }
    parts.join(", ")
}
