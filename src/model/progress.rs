//! How far along the backfill is, how fast it goes, and when it will be done — from the
//! history the database already has (`completed_at`), never from how long the console ran.

use std::time::Duration;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::model::snapshot::MonthRow;
use crate::model::status::Status;
use crate::model::time::since;

/// Hourly buckets in the history (the last 24 h).
pub const HOURS: usize = 24;
/// Ten-minute buckets in the history (the last 2 h).
pub const TEN_MINUTES: usize = 12;
/// The recent window the rate and the ETA band are taken from.
const RATE_HOURS: usize = 6;
/// The current pace is taken over the last half hour …
const CURRENT_WINDOW: Duration = Duration::from_secs(1800);
/// … once at least this many months completed in it.
const CURRENT_MIN: usize = 3;

/// Completions and failures over time, as the database recorded them; read server-side
/// (so a console started a minute ago shows the whole day). Every list is oldest first
/// and its last bucket ends at `read_at`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct History {
    pub read_at: DateTime<Utc>,
    /// Months completed in each of the last 24 hours.
    pub hourly: Vec<i64>,
    /// Months completed in each ten minutes of the last 2 hours.
    pub ten_minutes: Vec<i64>,
    /// Months now `failed` or `retry` whose last failure (`last_retry_at`, else `started_at`)
    /// fell in each of the last 24 hours — as far as the table tells (a month that failed
    /// and then completed is no longer counted).
    pub failed_hourly: Vec<i64>,
    /// The newest `completed_at`.
    pub last_completed_at: Option<DateTime<Utc>>,
    /// The oldest `started_at` (read only when nothing ever completed: since when there
    /// has been work to judge a stall by).
    pub first_started_at: Option<DateTime<Utc>>,
}

/// The progress figures every layout, `snapshot --json` and `check` show.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Progress {
    /// Months `completed`.
    pub done: i64,
    /// Every month of the work list.
    pub total: i64,
    /// Months still to do: pending, retry and processing (failed ones wait for an operator).
    pub remaining: i64,
    /// The recent rate, months an hour: the pace of the last half hour when it saw at least
    /// three completions, else the median of the recent hours; `None`: too little to say.
    pub per_hour: Option<f64>,
    /// When the remaining months will be done at the faster recent rate (the 75th
    /// percentile of the buckets); `None`: not enough history.
    pub eta_low: Option<DateTime<Utc>>,
    /// … and at the slower one (the 25th percentile); `None`: not enough history, or the
    /// slower rate is zero (no upper bound can be given).
    pub eta_high: Option<DateTime<Utc>>,
    /// Work remains and nothing completed for at least the `stalled_after` threshold.
    pub stalled: bool,
    /// How long nothing has completed (when known).
    #[serde(skip)]
    pub quiet_for: Option<Duration>,
    /// The newest completion.
    pub last_completed_at: Option<DateTime<Utc>>,
}

impl Progress {
    /// Done as a share of the whole, 0..=1.
    pub fn ratio(&self) -> f64 {
        if self.total <= 0 { 0.0 } else { (self.done as f64 / self.total as f64).clamp(0.0, 1.0) }
    }
}

