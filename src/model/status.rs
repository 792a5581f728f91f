//! A month's `backfill_log.status`, and the retry cap: the vocabulary every layer
//! speaks about a month's state, written once.

use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// The retry cap as a literal, for SQL text assembled with `concat!`.
#[macro_export]
macro_rules! retry_cap {
    () => {
        5
    };
}

/// A month whose `retry_count` reached this is not retried again (the table's check
/// allows no more: `retry_count <= 5`).
pub const RETRY_CAP: i32 = retry_cap!();

/// The statuses the fleet writes. The table may hold others (an adopted table
/// without the status check): those are kept, shown as they are, never acted on.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Status {
    Pending,
    Processing,
    Completed,
    Retry,
    Failed,
    Other(String),
}

impl Status {
    /// The five the fleet writes, in the order of a month's life.
    pub const KNOWN: [Status; 5] =
        [Status::Pending, Status::Processing, Status::Completed, Status::Retry, Status::Failed];

    pub fn parse(text: &str) -> Self {
        match text {
            "pending" => Status::Pending,
            "processing" => Status::Processing,
            "completed" => Status::Completed,
            "retry" => Status::Retry,
            "failed" => Status::Failed,
            other => Status::Other(other.to_string()),
        }
    }

    /// As stored in the table.
    pub fn as_str(&self) -> &str {
        match self {
            Status::Pending => "pending",
            Status::Processing => "processing",
            Status::Completed => "completed",
            Status::Retry => "retry",
            Status::Failed => "failed",
            Status::Other(text) => text,
        }
    }

    /// Trouble first: failed, retry, processing, pending, completed, then anything unknown.
    pub fn trouble_rank(&self) -> u8 {
        match self {
            Status::Failed => 0,
            Status::Retry => 1,
            Status::Processing => 2,
            Status::Pending => 3,
            Status::Completed => 4,
            Status::Other(_) => 5,
        }
    }
}

impl std::fmt::Display for Status {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

impl From<&str> for Status {
    fn from(text: &str) -> Self {
        Status::parse(text)
    }
}

impl Serialize for Status {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

impl<'de> Deserialize<'de> for Status {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        Ok(Status::parse(&String::deserialize(d)?))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statuses_round_trip_and_unknown_ones_are_kept() {
        for s in Status::KNOWN {
            assert_eq!(Status::parse(s.as_str()), s);
        }
        assert_eq!(Status::parse("on-hold"), Status::Other("on-hold".into()));
        assert_eq!(serde_json::to_string(&Status::Other("x".into())).unwrap(), "\"x\"");
        assert_eq!(serde_json::from_str::<Status>("\"retry\"").unwrap(), Status::Retry);
    }
}
