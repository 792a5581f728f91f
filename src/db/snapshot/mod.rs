//! Reading the read model: ONE statement, ONE round trip (simple protocol, no
//! prepare), no transaction left open; the server builds the whole snapshot as
//! one JSON document, so months, locks and queue are from one instant.

mod guard;
mod sql;

use std::collections::HashMap;
use std::sync::Arc;

use chrono::{DateTime, Utc};
use serde::Deserialize;
use tokio_postgres::Client;

pub use sql::{Known, parts as snapshot_parts_sql, snapshot_sql};

use super::DbError;
use crate::model::snapshot::QueuedFor;
use crate::model::{LockRow, MonthRow, QueueDepth, SessionInfo, Snapshot};

/// Longest error text carried in a snapshot whole; a longer one comes as its first and
/// last halves of this (the causes are grouped on it: a traceback's last lines name its
/// exception). The detail view reads the rest.
pub const ERROR_PREVIEW_CHARS: i32 = 2000;

/// Queue figures are counted exactly up to this many; beyond it they are
/// estimates (a page sample scaled to the catalogue row count, never below the cap)
/// and say so. Five times the critical backlog alert (200): alerts always see
/// exact figures.
pub const EXACT_COUNT_CAP: i64 = 1_000;

/// The months and lock rows of the last snapshot with their fingerprints, so
/// the next read can skip sending a part that has not changed.
#[derive(Debug, Clone, Default)]
pub struct ReadCache {
    months: Option<Part<MonthRow>>,
    locks: Option<Part<RawLock>>,
    reused: (bool, bool),
    months_sent: usize,
}

#[derive(Debug, Clone)]
struct Part<T> {
    fingerprint: String,
    /// The snapshot xmin of the read (months only): the next delta starts there.
    horizon: Option<u32>,
    /// Shared: a part reused from one read to the next is not copied.
    rows: Arc<Vec<T>>,
}

impl ReadCache {
    /// Whether the read that made this cache reused the months, and the lock
    /// rows, it was given (the server sent their fingerprints alone).
    pub fn reused(&self) -> (bool, bool) {
        self.reused
    }

    /// How many month rows the server sent in that read (all, a delta, or none).
    pub fn months_sent(&self) -> usize {
        self.months_sent
    }

    /// The fingerprints this cache sends with the next read.
    pub fn known_fingerprints(&self) -> sql::Known<'_> {
        sql::Known {
            months: self.months.as_ref().map(|p| p.fingerprint.as_str()),
            months_horizon: self.months.as_ref().and_then(|p| p.horizon),
            locks: self.locks.as_ref().map(|p| p.fingerprint.as_str()),
        }
    }
}

/// The document the statement returns; the locks' sessions come once per pid.
#[derive(Deserialize)]
struct Raw {
    taken_at: DateTime<Utc>,
    #[serde(default)]
    reader_pid: Option<i32>,
    months: RawPart<Vec<MonthRow>>,
    locks: RawPart<RawLocks>,
    sessions: Vec<SessionInfo>,
    queue: QueueDepth,
    /// `None` for a deployment's own queue.
    #[serde(default)]
    processing: Option<Vec<QueuedFor>>,
}

/// A lock row as sent: a JSON array, the fields in this order (see `sql::LOCK_ROWS`;
/// serde reads a struct from an array by position).
#[derive(Debug, Clone, Deserialize)]
struct RawLock {
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

