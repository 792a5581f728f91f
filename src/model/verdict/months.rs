//! The verdicts about `processing` months: a consumer stall, a dead consumer, months
//! stuck with nobody on them (see the rules in [`super`]).

use serde_json::json;

use super::{Cure, Evidence, Kind, Remedy, Verdict};
use crate::duration_text::format as dur;
use crate::model::lock_key::YearMonth;
use crate::model::stuck::{Level, Thresholds};
use crate::model::work::{MonthWork, Work};

pub(super) fn consumer_stall(e: &Evidence<'_>, t: &Thresholds) -> Option<Verdict> {
    let now = e.snapshot.taken_at;
    let q = &e.snapshot.queue;
    let oldest = q.oldest_ready_at.map(|at| crate::model::time::since(at, now));
    let waiting: Vec<&MonthWork> =
        e.work.unwrap_or_default().iter().filter(|w| matches!(w.work, Work::Waiting { .. })).collect();
    let waited_long =
        |w: &&MonthWork| matches!(w.work, Work::Waiting { waited, .. } if waited >= t.consumer_stall_after);
    let by_age = oldest.is_some_and(|a| a >= t.consumer_stall_after) || waiting.iter().any(waited_long);
    let by_rate = e.rates.is_some_and(|r| q.ready >= 10 && r.dequeued * 4.0 < r.enqueued);
    if !by_age && !by_rate {
        return None;
    }
    let level = if q.ready >= i64::from(t.backlog_critical) { Level::Critical } else { Level::Warning };
    let mut summary = format!("consumer stall: {} ready", q.ready);
    if let Some(age) = oldest {
        summary.push_str(&format!(", the oldest waiting {}", dur(age)));
    }
    if let Some(r) = e.rates {
        summary.push_str(&format!(", out {:.1}/min vs in {:.1}/min", r.dequeued, r.enqueued));
    }
    if !waiting.is_empty() {
        summary.push_str(&format!("; {} processing month(s) still wait for their message to be taken", waiting.len()));
    }
    let mut v = Verdict::new(
        Kind::ConsumerStall,
        level,
        summary,
        json!({
            "ready": q.ready, "in_flight": q.in_flight,
            "oldest_ready_age_secs": oldest.map(|d| d.as_secs()),
            "enqueued_per_min": e.rates.map(|r| r.enqueued), "dequeued_per_min": e.rates.map(|r| r.dequeued),
            "processing_waiting": waiting.len(),
        }),
        Remedy::none(
            "consumers are not taking messages — check the consumer deployment (running? connected? its logs); \
             these months are not stuck: a reset would queue the same work twice",
        ),
    );
    for w in waiting {
        v.months.push(w.month);
        if let Work::Waiting { msg_id, .. } = w.work {
            v.msg_ids.push(msg_id);
        }
    }
    Some(v)
}

/// The abandoned months a reset may take: no live message, no lock holder.
pub fn abandoned(work: &[MonthWork]) -> impl Iterator<Item = &MonthWork> {
    work.iter().filter(|w| w.work == Work::Abandoned)
}

