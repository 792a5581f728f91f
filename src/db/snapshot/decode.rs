//! The document the snapshot statement returns, as sent: each part absent (not asked
//! for), its fingerprint alone (unchanged), a delta (months), or whole.

use std::collections::HashMap;
use std::sync::Arc;

use chrono::{DateTime, Utc};
use serde::Deserialize;

use crate::model::snapshot::QueuedFor;
use crate::model::{LockRow, MonthRow, QueueDepth, SessionInfo};

#[derive(Deserialize)]
pub(super) struct Raw {
    pub taken_at: DateTime<Utc>,
    #[serde(default)]
    pub reader_pid: Option<i32>,
    /// How full the server's NOTIFY queue is (0–1): the relay stops publishing well
    /// before it could fill (`db::relay`).
    #[serde(default)]
    pub notify_usage: Option<f64>,
    /// What the other sessions are doing (read with the locks).
    #[serde(default)]
    pub activity: Option<Activity>,
    pub months: Option<RawPart<Vec<MonthRow>>>,
    pub locks: Option<RawLocks>,
    pub sessions: Option<RawPart<Vec<SessionInfo>>>,
    pub queue: Option<QueueWire>,
    pub processing: Option<ProcessingWire>,
}

#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub(super) struct Activity {
    pub fingerprint: String,
    /// Some session was running a statement (or its state is not known).
    pub busy: bool,
}

#[derive(Deserialize)]
pub(super) struct QueueWire {
    #[serde(flatten)]
    pub depth: QueueDepth,
    /// The sample's shares (ready, in flight, delayed) when the queue is beyond the cap.
    #[serde(default)]
    pub fractions: Option<[f64; 3]>,
    /// When the next invisible message becomes ready again.
    #[serde(default)]
    pub next_visible_at: Option<DateTime<Utc>>,
}

#[derive(Deserialize)]
pub(super) struct ProcessingWire {
    /// `None` for a deployment's own queue.
    pub rows: Option<Vec<QueuedFor>>,
}

/// A lock row as sent: a JSON array, the fields in this order (see `sql::LOCK_ROWS`;
/// serde reads a struct from an array by position).
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub(super) struct RawLock {
    pid: Option<i32>,
    granted: bool,
    classid: u32,
    objid: u32,
    objsubid: i16,
    in_this_database: bool,
    mode: String,
    waitstart: Option<DateTime<Utc>>,
    blocking_pids: Vec<i32>,
}

impl RawLock {
    /// The common shape: a granted exclusive month-key lock in this database.
    fn common(pid: i32, objid: u32) -> Self {
        Self {
            pid: Some(pid),
            granted: true,
            classid: 0,
            objid,
            objsubid: 1,
            in_this_database: true,
            mode: "ExclusiveLock".into(),
            waitstart: None,
            blocking_pids: Vec::new(),
        }
    }

    pub fn into_row(self, sessions: &HashMap<i32, SessionInfo>) -> LockRow {
        LockRow {
            holder: self.pid.and_then(|pid| sessions.get(&pid).cloned()),
            pid: self.pid,
            granted: self.granted,
            classid: self.classid,
            objid: self.objid,
            objsubid: self.objsubid,
            in_this_database: self.in_this_database,
            mode: self.mode,
            waitstart: self.waitstart,
            blocking_pids: self.blocking_pids,
        }
    }
}

#[derive(Deserialize)]
pub(super) struct RawPart<R> {
    /// `count:checksum`.
    pub fingerprint: String,
    /// Absent when the fingerprint equals the one the reader sent.
    pub rows: Option<R>,
    /// The rows are only those changed since the horizon `from`.
    #[serde(default)]
    pub delta: bool,
    #[serde(default)]
    pub from: Option<i64>,
    #[serde(default)]
    pub horizon: Option<i64>,
}

