//! How long a lock has been held. PostgreSQL records no grant time for a
//! granted lock, so it is estimated two ways and the larger lower bound wins:
//! - *idle since*: a session that is idle has run nothing since `state_change`,
//!   so any lock it holds was taken before then;
//! - *observed*: first seen by this process across successive snapshots.
//!
//! Both are lower bounds and are labelled as such on screen.

use std::collections::HashMap;
use std::time::Duration;

use chrono::{DateTime, Utc};
use serde::Serialize;

use super::snapshot::{LockRow, Snapshot};
use super::time::since;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum HoldBasis {
    /// Seen held since the first snapshot that showed it.
    Observed,
    /// The holder has been idle at least this long.
    IdleSince,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct HoldEstimate {
    /// At least this long.
    #[serde(serialize_with = "secs")]
    pub at_least: Duration,
    pub basis: HoldBasis,
}

fn secs<S: serde::Serializer>(d: &Duration, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_u64(d.as_secs())
}

/// Identity of a held lock: the session (pid + its start, since pids are reused) and the key.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
struct HoldKey {
    pid: i32,
    backend_start: Option<DateTime<Utc>>,
    classid: u32,
    objid: u32,
    objsubid: i16,
}

impl HoldKey {
    fn of(lock: &LockRow) -> Option<Self> {
        Some(Self {
            pid: lock.pid?,
            backend_start: lock.holder.as_ref().and_then(|h| h.backend_start),
            classid: lock.classid,
            objid: lock.objid,
            objsubid: lock.objsubid,
        })
    }
}

/// When a held lock was first seen, and what its holder was doing then.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Seen {
    at: DateTime<Utc>,
    query_start: Option<DateTime<Utc>>,
    xact_start: Option<DateTime<Utc>>,
}

/// First-seen times of held locks; bounded by the locks held now (vanished ones are forgotten).
#[derive(Debug, Clone, Default)]
pub struct HoldTracker {
    first_seen: HashMap<HoldKey, Seen>,
}

impl HoldTracker {
    pub fn observe(&mut self, snapshot: &Snapshot) {
        // A set: a thousand locks must not cost a million comparisons a second.
        let held: HashMap<HoldKey, &LockRow> =
            snapshot.locks.iter().filter(|l| l.granted).filter_map(|l| Some((HoldKey::of(l)?, l))).collect();
        self.first_seen.retain(|key, _| held.contains_key(key));
        for (key, lock) in held {
            let holder = lock.holder.as_ref();
            self.first_seen.entry(key).or_insert(Seen {
                at: snapshot.taken_at,
                query_start: holder.and_then(|h| h.query_start),
                xact_start: holder.and_then(|h| h.xact_start),
            });
        }
    }

    /// The holder ran another statement or transaction since this lock was first seen
    /// held: through a transaction pooler, another client's work on the backend that
    /// keeps our lock — the lock outlived the transaction that took it.
    pub fn holder_moved_on(&self, lock: &LockRow) -> bool {
        let (Some(seen), Some(holder)) = (HoldKey::of(lock).and_then(|k| self.first_seen.get(&k)), &lock.holder) else {
            return false;
        };
        let later = |now: Option<DateTime<Utc>>, then: Option<DateTime<Utc>>| match (now, then) {
            (Some(now), Some(then)) => now > then,
            (Some(_), None) => true,
            _ => false,
        };
        later(holder.query_start, seen.query_start) || later(holder.xact_start, seen.xact_start)
    }

    pub fn len(&self) -> usize {
        self.first_seen.len()
    }

    pub fn is_empty(&self) -> bool {
        self.first_seen.is_empty()
    }

    /// The best lower bound on how long `lock` has been held, as of `now`.
    pub fn estimate(&self, lock: &LockRow, now: DateTime<Utc>) -> Option<HoldEstimate> {
        if !lock.granted {
            return None;
        }
        let observed = HoldKey::of(lock)
            .and_then(|key| self.first_seen.get(&key))
            .map(|seen| HoldEstimate { at_least: since(seen.at, now), basis: HoldBasis::Observed });
        let idle = lock
            .holder
            .as_ref()
            .filter(|h| h.is_idle())
            .and_then(|h| h.state_change)
            .map(|changed| HoldEstimate { at_least: since(changed, now), basis: HoldBasis::IdleSince });
        match (observed, idle) {
            (Some(o), Some(i)) => Some(if i.at_least > o.at_least { i } else { o }),
            (o, i) => o.or(i),
        }
    }
}
