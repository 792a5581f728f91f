//! The dead-letter actions: the redrive plan (from a dry run of the same routine) and
//! result, and the purge plan and result.

use std::time::Duration;

use super::PlanLine;
use crate::duration_text::format as dur;
use crate::model::dead::{PurgeReport, RedriveReport, RedriveSkip, compact_ids as ids};

/// Exactly what the redrive will do, from its dry run; `chunk` messages every `pause`.
pub fn redrive_plan(dry_run: &RedriveReport, chunk: usize, pause: Duration) -> Vec<PlanLine> {
    let n = dry_run.moved.len();
    let mut lines = vec![if n == 0 {
        PlanLine::strong("Nothing would be redriven.")
    } else {
        let chunks = n.div_ceil(chunk.max(1));
        let pace = if pause.is_zero() || chunks < 2 {
            String::new()
        } else {
            format!(
                ", one every {} (about {} in all)",
                dur(pause),
                dur(pause * u32::try_from(chunks - 1).unwrap_or(u32::MAX))
            )
        };
        PlanLine::strong(format!(
            "Redrive {n} message(s) back to the queue (ready now, read_count 0) in {chunks} chunk(s) of up to {chunk}{pace}:"
        ))
    }];
    if n > 0 {
        lines.push(PlanLine::plain(format!("  {}", ids(&dry_run.moved))));
    }
    for (why, label) in [
        (RedriveSkip::MonthCompleted, "their month is completed since (force sends them anyway)"),
        (RedriveSkip::Gone, "no longer in the dead-letter table"),
    ] {
        let those: Vec<i64> = dry_run.skipped.iter().filter(|s| s.why == why).map(|s| s.msg_id).collect();
        if !those.is_empty() {
            lines.push(PlanLine::plain(format!("Left alone, {}: {label}: {}", those.len(), ids(&those))));
        }
    }
    lines.push(PlanLine::plain(
        "Each chunk is one transaction and one audit row; a cancel stops between chunks, never inside one.",
    ));
    lines
}

/// What a redrive did.
pub fn redrive_result(report: &RedriveReport) -> Vec<String> {
    let verb = if report.dry_run { "would move" } else { "moved" };
    let mut lines = vec![format!(
        "{verb} {} message(s) in {} chunk(s), left alone {}",
        report.moved.len(),
        report.chunks,
        report.skipped.len()
    )];
    if !report.moved.is_empty() {
        lines.push(format!("{verb}: {}", ids(&report.moved)));
    }
    for s in &report.skipped {
        let why = match s.why {
            RedriveSkip::MonthCompleted => "its month is completed",
            RedriveSkip::Gone => "gone from the dead-letter table",
        };
        lines.push(format!("left alone {}: {why}", s.msg_id));
    }
    if report.stopped {
        lines.push(format!(
            "stopped before the end: {} not tried, still dead letters: {}",
            report.remaining.len(),
            ids(&report.remaining)
        ));
    }
    lines
}

/// Exactly what the purge will do.
pub fn purge_plan(chosen: &[i64]) -> Vec<PlanLine> {
    vec![
        PlanLine::strong(format!("DELETE {} dead letter(s) for good: {}", chosen.len(), ids(chosen))),
        PlanLine::plain("One transaction and one audit row; they cannot be redriven afterwards."),
    ]
}

/// What a purge did.
pub fn purge_result(report: &PurgeReport) -> Vec<String> {
    let mut lines = vec![format!("purged {}, gone already {}", report.purged.len(), report.gone.len())];
    if !report.purged.is_empty() {
        lines.push(format!("purged: {}", ids(&report.purged)));
    }
    lines
}
