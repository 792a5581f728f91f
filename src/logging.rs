//! Logging: `tracing` with an env filter (`BACKFILL_LOG`). Headless commands log
//! to stderr; the console feeds the log pane (tui-logger) and a file for
//! post-incident reading, never the terminal it draws on.

use std::path::PathBuf;
use std::sync::OnceLock;

/// The console's log file, once opened.
static LOG_FILE: OnceLock<PathBuf> = OnceLock::new();

/// Appends a line to the log file directly (the panic hook: the log pane's buffer may
/// never reach the file).
pub fn append_to_file(text: &str) {
    use std::io::Write;
    if let Some(path) = LOG_FILE.get()
        && let Ok(mut file) = std::fs::File::options().append(true).open(path)
    {
        let _ = writeln!(file, "{} {text}", chrono::Utc::now().format("%Y-%m-%dT%H:%M:%SZ"));
    }
}

use tracing_subscriber::EnvFilter;
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::util::SubscriberInitExt;

fn filter(default: &str) -> EnvFilter {
    EnvFilter::try_from_env("BACKFILL_LOG").unwrap_or_else(|_| EnvFilter::new(default))
}

/// Colour on stderr only when it is a terminal, and never under `NO_COLOR`.
pub fn stderr_colour() -> bool {
    use std::io::IsTerminal;
    std::io::stderr().is_terminal() && std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty())
}

pub fn init_stderr() {
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter("warn"))
        .with_ansi(stderr_colour())
        .with_writer(std::io::stderr)
        .with_target(false)
        // A stderr that went away (`serve 2>&1 | head -1`, a closed terminal) must not stop
        // a command: tracing's own complaint about it is an eprintln!, which panics there.
        .log_internal_errors(false)
        .try_init();
}

/// For the terminal UI. Returns the log file, when one could be opened.
pub fn init_tui() -> Option<PathBuf> {
    let _ = tracing_subscriber::registry()
        .with(filter("info,tokio_postgres=warn"))
        .with(tui_logger::TuiTracingSubscriberLayer)
        .try_init();
    // No tui_logger::init_logger(): its mover thread wakes every 10 ms; the
    // draw loop moves the events itself.
    tui_logger::set_default_level(tui_logger::LevelFilter::Info);
    let path = log_file()?;
    tui_logger::set_log_file(tui_logger::TuiLoggerFile::new(&path.to_string_lossy()));
    let _ = LOG_FILE.set(path.clone());
    Some(path)
}

/// `$XDG_STATE_HOME/backfill-console/console.log`, else `~/.local/state/...`: the
/// file 0600 in a 0700 folder (it names hosts, users and what was done).
fn log_file() -> Option<PathBuf> {
    use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt, PermissionsExt};
    let base = std::env::var_os("XDG_STATE_HOME")
        .filter(|v| !v.is_empty())
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".local").join("state")))?;
    let dir = base.join("backfill-console");
    std::fs::DirBuilder::new().recursive(true).mode(0o700).create(&dir).ok()?;
    std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o700)).ok()?;
    let path = dir.join("console.log");
    std::fs::File::options().create(true).append(true).mode(0o600).open(&path).ok()?;
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600)).ok()?;
    Some(path)
}
