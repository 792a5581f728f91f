//! Failures by cause: `failed` and `retry` months grouped by a normalised error
//! signature — numbers, UUIDs, hex ids, quoted values, timestamps and durations
//! masked — so 2,000 failures read as the few errors they really are.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use serde::Serialize;

use super::lock_key::YearMonth;
use super::months;
use super::snapshot::MonthRow;
use super::status::{RETRY_CAP, Status};

/// The signature of a month that failed without a message.
pub const NO_MESSAGE: &str = "(no error message)";

/// One cause and the months that failed with it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Cause {
    pub signature: String,
    /// One full message with this signature (the newest month's).
    pub example: String,
    pub count: usize,
    /// Oldest first.
    #[serde(serialize_with = "months::as_text::serialize")]
    pub months: Vec<YearMonth>,
    pub statuses: BTreeMap<Status, usize>,
    /// Months whose `retry_count` reached the cap (a retry leaves them alone).
    pub at_retry_cap: usize,
    /// The earliest and latest `last_retry_at`/`started_at` of its months.
    pub first_seen: Option<DateTime<Utc>>,
    pub last_seen: Option<DateTime<Utc>>,
    /// When each of its months last failed, as far as the table tells (its last attempt's
    /// start): what an error burst is judged by.
    #[serde(skip)]
    pub seen: Vec<DateTime<Utc>>,
}

impl Cause {
    /// `2024-03..2024-05, 2024-07`.
    pub fn month_ranges(&self) -> String {
        months::compact(&self.months)
    }
}

/// The `failed` and `retry` months grouped by cause, the most frequent first.
pub fn causes(months: &[MonthRow]) -> Vec<Cause> {
    let mut by_signature: BTreeMap<String, Cause> = BTreeMap::new();
    for row in months.iter().filter(|m| matches!(m.status, Status::Failed | Status::Retry)) {
        let Some(month) = row.year_month() else { continue };
        let message = row.error.as_deref().map(str::trim).filter(|e| !e.is_empty());
        let signature = message.map_or_else(|| NO_MESSAGE.to_string(), signature);
        let seen = row.last_retry_at.max(row.started_at);
        let cause = by_signature.entry(signature.clone()).or_insert_with(|| Cause {
            signature,
            example: String::new(),
            count: 0,
            months: Vec::new(),
            statuses: BTreeMap::new(),
            at_retry_cap: 0,
            first_seen: None,
            last_seen: None,
            seen: Vec::new(),
        });
        cause.seen.extend(seen);
        cause.count += 1;
        if cause.months.last().is_none_or(|newest| month > *newest) || cause.example.is_empty() {
            cause.example = message.unwrap_or(NO_MESSAGE).to_string();
        }
        cause.months.push(month);
        *cause.statuses.entry(row.status.clone()).or_insert(0) += 1;
        cause.at_retry_cap += usize::from(row.retry_count.unwrap_or(0) >= RETRY_CAP);
        cause.first_seen = match (cause.first_seen, seen) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        };
        cause.last_seen = cause.last_seen.max(seen);
    }
    let mut all: Vec<Cause> = by_signature.into_values().collect();
    for cause in &mut all {
        cause.months.sort();
    }
    all.sort_by(|a, b| b.count.cmp(&a.count).then_with(|| a.signature.cmp(&b.signature)));
    all
}

/// The signature a message is grouped by (see [`super::signature`]).
pub fn signature(message: &str) -> String {
    super::signature::of(message)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn varying_parts_are_masked_and_the_kind_of_error_kept() {
        let cases = [
            ("gemini: 503 Service Unavailable (model x-12)", "gemini: 503 Service Unavailable (model <id>)"),
            ("timeout after 30s.", "timeout after <duration>."),
            ("job 3f2b8c1e-9d4a-4e7b-a1c2-0f9e8d7c6b5a failed", "job <uuid> failed"),
            ("at 2024-03-05T10:00:00Z: boom", "at <time>: boom"),
            ("at 2024-03-05 10:00:00.123+00 boom", "at <time> <time> boom"),
            ("isbn 'ABC123' not found", "isbn '…' not found"),
            ("object deadbeef0042 missing at 0x7ffd", "object <id> missing at <id>"),
            ("rate   limited\n(429)", "rate limited (429)"),
            ("took 1.5ms, then 3min", "took <duration>, then <duration>"),
            ("no digits here", "no digits here"),
        ];
        for (message, expected) in cases {
            assert_eq!(signature(message), expected, "{message}");
        }
    }

    fn row(year: i32, month: i32, status: &str, retries: i32, error: Option<&str>) -> MonthRow {
        MonthRow {
            id: year * 100 + month,
            year,
            month,
            status: status.into(),
            retry_count: Some(retries),
            started_at: None,
            completed_at: None,
            last_retry_at: None,
            error: error.map(str::to_string),
        }
    }

    #[test]
    fn causes_count_statuses_months_and_the_retry_cap() {
        let rows = [
            row(2024, 3, "failed", 5, Some("gemini: 503 (model x-12)")),
            row(2024, 4, "retry", 2, Some("gemini: 503 (model y-7)")),
            row(2024, 5, "failed", 5, Some("gemini: 503 (model z-1)")),
            row(2023, 1, "failed", 1, Some("isbndb: 401 unauthorized")),
            row(2023, 2, "completed", 0, Some("old error")),
            row(2023, 3, "retry", 1, None),
        ];
        let all = causes(&rows);
        assert_eq!(all.len(), 3);
        let top = &all[0];
        assert_eq!((top.signature.as_str(), top.count, top.at_retry_cap), ("gemini: 503 (model <id>)", 3, 2));
        assert_eq!(top.month_ranges(), "2024-03..2024-05");
        assert_eq!(top.example, "gemini: 503 (model z-1)");
        assert_eq!(top.statuses[&Status::Failed], 2);
        assert_eq!(top.statuses[&Status::Retry], 1);
        assert!(all.iter().any(|c| c.signature == NO_MESSAGE && c.count == 1));
        assert!(!all.iter().any(|c| c.example == "old error"), "completed months are not failures");
        let json = serde_json::to_value(top).unwrap();
        assert_eq!(json["months"], serde_json::json!(["2024-03", "2024-04", "2024-05"]));
        assert_eq!(json["statuses"], serde_json::json!({"retry": 1, "failed": 2}));
    }
}
