//! State and update: `(State, Msg) -> (State, Effects)`. Pure: no I/O, no terminal.

mod absorb;
pub mod action;
pub mod dialog;
pub mod history;
pub mod keymap;
pub mod lists;
pub mod msg;
pub mod replay;
pub mod rows;
pub mod select;
pub mod state;
pub mod update;

pub use action::{Action, Panel};
pub use msg::{DbEvent, Effect, Job, JobResult, Msg, RedriveJob, ResetJob, RetryJob, Route, Via, WorkerCmd};
pub use state::{Detail, Link, Overlay, Recording, RelayRole, State};
pub use update::update;
