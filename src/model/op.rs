//! An operation as the console handles it, whatever it is: the request ([`Job`]), what is
//! shown before it runs ([`Plan`]) and what came of it ([`JobResult`]). Each operation
//! declares its own behaviour — its name and audit action, its confirmation and knobs, what
//! is shown while it runs and what came of it — by implementing [`Request`] and [`Report`]
//! for its types, in its module of `ops/`. The console's state machine, its dialogs and the
//! flight recorder go through these traits alone and never name an operation.

use std::any::Any;
use std::fmt;

use chrono::{DateTime, Utc};
use serde::Serialize;

use crate::model::audit::Action;
use crate::model::{FailureKind, Level};

/// What one operation is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Kind {
    /// Its name, as a job's progress and its failure say it.
    pub name: &'static str,
    /// The audit row's action.
    pub action: Action,
    /// Whether it changes or ends something that cannot be had back (confirmed, audited,
    /// refused in read-only mode).
    pub destructive: bool,
}

/// A line of a plan, and whether it is the one that says what will be done (shown bold).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PlanLine {
    pub text: String,
    pub strong: bool,
}

impl PlanLine {
    pub fn plain(text: impl Into<String>) -> Self {
        Self { text: text.into(), strong: false }
    }

    pub fn strong(text: impl Into<String>) -> Self {
        Self { text: text.into(), strong: true }
    }
}

/// What a confirmation says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Confirmation {
    pub title: String,
    pub lines: Vec<PlanLine>,
    /// How grave it is (the dialog's colour).
    pub level: Level,
    /// What Enter does.
    pub verb: &'static str,
}

impl Confirmation {
    /// A job shown with another action's plan (never built): it says so rather than guess.
    pub fn unplanned(running: &str) -> Self {
        let lines = vec![PlanLine::strong(format!("{running} (no plan to show)"))];
        Self { title: "Confirm".into(), lines, level: Level::Critical, verb: "do it" }
    }

    /// A confirmation of an action that can be undone only by another (the dialog's colour
    /// is a warning).
    pub fn warning(title: String, lines: Vec<PlanLine>, verb: &'static str) -> Self {
        Self { title, lines, level: Level::Warning, verb }
    }
}

/// A knob of a planned action the operator can turn before confirming.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Knob {
    /// ←/→: a retry also resets the count of months at the cap; a redrive's rate.
    Adjust { up: bool },
    /// Tab: a redrive's force.
    Switch,
}

/// What turning a knob did.
#[derive(Debug, Clone, PartialEq)]
pub enum Turned {
    /// The plan stays true for the changed job (a redrive's rate).
    Kept(Job),
    /// The changed job must be planned again: this dry run plans it.
    Replan(Job),
}

/// What the console does once an outcome is in, besides showing it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct After {
    /// The marked months are done with (a retry that skipped none).
    pub clear_marked_months: bool,
    /// These holders are gone: unmark them (pid, backend start).
    pub unmark_holders: Vec<(i32, DateTime<Utc>)>,
    /// The dead letters changed: read them again.
    pub reload_dead: bool,
}

/// A request for the database, run once by the job task (never repeated on reconnect).
pub trait Request: Any + fmt::Debug + Send + Sync + Erased<Job> {
    /// Its tag in a recording: `{"<tag>": {…}}`.
    fn tag(&self) -> &'static str;
    fn kind(&self) -> Kind;
    /// A dry run that plans a dialog (nothing changes), not an action.
    fn is_plan(&self) -> bool {
        false
    }
    /// Its name as its progress and failure say it: a plan says so.
    fn title(&self) -> String {
        let name = self.kind().name;
        if self.is_plan() { format!("{name} (planning)") } else { name.to_string() }
    }
    /// What the dialog says while it runs ("…" follows).
    fn running(&self) -> &'static str;
    /// It stops safely when asked (a redrive, between chunks).
    fn cancellable(&self) -> bool {
        false
    }
    /// It runs over the direct connection when there is one (a release: through a pooler
    /// the holder may be the very backend a pooled statement lands on).
    fn over_direct(&self) -> bool {
        false
    }
    /// The confirmation of this job, which planned `plan`.
    fn confirmation(&self, plan: &Plan) -> Confirmation;
    /// The knobs it has and what each says now (the dialog's hint puts the keys before).
    fn knobs(&self) -> Vec<(Knob, String)> {
        Vec::new()
    }
    /// Turns `knob`; `None` when it has no such knob.
    fn turned(&self, _knob: Knob) -> Option<Turned> {
        None
    }
    /// The job to run when the operator confirms `plan` (which this job planned).
    fn confirmed(&self, _plan: &Plan) -> Job {
        self.erased()
    }
}

