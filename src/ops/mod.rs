//! The operations, one module each: claim, release, reset, retry, redrive and purge,
//! and the read of a judged snapshot. Each says once what it is called, which audit
//! action it writes, whether it destroys, on which connection it runs and how it runs
//! on a session — the pooler rules (`SET LOCAL` of the safety settings through a
//! transaction pooler) and the direct-URL choice included. The console's job runner
//! (`tui/jobs.rs`) and the headless commands (`cli/`) both call these; neither calls a
//! `db::` action routine itself (`.ci/layers` checks it).
//!
//! Requests and outcomes are data ([`Job`], [`JobResult`] in `model::job`): [`run`]
//! dispatches a request to its operation and hands back its typed outcome.

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
use crate::model::audit::Action;
use crate::model::job::{Job, JobResult};

/// What one operation is, declared in its module.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Kind {
    /// Its name, as a job's progress and its failure say it.
    pub name: &'static str,
    /// The audit row's action (a release's depends on its method: [`release::action`]).
    pub action: Action,
    /// Whether it changes or ends something that cannot be had back (confirmed, audited,
    /// refused in read-only mode).
    pub destructive: bool,
}

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

/// The request's operation.
pub fn kind(job: &Job) -> Kind {
    match job {
        Job::Claim(_) | Job::PlanClaim(_) => claim::KIND,
        Job::Release { method, .. } => Kind { action: release::action(*method), ..release::KIND },
        Job::Reset(_) => reset::KIND,
        Job::Retry(j) => Kind { action: retry::action(j.reset_count), ..retry::KIND },
        Job::Redrive(_) => dead::REDRIVE,
        Job::Purge { .. } => dead::PURGE,
    }
}

/// The request's name as its progress and failure say it: a plan or a dry run says so.
pub fn title(job: &Job) -> String {
    let name = kind(job).name;
    match job {
        Job::Claim(params) if params.dry_run => format!("{name} (dry run)"),
        _ if job.is_plan() => format!("{name} (planning)"),
        _ => name.to_string(),
    }
}

/// The connection the request runs on: a release over the direct one when there is one
/// (through a pooler the holder may be the very backend a pooled statement lands on).
pub fn settings_for<'a>(job: &Job, pooled: &'a ConnSettings, direct: Option<&'a ConnSettings>) -> &'a ConnSettings {
    match job {
        Job::Release { .. } => release::settings(pooled, direct),
        _ => pooled,
    }
}

/// Runs the request once on `session` (a session of its own: a long claim never stalls
/// the console's reads) and returns its outcome.
pub async fn run(job: Job, session: &mut Session, actor: &Actor, control: &mut Control) -> Result<JobResult, DbError> {
    match job {
        Job::Claim(params) => claim::run(session, &params, actor).await.map(JobResult::Claim),
        Job::PlanClaim(params) => claim::plan(session, params, actor).await,
        Job::Release { holders, method } => release::run(session, actor, &holders, method, "operator")
            .await
            .map(|outcomes| JobResult::Release { method, outcomes }),
        Job::Reset(job) => reset::run_job(session, actor, &job).await.map(|report| JobResult::Reset { job, report }),
        Job::Retry(job) => retry::run_job(session, actor, &job).await.map(|report| JobResult::Retry { job, report }),
        Job::Redrive(job) => dead::redrive_job(session, actor, &job, control)
            .await
            .map(|report| JobResult::Redrive { job, report: Box::new(report) }),
        Job::Purge { which, until, selection } => {
            dead::purge(session, actor, &which, until, &selection).await.map(JobResult::Purge)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::claim::ClaimParams;
    use crate::model::dead::Which;
    use crate::model::lock_key::YearMonth;
    use crate::model::release::{Method, Target};

    fn release(method: Method) -> Job {
        let month = YearMonth::new(2024, 3).unwrap();
        let target = Target { pid: 7, backend_start: chrono::Utc::now(), month };
        Job::Release { holders: vec![crate::model::release::Holder { target, months: vec![month] }], method }
    }

    #[test]
    fn each_request_names_its_operation_and_audit_action() {
        assert_eq!(kind(&release(Method::Terminate)).action, Action::ReleaseTerminate);
        assert_eq!(kind(&release(Method::Cancel)).action, Action::ReleaseCancel);
        assert!(kind(&release(Method::Cancel)).destructive);
        let purge = Job::Purge { which: Which::All, until: None, selection: "--all".into() };
        assert_eq!(kind(&purge), dead::PURGE);
        assert!(kind(&purge).destructive);
        let claim = Job::Claim(ClaimParams::default());
        assert_eq!((kind(&claim).action, kind(&claim).destructive), (Action::Claim, false));
        let retry = |reset_count| {
            Job::Retry(crate::model::job::RetryJob {
                months: vec![],
                reset_count,
                dry_run: false,
                selection: String::new(),
            })
        };
        assert_eq!(kind(&retry(false)).action, Action::Retry);
        assert_eq!(kind(&retry(true)).action, Action::RetryResetCount);
    }

    #[test]
    fn titles_say_a_plan_or_a_dry_run() {
        assert_eq!(title(&Job::Claim(ClaimParams::default())), "Claim");
        assert_eq!(title(&Job::Claim(ClaimParams { dry_run: true, ..ClaimParams::default() })), "Claim (dry run)");
        assert_eq!(title(&Job::PlanClaim(ClaimParams::default())), "Claim (planning)");
        assert_eq!(title(&release(Method::Terminate)), "Release");
    }

    #[test]
    fn only_a_release_runs_over_the_direct_connection() {
        let settings = |url: &str| crate::db::connect::resolve(Some(url), &|_| None).unwrap();
        let (pooled, direct) = (settings("postgresql://u@pooler:6432/db"), settings("postgresql://u@db:5432/db"));
        assert!(std::ptr::eq(settings_for(&release(Method::Terminate), &pooled, Some(&direct)), &direct));
        assert!(std::ptr::eq(settings_for(&release(Method::Terminate), &pooled, None), &pooled));
        assert!(std::ptr::eq(settings_for(&Job::Claim(ClaimParams::default()), &pooled, Some(&direct)), &pooled));
    }
}