    fn into_row(self, sessions: &HashMap<i32, SessionInfo>) -> LockRow {
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
struct RawPart<R> {
    /// `count:checksum`.
    fingerprint: String,
    /// Absent when the fingerprint equals the one the reader sent.
    rows: Option<R>,
    /// The rows are only those changed since the reader's horizon.
    #[serde(default)]
    delta: bool,
    #[serde(default)]
    horizon: Option<i64>,
}

/// The lock rows as sent: the common shape (a granted exclusive month-key lock
/// in this database) as two columns, pids and keys — a fraction of the cost
/// of a JSON array per lock — and every other lock in full.
#[derive(Deserialize)]
struct RawLocks {
    common: (Vec<i32>, Vec<u32>),
    other: Vec<RawLock>,
}

impl RawLocks {
    fn into_rows(self) -> Vec<RawLock> {
        let (pids, keys) = self.common;
        let common = pids.into_iter().zip(keys).map(|(pid, objid)| RawLock::common(pid, objid));
        let mut rows: Vec<RawLock> = common.chain(self.other).collect();
        // The order the console lists them in: by key, the holder before its waiters.
        rows.sort_by_key(|r| (r.classid, r.objid, r.objsubid, !r.granted, r.pid));
        rows
    }
}

impl RawPart<RawLocks> {
    fn into_rows(self) -> RawPart<Vec<RawLock>> {
        RawPart {
            fingerprint: self.fingerprint,
            rows: self.rows.map(RawLocks::into_rows),
            delta: self.delta,
            horizon: self.horizon,
        }
    }
}

impl<T: Clone> RawPart<Vec<T>> {
    /// The rows sent, the known ones when the server said they are unchanged,
    /// or the known ones updated with a delta (`key` identifies a row). `None`:
    /// a delta that does not add up to the row count (rows were deleted) —
    /// read everything again.
    fn resolve(self, known: Option<&Part<T>>, key: impl Fn(&T) -> i64) -> Option<(Part<T>, bool)> {
        let horizon = self.horizon.and_then(|h| u32::try_from(h).ok());
        let reused = self.rows.is_none();
        let count: Option<usize> = self.fingerprint.split(':').next().and_then(|c| c.parse().ok());
        let rows = match (self.rows, known) {
            (Some(changed), Some(k)) if self.delta => {
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

/// One snapshot. A missing table is reported as a missing schema (run `migrate`).
pub async fn read(client: &Client) -> Result<Snapshot, DbError> {
    read_with(client, None).await
}

/// One snapshot, with the deployment's own queue depth query when it has one.
pub async fn read_with(client: &Client, queue_query: Option<&str>) -> Result<Snapshot, DbError> {
    Ok(read_incremental(client, queue_query, None).await?.0)
}

/// One snapshot, reusing the parts of `known` that have not changed since;
/// returns the cache for the next read.
pub async fn read_incremental(
    client: &Client,
    queue_query: Option<&str>,
    known: Option<&ReadCache>,
) -> Result<(Snapshot, ReadCache), DbError> {
    read_incremental_with(client, None, queue_query, known).await
}

/// [`read_incremental`] inside a transaction that runs `local_settings` (`SET LOCAL …`)
/// first — a session through a transaction pooler ([`Session::per_transaction`](crate::db::connect::Session)).
pub async fn read_incremental_with(
    client: &Client,
    local_settings: Option<&str>,
    queue_query: Option<&str>,
    known: Option<&ReadCache>,
) -> Result<(Snapshot, ReadCache), DbError> {
    let empty = ReadCache::default();
    let mut known = known.unwrap_or(&empty);
    // At most twice: a delta that does not add up is followed by a full read.
    let (raw, months, months_reused, locks, locks_reused) = loop {
        let Raw { taken_at, reader_pid, months, locks, sessions, queue, processing } =
            read_raw(client, local_settings, queue_query, known.known_fingerprints()).await?;
        let sent = months.rows.as_ref().map_or(0, Vec::len);
        let months = months.resolve(known.months.as_ref(), |m| i64::from(m.id));
        let locks = locks.into_rows().resolve(known.locks.as_ref(), |_| 0);
        match (months, locks) {
            (Some((months, mr)), Some((locks, lr))) => {
                break ((taken_at, reader_pid, sessions, queue, sent, processing), months, mr, locks, lr);
            }
            _ if known.months.is_some() || known.locks.is_some() => known = &empty,
            _ => return Err(DbError::Refused("the snapshot came without its months or locks; read it again".into())),
        }
    };
    let (taken_at, reader_pid, sessions, queue, months_sent, processing) = raw;
    let sessions: HashMap<i32, SessionInfo> = sessions.into_iter().map(|s| (s.pid, s)).collect();
    let lock_rows = locks.rows.iter().cloned().map(|raw| raw.into_row(&sessions)).collect();
    let month_rows = months.rows.as_ref().clone();
    let mut snapshot = Snapshot {
        taken_at,
        reader_pid,
        months: month_rows,
        locks: lock_rows,
        queue,
        processing,
        duplicates: Vec::new(),
        history: None,
    };
    snapshot.sort_months();
    let cache =
        ReadCache { months: Some(months), locks: Some(locks), reused: (months_reused, locks_reused), months_sent };
    Ok((snapshot, cache))
}

/// Runs the statement and decodes its document. With a deployment's own queue
/// depth query the statement runs guarded (see [`guard`]).
async fn read_raw(
    client: &Client,
    local_settings: Option<&str>,
    queue_query: Option<&str>,
    known: sql::Known<'_>,
) -> Result<Raw, DbError> {
    let sql = snapshot_sql(queue_query, known);
    if queue_query.is_some() || local_settings.is_some() {
        let text = guard::read_guarded(client, local_settings, &sql, queue_query.is_some()).await?;
        return serde_json::from_str(&text).map_err(|e| guard::explain_decode_error(&text, &e));
    }
    let messages = client.simple_query(&sql).await.map_err(|e| {
        if e.code() == Some(&tokio_postgres::error::SqlState::UNDEFINED_TABLE) {
            DbError::SchemaMissing { missing: super::error::describe(&e) }
        } else {
            DbError::query("read the snapshot", e)
        }
    })?;
    let text =
        guard::first_value(&messages).ok_or_else(|| DbError::Refused("the snapshot query returned no row".into()))?;
    serde_json::from_str(text).map_err(|e| DbError::Refused(format!("the snapshot could not be decoded: {e}")))
}

/// The channel the triggers of `sql/004_notify.sql` notify on.
pub const CHANGE_CHANNEL: &str = "backfill_console";
