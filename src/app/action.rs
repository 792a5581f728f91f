//! The panels that take focus; the operator's actions are `model::action`'s.

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

pub use crate::model::action::Action;
