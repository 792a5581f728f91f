//! The headless commands: each a few lines over the library.

mod act;
pub mod args;
mod confirm;
mod contexts;
mod dead;
mod fleet;
mod incident;
mod inspect;
pub mod output;
mod render;
pub mod usage;

use output::outln;

use std::io::Write;

use anyhow::Context;

pub use args::{Cli, Command};

use crate::db::audit::Actor;
use crate::db::connect::{self, Session, SessionOptions};
use crate::db::lock_key::YearMonth;
use crate::db::{migrate, seed};

/// What every command needs: where to connect, how, and who is acting.
pub struct CommandContext {
    pub global: args::GlobalArgs,
    pub actor: Actor,
    pub config: crate::config::Config,
    /// The context the command runs in (`--context`, `BACKFILL_CONTEXT`, `default_context`).
    pub context: Option<crate::contexts::Active>,
}

impl CommandContext {
    pub async fn connect(&self) -> anyhow::Result<Session> {
        let pooler = self.config.pooler;
        self.connect_with(SessionOptions { read_only: self.read_only(), pooler, ..SessionOptions::default() }).await
    }

    async fn connect_with(&self, options: SessionOptions) -> anyhow::Result<Session> {
        let env = |key: &str| std::env::var(key).ok();
        let settings = connect::resolve(self.database_url(), &env)?;
        let options = SessionOptions { waiting: Some(queue_notice()), ..options };
        Ok(connect::connect(&settings, &options).await?)
    }

    /// A session over the direct (not pooled) URL, when one is given (`--direct-url`,
    /// else `direct_url` in the config): releases run there. Its password, when the URL
    /// had one, was moved by `main` to `BACKFILL_DIRECT_PASSWORD` (out of `ps`).
    pub async fn connect_direct(&self) -> anyhow::Result<Option<Session>> {
        let Some(settings) = self.direct_settings()? else {
            return Ok(None);
        };
        let options = SessionOptions { pooler: connect::PoolerSetting::None, ..SessionOptions::default() };
        Ok(Some(connect::connect(&settings, &options).await.context("the direct connection (--direct-url)")?))
    }

    /// The direct URL's settings, when one is given.
    pub fn direct_settings(&self) -> anyhow::Result<Option<connect::ConnSettings>> {
        let Some(url) = self.global.direct_url.as_deref().or(self.config.direct_url.as_deref()) else {
            return Ok(None);
        };
        let direct_password = std::env::var("BACKFILL_DIRECT_PASSWORD").ok();
        let env = |key: &str| match key {
            "DATABASE_URL" => None,
            "PGPASSWORD" => direct_password.clone().or_else(|| std::env::var(key).ok()),
            _ => std::env::var(key).ok(),
        };
        Ok(Some(connect::resolve(Some(url), &env).context("--direct-url")?))
    }

    /// Connects and checks the schema is there and not newer than this binary.
    pub async fn connect_checked(&self) -> anyhow::Result<Session> {
        let session = self.connect().await?;
        migrate::check_schema(&session.client).await?;
        Ok(session)
    }

    pub fn refuse_if_read_only(&self, what: &str) -> anyhow::Result<()> {
        if self.read_only() {
            anyhow::bail!("{what} refused: {} (no action is allowed in read-only mode)", self.read_only_reason());
        }
        Ok(())
    }

    /// A dry run that runs the routine itself and rolls it back (retry, reset-stuck, dead
    /// redrive) writes inside its transaction, which a read-only session refuses.
    pub fn refuse_dry_run_if_read_only(&self, what: &str) -> anyhow::Result<()> {
        if self.read_only() {
            anyhow::bail!(
                "{what} --dry-run refused: {}, and this dry run runs the routine itself and rolls it \
                 back, which a read-only session cannot; drop --read-only (a dry run never commits)",
                self.read_only_reason()
            );
        }
        Ok(())
    }
}

/// A line on stderr while a pooler holds the start-up in its queue (after 2 s, then every
/// 10 s): the command is waiting its turn, not hanging on a dead link.
fn queue_notice() -> connect::WaitReport {
    let next = std::sync::atomic::AtomicU64::new(2);
    connect::WaitReport(std::sync::Arc::new(move |waited: std::time::Duration| {
        let secs = waited.as_secs();
        let due = next.load(std::sync::atomic::Ordering::Relaxed);
        if secs >= due {
            next.store(secs.max(due) / 10 * 10 + 10, std::sync::atomic::Ordering::Relaxed);
            let _ = writeln!(
                std::io::stderr(),
                "waiting for a server connection in the pooler's queue for {secs} s (every one is in use)"
            );
        }
    }))
}

