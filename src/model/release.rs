//! Releasing a month lock from outside (SPEC §4): what the operator chose and what came of it.

use std::collections::BTreeMap;
use std::time::Duration;

use chrono::{DateTime, Utc};
use serde::Serialize;

use crate::model::lock_key::YearMonth;
use crate::model::time::since;
use crate::model::{Assessment, LockRow, Snapshot, Status};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Method {
    /// `pg_terminate_backend`: ends the session; its open transaction rolls back.
    Terminate,
    /// `pg_cancel_backend`: cancels the running query only (an idle session keeps its locks).
    Cancel,
}

/// What the operator saw: this session holds this month's lock.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Target {
    pub pid: i32,
    pub backend_start: DateTime<Utc>,
    pub month: YearMonth,
}

/// A lock holder as the operator marks it: its pid and when its session started (a pid
/// alone could be another session's by the time the release runs).
pub type HolderKey = (i32, DateTime<Utc>);

/// The holder a lock row can be released through: a granted month lock whose session is
/// visible. Waiters and foreign locks have none.
pub fn holder_key(lock: &LockRow) -> Option<HolderKey> {
    lock.month()?;
    if !lock.granted {
        return None;
    }
    Some((lock.pid?, lock.holder.as_ref()?.backend_start?))
}

/// What came of releasing one holder: `{"target": {...}, "outcome": "done", "lock_released": true}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Released {
    pub target: Target,
    #[serde(flatten)]
    pub outcome: Outcome,
}

/// One session to release: the lock the check at release time looks for, and every
/// month it holds (written in the audit row).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Holder {
    pub target: Target,
    pub months: Vec<YearMonth>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "outcome", rename_all = "snake_case")]
pub enum Outcome {
    /// Signalled; `lock_released` says whether the lock was gone when we looked.
    Done { lock_released: bool },
    /// Not signalled: the pid ended, was reused, or no longer holds the key.
    Refused { reason: String },
}

/// One session to release, with every lock it holds and what the operator should know
/// about it: what both the console's dialog and `release` confirm.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct HolderPlan {
    /// The first month lock it holds: the one the check at release time looks for.
    pub target: Target,
    /// Every month lock it holds, with the month's status (`None`: not in `backfill_log`).
    pub months: Vec<(YearMonth, Option<Status>)>,
    pub application: Option<String>,
    pub user: Option<String>,
    pub client: String,
    pub state: Option<String>,
    pub query: Option<String>,
    /// How long its open transaction has run (`None`: not in a transaction).
    pub in_transaction_for: Option<Duration>,
    pub foreign_locks: usize,
    /// Why it is stuck (the assessment's problems), empty when it is not.
    pub reasons: Vec<String>,
}

impl HolderPlan {
    /// What the release needs of this plan.
    pub fn holder(&self) -> Holder {
        Holder { target: self.target.clone(), months: self.months.iter().map(|(m, _)| *m).collect() }
    }
}

/// The sessions holding the month locks `pick` chooses (by index into
/// `snapshot.locks`), one plan per session, by pid.
pub fn holder_plans(snapshot: &Snapshot, assessment: &Assessment, pick: impl Fn(usize) -> bool) -> Vec<HolderPlan> {
    let mut by_pid: BTreeMap<i32, HolderPlan> = BTreeMap::new();
    for (i, lock) in snapshot.locks.iter().enumerate() {
        let (Some(pid), Some(month), Some(holder)) = (lock.pid, lock.month(), lock.holder.as_ref()) else {
            continue;
        };
        let Some(backend_start) = holder.backend_start else {
            continue;
        };
        if !lock.granted || !pick(i) {
            continue;
        }
        let held_by = |l: &&LockRow| l.pid == Some(pid) && l.granted;
        let plan = by_pid.entry(pid).or_insert_with(|| HolderPlan {
            target: Target { pid, backend_start, month },
            months: snapshot
                .locks
                .iter()
                .filter(held_by)
                .filter_map(LockRow::month)
                .map(|m| (m, snapshot.month(m).map(|r| r.status.clone())))
                .collect(),
            application: holder.application_name.clone(),
            user: holder.usename.clone(),
            client: holder.client_via(&assessment.poolers),
            state: holder.state.clone(),
            query: holder.query.clone(),
            in_transaction_for: holder.xact_start.map(|x| since(x, snapshot.taken_at)),
            foreign_locks: snapshot.locks.iter().filter(held_by).filter(|l| l.month().is_none()).count(),
            reasons: Vec::new(),
        });
        for problem in &assessment.locks[i].problems {
            let text = problem.describe();
            if !plan.reasons.contains(&text) {
                plan.reasons.push(text);
            }
        }
    }
    by_pid.into_values().collect()
}
