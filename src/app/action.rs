//! The vocabulary: everything an operator can ask for. Keymaps map keys to these.

use serde::{Deserialize, Serialize};

/// The four panels that take focus.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Panel {
    Months,
    Calendar,
    Locks,
    Queue,
}

impl Panel {
    pub const ALL: [Panel; 4] = [Panel::Months, Panel::Calendar, Panel::Locks, Panel::Queue];

    pub fn title(self) -> &'static str {
        match self {
            Panel::Months => "Months",
            Panel::Calendar => "Calendar",
            Panel::Locks => "Lock holders",
            Panel::Queue => "Queue",
        }
    }
}

/// Operator intents in normal mode (remappable in the config file).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Action {
    Quit,
    FocusNext,
    FocusPrev,
    FocusMonths,
    FocusCalendar,
    FocusLocks,
    FocusQueue,
    Up,
    Down,
    Left,
    Right,
    PageUp,
    PageDown,
    Home,
    End,
    Filter,
    Sort,
    Detail,
    Help,
    Pause,
    Faster,
    Slower,
    CopyRow,
    CopySql,
    Claim,
    Release,
    CancelQuery,
    ResetStuck,
    Refresh,
    /// The failures grouped by cause.
    Errors,
    /// Mark (or unmark) the selected month for an action on many months.
    Mark,
    /// Mark every month the table shows (the filter and the cause applied).
    MarkAll,
    ClearMarks,
    /// Failed months back to retry: the marked ones, else the selected one.
    Retry,
    /// The audit trail.
    Audit,
    /// The dead-letter table (redrive and purge from there).
    DeadLetters,
    /// The verdicts: each cause of trouble, its evidence and its cure.
    Verdicts,
}

impl Action {
    pub const ALL: &[Action] = &[
        Action::Quit,
        Action::FocusNext,
        Action::FocusPrev,
        Action::FocusMonths,
        Action::FocusCalendar,
        Action::FocusLocks,
        Action::FocusQueue,
        Action::Up,
        Action::Down,
        Action::Left,
        Action::Right,
        Action::PageUp,
        Action::PageDown,
        Action::Home,
        Action::End,
        Action::Filter,
        Action::Sort,
        Action::Detail,
        Action::Help,
        Action::Pause,
        Action::Faster,
        Action::Slower,
        Action::CopyRow,
        Action::CopySql,
        Action::Claim,
        Action::Release,
        Action::CancelQuery,
        Action::ResetStuck,
        Action::Refresh,
        Action::Errors,
        Action::Mark,
        Action::MarkAll,
        Action::ClearMarks,
        Action::Retry,
        Action::Audit,
        Action::DeadLetters,
        Action::Verdicts,
    ];

    /// Actions that change the database; refused in read-only mode and `watch`.
    pub fn is_destructive(self) -> bool {
        matches!(self, Action::Claim | Action::Release | Action::CancelQuery | Action::ResetStuck | Action::Retry)
    }

    /// Short label for the footer and help.
    pub fn label(self) -> &'static str {
        match self {
            Action::Quit => "quit",
            Action::FocusNext => "next panel",
            Action::FocusPrev => "previous panel",
            Action::FocusMonths => "months",
            Action::FocusCalendar => "calendar",
            Action::FocusLocks => "locks",
            Action::FocusQueue => "queue",
            Action::Up => "up",
            Action::Down => "down",
            Action::Left => "left (calendar)",
            Action::Right => "right (calendar)",
            Action::PageUp => "page up",
            Action::PageDown => "page down",
            Action::Home => "first",
            Action::End => "last",
            Action::Filter => "filter",
            Action::Sort => "sort",
            Action::Detail => "detail",
            Action::Help => "help",
            Action::Pause => "pause/resume",
            Action::Faster => "faster refresh",
            Action::Slower => "slower refresh",
            Action::CopyRow => "copy row",
            Action::CopySql => "copy SQL",
            Action::Claim => "claim",
            Action::Release => "release lock",
            Action::CancelQuery => "cancel query",
            Action::ResetStuck => "reset stuck",
            Action::Refresh => "refresh now",
            Action::Errors => "errors by cause",
            Action::Mark => "mark month",
            Action::MarkAll => "mark all shown",
            Action::ClearMarks => "clear marks",
            Action::Retry => "retry failed",
            Action::Audit => "audit trail",
            Action::DeadLetters => "dead letters",
            Action::Verdicts => "verdicts",
        }
    }

    /// Shown in the footer (the rest only in the help overlay).
    pub fn in_footer(self) -> bool {
        matches!(
            self,
            Action::Quit
                | Action::FocusNext
                | Action::Filter
                | Action::Detail
                | Action::Help
                | Action::Pause
                | Action::Claim
                | Action::Release
                | Action::ResetStuck
                | Action::Errors
                | Action::Mark
                | Action::Retry
                | Action::Verdicts
        )
    }
}
