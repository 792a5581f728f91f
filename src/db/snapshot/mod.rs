//! Reading the read model: ONE statement, ONE round trip (simple protocol, no
//! prepare), no transaction left open; the server builds the whole snapshot as
//! one JSON document, so months, locks and queue are from one instant.

mod sql;

use std::collections::HashMap;
use std::sync::Arc;

use chrono::{DateTime, Utc};
use serde::Deserialize;
use tokio_postgres::{Client, SimpleQueryMessage};

pub use sql::{Known, parts as snapshot_parts_sql, snapshot_sql};

use super::DbError;
use crate::model::{LockRow, MonthRow, QueueDepth, SessionInfo, Snapshot};

/// Longest error text carried in a snapshot; the detail view reads the rest.
pub const ERROR_PREVIEW_CHARS: i32 = 300;

/// Queue figures are counted exactly up to this many; beyond it they are
/// estimates (a page sample scaled to the catalogue row count, never below the cap)
/// and say so. Ten times the critical backlog alert (200): alerts always see
/// exact figures.
pub const EXACT_COUNT_CAP: i64 = 2_000;

/// The months and lock rows of the last snapshot with their fingerprints, so
/// the next read can skip sending a part that has not changed.
#[derive(Debug, Clone, Default)]
pub struct ReadCache {
    months: Option<Part<MonthRow>>,
    locks: Option<Part<RawLock>>,
    reused: (bool, bool),
}

#[derive(Debug, Clone)]
struct Part<T> {
    fingerprint: String,
    /// Shared: a part reused from one read to the next is not copied.
    rows: Arc<Vec<T>>,
}

impl ReadCache {
    /// Whether the read that made this cache reused the months, and the lock
    /// rows, it was given (the server sent their fingerprints alone).
    pub fn reused(&self) -> (bool, bool) {
        self.reused
    }

    /// The fingerprints this cache sends with the next read.
    pub fn known_fingerprints(&self) -> sql::Known<'_> {
        sql::Known {
            months: self.months.as_ref().map(|p| p.fingerprint.as_str()),
            locks: self.locks.as_ref().map(|p| p.fingerprint.as_str()),
        }
    }
}

/// The document the statement returns; the locks' sessions come once per pid.
#[derive(Deserialize)]
struct Raw {
    taken_at: DateTime<Utc>,
    months: RawPart<MonthRow>,
    locks: RawPart<RawLock>,
    sessions: Vec<SessionInfo>,
    queue: QueueDepth,
}

/// A lock row by position: pid, granted, classid, objid, objsubid,
/// in_this_database, mode, waitstart, blocking_pids (see `sql::LOCK_ROWS`).
type RawLock = (Option<i32>, bool, u32, u32, i16, bool, String, Option<DateTime<Utc>>, Vec<i32>);

#[derive(Deserialize)]
struct RawPart<T> {
    fingerprint: String,
    /// Absent when the fingerprint equals the one the reader sent.
    rows: Option<Vec<T>>,
}

impl<T> RawPart<T> {
    /// The rows sent, or the known ones when the server said they are unchanged.
    fn resolve(self, known: Option<&Part<T>>, what: &str) -> Result<(Part<T>, bool), DbError> {
        let reused = self.rows.is_none();
        let rows = match (self.rows, known) {
            (Some(rows), _) => Arc::new(rows),
            (None, Some(k)) if k.fingerprint == self.fingerprint => Arc::clone(&k.rows),
            (None, _) => return Err(DbError::Refused(format!("the snapshot came without its {what}; read it again"))),
        };
        Ok((Part { fingerprint: self.fingerprint, rows }, reused))
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
    let empty = ReadCache::default();
    let known = known.unwrap_or(&empty);
    let sql = snapshot_sql(queue_query, known.known_fingerprints());
    let messages = client.simple_query(&sql).await.map_err(|e| {
        if queue_query.is_some() {
            let what = "read the snapshot (check queue_depth_query in the config: one row with ready, in_flight, delayed, dead)";
            DbError::query(what, &e)
        } else if e.code() == Some(&tokio_postgres::error::SqlState::UNDEFINED_TABLE) {
            DbError::SchemaMissing { missing: super::error::describe(&e) }
        } else {
            DbError::query("read the snapshot", &e)
        }
    })?;
    let text = messages
        .iter()
        .find_map(|m| match m {
            SimpleQueryMessage::Row(row) => row.get(0),
            _ => None,
        })
        .ok_or_else(|| DbError::Refused("the snapshot query returned no row".into()))?;
    let raw: Raw =
        serde_json::from_str(text).map_err(|e| DbError::Refused(format!("the snapshot could not be decoded: {e}")))?;
    let (months, months_reused) = raw.months.resolve(known.months.as_ref(), "months")?;
    let (locks, locks_reused) = raw.locks.resolve(known.locks.as_ref(), "locks")?;
    let sessions: HashMap<i32, SessionInfo> = raw.sessions.into_iter().map(|s| (s.pid, s)).collect();
    let lock_rows = locks
        .rows
        .iter()
        .cloned()
        .map(|(pid, granted, classid, objid, objsubid, in_this_database, mode, waitstart, blocking_pids)| LockRow {
            pid,
            granted,
            classid,
            objid,
            objsubid,
            in_this_database,
            mode,
            waitstart,
            blocking_pids,
            holder: pid.and_then(|pid| sessions.get(&pid).cloned()),
        })
        .collect();
    let mut snapshot =
        Snapshot { taken_at: raw.taken_at, months: months.rows.as_ref().clone(), locks: lock_rows, queue: raw.queue };
    snapshot.sort_months();
    let cache = ReadCache { months: Some(months), locks: Some(locks), reused: (months_reused, locks_reused) };
    Ok((snapshot, cache))
}

/// The channel the triggers of `sql/004_notify.sql` notify on.
pub const CHANGE_CHANNEL: &str = "backfill_console";
