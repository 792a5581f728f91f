//! Releasing a lock holder: the plan and the result.

use super::PlanLine;
use crate::duration_text::format as dur;
use crate::model::release::{HolderPlan, Method, Outcome, Target};
use crate::text::{clip, sanitize};

/// Exactly what releasing these sessions with `method` will do: each session in full when
/// there is one, a line each (pid, application, months, why) when there are several.
pub fn plan(plans: &[HolderPlan], method: Method) -> Vec<PlanLine> {
    if plans.len() > 1 {
        return plan_many(plans, method);
    }
    let mut lines = Vec::new();
    for p in plans {
        let or = |v: &Option<String>, none: &str| v.as_deref().map_or(none.to_string(), sanitize);
        let verb = match method {
            Method::Terminate => format!("TERMINATE pid {} (pg_terminate_backend({0}))", p.target.pid),
            Method::Cancel => format!("CANCEL the current query of pid {} (pg_cancel_backend({0}))", p.target.pid),
        };
        let mut holds = format!("month lock(s) {}", month_list(p));
        if p.foreign_locks > 0 {
            holds.push_str(&format!(" and {} foreign lock(s)", p.foreign_locks));
        }
        lines.push(PlanLine::strong(format!("{verb}: it holds {holds}")));
        lines.push(PlanLine::plain(format!(
            "  session: {} · user {} · client {} · {}",
            clip(&or(&p.application, "no application name"), 30),
            clip(&or(&p.user, "-"), 20),
            clip(&p.client, 24),
            clip(&or(&p.state, "state unknown"), 24)
        )));
        if let Some(q) = &p.query {
            lines.push(PlanLine::plain(format!("  query: {}", clip(q, 70))));
        }
        if !p.reasons.is_empty() {
            lines.push(PlanLine::plain(format!("  why: {}", sanitize(&p.reasons.join("; ")))));
        }
        lines.push(PlanLine::plain(match (method, p.in_transaction_for) {
            (Method::Terminate, Some(d)) => format!(
                "  its session ENDS; its transaction (open {}) is ROLLED BACK; every lock it holds is released",
                dur(d)
            ),
            (Method::Terminate, None) => "  its session ENDS; every lock it holds is released".into(),
            (Method::Cancel, _) => "  only its current query is cancelled; an idle session keeps its locks".into(),
        }));
        lines.push(PlanLine::plain(format!(
            "  only if this same session (started {}) still holds {} at that instant; audited",
            p.target.backend_start.format("%Y-%m-%d %H:%M:%S UTC"),
            p.target.month
        )));
    }
    lines
}

/// `2024-01 (pending), 2024-02 (processing)`: the months a session holds, with their status.
fn month_list(p: &HolderPlan) -> String {
    let months: Vec<String> = p
        .months
        .iter()
        .map(|(m, status)| {
            format!("{m} ({})", status.as_ref().map_or("not in backfill_log".into(), |s| sanitize(s.as_str())))
        })
        .collect();
    months.join(", ")
}

fn months_text(p: &HolderPlan) -> String {
    let mut text = month_list(p);
    if p.foreign_locks > 0 {
        text.push_str(&format!(" + {} foreign", p.foreign_locks));
    }
    text
}

fn plan_many(plans: &[HolderPlan], method: Method) -> Vec<PlanLine> {
    let n = plans.len();
    let mut lines = vec![PlanLine::strong(match method {
        Method::Terminate => format!(
            "TERMINATE {n} sessions (pg_terminate_backend): each session ENDS, its open transaction is ROLLED BACK, every lock it holds is released"
        ),
        Method::Cancel => {
            format!("CANCEL the current query of {n} sessions (pg_cancel_backend): an idle session keeps its locks")
        }
    })];
    for p in plans {
        let app = p.application.as_deref().map_or("no application name".to_string(), sanitize);
        let mut line = format!("  pid {} · {} · holds {}", p.target.pid, clip(&app, 24), months_text(p));
        if let Some(d) = p.in_transaction_for.filter(|_| method == Method::Terminate) {
            line.push_str(&format!(" · transaction open {}", dur(d)));
        }
        if p.reasons.is_empty() {
            // Marked with the others, but nothing says it is stuck: said loudly.
            line.push_str(" · NOT STUCK: nothing says this session is stuck");
            lines.push(PlanLine::strong(line));
        } else {
            line.push_str(&format!(" · why: {}", sanitize(&p.reasons.join("; "))));
            lines.push(PlanLine::plain(line));
        }
    }
    lines.push(PlanLine::plain(
        "  each only if that same session (pid and start time) still holds its month lock at that instant; one audit row for all",
    ));
    lines
}

/// What releasing one session did, in one line.
pub fn result(target: &Target, method: Method, outcome: &Outcome) -> String {
    match outcome {
        Outcome::Done { lock_released } => format!(
            "pid {}: {} — lock on {} {}",
            target.pid,
            if method == Method::Terminate { "terminated" } else { "query cancelled" },
            target.month,
            if *lock_released { "released" } else { "still held" }
        ),
        Outcome::Refused { reason } => format!("pid {}: not signalled — {}", target.pid, sanitize(reason)),
    }
}

/// A release's title: the one holder it ends, or how many and how many locks they hold.
pub fn title(method: Method, plans: &[HolderPlan]) -> String {
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
