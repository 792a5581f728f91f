//! Why the console will not do what a key asked of the selection (`app::select`, `ops/`): each
//! reason a variant, shown as the one line of the status bar.

use std::fmt;

/// A refused selection, shown as one line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Refusal {
    /// No snapshot (or no judgement of it) yet.
    NoData,
    NoLockSelected,
    /// "Mark all shown" with no holder among the rows shown.
    NoHolderShown,
    /// A foreign advisory lock: shown, never acted on. `marking`: the mark key asked.
    Foreign {
        marking: bool,
    },
    /// A session waiting for the lock, not holding it. `marking`: the mark key asked.
    Waiter {
        marking: bool,
    },
    /// The holder's session (or its start time) is not visible (no `pg_monitor`).
    HolderHidden {
        what: &'static str,
    },
    NoPid,
    /// The lock panel does not have the focus; `how`: the keys that give it (may be empty).
    FocusLocks {
        how: String,
    },
    /// A cancel asked of an idle session; `key` ends its session instead.
    IdleCancel {
        pid: i32,
        key: String,
    },
    /// The selected session holds no month lock any more.
    NoLongerHolds,
    /// None of the marked sessions holds a month lock any more; `key` clears the marks.
    MarkedHoldNothing {
        marked: usize,
        key: String,
    },
    /// Nothing to reset, and why (`ops::reset`).
    NothingToReset(String),
    /// Nothing chosen for the action, in words.
    Nothing(String),
    /// With marks, none of the marked months is abandoned.
    MarkedNotAbandoned {
        marked: usize,
    },
}

impl fmt::Display for Refusal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Refusal::NoData => f.write_str("no data yet"),
            Refusal::NoLockSelected => f.write_str("no lock selected"),
            Refusal::NoHolderShown => {
                f.write_str("no lock holder shown to mark (waiters and foreign locks are never released)")
            }
            Refusal::Foreign { marking: true } => f.write_str("that is a foreign lock: this console never acts on it"),
            Refusal::Foreign { marking: false } => {
                f.write_str("that is a foreign lock: this console shows it but never acts on it")
            }
            Refusal::Waiter { marking } => {
                let verb = if *marking { "mark" } else { "select" };
                write!(f, "that session is waiting for the lock, not holding it; {verb} the holder")
            }
            Refusal::HolderHidden { what } => write!(f, "the holder's {what} is not visible (missing pg_monitor?)"),
            Refusal::NoPid => f.write_str("the holder has no pid"),
            Refusal::FocusLocks { how } => write!(f, "select a lock holder first (focus the lock panel{how})"),
            Refusal::IdleCancel { pid, key } => write!(
                f,
                "pid {pid} is idle: there is no query to cancel, and its locks would stay; {key} ends its session (releases its locks)"
            ),
            Refusal::NoLongerHolds => f.write_str("that session holds no month lock any more"),
            Refusal::MarkedHoldNothing { marked, key } => {
                write!(f, "none of the {marked} marked session(s) holds a month lock any more ({key} clears the marks)")
            }
            Refusal::NothingToReset(why) | Refusal::Nothing(why) => f.write_str(why),
            Refusal::MarkedNotAbandoned { marked } => {
                write!(f, "none of the {marked} marked months is abandoned (processing, no message, no worker)")
            }
        }
    }
}
