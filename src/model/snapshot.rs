//! The read model: one consistent picture of months, advisory locks and the
//! queue, as the database task hands it to the console and the headless commands.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::model::lock_key::{self, LockClass, YearMonth};
use crate::model::status::Status;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Snapshot {
    /// The server's clock when the snapshot was read; ages are measured from it.
    pub taken_at: DateTime<Utc>,
    /// The server backend that read this snapshot. Through a pooler it can be the very
    /// backend that holds a stranded lock (the console itself never holds a month lock).
    #[serde(default)]
    pub reader_pid: Option<i32>,
    pub months: Vec<MonthRow>,
    pub locks: Vec<LockRow>,
    pub queue: QueueDepth,
    /// Each `processing` month's live message (the first, when it has one); `None` when
    /// not known (a deployment whose queue is not the `backfill_queue` table).
    #[serde(default)]
    pub processing: Option<Vec<QueuedFor>>,
    /// Months with more than one live message in the queue (the old scheduler's
    /// defect shows this way); read less often than the rest (see the worker).
    #[serde(default)]
    pub duplicates: Vec<Duplicate>,
    /// The throughput history (read once a minute by the console: see the worker).
    #[serde(default)]
    pub history: Option<crate::model::progress::History>,
}

/// A `processing` month and its live message, if any (read as an array, fields by position).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct QueuedFor {
    pub year: i32,
    pub month: i32,
    pub msg_id: Option<i64>,
    pub read_count: Option<i32>,
    pub enqueued_at: Option<DateTime<Utc>>,
    pub visible_at: Option<DateTime<Utc>>,
}

impl QueuedFor {
    pub fn year_month(&self) -> Option<YearMonth> {
        YearMonth::new(self.year, self.month)
    }
}

/// A month with more than one live (ready, in flight or delayed) queue message.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Duplicate {
    pub year: i32,
    pub month: i32,
    /// The first ones (by id), at most `db::queue::DUPLICATE_IDS`.
    pub msg_ids: Vec<i64>,
    /// More live messages than those listed.
    #[serde(default)]
    pub more: bool,
}

impl Duplicate {
    /// "2", or "20+" when there are more than listed.
    pub fn count_text(&self) -> String {
        format!("{}{}", self.msg_ids.len(), if self.more { "+" } else { "" })
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MonthRow {
    pub id: i32,
    pub year: i32,
    pub month: i32,
    /// An adopted table without the status check may hold anything: kept as [`Status::Other`].
    pub status: Status,
    pub retry_count: Option<i32>,
    pub started_at: Option<DateTime<Utc>>,
    pub completed_at: Option<DateTime<Utc>>,
    pub last_retry_at: Option<DateTime<Utc>>,
    /// The first few hundred characters of `error_message`.
    pub error: Option<String>,
}

impl MonthRow {
    pub fn year_month(&self) -> Option<YearMonth> {
        YearMonth::new(self.year, self.month)
    }
}

/// One advisory-lock row of `pg_locks`, held or awaited, with its session.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LockRow {
    pub pid: Option<i32>,
    pub granted: bool,
    pub classid: u32,
    pub objid: u32,
    pub objsubid: i16,
    pub in_this_database: bool,
    pub mode: String,
    /// When a waiter started waiting (PostgreSQL 14+).
    pub waitstart: Option<DateTime<Utc>>,
    #[serde(default)]
    pub blocking_pids: Vec<i32>,
    pub holder: Option<SessionInfo>,
}

impl LockRow {
    pub fn class(&self) -> LockClass {
        lock_key::classify(self.classid, self.objid, self.objsubid, self.in_this_database)
    }

    pub fn month(&self) -> Option<YearMonth> {
        match self.class() {
            LockClass::Month { year, month, .. } => YearMonth::new(year, month),
            LockClass::Foreign { .. } => None,
        }
    }
}

/// The `pg_stat_activity` row of a lock's session.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SessionInfo {
    pub pid: i32,
    pub usename: Option<String>,
    pub application_name: Option<String>,
    pub client_addr: Option<String>,
    pub client_hostname: Option<String>,
    pub client_port: Option<i32>,
    pub backend_start: Option<DateTime<Utc>>,
    pub xact_start: Option<DateTime<Utc>>,
    pub query_start: Option<DateTime<Utc>>,
    pub state_change: Option<DateTime<Utc>>,
    pub state: Option<String>,
    pub wait_event_type: Option<String>,
    pub wait_event: Option<String>,
    pub query: Option<String>,
    pub backend_type: Option<String>,
}

impl SessionInfo {
    /// `idle`, or `idle in transaction` (aborted or not).
    pub fn is_idle(&self) -> bool {
        self.state.as_deref().is_some_and(|s| s.starts_with("idle"))
    }

    pub fn is_idle_in_transaction(&self) -> bool {
        self.state.as_deref().is_some_and(|s| s.starts_with("idle in transaction"))
    }

    /// `host:port`, `local` for a Unix socket, or unknown.
    /// [`client`](Self::client), or `via pooler ADDR` when the address is a known pooler's.
    pub fn client_via(&self, poolers: &[String]) -> String {
        match &self.client_addr {
            Some(addr) if poolers.contains(addr) => format!("via pooler {addr}"),
            _ => self.client(),
        }
    }

    pub fn client(&self) -> String {
        match (&self.client_hostname, &self.client_addr, self.client_port) {
            (Some(host), _, Some(port)) if port >= 0 => format!("{host}:{port}"),
            (None, Some(addr), Some(port)) if port >= 0 => format!("{addr}:{port}"),
            (_, _, Some(-1)) | (None, None, _) => "local".to_string(),
            (_, Some(addr), _) => addr.clone(),
            (Some(host), None, _) => host.clone(),
        }
    }
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct QueueDepth {
    /// Visible now.
    pub ready: i64,
    /// Read at least once and invisible now.
    pub in_flight: i64,
    /// Never read and not yet visible.
    pub delayed: i64,
    pub dead: i64,
    pub oldest_ready_at: Option<DateTime<Utc>>,
    /// Some figure is beyond the exact-count cap: the figures beyond it are estimates.
    #[serde(default)]
    pub estimated: bool,
    /// Messages ever enqueued (the id sequence); rates come from its differences.
    pub enqueued_total: i64,
}

impl Snapshot {
    /// Month counts by status, every status present (unknown ones included).
    pub fn status_counts(&self) -> BTreeMap<Status, i64> {
        let mut by_status: BTreeMap<Status, i64> = Status::KNOWN.into_iter().map(|s| (s, 0)).collect();
        for row in &self.months {
            *by_status.entry(row.status.clone()).or_insert(0) += 1;
        }
        by_status
    }

    /// O(log n): `months` is kept newest first (see [`Snapshot::sort_months`]).
    pub fn month(&self, ym: YearMonth) -> Option<&MonthRow> {
        let i = self.months.binary_search_by(|m| (ym.year, ym.month).cmp(&(m.year, m.month))).ok()?;
        self.months.get(i)
    }

    /// Newest first, the order the read model promises (the query already sorts; a
    /// deployment's own data or a test fixture might not).
    pub fn sort_months(&mut self) {
        self.months.sort_by_key(|m| std::cmp::Reverse((m.year, m.month)));
    }

    /// Waiters on the same lock as `lock` (not granted rows with the same key).
    pub fn waiters_of(&self, lock: &LockRow) -> usize {
        self.locks
            .iter()
            .filter(|l| {
                !l.granted
                    && l.classid == lock.classid
                    && l.objid == lock.objid
                    && l.objsubid == lock.objsubid
                    && l.in_this_database == lock.in_this_database
            })
            .count()
    }
}
