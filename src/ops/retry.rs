//! The retry of failed months (`db::retry`): back to `retry`, guarded by each month's
//! lock and live message, optionally with their retry count set back to 0.

use super::Kind;
use crate::db::DbError;
use crate::db::audit::Actor;
use crate::db::connect::Session;
use crate::db::retry;
pub use crate::db::retry::RetryRequest;
use crate::model::audit::Action;
use crate::model::job::RetryJob;
use crate::model::retry::RetryReport;

pub const KIND: Kind = Kind { name: "Retry", action: Action::Retry, destructive: false };

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
pub async fn run_job(session: &mut Session, actor: &Actor, job: &RetryJob) -> Result<RetryReport, DbError> {
    let request = RetryRequest {
        months: &job.months,
        reset_count: job.reset_count,
        dry_run: job.dry_run,
        selection: &job.selection,
    };
    run(session, actor, &request).await
}
