//! Everything the screen shows, and nothing else.

use crate::model::ask::{Catalog, NoOperations};
use std::collections::BTreeSet;
use std::time::{Duration, Instant};

use super::Panel;
use super::dialog::Dialog;
use super::keymap::Keymap;
use super::rows::{LockSort, MonthSort};
use crate::model::audit::AuditRow;
use crate::model::causes::Cause;
use crate::model::dead::DeadLetters;
use crate::model::lock_key::YearMonth;
use crate::model::queue_history::QueueHistory;
use crate::model::{Assessment, HoldTracker, Level, Snapshot, Thresholds};

/// The link to the database as the operator should understand it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Link {
    Connecting,
    /// Connecting, held in a pooler's queue (every server connection busy) this long.
    Queued {
        waited: Duration,
    },
    Connected,
    /// Lost; retrying with backoff.
    Reconnecting {
        attempt: u32,
        error: String,
    },
}

#[derive(Debug, Clone, PartialEq)]
pub enum Overlay {
    None,
    /// The keys and the symbols; `scroll` lines down (a small terminal shows part at a time).
    Help {
        scroll: u16,
    },
    Detail(Detail),
    Dialog(Dialog),
    /// Typing a filter (the text is `State::filter`).
    Filter,
    /// The failures by cause (`State::causes`); row 0 is "every month" (no cause filter).
    Errors {
        selected: usize,
    },
    /// The audit trail (`State::audit`), newest first; the filter applies.
    Audit {
        selected: usize,
    },
    /// The verdicts (`assessment.verdicts`); `open`: the selected one whole.
    Verdicts {
        selected: usize,
        open: bool,
    },
    /// Every context at once (`State::fleet`); `problems`: the healthy ones hidden.
    Fleet {
        selected: usize,
        problems: bool,
    },
    /// The context picker: `filter` typed so far, `selected` among the contexts it shows.
    Contexts {
        filter: String,
        selected: usize,
    },
    /// The dead letters (`State::dead`): by reason, then (`reason` set) its messages,
    /// then (`open`) the selected message's payload.
    Dead {
        reason: Option<String>,
        selected: usize,
        open: bool,
    },
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Detail {
    /// A month: filled in when the worker's read arrives.
    Month { month: YearMonth, lines: Option<Vec<String>> },
    /// A lock holder's session (from the snapshot).
    Session { pid: i32 },
}

/// The flight recorder (`--record`), as the header shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Recording {
    On,
    /// Stopped before the console did: why (a full disk, the file replaced under it).
    Stopped(String),
}

/// This console's part in sharing reads with the others on the database (`db::relay`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RelayRole {
    /// It reads for the others.
    Leads,
    /// It shows what the console of `pid` (user `user`) reads.
    Follows { pid: i32, user: String },
    /// Another console leads, but this one reads for itself (not trusted, or silent).
    ReadsAlone,
}

/// The relay role in words (the log, and the header when wide).
pub fn relay_text(role: &RelayRole) -> String {
    match role {
        RelayRole::Leads => "reads for the other consoles on this database".to_string(),
        RelayRole::Follows { pid, user } => format!("shows the reads of the console of {user} (pid {pid})"),
        RelayRole::ReadsAlone => "another console reads for the others; this one reads for itself".to_string(),
    }
}

/// A context as the console shows it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ContextInfo {
    pub name: String,
    pub production: bool,
    pub read_only: bool,
    /// `user@host:port/db`, no password.
    pub target: String,
}

/// How long a notice stays on the status line.
pub const NOTICE_SHOWN: Duration = Duration::from_secs(20);

/// A one-line message under the header (the last result, a refusal).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Notice {
    pub text: String,
    pub level: Level,
}

