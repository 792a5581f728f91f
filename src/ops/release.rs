//! The release of a month lock's holder: terminate (or cancel) its backend, race-free,
//! audited in the same statement (`db::release`). Over the direct connection when there
//! is one.

use serde::Serialize;

use super::Kind;
use crate::db::DbError;
use crate::db::audit::Actor;
use crate::db::connect::{ConnSettings, Session};
use crate::db::release;
use crate::model::action::Action;
use crate::model::ask::{Ask, Chosen};
use crate::model::audit;
use crate::model::job::{After, Confirmation, Job, Plan};
use crate::model::op::{Report, Request};
use crate::model::refusal::Refusal;
use crate::model::release::{Holder, HolderPlan, Method, Outcome, Released, holder_key, holder_plans};
use crate::present;

pub const KIND: Kind = Kind { name: "Release", action: audit::Action::ReleaseTerminate, destructive: true };

/// The audit action of a release by `method`.
pub fn action(method: Method) -> audit::Action {
    match method {
        Method::Terminate => audit::Action::ReleaseTerminate,
        Method::Cancel => audit::Action::ReleaseCancel,
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

/// The holders' sessions ended (or their queries cancelled), each checked race-free.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ReleaseJob {
    pub holders: Vec<Holder>,
    pub method: Method,
}

/// Each holder and what came of it, in the order asked.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ReleaseDone {
    pub method: Method,
    pub outcomes: Vec<Released>,
}

/// The console's release (the job runs on the connection [`settings`] chose).
pub async fn run_job(session: &Session, actor: &Actor, job: &ReleaseJob) -> Result<ReleaseDone, DbError> {
    let outcomes = run(session, actor, &job.holders, job.method, "operator").await?;
    Ok(ReleaseDone { method: job.method, outcomes })
}

/// The console's release (`Release`, or `CancelQuery` for `Method::Cancel`): of the marked
/// holders, else of the selected lock's; refuses foreign locks and waiters. The plan is the
/// holders as the console shows them: confirmed as it is.
pub fn ask(chosen: &Chosen<'_>, method: Method) -> Result<Ask, Refusal> {
    let plans = if chosen.marked_holders.is_empty() { selected(chosen, method)? } else { marked(chosen)? };
    let holders = plans.iter().map(HolderPlan::holder).collect();
    Ok(Ask::Confirm(Job::new(ReleaseJob { holders, method }), Plan::new(plans)))
}

/// The selected lock's holder, with every month lock it holds.
fn selected(chosen: &Chosen<'_>, method: Method) -> Result<Vec<HolderPlan>, Refusal> {
    if !chosen.on_locks {
        let keys = [Action::FocusLocks, Action::FocusNext].map(|a| (chosen.key)(a));
        let how = match keys {
            [Some(a), Some(b)] => format!(" with {a} or {b}"),
            [Some(k), None] | [None, Some(k)] => format!(" with {k}"),
            [None, None] => String::new(),
        };
        return Err(Refusal::FocusLocks { how });
    }
    let snap = chosen.snapshot.ok_or(Refusal::NoData)?;
    let lock = chosen.selected_lock.ok_or(Refusal::NoLockSelected)?;
    let Some(month) = lock.month() else {
        return Err(Refusal::Foreign { marking: false });
    };
    if !lock.granted {
        return Err(Refusal::Waiter { marking: false });
    }
    let pid = lock.pid.ok_or(Refusal::NoPid)?;
    let holder = lock.holder.as_ref().ok_or(Refusal::HolderHidden { what: "session" })?;
    holder.backend_start.ok_or(Refusal::HolderHidden { what: "start time" })?;
    if method == Method::Cancel && holder.is_idle() {
        // An idle session runs no query: a cancel would do nothing and keep its locks.
        let key = (chosen.key)(Action::Release).unwrap_or_else(|| "r".into());
        return Err(Refusal::IdleCancel { pid, key });
    }
    let assessment = chosen.assessment.ok_or(Refusal::NoData)?;
    let mut plan = holder_plans(snap, assessment, |i| snap.locks[i].pid == Some(pid))
        .into_iter()
        .next()
        .ok_or(Refusal::NoLongerHolds)?;
    plan.target.month = month;
    Ok(vec![plan])
}

/// Every marked holder that still holds a month lock, one plan each.
fn marked(chosen: &Chosen<'_>) -> Result<Vec<HolderPlan>, Refusal> {
    let (Some(snap), Some(assessment)) = (chosen.snapshot, chosen.assessment) else {
        return Err(Refusal::NoData);
    };
    let marked = |i: usize| holder_key(&snap.locks[i]).is_some_and(|k| chosen.marked_holders.contains(&k));
    let plans = holder_plans(snap, assessment, marked);
    if plans.is_empty() {
        let key = (chosen.key)(Action::ClearMarks).unwrap_or_else(|| "u".into());
        return Err(Refusal::MarkedHoldNothing { marked: chosen.marked_holders.len(), key });
    }
    Ok(plans)
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
