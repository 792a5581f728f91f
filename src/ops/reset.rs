//! The reset of stuck months back to `retry` (`db::reset`): guarded by each month's lock
//! and by its live message, so a month still queued is never reset into a second run.

use std::time::Duration;

use super::Kind;
use crate::db::DbError;
use crate::db::audit::Actor;
use crate::db::connect::Session;
use crate::db::reset;
use crate::model::audit::Action;
use crate::model::job::{Confirmation, Job, Plan, ResetDone, ResetJob};
use crate::model::lock_key::YearMonth;
use crate::model::op::{Report, Request};
use crate::model::reset::{ResetReport, StuckMonthRow};
use crate::present;

pub const KIND: Kind = Kind { name: "Reset stuck months", action: Action::ResetStuck, destructive: true };

/// The months processing for longer than `older_than` now.
pub async fn stuck(session: &Session, older_than: Duration) -> Result<Vec<StuckMonthRow>, DbError> {
    reset::stuck_months(&session.client, older_than).await
}

/// Resets `months` (those still stuck for `older_than`); `dry_run`: the same routine
/// rolled back, month by month what the reset would do now.
pub async fn run(
    session: &mut Session,
    actor: &Actor,
    older_than: Duration,
    months: &[YearMonth],
    dry_run: bool,
) -> Result<ResetReport, DbError> {
    let local = session.per_transaction.clone();
    reset::reset_stuck_with(&mut session.client, local.as_deref(), actor, older_than, Some(months), dry_run).await
}

/// The console's reset: the months the operator saw.
pub async fn run_job(session: &mut Session, actor: &Actor, job: &ResetJob) -> Result<ResetDone, DbError> {
    let months: Vec<YearMonth> = job.months.iter().map(|m| m.month).collect();
    let report = run(session, actor, job.older_than, &months, job.dry_run).await?;
    Ok(ResetDone { job: job.clone(), report })
}

impl Request for ResetJob {
    fn tag(&self) -> &'static str {
        "reset"
    }
    fn kind(&self) -> Kind {
        KIND
    }
    fn is_plan(&self) -> bool {
        self.dry_run
    }
    fn running(&self) -> &'static str {
        if self.dry_run { "Planning the reset (a dry run)" } else { "Resetting stuck months" }
    }
    fn confirmation(&self, plan: &Plan) -> Confirmation {
        match plan.get::<ResetReport>() {
            Some(report) => Confirmation::warning(
                format!("Reset stuck months ({} chosen)", self.months.len()),
                present::reset::plan(self.older_than, &self.months, self.taken_at, Some(report)),
                "do it",
            ),
            None => Confirmation::unplanned(self.running()),
        }
    }
    fn confirmed(&self, _plan: &Plan) -> Job {
        Job::new(ResetJob { dry_run: false, ..self.clone() })
    }
}

impl Report for ResetDone {
    fn tag(&self) -> &'static str {
        "reset"
    }
    fn outcome(&self) -> (String, Vec<String>, bool) {
        ("Reset stuck months".into(), present::reset::result(&self.report), true)
    }
    fn as_plan(&self) -> Option<(Job, Plan)> {
        self.job.dry_run.then(|| (Job::new(self.job.clone()), Plan::new(self.report.clone())))
    }
}
