//! Why an action failed, as far as the operator has to know: the kind travels with
//! the result to the screen, so nothing there has to guess from the error's text.

use serde::Serialize;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum FailureKind {
    /// No session could be opened: nothing was sent, so nothing happened.
    CouldNotConnect,
    /// The link dropped while the action ran: whether it took effect is unknown.
    LinkLost,
    /// The server said the role lacks a privilege; nothing changed.
    PermissionDenied,
    /// Anything else the server or the console refused; nothing changed.
    Other,
}

impl FailureKind {
    /// True when the action may or may not have taken effect.
    pub fn outcome_unknown(self) -> bool {
        self == FailureKind::LinkLost
    }
}
