//! The operations, one module each: claim, release, reset, retry, redrive and purge,
//! and the read of a judged snapshot. Each says once what it is called, which audit
//! action it writes, whether it destroys, on which connection it runs and how it runs
//! on a session — the pooler rules (`SET LOCAL` of the safety settings through a
//! transaction pooler) and the direct-URL choice included. The console's job runner
//! (`tui/jobs.rs`) and the headless commands (`cli/`) both call these; neither calls a
//! `db::` action routine itself (`.ci/layers` checks it).
//!
//! Requests and outcomes are data ([`Job`], [`JobResult`] in `model::op`), each type's
//! behaviour declared here, in its operation's module (`model::op::Request`, `Report`):
//! [`run`] finds a request's operation by its type and hands back its typed outcome.

pub mod claim;
pub mod dead;
pub mod fleet;
pub mod occasional;
pub mod read;
pub mod release;
pub mod reset;
pub mod retry;

use crate::db::DbError;
use crate::db::audit::Actor;
use crate::db::connect::{ConnSettings, Session};
use crate::model::action::{Action, OverlayAction};
use crate::model::ask::{Ask, Catalog, Chosen, DeadChoice};
use crate::model::claim::ClaimParams;
use crate::model::job::{Job, JobResult, PlanClaim};
pub use crate::model::op::Kind;
use crate::model::refusal::Refusal;
use crate::model::release::Method;
use dead::{PurgeJob, RedriveJob};
use release::ReleaseJob;
use reset::ResetJob;
use retry::RetryJob;

/// What a running operation may be told and may tell: stop at the next safe point
/// (honoured by a redrive between chunks), and how far it is.
pub struct Control {
    pub cancel: tokio::sync::watch::Receiver<bool>,
    pub progress: Box<dyn FnMut(String) + Send>,
}

impl Control {
    /// Never told to stop; progress goes nowhere.
    pub fn none() -> (tokio::sync::watch::Sender<bool>, Self) {
        let (stop, cancel) = tokio::sync::watch::channel(false);
        (stop, Self { cancel, progress: Box::new(|_| {}) })
    }
}

/// The operations that answer to the main screen's actions, a line each: what the console
/// asks of them (`model::ask::Catalog`) — the claim's form aside, which is the console's own.
pub struct Operations;

/// The catalogue the console is started with.
pub static OPERATIONS: Operations = Operations;

impl Catalog for Operations {
    fn ask(&self, action: Action, chosen: &Chosen<'_>) -> Option<Result<Ask, Refusal>> {
        Some(match action {
            Action::Retry => retry::ask(chosen),
            Action::ResetStuck => reset::ask(chosen),
            Action::Release => release::ask(chosen, Method::Terminate),
            Action::CancelQuery => release::ask(chosen, Method::Cancel),
            _ => return None,
        })
    }

    fn ask_in_view(&self, action: OverlayAction, choice: &DeadChoice) -> Option<Ask> {
        match action {
            OverlayAction::Redrive => Some(dead::ask_redrive(choice)),
            OverlayAction::Purge => Some(dead::ask_purge(choice)),
            _ => None,
        }
    }
}

/// The connection the request runs on: the direct one when it asks for it and there is
/// one (a release: through a pooler the holder may be the very backend a pooled statement
/// lands on).
pub fn settings_for<'a>(job: &Job, pooled: &'a ConnSettings, direct: Option<&'a ConnSettings>) -> &'a ConnSettings {
    if job.over_direct() { release::settings(pooled, direct) } else { pooled }
}

