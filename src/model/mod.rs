//! Plain data and pure judgements over it; no I/O.

/// A mode's actions, declared once: the enum (serde names in snake_case), its `ALL`
/// list in declaration order, and each one's label for the footer and the help
/// (`action::KeyAction`).
macro_rules! mode_actions {
    ($(#[$doc:meta])* $name:ident { $($(#[$vdoc:meta])* $variant:ident => $label:literal),+ $(,)? }) => {
        $(#[$doc])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize, serde::Deserialize)]
        #[serde(rename_all = "snake_case")]
        pub enum $name { $($(#[$vdoc])* $variant),+ }

        impl $name {
            pub const ALL: &[$name] = &[$($name::$variant),+];

            /// Short label for the footer and help.
            pub fn label(self) -> &'static str {
                match self { $($name::$variant => $label),+ }
            }
        }

        impl $crate::model::action::KeyAction for $name {
            fn label(self) -> &'static str {
                $name::label(self)
            }
        }
    };
}
pub(crate) use mode_actions;

pub mod action;
pub mod ask;
pub mod audit;
pub mod causes;
pub mod claim;
pub mod dead;
pub mod failure;
#[cfg(test)]
pub mod fixtures;
pub mod fleet;
pub mod hold;
pub mod job;
pub mod lock_key;
pub mod months;
pub mod op;
pub mod payload;
pub mod progress;
pub mod queue_history;
pub mod recording;
pub mod reel;
mod reel_lines;
pub mod refusal;
pub mod release;
pub mod reset;
pub mod retry;
pub mod signature;
pub mod snapshot;
pub mod status;
pub mod stuck;
pub mod time;
pub mod verdict;
pub mod via;
pub mod work;

pub use failure::FailureKind;
pub use hold::{HoldBasis, HoldEstimate, HoldTracker};
pub use lock_key::{LockClass, YearMonth};
pub use snapshot::{LockRow, MonthRow, QueueDepth, SessionInfo, Snapshot};
pub use status::{RETRY_CAP, Status};
pub use stuck::{Assessment, Level, LockProblem, LockVerdict, Thresholds, assess};
