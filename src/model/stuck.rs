//! Stuck classification: a pure function of a snapshot, the observed hold times
//! and thresholds. Foreign locks are shown but never called stuck.

use std::time::Duration;

use serde::{Deserialize, Serialize};

use super::hold::{HoldEstimate, HoldTracker};
use super::snapshot::{LockRow, Snapshot};
use super::time::since;
use crate::model::causes::{Cause, causes};
use crate::model::lock_key::YearMonth;
use crate::model::progress::{Progress, progress};
use crate::model::status::Status;
use crate::model::verdict::{Evidence, QueueRates, Verdict, abandoned, judge};
use crate::model::work::{MonthWork, processing_work};

/// When a lock, a month or the queue is a problem. `Default` is all zeros and only
/// lets a config file name some of them; the shipped values come from the config.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Thresholds {
    /// A month lock on a month that is not `processing`, held longer → leaked.
    #[serde(with = "crate::duration_text")]
    pub leaked_after: Duration,
    /// Any month lock held this long → overdue.
    #[serde(with = "crate::duration_text")]
    pub overdue_after: Duration,
    /// Holder idle in transaction this long.
    #[serde(with = "crate::duration_text")]
    pub idle_in_transaction_after: Duration,
    /// A month `processing` this long → stuck month.
    #[serde(with = "crate::duration_text")]
    pub stuck_month_after: Duration,
    /// Work remains and no month completed for this long → stalled (a warning).
    #[serde(with = "crate::duration_text")]
    pub stalled_after: Duration,
    pub backlog_warning: u32,
    pub backlog_critical: u32,
    /// More failed months than this → warning.
    pub failed_warning: u32,
    /// Ready messages (or a processing month's message) waiting this long to be taken →
    /// a consumer stall.
    #[serde(with = "crate::duration_text")]
    pub consumer_stall_after: Duration,
    /// This many dead letters or more → a warning (fewer are shown, at OK).
    pub dead_letters_warning: u32,
    /// An error burst: at least this many failures of one cause in the last hour …
    pub error_burst_min: u32,
    /// … and this many times its usual hourly rate.
    pub error_burst_factor: u32,
    /// Addresses of connection poolers (the config's `poolers`, and the one the
    /// console itself connects through): a month lock held by a backend whose client
    /// is one of them can be stranded.
    #[serde(skip)]
    pub poolers: Vec<String>,
}

/// Monitoring-plugin levels, ordered by severity (exit codes 0, 1, 2, 3).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "UPPERCASE")]
pub enum Level {
    Ok,
    Warning,
    Critical,
    Unknown,
}

