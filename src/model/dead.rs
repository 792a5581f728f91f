//! The dead-letter table: messages that failed their third delivery, by reason, and
//! what a redrive (back to the queue) or a purge did with them.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use serde::Serialize;

use super::lock_key::YearMonth;
use super::payload::Payload;
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
    /// Read as text and parsed here: a payload nested too deep is shown as unreadable.
    pub message: Payload,
}

/// What the dead-letter view and `dead list` read: every reason with its count (exact),
/// and the newest messages (at most the limit asked for, payloads included).
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct DeadLetters {
    pub total: i64,
    pub reasons: Vec<DeadReason>,
    pub messages: Vec<DeadMessage>,
    /// When it was read (the server's clock): a purge of a reason touches nothing newer.
    pub read_at: Option<DateTime<Utc>>,
}

impl DeadLetters {
    /// The messages of one reason among those read, newest first.
    pub fn messages_of(&self, reason: &str) -> Vec<&DeadMessage> {
        self.messages.iter().filter(|m| reason_of(m) == reason).collect()
    }
}

/// Which dead letters an action takes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Which {
    All,
    Reason(String),
    Ids(Vec<i64>),
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

/// The dead letters of one reason: how many, and the newest one's time.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct DeadReason {
    pub reason: String,
    pub count: i64,
    pub newest: DateTime<Utc>,
}

/// The reason of a message as grouped (a message without one is grouped as "(no reason)").
pub fn reason_of(message: &DeadMessage) -> &str {
    message.reason.as_deref().filter(|r| !r.trim().is_empty()).unwrap_or("(no reason)")
}

/// Why a chosen message was not redriven.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "reason", rename_all = "snake_case")]
pub enum RedriveSkip {
    /// Its month is `completed` since: sending it again would redo finished work
    /// (only `--force` sends it).
    MonthCompleted,
    /// Its month is `processing`: a worker has it, or it is stuck (reset it first; only
    /// `--force` sends it).
    MonthProcessing,
    /// Its month has a live message already (ready, in flight or delayed): a second
    /// one would have its work done twice. Never sent, not even forced.
    LiveMessage { msg_id: i64 },
    /// A live session holds its month's lock (a worker on it, or a claim under way).
    MonthLocked,
    /// A message with the same `msg_id` is in the queue already.
    AlreadyQueued,
    /// Not in the dead-letter table (any more): redriven or purged meanwhile.
    Gone,
}

impl RedriveSkip {
    pub fn describe(&self) -> String {
        match self {
            RedriveSkip::MonthCompleted => "its month is completed since (force sends it anyway)".into(),
            RedriveSkip::MonthProcessing => {
                "its month is processing: a worker has it, or it is stuck (reset it first; force sends it anyway)"
                    .into()
            }
            RedriveSkip::LiveMessage { msg_id } => {
                format!("its month's message #{msg_id} is still in the queue: a second one would do the work twice")
            }
            RedriveSkip::MonthLocked => "a live session holds its month's lock".into(),
            RedriveSkip::AlreadyQueued => "a message with this msg_id is in the queue already".into(),
            RedriveSkip::Gone => "no longer in the dead-letter table".into(),
        }
    }
}

/// A month a redrive claimed for its message (`pending`/`retry`/`failed` → `processing`),
/// so that the claim routine never queues it a second time.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ClaimedFor {
    pub msg_id: i64,
    #[serde(serialize_with = "super::months::as_text::one")]
    pub month: YearMonth,
    pub was: Status,
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
    /// The months claimed for a moved message.
    pub claimed: Vec<ClaimedFor>,
    pub skipped: Vec<SkippedMessage>,
    /// How many chunks were committed.
    pub chunks: usize,
    /// Stopped before the end (cancelled, or an error): `remaining` were not tried (the
    /// chunk that failed rolled back whole).
    pub stopped: bool,
    pub remaining: Vec<i64>,
    /// What stopped it, when an error did (a lost link).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct PurgeReport {
    pub purged: Vec<i64>,
    /// Chosen but no longer in the table.
    pub gone: Vec<i64>,
    pub audit_id: Option<i64>,
}

