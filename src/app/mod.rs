//! State and update: `(State, Msg) -> (State, Effects)`. Pure: no I/O, no terminal.

/// A mode's actions, declared once: the enum (serde names in snake_case), its `ALL`
/// list in declaration order, and each one's label for the footer and the help
/// (`keymap::KeyAction`).
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

        impl $crate::app::keymap::KeyAction for $name {
            fn label(self) -> &'static str {
                $name::label(self)
            }
        }
    };
}

mod absorb;
pub mod action;
pub mod contexts;
pub mod dialog;
mod dialog_keys;
pub mod keymap;
pub mod lists;
pub mod msg;
pub mod refusal;
pub mod replay;
pub mod rows;
pub mod select;
pub mod state;
pub mod update;

pub use action::{Action, Panel};
pub use msg::{DbEvent, Effect, Job, JobResult, Msg, Route, Via, WorkerCmd};
pub use state::{ContextInfo, Detail, Link, Overlay, Recording, RelayRole, State};
pub use update::update;
