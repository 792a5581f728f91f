//! Verdicts: the cause of trouble, named — its level, the numbers that show it, and the
//! cure that helps (a console action and a command) or, plainly, that no console action
//! helps and what to look at instead. Pure: a function of the snapshot, the judgements
//! already made over it, and (in the console) the queue's rates.
//!
//! The rules (thresholds from the config's `[thresholds]`):
//! - `consumer_stall`: a ready message waited `consumer_stall_after`, a `processing`
//!   month's message waited that long to be taken, or (the console, which watches the
//!   rates) messages leave at under a quarter of the pace they arrive while ten or more
//!   are ready. No console cure; its months are never offered for reset.
//! - `dead_consumer`: a consumer took a `processing` month's message and left (the
//!   message read and invisible, no lock held: the queue hands it out again), or the
//!   message is gone and nobody holds the lock (abandoned, younger than `stuck_month_after`:
//!   reset).
//! - `stuck_months`: `processing` at least `stuck_month_after`, no live message, no lock
//!   holder: reset.
//! - `leaked_locks`, `stranded_locks`, `stuck_locks`: the lock judgements, grouped by the
//!   holder's application: release.
//! - `error_burst`: one cause failed at least `error_burst_min` times in the last hour and
//!   `error_burst_factor` times its usual hourly rate (the 23 hours before): retry it once fixed.
//! - `poison_messages`: dead letters (a warning from `dead_letters_warning` on): redrive or purge.
//! - `duplicates`, `stalled`, `backlog`, `failed_months`: as the assessment always had them.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use serde::Serialize;
use serde_json::json;

use super::causes::Cause;
use super::lock_key::YearMonth;
use super::progress::Progress;
use super::snapshot::Snapshot;
use super::stuck::{Level, LockProblem, LockVerdict, Thresholds};
use super::work::MonthWork;
use crate::duration_text::format as dur;

mod months;

pub use months::abandoned;
use months::{consumer_stall, dead_consumer, stuck_months};

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Kind {
    ConsumerStall,
    DeadConsumer,
    StuckMonths,
    StrandedLocks,
    LeakedLocks,
    StuckLocks,
    Duplicates,
    ErrorBurst,
    Stalled,
    Backlog,
    FailedMonths,
    PoisonMessages,
}

impl Kind {
    /// `consumer_stall`: the name JSON, the metrics and the screens give it.
    pub fn name(self) -> String {
        serde_json::to_value(self).ok().and_then(|k| k.as_str().map(str::to_string)).unwrap_or_default()
    }
}

/// The console action that helps.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Cure {
    /// Reset the abandoned months (`R`, `reset-stuck`).
    Reset,
    /// Release the locks (`r` on the lock holders, `release --stuck`).
    Release,
    /// Retry a cause's months once fixed (`e`, then `t`; `retry --cause`).
    Retry,
    /// The dead-letter view (`D`: redrive or purge; `dead …`).
    DeadLetters,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Remedy {
    /// The console action that helps; `None`: none does.
    pub action: Option<Cure>,
    /// The headless command that does it.
    pub command: Option<String>,
    /// What to do, or what to look at when no console action helps.
    pub text: String,
}

impl Remedy {
    fn none(text: impl Into<String>) -> Self {
        Self { action: None, command: None, text: text.into() }
    }

    fn act(action: Cure, command: &str, text: impl Into<String>) -> Self {
        Self { action: Some(action), command: Some(command.into()), text: text.into() }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Verdict {
    pub kind: Kind,
    pub level: Level,
    pub summary: String,
    pub evidence: serde_json::Value,
    pub remedy: Remedy,
    /// The months it is about (its detail lists them).
    #[serde(serialize_with = "super::months::as_text::serialize", skip_serializing_if = "Vec::is_empty")]
    pub months: Vec<YearMonth>,
    /// The lock holders it is about.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub pids: Vec<i32>,
    /// The queue messages it is about.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub msg_ids: Vec<i64>,
}

impl Verdict {
    fn new(kind: Kind, level: Level, summary: String, evidence: serde_json::Value, remedy: Remedy) -> Self {
        Self { kind, level, summary, evidence, remedy, months: Vec::new(), pids: Vec::new(), msg_ids: Vec::new() }
    }
}

/// Enqueue and dequeue rates, messages a minute (the console's, over its last minute).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct QueueRates {
    pub enqueued: f64,
    pub dequeued: f64,
}

/// What the verdicts are judged from.
pub struct Evidence<'a> {
    pub snapshot: &'a Snapshot,
    pub locks: &'a [LockVerdict],
    pub work: Option<&'a [MonthWork]>,
    pub causes: &'a [Cause],
    pub progress: &'a Progress,
    pub failed_months: i64,
    pub rates: Option<QueueRates>,
}

