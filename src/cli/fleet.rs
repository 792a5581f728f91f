//! `fleet [--json] [--problems] [--timeout 10s]`: every context of the config read at
//! once, a row each, and the worst level as the exit status (the monitoring-plugin
//! convention, as `check`).

use super::output::outln;
use super::{CommandContext, render, usage};
use crate::model::fleet::{FleetRow, worst};
use crate::ops::fleet::{Member, read_all};

/// `serve`: every context (or the one database given) behind /metrics.
pub async fn serve(ctx: &CommandContext, listen: &str, min_interval: &str, timeout: &str) -> anyhow::Result<i32> {
    use std::time::Duration;
    let listen: std::net::SocketAddr = listen.parse().map_err(|_| {
        usage::usage(format!("--listen `{listen}` is not an address: write HOST:PORT, e.g. 127.0.0.1:9187"))
    })?;
    let flag = |name: &str, text: &str, max: u64, why: &str| {
        crate::duration_text::parse_flag(name, text, Duration::from_secs(1), Duration::from_secs(max), why)
            .map_err(usage::usage)
    };
    let min_interval = flag("--min-interval", min_interval, 600, "a scrape interval longer than that is stale")?;
    let timeout = flag("--timeout", timeout, 300, "a scrape must answer within its own timeout")?;
    let mut members = Vec::new();
    if ctx.config.contexts.is_empty() || ctx.global.database_url.is_some() {
        // The one database given (or the usual environment): labelled by its name.
        let env = |key: &str| std::env::var(key).ok();
        let settings = crate::db::connect::resolve(ctx.database_url(), &env)?;
        let name = ctx.context.as_ref().map_or_else(|| settings.dbname.clone(), |c| c.name.clone());
        members.push(Member {
            name,
            settings,
            thresholds: ctx.config.thresholds.clone(),
            queue_depth_query: ctx.config.queue_depth_query.clone(),
            pooler: ctx.config.pooler,
        });
    } else {
        members = crate::contexts::members(&ctx.config)?;
    }
    let count = members.len();
    let options = crate::serve::ServeOptions { listen, min_interval, timeout, members };
    crate::serve::serve(options, |addr| {
        use std::io::Write;
        let _ = writeln!(std::io::stderr(), "serving http://{addr}/metrics for {count} database(s); Ctrl-C stops");
    })
    .await?;
    Ok(0)
}

pub async fn fleet(ctx: &CommandContext, json: bool, problems: bool, timeout: &str) -> anyhow::Result<i32> {
    let deadline = crate::duration_text::parse_flag(
        "--timeout",
        timeout,
        std::time::Duration::from_secs(1),
        std::time::Duration::from_secs(600),
        "each context's read (connecting included) should answer within minutes",
    )
    .map_err(usage::usage)?;
    if ctx.config.contexts.is_empty() {
        anyhow::bail!("the config file names no context: fleet reads every [contexts.NAME] (see the README)");
    }
    let members = crate::contexts::members(&ctx.config)?;
    let rows = read_all(members, deadline).await;
    let level = worst(&rows);
    let shown: Vec<&FleetRow> = rows.iter().filter(|r| !(problems && r.healthy())).collect();
    if json {
        render::json(&serde_json::json!({ "level": level, "contexts": shown }))?;
    } else {
        print(&shown, rows.len());
    }
    Ok(level.exit_code())
}

fn print(rows: &[&FleetRow], total: usize) {
    let width = rows.iter().map(|r| r.context.chars().count()).max().unwrap_or(7).max(7);
    outln!("{}", crate::present::fleet::header(width).to_uppercase());
    for r in rows {
        outln!("{}", crate::present::fleet::line(r, &r.context, width));
    }
    if rows.len() < total {
        outln!("({} healthy context(s) hidden)", total - rows.len());
    }
}
