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

/// The message with its varying parts masked: `<n>`, `<uuid>`, `<hex>`, `<time>`,
/// `<duration>`, `<id>` (a word with digits in it) and `'…'` for quoted values;
/// whitespace folded.
pub fn signature(message: &str) -> String {
    let chars: Vec<char> = message.chars().collect();
    let mut out = String::with_capacity(message.len());
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        if matches!(c, '\'' | '"' | '`')
            && let Some(len) = chars[i + 1..].iter().position(|&d| d == c)
        {
            out.push(c);
            out.push('…');
            out.push(c);
            i += len + 2;
        } else if is_word(c) {
            let start = i;
            while i < chars.len() && is_word(chars[i]) {
                i += 1;
            }
            let word: String = chars[start..i].iter().collect();
            // Sentence punctuation stays outside the word ("after 30s." / "id 42:").
            let trimmed = word.trim_end_matches(['.', ':', ',', '-', '+']);
            out.push_str(&mask(trimmed));
            out.push_str(&word[trimmed.len()..]);
        } else if c.is_whitespace() {
            if !out.ends_with(' ') {
                out.push(' ');
            }
            i += 1;
        } else {
            out.push(c);
            i += 1;
        }
    }
    out.trim().to_string()
}

fn is_word(c: char) -> bool {
    c.is_alphanumeric() || matches!(c, '-' | '_' | '.' | ':' | '+')
}

/// A word as it stands in a signature.
fn mask(word: &str) -> String {
    if !word.chars().any(|c| c.is_ascii_digit()) {
        return word.to_string();
    }
    let kind = if is_uuid(word) {
        "<uuid>"
    } else if is_time(word) {
        "<time>"
    } else if is_duration(word) {
        "<duration>"
    } else if word.chars().all(|c| c.is_ascii_digit() || matches!(c, '.' | ',' | '-' | '+')) {
        "<n>"
    } else if is_hex(word) {
        "<hex>"
    } else {
        "<id>"
    };
    kind.to_string()
}

fn is_uuid(word: &str) -> bool {
    word.len() == 36
        && word.char_indices().all(|(i, c)| if [8, 13, 18, 23].contains(&i) { c == '-' } else { c.is_ascii_hexdigit() })
}

/// `2024-03-05`, `2024-03-05T10:00:00Z`, `10:00:00.123`, with offsets.
fn is_time(word: &str) -> bool {
    let b = word.as_bytes();
    let digits = |r: std::ops::Range<usize>| b.get(r).is_some_and(|s| s.iter().all(u8::is_ascii_digit));
    let date = digits(0..4) && b.get(4) == Some(&b'-') && digits(5..7) && b.get(7) == Some(&b'-') && digits(8..10);
    let clock = digits(0..2) && b.get(2) == Some(&b':') && digits(3..5);
    date || clock
}

/// `30s`, `1.5ms`, `10m`, `2h`, `500µs`, `3min`, `5sec`, `4days`.
fn is_duration(word: &str) -> bool {
    let unit_at = word.find(|c: char| !(c.is_ascii_digit() || c == '.')).unwrap_or(word.len());
    let (number, unit) = word.split_at(unit_at);
    !number.is_empty()
        && number.chars().next().is_some_and(|c| c.is_ascii_digit())
        && [
            "ns", "us", "µs", "ms", "s", "sec", "secs", "second", "seconds", "m", "min", "mins", "minute", "minutes",
            "h", "hr", "hrs", "hour", "hours", "d", "day", "days",
        ]
        .contains(&unit.to_ascii_lowercase().as_str())
}

/// `0xdeadbeef`, or 8+ hex digits with at least one letter and one digit (a commit, an object id).
fn is_hex(word: &str) -> bool {
    if let Some(rest) = word.strip_prefix("0x").or_else(|| word.strip_prefix("0X")) {
        return !rest.is_empty() && rest.chars().all(|c| c.is_ascii_hexdigit());
    }
    word.len() >= 8 && word.chars().all(|c| c.is_ascii_hexdigit()) && word.chars().any(|c| c.is_ascii_alphabetic())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn varying_parts_are_masked() {
        let cases = [
            ("gemini: 503 Service Unavailable (model x-12)", "gemini: <n> Service Unavailable (model <id>)"),
            ("timeout after 30s.", "timeout after <duration>."),
            ("job 3f2b8c1e-9d4a-4e7b-a1c2-0f9e8d7c6b5a failed", "job <uuid> failed"),
            ("at 2024-03-05T10:00:00Z: boom", "at <time>: boom"),
            ("at 2024-03-05 10:00:00.123+00 boom", "at <time> <time> boom"),
            ("isbn 'ABC123' not found", "isbn '…' not found"),
            ("object deadbeef0042 missing at 0x7ffd", "object <hex> missing at <hex>"),
            ("rate   limited\n(429)", "rate limited (<n>)"),
            ("took 1.5ms, then 3min", "took <duration>, then <duration>"),
            ("no digits here", "no digits here"),
        ];
        for (message, expected) in cases {
            assert_eq!(signature(message), expected, "{message}");
        }
    }

    #[test]
    fn messages_that_differ_only_in_ids_fold_together_and_other_causes_stay_apart() {
        let a = signature("gemini: 503 Service Unavailable (model gemini-1.5) after 12s, request 8f1e2d3c4b5a6978");
        let b = signature("gemini: 503 Service Unavailable (model gemini-2.0) after 31s, request 0a1b2c3d4e5f6071");
        assert_eq!(a, b);
        assert_ne!(a, signature("gemini: 429 Too Many Requests (model gemini-1.5) after 12s"));
        assert_ne!(signature("isbndb: not found"), signature("isbndb: forbidden"));
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
        assert_eq!((top.signature.as_str(), top.count, top.at_retry_cap), ("gemini: <n> (model <id>)", 3, 2));
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