/// Every verdict that holds, the most severe first.
pub fn judge(e: &Evidence<'_>, t: &Thresholds) -> Vec<Verdict> {
    let mut all = Vec::new();
    let stall = consumer_stall(e, t);
    let stalled_consumers = stall.is_some();
    all.extend(stall);
    all.extend(dead_consumer(e, t));
    all.extend(stuck_months(e, t));
    all.extend(lock_verdicts(e));
    all.extend(duplicates(e));
    all.extend(error_bursts(e, t));
    if e.progress.stalled {
        let quiet = e.progress.quiet_for.map_or("a while".into(), dur);
        all.push(Verdict::new(
            Kind::Stalled,
            Level::Warning,
            format!("STALLED: {} months remain and none completed for {quiet}", e.progress.remaining),
            json!({ "remaining": e.progress.remaining, "quiet_for_secs": e.progress.quiet_for.map(|d| d.as_secs()) }),
            Remedy::none(
                "nothing completes: see the other verdicts; if there is none, check the consumers and the schedulers",
            ),
        ));
    }
    let ready = e.snapshot.queue.ready;
    if !stalled_consumers && ready >= i64::from(t.backlog_warning) {
        let level = if ready >= i64::from(t.backlog_critical) { Level::Critical } else { Level::Warning };
        all.push(Verdict::new(
            Kind::Backlog,
            level,
            format!("queue backlog {ready} ready (warn ≥ {}, crit ≥ {})", t.backlog_warning, t.backlog_critical),
            json!({ "ready": ready, "warning": t.backlog_warning, "critical": t.backlog_critical }),
            Remedy::none("the consumers are behind but taking messages: scale them up, or claim less often"),
        ));
    }
    if e.failed_months > i64::from(t.failed_warning) {
        all.push(Verdict::new(
            Kind::FailedMonths,
            Level::Warning,
            format!("{} failed months (warn > {})", e.failed_months, t.failed_warning),
            json!({ "failed": e.failed_months, "warning": t.failed_warning }),
            Remedy::act(
                Cure::Retry,
                "backfill-console errors",
                "see their causes (e); fix one, then retry its months (t)",
            ),
        ));
    }
    all.extend(poison(e, t));
    all.sort_by(|a, b| b.level.cmp(&a.level).then(a.kind.cmp(&b.kind)));
    all
}

/// Leaked, stranded and other stuck month locks, each grouped by the holder's application.
fn lock_verdicts(e: &Evidence<'_>) -> Vec<Verdict> {
    type Groups = BTreeMap<String, (usize, Vec<i32>, Vec<YearMonth>)>;
    let mut leaked = Groups::new();
    let mut stranded = Groups::new();
    let mut other = Groups::new();
    for (lock, verdict) in e.snapshot.locks.iter().zip(e.locks) {
        let Some(problem) = verdict.problems.first() else { continue };
        let group = match problem {
            LockProblem::Stranded { .. } => &mut stranded,
            LockProblem::Leaked { .. } => &mut leaked,
            _ if verdict.problems.iter().any(|p| matches!(p, LockProblem::Stranded { .. })) => &mut stranded,
            _ => &mut other,
        };
        let app = lock.holder.as_ref().and_then(|h| h.application_name.clone()).filter(|a| !a.is_empty());
        let entry = group.entry(app.unwrap_or_else(|| "(no application name)".into())).or_default();
        entry.0 += 1;
        entry.1.extend(lock.pid.filter(|p| !entry.1.contains(p)));
        entry.2.extend(lock.month());
    }
    let mut all = Vec::new();
    for (kind, groups, what, why, remedy) in [
        (
            Kind::StrandedLocks,
            stranded,
            "stranded month lock(s)",
            "held by a pooled server backend that ran other clients' work since: only it can unlock",
            Remedy::act(
                Cure::Release,
                "backfill-console release --stuck",
                "release them (r on the lock holders): over a direct connection (--direct-url) when the pooler hands the release the holder itself",
            ),
        ),
        (
            Kind::LeakedLocks,
            leaked,
            "leaked month lock(s)",
            "held on a month that is not processing",
            Remedy::act(Cure::Release, "backfill-console release --stuck", "release them (r on the lock holders)"),
        ),
        (
            Kind::StuckLocks,
            other,
            "month lock(s) held too long",
            "overdue, or held by a session idle in a transaction",
            Remedy::act(
                Cure::Release,
                "backfill-console release --stuck",
                "look at the holder (Enter on the lock), then release it (r) or cancel its query (x)",
            ),
        ),
    ] {
        if groups.is_empty() {
            continue;
        }
        let total: usize = groups.values().map(|g| g.0).sum();
        let by_app: Vec<String> =
            groups.iter().map(|(app, g)| format!("{} ×{}", crate::text::clip(app, 30), g.0)).collect();
        let mut v = Verdict::new(
            kind,
            Level::Warning,
            format!("{total} {what}: {}", by_app.join(", ")),
            json!({ "locks": total, "why": why,
                    "by_application": groups.iter().map(|(a, g)| (a.clone(), g.0)).collect::<BTreeMap<_, _>>() }),
            remedy,
        );
        for (_, (_, pids, months)) in groups {
            v.pids.extend(pids);
            v.months.extend(months);
        }
        all.push(v);
    }
    all
}

