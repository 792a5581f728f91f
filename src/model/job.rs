//! The operations the console and the headless commands ask of the database, as
//! data: what is asked ([`Job`]) and what came of it ([`JobResult`]). `ops/` runs
//! them; the console's state machine sends and absorbs them; the flight recorder
//! writes them down.

use std::time::Duration;

use crate::model::FailureKind;
use crate::model::claim::{ClaimParams, ClaimReport};
use crate::model::dead::{PurgeReport, RedriveReport, Which};
use crate::model::lock_key::YearMonth;
use crate::model::release::{Holder, HolderPlan, Method, Released};
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

/// What the operator is shown before an action runs (every confirmed action but the
/// claim, whose dialog is a form): the holders a release ends, the dry run of a reset, a
/// retry or a redrive, how many dead letters a purge deletes.
#[derive(Debug, Clone, PartialEq)]
pub enum Plan {
    Release(Vec<HolderPlan>),
    Reset(ResetReport),
    Retry(RetryReport),
    Redrive(Box<RedriveReport>),
    Purge {
        count: usize,
        /// Which, in words.
        what: String,
    },
}

/// A knob of a planned action the operator can turn before confirming.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Knob {
    /// ←/→: a retry also resets the count of months at the cap; a redrive's rate.
    Adjust { up: bool },
    /// Tab: a redrive's force.
    Switch,
}

/// What turning a knob did.
#[derive(Debug, Clone, PartialEq)]
pub enum Turned {
    /// The plan stays true for the changed job (a redrive's rate).
    Kept(Job),
    /// The changed job must be planned again: this dry run plans it.
    Replan(Job),
}

impl Job {
    /// The job to run when the operator confirms `plan` (which this job planned).
    pub fn confirmed(&self, plan: &Plan) -> Job {
        match (self, plan) {
            (Job::Reset(j), _) => Job::Reset(ResetJob { dry_run: false, ..j.clone() }),
            (Job::Retry(j), _) => Job::Retry(RetryJob { dry_run: false, ..j.clone() }),
            // Exactly the messages the plan weighed (no newcomer of the reason).
            (Job::Redrive(j), Plan::Redrive(report)) => {
                Job::Redrive(RedriveJob { dry_run: false, which: Which::Ids(report.considered()), ..j.clone() })
            }
            (job, _) => job.clone(),
        }
    }

    /// Turns `knob`; `None` when this job has no such knob.
    pub fn turned(&self, knob: Knob) -> Option<Turned> {
        match (self, knob) {
            // Also retry the months at the cap, setting their count back to 0: plan it again.
            (Job::Retry(j), Knob::Adjust { .. }) => {
                Some(Turned::Replan(Job::Retry(RetryJob { reset_count: !j.reset_count, dry_run: true, ..j.clone() })))
            }
            (Job::Redrive(j), Knob::Adjust { up }) => {
                let rates = crate::model::dead::CONSOLE_RATES;
                let i = rates.iter().position(|r| *r == j.rate).unwrap_or(0);
                let step = if up { 1 } else { rates.len() - 1 };
                Some(Turned::Kept(Job::Redrive(RedriveJob { rate: rates[(i + step) % rates.len()], ..j.clone() })))
            }
            // Send (or not) the messages whose month is completed since: plan it again.
            (Job::Redrive(j), Knob::Switch) => {
                Some(Turned::Replan(Job::Redrive(RedriveJob { force: !j.force, dry_run: true, ..j.clone() })))
            }
            _ => None,
        }
    }
}

impl JobResult {
    /// A dry run's result as the plan it is, with the job that planned it (`None` for
    /// any other result).
    pub fn as_plan(&self) -> Option<(Job, Plan)> {
        match self {
            JobResult::Reset { job, report } if job.dry_run => {
                Some((Job::Reset(job.clone()), Plan::Reset(report.clone())))
            }
            JobResult::Retry { job, report } if job.dry_run => {
                Some((Job::Retry(job.clone()), Plan::Retry(report.clone())))
            }
            JobResult::Redrive { job, report } if job.dry_run => {
                Some((Job::Redrive(job.clone()), Plan::Redrive(report.clone())))
            }
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::dead::RedriveReport;

    fn redrive(rate: Option<u32>) -> RedriveJob {
        let which = Which::Reason("boom".into());
        RedriveJob { which, until: None, dry_run: true, selection: "reason boom".into(), rate, force: false }
    }

    #[test]
    fn a_confirmed_redrive_takes_exactly_the_messages_its_plan_weighed() {
        let job = Job::Redrive(redrive(Some(60)));
        let plan =
            Plan::Redrive(Box::new(RedriveReport { dry_run: true, moved: vec![9, 4], ..RedriveReport::default() }));
        let Job::Redrive(run) = job.confirmed(&plan) else { panic!() };
        assert_eq!((run.which, run.dry_run, run.rate), (Which::Ids(vec![4, 9]), false, Some(60)));
        let retry = RetryJob { months: vec![], reset_count: false, dry_run: true, selection: String::new() };
        let plan = Plan::Retry(RetryReport::default());
        assert_eq!(Job::Retry(retry.clone()).confirmed(&plan), Job::Retry(RetryJob { dry_run: false, ..retry }));
    }

    #[test]
    fn knobs_change_the_job_and_say_when_it_must_be_planned_again() {
        let job = Job::Redrive(redrive(None));
        // The rate cycles both ways and keeps the plan; force plans again.
        let Some(Turned::Kept(Job::Redrive(up))) = job.turned(Knob::Adjust { up: true }) else { panic!() };
        assert_eq!(up.rate, Some(60));
        let Some(Turned::Kept(Job::Redrive(down))) = job.turned(Knob::Adjust { up: false }) else { panic!() };
        assert_eq!(down.rate, Some(6000));
        let Some(Turned::Replan(Job::Redrive(forced))) = job.turned(Knob::Switch) else { panic!() };
        assert!(forced.force && forced.dry_run);
        let retry =
            Job::Retry(RetryJob { months: vec![], reset_count: false, dry_run: false, selection: String::new() });
        let Some(Turned::Replan(Job::Retry(again))) = retry.turned(Knob::Adjust { up: false }) else { panic!() };
        assert!(again.reset_count && again.dry_run);
        assert_eq!(retry.turned(Knob::Switch), None);
        let purge = Job::Purge { which: Which::Ids(vec![1]), until: None, selection: String::new() };
        assert_eq!(purge.turned(Knob::Adjust { up: true }), None);
    }
}