pub(super) fn dead_consumer(e: &Evidence<'_>, t: &Thresholds) -> Option<Verdict> {
    let work = e.work?;
    let left: Vec<&MonthWork> = work.iter().filter(|w| matches!(w.work, Work::TakenAndLeft { .. })).collect();
    let young = |w: &&MonthWork| w.processing_for.is_some_and(|d| d < t.stuck_month_after);
    let recent_abandoned: Vec<&MonthWork> = abandoned(work).filter(young).collect();
    if left.is_empty() && recent_abandoned.is_empty() {
        return None;
    }
    let next = left
        .iter()
        .filter_map(|w| match w.work {
            Work::TakenAndLeft { visible_at, .. } => Some(visible_at),
            _ => None,
        })
        .min();
    let mut parts = Vec::new();
    if !recent_abandoned.is_empty() {
        parts.push(format!("{} month(s) abandoned (no message, no worker)", recent_abandoned.len()));
    }
    if !left.is_empty() {
        let at = next.map_or(String::new(), |t| format!(", redelivered from {} UTC", t.format("%H:%M:%S")));
        parts.push(format!("{} month(s) taken and left by a consumer{at}", left.len()));
    }
    // One consumer's death heals itself (the queue hands the message out again): shown, not
    // alarming. A message taken and left twice, or a month nothing will finish, needs someone.
    let again = left.iter().any(|w| w.read_count() >= 2);
    let level = if again || !recent_abandoned.is_empty() { Level::Warning } else { Level::Ok };
    let remedy = if recent_abandoned.is_empty() {
        Remedy::none("nothing to do now: a reset would run the work twice; if consumers keep dying, check their logs")
    } else {
        Remedy::act(
            Cure::Reset,
            "backfill-console reset-stuck --older-than 0s",
            "reset the abandoned months (R): nothing else will finish them; the others are handed out again by the queue",
        )
    };
    let mut v = Verdict::new(
        Kind::DeadConsumer,
        level,
        format!("dead consumer: {}", parts.join("; ")),
        json!({ "taken_and_left": left.len(), "abandoned": recent_abandoned.len(),
                "next_redelivery": next }),
        remedy,
    );
    for w in left.iter().chain(&recent_abandoned) {
        v.months.push(w.month);
        if let Work::TakenAndLeft { msg_id, .. } = w.work {
            v.msg_ids.push(msg_id);
        }
    }
    Some(v)
}

pub(super) fn stuck_months(e: &Evidence<'_>, t: &Thresholds) -> Option<Verdict> {
    let Some(work) = e.work else { return stuck_by_age(e, t) };
    let old = |w: &&MonthWork| w.processing_for.is_none_or(|d| d >= t.stuck_month_after);
    let stuck: Vec<&MonthWork> = abandoned(work).filter(old).collect();
    if stuck.is_empty() {
        return None;
    }
    let mut v = Verdict::new(
        Kind::StuckMonths,
        Level::Warning,
        format!(
            "{} month(s) stuck in processing for over {}: no live message, no worker",
            stuck.len(),
            dur(t.stuck_month_after)
        ),
        json!({ "months": stuck.len(), "older_than_secs": t.stuck_month_after.as_secs() }),
        Remedy::act(
            Cure::Reset,
            "backfill-console reset-stuck",
            "reset them (R): back to retry, the claim routine takes them again",
        ),
    );
    v.months = stuck.iter().map(|w| w.month).collect();
    Some(v)
}

/// A deployment whose queue the console cannot see: months `processing` past the threshold,
/// by age alone — the operator must make sure their messages are gone before a reset.
fn stuck_by_age(e: &Evidence<'_>, t: &Thresholds) -> Option<Verdict> {
    let now = e.snapshot.taken_at;
    let months: Vec<YearMonth> = e
        .snapshot
        .months
        .iter()
        .filter(|m| m.status == crate::model::status::Status::Processing)
        .filter(|m| m.started_at.is_none_or(|s| crate::model::time::since(s, now) >= t.stuck_month_after))
        .filter_map(|m| m.year_month())
        .collect();
    if months.is_empty() {
        return None;
    }
    let mut v = Verdict::new(
        Kind::StuckMonths,
        Level::Warning,
        format!(
            "{} month(s) processing for over {} (their messages are not visible here)",
            months.len(),
            dur(t.stuck_month_after)
        ),
        json!({ "months": months.len(), "older_than_secs": t.stuck_month_after.as_secs(), "queue_visible": false }),
        Remedy::act(
            Cure::Reset,
            "backfill-console reset-stuck",
            "this deployment's queue is not the backfill_queue table: make sure their messages are gone before a reset (R), or the work runs twice",
        ),
    );
    v.months = months;
    Some(v)
}
