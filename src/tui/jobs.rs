//! The write side: each action runs ONCE on a fresh session of its own (so a
//! long claim never stalls the refresh), and its result comes back as a
//! message. A link lost mid-action is reported as "outcome unknown" and the
//! action is never repeated.

use crate::app::{Job, JobResult};
use crate::db::audit::Actor;
use crate::db::connect::{self, ConnSettings, SessionOptions};
use crate::db::{DbError, claim, release, reset};
use crate::model::FailureKind;

pub async fn run(job: Job, settings: ConnSettings, options: SessionOptions, actor: Actor) -> JobResult {
    let name = match &job {
        Job::Claim(p) if p.dry_run => "Claim (dry run)",
        Job::Claim(_) => "Claim",
        Job::Release { .. } => "Release",
        Job::Reset { .. } => "Reset stuck months",
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
        Job::Reset { older_than, months } => {
            let local = session.per_transaction.clone();
            reset::reset_stuck_with(&mut session.client, local.as_deref(), &actor, older_than, Some(&months))
                .await
                .map(JobResult::Reset)
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
