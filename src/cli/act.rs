//! The acting commands: `claim`, `release`, `reset-stuck`.

use super::output::outln;
use std::collections::BTreeMap;

use anyhow::Context;
use serde::Serialize;

use super::args::{ClaimArgs, ReleaseArgs};
use super::{CommandContext, confirm, render};
use crate::db::claim::{self, ClaimParams, YearRange};
use crate::db::lock_key::YearMonth;
use crate::db::release::{self, Method, Outcome, Target};
use crate::db::reset;
use crate::duration_text;
use crate::model::{LockProblem, Snapshot};
use crate::text::sanitize;

/// The longest `--lock-timeout` a claim may wait for held months.
pub const MAX_LOCK_WAIT: std::time::Duration = std::time::Duration::from_secs(600);

pub async fn claim(ctx: &CommandContext, args: ClaimArgs) -> anyhow::Result<i32> {
    let params = ClaimParams {
        batch_size: args.batch,
        years: YearRange::parse(&args.years).map_err(anyhow::Error::msg)?,
        force_retry: args.force_retry,
        dry_run: args.dry_run,
        lock_wait: duration_text::parse_flag(
            "--lock-timeout",
            &args.lock_timeout,
            std::time::Duration::ZERO,
            MAX_LOCK_WAIT,
            "a claim keeps its transaction, and the months it already locked, open while it waits (holding back vacuum); use 10m or less",
        )
        .map_err(anyhow::Error::msg)?,
        ..ClaimParams::default()
    };
    params.validate().map_err(|e| anyhow::anyhow!("--batch: {e}"))?;
    if !params.dry_run {
        ctx.refuse_if_read_only("claim (use --dry-run to look without changing anything)")?;
    }
    let mut session = ctx.connect_checked().await?;
    let report = claim::claim(&mut session, &params, Some(&ctx.actor)).await?;
    if args.json {
        render::json(&report)?;
        return Ok(0);
    }
    outln!("{}", report.summary());
    for c in &report.claimed {
        outln!("  claimed {}-{:02}  job {}  ({})", c.year, c.month, c.job_id, c.prompt_variant);
    }
    for c in &report.candidates {
        let lock = match c.holder_pid {
            None => "lock free".to_string(),
            Some(pid) => format!("locked by pid {pid}"),
        };
        outln!("  candidate {}-{:02}  {}  {lock}", c.year, c.month, sanitize(&c.status));
    }
    list("skipped (lock held)", &report.skipped_locked);
    list("skipped (claimed by another scheduler meanwhile)", &report.skipped_raced);
    Ok(0)
}

fn list(label: &str, months: &[YearMonth]) {
    if !months.is_empty() {
        let names: Vec<String> = months.iter().map(ToString::to_string).collect();
        outln!("  {label}: {}", names.join(", "));
    }
}

/// One session to act on, with every month lock it holds.
#[derive(Debug, Serialize)]
struct Plan {
    target: Target,
    months: Vec<YearMonth>,
    application: String,
    state: String,
    in_transaction: bool,
    foreign_locks: usize,
    reasons: Vec<String>,
}

fn plans(snap: &Snapshot, pick: impl Fn(usize) -> bool) -> Vec<Plan> {
    let mut by_pid: BTreeMap<i32, Plan> = BTreeMap::new();
    for (i, lock) in snap.locks.iter().enumerate() {
        let (Some(pid), Some(month), Some(holder)) = (lock.pid, lock.month(), lock.holder.as_ref()) else {
            continue;
        };
        let Some(backend_start) = holder.backend_start else {
            continue;
        };
        if !lock.granted || !pick(i) {
            continue;
        }
        let plan = by_pid.entry(pid).or_insert_with(|| Plan {
            target: Target { pid, backend_start, month },
            months: Vec::new(),
            application: sanitize(holder.application_name.as_deref().unwrap_or("")),
            state: sanitize(holder.state.as_deref().unwrap_or("unknown")),
            in_transaction: holder.xact_start.is_some(),
            foreign_locks: snap.locks.iter().filter(|l| l.pid == Some(pid) && l.granted && l.month().is_none()).count(),
            reasons: Vec::new(),
        });
        plan.months.push(month);
    }
    by_pid.into_values().collect()
}

