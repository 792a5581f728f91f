//! One presenter per action: the text of a plan (what will happen, shown before the
//! operator confirms) and of a result, built once from the domain types and shown by
//! both the console and the headless commands — a confirmation never says two
//! different things. Also the few lock facts both list (a waiter's month, why stuck).
//!
//! Pure: model types in, lines of text out; every database string is sanitised here.

pub mod claim;
pub mod confirm;
pub mod dead;
pub mod fleet;
pub mod locks;
pub mod progress;
pub mod release;
pub mod reset;
pub mod retry;

use crate::model::LockProblem;
use crate::model::lock_key::YearMonth;

pub use crate::model::op::PlanLine;

/// A plan as plain text, a line each (the CLI's confirmation).
pub fn plan_text(plan: &[PlanLine]) -> String {
    plan.iter().map(|l| l.text.as_str()).collect::<Vec<_>>().join("\n")
}

/// A lock's month as listed: `2024-03`, a waiter's `2024-03…` (waiting for it), or `foreign`.
pub fn lock_month(month: Option<YearMonth>, granted: bool) -> String {
    match (month, granted) {
        (Some(m), true) => m.to_string(),
        (Some(m), false) => format!("{m}…"),
        (None, _) => "foreign".into(),
    }
}

/// Why a lock is listed as a problem: a waiter names whom it waits on; a holder its problems.
pub fn lock_why(granted: bool, blocking_pids: &[i32], problems: &[LockProblem]) -> String {
    if granted {
        return problems.iter().map(LockProblem::describe).collect::<Vec<_>>().join("; ");
    }
    match blocking_pids {
        [] => "waits (its holder is gone)".into(),
        pids => format!("waits on pid {}", pids.iter().map(i32::to_string).collect::<Vec<_>>().join(", ")),
    }
}

/// Months as a list: `2024-03, 2024-05`.
pub fn months(months: &[YearMonth]) -> String {
    months.iter().map(ToString::to_string).collect::<Vec<_>>().join(", ")
}
