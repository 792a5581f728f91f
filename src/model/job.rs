//! The operations' requests, plans and outcomes as data. What each one does and says is
//! declared in its module of `ops/` (the [`Request`](super::op::Request) and
//! [`Report`](super::op::Report) implementations); the console handles them through
//! `model::op` alone.

use serde::Serialize;

pub use super::op::{After, Confirmation, Job, JobResult, Kind, Knob, Plan, PlanLine, Turned};
use crate::model::claim::{ClaimParams, ClaimReport};
use crate::model::dead::{PurgeReport, RedriveReport, Which};

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
