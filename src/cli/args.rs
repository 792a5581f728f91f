//! The command line (SPEC §5).

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

#[derive(Debug, Parser)]
#[command(name = "backfill-console", version, about = "Operations console for the backfill scheduler")]
pub struct Cli {
    #[command(flatten)]
    pub global: GlobalArgs,
    #[command(subcommand)]
    pub command: Option<Command>,
}

#[derive(Debug, Args, Clone)]
pub struct GlobalArgs {
    /// PostgreSQL URL or key=value DSN [default: $DATABASE_URL, then the PG* environment and ~/.pgpass]
    #[arg(long, global = true, value_name = "URL")]
    pub database_url: Option<String>,
    /// A direct (not pooled) URL to the same database, used for `release` only: a lock
    /// stranded on a pooled server backend may be held by the very backend a pooled
    /// release would run on [default: direct_url in the config]
    #[arg(long, global = true, value_name = "URL")]
    pub direct_url: Option<String>,
    /// The context (a database named in the config file) to work on [default:
    /// $BACKFILL_CONTEXT, else default_context in the config unless DATABASE_URL is set]
    #[arg(long, global = true, value_name = "NAME")]
    pub context: Option<String>,
    /// Read-only: no action is allowed, and the session itself is read-only in PostgreSQL
    #[arg(long, global = true, conflicts_with = "write")]
    pub read_only: bool,
    /// Allow actions on a context whose config says read_only = true
    #[arg(long, global = true)]
    pub write: bool,
    /// On a production context without a terminal: its name, which `--yes` alone does not
    /// give (on a terminal the name is asked for)
    #[arg(long, global = true, value_name = "NAME")]
    pub confirm_context: Option<String>,
    /// Draw the console in plain ASCII (borders, symbols, charts, big digits) whatever the
    /// locale says [default: charset in the config, "auto": the locale's codeset]
    #[arg(long, global = true)]
    pub ascii: bool,
    /// Configuration file [default: $XDG_CONFIG_HOME/backfill-console/config.toml]
    #[arg(long, global = true, value_name = "FILE")]
    pub config: Option<PathBuf>,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// The interactive console (the default)
    Console {
        #[command(flatten)]
        record: RecordArgs,
    },
    /// The read-only wall-monitor layout
    Watch {
        /// Ring the terminal bell when the level turns critical
        #[arg(long)]
        bell: bool,
        #[command(flatten)]
        record: RecordArgs,
    },
    /// Open the console on a recording (`--record FILE`): the same screens, a time line to
    /// move through, every action off
    Replay {
        /// The recording (its earlier part, after a rotation, is FILE.1)
        file: PathBuf,
        /// Print what the recording holds (frames, time span, actions) and exit
        #[arg(long)]
        summary: bool,
    },
    /// Apply the schema in sql/ (idempotent, versioned; adopts an existing backfill_log)
    Migrate {
        #[arg(long)]
        json: bool,
    },
    /// Insert missing months as pending
    Seed {
        /// First month, YYYY-MM
        #[arg(long, value_name = "YYYY-MM")]
        from: String,
        /// Last month, YYYY-MM
        #[arg(long, value_name = "YYYY-MM")]
        to: String,
        #[arg(long)]
        json: bool,
    },
    /// One read of the months summary, lock holders and queue depth
    Snapshot {
        #[arg(long)]
        json: bool,
    },
    /// Run the claim routine once
    Claim(ClaimArgs),
    /// List advisory lock holders, decoded, with stuck reasons
    Locks {
        #[arg(long)]
        json: bool,
    },
    /// Release stuck month locks by ending (or cancelling) the holding backend
    Release(ReleaseArgs),
    /// Return months stuck in processing to retry
    ResetStuck {
        /// Only months processing for longer than this (0s: every month with no live message and
        /// no worker — the reset never takes another, whatever its age)
        #[arg(long, default_value = "1h", value_name = "DURATION")]
        older_than: String,
        /// Show what the reset would do month by month (the routine, rolled back); change nothing
        #[arg(long)]
        dry_run: bool,
        /// Do not ask for confirmation
        #[arg(long)]
        yes: bool,
        #[arg(long)]
        json: bool,
    },
    /// The contexts (databases) the config file names: name, target, read-only, production
    Contexts {
        #[arg(long)]
        json: bool,
    },
    /// Every context at once, a row each (level, verdicts, progress, stuck locks, backlog,
    /// dead letters); exits with the worst level, as check
    Fleet {
        #[arg(long)]
        json: bool,
        /// Only the contexts with a problem (the healthy ones are counted, not listed)
        #[arg(long)]
        problems: bool,
        /// Each context's deadline, connecting included (1s-10m): one that does not
        /// answer in time shows as UNKNOWN and never holds the others
        #[arg(long, default_value = "10s", value_name = "DURATION")]
        timeout: String,
    },
    /// A Prometheus endpoint: GET /metrics for every context (a context label), or the one
    /// database given; read-only sessions, one read per context per --min-interval
    Serve {
        /// Where to listen (loopback unless you say otherwise)
        #[arg(long, default_value = "127.0.0.1:9187", value_name = "ADDR")]
        listen: String,
        /// A read younger than this is served again, however many scrapers ask (1s-10m)
        #[arg(long, default_value = "5s", value_name = "DURATION")]
        min_interval: String,
        /// The most one read may take, connecting included (1s-5m); past it the scrape
        /// gets what is known and backfill_up 0
        #[arg(long, default_value = "5s", value_name = "DURATION")]
        timeout: String,
    },
    /// Health check: exit 0 ok, 1 warning, 2 critical, 3 unknown
    Check {
        /// Answer UNKNOWN (exit 3) when the check has not finished within this long (1s-10m)
        #[arg(long, default_value = "10s", value_name = "DURATION")]
        timeout: String,
        #[arg(long)]
        json: bool,
    },
    /// A throwaway PostgreSQL with seed data and a simulated fleet, with the console on it
    Demo(DemoArgs),
    /// Failed and retry months grouped by normalised error cause
    Errors {
        #[arg(long)]
        json: bool,
    },
    /// Failed months back to retry (the claim routine then takes them), race-safe
    Retry(RetryArgs),
    /// The dead-letter table: list, move back to the queue (redrive), delete (purge)
    Dead {
        #[command(subcommand)]
        command: DeadCommand,
    },
    /// Who did what, when: the audit trail, newest first
    Audit {
        /// Only rows newer than this (e.g. 30m, 1h, 7d)
        #[arg(long, default_value = "24h", value_name = "DURATION")]
        since: String,
        /// Only rows that touched this month (YYYY-MM)
        #[arg(long, value_name = "YYYY-MM")]
        month: Option<String>,
        /// At most this many rows (1-10000)
        #[arg(long, default_value_t = 200, value_name = "N")]
        limit: i64,
        #[arg(long)]
        json: bool,
    },
}

