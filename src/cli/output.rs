//! Standard output for the headless commands. A closed pipe (`claim | head -0`)
//! or a full disk must neither panic (`println!` does) nor interrupt an action half
//! way: the first failed write is remembered, later output is dropped, the command
//! runs to its end, and [`run`](super::run) then exits with [`OUTPUT_LOST`].

use std::io::Write;
use std::sync::Mutex;

/// Exit status: the command ran to its end but its report could not be written.
/// What an action did is in the audit table; do not simply run it again.
pub const OUTPUT_LOST: i32 = 4;

static LOST: Mutex<Option<String>> = Mutex::new(None);

/// Writes formatted text to stdout unless an earlier write failed.
pub fn write(args: std::fmt::Arguments<'_>) {
    let Ok(mut lost) = LOST.lock() else { return };
    if lost.is_some() {
        return;
    }
    let mut out = std::io::stdout().lock();
    if let Err(e) = out.write_fmt(args).and_then(|()| out.flush()) {
        *lost = Some(e.to_string());
    }
}

/// Why the output could not be written, if it could not.
pub fn lost() -> Option<String> {
    LOST.lock().ok().and_then(|lost| lost.clone())
}

/// `println!` that never panics: see the module.
macro_rules! outln {
    () => { $crate::cli::output::write(format_args!("\n")) };
    ($($arg:tt)*) => { $crate::cli::output::write(format_args!("{}\n", format_args!($($arg)*))) };
}

/// `print!` that never panics: see the module.
macro_rules! out {
    ($($arg:tt)*) => { $crate::cli::output::write(format_args!($($arg)*)) };
}

pub(crate) use {out, outln};
