//! The acting commands: `claim`, `release`, `reset-stuck`.

use super::output::outln;

use anyhow::Context;

use super::args::{ClaimArgs, ReleaseArgs};
use super::usage::usage;
use super::{CommandContext, render};
use crate::db::lock_key::YearMonth;
use crate::duration_text;
use crate::model::claim::{ClaimParams, YearRange};
use crate::model::months;
use crate::model::release::{Method, Outcome, Released, holder_plans};
use crate::model::reset::ResetReport;
use crate::{ops, present};

/// The longest `--lock-timeout` a claim may wait for held months.
pub const MAX_LOCK_WAIT: std::time::Duration = std::time::Duration::from_secs(600);

pub async fn claim(ctx: &CommandContext, args: ClaimArgs) -> anyhow::Result<i32> {
    let base = match &args.months {
        Some(list) => {
            let listed = months::parse_list(list).map_err(|e| usage(format!("--months: {e}")))?;
            ClaimParams::for_months(listed).map_err(|e| usage(format!("--months: {e}")))?
        }
        None => ClaimParams {
            batch_size: args.batch,
            years: YearRange::parse(&args.years).map_err(usage)?,
            ..ClaimParams::default()
        },
    };
    let params = ClaimParams {
        force_retry: args.force_retry,
        dry_run: args.dry_run,
        lock_wait: duration_text::parse_flag(
            "--lock-timeout",
            &args.lock_timeout,
            std::time::Duration::ZERO,
            MAX_LOCK_WAIT,
            "a claim keeps its transaction, and the months it already locked, open while it waits (holding back vacuum); use 10m or less",
        )
        .map_err(usage)?,
        ..base
    };
    params.validate().map_err(|e| usage(format!("--batch: {e}")))?;
    if !params.dry_run {
        ctx.refuse_if_read_only("claim (use --dry-run to look without changing anything)")?;
    }
    let mut session = ctx.connect_checked().await?;
    let report = ops::claim::run(&mut session, &params, &ctx.actor).await?;
    if args.json {
        render::json(&report)?;
        return Ok(0);
    }
    render::result_lines(&present::claim::result(&report));
    Ok(0)
}

pub async fn release(ctx: &CommandContext, args: ReleaseArgs) -> anyhow::Result<i32> {
    ctx.refuse_if_read_only("release")?;
    let session = ctx.connect_checked().await?;
    let (snap, assessment) = super::inspect::read_on(ctx, &session, false).await?;
    let plans = match args.pid {
        Some(pid) => {
            let found = holder_plans(&snap, &assessment, |i| snap.locks[i].pid == Some(pid));
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
        None => holder_plans(&snap, &assessment, |i| assessment.locks[i].is_stuck()),
    };
    if plans.is_empty() {
        if args.json {
            render::json(&serde_json::json!({ "released": [], "refused": [] }))?;
        } else {
            outln!("no stuck month lock to release");
        }
        return Ok(0);
    }
    let method = if args.cancel { Method::Cancel } else { Method::Terminate };
    if !ctx.confirm(&present::plan_text(&present::release::plan(&plans, method)), args.yes)? {
        outln!("nothing done");
        return Ok(1);
    }
    let direct = ctx.connect_direct().await?;
    let acting = ops::release::acting(&session, direct.as_ref());
    // One JSON shape whatever happened: {"released": [...], "refused": [...]}.
    let (mut released, mut refused) = (Vec::new(), Vec::new());
    let holders: Vec<_> = plans.iter().map(|p| p.holder()).collect();
    let outcomes = ops::release::run(acting, &ctx.actor, &holders, method, &release_reason(&plans)).await?;
    let mut still_held = 0;
    for (holder, Released { target, outcome }) in holders.iter().zip(outcomes) {
        still_held += usize::from(outcome == Outcome::Done { lock_released: false });
        if !args.json {
            outln!("{}", present::release::result(&target, method, &outcome));
        }
        let entry = serde_json::json!({ "pid": target.pid, "months": holder.months, "outcome": outcome });
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

/// The audit row's reason for releasing `plans`: why each is stuck, once each.
fn release_reason(plans: &[crate::model::release::HolderPlan]) -> String {
    let mut reasons: Vec<&str> = Vec::new();
    for r in plans.iter().flat_map(|p| &p.reasons) {
        if !reasons.contains(&r.as_str()) {
            reasons.push(r);
        }
    }
    if reasons.is_empty() { "operator request".to_string() } else { reasons.join("; ") }
}

/// `reset-stuck`'s switches.
pub struct ResetFlags {
    pub dry_run: bool,
    pub yes: bool,
    pub json: bool,
}

pub async fn reset_stuck(ctx: &CommandContext, older_than: &str, flags: ResetFlags) -> anyhow::Result<i32> {
    let ResetFlags { dry_run, yes, json } = flags;
    if dry_run {
        ctx.refuse_dry_run_if_read_only("reset-stuck")?;
    } else {
        ctx.refuse_if_read_only("reset-stuck")?;
    }
    let older_than = duration_text::parse_flag(
        "--older-than",
        older_than,
        std::time::Duration::ZERO,
        duration_text::MAX,
        "no month has been processing that long",
    )
    .map_err(usage)?;
    let mut session = ctx.connect_checked().await?;
    let stuck = ops::reset::stuck(&session, older_than).await?;
    if stuck.is_empty() {
        if json {
            render::json(&ResetReport { dry_run, ..Default::default() })?;
        } else {
            outln!("no month has been processing for over {}", duration_text::format(older_than));
        }
        return Ok(0);
    }
    let months: Vec<YearMonth> = stuck.iter().map(|m| m.month).collect();
    // The plan is the routine itself, rolled back: month by month what the reset will do.
    let found = ops::reset::run(&mut session, &ctx.actor, older_than, &months, true).await.context("reset-stuck")?;
    let plan = present::reset::plan(older_than, &stuck, chrono::Utc::now(), Some(&found));
    if dry_run {
        if json {
            render::json(&found)?;
        } else {
            outln!("DRY RUN (nothing was changed):\n{}", present::plan_text(&plan));
        }
        return Ok(0);
    }
    if !ctx.confirm(&present::plan_text(&plan), yes)? {
        outln!("nothing done");
        return Ok(1);
    }
    let report = ops::reset::run(&mut session, &ctx.actor, older_than, &months, false).await.context("reset-stuck")?;
    if json {
        render::json(&report)?;
    } else {
        render::result_lines(&present::reset::result(&report));
    }
    // Non-zero when a stuck month was not acted on (its lock held, its message still queued,
    // or it changed meanwhile).
    let left_alone =
        !report.skipped_locked.is_empty() || !report.skipped_changed.is_empty() || !report.skipped_queued.is_empty();
    Ok(i32::from(left_alone))
}
