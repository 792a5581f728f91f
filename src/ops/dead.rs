//! The dead letters' two operations (`db::dead`): redrive (back to the queue, chunk by
//! chunk at a rate, guarded by each message's month) and purge (deleted for good).

use chrono::{DateTime, Utc};

use super::{Control, Kind};
use crate::db::DbError;
use crate::db::audit::Actor;
use crate::db::connect::Session;
use crate::db::dead;
pub use crate::db::dead::{RedriveRequest, compact_ids};
use crate::model::audit::Action;
use crate::model::dead::{DeadLetters, PurgeReport, RedriveReport, Which};
use crate::model::job::RedriveJob;

pub const REDRIVE: Kind = Kind { name: "Redrive", action: Action::DeadRedrive, destructive: false };
pub const PURGE: Kind = Kind { name: "Purge", action: Action::DeadPurge, destructive: true };

/// The dead letters for their view: every reason counted (or one reason's), the newest `limit`.
pub async fn list(session: &Session, reason: Option<&str>, limit: i64) -> Result<DeadLetters, DbError> {
    dead::list(&session.client, reason, limit).await
}

/// The ids `which` names now, none that died after `until`.
pub async fn ids(session: &Session, which: &Which, until: Option<DateTime<Utc>>) -> Result<Vec<i64>, DbError> {
    dead::ids(&session.client, which, until).await
}

/// Redrives (or, `request.dry_run`, plans: every chunk at once, rolled back) the messages;
/// stops between chunks when `control` says so and tells it each chunk. A chunk that
/// fails ends the redrive: the report says what the chunks before it did (`error`).
pub async fn redrive(
    session: &mut Session,
    actor: &Actor,
    request: &RedriveRequest<'_>,
    control: &mut Control,
) -> Result<RedriveReport, DbError> {
    let local = session.per_transaction.clone();
    let total = request.ids.len();
    let progress = &mut control.progress;
    let mut each_chunk = |r: &RedriveReport| {
        progress(format!("chunk {}: moved {} of {total}, left alone {}", r.chunks, r.moved.len(), r.skipped.len()));
    };
    dead::redrive(&mut session.client, local.as_deref(), actor, request, &mut control.cancel, &mut each_chunk).await
}

/// The console's redrive: a plan resolves the selection to ids and weighs every chunk at
/// once; the confirmed job keeps the rate.
pub async fn redrive_job(
    session: &mut Session,
    actor: &Actor,
    job: &RedriveJob,
    control: &mut Control,
) -> Result<RedriveReport, DbError> {
    let rate = if job.dry_run { None } else { job.rate.map(f64::from) };
    let (chunk, pause) = crate::model::dead::pacing(rate);
    let ids = ids(session, &job.which, job.until).await?;
    let request =
        RedriveRequest { ids: &ids, force: job.force, dry_run: job.dry_run, chunk, pause, selection: &job.selection };
    redrive(session, actor, &request, control).await
}

/// Deletes the chosen dead letters (none that died after `until`), audited in the same
/// transaction.
pub async fn purge(
    session: &mut Session,
    actor: &Actor,
    which: &Which,
    until: Option<DateTime<Utc>>,
    selection: &str,
) -> Result<PurgeReport, DbError> {
    let local = session.per_transaction.clone();
    dead::purge(&mut session.client, local.as_deref(), actor, which, until, selection).await
}
