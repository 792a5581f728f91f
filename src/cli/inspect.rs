//! The read-only commands: `snapshot`, `locks`, `check`.

use super::output::{out, outln};
use std::collections::BTreeMap;

use serde::Serialize;

use super::CommandContext;
use super::render::{self, LockView};
use crate::model::stuck::StuckMonth;
use crate::model::{Assessment, Level, QueueDepth, Snapshot, Status};
use crate::ops;

/// One read, judged. One-shot commands have no history, so hold times come
/// from the holders' idle time only (a lower bound).
/// `with_history`: also the throughput history (the rate and the ETA band), for the
/// commands that show progress; the others skip the statement.
pub(super) async fn read(ctx: &CommandContext, with_history: bool) -> anyhow::Result<(Snapshot, Assessment)> {
    let session = ctx.connect_checked().await?;
    read_on(ctx, &session, with_history).await
}

/// [`read`] on a session the caller goes on using (`release` acts on it afterwards).
pub(super) async fn read_on(
    ctx: &CommandContext,
    session: &crate::db::connect::Session,
    with_history: bool,
) -> anyhow::Result<(Snapshot, Assessment)> {
    let options = ops::read::ReadOptions {
        thresholds: &ctx.config.thresholds,
        queue_depth_query: ctx.config.queue_depth_query.as_deref(),
        with_history,
    };
    Ok(ops::read::judged(session, &options).await?)
}

#[derive(Serialize)]
struct SnapshotDoc<'a> {
    taken_at: chrono::DateTime<chrono::Utc>,
    counts: BTreeMap<Status, i64>,
    stuck_months: &'a [StuckMonth],
    locks: Vec<LockView>,
    queue: &'a QueueDepth,
    /// Months with more than one live queue message.
    duplicates: &'a [crate::model::snapshot::Duplicate],
    /// How far along, how fast, when done (a band), and whether it stalled.
    progress: &'a crate::model::progress::Progress,
    level: Level,
    /// The causes of trouble, named, with their evidence and cure.
    verdicts: &'a [crate::model::verdict::Verdict],
    reasons: &'a [String],
    /// What is happening to each processing month (absent: the queue is not ours to see).
    #[serde(skip_serializing_if = "Option::is_none")]
    processing: Option<&'a [crate::model::work::MonthWork]>,
    connection: ConnectionDoc<'a>,
}

/// How the session reached the server, and which safety settings were in force.
#[derive(Serialize)]
struct ConnectionDoc<'a> {
    pooling: crate::db::connect::Pooling,
    pooler_addr: Option<&'a str>,
    safety: &'a crate::db::connect::Guards,
    safety_summary: String,
}

pub async fn snapshot(ctx: &CommandContext, json: bool) -> anyhow::Result<i32> {
    let session = ctx.connect_checked().await?;
    let (snap, a) = read_on(ctx, &session, true).await?;
    let doc = SnapshotDoc {
        connection: ConnectionDoc {
            pooling: session.pooling,
            pooler_addr: session.pooler_addr.as_deref(),
            safety: &session.guards,
            safety_summary: session.guards.summary(),
        },
        taken_at: snap.taken_at,
        counts: snap.status_counts(),
        stuck_months: &a.stuck_months,
        locks: render::lock_views(&snap, &a),
        queue: &snap.queue,
        duplicates: &snap.duplicates,
        progress: &a.progress,
        level: a.overall,
        verdicts: &a.verdicts,
        reasons: &a.reasons,
        processing: a.work.as_deref(),
    };
    if json {
        render::json(&doc)?;
        return Ok(0);
    }
    let counts: Vec<String> = doc.counts.iter().map(|(k, v)| format!("{k} {v}")).collect();
    outln!("months: {} ({})", snap.months.len(), crate::text::sanitize(&counts.join(", ")));
    let eta_clock = crate::present::progress::eta_clock(&a.progress).map(|c| format!(" ({c})")).unwrap_or_default();
    outln!("progress: {}{eta_clock}", crate::present::progress::summary(&a.progress, snap.taken_at));
    let q = &snap.queue;
    let oldest = q
        .oldest_ready_at
        .map(|t| crate::duration_text::format(crate::model::time::since(t, snap.taken_at)))
        .unwrap_or_else(|| "-".into());
    outln!(
        "queue: ready {}, in flight {}, delayed {}, dead {}, oldest ready {oldest}",
        q.ready,
        q.in_flight,
        q.delayed,
        q.dead
    );
    for m in &a.stuck_months {
        let age = m.processing_for.map_or("no started_at".into(), crate::duration_text::format);
        outln!("stuck month: {} processing for {age}", m.month);
    }
    outln!("advisory locks: {}", doc.locks.len());
    if !doc.locks.is_empty() {
        out!("{}", render::lock_table(&snap, &a));
    }
    outln!("status: {}", a.overall.word());
    print_verdicts(&a);
    Ok(0)
}

/// Each verdict, and what helps (or what to look at when no console action does).
fn print_verdicts(a: &Assessment) {
    for v in &a.verdicts {
        outln!("  {} {}", v.level.word(), crate::text::sanitize(&v.summary));
        let how = v.remedy.command.as_deref().map(|c| format!(" ({c})")).unwrap_or_default();
        let cure = if v.remedy.action.is_some() { "cure" } else { "no console cure" };
        outln!("    {cure}: {}{how}", crate::text::sanitize(&v.remedy.text));
    }
}

pub async fn locks(ctx: &CommandContext, json: bool) -> anyhow::Result<i32> {
    let (snap, a) = read(ctx, false).await?;
    let views = render::lock_views(&snap, &a);
    if json {
        // An object like every other document: `{"locks": [...]}`.
        render::json(&serde_json::json!({ "locks": views }))?;
    } else if views.is_empty() {
        outln!("no advisory locks are held or awaited");
    } else {
        out!("{}", render::lock_table(&snap, &a));
    }
    Ok(0)
}

pub async fn check(ctx: &CommandContext, json: bool) -> anyhow::Result<i32> {
    let (snap, a) = read(ctx, true).await?;
    let failed = a.failed_months;
    let stuck_locks = a.locks.iter().filter(|v| v.is_stuck()).count();
    if json {
        render::json(&serde_json::json!({
            "level": a.overall,
            "verdicts": a.verdicts,
            "reasons": a.reasons,
            "queue": snap.queue,
            "failed_months": failed,
            "stuck_locks": stuck_locks,
            "stuck_months": a.stuck_months,
            "progress": a.progress,
        }))?;
    } else {
        let t = &ctx.config.thresholds;
        let summary = if a.reasons.is_empty() { "all clear".to_string() } else { a.reasons.join("; ") };
        outln!(
            "BACKFILL {} - {summary} | ready={};{};{} in_flight={} dead={} failed={};{} stuck_locks={} stuck_months={}",
            a.overall.word(),
            snap.queue.ready,
            t.backlog_warning,
            t.backlog_critical,
            snap.queue.in_flight,
            snap.queue.dead,
            failed,
            t.failed_warning,
            stuck_locks,
            a.stuck_months.len()
        );
        // The plugin convention's long output: each verdict and its cure, a line each.
        print_verdicts(&a);
    }
    Ok(a.overall.exit_code())
}
