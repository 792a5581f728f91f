//! Plain data and pure judgements over it; no I/O.

pub mod hold;
pub mod snapshot;
pub mod stuck;

pub use hold::{HoldBasis, HoldEstimate, HoldTracker};
pub use snapshot::{LockRow, MonthRow, QueueDepth, SessionInfo, Snapshot};
pub use stuck::{Assessment, Level, LockProblem, LockVerdict, Thresholds, assess};
