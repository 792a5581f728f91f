//! The write side: each action runs ONCE on a fresh session of its own (so a
//! long claim never stalls the refresh), and its result comes back as a
//! message. A link lost mid-action is reported as "outcome unknown" and the
//! action is never repeated.

use crate::app::{DbEvent, Job, JobResult, RedriveJob, ResetJob, RetryJob};
use crate::db::audit::Actor;
use crate::db::connect::{self, ConnSettings, SessionOptions};
use crate::db::{DbError, claim, dead, release, reset, retry};
use crate::model::FailureKind;

/// What the console hands a job besides its work: a way to ask it to stop (honoured by
/// a redrive between chunks) and a way to report progress.
pub struct Control {
    pub cancel: tokio::sync::watch::Receiver<bool>,
    pub progress: tokio::sync::mpsc::Sender<DbEvent>,
}

pub async fn run(
    job: Job,
    settings: ConnSettings,
    options: SessionOptions,
    actor: Actor,
    control: Control,
) -> JobResult {
    let name = match &job {
        Job::Claim(p) if p.dry_run => "Claim (dry run)",
        Job::Claim(_) => "Claim",
        Job::Release { .. } => "Release",
        Job::PlanClaim(_) => "Claim (planning)",
        Job::Reset(ResetJob { dry_run: true, .. }) => "Reset stuck months (planning)",
        Job::Reset(_) => "Reset stuck months",
        Job::Retry(RetryJob { dry_run: true, .. }) => "Retry (planning)",
        Job::Retry(_) => "Retry",
        Job::Redrive(RedriveJob { dry_run: true, .. }) => "Redrive (planning)",
        Job::Redrive(_) => "Redrive",
        Job::Purge { .. } => "Purge",
    };
    let mut session = match connect::connect(&settings, &options).await {
        Ok(s) => s,
        // Nothing was sent: the outcome is known (nothing happened).
        Err(e) => return failed(name, &e, FailureKind::CouldNotConnect),
    };
    let result = match job {
        Job::Claim(params) => claim::claim(&mut session, &params, Some(&actor)).await.map(JobResult::Claim),
        Job::Release { target, method } => release::release(&session.client, &actor, &target, method, "operator")
            .await
            .map(|outcome| JobResult::Release { target, method, outcome }),
        Job::PlanClaim(params) => {
            let params = crate::model::claim::ClaimParams { dry_run: true, ..params };
            let result = claim::claim(&mut session, &params, Some(&actor)).await;
            result.map(|report| JobResult::ClaimPlan { params, report: Box::new(report) })
        }
        Job::Reset(job) => {
            let local = session.per_transaction.clone();
            let months: Vec<_> = job.months.iter().map(|m| m.month).collect();
            let (older_than, dry_run) = (job.older_than, job.dry_run);
            let result = reset::reset_stuck_with(
                &mut session.client,
                local.as_deref(),
                &actor,
                older_than,
                Some(&months),
                dry_run,
            )
            .await;
            result.map(|report| JobResult::Reset { job, report })
        }
        Job::Retry(job) => {
            let local = session.per_transaction.clone();
            let request = retry::RetryRequest {
                months: &job.months,
                reset_count: job.reset_count,
                dry_run: job.dry_run,
                selection: &job.selection,
            };
            let result = retry::retry(&mut session.client, local.as_deref(), &actor, &request).await;
            result.map(|report| JobResult::Retry { job: job.clone(), report })
        }
        Job::Redrive(job) => {
            let local = session.per_transaction.clone();
            // A dry run plans every chunk at once; the real one keeps the rate.
            let rate = if job.dry_run { None } else { job.rate.map(f64::from) };
            let (chunk, pause) = crate::model::dead::pacing(rate);
            let ids = match dead::ids(&session.client, &job.which, job.until).await {
                Ok(ids) => ids,
                Err(e) => return failed(name, &e, e.kind()),
            };
            let request = dead::RedriveRequest {
                ids: &ids,
                force: job.force,
                dry_run: job.dry_run,
                chunk,
                pause,
                selection: &job.selection,
            };
            let total = ids.len();
            let progress = control.progress.clone();
            let mut report_progress = move |r: &crate::model::dead::RedriveReport| {
                let text =
                    format!("chunk {}: moved {} of {total}, left alone {}", r.chunks, r.moved.len(), r.skipped.len());
                let _ = progress.try_send(DbEvent::JobProgress(text));
            };
            let mut cancel = control.cancel.clone();
            let result = dead::redrive(
                &mut session.client,
                local.as_deref(),
                &actor,
                &request,
                &mut cancel,
                &mut report_progress,
            )
            .await;
            result.map(|report| JobResult::Redrive { job: job.clone(), report: Box::new(report) })
        }
        Job::Purge { which, until, selection } => {
            let local = session.per_transaction.clone();
            let result = dead::purge(&mut session.client, local.as_deref(), &actor, &which, until, &selection).await;
            result.map(JobResult::Purge)
        }
    };
    match result {
        Ok(r) => {
            tracing::info!("{name} done");
            r
        }
        Err(e) => {
            let kind = if session.is_closed() { FailureKind::LinkLost } else { e.kind() };
            failed(name, &e, kind)
        }
    }
}

fn failed(name: &str, e: &DbError, kind: FailureKind) -> JobResult {
    JobResult::Failed { job: name.to_string(), error: e.to_string(), kind }
}
