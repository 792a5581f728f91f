//! The vocabulary: everything an operator can ask for on the main screen. Keymaps map
//! keys to these (`app::keymap`); an operation answers to the ones it is asked by
//! (`ops::Operations`, through `model::op::Catalog`).

use serde::Serialize;

/// What an action in any mode offers the keymap.
pub trait KeyAction: Copy + Ord + std::hash::Hash + Serialize {
    /// Short label for hints and help.
    fn label(self) -> &'static str;
}

super::mode_actions!(
    /// Operator intents in normal mode (remappable in the config file).
    Action {
        Quit => "quit",
        FocusNext => "next panel",
        FocusPrev => "previous panel",
        FocusMonths => "months",
        FocusCalendar => "calendar",
        FocusLocks => "locks",
        FocusQueue => "queue",
        Up => "up",
        Down => "down",
        Left => "left (calendar)",
        Right => "right (calendar)",
        PageUp => "page up",
        PageDown => "page down",
        Home => "first",
        End => "last",
        Filter => "filter",
        Sort => "sort",
        Detail => "detail",
        Help => "help",
        Pause => "freeze screen",
        Faster => "faster refresh",
        Slower => "slower refresh",
        CopyRow => "copy row",
        CopySql => "copy SQL",
        Claim => "claim",
        Release => "release lock",
        CancelQuery => "cancel query",
        ResetStuck => "reset stuck",
        Refresh => "refresh now",
        /// The failures grouped by cause.
        Errors => "errors by cause",
        /// Mark (or unmark) the selected month for an action on many months, or on the
        /// lock panel the selected lock's holder for a release of many.
        Mark => "mark month",
        /// Mark every month (or lock holder) the table shows (the filter and the cause applied).
        MarkAll => "mark all shown",
        ClearMarks => "clear marks",
        /// Failed months back to retry: the marked ones, else the selected one.
        Retry => "retry failed",
        /// The audit trail.
        Audit => "audit trail",
        /// The dead-letter table (redrive and purge from there).
        DeadLetters => "dead letters",
        /// The verdicts: each cause of trouble, its evidence and its cure.
        Verdicts => "verdicts",
        /// The config's contexts: type to filter, Enter switches to one.
        Contexts => "switch context",
        /// Every context at once: a row each, Enter switches to one.
        Fleet => "fleet",
    }
);

super::mode_actions!(
    /// Keys while an overlay is open (help, a detail, a list); the dead-letter view's
    /// redrive and purge are operations' (`model::ask::Catalog::ask_in_view`).
    OverlayAction {
        Close => "close",
        Up => "up",
        Down => "down",
        Open => "open",
        Redrive => "redrive",
        Purge => "purge",
    }
);

impl Action {
    /// Actions that change the database; refused in read-only mode and `watch`.
    pub fn is_destructive(self) -> bool {
        matches!(self, Action::Claim | Action::Release | Action::CancelQuery | Action::ResetStuck | Action::Retry)
    }
}
