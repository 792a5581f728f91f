//! `dead list | redrive | purge`: the dead-letter table from the command line.

use std::time::Duration;

use super::output::outln;

use super::args::{DeadCommand, DeadSelection};
use super::{CommandContext, confirm, render};
use crate::db::dead::{self, RedriveRequest};
use crate::model::dead::{by_reason, pacing, reason_of};
use crate::present;
use crate::text::{clip, sanitize};

pub async fn run(ctx: &CommandContext, command: DeadCommand) -> anyhow::Result<i32> {
    if ctx.config.queue_depth_query.is_some() {
        anyhow::bail!(
            "this deployment's queue is not the backfill_queue table (queue_depth_query is set): the dead-letter commands work on backfill_queue_dead only"
        );
    }
    match command {
        DeadCommand::List { reason, json } => list(ctx, reason.as_deref(), json).await,
        DeadCommand::Redrive { which, rate, force, dry_run, yes, json } => {
            redrive(ctx, &which, rate.as_deref(), force, dry_run, yes, json).await
        }
        DeadCommand::Purge { which, yes, json } => purge(ctx, &which, yes, json).await,
    }
}

async fn list(ctx: &CommandContext, reason: Option<&str>, json: bool) -> anyhow::Result<i32> {
    let session = ctx.connect_checked().await?;
    let messages = dead::list(&session.client, reason).await?;
    if json {
        let reasons = by_reason(&messages);
        render::json(&serde_json::json!({ "reasons": reasons, "messages": messages }))?;
        return Ok(0);
    }
    if messages.is_empty() {
        outln!("no dead letter{}", reason.map_or(String::new(), |r| format!(" with the reason `{}`", clip(r, 60))));
        return Ok(0);
    }
    for group in by_reason(&messages) {
        outln!("{:>5}  {}", group.count, sanitize(&group.reason));
        for m in messages.iter().filter(|m| reason_of(m) == group.reason) {
            let month = m.month.map_or("-".into(), |m| m.to_string());
            let status = m.month_status.as_ref().map_or("not in backfill_log".into(), |s| sanitize(s.as_str()));
            outln!(
                "       msg {}  month {month} ({status})  reads {}  dead {}",
                m.msg_id,
                m.read_count,
                m.dead_at.format("%Y-%m-%d %H:%M:%S")
            );
        }
    }
    Ok(0)
}

/// The ids a selection names, and how it was chosen (for the audit rows).
async fn chosen(client: &tokio_postgres::Client, which: &DeadSelection) -> anyhow::Result<(Vec<i64>, String)> {
    if let Some(list) = &which.ids {
        let ids = parse_ids(list).map_err(|e| anyhow::anyhow!("--ids: {e}"))?;
        let selection = format!("--ids {}", dead::compact_ids(&ids));
        return Ok((ids, selection));
    }
    let reason = which.reason.as_deref();
    let messages = dead::list(client, reason).await?;
    if messages.is_empty() {
        match reason {
            Some(r) => anyhow::bail!(
                "--reason: no dead letter has the reason `{}`; `backfill-console dead list` shows the reasons",
                clip(r, 60)
            ),
            None => anyhow::bail!("--all: the dead-letter table is empty; nothing to do"),
        }
    }
    let selection = reason.map_or_else(|| "--all".to_string(), |r| format!("--reason {r}"));
    Ok((messages.iter().map(|m| m.msg_id).collect(), selection))
}

/// `1,2,5..9`: message ids, ranges inclusive.
pub fn parse_ids(text: &str) -> Result<Vec<i64>, String> {
    let mut ids = Vec::new();
    for part in text.split(',').map(str::trim).filter(|p| !p.is_empty()) {
        let id = |s: &str| {
            s.trim().parse::<i64>().ok().filter(|n| *n > 0).ok_or_else(|| format!("`{s}` is not a message id"))
        };
        let (a, b) = match part.split_once("..") {
            Some((a, b)) => (id(a)?, id(b)?),
            None => (id(part)?, id(part)?),
        };
        if a > b {
            return Err(format!("`{part}`: the range runs backwards; write {b}..{a}"));
        }
        if b - a >= 1_000_000 || ids.len() > 1_000_000 {
            return Err(format!("`{part}` names more than a million messages"));
        }
        ids.extend(a..=b);
    }
    ids.sort_unstable();
    ids.dedup();
    if ids.is_empty() {
        return Err("no message id given: write e.g. 1,2,5..9".into());
    }
    Ok(ids)
}

