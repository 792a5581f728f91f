//! What a reader keeps between reads: every part of the last snapshot with its
//! fingerprint, so that the next read asks only for what it needs and the server
//! sends only what changed — and so that a document read by another console (the
//! relay) can be applied to it.

use std::collections::HashMap;
use std::sync::Arc;

use chrono::{DateTime, Utc};

use super::decode::{Activity, Part, Raw, RawLock};
use super::sql::Known;
use crate::model::snapshot::QueuedFor;
use crate::model::{MonthRow, QueueDepth, SessionInfo, Snapshot};

#[derive(Debug, Clone, Default)]
pub struct ReadCache {
    months: Option<Part<MonthRow>>,
    locks: Option<Arc<Vec<RawLock>>>,
    /// The activity seen with the locks held (their read, or a later one that found
    /// nothing could have changed them).
    activity: Option<Activity>,
    sessions: Option<Part<SessionInfo>>,
    queue: Option<QueueDepth>,
    fractions: Option<[f64; 3]>,
    next_visible_at: Option<DateTime<Utc>>,
    /// `Some(None)`: read, and not known (a deployment's own queue).
    processing: Option<Option<Vec<QueuedFor>>>,
    reused: (bool, bool),
    months_sent: usize,
    notify_usage: Option<f64>,
}

impl ReadCache {
    /// Whether the read that made this cache reused the months it was given (the
    /// server sent their fingerprint alone), and whether the lock rows were the same.
    pub fn reused(&self) -> (bool, bool) {
        self.reused
    }

    /// How many month rows the server sent in that read (all, a delta, or none).
    pub fn months_sent(&self) -> usize {
        self.months_sent
    }

    /// Whether every part is held (a read that asks for fewer parts needs them all).
    pub fn is_complete(&self) -> bool {
        self.months.is_some()
            && self.locks.is_some()
            && self.sessions.is_some()
            && self.queue.is_some()
            && self.processing.is_some()
    }

    /// When the next invisible queue message becomes ready again: the queue's figures
    /// change then with nothing written (no notification tells of it).
    pub fn next_visible_at(&self) -> Option<DateTime<Utc>> {
        self.next_visible_at
    }

    /// Whether the last queue read found it beyond the exact cap (its figures sampled).
    pub fn queue_sampled(&self) -> bool {
        self.fractions.is_some()
    }

    /// How full the server's NOTIFY queue was at the last read (0–1).
    pub fn notify_usage(&self) -> Option<f64> {
        self.notify_usage
    }

    /// The fingerprints this cache sends with the next read.
    pub fn known_fingerprints(&self) -> Known<'_> {
        Known {
            months: self.months.as_ref().map(|p| p.fingerprint.as_str()),
            months_horizon: self.months.as_ref().and_then(|p| p.horizon),
            sessions: self.sessions.as_ref().map(|p| p.fingerprint.as_str()),
            quiet_activity: self.activity.as_ref().filter(|a| !a.busy).map(|a| a.fingerprint.as_str()),
            fractions: self.fractions,
        }
    }

    /// The cache after a document (read by this console, or by another and relayed),
    /// and the snapshot it makes. `None` when a part of it cannot be resolved from what
    /// this cache holds: read again, asking for everything.
    pub(super) fn apply(&self, raw: Raw) -> Option<(Snapshot, ReadCache)> {
        let sent = raw.months.as_ref().and_then(|m| m.rows.as_ref()).map_or(0, Vec::len);
        let (months, months_reused) = match raw.months {
            Some(part) => part.resolve(self.months.as_ref(), |m| i64::from(m.id))?,
            None => (self.months.clone()?, true),
        };
        let (locks, locks_reused) = match (raw.locks, &self.locks) {
            (Some(sent), Some(held)) => {
                let rows = sent.into_rows();
                if rows == **held { (Arc::clone(held), true) } else { (Arc::new(rows), false) }
            }
            (Some(sent), None) => (Arc::new(sent.into_rows()), false),
            (None, held) => (held.clone()?, true),
        };
        // Read with the locks, or with the finding that they could not have changed.
        let activity = raw.activity.or_else(|| self.activity.clone());
        let (sessions, _) = match raw.sessions {
            Some(part) => part.resolve(self.sessions.as_ref(), |s| i64::from(s.pid))?,
            None => (self.sessions.clone()?, true),
        };
        let (queue, fractions, next_visible_at) = match raw.queue {
            Some(q) => (q.depth, q.fractions, q.next_visible_at),
            None => (self.queue.clone()?, self.fractions, self.next_visible_at),
        };
        let processing = match raw.processing {
            Some(p) => p.rows,
            None => self.processing.clone()?,
        };
        let by_pid: HashMap<i32, SessionInfo> = sessions.rows.iter().map(|s| (s.pid, s.clone())).collect();
        let mut snapshot = Snapshot {
            taken_at: raw.taken_at,
            reader_pid: raw.reader_pid,
            months: months.rows.as_ref().clone(),
            locks: locks.iter().cloned().map(|l| l.into_row(&by_pid)).collect(),
            queue: queue.clone(),
            processing: processing.clone(),
            duplicates: Vec::new(),
            history: None,
        };
        snapshot.sort_months();
        let cache = ReadCache {
            months: Some(months),
            locks: Some(locks),
            activity,
            sessions: Some(sessions),
            queue: Some(queue),
            fractions,
            next_visible_at,
            processing: Some(processing),
            reused: (months_reused, locks_reused),
            months_sent: sent,
            notify_usage: raw.notify_usage,
        };
        Some((snapshot, cache))
    }
}
