//! Retrying failed months: the plan (from a dry run of the same routine) and the result.

use std::collections::BTreeMap;

use super::PlanLine;
use crate::model::lock_key::YearMonth;
use crate::model::months::compact;
use crate::model::retry::RetryReport;

/// Exactly what the retry will do, from its dry run.
pub fn plan(dry_run: &RetryReport) -> Vec<PlanLine> {
    let count = if dry_run.reset_count { "retry_count set back to 0 — audited as such" } else { "retry_count kept" };
    let mut lines = vec![if dry_run.retried.is_empty() {
        PlanLine::strong("Nothing would be retried: no chosen month is failed below the retry cap.")
    } else {
        PlanLine::strong(format!(
            "Retry {} month(s): failed -> retry ({count}); the claim routine then takes them:",
            dry_run.retried.len()
        ))
    }];
    if !dry_run.retried.is_empty() {
        lines.push(PlanLine::plain(format!("  {}", compact(&dry_run.retried))));
    }
    for (why, months) in skipped_by_reason(dry_run) {
        lines.push(PlanLine::plain(format!("Left alone, {} month(s): {why}:", months.len())));
        lines.push(PlanLine::plain(format!("  {}", compact(&months))));
    }
    lines.push(PlanLine::plain(
        "One transaction; each month's lock is tried first and its status checked again; one audit row.",
    ));
    lines
}

/// What the retry did.
pub fn result(report: &RetryReport) -> Vec<String> {
    let verb = if report.dry_run { "would retry" } else { "retried" };
    let mut lines = vec![format!("{verb} {}, left alone {}", report.retried.len(), report.skipped.len())];
    if !report.retried.is_empty() {
        lines.push(format!("{verb}: {}", compact(&report.retried)));
    }
    for (why, months) in skipped_by_reason(report) {
        lines.push(format!("left alone ({why}): {}", compact(&months)));
    }
    lines
}

fn skipped_by_reason(report: &RetryReport) -> BTreeMap<String, Vec<YearMonth>> {
    let mut by: BTreeMap<String, Vec<YearMonth>> = BTreeMap::new();
    for s in &report.skipped {
        by.entry(s.why.describe()).or_default().push(s.month);
    }
    by
}
