//! Everything that speaks SQL. No terminal code below here.

pub mod audit;
pub mod claim;
pub mod connect;
pub mod dead;
pub mod detail;
pub mod error;
pub mod migrate;
pub mod param;
pub mod progress;
pub mod queue;
pub mod relay;
pub mod release;
pub mod reset;
pub mod retry;
pub mod seed;
pub mod snapshot;
pub mod statements;
pub mod txn;

/// The month vocabulary lives in `model`; SQL code names it from here too.
pub use crate::model::lock_key;
pub use error::DbError;
