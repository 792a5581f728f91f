//! The dead-letter actions: the redrive plan (from a dry run of the same routine) and
//! result, and the purge plan and result.

use std::time::Duration;

use super::PlanLine;
use crate::duration_text::format as dur;
use crate::model::dead::{PurgeReport, RedriveReport, compact_ids as ids};

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
    lines.extend(claimed_lines(dry_run).into_iter().map(PlanLine::plain));
    for (label, those) in skipped_by_why(dry_run) {
        lines.push(PlanLine::plain(format!("Left alone, {}: {label}: {}", those.len(), ids(&those))));
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
    lines.extend(claimed_lines(report));
    for (label, those) in skipped_by_why(report) {
        lines.push(format!("left alone {}: {label}", ids(&those)));
    }
    if let Some(error) = &report.error {
        lines.push(format!("stopped by an error: {error}"));
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

/// The months claimed for their message, grouped by what they were.
fn claimed_lines(report: &RedriveReport) -> Vec<String> {
    let mut by_status: Vec<(String, Vec<String>)> = Vec::new();
    for c in &report.claimed {
        let was = c.was.as_str().to_string();
        let item = format!("{} (msg {})", c.month, c.msg_id);
        match by_status.iter_mut().find(|(s, _)| *s == was) {
            Some((_, items)) => items.push(item),
            None => by_status.push((was, vec![item])),
        }
    }
    by_status
        .into_iter()
        .map(|(was, items)| {
            let shown: Vec<String> = items.iter().take(12).cloned().collect();
            let more = if items.len() > shown.len() { format!(" and {} more", items.len() - shown.len()) } else { String::new() };
            format!(
                "Their month goes {was} -> processing with the message (the claim routine will not queue it again), {}: {}{more}",
                items.len(),
                shown.join(", ")
            )
        })
        .collect()
}

/// The messages left alone, grouped by why (in the order the reasons first appear).
fn skipped_by_why(report: &RedriveReport) -> Vec<(String, Vec<i64>)> {
    let mut groups: Vec<(String, Vec<i64>)> = Vec::new();
    for s in &report.skipped {
        let why = s.why.describe();
        match groups.iter_mut().find(|(w, _)| *w == why) {
            Some((_, ids)) => ids.push(s.msg_id),
            None => groups.push((why, vec![s.msg_id])),
        }
    }
    groups
}

/// Exactly what the purge will do: `count` dead letters, `what` they are.
pub fn purge_plan(count: usize, what: &str) -> Vec<PlanLine> {
    vec![
        PlanLine::strong(format!("DELETE {count} dead letter(s) for good: {what}")),
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
