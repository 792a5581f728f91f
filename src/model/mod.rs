//! Plain data and pure judgements over it; no I/O.

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
