//! The month advisory-lock key shared with the existing TypeScript fleet:
//! `year * 100 + month` as ONE bigint (`pg_try_advisory_lock(202401::bigint)`).
//! In `pg_locks` a bigint key `k` shows as `classid = k >> 32`, `objid = k & 0xffffffff`,
//! `objsubid = 1`; the two-int4 form shows `objsubid = 2`.

use serde::{Deserialize, Serialize};

pub const MIN_YEAR: i32 = 1900;
pub const MAX_YEAR: i32 = 2100;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct YearMonth {
    pub year: i32,
    pub month: i32,
}

impl YearMonth {
    pub fn new(year: i32, month: i32) -> Option<Self> {
        ((MIN_YEAR..=MAX_YEAR).contains(&year) && (1..=12).contains(&month)).then_some(Self { year, month })
    }

    /// The advisory-lock key.
    pub fn lock_key(self) -> i64 {
        i64::from(self.year) * 100 + i64::from(self.month)
    }

    /// The month a key stands for, when it is a valid month key.
    pub fn from_lock_key(key: i64) -> Option<Self> {
        let year = i32::try_from(key.div_euclid(100)).ok()?;
        let month = i32::try_from(key.rem_euclid(100)).ok()?;
        Self::new(year, month)
    }

    /// Months are ordered by an index (`year * 12 + month - 1`) for ranges.
    pub fn index(self) -> i32 {
        self.year * 12 + self.month - 1
    }

    /// Parses `YYYY-MM`.
    pub fn parse(text: &str) -> Option<Self> {
        let (y, m) = text.trim().split_once('-')?;
        if y.len() != 4 || m.is_empty() || m.len() > 2 {
            return None;
        }
        Self::new(y.parse().ok()?, m.parse().ok()?)
    }
}

impl std::fmt::Display for YearMonth {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{:04}-{:02}", self.year, self.month)
    }
}

/// What an advisory lock in `pg_locks` is, from this console's point of view.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum LockClass {
    /// A month lock of the backfill fleet in this database.
    Month { year: i32, month: i32, key: i64 },
    /// Somebody else's: another key, the two-int4 form, or another database.
    Foreign { why: ForeignWhy },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ForeignWhy {
    TwoIntForm,
    NotAMonthKey,
    OtherDatabase,
}

/// Classifies one advisory `pg_locks` row.
pub fn classify(classid: u32, objid: u32, objsubid: i16, in_this_database: bool) -> LockClass {
    if objsubid != 1 {
        return LockClass::Foreign { why: ForeignWhy::TwoIntForm };
    }
    let key = (i64::from(classid) << 32) | i64::from(objid);
    match YearMonth::from_lock_key(key) {
        None => LockClass::Foreign { why: ForeignWhy::NotAMonthKey },
        Some(_) if !in_this_database => LockClass::Foreign { why: ForeignWhy::OtherDatabase },
        Some(ym) => LockClass::Month { year: ym.year, month: ym.month, key },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_every_month() {
        for year in MIN_YEAR..=MAX_YEAR {
            for month in 1..=12 {
                let ym = YearMonth::new(year, month).unwrap();
                assert_eq!(YearMonth::from_lock_key(ym.lock_key()), Some(ym));
            }
        }
        assert_eq!(YearMonth::new(2024, 1).unwrap().lock_key(), 202401);
    }

    #[test]
    fn invalid_keys_are_not_months() {
        for key in [0, 5, 202400, 202413, 189912, 210101, -202401, i64::MAX, i64::MIN] {
            assert_eq!(YearMonth::from_lock_key(key), None, "{key}");
        }
    }

    #[test]
    fn pg_locks_rows_are_classified() {
        assert_eq!(classify(0, 202403, 1, true), LockClass::Month { year: 2024, month: 3, key: 202403 });
        assert_eq!(classify(0, 202403, 2, true), LockClass::Foreign { why: ForeignWhy::TwoIntForm });
        assert_eq!(classify(0, 42, 1, true), LockClass::Foreign { why: ForeignWhy::NotAMonthKey });
        assert_eq!(classify(1, 202403, 1, true), LockClass::Foreign { why: ForeignWhy::NotAMonthKey });
        assert_eq!(classify(0, 202403, 1, false), LockClass::Foreign { why: ForeignWhy::OtherDatabase });
    }

    #[test]
    fn parse_year_month() {
        assert_eq!(YearMonth::parse("2000-01"), YearMonth::new(2000, 1));
        assert_eq!(YearMonth::parse("2024-12").map(|m| m.to_string()).as_deref(), Some("2024-12"));
        for bad in ["2024-13", "24-01", "2024", "2024-", "abcd-01", "2101-01", "2024-001"] {
            assert_eq!(YearMonth::parse(bad), None, "{bad}");
        }
    }
}
