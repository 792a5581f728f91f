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
    let name = ops::title(&job);
    let mut session = match connect::connect(&settings, &options).await {
        Ok(s) => s,
        // Nothing was sent: the outcome is known (nothing happened).
        Err(e) => return failed(name, &e, FailureKind::CouldNotConnect),
    };
    let progress = control.progress;
    let mut control = ops::Control {
        cancel: control.cancel,
        progress: Box::new(move |text| {
            let _ = progress.try_send(DbEvent::JobProgress(text));
        }),
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