/// The flight recorder of `console` and `watch`.
#[derive(Debug, Args, Clone)]
pub struct RecordArgs {
    /// Append what is seen (snapshots as deltas) and done (every action and its outcome) to FILE
    #[arg(long, value_name = "FILE")]
    pub record: Option<PathBuf>,
    /// Past this size the recording rotates to FILE.1 (so at most twice this on disk): 64MB, 500KB, 1GB
    #[arg(long, value_name = "SIZE", default_value = "64MB")]
    pub record_max: String,
    /// Also keep lock holders' query text in the recording (passwords taken out); by
    /// default no other session's statement is recorded
    #[arg(long, requires = "record")]
    pub record_queries: bool,
}

impl Default for RecordArgs {
    fn default() -> Self {
        Self { record: None, record_max: "64MB".into(), record_queries: false }
    }
}

/// `64MB`, `500KB`, `1GB` or bytes, between 64KB and 100GB.
pub fn parse_size(text: &str) -> Result<u64, String> {
    let t = text.trim();
    let upper = t.to_ascii_uppercase();
    let (number, unit) = match upper.find(|c: char| !c.is_ascii_digit()) {
        Some(i) => (&t[..i], &upper[i..]),
        None => (t, ""),
    };
    let scale: u64 = match unit.trim() {
        "" | "B" => 1,
        "KB" | "K" => 1 << 10,
        "MB" | "M" => 1 << 20,
        "GB" | "G" => 1 << 30,
        _ => return Err(format!("--record-max {text}: not a size; write 64MB, 500KB or 1GB")),
    };
    let n: u64 = number.parse().map_err(|_| format!("--record-max {text}: not a size; write 64MB, 500KB or 1GB"))?;
    let bytes = n.saturating_mul(scale);
    if !(64 << 10..=100 << 30).contains(&bytes) {
        return Err(format!("--record-max {text}: must be between 64KB and 100GB"));
    }
    Ok(bytes)
}

