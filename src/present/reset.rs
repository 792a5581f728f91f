//! Resetting stuck months: the plan and the result.

use std::time::Duration;

use chrono::{DateTime, Utc};

use super::PlanLine;
use crate::duration_text::format as dur;
use crate::model::RETRY_CAP;
use crate::model::reset::{ResetReport, StuckMonthRow};
use crate::model::time::since;

/// Exactly what a reset of these months will do (`now`: to say how long each has been
/// processing); `found`, a dry run of the same routine, says it month by month.
pub fn plan(
    older_than: Duration,
    months: &[StuckMonthRow],
    now: DateTime<Utc>,
    found: Option<&ResetReport>,
) -> Vec<PlanLine> {
    let count = found.map_or(months.len(), |r| r.reset.len());
    let which = if older_than.is_zero() {
        "processing with no live message and no worker".to_string()
    } else {
        format!("processing for over {}", dur(older_than))
    };
    let mut lines = vec![PlanLine::strong(if count == 0 {
        format!("Nothing would be reset now ({} month(s) chosen):", months.len())
    } else {
        format!(
            "Reset {count} month(s) {which} back to retry (retry_count + 1; failed when {RETRY_CAP} retries are used):"
        )
    })];
    const SHOWN: usize = 12;
    lines.extend(months.iter().take(SHOWN).map(|m| {
        let since_text = m.started_at.map_or("no started_at".into(), |t| {
            format!("since {} ({} ago)", t.format("%Y-%m-%d %H:%M UTC"), dur(since(t, now)))
        });
        // The outcome first: it is what the operator decides on.
        let outcome = found.map_or(String::new(), |r| format!("{}  ", planned(r, m)));
        PlanLine::plain(format!("  {}  {outcome}{since_text}  retries {}", m.month, m.retry_count))
    }));
    if months.len() > SHOWN {
        lines.push(PlanLine::plain(format!("  … and {} more", months.len() - SHOWN)));
    }
    lines.push(PlanLine::plain(match found {
        Some(_) => "Planned by a dry run of the same routine (rolled back). One transaction; one audit row.",
        None => "A month whose lock a live worker holds, or whose message is still queued, is left alone. One transaction; one audit row.",
    }));
    lines
}

/// What the dry run found for one month.
fn planned(found: &ResetReport, row: &StuckMonthRow) -> String {
    if let Some((_, status)) = found.reset.iter().find(|(m, _)| *m == row.month) {
        return if status == "failed" { "-> failed (retries used up)".into() } else { format!("-> {status}") };
    }
    if found.skipped_locked.contains(&row.month) {
        return "left alone: a live worker holds its lock".into();
    }
    if let Some(queued) = found.skipped_queued.iter().find(|q| q.month == row.month) {
        return format!("left alone: {}", queued.describe());
    }
    // In skipped_changed, or not even listed: no longer processing (or not for that long).
    "left alone: no longer stuck".into()
}

/// What a reset did: a summary line, then one line per month.
pub fn result(report: &ResetReport) -> Vec<String> {
    let mut lines = vec![format!(
        "reset {}, left alone {} (a live worker holds the lock), {} (its message still queued), {} (changed meanwhile)",
        report.reset.len(),
        report.skipped_locked.len(),
        report.skipped_queued.len(),
        report.skipped_changed.len()
    )];
    lines.extend(report.reset.iter().map(|(m, status)| format!("reset {m} -> {status}")));
    lines.extend(report.skipped_locked.iter().map(|m| format!("left alone {m}: a live worker holds its lock")));
    lines.extend(report.skipped_queued.iter().map(|q| format!("left alone {}: {}", q.month, q.describe())));
    lines.extend(report.skipped_changed.iter().map(|m| format!("left alone {m}: no longer stuck when reached")));
    lines
}