/// The progress of `months` as of `now`, given the database's `history` (if read yet).
pub fn progress(
    months: &[MonthRow],
    history: Option<&History>,
    now: DateTime<Utc>,
    stalled_after: Duration,
) -> Progress {
    let count = |wanted: &[Status]| months.iter().filter(|m| wanted.contains(&m.status)).count() as i64;
    let done = count(&[Status::Completed]);
    let remaining = count(&[Status::Pending, Status::Retry, Status::Processing]);
    let total = months.len() as i64;
    let current = current_pace(months, now);
    let mut rates = history.and_then(recent_rates);
    if current.is_some()
        && let Some(r) = &mut rates
    {
        // Running now: hours with no completion were a stall (STALLED says so), not the pace.
        r.retain(|x| *x > 0.0);
    }
    let eta = |rate: f64| (rate > 0.0).then(|| now + hours(remaining as f64 / rate));
    let (per_hour, eta_low, eta_high) = match (rates.filter(|r| !r.is_empty()), current) {
        _ if remaining == 0 => (current, Some(now), Some(now)),
        // The band: one end at the current pace, the other at the recent hours' (the faster
        // of them when the pace rose, the slower when it fell): it follows a change within the hour.
        (Some(r), Some(c)) => {
            let (fast, slow) = (c.max(quantile(&r, 0.75)), c.min(quantile(&r, 0.25)));
            (Some(c), eta(fast), eta(slow))
        }
        (Some(r), None) => (Some(quantile(&r, 0.5)), eta(quantile(&r, 0.75)), eta(quantile(&r, 0.25))),
        (None, c) => (c, None, None),
    };
    // The newest completion: the months read this refresh know it as well as the history
    // (read once a minute), and fresher; nothing ever completed: since the first start.
    // (`None` orders below any time: the max is the newest known.)
    let last_completed_at =
        months.iter().filter_map(|m| m.completed_at).max().max(history.and_then(|h| h.last_completed_at));
    let first_started = months.iter().filter_map(|m| m.started_at).min();
    let first_started = match (first_started, history.and_then(|h| h.first_started_at)) {
        (Some(a), Some(b)) => Some(a.min(b)),
        (a, b) => a.or(b),
    };
    let quiet_for = last_completed_at.or(first_started).map(|at| since(at, now));
    let stalled = remaining > 0 && quiet_for.is_some_and(|d| d >= stalled_after);
    Progress { done, total, remaining, per_hour, eta_low, eta_high, stalled, quiet_for, last_completed_at }
}

/// Months an hour over the last half hour (or since the oldest of its completions' months
/// started, when that is later), once it saw at least [`CURRENT_MIN`] completions.
fn current_pace(months: &[MonthRow], now: DateTime<Utc>) -> Option<f64> {
    let window = chrono::Duration::from_std(CURRENT_WINDOW).ok()?;
    let recent: Vec<&MonthRow> =
        months.iter().filter(|m| m.completed_at.is_some_and(|at| at > now - window && at <= now)).collect();
    if recent.len() < CURRENT_MIN {
        return None;
    }
    let started = recent.iter().filter_map(|m| m.started_at).min().map_or(now - window, |s| s.max(now - window));
    let hours = (now - started).num_seconds().max(60) as f64 / 3600.0;
    Some(recent.len() as f64 / hours)
}

/// Months an hour in each recent bucket, from the first bucket with a completion on (the
/// backfill had not started before it); the hourly buckets when at least two hours have
/// data, else the ten-minute ones (at least three); `None` when there is too little to say.
fn recent_rates(h: &History) -> Option<Vec<f64>> {
    let from_first = |buckets: &[i64], per_hour: f64| -> Vec<f64> {
        buckets.iter().skip_while(|n| **n == 0).map(|n| *n as f64 * per_hour).collect()
    };
    let hourly = from_first(&h.hourly[h.hourly.len().saturating_sub(RATE_HOURS)..], 1.0);
    if hourly.len() >= 2 {
        return Some(hourly);
    }
    let recent = from_first(&h.ten_minutes, 6.0);
    (recent.len() >= 3).then_some(recent)
}

/// The `q` quantile (0..=1) of `values`, linearly interpolated.
fn quantile(values: &[f64], q: f64) -> f64 {
    let mut sorted = values.to_vec();
    sorted.sort_by(f64::total_cmp);
    let Some(last) = sorted.len().checked_sub(1) else { return 0.0 };
    let at = q.clamp(0.0, 1.0) * last as f64;
    let (lo, hi) = (at.floor() as usize, at.ceil() as usize);
    sorted[lo] + (sorted[hi] - sorted[lo]) * (at - lo as f64)
}

fn hours(h: f64) -> chrono::Duration {
    // Capped at ten years: a crawl of 0.001 months an hour is not a date.
    chrono::Duration::seconds((h * 3600.0).min(10.0 * 365.0 * 86400.0) as i64)
}

#[cfg(test)]
#[path = "progress_tests.rs"]
mod tests;
