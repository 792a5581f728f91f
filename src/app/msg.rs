//! What flows in (keys, ticks, database events) and out (effects for tasks to run).

use std::time::{Duration, Instant};

use crossterm::event::KeyEvent;

use crate::model::Snapshot;
use crate::model::audit::AuditRow;
use crate::model::dead::DeadLetters;
pub use crate::model::job::{Job, JobResult};
use crate::model::lock_key::YearMonth;
pub use crate::model::via::Via;

#[derive(Debug, Clone)]
pub enum Msg {
    Key(KeyEvent),
    /// Time passes (ages, staleness); carries the clock so `update` stays pure.
    Tick(Instant),
    Db(DbEvent),
}

/// How the console's session reaches PostgreSQL, as the header shows it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Route {
    pub via: Via,
    /// The pooler's address as the server sees it.
    pub pooler_addr: Option<String>,
    /// Which safety settings are in force (or which are not).
    pub safety: String,
    pub safety_ok: bool,
}

impl Route {
    /// A direct connection with every safety setting in force.
    pub fn direct() -> Self {
        Self { via: Via::Direct, pooler_addr: None, safety: "safety settings in force".into(), safety_ok: true }
    }
}

#[derive(Debug, Clone)]
pub enum DbEvent {
    /// Every context read (the fleet view), a row each.
    Fleet(Vec<crate::model::fleet::FleetRow>),
    Connected {
        server_version: String,
        route: Route,
    },
    Snapshot(Box<Snapshot>, Instant),
    /// A refresh failed; `link_lost` when the session is gone and a reconnect starts.
    RefreshFailed {
        error: String,
        link_lost: bool,
        attempt: u32,
    },
    JobDone(JobResult),
    MonthDetail {
        month: YearMonth,
        lines: Vec<String>,
    },
    /// The audit trail, newest first (or why it could not be read).
    Audit(Result<Vec<AuditRow>, String>),
    /// The dead-letter table: every reason counted, the newest messages (or why it could not be read).
    DeadLetters(Result<DeadLetters, String>),
    /// How far the running job is (a redrive's chunks).
    JobProgress(String),
    /// Where a replay stands (sent by the replay driver with each frame).
    Replay(super::replay::ReplayView),
    /// The flight recorder stopped before the console did, and why.
    RecordingStopped(String),
    /// Connecting: a pooler holds the start-up in its queue, this long so far.
    Queued(Duration),
    /// This console's part in sharing reads changed.
    Relay(Option<super::RelayRole>),
}

#[derive(Debug, Clone, PartialEq)]
pub enum WorkerCmd {
    RefreshNow,
    SetInterval(Duration),
    SetPaused(bool),
    LoadMonthDetail(YearMonth),
    /// The audit trail for the audit view.
    LoadAudit,
    /// The dead-letter table for its view.
    LoadDeadLetters,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Effect {
    Worker(WorkerCmd),
    Run(Job),
    /// Ask the running job to stop at its next safe point (a redrive: between chunks).
    CancelJob,
    /// Read every context of the config at once, for the fleet view.
    ReadFleet,
    /// Put text on the operator's clipboard (OSC 52, works over SSH).
    Copy(String),
    Bell,
    /// Move the replay (only while replaying).
    Replay(super::keymap::ReplayAction),
    Log {
        error: bool,
        text: String,
    },
}
