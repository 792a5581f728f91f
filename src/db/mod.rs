//! Everything that speaks SQL. No terminal code below here.

pub mod audit;
pub mod claim;
pub mod connect;
pub mod error;
pub mod lock_key;
pub mod migrate;
pub mod seed;

pub use error::DbError;
