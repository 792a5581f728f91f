//! Claim parameters and their validation (SPEC §2 step 1).

use std::time::Duration;

use serde::Serialize;

use crate::model::lock_key::{MAX_YEAR, MIN_YEAR, YearMonth};
use crate::model::status::Status;

pub const MAX_BATCH: i64 = 50;

/// An inclusive range of years, scanned newest first.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct YearRange {
    pub from: i32,
    pub to: i32,
}

impl YearRange {
    /// Parses `2000..2024` (oldest..newest, both included).
    pub fn parse(text: &str) -> Result<Self, String> {
        let (a, b) = text
            .split_once("..")
            .ok_or_else(|| format!("--years `{text}`: expected OLDEST..NEWEST, e.g. 2000..2024"))?;
        let year = |s: &str| {
            s.trim().parse::<i32>().map_err(|_| format!("--years `{text}`: `{s}` is not a year")).and_then(|y| {
                if (MIN_YEAR..=MAX_YEAR).contains(&y) {
                    Ok(y)
                } else {
                    Err(format!("--years `{text}`: {y} is outside {MIN_YEAR}..{MAX_YEAR}"))
                }
            })
        };
        let (from, to) = (year(a)?, year(b)?);
        if from > to {
            return Err(format!("--years `{text}`: the first year is after the second; write {to}..{from}"));
        }
        Ok(Self { from, to })
    }
}

impl Default for YearRange {
    fn default() -> Self {
        Self { from: 2000, to: 2024 }
    }
}

impl std::fmt::Display for YearRange {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}..{}", self.from, self.to)
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ClaimParams {
    /// 1–50.
    pub batch_size: i64,
    pub years: YearRange,
    /// Also takes `failed` months whose `retry_count` is below [`RETRY_CAP`](crate::model::RETRY_CAP).
    pub force_retry: bool,
    /// Reports candidates and whether each lock is free; changes nothing.
    pub dry_run: bool,
    /// How long to keep trying one month's lock (0 = one try).
    #[serde(with = "millis")]
    pub lock_wait: Duration,
    /// The longest pause between two tries. The first retry comes after
    /// [`FIRST_RETRY`] and each pause doubles up to this: a lock held by another
    /// claimer's transaction is usually free again within milliseconds.
    #[serde(with = "millis")]
    pub lock_retry_interval: Duration,
    /// Only these months (empty: every month of the year range). The same routine,
    /// the same guards; the year range must cover them.
    #[serde(skip_serializing_if = "Vec::is_empty", serialize_with = "crate::model::months::as_text::serialize")]
    pub months: Vec<YearMonth>,
}

/// The first pause before a busy month's lock is tried again.
pub const FIRST_RETRY: Duration = Duration::from_millis(5);

impl ClaimParams {
    /// The pause before retry number `n` (0-based): 5 ms doubling up to the interval.
    pub fn retry_pause(&self, n: u32) -> Duration {
        FIRST_RETRY.saturating_mul(1u32 << n.min(16)).min(self.lock_retry_interval)
    }
}

impl Default for ClaimParams {
    fn default() -> Self {
        Self {
            batch_size: 10,
            years: YearRange::default(),
            force_retry: false,
            dry_run: false,
            lock_wait: Duration::from_secs(10),
            lock_retry_interval: Duration::from_millis(100),
            months: Vec::new(),
        }
    }
}

/// Why a claim's parameters cannot be run, each said in one line.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ParamsError {
    #[error("batch size {0} is outside 1..{MAX_BATCH}")]
    Batch(i64),
    #[error("year range {0} is reversed")]
    YearsReversed(YearRange),
    #[error("lock retry interval must be above zero")]
    NoRetryInterval,
    #[error("month {month} is outside the year range {years}")]
    MonthOutside { month: YearMonth, years: YearRange },
    #[error("no month given")]
    NoMonth,
    #[error("{0} months: a claim takes at most {MAX_BATCH} at once")]
    TooManyMonths(i64),
}

