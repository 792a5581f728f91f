//! The write side: each action runs ONCE on a fresh session of its own (so a
//! long claim never stalls the refresh), and its result comes back as a
//! message. A link lost mid-action is reported as "outcome unknown" and the
//! action is never repeated. What each action does is in `ops/`.

use crate::app::{DbEvent, Job, JobResult};
use crate::db::DbError;
use crate::db::audit::Actor;
use crate::db::connect::{self, ConnSettings, SessionOptions};
use crate::model::FailureKind;
use crate::ops;

/// What the console hands a job besides its work: `cancel` asks it to stop (honoured by a
/// redrive between chunks); its progress goes to the console as `DbEvent::JobProgress`.
pub fn control(cancel: tokio::sync::watch::Receiver<bool>, events: tokio::sync::mpsc::Sender<DbEvent>) -> ops::Control {
    let progress = Box::new(move |text| {
        let _ = events.try_send(DbEvent::JobProgress(text));
    });
    ops::Control { cancel, progress }
}

pub async fn run(
    job: Job,
    settings: ConnSettings,
    options: SessionOptions,
    actor: Actor,
    mut control: ops::Control,
) -> JobResult {
    let name = job.title();
    let mut session = match connect::connect(&settings, &options).await {
        Ok(s) => s,
        // Nothing was sent: the outcome is known (nothing happened).
        Err(e) => return failed(name, &e, FailureKind::CouldNotConnect),
    };
    match ops::run(job, &mut session, &actor, &mut control).await {
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

fn failed(name: String, e: &DbError, kind: FailureKind) -> JobResult {
    JobResult::Failed { job: name, error: e.to_string(), kind }
}
