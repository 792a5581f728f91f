//! Points inside the claim routine where a test can pause it, so two claimers
//! on two connections can be stepped by hand into an exact interleaving.

use std::future::Future;
use std::pin::Pin;

use crate::db::lock_key::YearMonth;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Step {
    /// A walk ran: a page of candidate months was read (or months were read
    /// again) and their locks tried in order, up to the number still wanted.
    Walked,
    /// The month's advisory lock was taken (a lock pass takes several at once;
    /// this step comes for each, before their UPDATE).
    Locked(YearMonth),
    /// The guarded UPDATE and the enqueue of the rows it changed ran (one
    /// statement for the pass); comes for each month locked, before the commit.
    Updated(YearMonth),
    /// The batch is short: after one retry interval, the months found busy are
    /// about to be tried again.
    Retry,
    /// Everything is done but the commit.
    BeforeCommit,
}

pub type StepFuture<'a> = Pin<Box<dyn Future<Output = ()> + Send + 'a>>;

/// Called at every [`Step`]; the claim waits for the returned future.
pub trait StepObserver: Send + Sync {
    fn at(&self, step: Step) -> StepFuture<'_>;
}