impl Level {
    pub fn word(self) -> &'static str {
        match self {
            Level::Ok => "OK",
            Level::Warning => "WARNING",
            Level::Critical => "CRITICAL",
            Level::Unknown => "UNKNOWN",
        }
    }

    pub fn exit_code(self) -> i32 {
        match self {
            Level::Ok => 0,
            Level::Warning => 1,
            Level::Critical => 2,
            Level::Unknown => 3,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum LockProblem {
    /// Held on a month that is not `processing` (or not in the table).
    Leaked { month_status: Option<Status> },
    /// Held at least `overdue_after`.
    Overdue,
    /// Held by a pooled server backend that has run other transactions since: the
    /// lock outlived the transaction that took it, and only that backend can unlock it.
    Stranded { pooler: String },
    /// The holder sits idle in a transaction.
    IdleInTransaction {
        #[serde(serialize_with = "secs")]
        idle: Duration,
    },
}

impl LockProblem {
    pub fn describe(&self) -> String {
        match self {
            LockProblem::Leaked { month_status: Some(status) } => {
                format!("LEAKED: month {}", crate::text::clip(status.as_str(), 12))
            }
            LockProblem::Leaked { month_status: None } => "LEAKED: no such month".into(),
            LockProblem::Overdue => "OVERDUE".into(),
            LockProblem::Stranded { pooler } => {
                format!("STRANDED on a pooled connection (via pooler {})", crate::text::clip(pooler, 40))
            }
            LockProblem::IdleInTransaction { idle } => {
                format!("IDLE IN TX {}", crate::duration_text::format(*idle))
            }
        }
    }
}

fn secs<S: serde::Serializer>(d: &Duration, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_u64(d.as_secs())
}

/// The verdict on one `pg_locks` row (same order as `snapshot.locks`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct LockVerdict {
    pub hold: Option<HoldEstimate>,
    pub problems: Vec<LockProblem>,
}

impl LockVerdict {
    pub fn is_stuck(&self) -> bool {
        !self.problems.is_empty()
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct StuckMonth {
    pub month: YearMonth,
    /// `None` when `started_at` is missing.
    #[serde(serialize_with = "opt_secs")]
    pub processing_for: Option<Duration>,
}

fn opt_secs<S: serde::Serializer>(d: &Option<Duration>, s: S) -> Result<S::Ok, S::Error> {
    match d {
        Some(d) => s.serialize_some(&d.as_secs()),
        None => s.serialize_none(),
    }
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Assessment {
    pub locks: Vec<LockVerdict>,
    /// The months a reset may take: `processing`, no live message and no lock holder
    /// (with a deployment's own queue, whose messages the console cannot see: every month
    /// `processing` past `stuck_month_after`; the reset still skips a held lock).
    pub stuck_months: Vec<StuckMonth>,
    /// What is happening to each `processing` month (`None`: the queue is not ours to see).
    pub work: Option<Vec<MonthWork>>,
    pub queue: Level,
    pub failed_months: i64,
    pub overall: Level,
    /// The causes of trouble, named, the most severe first.
    pub verdicts: Vec<Verdict>,
    /// One line per verdict at a level above OK (its summary).
    pub reasons: Vec<String>,
    /// The failed and retry months by cause.
    #[serde(skip)]
    pub causes: Vec<Cause>,
    /// The pooler addresses judged by (to show a holder as `via pooler …`).
    #[serde(skip)]
    pub poolers: Vec<String>,
    /// How far along, how fast, when done; stalled or not.
    pub progress: Progress,
}

pub fn assess(snapshot: &Snapshot, holds: &HoldTracker, t: &Thresholds) -> Assessment {
    assess_with(snapshot, holds, t, None)
}

/// [`assess`] with the queue's rates, when the caller watched them (the console).
pub fn assess_with(snapshot: &Snapshot, holds: &HoldTracker, t: &Thresholds, rates: Option<QueueRates>) -> Assessment {
    let now = snapshot.taken_at;
    let locks: Vec<LockVerdict> = snapshot.locks.iter().map(|lock| judge_lock(snapshot, lock, holds, t)).collect();
    let work = processing_work(snapshot);
    let stuck_months: Vec<StuckMonth> = match &work {
        Some(work) => {
            abandoned(work).map(|w| StuckMonth { month: w.month, processing_for: w.processing_for }).collect()
        }
        None => snapshot
            .months
            .iter()
            .filter(|m| m.status == Status::Processing)
            .filter_map(|m| {
                let processing_for = m.started_at.map(|s| since(s, now));
                let stuck = processing_for.is_none_or(|d| d >= t.stuck_month_after);
                Some(StuckMonth { month: m.year_month()?, processing_for }).filter(|_| stuck)
            })
            .collect(),
    };
    let ready = snapshot.queue.ready;
    let queue = if ready >= i64::from(t.backlog_critical) {
        Level::Critical
    } else if ready >= i64::from(t.backlog_warning) {
        Level::Warning
    } else {
        Level::Ok
    };
    let failed_months = snapshot.months.iter().filter(|m| m.status == Status::Failed).count() as i64;
    let progress = progress(&snapshot.months, snapshot.history.as_ref(), now, t.stalled_after);
    let causes = causes(&snapshot.months);
    let evidence = Evidence {
        snapshot,
        locks: &locks,
        work: work.as_deref(),
        causes: &causes,
        progress: &progress,
        failed_months,
        rates,
    };
    let verdicts = judge(&evidence, t);
    let overall = verdicts.iter().map(|v| v.level).max().unwrap_or(Level::Ok);
    let reasons = verdicts.iter().filter(|v| v.level > Level::Ok).map(|v| v.summary.clone()).collect();
    Assessment {
        locks,
        stuck_months,
        work,
        queue,
        failed_months,
        overall,
        verdicts,
        reasons,
        causes,
        poolers: t.poolers.clone(),
        progress,
    }
}

fn judge_lock(snapshot: &Snapshot, lock: &LockRow, holds: &HoldTracker, t: &Thresholds) -> LockVerdict {
    let hold = holds.estimate(lock, snapshot.taken_at);
    let mut problems = Vec::new();
    let Some(month) = lock.month().filter(|_| lock.granted) else {
        return LockVerdict { hold, problems }; // foreign, or a waiter
    };
    let held = hold.map_or(Duration::ZERO, |h| h.at_least);
    let status = snapshot.month(month).map(|m| m.status.clone());
    if status != Some(Status::Processing) && held > t.leaked_after {
        problems.push(LockProblem::Leaked { month_status: status });
    }
    if held >= t.overdue_after {
        problems.push(LockProblem::Overdue);
    }
    let pooler = lock.holder.as_ref().and_then(|h| h.client_addr.clone());
    if lock.pid.is_some() && lock.pid == snapshot.reader_pid {
        // The backend that read this snapshot holds it: the console never holds a month
        // lock, so this backend was handed to us by a pooler with a lock left on it.
        problems.push(LockProblem::Stranded { pooler: pooler.unwrap_or_else(|| "?".into()) });
    } else if let Some(pooler) = pooler.filter(|a| t.poolers.contains(a))
        && held > t.leaked_after
        && holds.holder_moved_on(lock)
    {
        problems.push(LockProblem::Stranded { pooler });
    }
    if let Some(session) = lock.holder.as_ref().filter(|h| h.is_idle_in_transaction()) {
        let idle = session.state_change.map_or(Duration::ZERO, |c| since(c, snapshot.taken_at));
        if idle >= t.idle_in_transaction_after {
            problems.push(LockProblem::IdleInTransaction { idle });
        }
    }
    LockVerdict { hold, problems }
}

#[cfg(test)]
#[path = "stuck_tests.rs"]
mod tests;