/// What came of a request.
pub trait Report: Any + fmt::Debug + Send + Sync + Erased<Reported> {
    fn tag(&self) -> &'static str;
    /// What its result dialog says: a title, the lines, and whether all went as asked.
    fn outcome(&self) -> (String, Vec<String>, bool);
    /// A dry run's result as the plan it is, with the job that planned it (`None` for an
    /// action's result).
    fn as_plan(&self) -> Option<(Job, Plan)> {
        None
    }
    fn after(&self) -> After {
        After::default()
    }
}

/// The plumbing every request, report and plan type gets for nothing (a blanket
/// implementation): a copy behind the erased type, equality with another of its kind, and
/// itself as data.
pub trait Erased<T> {
    fn erased(&self) -> T;
    fn same(&self, other: &dyn Any) -> bool;
    fn data(&self) -> serde_json::Value;
}

macro_rules! erased {
    ($wrapper:ident, $bound:ident) => {
        impl<T: $bound + Clone + PartialEq + Serialize> Erased<$wrapper> for T {
            fn erased(&self) -> $wrapper {
                $wrapper(Box::new(self.clone()))
            }
            fn same(&self, other: &dyn Any) -> bool {
                other.downcast_ref::<T>().is_some_and(|o| o == self)
            }
            fn data(&self) -> serde_json::Value {
                serde_json::to_value(self).unwrap_or(serde_json::Value::Null)
            }
        }

        impl Clone for $wrapper {
            fn clone(&self) -> Self {
                self.0.erased()
            }
        }

        impl PartialEq for $wrapper {
            fn eq(&self, other: &Self) -> bool {
                self.0.same(&*other.0 as &dyn Any)
            }
        }

        impl fmt::Debug for $wrapper {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                self.0.fmt(f)
            }
        }

        impl $wrapper {
            /// The request (report, plan) as its own type, when it is a `T`.
            pub fn get<T: Any>(&self) -> Option<&T> {
                (&*self.0 as &dyn Any).downcast_ref()
            }
        }
    };
}

/// A request, whatever the operation. Recorded as it was asked (`recording::What::Requested`),
/// externally tagged: `{"claim": {…}}`.
pub struct Job(Box<dyn Request>);
erased!(Job, Request);

impl Job {
    pub fn new(request: impl Request) -> Self {
        Job(Box::new(request))
    }
}

impl std::ops::Deref for Job {
    type Target = dyn Request;
    fn deref(&self) -> &Self::Target {
        &*self.0
    }
}

impl Serialize for Job {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        serde_json::json!({ self.0.tag(): self.0.data() }).serialize(s)
    }
}

/// What the operator is shown before an action runs (every confirmed action but the claim,
/// whose dialog is a form): the holders a release ends, the dry run of a reset, a retry or
/// a redrive, how many dead letters a purge deletes. Its request reads it (`get`).
pub struct Plan(Box<dyn Shown>);
erased!(Plan, Shown);

/// A plan's type: any that can be copied, compared and recorded.
pub trait Shown: Any + fmt::Debug + Send + Sync + Erased<Plan> {}
impl<T: Any + fmt::Debug + Send + Sync + Clone + PartialEq + Serialize> Shown for T {}

impl Plan {
    pub fn new(plan: impl Shown) -> Self {
        Plan(Box::new(plan))
    }
}

/// What came of a request, whatever the operation.
pub struct Reported(Box<dyn Report>);
erased!(Reported, Report);

impl std::ops::Deref for Reported {
    type Target = dyn Report;
    fn deref(&self) -> &Self::Target {
        &*self.0
    }
}

/// Recorded as it came back (`recording::What::Outcome`), externally tagged.
#[derive(Debug, Clone, PartialEq)]
pub enum JobResult {
    Done(Reported),
    /// The job failed; `kind` says whether its outcome is unknown (the link dropped while
    /// it ran) or what the operator can do about it.
    Failed {
        job: String,
        error: String,
        kind: FailureKind,
    },
}

impl JobResult {
    pub fn done(report: impl Report) -> Self {
        JobResult::Done(Reported(Box::new(report)))
    }

    /// A dry run's result as the plan it is, with the job that planned it.
    pub fn as_plan(&self) -> Option<(Job, Plan)> {
        match self {
            JobResult::Done(outcome) => outcome.as_plan(),
            JobResult::Failed { .. } => None,
        }
    }

    /// The report, when the job ran and it is a `T`.
    pub fn get<T: Any>(&self) -> Option<&T> {
        match self {
            JobResult::Done(outcome) => outcome.get(),
            JobResult::Failed { .. } => None,
        }
    }
}

impl Serialize for JobResult {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let value = match self {
            JobResult::Done(outcome) => serde_json::json!({ outcome.0.tag(): outcome.0.data() }),
            JobResult::Failed { job, error, kind } => {
                serde_json::json!({ "failed": { "job": job, "error": error, "kind": kind } })
            }
        };
        value.serialize(s)
    }
}
