//! The flight recorder's format: one JSON document a line — a header, then what was seen
//! (a whole snapshot first, then deltas) and what was done, each with its time. Pure:
//! the deltas are computed and applied here; the file is written and read at the edges.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::model::progress::History;
use crate::model::snapshot::{Duplicate, LockRow, MonthRow, QueueDepth, QueuedFor, Snapshot};

/// The format written; a reader refuses a newer one. 2 added `link_lost` and `stopped`.
pub const FORMAT: u32 = 2;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Entry {
    /// When it happened (a snapshot: when the server read it).
    pub t: DateTime<Utc>,
    #[serde(flatten)]
    pub what: What,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum What {
    /// The first line of every file.
    Header(Header),
    /// A whole snapshot (the first of a file, and after a gap).
    Snapshot(Box<Snapshot>),
    /// What changed since the snapshot before.
    Delta(Box<Delta>),
    /// The operator confirmed an action: what the dialog said would be done, and the
    /// request itself as data (`model::job::Job`; absent in files written before it was).
    Requested {
        title: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        job: Option<serde_json::Value>,
    },
    /// An action's outcome, in the words the console showed, and as data
    /// (`model::job::JobResult`; absent in files written before it was).
    Outcome {
        title: String,
        lines: Vec<String>,
        ok: bool,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        result: Option<serde_json::Value>,
    },
    /// The console (re)connected to this server version.
    Connected { server_version: String },
    /// The link to the database went down (the console keeps the last data, marked stale,
    /// and reconnects); the next `connected` ends the outage.
    LinkLost { error: String },
    /// The recording stopped before the console did (the last line of a file that could
    /// still take one).
    Stopped { reason: String },
    /// The writer fell behind and dropped this many entries (the draw loop never waits for it).
    Gap { dropped: u64 },
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Header {
    pub format: u32,
    /// `user@host:port/db` — never a password.
    pub target: String,
    pub mode: Mode,
    pub server_version: Option<String>,
}

/// What was recorded: the console, or the `watch` wall monitor. Written `console` or
/// `watch`; any other word in a file is read as the console (as before there was a type).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase", from = "String")]
pub enum Mode {
    Console,
    Watch,
}

impl Mode {
    pub fn as_str(self) -> &'static str {
        match self {
            Mode::Console => "console",
            Mode::Watch => "watch",
        }
    }
}

impl From<String> for Mode {
    fn from(word: String) -> Self {
        if word == "watch" { Mode::Watch } else { Mode::Console }
    }
}

/// A snapshot as the difference from the one before.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Delta {
    pub taken_at: DateTime<Utc>,
    pub reader_pid: Option<i32>,
    /// Rows new or changed.
    pub months: Vec<MonthRow>,
    /// Ids of rows gone.
    pub removed: Vec<i32>,
    /// All lock rows, when any changed.
    pub locks: Option<Vec<LockRow>>,
    pub queue: QueueDepth,
    /// The processing months' messages (always: a few dozen small rows).
    #[serde(default)]
    pub processing: Option<Vec<QueuedFor>>,
    /// When they changed.
    pub duplicates: Option<Vec<Duplicate>>,
    /// When it changed.
    pub history: Option<History>,
}

/// What `new` changed from `old`.
pub fn delta(old: &Snapshot, new: &Snapshot) -> Delta {
    let before: BTreeMap<i32, &MonthRow> = old.months.iter().map(|m| (m.id, m)).collect();
    let now: BTreeMap<i32, &MonthRow> = new.months.iter().map(|m| (m.id, m)).collect();
    let changed = new.months.iter().filter(|m| before.get(&m.id).is_none_or(|b| *b != *m)).cloned().collect();
    let removed = before.keys().filter(|id| !now.contains_key(id)).copied().collect();
    Delta {
        taken_at: new.taken_at,
        reader_pid: new.reader_pid,
        months: changed,
        removed,
        locks: (old.locks != new.locks).then(|| new.locks.clone()),
        queue: new.queue.clone(),
        processing: new.processing.clone(),
        duplicates: (old.duplicates != new.duplicates).then(|| new.duplicates.clone()),
        history: (old.history != new.history).then(|| new.history.clone()).flatten(),
    }
}

/// The snapshot `d` describes, from the one before it.
pub fn apply(base: &Snapshot, d: &Delta) -> Snapshot {
    let mut months: BTreeMap<i32, MonthRow> = base.months.iter().map(|m| (m.id, m.clone())).collect();
    for id in &d.removed {
        months.remove(id);
    }
    for m in &d.months {
        months.insert(m.id, m.clone());
    }
    let mut snapshot = Snapshot {
        taken_at: d.taken_at,
        reader_pid: d.reader_pid,
        months: months.into_values().collect(),
        locks: d.locks.clone().unwrap_or_else(|| base.locks.clone()),
        queue: d.queue.clone(),
        processing: d.processing.clone(),
        duplicates: d.duplicates.clone().unwrap_or_else(|| base.duplicates.clone()),
        history: d.history.clone().or_else(|| base.history.clone()),
    };
    snapshot.sort_months();
    snapshot
}

/// What a lock holder's query becomes in a recording made without `--record-queries`.
pub const QUERY_NOT_RECORDED: &str = "(query text not recorded; --record-queries keeps it)";

/// Every text a recording keeps from the database, without passwords: lock holders'
/// application names, and the months' errors; the holders' queries only when `queries`
/// (any session's statement may carry a secret in a spelling no redaction foresees).
pub fn redact(snapshot: &mut Snapshot, queries: bool) {
    for lock in &mut snapshot.locks {
        if let Some(holder) = &mut lock.holder {
            if let Some(query) = &mut holder.query {
                *query = if queries { crate::redact::secrets(query) } else { QUERY_NOT_RECORDED.to_string() };
            }
            if let Some(name) = &mut holder.application_name {
                *name = crate::redact::secrets(name);
            }
        }
    }
    for month in &mut snapshot.months {
        if let Some(error) = &mut month.error {
            *error = crate::redact::secrets(error);
        }
    }
}

#[cfg(test)]
#[path = "recording_tests.rs"]
mod tests;
