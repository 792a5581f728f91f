//! The real binary in a pseudo-terminal, read back through a terminal emulator (vt100).

use std::io::{Read, Write};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use portable_pty::{Child, CommandBuilder, MasterPty, PtySize, native_pty_system};

/// The console's application name here, to tell its sessions from the test's own.
pub const APP: &str = "console-under-test";

pub struct Console {
    pub child: Box<dyn Child + Send + Sync>,
    writer: Box<dyn Write + Send>,
    screen: Arc<Mutex<vt100::Parser>>,
    /// Every byte the console wrote.
    pub raw: Arc<Mutex<Vec<u8>>>,
    master: Box<dyn MasterPty + Send>,
    _state_dir: tempfile::TempDir,
}

/// A test that fails half-way leaves no console running behind it.
impl Drop for Console {
    fn drop(&mut self) {
        if matches!(self.child.try_wait(), Ok(None)) {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

impl Console {
    pub fn start(url: &str, args: &[&str]) -> Self {
        Self::start_with(url, args, &[], 30, 100)
    }

    pub fn start_with(url: &str, args: &[&str], vars: &[(&str, &str)], rows: u16, cols: u16) -> Self {
        let mut cmd = CommandBuilder::new(env!("CARGO_BIN_EXE_backfill-console"));
        cmd.args(args);
        cmd.env("DATABASE_URL", url);
        cmd.env("PGAPPNAME", APP);
        Self::spawn(cmd, vars, rows, cols)
    }

    /// Any program in a pseudo-terminal of `rows` × `cols` (the benches run pg_activity so).
    pub fn spawn(mut cmd: CommandBuilder, vars: &[(&str, &str)], rows: u16, cols: u16) -> Self {
        let pair = native_pty_system().openpty(PtySize { rows, cols, pixel_width: 0, pixel_height: 0 }).unwrap();
        cmd.env("TERM", "xterm-256color");
        // A UTF-8 locale whatever the runner's (the console draws ASCII for any other:
        // `charset = "auto"`); a test that wants ASCII says so in `vars`.
        cmd.env("LANG", "C.UTF-8");
        cmd.env_remove("LC_ALL");
        cmd.env_remove("LC_CTYPE");
        let state_dir = tempfile::tempdir().unwrap(); // the console's log file goes here
        cmd.env("XDG_STATE_HOME", state_dir.path());
        for (k, v) in vars {
            cmd.env(k, v);
        }
        let child = pair.slave.spawn_command(cmd).unwrap();
        drop(pair.slave);
        let mut reader = pair.master.try_clone_reader().unwrap();
        let writer = pair.master.take_writer().unwrap();
        let screen = Arc::new(Mutex::new(vt100::Parser::new(rows, cols, 0)));
        let raw = Arc::new(Mutex::new(Vec::new()));
        let (sink, raw_sink) = (screen.clone(), raw.clone());
        std::thread::spawn(move || {
            let mut buf = [0u8; 8192];
            while let Ok(n) = reader.read(&mut buf) {
                if n == 0 {
                    break;
                }
                sink.lock().unwrap().process(&buf[..n]);
                raw_sink.lock().unwrap().extend_from_slice(&buf[..n]);
            }
        });
        Console { child, writer, screen, raw, master: pair.master, _state_dir: state_dir }
    }

    pub fn contents(&self) -> String {
        self.screen.lock().unwrap().screen().contents()
    }

    pub fn wait_for(&self, text: &str) {
        self.wait_for_within(text, Duration::from_secs(20));
    }

    pub fn wait_for_within(&self, text: &str, limit: Duration) {
        let deadline = Instant::now() + limit;
        while Instant::now() < deadline {
            if self.contents().contains(text) {
                return;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        panic!("`{text}` never showed within {limit:?}; the screen:\n{}", self.contents());
    }

    /// Waits for the first of `texts` to show; returns which one did.
    pub fn wait_for_any(&self, texts: &[&str]) -> usize {
        let deadline = Instant::now() + Duration::from_secs(20);
        while Instant::now() < deadline {
            let screen = self.contents();
            if let Some(i) = texts.iter().position(|t| screen.contains(t)) {
                return i;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        panic!("none of {texts:?} showed within 20s; the screen:\n{}", self.contents());
    }

    pub fn wait_gone(&self, text: &str) {
        let deadline = Instant::now() + Duration::from_secs(20);
        while self.contents().contains(text) {
            assert!(Instant::now() < deadline, "`{text}` never went away:\n{}", self.contents());
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    pub fn resize(&mut self, rows: u16, cols: u16) {
        self.master.resize(PtySize { rows, cols, pixel_width: 0, pixel_height: 0 }).unwrap();
        // The emulator (vt100 0.16) overflows on a wide character written into a single
        // column — which happens when a frame drawn for the old, larger size arrives after
        // a resize to 1×1 (seen under load). It stays at least 2×2; the console under test
        // still gets the size asked for.
        self.screen.lock().unwrap().screen_mut().set_size(rows.max(2), cols.max(2));
    }

    pub fn send(&mut self, keys: &str) {
        self.writer.write_all(keys.as_bytes()).unwrap();
        self.writer.flush().unwrap();
    }

    pub fn wait_exit(&mut self) -> u32 {
        let deadline = Instant::now() + Duration::from_secs(10);
        while Instant::now() < deadline {
            if let Some(status) = self.child.try_wait().unwrap() {
                std::thread::sleep(Duration::from_millis(100)); // let the reader drain
                return status.exit_code();
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        panic!("the console did not exit; the screen:\n{}", self.contents());
    }

    /// Alternate screen left and cursor shown: the operator's terminal is back.
    pub fn assert_restored(&self) {
        let parser = self.screen.lock().unwrap();
        assert!(!parser.screen().alternate_screen(), "still on the alternate screen");
        assert!(!parser.screen().hide_cursor(), "the cursor is still hidden");
    }

    /// Whether any cell on screen has a colour (for NO_COLOR).
    pub fn any_colour(&self) -> bool {
        let parser = self.screen.lock().unwrap();
        let screen = parser.screen();
        let (rows, cols) = screen.size();
        (0..rows).any(|r| {
            (0..cols).any(|c| {
                screen.cell(r, c).is_some_and(|cell| {
                    cell.fgcolor() != vt100::Color::Default || cell.bgcolor() != vt100::Color::Default
                })
            })
        })
    }
}