/// Runs a headless command; returns the process exit code.
pub async fn run(global: args::GlobalArgs, command: Command) -> i32 {
    let is_check = matches!(command, Command::Check { .. });
    let result = match crate::config::Config::load(global.config.as_deref()) {
        Ok(mut config) => {
            // --ascii beats the file's charset.
            if global.ascii {
                config.charset = crate::config::Charset::Ascii;
            }
            let env = |key: &str| std::env::var(key).ok();
            let choice = crate::contexts::Choice {
                flag: global.context.as_deref(),
                database_url: global.database_url.is_some(),
            };
            match config.choose(choice, &env) {
                Ok((config, context)) => {
                    dispatch(&CommandContext { global, actor: Actor::current(), config, context }, command).await
                }
                // An unknown context is a usage error: nothing ran.
                Err(e) => Err(usage::usage(e.to_string())),
            }
        }
        Err(e) => Err(e.into()),
    };
    let code = match result {
        Ok(code) => code,
        Err(e) => {
            let line = crate::text::sanitize(&error_line(&e));
            if is_check {
                outln!("BACKFILL UNKNOWN - {line}");
                crate::model::Level::Unknown.exit_code()
            } else {
                let _ = writeln!(std::io::stderr(), "error: {line}");
                // A flag's value was wrong (nothing ran): a usage error, as clap's own are.
                if usage::is_usage(&e) { 2 } else { 1 }
            }
        }
    };
    match output::lost() {
        None => code,
        Some(why) => {
            let _ = writeln!(
                std::io::stderr(),
                "error: the output could not be written ({}); the command ran to its end — what it changed is in the audit table (exit status {})",
                crate::db::error::one_line(&why),
                if is_check { 3 } else { output::OUTPUT_LOST }
            );
            if is_check { crate::model::Level::Unknown.exit_code() } else { output::OUTPUT_LOST }
        }
    }
}

/// An error and its causes on one line, each cause once (a cause whose text the
/// message already carries is not repeated).
pub fn error_line(e: &anyhow::Error) -> String {
    let mut line = String::new();
    for cause in e.chain() {
        let text = cause.to_string();
        if !line.contains(&text) {
            if !line.is_empty() {
                line.push_str(": ");
            }
            line.push_str(&text);
        }
    }
    line
}

async fn console(ctx: &CommandContext, watch: bool, bell: bool, record: &args::RecordArgs) -> anyhow::Result<i32> {
    use std::io::IsTerminal;
    if !std::io::stdout().is_terminal() {
        anyhow::bail!("the console needs a terminal; for scripts use `snapshot --json`, `locks` or `check`");
    }
    let max_bytes = args::parse_size(&record.record_max).map_err(usage::usage)?;
    let queries = record.record_queries;
    let record = record.record.clone().map(|path| crate::tui::recorder::RecordOptions { path, max_bytes, queries });
    let env = |key: &str| std::env::var(key).ok();
    // A context switch (`:`) ends this console and starts one on the new context: its
    // own configuration and connection, nothing carried over.
    let mut here = CommandContext {
        global: ctx.global.clone(),
        actor: ctx.actor.clone(),
        config: ctx.config.clone(),
        context: ctx.context.clone(),
    };
    loop {
        let settings = connect::resolve(here.database_url(), &env)?;
        let options = crate::tui::ConsoleOptions {
            settings,
            direct: here.direct_settings()?,
            config: here.config.clone(),
            read_only: here.read_only(),
            watch,
            bell,
            record: record.clone(),
            context: here.context.clone(),
            contexts: contexts::infos(&here.config),
        };
        let ended = crate::tui::run_switching(options).await?;
        let Some(name) = ended.switch_to else { return Ok(ended.code) };
        let choice = crate::contexts::Choice { flag: Some(&name), database_url: false };
        let (config, context) = ctx.config.clone().choose(choice, &env).map_err(|e| usage::usage(e.to_string()))?;
        // The switched-to context's URL, not a --database-url given for the first one.
        here.global.database_url = None;
        here.config = config;
        here.context = context;
    }
}

async fn replay(ctx: &CommandContext, file: &std::path::Path, summary: bool) -> anyhow::Result<i32> {
    use std::io::IsTerminal;
    // Read first: a file that is not a recording is a plain one-line error, not a broken screen.
    let reel = crate::tui::replay::load(file)?;
    if summary {
        let (first, last) = reel.span();
        outln!(
            "{}: {} frame(s) from {} to {} UTC, {} recorded action(s) and event(s), recorded by {} on {}",
            file.display(),
            reel.len(),
            first.format("%Y-%m-%d %H:%M:%S"),
            last.format("%Y-%m-%d %H:%M:%S"),
            reel.actions.len(),
            reel.header.mode.as_str(),
            crate::text::sanitize(&reel.header.target),
        );
        for note in &reel.notes {
            outln!("note: {note}");
        }
        return Ok(0);
    }
    if !std::io::stdout().is_terminal() {
        anyhow::bail!("replay needs a terminal");
    }
    crate::tui::replay::run(reel, file, &ctx.config).await
}