#[derive(Debug, Subcommand)]
pub enum DeadCommand {
    /// Dead letters grouped by reason (every reason counted), the newest messages listed
    List {
        /// Only this reason
        #[arg(long)]
        reason: Option<String>,
        /// List at most this many messages, newest first (1-10000)
        #[arg(long, default_value_t = 200, value_name = "N")]
        limit: i64,
        #[arg(long)]
        json: bool,
    },
    /// Move dead letters back to the queue (ready now, read_count 0), chunk by chunk
    Redrive {
        #[command(flatten)]
        which: DeadSelection,
        /// At most this many messages per unit of time: 60/min, 2/s, 600/h
        #[arg(long, value_name = "N/min")]
        rate: Option<String>,
        /// Also messages whose month is completed since
        #[arg(long)]
        force: bool,
        /// Show what would move and what would be left alone; change nothing
        #[arg(long)]
        dry_run: bool,
        /// Do not ask for confirmation
        #[arg(long)]
        yes: bool,
        #[arg(long)]
        json: bool,
    },
    /// Delete dead letters for good
    Purge {
        #[command(flatten)]
        which: DeadSelection,
        /// Do not ask for confirmation
        #[arg(long)]
        yes: bool,
        #[arg(long)]
        json: bool,
    },
}

/// Which dead letters: all, those of a reason, or by id.
#[derive(Debug, Args)]
#[group(required = true, multiple = false)]
pub struct DeadSelection {
    /// Every dead letter
    #[arg(long)]
    pub all: bool,
    /// Those with this reason (as `dead list` shows it)
    #[arg(long)]
    pub reason: Option<String>,
    /// These message ids: 1,2,5..9
    #[arg(long, value_name = "LIST")]
    pub ids: Option<String>,
}

#[derive(Debug, Args)]
#[command(group(clap::ArgGroup::new("which").required(true).args(["months", "cause", "all_failed"])))]
pub struct RetryArgs {
    /// The months: 2024-03,2024-05..2024-08
    #[arg(long, value_name = "LIST")]
    pub months: Option<String>,
    /// The months of one cause: its signature as `errors` prints it
    #[arg(long, value_name = "SIGNATURE")]
    pub cause: Option<String>,
    /// Every failed month
    #[arg(long)]
    pub all_failed: bool,
    /// Also retry months at the retry cap, setting their retry_count back to 0 (audited as such)
    #[arg(long)]
    pub reset_count: bool,
    /// Show what would be retried and left alone; change nothing
    #[arg(long)]
    pub dry_run: bool,
    /// Do not ask for confirmation
    #[arg(long)]
    pub yes: bool,
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
pub struct ClaimArgs {
    /// Months to claim at most (1-50)
    #[arg(long, default_value_t = 10, value_name = "N", allow_negative_numbers = true)]
    pub batch: i64,
    /// Year range OLDEST..NEWEST
    #[arg(long, default_value = "2000..2024", value_name = "FROM..TO")]
    pub years: String,
    /// Also take failed months with retry_count < 5
    #[arg(long)]
    pub force_retry: bool,
    /// Report the months a claim would take and the locked ones it would pass over; change nothing
    #[arg(long)]
    pub dry_run: bool,
    /// How long to keep trying a held month's lock when the batch would stay short (0 = one try; at most 10m)
    #[arg(long, default_value = "10s", value_name = "DURATION")]
    pub lock_timeout: String,
    /// Only these months (2024-03,2024-05..2024-08; at most 50): the same routine, the same guards
    #[arg(long, value_name = "LIST", conflicts_with_all = ["batch", "years"])]
    pub months: Option<String>,
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
#[command(group(clap::ArgGroup::new("which").required(true).args(["pid", "stuck"])))]
pub struct ReleaseArgs {
    /// The backend holding the month lock(s)
    #[arg(long, value_name = "PID")]
    pub pid: Option<i32>,
    /// Every month lock classified stuck
    #[arg(long)]
    pub stuck: bool,
    /// Cancel the holder's current query instead of ending its session
    #[arg(long)]
    pub cancel: bool,
    /// Do not ask for confirmation
    #[arg(long)]
    pub yes: bool,
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
pub struct DemoArgs {
    /// Run the fleet without the console; print the connection URL for a second terminal
    #[arg(long)]
    pub no_tui: bool,
    /// Stop after this long (e.g. 20s, 5m)
    #[arg(long, value_name = "DURATION")]
    pub duration: Option<String>,
    /// Simulated time runs this many times faster
    #[arg(long, default_value_t = 1.0)]
    pub speed: f64,
    #[arg(long, default_value_t = 3)]
    pub schedulers: usize,
    #[arg(long, default_value_t = 4)]
    pub consumers: usize,
    /// How much goes wrong, 0 (nothing) to 1 (a lot)
    #[arg(long, default_value_t = 0.5)]
    pub chaos: f64,
    /// Seed for the data and the chaos (deterministic)
    #[arg(long, default_value_t = 42)]
    pub seed: u64,
}
