//! The incident commands: `errors` (failures by cause) and `retry` (failed months back to retry).

use super::output::outln;
use super::usage::usage;

use super::args::RetryArgs;
use super::{CommandContext, render};
use crate::model::causes::{Cause, causes};
use crate::model::lock_key::YearMonth;
use crate::model::retry::RetryReport;
use crate::model::{Status, months};
use crate::ops;
use crate::present;
use crate::text::{clip, sanitize};

#[derive(serde::Serialize)]
struct ErrorsDoc<'a> {
    causes: &'a [Cause],
}

pub async fn errors(ctx: &CommandContext, json: bool) -> anyhow::Result<i32> {
    let (snap, _) = super::inspect::read(ctx, false).await?;
    let all = causes(&snap.months);
    if json {
        render::json(&ErrorsDoc { causes: &all })?;
        return Ok(0);
    }
    if all.is_empty() {
        outln!("no failed or retry month");
        return Ok(0);
    }
    for cause in &all {
        let statuses: Vec<String> =
            cause.statuses.iter().map(|(s, n)| format!("{n} {}", sanitize(s.as_str()))).collect();
        outln!("{:>5}  {}", cause.count, sanitize(&cause.signature));
        outln!(
            "       {} · {} at the retry cap · months {}",
            statuses.join(", "),
            cause.at_retry_cap,
            clip(&cause.month_ranges(), 90)
        );
        let seen =
            |t: Option<chrono::DateTime<chrono::Utc>>| t.map_or("-".into(), |t| t.format("%Y-%m-%d %H:%M").to_string());
        outln!("       first seen {} · last seen {}", seen(cause.first_seen), seen(cause.last_seen));
        outln!("       e.g. {}", clip(&cause.example, 110));
    }
    Ok(0)
}

/// The months `retry` was asked for, and how they were chosen (for the audit row).
async fn chosen(ctx: &CommandContext, args: &RetryArgs) -> anyhow::Result<(Vec<YearMonth>, String)> {
    if let Some(list) = &args.months {
        let listed = months::parse_list(list).map_err(|e| usage(format!("--months: {e}")))?;
        let selection = format!("--months {}", months::compact(&listed));
        return Ok((listed, selection));
    }
    let (snap, _) = super::inspect::read(ctx, false).await?;
    if let Some(signature) = &args.cause {
        let all = causes(&snap.months);
        let cause = all.iter().find(|c| c.signature == signature.trim()).ok_or_else(|| {
            anyhow::anyhow!(
                "--cause: no failed or retry month has the cause `{}`; `backfill-console errors` lists the causes",
                clip(signature, 80)
            )
        })?;
        return Ok((cause.months.clone(), format!("--cause {}", cause.signature)));
    }
    let failed: Vec<YearMonth> =
        snap.months.iter().filter(|m| m.status == Status::Failed).filter_map(|m| m.year_month()).collect();
    if failed.is_empty() {
        anyhow::bail!("--all-failed: no month is failed; nothing to retry");
    }
    Ok((failed, "--all-failed".into()))
}

pub async fn retry(ctx: &CommandContext, args: RetryArgs) -> anyhow::Result<i32> {
    if args.dry_run {
        ctx.refuse_dry_run_if_read_only("retry")?;
    } else {
        ctx.refuse_if_read_only("retry")?;
    }
    let (months, selection) = chosen(ctx, &args).await?;
    let mut session = ctx.connect_checked().await?;
    let mut request = ops::retry::RetryRequest {
        months: &months,
        reset_count: args.reset_count,
        dry_run: true,
        selection: &selection,
    };
    // The plan is a dry run of the very routine that will act.
    let plan = ops::retry::run(&mut session, &ctx.actor, &request).await?;
    if args.dry_run {
        print(&plan, args.json)?;
        return Ok(0);
    }
    if plan.retried.is_empty() {
        print(&plan, args.json)?;
        return Ok(1);
    }
    if !ctx.confirm(&present::plan_text(&present::retry::plan(&plan)), args.yes)? {
        outln!("nothing done");
        return Ok(1);
    }
    request.dry_run = false;
    let report = ops::retry::run(&mut session, &ctx.actor, &request).await?;
    print(&report, args.json)?;
    // Non-zero when a chosen month was left alone.
    Ok(i32::from(!report.skipped.is_empty()))
}

fn print(report: &RetryReport, json: bool) -> anyhow::Result<()> {
    render::report(report, json, &present::retry::result(report))
}

pub async fn audit(
    ctx: &CommandContext,
    since: &str,
    month: Option<&str>,
    limit: i64,
    json: bool,
) -> anyhow::Result<i32> {
    let since = crate::duration_text::parse_flag(
        "--since",
        since,
        std::time::Duration::from_secs(1),
        crate::duration_text::MAX,
        "the audit table keeps everything; ask for a shorter window",
    )
    .map_err(usage)?;
    let month = month
        .map(|m| {
            YearMonth::parse(m).ok_or_else(|| {
                usage(format!("--month `{}` is not a month: write YYYY-MM between 1900-01 and 2100-12", clip(m, 20)))
            })
        })
        .transpose()?;
    if !(1..=10_000).contains(&limit) {
        return Err(usage(format!("--limit {limit} is outside 1..10000")));
    }
    let session = ctx.connect_checked().await?;
    let rows = crate::db::audit::read(&session.client, since, month, limit).await?;
    if json {
        return render::json(&serde_json::json!({ "rows": rows })).map(|()| 0);
    }
    if rows.is_empty() {
        outln!("no audit row in that window");
    }
    for row in &rows {
        outln!(
            "{}  {:<18} {}  {}",
            row.at.format("%Y-%m-%d %H:%M:%S"),
            sanitize(&row.action),
            sanitize(&row.what()),
            sanitize(&row.who())
        );
        outln!("    {}", clip(&row.outcome, 150));
    }
    Ok(0)
}
