//! Resetting stuck months: the plan and the result.

use std::time::Duration;

use chrono::{DateTime, Utc};

use super::PlanLine;
use crate::duration_text::format as dur;
use crate::model::RETRY_CAP;
use crate::model::hold::since;
use crate::model::reset::{ResetReport, StuckMonthRow};

/// Exactly what a reset of these months will do (`now`: to say how long each has been processing).
pub fn plan(older_than: Duration, months: &[StuckMonthRow], now: DateTime<Utc>) -> Vec<PlanLine> {
    let mut lines = vec![PlanLine::strong(format!(
        "Reset {} month(s) processing for over {} back to retry (retry_count + 1; failed when {RETRY_CAP} retries are used):",
        months.len(),
        dur(older_than)
    ))];
    const SHOWN: usize = 12;
    lines.extend(months.iter().take(SHOWN).map(|m| {
        let since_text = m.started_at.map_or("no started_at".into(), |t| {
            format!("since {} ({} ago)", t.format("%Y-%m-%d %H:%M UTC"), dur(since(t, now)))
        });
        PlanLine::plain(format!("  {}  {since_text}  retries {}", m.month, m.retry_count))
    }));
    if months.len() > SHOWN {
        lines.push(PlanLine::plain(format!("  … and {} more", months.len() - SHOWN)));
    }
    lines.push(PlanLine::plain(
        "A month whose lock a live worker holds is left alone. One transaction; each month audited.",
    ));
    lines
}

/// What a reset did: a summary line, then one line per month.
pub fn result(report: &ResetReport) -> Vec<String> {
    let mut lines = vec![format!(
        "reset {}, left alone {} (a live worker holds the lock), {} (changed meanwhile)",
        report.reset.len(),
        report.skipped_locked.len(),
        report.skipped_changed.len()
    )];
    lines.extend(report.reset.iter().map(|(m, status)| format!("reset {m} -> {status}")));
    lines.extend(report.skipped_locked.iter().map(|m| format!("left alone {m}: a live worker holds its lock")));
    lines.extend(report.skipped_changed.iter().map(|m| format!("left alone {m}: no longer stuck when reached")));
    lines
}
