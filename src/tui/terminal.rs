//! Entering and leaving the terminal, on every path: a drop guard for normal
//! exits and errors, the process's panic hook for panics (in any thread or task:
//! see [`install_panic_exit`]), and the event loop's signal arms for
//! SIGINT/SIGTERM/SIGHUP (which end in the same drop).

use std::io::{Write, stdout};
use std::sync::atomic::{AtomicBool, Ordering};

use crossterm::cursor::{Hide, Show};
use crossterm::execute;
use crossterm::terminal::{EnterAlternateScreen, LeaveAlternateScreen, disable_raw_mode, enable_raw_mode};

pub struct TerminalGuard;

/// The terminal is ours (raw mode, alternate screen): a panic must give it back.
static ENTERED: AtomicBool = AtomicBool::new(false);

impl TerminalGuard {
    pub fn enter() -> std::io::Result<Self> {
        ENTERED.store(true, Ordering::SeqCst);
        enable_raw_mode()?;
        let guard = TerminalGuard; // from here on, dropping restores
        execute!(stdout(), EnterAlternateScreen, Hide)?;
        Ok(guard)
    }
}

impl Drop for TerminalGuard {
    fn drop(&mut self) {
        restore();
        ENTERED.store(false, Ordering::SeqCst);
    }
}

/// Best effort: after SIGHUP the terminal may be gone, and that is fine.
pub fn restore() {
    let _ = execute!(stdout(), LeaveAlternateScreen, Show);
    let _ = disable_raw_mode();
    let _ = stdout().flush();
}

/// A panic anywhere — the draw loop, a database task, the recorder's thread — ends the
/// whole process at once: the terminal given back, one line on stderr (where and what),
/// the same line and a backtrace in the log file, exit status 101. A task that panicked
/// must never leave a console half alive (a frozen screen that only Ctrl-C ends).
pub fn install_panic_exit() {
    std::panic::set_hook(Box::new(|info| {
        if ENTERED.swap(false, Ordering::SeqCst) {
            restore();
        }
        let what = info
            .payload()
            .downcast_ref::<&str>()
            .map(|s| (*s).to_string())
            .or_else(|| info.payload().downcast_ref::<String>().cloned())
            .unwrap_or_else(|| "a panic".into());
        let at = info.location().map_or_else(String::new, |l| format!(" at {}:{}", l.file(), l.line()));
        let line = format!(
            "backfill-console stopped on an internal error{at}: {}; nothing is left running — please report it",
            crate::db::error::one_line(&what)
        );
        let _ = writeln!(std::io::stderr(), "{line}");
        crate::logging::append_to_file(&format!("{line}\n{}", std::backtrace::Backtrace::force_capture()));
        std::process::exit(101);
    }));
}

/// OSC 52: the terminal (even across SSH) puts `text` on the local clipboard.
pub fn copy_to_clipboard(text: &str) {
    use base64::Engine;
    let encoded = base64::engine::general_purpose::STANDARD.encode(text);
    let mut out = stdout();
    let _ = write!(out, "\x1b]52;c;{encoded}\x07");
    let _ = out.flush();
}

pub fn bell() {
    let mut out = stdout();
    let _ = out.write_all(b"\x07");
    let _ = out.flush();
}
