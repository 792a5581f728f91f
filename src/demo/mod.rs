//! `demo`: a throwaway PostgreSQL from the machine's own binaries, the schema,
//! believable data and a simulated fleet — with the console on it, or headless
//! (`--no-tui`) for a second terminal. Everything is torn down on the way out.

pub mod data;
pub mod fleet;

use std::io::Write;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::signal::unix::{SignalKind, signal};

use crate::config::Config;
use crate::db::connect::{self, SessionOptions};
use crate::db::migrate;
use crate::pgserver::{ServerOptions, TempServer};
use fleet::{Fleet, FleetOptions};

pub struct DemoOptions {
    pub no_tui: bool,
    pub duration: Option<Duration>,
    pub fleet: FleetOptions,
    pub read_only: bool,
}

/// Demo thresholds: production's, scaled down so trouble shows within a minute.
pub fn demo_config(base: &Config, speed: f64) -> Config {
    let mut config = base.clone();
    let t = &mut config.thresholds;
    let scale = |d: Duration| d.div_f64(speed.max(0.01));
    t.leaked_after = scale(Duration::from_secs(10));
    // Shorter than the consumers' 30 s visibility timeout: a month whose consumer died
    // shows as stuck before its message comes back.
    t.stuck_month_after = scale(Duration::from_secs(20));
    t.overdue_after = scale(Duration::from_secs(300));
    t.idle_in_transaction_after = scale(Duration::from_secs(60));
    // The demo's consumer stall builds a backlog within a minute or two.
    t.consumer_stall_after = scale(Duration::from_secs(45));
    // A stall of the demo's length (90 s) is STALLED.
    t.stalled_after = scale(Duration::from_secs(60));
    config
}

/// The demo's thresholds as a config file (0600, beside the password file and removed
/// with the demo), so a second console or `watch` on the demo judges by them too.
fn write_thresholds(beside: &std::path::Path, config: &Config) -> anyhow::Result<PathBuf> {
    use std::os::unix::fs::OpenOptionsExt;
    #[derive(serde::Serialize)]
    struct File<'a> {
        thresholds: &'a crate::model::Thresholds,
    }
    let path = beside.with_file_name("demo-config.toml");
    let text = format!(
        "# The demo's thresholds (scaled down so trouble shows within a minute).\n{}",
        toml::to_string(&File { thresholds: &config.thresholds })?
    );
    let mut file = std::fs::OpenOptions::new().write(true).create(true).truncate(true).mode(0o600).open(&path)?;
    file.write_all(text.as_bytes())?;
    Ok(path)
}

/// Where a second terminal connects: a URL without the password, the 0600 password file
/// that carries it, and the demo's thresholds as a config file.
struct Access {
    url: String,
    public_url: String,
    pgpass: PathBuf,
    config: PathBuf,
}

pub async fn run(opts: DemoOptions, base: &Config) -> anyhow::Result<i32> {
    let server = tokio::task::spawn_blocking(|| TempServer::start_with(&ServerOptions::default())).await??;
    let pgpass = server.write_pgpass()?;
    let access = Access {
        url: format!("{}?sslmode=disable", server.url("postgres")),
        public_url: format!("{}?sslmode=disable", server.url_without_password("postgres")),
        config: write_thresholds(&pgpass, &demo_config(base, opts.fleet.speed))?,
        pgpass,
    };
    let server = Arc::new(Mutex::new(server));
    let headless = opts.no_tui;
    let result = tokio::select! {
        result = with_server(&access, opts, base) => result,
        why = postmaster_exit(server.clone()) => Err(anyhow::anyhow!("{why}; the demo stops")),
    };
    // Stop the server off the async threads (it waits for the postmaster).
    let _ = tokio::task::spawn_blocking(move || drop(server)).await;
    if headless && let Ok(code) = &result {
        // Headless, nothing else on the screen says the demo is over and nothing is left.
        println!("demo stopped ({}); its server, password file and thresholds file are removed", ended_by(*code));
    }
    result
}

/// What ended a headless demo, from its exit status.
fn ended_by(code: i32) -> &'static str {
    match code {
        130 => "Ctrl-C",
        143 => "SIGTERM",
        129 => "SIGHUP",
        _ => "its --duration is over",
    }
}

/// Resolves when the demo's postmaster exits under us (killed, crashed).
async fn postmaster_exit(server: Arc<Mutex<TempServer>>) -> String {
    loop {
        tokio::time::sleep(Duration::from_millis(500)).await;
        let exited = match server.lock() {
            Ok(mut server) => server.exited(),
            Err(_) => Some("the demo's server handle was poisoned".to_string()),
        };
        if let Some(why) = exited {
            return crate::db::error::one_line(&why);
        }
    }
}

async fn with_server(access: &Access, opts: DemoOptions, base: &Config) -> anyhow::Result<i32> {
    let settings = connect::resolve(Some(&access.url), &|_| None)?;
    let mut setup = connect::connect(&settings, &SessionOptions::default()).await?;
    migrate::migrate(&mut setup.client).await?;
    data::load(&mut setup.client, opts.fleet.seed).await?;
    drop(setup);
    let speed = opts.fleet.speed;
    let fleet = Fleet::start(settings.clone(), opts.fleet);
    let code = if opts.no_tui {
        headless(access, opts.duration).await?
    } else {
        let console = crate::tui::ConsoleOptions {
            settings,
            direct: None,
            config: demo_config(base, speed),
            read_only: opts.read_only,
            watch: false,
            bell: false,
            record: None,
            context: None,
            contexts: Vec::new(),
        };
        match opts.duration {
            Some(d) => tokio::time::timeout(d, crate::tui::run(console)).await.unwrap_or(Ok(0))?,
            None => crate::tui::run(console).await?,
        }
    };
    fleet.stop().await;
    Ok(code)
}

/// Prints where to connect, then runs until the duration ends or a signal.
async fn headless(access: &Access, duration: Option<Duration>) -> anyhow::Result<i32> {
    let mut out = std::io::stdout();
    let (url, pgpass, config) = (&access.public_url, access.pgpass.display(), access.config.display());
    writeln!(out, "{url}")?;
    writeln!(out, "password file (0600, removed with the demo): {pgpass}")?;
    writeln!(out, "the demo's thresholds (removed with the demo): {config}")?;
    // The binary that is running (after `cargo run` it is not on PATH).
    let exe = std::env::current_exe().map_or_else(|_| "backfill-console".into(), |p| p.display().to_string());
    writeln!(
        out,
        "demo running; in another terminal:  PGPASSFILE='{pgpass}' '{exe}' --config '{config}' --database-url '{url}'  (or: watch)"
    )?;
    writeln!(out, "stop with Ctrl-C")?;
    out.flush()?;
    let mut sigint = signal(SignalKind::interrupt())?;
    let mut sigterm = signal(SignalKind::terminate())?;
    let mut sighup = signal(SignalKind::hangup())?;
    let forever = Duration::from_secs(100 * 365 * 86_400);
    let code = tokio::select! {
        _ = tokio::time::sleep(duration.unwrap_or(forever)) => 0,
        _ = sigint.recv() => 130,
        _ = sigterm.recv() => 143,
        _ = sighup.recv() => 129,
    };
    Ok(code)
}
