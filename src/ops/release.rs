//! The release of a month lock's holder: terminate (or cancel) its backend, race-free,
//! audited in the same statement (`db::release`). Over the direct connection when there
//! is one.

use super::Kind;
use crate::db::DbError;
use crate::db::audit::Actor;
use crate::db::connect::{ConnSettings, Session};
use crate::db::release;
use crate::model::audit::Action;
use crate::model::job::{After, Confirmation, Plan, ReleaseDone, ReleaseJob};
use crate::model::op::{Report, Request};
use crate::model::release::{Holder, HolderPlan, Method, Outcome, Released};
use crate::present;

pub const KIND: Kind = Kind { name: "Release", action: Action::ReleaseTerminate, destructive: true };

/// The audit action of a release by `method`.
pub fn action(method: Method) -> Action {
    match method {
        Method::Terminate => Action::ReleaseTerminate,
        Method::Cancel => Action::ReleaseCancel,
    }
}

/// Where a release runs: over the direct connection when there is one. Through a pooler
/// the holder may be the very backend a pooled statement lands on (it would end itself,
/// or the pooler's server connection of somebody else).
pub fn settings<'a>(pooled: &'a ConnSettings, direct: Option<&'a ConnSettings>) -> &'a ConnSettings {
    direct.unwrap_or(pooled)
}

/// [`settings`] for sessions already open: the direct one when there is one.
pub fn acting<'a>(pooled: &'a Session, direct: Option<&'a Session>) -> &'a Session {
    direct.unwrap_or(pooled)
}

/// Releases each holder's locks by `method`, for `reason`: each checked race-free, one
/// audit row for them all. Each holder's target with what came of it, in order.
pub async fn run(
    session: &Session,
    actor: &Actor,
    holders: &[Holder],
    method: Method,
    reason: &str,
) -> Result<Vec<Released>, DbError> {
    let outcomes = release::release_all(&session.client, actor, holders, method, reason).await?;
    Ok(holders.iter().zip(outcomes).map(|(h, outcome)| Released { target: h.target.clone(), outcome }).collect())
}

/// The console's release (the job runs on the connection [`settings`] chose).
pub async fn run_job(session: &Session, actor: &Actor, job: &ReleaseJob) -> Result<ReleaseDone, DbError> {
    let outcomes = run(session, actor, &job.holders, job.method, "operator").await?;
    Ok(ReleaseDone { method: job.method, outcomes })
}

impl Request for ReleaseJob {
    fn tag(&self) -> &'static str {
        "release"
    }
    fn kind(&self) -> Kind {
        Kind { action: action(self.method), ..KIND }
    }
    fn running(&self) -> &'static str {
        match self.method {
            Method::Terminate => "Terminating",
            Method::Cancel => "Cancelling",
        }
    }
    fn over_direct(&self) -> bool {
        true
    }
    fn confirmation(&self, plan: &Plan) -> Confirmation {
        match plan.get::<Vec<HolderPlan>>() {
            Some(plans) => Confirmation::warning(
                present::release::title(self.method, plans),
                present::release::plan(plans, self.method),
                "do it",
            ),
            None => Confirmation::unplanned(self.running()),
        }
    }
}

impl Report for ReleaseDone {
    fn tag(&self) -> &'static str {
        "release"
    }
    fn outcome(&self) -> (String, Vec<String>, bool) {
        let lines = self.outcomes.iter().map(|r| present::release::result(&r.target, self.method, &r.outcome));
        let ok = self.outcomes.iter().all(|r| matches!(r.outcome, Outcome::Done { .. }));
        ("Release".into(), lines.collect(), ok)
    }
    /// The holders signalled are gone; the refused stay marked, to look at again.
    fn after(&self) -> After {
        let done = self.outcomes.iter().filter(|r| matches!(r.outcome, Outcome::Done { .. }));
        After { unmark_holders: done.map(|r| (r.target.pid, r.target.backend_start)).collect(), ..After::default() }
    }
}
