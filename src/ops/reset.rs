//! The reset of stuck months back to `retry` (`db::reset`): guarded by each month's lock
//! and by its live message, so a month still queued is never reset into a second run.

use std::time::Duration;

use serde::Serialize;

use super::Kind;
use crate::db::DbError;
use crate::db::audit::Actor;
use crate::db::connect::Session;
use crate::db::reset;
use crate::duration_text::format as dur;
use crate::model::ask::{Ask, Chosen};
use crate::model::audit::Action;
use crate::model::job::{Confirmation, Job, Plan};
use crate::model::lock_key::YearMonth;
use crate::model::op::{Report, Request};
use crate::model::refusal::Refusal;
use crate::model::reset::{ResetReport, StuckMonthRow};
use crate::model::{Assessment, Thresholds};
use crate::present;

pub const KIND: Kind = Kind { name: "Reset stuck months", action: Action::ResetStuck, destructive: true };

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

/// The reset the console asks for: the abandoned months — `processing`, no live message,
/// no worker (the marked ones, with marks). Never a month whose message is still queued.
/// A dry run plans it.
pub fn ask(chosen: &Chosen<'_>) -> Result<Ask, Refusal> {
    let assessment = chosen.assessment.ok_or(Refusal::NoData)?;
    if assessment.stuck_months.is_empty() {
        return Err(Refusal::NothingToReset(nothing_to_reset(assessment, chosen.thresholds)));
    }
    let snap = chosen.snapshot.ok_or(Refusal::NoData)?;
    let marked = chosen.marked_months;
    // With marks: the marked stuck months only.
    let months: Vec<StuckMonthRow> = assessment
        .stuck_months
        .iter()
        .filter(|m| marked.is_empty() || marked.contains(&m.month))
        .map(|m| {
            let row = snap.month(m.month);
            StuckMonthRow {
                month: m.month,
                started_at: row.and_then(|r| r.started_at),
                retry_count: row.and_then(|r| r.retry_count).unwrap_or(0),
            }
        })
        .collect();
    if months.is_empty() {
        return Err(Refusal::MarkedNotAbandoned { marked: marked.len() });
    }
    // Known work: what makes a month resettable is no message and no worker, not its age.
    let older_than = if assessment.work.is_some() { Duration::ZERO } else { chosen.thresholds.stuck_month_after };
    Ok(Ask::Plan(Job::new(ResetJob { older_than, months, taken_at: snap.taken_at, dry_run: true })))
}

/// Why `R` offers nothing: the processing months' messages say what they wait for.
fn nothing_to_reset(assessment: &Assessment, t: &Thresholds) -> String {
    use crate::model::work::Work;
    let Some(work) = &assessment.work else {
        return format!("no month has been processing for {} or more", dur(t.stuck_month_after));
    };
    let waiting = work.iter().filter(|w| matches!(w.work, Work::Waiting { .. })).count();
    let left = work.iter().filter(|w| matches!(w.work, Work::TakenAndLeft { .. })).count();
    let mut why = vec!["nothing to reset".to_string()];
    if waiting > 0 {
        why.push(format!(
            "{waiting} processing month(s) still have their message in the queue (a consumer stall, not stuck months: a reset would queue their work twice)"
        ));
    }
    if left > 0 {
        why.push(format!("{left} month(s) whose message a consumer took are handed out again by the queue"));
    }
    if waiting == 0 && left == 0 {
        why.push("no month is processing without a message and a worker".into());
    }
    why.join(": ")
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
