//! The dead letters' two operations (`db::dead`): redrive (back to the queue, chunk by
//! chunk at a rate, guarded by each message's month) and purge (deleted for good).

use chrono::{DateTime, Utc};
use serde::Serialize;

use super::{Control, Kind};
use crate::db::DbError;
use crate::db::audit::Actor;
use crate::db::connect::Session;
use crate::db::dead;
pub use crate::db::dead::{RedriveRequest, compact_ids};
use crate::model::ask::{Ask, DeadChoice};
use crate::model::audit::Action;
use crate::model::dead::{DeadLetters, PurgeReport, RedriveReport, Which};
use crate::model::job::{After, Confirmation, Job, Knob, Plan, Turned};
use crate::model::op::{Report, Request};
use crate::present;

pub const REDRIVE: Kind = Kind { name: "Redrive", action: Action::DeadRedrive, destructive: false };
pub const PURGE: Kind = Kind { name: "Purge", action: Action::DeadPurge, destructive: true };

/// Dead letters back to the queue as the console asks for it (no rate: its chunks back to
/// back); `dry_run` plans it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RedriveJob {
    /// What to redrive: a plan resolves a reason (or all) to ids; the confirmed job
    /// takes exactly the ids the plan weighed.
    pub which: Which,
    /// None that died after this (what the operator saw), for a reason or all.
    pub until: Option<chrono::DateTime<chrono::Utc>>,
    pub dry_run: bool,
    pub selection: String,
    /// At most this many messages a minute (`None`: chunks back to back).
    pub rate: Option<u32>,
    /// Also messages whose month is completed since.
    pub force: bool,
}

/// A redrive ran (or, `job.dry_run`, was planned).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RedriveDone {
    pub job: RedriveJob,
    pub report: Box<RedriveReport>,
}

/// Dead letters deleted: `which`, none that died after `until` (what the operator saw).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PurgeJob {
    pub which: Which,
    pub until: Option<chrono::DateTime<chrono::Utc>>,
    pub selection: String,
}

/// What a purge is shown with before it runs: how many, and which in words.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PurgePlan {
    pub count: usize,
    pub what: String,
}

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
) -> Result<RedriveDone, DbError> {
    let rate = if job.dry_run { None } else { job.rate.map(f64::from) };
    let (chunk, pause) = crate::model::dead::pacing(rate);
    let ids = ids(session, &job.which, job.until).await?;
    let request =
        RedriveRequest { ids: &ids, force: job.force, dry_run: job.dry_run, chunk, pause, selection: &job.selection };
    let report = redrive(session, actor, &request, control).await?;
    Ok(RedriveDone { job: job.clone(), report: Box::new(report) })
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

/// The console's redrive of the dead letters chosen in its view: a dry run plans it (and
/// resolves a reason to the ids it weighs).
pub fn ask_redrive(choice: &DeadChoice) -> Ask {
    let DeadChoice { which, until, selection, .. } = choice.clone();
    Ask::Plan(Job::new(RedriveJob { which, until, dry_run: true, selection, rate: None, force: false }))
}

/// The console's purge of the dead letters chosen in its view, confirmed on the count the
/// view shows (none that died since is deleted).
pub fn ask_purge(choice: &DeadChoice) -> Ask {
    let DeadChoice { which, count, what, selection, until } = choice.clone();
    Ask::Confirm(Job::new(PurgeJob { which, until, selection }), Plan::new(PurgePlan { count, what }))
}

/// The console's purge.
pub async fn purge_job(session: &mut Session, actor: &Actor, job: &PurgeJob) -> Result<PurgeReport, DbError> {
    purge(session, actor, &job.which, job.until, &job.selection).await
}

impl Request for RedriveJob {
    fn tag(&self) -> &'static str {
        "redrive"
    }
    fn kind(&self) -> Kind {
        REDRIVE
    }
    fn is_plan(&self) -> bool {
        self.dry_run
    }
    fn running(&self) -> &'static str {
        if self.dry_run { "Planning the redrive (a dry run)" } else { "Redriving" }
    }
    /// It stops between chunks (each committed and audited): safe to ask.
    fn cancellable(&self) -> bool {
        !self.dry_run
    }
    fn confirmation(&self, plan: &Plan) -> Confirmation {
        match plan.get::<RedriveReport>() {
            Some(report) => {
                let (chunk, pause) = crate::model::dead::pacing(self.rate.map(f64::from));
                Confirmation::warning(
                    format!("Redrive {} dead letter(s)", report.considered().len()),
                    present::dead::redrive_plan(report, chunk, pause),
                    "redrive",
                )
            }
            None => Confirmation::unplanned(self.running()),
        }
    }
    fn knobs(&self) -> Vec<(Knob, String)> {
        let rate = self.rate.map_or("as fast as it goes".into(), |r| format!("{r}/min"));
        vec![
            (Knob::Adjust { up: true }, format!("rate: {rate}")),
            // Force: also send messages whose month is completed since (the plan names them).
            (Knob::Switch, format!("force: {}", if self.force { "yes" } else { "no" })),
        ]
    }
    fn turned(&self, knob: Knob) -> Option<Turned> {
        Some(match knob {
            // The rate cycles both ways: the plan stays true.
            Knob::Adjust { up } => {
                let rates = crate::model::dead::CONSOLE_RATES;
                let i = rates.iter().position(|r| *r == self.rate).unwrap_or(0);
                let step = if up { 1 } else { rates.len() - 1 };
                Turned::Kept(Job::new(RedriveJob { rate: rates[(i + step) % rates.len()], ..self.clone() }))
            }
            // Send (or not) the messages whose month is completed since: plan it again.
            Knob::Switch => Turned::Replan(Job::new(RedriveJob { force: !self.force, dry_run: true, ..self.clone() })),
        })
    }
    /// Exactly the messages the plan weighed (no newcomer of the reason).
    fn confirmed(&self, plan: &Plan) -> Job {
        let which = plan.get::<RedriveReport>().map_or_else(|| self.which.clone(), |r| Which::Ids(r.considered()));
        Job::new(RedriveJob { dry_run: false, which, ..self.clone() })
    }
}