/// A chosen dead letter as a redrive chunk found it: its month's key (none when the
/// message names no month), and whether that month's lock was taken.
#[derive(Debug, Clone, Copy)]
pub struct Chosen {
    pub key: Option<i32>,
    pub locked: bool,
}

/// A locked month as read after its lock was taken.
#[derive(Debug, Clone, Default)]
pub struct MonthState {
    /// Its `backfill_log` id (none: no such month).
    pub row: Option<i32>,
    pub status: Option<Status>,
    /// A live message of it (ready, in flight or delayed).
    pub live: Option<i64>,
}

/// A month to claim for a message.
#[derive(Debug, Clone)]
pub struct Claim {
    pub msg_id: i64,
    pub row: i32,
    pub month: YearMonth,
    pub was: Status,
}

/// What one redrive chunk does with each chosen message.
#[derive(Debug, Default)]
pub struct Decisions {
    /// Moved as they are (no month, or forced).
    pub movable: Vec<i64>,
    /// Moved once their month is claimed for them.
    pub claim: Vec<Claim>,
    pub skipped: Vec<SkippedMessage>,
}

/// Each message's fate (`ids` in order), so that no month ever gets a second live
/// message: one with a live message keeps only that one (forced or not); of two dead
/// letters of one month, the first goes; a `completed` or `processing` month waits for
/// `force`; a `pending`/`retry`/`failed` month is claimed for its message; a message
/// that names no month goes as it is.
pub fn redrive_decisions(
    ids: &[i64],
    found: &BTreeMap<i64, Chosen>,
    state: &BTreeMap<i32, MonthState>,
    queued: &[i64],
    force: bool,
) -> Decisions {
    let mut d = Decisions::default();
    // The month given a message in this chunk, by which message.
    let mut given: BTreeMap<i32, i64> = BTreeMap::new();
    for &msg_id in ids {
        let skip = |why| SkippedMessage { msg_id, why };
        let Some(chosen) = found.get(&msg_id) else {
            d.skipped.push(skip(RedriveSkip::Gone));
            continue;
        };
        if queued.contains(&msg_id) {
            d.skipped.push(skip(RedriveSkip::AlreadyQueued));
            continue;
        }
        let Some(key) = chosen.key else {
            d.movable.push(msg_id);
            continue;
        };
        if !chosen.locked {
            d.skipped.push(skip(RedriveSkip::MonthLocked));
            continue;
        }
        let month = state.get(&key).cloned().unwrap_or_default();
        if let Some(other) = month.live.or_else(|| given.get(&key).copied()) {
            d.skipped.push(skip(RedriveSkip::LiveMessage { msg_id: other }));
            continue;
        }
        match (month.row, month.status, YearMonth::new(key / 100, key % 100)) {
            (Some(_), Some(Status::Completed), _) if !force => d.skipped.push(skip(RedriveSkip::MonthCompleted)),
            (Some(_), Some(Status::Processing), _) if !force => d.skipped.push(skip(RedriveSkip::MonthProcessing)),
            (Some(row), Some(was @ (Status::Pending | Status::Retry | Status::Failed)), Some(ym)) => {
                given.insert(key, msg_id);
                d.claim.push(Claim { msg_id, row, month: ym, was });
            }
            // Forced, a status of its own, or no such month: it goes as it is.
            _ => {
                given.insert(key, msg_id);
                d.movable.push(msg_id);
            }
        }
    }
    d
}

impl RedriveReport {
    /// Every message the plan weighed (moved or left alone, but not gone): what a
    /// confirmed redrive takes, so it acts on exactly what the plan showed.
    pub fn considered(&self) -> Vec<i64> {
        let mut ids: Vec<i64> = self
            .moved
            .iter()
            .copied()
            .chain(self.skipped.iter().filter(|s| s.why != RedriveSkip::Gone).map(|s| s.msg_id))
            .collect();
        ids.sort_unstable();
        ids
    }
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
