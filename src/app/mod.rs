//! State and update: `(State, Msg) -> (State, Effects)`. Pure: no I/O, no terminal.

mod absorb;
pub mod action;
pub mod contexts;
pub mod dialog;
mod dialog_keys;
pub mod keymap;
pub mod lists;
pub mod msg;
pub use crate::model::refusal;
pub mod replay;
pub mod rows;
pub mod select;
pub mod state;
pub mod update;

pub use action::{Action, Panel};
pub use msg::{DbEvent, Effect, Job, JobResult, Msg, Route, Via, WorkerCmd};
pub use state::{ContextInfo, Detail, Link, Overlay, Recording, RelayRole, State};
pub use update::update;
