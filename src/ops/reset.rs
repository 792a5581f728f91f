//! The reset of stuck months back to `retry` (`db::reset`): guarded by each month's lock
//! and by its live message, so a month still queued is never reset into a second run.

use std::time::Duration;

use super::Kind;
use crate::db::DbError;
use crate::db::audit::Actor;
use crate::db::connect::Session;
use crate::db::reset;
use crate::model::audit::Action;
use crate::model::job::ResetJob;
use crate::model::lock_key::YearMonth;
use crate::model::reset::{ResetReport, StuckMonthRow};

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
pub async fn run_job(session: &mut Session, actor: &Actor, job: &ResetJob) -> Result<ResetReport, DbError> {
    let months: Vec<YearMonth> = job.months.iter().map(|m| m.month).collect();
    run(session, actor, job.older_than, &months, job.dry_run).await
}