/// Runs the request once on `session` (a session of its own: a long claim never stalls
/// the console's reads) and returns its outcome: the catalogue, a line per request type.
pub async fn run(job: Job, session: &mut Session, actor: &Actor, control: &mut Control) -> Result<JobResult, DbError> {
    if let Some(params) = job.get::<ClaimParams>() {
        return claim::run(session, params, actor).await.map(JobResult::done);
    }
    if let Some(PlanClaim(params)) = job.get() {
        return claim::plan(session, params.clone(), actor).await;
    }
    if let Some(job) = job.get::<ReleaseJob>() {
        return release::run_job(session, actor, job).await.map(JobResult::done);
    }
    if let Some(job) = job.get::<ResetJob>() {
        return reset::run_job(session, actor, job).await.map(JobResult::done);
    }
    if let Some(job) = job.get::<RetryJob>() {
        return retry::run_job(session, actor, job).await.map(JobResult::done);
    }
    if let Some(job) = job.get::<RedriveJob>() {
        return dead::redrive_job(session, actor, job, control).await.map(JobResult::done);
    }
    if let Some(job) = job.get::<PurgeJob>() {
        return dead::purge_job(session, actor, job).await.map(JobResult::done);
    }
    Err(DbError::Refused(format!("{}: no operation runs this request", job.title())))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::audit::Action;
    use crate::model::claim::ClaimParams;
    use crate::model::dead::Which;
    use crate::model::lock_key::YearMonth;
    use crate::model::release::{Method, Target};

    fn release(method: Method) -> Job {
        let month = YearMonth::new(2024, 3).unwrap();
        let target = Target { pid: 7, backend_start: chrono::Utc::now(), month };
        Job::new(ReleaseJob { holders: vec![crate::model::release::Holder { target, months: vec![month] }], method })
    }

    #[test]
    fn each_request_names_its_operation_and_audit_action() {
        assert_eq!(release(Method::Terminate).kind().action, Action::ReleaseTerminate);
        assert_eq!(release(Method::Cancel).kind().action, Action::ReleaseCancel);
        assert!(release(Method::Cancel).kind().destructive);
        let purge = Job::new(PurgeJob { which: Which::All, until: None, selection: "--all".into() });
        assert_eq!(purge.kind(), dead::PURGE);
        assert!(purge.kind().destructive);
        let claim = Job::new(ClaimParams::default());
        assert_eq!((claim.kind().action, claim.kind().destructive), (Action::Claim, false));
        let retry =
            |reset_count| Job::new(RetryJob { months: vec![], reset_count, dry_run: false, selection: String::new() });
        assert_eq!(retry(false).kind().action, Action::Retry);
        assert_eq!(retry(true).kind().action, Action::RetryResetCount);
    }

    #[test]
    fn titles_say_a_plan_or_a_dry_run() {
        assert_eq!(Job::new(ClaimParams::default()).title(), "Claim");
        assert_eq!(Job::new(ClaimParams { dry_run: true, ..ClaimParams::default() }).title(), "Claim (dry run)");
        assert_eq!(Job::new(PlanClaim(ClaimParams::default())).title(), "Claim (planning)");
        assert_eq!(release(Method::Terminate).title(), "Release");
    }

    #[test]
    fn only_a_release_runs_over_the_direct_connection() {
        let settings = |url: &str| crate::db::connect::resolve(Some(url), &|_| None).unwrap();
        let (pooled, direct) = (settings("postgresql://u@pooler:6432/db"), settings("postgresql://u@db:5432/db"));
        assert!(std::ptr::eq(settings_for(&release(Method::Terminate), &pooled, Some(&direct)), &direct));
        assert!(std::ptr::eq(settings_for(&release(Method::Terminate), &pooled, None), &pooled));
        let claim = Job::new(ClaimParams::default());
        assert!(std::ptr::eq(settings_for(&claim, &pooled, Some(&direct)), &pooled));
    }

    #[test]
    fn requests_and_outcomes_are_recorded_externally_tagged() {
        let json = serde_json::to_value(release(Method::Cancel)).unwrap();
        assert_eq!(json["release"]["method"], "cancel", "{json}");
        let planned = Job::new(PlanClaim(ClaimParams::default()));
        assert!(serde_json::to_value(planned).unwrap()["plan_claim"]["batch_size"].is_number());
        let done = JobResult::done(crate::model::dead::PurgeReport::default());
        assert!(serde_json::to_value(done).unwrap()["purge"].is_object());
    }
}
