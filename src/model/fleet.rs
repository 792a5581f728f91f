//! The fleet overview: one row per context — its level, its verdicts, progress, stuck
//! locks, backlog and dead letters — or why it could not be read.

use chrono::{DateTime, Utc};
use serde::Serialize;

use super::verdict::Kind;
use super::{Assessment, Level, Snapshot};

/// What one context looked like, or why it could not be read.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct FleetRow {
    pub context: String,
    /// The worst verdict's level; `UNKNOWN` when the database did not answer.
    pub level: Level,
    /// Why it could not be read (`None`: it was).
    pub error: Option<String>,
    pub verdicts: Vec<Kind>,
    pub done: i64,
    pub total: i64,
    pub per_hour: Option<f64>,
    pub eta_low: Option<DateTime<Utc>>,
    pub eta_high: Option<DateTime<Utc>>,
    pub stuck_locks: usize,
    pub ready: i64,
    pub dead: i64,
    /// When it was read (the database's clock), and how long the read took.
    pub read_at: Option<DateTime<Utc>>,
    pub read_ms: u64,
}

impl FleetRow {
    pub fn read(context: &str, snap: &Snapshot, a: &Assessment, read_ms: u64) -> Self {
        Self {
            context: context.to_string(),
            level: a.overall,
            error: None,
            verdicts: a.verdicts.iter().map(|v| v.kind).collect(),
            done: a.progress.done,
            total: a.progress.total,
            per_hour: a.progress.per_hour,
            eta_low: a.progress.eta_low,
            eta_high: a.progress.eta_high,
            stuck_locks: a.locks.iter().filter(|v| v.is_stuck()).count(),
            ready: snap.queue.ready,
            dead: snap.queue.dead,
            read_at: Some(snap.taken_at),
            read_ms,
        }
    }

    /// A context whose database did not answer: `UNKNOWN`, and why.
    pub fn unread(context: &str, error: String, read_ms: u64) -> Self {
        Self {
            context: context.to_string(),
            level: Level::Unknown,
            error: Some(error),
            verdicts: Vec::new(),
            done: 0,
            total: 0,
            per_hour: None,
            eta_low: None,
            eta_high: None,
            stuck_locks: 0,
            ready: 0,
            dead: 0,
            read_at: None,
            read_ms,
        }
    }

    /// Nothing wrong: a row the operator may hide.
    pub fn healthy(&self) -> bool {
        self.level == Level::Ok
    }
}

/// The worst level of the fleet (`OK` for none), as `check` exits with it.
pub fn worst(rows: &[FleetRow]) -> Level {
    rows.iter().map(|r| r.level).max().unwrap_or(Level::Ok)
}
