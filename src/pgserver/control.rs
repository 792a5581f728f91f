//! Stopping and starting the throwaway server in place: for tests of a server
//! that restarts, or dies, under a running console.

use std::process::Child;
use std::time::{Duration, Instant};

use nix::sys::signal::{Signal, kill};
use nix::unistd::Pid;

use super::{PgServerError, TempServer};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Halt {
    /// Fast shutdown: sessions are ended, a clean stop (a planned restart).
    Fast,
    /// Immediate shutdown: every process quits at once, recovery at the next start (a crash).
    Immediate,
}

impl TempServer {
    /// Stops the postmaster, keeping the data directory (and the guardian) for [`resume`](Self::resume).
    pub fn halt(&mut self, how: Halt) {
        if let Some(mut child) = self.postmaster.take() {
            let signal = if how == Halt::Fast { Signal::SIGINT } else { Signal::SIGQUIT };
            let _ = kill(Pid::from_raw(child.id() as i32), signal);
            if !wait_with_timeout(&mut child, Duration::from_secs(15)) {
                let _ = child.kill();
                let _ = child.wait();
            }
        }
    }

    /// Starts the server again on the same port.
    pub fn resume(&mut self) -> Result<(), PgServerError> {
        let port = self.port;
        self.launch(Some(port))
    }

    /// The server's log so far (for tests that read the statement log).
    pub fn log(&self) -> String {
        std::fs::read_to_string(self.dir.join("server.log")).unwrap_or_default()
    }
}

/// Waits up to `timeout` for the child to end; `true` when it did.
pub(super) fn wait_with_timeout(child: &mut Child, timeout: Duration) -> bool {
    let deadline = Instant::now() + timeout;
    while Instant::now() < deadline {
        if let Ok(Some(_)) = child.try_wait() {
            return true;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    false
}
