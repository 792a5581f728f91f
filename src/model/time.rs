//! Time between two instants as the console shows it: never negative, whatever the
//! clocks of the database and this machine say.

use std::time::Duration;

use chrono::{DateTime, Utc};

/// `now - then`, zero when the clocks disagree.
pub fn since(then: DateTime<Utc>, now: DateTime<Utc>) -> Duration {
    (now - then).to_std().unwrap_or(Duration::ZERO)
}