/// The lock rows as sent: the common shape (a granted exclusive month-key lock
/// in this database) as two columns, pids and keys — a fraction of the cost
/// of a JSON array per lock — and every other lock in full.
#[derive(Deserialize)]
pub(super) struct RawLocks {
    common: (Vec<i32>, Vec<u32>),
    other: Vec<RawLock>,
}

impl RawLocks {
    pub fn into_rows(self) -> Vec<RawLock> {
        let (pids, keys) = self.common;
        let common = pids.into_iter().zip(keys).map(|(pid, objid)| RawLock::common(pid, objid));
        let mut rows: Vec<RawLock> = common.chain(self.other).collect();
        // The order the console lists them in: by key, the holder before its waiters.
        rows.sort_by_key(|r| (r.classid, r.objid, r.objsubid, !r.granted, r.pid));
        rows
    }
}

/// A part as the reader keeps it between reads.
#[derive(Debug, Clone)]
pub(super) struct Part<T> {
    pub fingerprint: String,
    /// The snapshot xmin of the read (months only): the next delta starts there.
    pub horizon: Option<u32>,
    /// Shared: a part reused from one read to the next is not copied.
    pub rows: Arc<Vec<T>>,
}

/// Whether a delta that starts at horizon `from` covers every change since the read
/// that had horizon `held`: `from` is not later than `held` (32-bit transaction ids,
/// compared as PostgreSQL does, within 2³¹ of each other).
fn covers(from: Option<i64>, held: Option<u32>) -> bool {
    match (from.and_then(|f| u32::try_from(f).ok()), held) {
        (Some(from), Some(held)) => held.wrapping_sub(from) as i32 >= 0,
        _ => false,
    }
}

impl<T: Clone> RawPart<Vec<T>> {
    /// The rows sent, the known ones when the server said they are unchanged,
    /// or the known ones updated with a delta (`key` identifies a row). `None`:
    /// the part cannot be resolved from what is known (a delta that does not add up
    /// to the row count — rows were deleted —, one that starts after what is known,
    /// or a fingerprint that is not the known one): read it whole again.
    pub fn resolve(self, known: Option<&Part<T>>, key: impl Fn(&T) -> i64) -> Option<(Part<T>, bool)> {
        let horizon = self.horizon.and_then(|h| u32::try_from(h).ok());
        let reused = self.rows.is_none();
        let count: Option<usize> = self.fingerprint.split(':').next().and_then(|c| c.parse().ok());
        let rows = match (self.rows, known) {
            (Some(changed), Some(k)) if self.delta => {
                if !covers(self.from, k.horizon) {
                    return None;
                }
                let mut rows = k.rows.as_ref().clone();
                let index: HashMap<i64, usize> = rows.iter().enumerate().map(|(i, r)| (key(r), i)).collect();
                for row in changed {
                    match index.get(&key(&row)) {
                        Some(&i) => rows[i] = row,
                        None => rows.push(row),
                    }
                }
                (Some(rows.len()) == count).then(|| Arc::new(rows))?
            }
            (Some(_), None) if self.delta => return None,
            (Some(rows), _) => Arc::new(rows),
            (None, Some(k)) if k.fingerprint == self.fingerprint => Arc::clone(&k.rows),
            (None, _) => return None,
        };
        Some((Part { fingerprint: self.fingerprint, horizon, rows }, reused))
    }
}

#[cfg(test)]
mod tests {
    use super::covers;

    #[test]
    fn a_delta_covers_what_is_held_only_when_it_starts_no_later() {
        assert!(covers(Some(100), Some(100)));
        assert!(covers(Some(99), Some(100)));
        assert!(!covers(Some(101), Some(100)));
        // Across the wrap of 32-bit transaction ids.
        assert!(covers(Some(4_294_967_290), Some(5)));
        assert!(!covers(Some(5), Some(4_294_967_290)));
        assert!(!covers(None, Some(5)));
        assert!(!covers(Some(5), None));
    }
}
