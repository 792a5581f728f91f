//! `dead list | redrive | purge`: the dead-letter table from the command line.

use std::time::Duration;

use tokio::signal::unix::{SignalKind, signal};

use super::output::outln;

use super::args::{DeadCommand, DeadSelection};
use super::usage::usage;
use super::{CommandContext, render};
use crate::model::dead::Which;
use crate::model::dead::pacing;
use crate::ops;
use crate::ops::dead::{self, RedriveRequest};
use crate::present;
use crate::text::{clip, sanitize};

pub async fn run(ctx: &CommandContext, command: DeadCommand) -> anyhow::Result<i32> {
    if ctx.config.queue_depth_query.is_some() {
        anyhow::bail!(
            "this deployment's queue is not the backfill_queue table (queue_depth_query is set): the dead-letter commands work on backfill_queue_dead only"
        );
    }
    match command {
        DeadCommand::List { reason, limit, json } => list(ctx, reason.as_deref(), limit, json).await,
        DeadCommand::Redrive { which, rate, force, dry_run, yes, json } => {
            redrive(ctx, &which, rate.as_deref(), force, dry_run, yes, json).await
        }
        DeadCommand::Purge { which, yes, json } => purge(ctx, &which, yes, json).await,
    }
}

async fn list(ctx: &CommandContext, reason: Option<&str>, limit: i64, json: bool) -> anyhow::Result<i32> {
    if !(1..=10_000).contains(&limit) {
        return Err(usage(format!("--limit {limit}: between 1 and 10000")));
    }
    let session = ctx.connect_checked().await?;
    let letters = dead::list(&session, reason, limit).await?;
    if json {
        render::json(&letters)?;
        return Ok(0);
    }
    let reasons: Vec<_> = letters.reasons.iter().filter(|r| reason.is_none_or(|want| want == r.reason)).collect();
    if reasons.is_empty() {
        outln!("no dead letter{}", reason.map_or(String::new(), |r| format!(" with the reason `{}`", clip(r, 60))));
        return Ok(0);
    }
    for group in reasons {
        outln!("{:>7}  {}", group.count, sanitize(&group.reason));
        for m in letters.messages_of(&group.reason) {
            let month = m.month.map_or("-".into(), |m| m.to_string());
            let status = m.month_status.as_ref().map_or("not in backfill_log".into(), |s| sanitize(s.as_str()));
            outln!(
                "         msg {}  month {month} ({status})  delivered {}×  dead {}",
                m.msg_id,
                m.read_count,
                m.dead_at.format("%Y-%m-%d %H:%M:%S")
            );
        }
    }
    let listed = letters.messages.len() as i64;
    let of = reason.map_or(letters.total, |r| letters.reasons.iter().find(|g| g.reason == r).map_or(0, |g| g.count));
    if listed < of {
        outln!("the newest {listed} of {of} dead letter(s) are listed; --limit N lists more (up to 10000)");
    }
    Ok(0)
}

/// What the flags choose, checked before anything is connected to.
fn selection(which: &DeadSelection) -> anyhow::Result<Which> {
    Ok(match (&which.ids, &which.reason) {
        (Some(list), _) => Which::Ids(parse_ids(list).map_err(|e| usage(format!("--ids: {e}")))?),
        (None, Some(reason)) => Which::Reason(reason.clone()),
        (None, None) => Which::All,
    })
}

/// The ids a selection names (ids only: no payload is read), and how it was chosen (for
/// the audit rows).
async fn chosen(session: &crate::db::connect::Session, which: Which) -> anyhow::Result<(Vec<i64>, String)> {
    if let Which::Ids(ids) = which {
        let selection = format!("--ids {}", dead::compact_ids(&ids));
        return Ok((ids, selection));
    }
    let reason = match &which {
        Which::Reason(r) => Some(r.as_str()),
        _ => None,
    };
    let ids = dead::ids(session, &which, None).await?;
    if ids.is_empty() {
        match reason {
            Some(r) => anyhow::bail!(
                "--reason: no dead letter has the reason `{}`; `backfill-console dead list` shows the reasons",
                clip(r, 60)
            ),
            None => anyhow::bail!("--all: the dead-letter table is empty; nothing to do"),
        }
    }
    let selection = reason.map_or_else(|| "--all".to_string(), |r| format!("--reason {r}"));
    Ok((ids, selection))
}