pub struct State {
    /// The operations that answer to the actions (`ops::OPERATIONS`, handed in by the edge
    /// that starts the console; none in a replay).
    pub ops: &'static dyn Catalog,
    pub keymap: Keymap,
    pub thresholds: Thresholds,
    pub read_only: bool,
    /// The wall-monitor layout.
    pub watch: bool,
    pub bell_on_critical: bool,
    /// `user@host:port/db`, never the password.
    pub target: String,
    /// The config context the console runs in (`--context`): named in the header; a
    /// production one asks for its name typed before a destructive action.
    pub context: Option<ContextInfo>,
    /// What the operator typed so far to confirm a destructive action in production.
    pub typed: String,
    /// Every context of the config file, for the picker (`:`).
    pub contexts: Vec<ContextInfo>,
    /// The context the operator switched to: the console ends, and starts again there.
    pub switch_to: Option<String>,
    /// The fleet as last read for its view (`None`: reading).
    pub fleet: Option<Vec<crate::model::fleet::FleetRow>>,
    pub server_version: Option<String>,
    pub link: Link,
    pub snapshot: Option<Snapshot>,
    pub assessment: Option<Assessment>,
    /// Months by status for the snapshot on screen (counted once per snapshot, not per frame).
    pub status_counts: std::collections::BTreeMap<crate::model::Status, i64>,
    pub holds: HoldTracker,
    pub history: QueueHistory,
    pub received_at: Option<Instant>,
    pub now: Instant,
    pub refresh: Duration,
    pub paused: bool,
    pub focus: Panel,
    pub selected_month: Option<YearMonth>,
    pub selected_lock: usize,
    pub month_sort: MonthSort,
    pub lock_sort: LockSort,
    pub filter: String,
    /// The filter's text is selected, as in any editor when its field opens: the first
    /// character typed replaces it, Backspace clears it, Enter keeps it.
    pub filter_selected: bool,
    /// The view the filter line was opened from (the audit trail), shown under it while
    /// typing and back once the filter is applied or cleared.
    pub filter_return: Option<Box<Overlay>>,
    /// The months table shows only the months of this cause (a signature of `causes`).
    pub cause: Option<String>,
    /// The failed and retry months by cause, for the snapshot on screen.
    pub causes: Vec<Cause>,
    /// Months marked for an action on many months.
    pub marked: BTreeSet<YearMonth>,
    /// Lock holders marked for a release of many.
    pub marked_locks: BTreeSet<crate::model::release::HolderKey>,
    /// The audit trail as last read for its view (`None`: reading).
    pub audit: Option<Result<Vec<AuditRow>, String>>,
    /// The dead letters as last read for their view (`None`: reading).
    pub dead: Option<Result<DeadLetters, String>>,
    pub overlay: Overlay,
    /// The last result or refusal, shown on the status line for [`NOTICE_SHOWN`] (the
    /// log pane keeps every one); the verdicts have a place of their own.
    pub notice: Option<Notice>,
    /// When the notice on screen was given.
    pub notice_at: Option<Instant>,
    /// Why the last refresh failed, until one succeeds (shown when there is no
    /// snapshot yet, or the one on screen is stale).
    pub refresh_error: Option<String>,
    /// How the refresh session reaches the server (pooler, safety settings, push).
    pub route: Option<super::msg::Route>,
    /// An action is running (one at a time).
    pub job_running: bool,
    pub last_level: Level,
    pub quit: bool,
    /// Replaying a recording (`replay FILE`): where it stands.
    pub replay: Option<super::replay::ReplayView>,
    /// Recording (`--record FILE`), or stopped.
    pub recording: Option<Recording>,
    /// Sharing reads with other consoles: how (`None`: not at all).
    pub relay: Option<RelayRole>,
}

impl State {
    /// No action changes anything here: `--read-only`, or the `watch` wall monitor.
    pub fn acts_read_only(&self) -> bool {
        self.read_only || self.watch
    }

    /// Whether `action` may run here: the one rule behind the refusals, the footer and
    /// the help (a destructive action never runs read-only).
    pub fn may(&self, action: super::Action) -> bool {
        !(action.is_destructive() && self.acts_read_only())
    }

    pub fn new(thresholds: Thresholds, refresh: Duration, keymap: Keymap, target: String, now: Instant) -> Self {
        Self {
            ops: &NoOperations,
            keymap,
            thresholds,
            read_only: false,
            watch: false,
            bell_on_critical: false,
            target,
            context: None,
            typed: String::new(),
            contexts: Vec::new(),
            switch_to: None,
            fleet: None,
            server_version: None,
            link: Link::Connecting,
            refresh_error: None,
            route: None,
            snapshot: None,
            assessment: None,
            status_counts: std::collections::BTreeMap::new(),
            holds: HoldTracker::default(),
            history: QueueHistory::default(),
            received_at: None,
            now,
            refresh,
            paused: false,
            focus: Panel::Months,
            selected_month: None,
            selected_lock: 0,
            month_sort: MonthSort::default(),
            lock_sort: LockSort::default(),
            filter: String::new(),
            filter_selected: false,
            cause: None,
            causes: Vec::new(),
            filter_return: None,
            marked: BTreeSet::new(),
            marked_locks: BTreeSet::new(),
            audit: None,
            dead: None,
            overlay: Overlay::None,
            notice: None,
            notice_at: None,
            job_running: false,
            last_level: Level::Ok,
            quit: false,
            replay: None,
            recording: None,
            relay: None,
        }
    }

    /// The notice, while it is fresh.
    pub fn fresh_notice(&self) -> Option<&Notice> {
        let at = self.notice_at?;
        self.notice.as_ref().filter(|_| self.now.saturating_duration_since(at) < NOTICE_SHOWN)
    }

    /// How old the data on screen is.
    pub fn data_age(&self) -> Option<Duration> {
        self.received_at.map(|at| self.now.saturating_duration_since(at))
    }

    /// Stale: the link is down, or no good refresh for two intervals (paused data is not stale).
    /// The database's clock now, as far as the console can tell: the snapshot's time plus
    /// how long ago it arrived (ages keep counting while no new snapshot comes).
    pub fn db_now(&self) -> Option<chrono::DateTime<chrono::Utc>> {
        let taken = self.snapshot.as_ref()?.taken_at;
        let age = chrono::Duration::from_std(self.data_age().unwrap_or_default()).unwrap_or_default();
        Some(taken + age)
    }

    /// The production context's name when `dialog` is a destructive action it must be
    /// typed for (a plan, a dry run, a running job or a result needs none).
    pub fn typed_confirmation(&self, dialog: &super::dialog::Dialog) -> Option<&str> {
        use super::dialog::Dialog;
        let context = self.context.as_ref().filter(|c| c.production)?;
        let acts = match dialog {
            Dialog::Claim(form) => !form.params.dry_run,
            Dialog::Confirm { .. } => true,
            Dialog::Running { .. } | Dialog::Result { .. } => false,
        };
        acts.then_some(context.name.as_str())
    }

    pub fn is_stale(&self) -> bool {
        match (&self.link, self.data_age()) {
            (Link::Reconnecting { .. } | Link::Queued { .. }, Some(_)) => true,
            (_, Some(age)) => !self.paused && age > self.refresh * 2 + Duration::from_secs(1),
            _ => false,
        }
    }
}