/// `60/min`, `2/s`, `600/h`: messages a minute.
pub fn parse_rate(text: &str) -> Result<f64, String> {
    let bad = || format!("--rate `{text}`: write messages per unit, e.g. 60/min, 2/s or 600/h");
    let (n, unit) = text.trim().split_once('/').ok_or_else(bad)?;
    let n: f64 = n.trim().parse().map_err(|_| bad())?;
    let per_minute = match unit.trim() {
        "s" | "sec" | "second" => n * 60.0,
        "min" | "m" | "minute" => n,
        "h" | "hour" => n / 60.0,
        _ => return Err(bad()),
    };
    if !per_minute.is_finite() || !(1.0..=600_000.0).contains(&per_minute) {
        return Err(format!("--rate `{text}`: between 1/min and 10000/s"));
    }
    Ok(per_minute)
}

async fn redrive(
    ctx: &CommandContext,
    which: &DeadSelection,
    rate: Option<&str>,
    force: bool,
    dry_run: bool,
    yes: bool,
    json: bool,
) -> anyhow::Result<i32> {
    let per_minute = rate.map(parse_rate).transpose().map_err(anyhow::Error::msg)?;
    if dry_run {
        ctx.refuse_dry_run_if_read_only("dead redrive")?;
    } else {
        ctx.refuse_if_read_only("dead redrive")?;
    }
    let mut session = ctx.connect_checked().await?;
    let (ids, selection) = chosen(&session.client, which).await?;
    let (chunk, pause) = pacing(per_minute);
    let local = session.per_transaction.clone();
    let (_stop, mut never) = tokio::sync::watch::channel(false);
    let mut request =
        RedriveRequest { ids: &ids, force, dry_run: true, chunk, pause: Duration::ZERO, selection: &selection };
    // The plan is a dry run of the very routine that will act.
    let plan =
        dead::redrive(&mut session.client, local.as_deref(), &ctx.actor, &request, &mut never, &mut |_| {}).await?;
    if dry_run || plan.moved.is_empty() {
        render::report(&plan, json, &present::dead::redrive_result(&plan))?;
        return Ok(i32::from(!dry_run));
    }
    if !confirm::ask(&present::plan_text(&present::dead::redrive_plan(&plan, chunk, pause)), yes)? {
        outln!("nothing done");
        return Ok(1);
    }
    // Ctrl-C (or SIGTERM) stops between chunks: what was committed stays, audited.
    let (stop, mut cancel) = tokio::sync::watch::channel(false);
    tokio::spawn(async move {
        let _ = tokio::signal::ctrl_c().await;
        let _ = stop.send(true);
    });
    request.dry_run = false;
    request.pause = pause;
    let total = ids.len();
    let mut progress = |r: &crate::model::dead::RedriveReport| {
        if !json {
            eprintln!("  chunk {}: moved {} of {total}", r.chunks, r.moved.len());
        }
    };
    let report =
        dead::redrive(&mut session.client, local.as_deref(), &ctx.actor, &request, &mut cancel, &mut progress).await?;
    render::report(&report, json, &present::dead::redrive_result(&report))?;
    Ok(i32::from(report.stopped || !report.skipped.is_empty()))
}

async fn purge(ctx: &CommandContext, which: &DeadSelection, yes: bool, json: bool) -> anyhow::Result<i32> {
    ctx.refuse_if_read_only("dead purge")?;
    let mut session = ctx.connect_checked().await?;
    let (ids, selection) = chosen(&session.client, which).await?;
    if !confirm::ask(&present::plan_text(&present::dead::purge_plan(&ids)), yes)? {
        outln!("nothing done");
        return Ok(1);
    }
    let local = session.per_transaction.clone();
    let report = dead::purge(&mut session.client, local.as_deref(), &ctx.actor, &ids, &selection).await?;
    render::report(&report, json, &present::dead::purge_result(&report))?;
    Ok(i32::from(!report.gone.is_empty()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_and_rates() {
        assert_eq!(parse_ids("5, 1..3,2").unwrap(), [1, 2, 3, 5]);
        assert!(parse_ids("").unwrap_err().contains("no message id"));
        assert!(parse_ids("x").unwrap_err().contains("`x` is not a message id"));
        assert!(parse_ids("0").unwrap_err().contains("`0` is not"));
        assert!(parse_ids("9..3").unwrap_err().contains("write 3..9"));
        assert_eq!(parse_rate("60/min").unwrap(), 60.0);
        assert_eq!(parse_rate("2/s").unwrap(), 120.0);
        assert_eq!(parse_rate("600/h").unwrap(), 10.0);
        assert!(parse_rate("fast").unwrap_err().contains("e.g. 60/min"));
        assert!(parse_rate("0/min").unwrap_err().contains("between"));
        assert_eq!(pacing(Some(120.0)), (2, Duration::from_secs(1)));
        assert_eq!(pacing(Some(30.0)), (1, Duration::from_secs(2)));
        assert_eq!(pacing(None), (crate::model::dead::CHUNK, Duration::ZERO));
    }
}