/// `1,2,5..9`: message ids, ranges inclusive.
pub fn parse_ids(text: &str) -> Result<Vec<i64>, String> {
    const MAX_IDS: i64 = 1_000_000;
    let mut ids = Vec::new();
    let mut named: i64 = 0;
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
        // Counted over every part, before any is expanded.
        named = named.saturating_add(b - a + 1);
        if named > MAX_IDS {
            return Err(format!("the list names more than a million messages (at `{part}`); redrive in parts"));
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
    let per_minute = rate.map(parse_rate).transpose().map_err(usage)?;
    let which = selection(which)?;
    if dry_run {
        ctx.refuse_dry_run_if_read_only("dead redrive")?;
    } else {
        ctx.refuse_if_read_only("dead redrive")?;
    }
    let mut session = ctx.connect_checked().await?;
    let (ids, selection) = chosen(&session, which).await?;
    let (chunk, pause) = pacing(per_minute);
    let (_stop, mut quiet) = ops::Control::none();
    let mut request =
        RedriveRequest { ids: &ids, force, dry_run: true, chunk, pause: Duration::ZERO, selection: &selection };
    // The plan is a dry run of the very routine that will act.
    let plan = dead::redrive(&mut session, &ctx.actor, &request, &mut quiet).await?;
    if dry_run || plan.moved.is_empty() {
        render::report(&plan, json, &present::dead::redrive_result(&plan))?;
        return Ok(i32::from(!dry_run));
    }
    if !ctx.confirm(&present::plan_text(&present::dead::redrive_plan(&plan, chunk, pause)), yes)? {
        outln!("nothing done");
        return Ok(1);
    }
    // Ctrl-C, SIGTERM or SIGHUP stops between chunks: what was committed stays, audited,
    // and is reported like any other end.
    let (stop, cancel) = tokio::sync::watch::channel(false);
    let mut signals = Vec::new();
    for kind in [SignalKind::interrupt(), SignalKind::terminate(), SignalKind::hangup()] {
        signals.push(signal(kind)?);
    }
    tokio::spawn(async move {
        let waits = signals.iter_mut().map(|s| Box::pin(s.recv()));
        let _ = futures_util::future::select_all(waits).await;
        let _ = stop.send(true);
    });
    request.dry_run = false;
    request.pause = pause;
    let progress: Box<dyn FnMut(String) + Send> =
        if json { Box::new(|_| {}) } else { Box::new(|line| eprintln!("  {line}")) };
    let mut control = ops::Control { cancel, progress };
    let report = dead::redrive(&mut session, &ctx.actor, &request, &mut control).await?;
    // Stopped by a lost link mid-way: what the committed chunks did is said (in JSON too),
    // with the error, and the exit status says it did not finish.
    render::report(&report, json, &present::dead::redrive_result(&report))?;
    if let Some(error) = &report.error {
        anyhow::bail!(
            "the redrive stopped: {error}; the {} chunk(s) before it were committed (see above and the audit table)",
            report.chunks
        );
    }
    Ok(i32::from(report.stopped || !report.skipped.is_empty()))
}

async fn purge(ctx: &CommandContext, which: &DeadSelection, yes: bool, json: bool) -> anyhow::Result<i32> {
    ctx.refuse_if_read_only("dead purge")?;
    let which = selection(which)?;
    let mut session = ctx.connect_checked().await?;
    let (ids, selection) = chosen(&session, which).await?;
    if !ctx.confirm(&present::plan_text(&present::dead::purge_plan(ids.len(), &dead::compact_ids(&ids))), yes)? {
        outln!("nothing done");
        return Ok(1);
    }
    let report = dead::purge(&mut session, &ctx.actor, &Which::Ids(ids), None, &selection).await?;
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
        // The cap counts every part: two ranges just under a million each are refused.
        assert!(parse_ids("1..999999,1000001..1999999").unwrap_err().contains("more than a million"));
        assert_eq!(parse_ids("1..1000000").unwrap().len(), 1_000_000);
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