impl Report for RedriveDone {
    fn tag(&self) -> &'static str {
        "redrive"
    }
    fn outcome(&self) -> (String, Vec<String>, bool) {
        ("Redrive".into(), present::dead::redrive_result(&self.report), true)
    }
    fn as_plan(&self) -> Option<(Job, Plan)> {
        self.job.dry_run.then(|| (Job::new(self.job.clone()), Plan::new((*self.report).clone())))
    }
    fn after(&self) -> After {
        After { reload_dead: true, ..After::default() }
    }
}

impl Request for PurgeJob {
    fn tag(&self) -> &'static str {
        "purge"
    }
    fn kind(&self) -> Kind {
        PURGE
    }
    fn running(&self) -> &'static str {
        "Purging"
    }
    fn confirmation(&self, plan: &Plan) -> Confirmation {
        match plan.get::<PurgePlan>() {
            Some(PurgePlan { count, what }) => Confirmation {
                title: format!("Purge {count} dead letter(s)"),
                lines: present::dead::purge_plan(*count, what),
                level: crate::model::Level::Critical,
                verb: "do it",
            },
            None => Confirmation::unplanned(self.running()),
        }
    }
}

impl Report for PurgeReport {
    fn tag(&self) -> &'static str {
        "purge"
    }
    fn outcome(&self) -> (String, Vec<String>, bool) {
        ("Purge".into(), present::dead::purge_result(self), true)
    }
    fn after(&self) -> After {
        After { reload_dead: true, ..After::default() }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn redrive(rate: Option<u32>) -> RedriveJob {
        let which = Which::Reason("boom".into());
        RedriveJob { which, until: None, dry_run: true, selection: "reason boom".into(), rate, force: false }
    }

    #[test]
    fn a_confirmed_redrive_takes_exactly_the_messages_its_plan_weighed() {
        let plan = Plan::new(RedriveReport { dry_run: true, moved: vec![9, 4], ..RedriveReport::default() });
        let run = redrive(Some(60)).confirmed(&plan);
        let run = run.get::<RedriveJob>().unwrap();
        assert_eq!((run.which.clone(), run.dry_run, run.rate), (Which::Ids(vec![4, 9]), false, Some(60)));
    }

    #[test]
    fn a_redrives_knobs_change_the_job_and_say_when_it_must_be_planned_again() {
        let job = redrive(None);
        // The rate cycles both ways and keeps the plan; force plans again.
        let Some(Turned::Kept(up)) = job.turned(Knob::Adjust { up: true }) else { panic!() };
        assert_eq!(up.get::<RedriveJob>().unwrap().rate, Some(60));
        let Some(Turned::Kept(down)) = job.turned(Knob::Adjust { up: false }) else { panic!() };
        assert_eq!(down.get::<RedriveJob>().unwrap().rate, Some(6000));
        let Some(Turned::Replan(forced)) = job.turned(Knob::Switch) else { panic!() };
        let forced = forced.get::<RedriveJob>().unwrap();
        assert!(forced.force && forced.dry_run);
        let purge = PurgeJob { which: Which::Ids(vec![1]), until: None, selection: String::new() };
        assert_eq!(purge.turned(Knob::Adjust { up: true }), None);
    }
}