impl ClaimParams {
    pub fn validate(&self) -> Result<(), ParamsError> {
        if !(1..=MAX_BATCH).contains(&self.batch_size) {
            return Err(ParamsError::Batch(self.batch_size));
        }
        if self.years.from > self.years.to {
            return Err(ParamsError::YearsReversed(self.years));
        }
        if self.lock_retry_interval.is_zero() && !self.lock_wait.is_zero() {
            return Err(ParamsError::NoRetryInterval);
        }
        if let Some(outside) = self.months.iter().find(|m| !(self.years.from..=self.years.to).contains(&m.year)) {
            return Err(ParamsError::MonthOutside { month: *outside, years: self.years });
        }
        Ok(())
    }

    /// The claim restricted to `months`: the year range covering them, a batch of all of them.
    pub fn for_months(months: Vec<YearMonth>) -> Result<Self, ParamsError> {
        let (Some(first), Some(last)) = (months.iter().min(), months.iter().max()) else {
            return Err(ParamsError::NoMonth);
        };
        let batch = i64::try_from(months.len()).unwrap_or(i64::MAX);
        if batch > MAX_BATCH {
            return Err(ParamsError::TooManyMonths(batch));
        }
        let years = YearRange { from: first.year, to: last.year };
        Ok(Self { batch_size: batch, years, months, ..Self::default() })
    }

    /// The month keys (`year * 100 + month`) the claim is restricted to, `None` for all.
    pub fn month_keys(&self) -> Option<Vec<i32>> {
        (!self.months.is_empty()).then(|| self.months.iter().map(|m| m.year * 100 + m.month).collect())
    }

    /// The statuses a month may have to be claimed.
    pub fn claimable_statuses(&self) -> Vec<Status> {
        let mut statuses = vec![Status::Pending, Status::Retry];
        if self.force_retry {
            statuses.push(Status::Failed);
        }
        statuses
    }
}

mod millis {
    use std::time::Duration;

    pub fn serialize<S: serde::Serializer>(d: &Duration, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_u64(u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn year_ranges() {
        assert_eq!(YearRange::parse("2000..2024"), Ok(YearRange { from: 2000, to: 2024 }));
        assert_eq!(YearRange::parse("2024..2024"), Ok(YearRange { from: 2024, to: 2024 }));
        let err = YearRange::parse("2030..2000").unwrap_err();
        assert!(err.contains("write 2000..2030"), "{err}");
        assert!(YearRange::parse("1800..2000").unwrap_err().contains("outside"));
        assert!(YearRange::parse("2000-2024").unwrap_err().contains("OLDEST..NEWEST"));
        assert!(YearRange::parse("x..2000").unwrap_err().contains("not a year"));
    }

    #[test]
    fn batch_bounds() {
        for (n, ok) in [(0, false), (1, true), (50, true), (51, false), (-3, false)] {
            let p = ClaimParams { batch_size: n, ..ClaimParams::default() };
            assert_eq!(p.validate().is_ok(), ok, "{n}");
        }
    }

    #[test]
    fn statuses_follow_force_retry() {
        assert_eq!(ClaimParams::default().claimable_statuses(), [Status::Pending, Status::Retry]);
        let p = ClaimParams { force_retry: true, ..ClaimParams::default() };
        assert_eq!(p.claimable_statuses(), [Status::Pending, Status::Retry, Status::Failed]);
    }

    #[test]
    fn retry_pauses_start_short_and_double_up_to_the_interval() {
        let p = ClaimParams::default();
        let ms: Vec<u128> = (0..8).map(|n| p.retry_pause(n).as_millis()).collect();
        assert_eq!(ms, [5, 10, 20, 40, 80, 100, 100, 100]);
        assert_eq!(p.retry_pause(u32::MAX), Duration::from_millis(100));
    }
}
