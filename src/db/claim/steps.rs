//! Points inside the claim routine where a test can pause it, so two claimers
//! on two connections can be stepped by hand into an exact interleaving.

use std::future::Future;
use std::pin::Pin;

use crate::db::lock_key::YearMonth;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Step {
    /// The candidate months were read.
    CandidatesRead,
    /// The month's advisory lock was taken.
    Locked(YearMonth),
    /// The guarded UPDATE ran (whatever its row count) and before the enqueue.
    Updated(YearMonth),
    /// Everything is done but the commit.
    BeforeCommit,
}

pub type StepFuture<'a> = Pin<Box<dyn Future<Output = ()> + Send + 'a>>;

/// Called at every [`Step`]; the claim waits for the returned future.
pub trait StepObserver: Send + Sync {
    fn at(&self, step: Step) -> StepFuture<'_>;
}