fn duplicates(e: &Evidence<'_>) -> Option<Verdict> {
    let dups = &e.snapshot.duplicates;
    if dups.is_empty() {
        return None;
    }
    let mut v = Verdict::new(
        Kind::Duplicates,
        Level::Warning,
        format!("{} month(s) with more than one live queue message: their work runs twice", dups.len()),
        json!({ "months": dups.len() }),
        Remedy::none(
            "find which producer queued the extra message (its ids are listed); no console action removes a live message",
        ),
    );
    for d in dups {
        v.months.extend(YearMonth::new(d.year, d.month));
        v.msg_ids.extend(&d.msg_ids);
    }
    Some(v)
}

/// A cause whose failures in the last hour are far above its usual hourly rate.
fn error_bursts(e: &Evidence<'_>, t: &Thresholds) -> Vec<Verdict> {
    let now = e.snapshot.taken_at;
    let hour = chrono::Duration::hours(1);
    let mut all = Vec::new();
    for cause in e.causes {
        let seen: &[DateTime<Utc>] = &cause.seen;
        let recent = seen.iter().filter(|at| **at > now - hour).count();
        let before = seen.iter().filter(|at| **at <= now - hour && **at > now - hour * 24).count();
        let usual = before as f64 / 23.0;
        if recent < t.error_burst_min as usize || (recent as f64) < f64::from(t.error_burst_factor) * usual.max(0.25) {
            continue;
        }
        let signature = crate::text::clip(&cause.signature, 80);
        let mut v = Verdict::new(
            Kind::ErrorBurst,
            Level::Warning,
            format!("error burst: {recent} failure(s) in the last hour of `{signature}` (usually {usual:.1}/h)"),
            json!({ "signature": cause.signature, "last_hour": recent, "usual_per_hour": usual }),
            Remedy::act(
                Cure::Retry,
                &format!("backfill-console retry --cause '{}'", cause.signature.replace('\'', "'\\''")),
                "fix what fails, then retry this cause's months (e, Enter on it, then t)",
            ),
        );
        v.months = cause.months.clone();
        all.push(v);
    }
    all
}

fn poison(e: &Evidence<'_>, t: &Thresholds) -> Option<Verdict> {
    let dead = e.snapshot.queue.dead;
    if dead == 0 {
        return None;
    }
    let level = if dead >= i64::from(t.dead_letters_warning) { Level::Warning } else { Level::Ok };
    Some(Verdict::new(
        Kind::PoisonMessages,
        level,
        format!("{dead} message(s) in the dead-letter table (failed three deliveries)"),
        json!({ "dead": dead, "warning": t.dead_letters_warning }),
        Remedy::act(
            Cure::DeadLetters,
            "backfill-console dead list",
            "look at them by reason (D): redrive what a fix now handles, purge the rest",
        ),
    ))
}

#[cfg(test)]
#[path = "verdict_tests.rs"]
mod tests;
