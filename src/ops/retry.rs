//! The retry of failed months (`db::retry`): back to `retry`, guarded by each month's
//! lock and live message, optionally with their retry count set back to 0.

use serde::Serialize;

use super::Kind;
use crate::db::DbError;
use crate::db::audit::Actor;
use crate::db::connect::Session;
use crate::db::retry;
pub use crate::db::retry::RetryRequest;
use crate::model::ask::{Ask, Chosen};
use crate::model::audit::Action;
use crate::model::job::{After, Confirmation, Job, Knob, Plan, Turned};
use crate::model::lock_key::YearMonth;
use crate::model::op::{Report, Request};
use crate::model::refusal::Refusal;
use crate::model::retry::RetryReport;
use crate::present;

pub const KIND: Kind = Kind { name: "Retry", action: Action::Retry, destructive: false };

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

/// The audit action of a retry: one that also sets the retry count back to 0 is its own.
pub fn action(reset_count: bool) -> Action {
    if reset_count { Action::RetryResetCount } else { Action::Retry }
}

/// Runs (or, `request.dry_run`, plans: the same routine rolled back) the retry.
pub async fn run(session: &mut Session, actor: &Actor, request: &RetryRequest<'_>) -> Result<RetryReport, DbError> {
    let local = session.per_transaction.clone();
    retry::retry(&mut session.client, local.as_deref(), actor, request).await
}

/// The console's retry.
pub async fn run_job(session: &mut Session, actor: &Actor, job: &RetryJob) -> Result<RetryDone, DbError> {
    let request = RetryRequest {
        months: &job.months,
        reset_count: job.reset_count,
        dry_run: job.dry_run,
        selection: &job.selection,
    };
    let report = run(session, actor, &request).await?;
    Ok(RetryDone { job: job.clone(), report })
}

/// The retry the console asks for: the marked months, else the selected one. A dry run
/// plans it.
pub fn ask(chosen: &Chosen<'_>) -> Result<Ask, Refusal> {
    if chosen.months.is_empty() {
        return Err(Refusal::Nothing("no month selected to retry".into()));
    }
    let selection =
        if chosen.marked_months.is_empty() { "console: the selected month" } else { "console: marked months" };
    let job =
        RetryJob { months: chosen.months.clone(), reset_count: false, dry_run: true, selection: selection.into() };
    Ok(Ask::Plan(Job::new(job)))
}

impl Request for RetryJob {
    fn tag(&self) -> &'static str {
        "retry"
    }
    fn kind(&self) -> Kind {
        Kind { action: action(self.reset_count), ..KIND }
    }
    fn is_plan(&self) -> bool {
        self.dry_run
    }
    fn running(&self) -> &'static str {
        if self.dry_run { "Planning the retry (a dry run)" } else { "Retrying" }
    }
    fn confirmation(&self, plan: &Plan) -> Confirmation {
        match plan.get::<RetryReport>() {
            Some(report) => Confirmation::warning(
                format!("Retry {} month(s)", self.months.len()),
                present::retry::plan(report),
                "retry",
            ),
            None => Confirmation::unplanned(self.running()),
        }
    }
    fn knobs(&self) -> Vec<(Knob, String)> {
        let what = if self.reset_count { "keep" } else { "also reset" };
        vec![(Knob::Adjust { up: true }, format!("{what} the count of months at the cap"))]
    }
    /// Also retry the months at the cap, setting their count back to 0: plan it again.
    fn turned(&self, knob: Knob) -> Option<Turned> {
        let Knob::Adjust { .. } = knob else { return None };
        Some(Turned::Replan(Job::new(RetryJob { reset_count: !self.reset_count, dry_run: true, ..self.clone() })))
    }
    fn confirmed(&self, _plan: &Plan) -> Job {
        Job::new(RetryJob { dry_run: false, ..self.clone() })
    }
}

impl Report for RetryDone {
    fn tag(&self) -> &'static str {
        "retry"
    }
    fn outcome(&self) -> (String, Vec<String>, bool) {
        ("Retry".into(), present::retry::result(&self.report), true)
    }
    fn as_plan(&self) -> Option<(Job, Plan)> {
        self.job.dry_run.then(|| (Job::new(self.job.clone()), Plan::new(self.report.clone())))
    }
    /// The marked months are done with when none was left alone.
    fn after(&self) -> After {
        After { clear_marked_months: !self.job.dry_run && self.report.skipped.is_empty(), ..After::default() }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn retry(reset_count: bool, dry_run: bool) -> RetryJob {
        RetryJob { months: vec![], reset_count, dry_run, selection: String::new() }
    }

    #[test]
    fn a_confirmed_retry_runs_and_its_knob_plans_it_again_with_the_count_reset() {
        let plan = Plan::new(RetryReport::default());
        assert_eq!(retry(false, true).confirmed(&plan), Job::new(retry(false, false)));
        let Some(Turned::Replan(again)) = retry(false, false).turned(Knob::Adjust { up: false }) else { panic!() };
        assert_eq!(again, Job::new(retry(true, true)));
        assert_eq!(retry(false, false).turned(Knob::Switch), None);
        assert_eq!(Job::new(retry(true, false)).kind().action, Action::RetryResetCount);
    }
}