async fn demo(ctx: &CommandContext, args: args::DemoArgs) -> anyhow::Result<i32> {
    use std::io::IsTerminal;
    if !(args.speed > 0.0 && args.speed <= 100.0) {
        return Err(usage::usage(format!("--speed {} is outside (0, 100]; e.g. --speed 10", args.speed)));
    }
    if !(0.0..=1.0).contains(&args.chaos) {
        return Err(usage::usage(format!("--chaos {} is outside 0..1; e.g. --chaos 0.5", args.chaos)));
    }
    if args.schedulers > 50 || args.consumers > 50 {
        return Err(usage::usage("--schedulers and --consumers go up to 50"));
    }
    if !args.no_tui && !std::io::stdout().is_terminal() {
        anyhow::bail!("the demo console needs a terminal; use `demo --no-tui` to run the fleet headless");
    }
    let duration = match &args.duration {
        Some(text) => Some(crate::duration_text::parse(text).map_err(|e| usage::usage(format!("--duration {e}")))?),
        None => None,
    };
    let opts = crate::demo::DemoOptions {
        no_tui: args.no_tui,
        duration,
        read_only: ctx.read_only(),
        fleet: crate::demo::fleet::FleetOptions {
            schedulers: args.schedulers,
            consumers: args.consumers,
            speed: args.speed,
            chaos: args.chaos,
            seed: args.seed,
        },
    };
    crate::demo::run(opts, &ctx.config).await
}

async fn dispatch(ctx: &CommandContext, command: Command) -> anyhow::Result<i32> {
    match command {
        Command::Migrate { json } => {
            ctx.refuse_if_read_only("migrate")?;
            let options =
                SessionOptions { long_statements: true, pooler: ctx.config.pooler, ..SessionOptions::default() };
            let mut s = ctx.connect_with(options).await?;
            let report = migrate::migrate(&mut s.client).await?;
            if json {
                render::json(&report)?;
            } else if report.already_current {
                outln!("schema is current (version {})", report.version);
            } else {
                if let Some(rows) = report.adopted_backfill_log_rows {
                    outln!("adopted the existing backfill_log ({rows} rows) unchanged");
                }
                outln!("applied {} (now version {})", report.applied.join(", "), report.version);
            }
            Ok(0)
        }
        Command::Seed { from, to, json } => {
            ctx.refuse_if_read_only("seed")?;
            let parse = |flag: &str, text: &str| {
                YearMonth::parse(text).ok_or_else(|| {
                    usage::usage(format!("--{flag} `{text}` is not a month; write YYYY-MM between 1900-01 and 2100-12"))
                })
            };
            let (from, to) = (parse("from", &from)?, parse("to", &to)?);
            let mut s = ctx.connect_checked().await?;
            let inserted = seed::seed(&mut s.client, &ctx.actor, from, to).await?;
            if json {
                render::json(&serde_json::json!({ "inserted": inserted, "from": from, "to": to }))?;
            } else {
                outln!("inserted {inserted} missing month(s) from {from} to {to} as pending");
            }
            Ok(0)
        }
        Command::Snapshot { json } => inspect::snapshot(ctx, json).await,
        Command::Locks { json } => inspect::locks(ctx, json).await,
        Command::Contexts { json } => contexts::list(ctx, json),
        Command::Fleet { json, problems, timeout } => fleet::fleet(ctx, json, problems, &timeout).await,
        Command::Serve { listen, min_interval, timeout } => fleet::serve(ctx, &listen, &min_interval, &timeout).await,
        Command::Check { timeout, json } => {
            let limit = crate::duration_text::parse_flag(
                "--timeout",
                &timeout,
                std::time::Duration::from_secs(1),
                std::time::Duration::from_secs(600),
                "a monitoring check should answer within minutes",
            )
            .map_err(usage::usage)?;
            match tokio::time::timeout(limit, inspect::check(ctx, json)).await {
                Ok(result) => result,
                Err(_) => anyhow::bail!(
                    "no answer within --timeout {timeout} (the database or the link to it is too slow or down)"
                ),
            }
        }
        Command::Claim(args) => act::claim(ctx, args).await,
        Command::Release(args) => act::release(ctx, args).await,
        Command::ResetStuck { older_than, dry_run, yes, json } => {
            act::reset_stuck(ctx, &older_than, act::ResetFlags { dry_run, yes, json }).await
        }
        Command::Console { record } => console(ctx, false, false, &record).await,
        Command::Watch { bell, record } => console(ctx, true, bell, &record).await,
        Command::Replay { file, summary } => replay(ctx, &file, summary).await,
        Command::Demo(args) => demo(ctx, args).await,
        Command::Errors { json } => incident::errors(ctx, json).await,
        Command::Retry(args) => incident::retry(ctx, args).await,
        Command::Dead { command } => dead::run(ctx, command).await,
        Command::Audit { since, month, limit, json } => {
            incident::audit(ctx, &since, month.as_deref(), limit, json).await
        }
    }
}
