//! The rows each table shows: filtered and sorted, as indices into the snapshot.

use crate::model::lock_key::YearMonth;
use crate::model::{Assessment, LockRow, MonthRow, Snapshot, Status};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum MonthSort {
    #[default]
    Newest,
    Status,
    LongestProcessing,
}

impl MonthSort {
    pub fn next(self) -> Self {
        match self {
            MonthSort::Newest => MonthSort::Status,
            MonthSort::Status => MonthSort::LongestProcessing,
            MonthSort::LongestProcessing => MonthSort::Newest,
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            MonthSort::Newest => "newest",
            MonthSort::Status => "status",
            MonthSort::LongestProcessing => "oldest start",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum LockSort {
    #[default]
    Stuck,
    Month,
    Pid,
}

impl LockSort {
    pub fn next(self) -> Self {
        match self {
            LockSort::Stuck => LockSort::Month,
            LockSort::Month => LockSort::Pid,
            LockSort::Pid => LockSort::Stuck,
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            LockSort::Stuck => "stuck first",
            LockSort::Month => "month",
            LockSort::Pid => "pid",
        }
    }
}

/// Case-insensitive match of every word of `filter` somewhere in `haystack`.
pub fn matches(haystack: &str, filter: &str) -> bool {
    if filter.trim().is_empty() {
        return true;
    }
    let hay = haystack.to_lowercase();
    filter.split_whitespace().all(|word| hay.contains(&word.to_lowercase()))
}

pub fn month_search_text(m: &MonthRow) -> String {
    format!("{:04}-{:02} {}", m.year, m.month, m.status)
}

pub fn lock_search_text(l: &LockRow) -> String {
    let month = l.month().map_or("foreign".to_string(), |m| m.to_string());
    let app = l.holder.as_ref().and_then(|h| h.application_name.clone()).unwrap_or_default();
    let pid = l.pid.map(|p| p.to_string()).unwrap_or_default();
    format!("{month} {app} {pid}")
}

/// Indices into `snapshot.months`: those matching `filter` and, when given, among `only`.
pub fn month_rows(snapshot: &Snapshot, filter: &str, only: Option<&[YearMonth]>, sort: MonthSort) -> Vec<usize> {
    let mut rows: Vec<usize> = (0..snapshot.months.len())
        .filter(|&i| filter.is_empty() || matches(&month_search_text(&snapshot.months[i]), filter))
        .filter(|&i| only.is_none_or(|only| snapshot.months[i].year_month().is_some_and(|m| only.contains(&m))))
        .collect();
    let m = &snapshot.months;
    match sort {
        MonthSort::Newest => {} // the snapshot is newest first
        MonthSort::Status => rows.sort_by_key(|&i| m[i].status.trouble_rank()),
        MonthSort::LongestProcessing => rows
            .sort_by_key(|&i| (m[i].status != Status::Processing, m[i].started_at.map_or(i64::MIN, |t| t.timestamp()))),
    }
    rows
}

/// Indices into `snapshot.locks` (and `assessment.locks`).
pub fn lock_rows(snapshot: &Snapshot, assessment: &Assessment, filter: &str, sort: LockSort) -> Vec<usize> {
    let mut rows: Vec<usize> = (0..snapshot.locks.len())
        .filter(|&i| filter.is_empty() || matches(&lock_search_text(&snapshot.locks[i]), filter))
        .collect();
    let l = &snapshot.locks;
    match sort {
        // Cached keys: a key is computed once per row, not once per comparison.
        LockSort::Stuck => rows.sort_by_cached_key(|&i| {
            let stuck = assessment.locks.get(i).is_some_and(|v| v.is_stuck());
            (!stuck, l[i].month().is_none(), l[i].month())
        }),
        LockSort::Month => rows.sort_by_cached_key(|&i| (l[i].month().is_none(), l[i].month(), l[i].pid)),
        LockSort::Pid => rows.sort_by_key(|&i| l[i].pid),
    }
    rows
}