pub async fn release(ctx: &CommandContext, args: ReleaseArgs) -> anyhow::Result<i32> {
    ctx.refuse_if_read_only("release")?;
    let session = ctx.connect_checked().await?;
    let (snap, assessment) = super::inspect::read_on(ctx, &session).await?;
    let mut plans = match args.pid {
        Some(pid) => {
            let found = plans(&snap, |i| snap.locks[i].pid == Some(pid));
            if found.is_empty() {
                let foreign = snap.locks.iter().filter(|l| l.pid == Some(pid) && l.granted).count();
                anyhow::bail!(
                    "pid {pid} holds no month lock in this database{}; nothing to release (see `backfill-console locks`)",
                    if foreign > 0 {
                        format!(" (it holds {foreign} foreign lock(s), which this console never touches)")
                    } else {
                        String::new()
                    }
                );
            }
            found
        }
        None => plans(&snap, |i| assessment.locks[i].is_stuck()),
    };
    for plan in &mut plans {
        plan.reasons = snap
            .locks
            .iter()
            .zip(&assessment.locks)
            .filter(|(l, _)| l.pid == Some(plan.target.pid))
            .flat_map(|(_, v)| v.problems.iter().map(LockProblem::describe))
            .collect();
    }
    if plans.is_empty() {
        if args.json {
            render::json(&serde_json::json!({ "released": [], "refused": [] }))?;
        } else {
            outln!("no stuck month lock to release");
        }
        return Ok(0);
    }
    let method = if args.cancel { Method::Cancel } else { Method::Terminate };
    if !confirm::ask(&describe_release(&plans, method), args.yes)? {
        outln!("nothing done");
        return Ok(1);
    }
    // Through a pooler the holder may be the very backend our statement lands on:
    // with a direct URL, the releases run there.
    let direct = ctx.connect_direct().await?;
    let acting = direct.as_ref().unwrap_or(&session);
    // One JSON shape whatever happened: {"released": [...], "refused": [...]}.
    let (mut released, mut refused) = (Vec::new(), Vec::new());
    let mut still_held = 0;
    for plan in &plans {
        let reason = if plan.reasons.is_empty() { "operator request".to_string() } else { plan.reasons.join("; ") };
        let outcome = release::release(&acting.client, &ctx.actor, &plan.target, method, &reason).await?;
        still_held += usize::from(outcome == Outcome::Done { lock_released: false });
        if !args.json {
            match &outcome {
                Outcome::Done { lock_released } => outln!(
                    "pid {}: {} — lock {}",
                    plan.target.pid,
                    if method == Method::Terminate { "terminated" } else { "query cancelled" },
                    if *lock_released { "released" } else { "still held" }
                ),
                Outcome::Refused { reason } => outln!("pid {}: not signalled — {reason}", plan.target.pid),
            }
        }
        let entry = serde_json::json!({ "pid": plan.target.pid, "months": plan.months, "outcome": outcome });
        match outcome {
            Outcome::Done { .. } => released.push(entry),
            Outcome::Refused { .. } => refused.push(entry),
        }
    }
    if args.json {
        render::json(&serde_json::json!({ "released": released, "refused": refused }))?;
    }
    // Non-zero whenever a lock we meant to release may still be held.
    Ok(i32::from(!refused.is_empty() || still_held > 0))
}

fn describe_release(plans: &[Plan], method: Method) -> String {
    let mut text = String::new();
    for p in plans {
        let months: Vec<String> = p.months.iter().map(ToString::to_string).collect();
        let verb = match method {
            Method::Terminate => "TERMINATE backend",
            Method::Cancel => "CANCEL the current query of backend",
        };
        text.push_str(&format!(
            "{verb} pid {} ({}, {}) holding month lock(s) {}",
            p.target.pid,
            if p.application.is_empty() { "no application name" } else { &p.application },
            p.state,
            months.join(", ")
        ));
        if p.foreign_locks > 0 {
            text.push_str(&format!(" and {} foreign lock(s)", p.foreign_locks));
        }
        text.push('\n');
        if !p.reasons.is_empty() {
            text.push_str(&format!("  why: {}\n", p.reasons.join("; ")));
        }
        match method {
            Method::Terminate if p.in_transaction => {
                text.push_str("  its session ends and its open transaction will be ROLLED BACK\n")
            }
            Method::Terminate => text.push_str("  its session ends; every lock it holds is released\n"),
            Method::Cancel => text.push_str("  an idle session keeps its session-level locks after a cancel\n"),
        }
    }
    text.push_str("Only if that same session (pid and start time) still holds the lock at that instant.");
    text
}

pub async fn reset_stuck(ctx: &CommandContext, older_than: &str, yes: bool, json: bool) -> anyhow::Result<i32> {
    ctx.refuse_if_read_only("reset-stuck")?;
    let older_than = duration_text::parse_flag(
        "--older-than",
        older_than,
        std::time::Duration::from_secs(1),
        duration_text::MAX,
        "no month has been processing that long",
    )
    .map_err(anyhow::Error::msg)?;
    let mut session = ctx.connect_checked().await?;
    let stuck = reset::stuck_months(&session.client, older_than).await?;
    if stuck.is_empty() {
        if json {
            render::json(&reset::ResetReport::default())?;
        } else {
            outln!("no month has been processing for over {}", duration_text::format(older_than));
        }
        return Ok(0);
    }
    let mut plan = format!(
        "Reset {} month(s) processing for over {} back to retry (retry_count + 1; failed when 5 retries are used):\n",
        stuck.len(),
        duration_text::format(older_than)
    );
    for m in &stuck {
        let since = m.started_at.map_or("no started_at".into(), |t| t.format("%Y-%m-%d %H:%M UTC").to_string());
        plan.push_str(&format!("  {}  since {since}  retries {}\n", m.month, m.retry_count));
    }
    plan.push_str("A month whose lock a live worker holds is left alone.");
    if !confirm::ask(&plan, yes)? {
        outln!("nothing done");
        return Ok(1);
    }
    let months: Vec<YearMonth> = stuck.iter().map(|m| m.month).collect();
    let report = reset::reset_stuck_with(
        &mut session.client,
        session.per_transaction.clone().as_deref(),
        &ctx.actor,
        older_than,
        Some(&months),
    )
    .await
    .context("reset-stuck")?;
    if json {
        render::json(&report)?;
    } else {
        for (month, status) in &report.reset {
            outln!("reset {month} -> {status}");
        }
        list("left alone (a live worker holds the lock)", &report.skipped_locked);
        list("left alone (changed meanwhile)", &report.skipped_changed);
    }
    // Non-zero when a stuck month was not acted on (its lock held, or it changed meanwhile).
    Ok(i32::from(!report.skipped_locked.is_empty() || !report.skipped_changed.is_empty()))
}
