//! A planned action's confirmation, whatever the action: its title, its plan's lines,
//! how grave it is, the word its Enter says, the knobs it has, what is shown while it
//! runs and what came of it. The console's dialogs draw these for every action (the
//! claim's form aside).

use super::PlanLine;
use crate::model::FailureKind;
use crate::model::Level;
use crate::model::job::{Job, JobResult, Knob, Plan};
use crate::model::release::{Method, Outcome};

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

/// The confirmation of `job` (the job that planned `plan`).
pub fn confirmation(job: &Job, plan: &Plan) -> Confirmation {
    let warn = |title: String, lines: Vec<PlanLine>, verb| Confirmation { title, lines, level: Level::Warning, verb };
    match (job, plan) {
        (Job::Release { method, .. }, Plan::Release(plans)) => {
            warn(release_title(*method, plans), super::release::plan(plans, *method), "do it")
        }
        (Job::Reset(j), Plan::Reset(report)) => warn(
            format!("Reset stuck months ({} chosen)", j.months.len()),
            super::reset::plan(j.older_than, &j.months, j.taken_at, Some(report)),
            "do it",
        ),
        (Job::Retry(j), Plan::Retry(report)) => {
            warn(format!("Retry {} month(s)", j.months.len()), super::retry::plan(report), "retry")
        }
        (Job::Redrive(j), Plan::Redrive(report)) => {
            let (chunk, pause) = crate::model::dead::pacing(j.rate.map(f64::from));
            warn(
                format!("Redrive {} dead letter(s)", report.considered().len()),
                super::dead::redrive_plan(report, chunk, pause),
                "redrive",
            )
        }
        (Job::Purge { .. }, Plan::Purge { count, what }) => Confirmation {
            title: format!("Purge {count} dead letter(s)"),
            lines: super::dead::purge_plan(*count, what),
            level: Level::Critical,
            verb: "do it",
        },
        // A job with another action's plan is never built; say so rather than guess.
        (job, _) => Confirmation {
            title: "Confirm".into(),
            lines: vec![PlanLine::strong(format!("{} (no plan to show)", running(job)))],
            level: Level::Critical,
            verb: "do it",
        },
    }
}

fn release_title(method: Method, plans: &[crate::model::release::HolderPlan]) -> String {
    match (method, plans) {
        (Method::Terminate, [plan]) => format!("Terminate pid {} (holds {})", plan.target.pid, plan.target.month),
        (Method::Cancel, [plan]) => {
            format!("Cancel the query of pid {} (holds {})", plan.target.pid, plan.target.month)
        }
        (method, plans) => {
            let locks: usize = plans.iter().map(|p| p.months.len()).sum();
            let verb = if method == Method::Terminate { "Terminate" } else { "Cancel the queries of" };
            format!("{verb} {} sessions (they hold {locks} month locks)", plans.len())
        }
    }
}

/// The knobs `job` has and what each says now (the dialog's hint puts the keys before).
pub fn knobs(job: &Job) -> Vec<(Knob, String)> {
    match job {
        Job::Retry(j) => vec![(
            Knob::Adjust { up: true },
            format!("{} the count of months at the cap", if j.reset_count { "keep" } else { "also reset" }),
        )],
        Job::Redrive(j) => vec![
            (
                Knob::Adjust { up: true },
                format!("rate: {}", j.rate.map_or("as fast as it goes".into(), |r| format!("{r}/min"))),
            ),
            // Force: also send messages whose month is completed since (the plan names them).
            (Knob::Switch, format!("force: {}", if j.force { "yes" } else { "no" })),
        ],
        _ => Vec::new(),
    }
}

/// What the dialog says while `job` runs ("…" follows).
pub fn running(job: &Job) -> &'static str {
    match job {
        Job::Claim(p) if p.dry_run => "Planning the claim (a dry run)",
        Job::Claim(_) => "Claiming",
        Job::PlanClaim(_) => "Planning the claim (a dry run)",
        Job::Release { method: Method::Terminate, .. } => "Terminating",
        Job::Release { method: Method::Cancel, .. } => "Cancelling",
        Job::Reset(j) if j.dry_run => "Planning the reset (a dry run)",
        Job::Reset(_) => "Resetting stuck months",
        Job::Retry(j) if j.dry_run => "Planning the retry (a dry run)",
        Job::Retry(_) => "Retrying",
        Job::Redrive(j) if j.dry_run => "Planning the redrive (a dry run)",
        Job::Redrive(_) => "Redriving",
        Job::Purge { .. } => "Purging",
    }
}

/// What came of a job, as its result dialog says it: a title, the lines, and whether all
/// went as asked.
pub fn outcome(result: &JobResult) -> (String, Vec<String>, bool) {
    match result {
        JobResult::Claim(report) => ("Claim".into(), super::claim::result(report), true),
        JobResult::Release { method, outcomes } => (
            "Release".into(),
            outcomes.iter().map(|r| super::release::result(&r.target, *method, &r.outcome)).collect(),
            outcomes.iter().all(|r| matches!(r.outcome, Outcome::Done { .. })),
        ),
        JobResult::Reset { report, .. } => ("Reset stuck months".into(), super::reset::result(report), true),
        // Absorbed as the claim dialog before it gets here.
        JobResult::ClaimPlan { report, .. } => ("Claim (planned)".into(), super::claim::result(report), true),
        JobResult::Retry { report, .. } => ("Retry".into(), super::retry::result(report), true),
        JobResult::Redrive { report, .. } => ("Redrive".into(), super::dead::redrive_result(report), true),
        JobResult::Purge(report) => ("Purge".into(), super::dead::purge_result(report), true),
        JobResult::Failed { job, error, kind } => {
            let mut lines = vec![crate::text::sanitize(error)];
            if kind.outcome_unknown() {
                lines.insert(0, "outcome unknown — see the audit table (backfill_console_audit); not retried".into());
            } else if *kind == FailureKind::PermissionDenied {
                lines.push(
                    "the database role lacks a privilege: claim needs UPDATE on backfill_log and INSERT on the queue \
                     and audit tables; release needs pg_signal_backend"
                        .into(),
                );
            }
            (job.clone(), lines, false)
        }
    }
}
