//! The operations the console and the headless commands ask of the database, as
//! data: what is asked ([`Job`]) and what came of it ([`JobResult`]). `ops/` runs
//! them; the console's state machine sends and absorbs them; the flight recorder
//! writes them down.

use std::time::Duration;

use crate::model::FailureKind;
use crate::model::claim::{ClaimParams, ClaimReport};
use crate::model::dead::{PurgeReport, RedriveReport, Which};
use crate::model::lock_key::YearMonth;
use crate::model::release::{Holder, Method, Released};
use crate::model::reset::{ResetReport, StuckMonthRow};
use crate::model::retry::RetryReport;

/// An action for the database, run once by the job task (never repeated on reconnect).
/// Recorded as it was asked (`recording::What::Requested`), externally tagged: `{"claim": {…}}`.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Job {
    Claim(ClaimParams),
    /// A claim of listed months planned: the same routine as a dry run (nothing changed).
    PlanClaim(ClaimParams),
    /// The holders' sessions ended (or their queries cancelled), each checked race-free.
    Release {
        holders: Vec<Holder>,
        method: Method,
    },
    /// Stuck months back to retry; `dry_run` plans it.
    Reset(ResetJob),
    /// Failed months back to retry; `dry_run` plans it (the same routine, rolled back).
    Retry(RetryJob),
    /// Dead letters back to the queue; `dry_run` plans it.
    Redrive(RedriveJob),
    /// Dead letters deleted: `which`, none that died after `until` (what the operator saw).
    Purge {
        which: Which,
        until: Option<chrono::DateTime<chrono::Utc>>,
        selection: String,
    },
}

impl Job {
    /// A dry run that plans a dialog (nothing changes), not an action.
    pub fn is_plan(&self) -> bool {
        match self {
            Job::Claim(p) => p.dry_run,
            Job::PlanClaim(_) => true,
            Job::Reset(j) => j.dry_run,
            Job::Retry(j) => j.dry_run,
            Job::Redrive(j) => j.dry_run,
            Job::Release { .. } | Job::Purge { .. } => false,
        }
    }
}

/// A reset of stuck months as the console asks for it.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct ResetJob {
    pub older_than: Duration,
    /// The months chosen, as the snapshot taken at `taken_at` showed them (the plan says
    /// how long each had been processing by then).
    pub months: Vec<StuckMonthRow>,
    pub taken_at: chrono::DateTime<chrono::Utc>,
    pub dry_run: bool,
}

/// A redrive as the console asks for it (no rate: its chunks back to back).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
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

/// A retry as the console asks for it.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct RetryJob {
    pub months: Vec<YearMonth>,
    pub reset_count: bool,
    pub dry_run: bool,
    /// How the months were chosen, for the audit row.
    pub selection: String,
}

/// Recorded as it came back (`recording::What::Outcome`), externally tagged.
#[derive(Debug, Clone, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum JobResult {
    Claim(ClaimReport),
    /// A claim of listed months planned (a dry run), for its dialog.
    ClaimPlan {
        params: ClaimParams,
        report: Box<ClaimReport>,
    },
    /// Each holder and what came of it, in the order asked.
    Release {
        method: Method,
        outcomes: Vec<Released>,
    },
    /// A reset ran (or, `dry_run`, was planned).
    Reset {
        job: ResetJob,
        report: ResetReport,
    },
    /// A retry ran (or, `dry_run`, was planned) for the job's months.
    Retry {
        job: RetryJob,
        report: RetryReport,
    },
    /// A redrive ran (or, `dry_run`, was planned).
    Redrive {
        job: RedriveJob,
        report: Box<RedriveReport>,
    },
    Purge(PurgeReport),
    /// The job failed; `kind` says whether its outcome is unknown (the link dropped
    /// while it ran) or what the operator can do about it.
    Failed {
        job: String,
        error: String,
        kind: FailureKind,
    },
}
