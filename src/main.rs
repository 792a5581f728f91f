#![forbid(unsafe_code)]
//! `backfill-console`: parse the command line, set up logging, hand over.

use std::ffi::OsString;
use std::os::unix::process::CommandExt;

use clap::Parser;

use backfill_console::cli::{self, Cli, Command};
use backfill_console::db::connect::redact::split_password;
use backfill_console::logging;

fn main() {
    hide_password_from_process_title();
    // A panic in any thread or task ends the process cleanly (terminal restored, one line).
    backfill_console::tui::terminal::install_panic_exit();
    let cli = Cli::parse();
    let command = cli.command.unwrap_or(Command::Console { record: Default::default() });
    let tui = match &command {
        Command::Console { .. } | Command::Watch { .. } => true,
        Command::Replay { summary, .. } => !summary,
        Command::Demo(args) => !args.no_tui,
        _ => false,
    };
    if tui {
        logging::init_tui();
    } else {
        logging::init_stderr();
    }
    let runtime = match tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build() {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("error: cannot start the async runtime: {e}");
            std::process::exit(1);
        }
    };
    let code = runtime.block_on(cli::run(cli.global, command));
    // Do not wait for stray tasks (a job on a dead link): the exit is what matters now.
    runtime.shutdown_timeout(std::time::Duration::from_millis(500));
    std::process::exit(code);
}

/// A password in `--database-url` would show in `ps` for as long as we run:
/// re-execute once with it moved to `PGPASSWORD` (readable only by the same
/// user) and the connection string without it.
fn hide_password_from_process_title() {
    const MARK: &str = "BACKFILL_CONSOLE_REEXEC";
    if std::env::var_os(MARK).is_some() {
        return;
    }
    let mut args: Vec<OsString> = std::env::args_os().collect();
    // (flag, where its password goes): the direct URL's is its own.
    let mut moved: Vec<(&str, String)> = Vec::new();
    for (flag, var) in [("--database-url", "PGPASSWORD"), ("--direct-url", "BACKFILL_DIRECT_PASSWORD")] {
        let with_eq = format!("{flag}=");
        for i in 1..args.len() {
            let Some(arg) = args[i].to_str().map(str::to_string) else {
                continue;
            };
            let (slot, value, prefix) = if arg == flag && i + 1 < args.len() {
                match args[i + 1].to_str() {
                    Some(v) => (i + 1, v.to_string(), String::new()),
                    None => continue,
                }
            } else if let Some(v) = arg.strip_prefix(&with_eq) {
                (i, v.to_string(), with_eq.clone())
            } else {
                continue;
            };
            if let Some((stripped, pw)) = split_password(&value) {
                args[slot] = OsString::from(format!("{prefix}{stripped}"));
                moved.push((var, pw));
            }
        }
    }
    let Ok(exe) = std::env::current_exe() else {
        return;
    };
    if moved.is_empty() {
        return;
    }
    let err = std::process::Command::new(exe)
        .arg0(&args[0])
        .args(&args[1..])
        .envs(moved.iter().map(|(var, pw)| (*var, pw.as_str())))
        .env(MARK, "1")
        .exec();
    // Only reached when exec failed: carry on as we are.
    eprintln!("warning: could not re-execute to hide the password from the process title: {err}");
}
