//! The claim routine's plan and result.

use super::PlanLine;
use crate::duration_text::format as dur;
use crate::model::RETRY_CAP;
use crate::model::claim::{ClaimParams, ClaimReport, YearRange};
use crate::text::sanitize;

/// Exactly what a claim with these parameters will do.
pub fn plan(p: &ClaimParams) -> Vec<PlanLine> {
    let YearRange { from, to } = p.years;
    let statuses = if p.force_retry {
        format!("pending, retry and failed (fewer than {RETRY_CAP} retries)")
    } else {
        "pending and retry".into()
    };
    if p.dry_run {
        return vec![
            PlanLine::strong(if p.months.is_empty() {
                format!("DRY RUN first: the {} {statuses} months of {from}..{to} it would take", p.batch_size)
            } else {
                format!(
                    "DRY RUN: list which of the marked {} a claim would take,",
                    crate::model::months::compact(&p.months)
                )
            }),
            PlanLine::plain(
                "(newest first) and the locked ones it would pass over. Nothing changes; Enter then claims.",
            ),
        ];
    }
    vec![
        if p.months.is_empty() {
            PlanLine::strong(format!("Claim up to {} {statuses} months of {from}..{to}, newest first.", p.batch_size))
        } else {
            PlanLine::strong(format!(
                "Claim the {statuses} months among {} marked: {}.",
                p.months.len(),
                crate::model::months::compact(&p.months)
            ))
        },
        PlanLine::plain(format!(
            "A month whose lock is held is passed over (waited for up to {} only if",
            dur(p.lock_wait)
        )),
        PlanLine::plain("the batch would stay short). Each month taken: status -> processing"),
        PlanLine::plain("and one queue message, all in ONE transaction; audited."),
    ]
}

/// What a claim did: a summary line, then one line per month.
pub fn result(report: &ClaimReport) -> Vec<String> {
    let mut lines = vec![report.summary()];
    for c in &report.claimed {
        lines.push(format!("claimed {}-{:02}  job {}  ({})", c.year, c.month, c.job_id, sanitize(&c.prompt_variant)));
    }
    for c in &report.candidates {
        let lock = c.holder_pid.map_or("lock free".into(), |pid| format!("locked by pid {pid}"));
        let queued = c.queued_msg.map_or(String::new(), |id| {
            format!("  left alone: its message #{id} is still in the queue (a second would run the work twice)")
        });
        lines.push(format!("candidate {}-{:02}  {}  {lock}{queued}", c.year, c.month, sanitize(c.status.as_str())));
    }
    if !report.skipped_locked.is_empty() {
        lines.push(format!(
            "skipped (its lock stayed held: another scheduler or worker): {}",
            super::months(&report.skipped_locked)
        ));
    }
    if !report.skipped_queued.is_empty() {
        lines.push(format!(
            "left alone (its message is still in the queue: a second would run the work twice): {}",
            super::months(&report.skipped_queued)
        ));
    }
    if !report.skipped_raced.is_empty() {
        lines.push(format!(
            "skipped (claimed by another scheduler meanwhile): {}",
            super::months(&report.skipped_raced)
        ));
    }
    lines
}
