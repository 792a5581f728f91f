//! The operations' requests, plans and outcomes as data. What each one does and says is
//! declared in its module of `ops/` (the [`Request`](super::op::Request) and
//! [`Report`](super::op::Report) implementations); the console handles them through
//! `model::op` alone.

use std::time::Duration;

use serde::Serialize;

pub use super::op::{After, Confirmation, Job, JobResult, Kind, Knob, Plan, PlanLine, Turned};
use crate::model::claim::{ClaimParams, ClaimReport};
use crate::model::dead::{PurgeReport, RedriveReport, Which};
use crate::model::lock_key::YearMonth;
use crate::model::release::{Holder, Method, Released};
use crate::model::reset::{ResetReport, StuckMonthRow};
use crate::model::retry::RetryReport;

/// A claim of listed months planned: the same routine as a dry run (nothing changed), for
/// the claim's form. (The claim itself is its [`ClaimParams`].)
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(transparent)]
pub struct PlanClaim(pub ClaimParams);

/// The claim of listed months as a dry run found it, for the claim's form.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ClaimPlanned {
    pub params: ClaimParams,
    pub report: Box<ClaimReport>,
}

/// The holders' sessions ended (or their queries cancelled), each checked race-free.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ReleaseJob {
    pub holders: Vec<Holder>,
    pub method: Method,
}

/// Each holder and what came of it, in the order asked.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ReleaseDone {
    pub method: Method,
    pub outcomes: Vec<Released>,
}

/// A reset of stuck months as the console asks for it; `dry_run` plans it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ResetJob {
    pub older_than: Duration,
    /// The months chosen, as the snapshot taken at `taken_at` showed them (the plan says
    /// how long each had been processing by then).
    pub months: Vec<StuckMonthRow>,
    pub taken_at: chrono::DateTime<chrono::Utc>,
    pub dry_run: bool,
}

/// A reset ran (or, `job.dry_run`, was planned).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ResetDone {
    pub job: ResetJob,
    pub report: ResetReport,
}

/// Failed months back to retry as the console asks for it; `dry_run` plans it (the same
/// routine, rolled back).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RetryJob {
    pub months: Vec<YearMonth>,
    pub reset_count: bool,
    pub dry_run: bool,
    /// How the months were chosen, for the audit row.
    pub selection: String,
}

/// A retry ran (or, `job.dry_run`, was planned) for the job's months.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RetryDone {
    pub job: RetryJob,
    pub report: RetryReport,
}

/// Dead letters back to the queue as the console asks for it (no rate: its chunks back to
/// back); `dry_run` plans it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RedriveJob {
    /// What to redrive: a plan resolves a reason (or all) to ids; the confirmed job
    /// takes exactly the ids the plan weighed.
    pub which: Which,
    /// None that died after this (what the operator saw), for a reason or all.
    pub until: Option<chrono::DateTime<chrono::Utc>>,
    pub dry_run: bool,
    pub selection: String,
    /// At most this many messages a minute (`None`: chunks back to back).
    pub rate: Option<u32>,
    /// Also messages whose month is completed since.
    pub force: bool,
}

/// A redrive ran (or, `job.dry_run`, was planned).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RedriveDone {
    pub job: RedriveJob,
    pub report: Box<RedriveReport>,
}

/// Dead letters deleted: `which`, none that died after `until` (what the operator saw).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PurgeJob {
    pub which: Which,
    pub until: Option<chrono::DateTime<chrono::Utc>>,
    pub selection: String,
}

/// What a purge is shown with before it runs: how many, and which in words.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PurgePlan {
    pub count: usize,
    pub what: String,
}

/// A purge's report is its outcome.
pub type PurgeDone = PurgeReport;
