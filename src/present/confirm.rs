//! What every result dialog shares, whatever the action: its outcome, and what a failed
//! job says. Each action's confirmation, knobs and outcome are
//! its own (`ops/`, the `Request` and `Report` implementations), built from the texts of
//! its presenter here.

use crate::model::FailureKind;
use crate::model::job::JobResult;
pub use crate::model::op::Confirmation;

/// What came of a job, as its result dialog says it: a title, the lines, and whether all
/// went as asked.
pub fn outcome(result: &JobResult) -> (String, Vec<String>, bool) {
    match result {
        JobResult::Done(outcome) => outcome.outcome(),
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
