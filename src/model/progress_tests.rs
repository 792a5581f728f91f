use chrono::{DateTime, TimeZone, Utc};

use super::*;

fn t(secs: i64) -> DateTime<Utc> {
    Utc.timestamp_opt(1_700_000_000 + secs, 0).unwrap()
}

fn months(pending: usize, processing: usize, completed: usize, failed: usize) -> Vec<MonthRow> {
    let mut all = Vec::new();
    for (n, status) in [(pending, "pending"), (processing, "processing"), (completed, "completed"), (failed, "failed")]
    {
        for _ in 0..n {
            let i = all.len() as i32;
            all.push(MonthRow {
                id: i,
                year: 2000 + i / 12,
                month: i % 12 + 1,
                status: status.into(),
                retry_count: Some(0),
                started_at: None,
                completed_at: None,
                last_retry_at: None,
                error: None,
            });
        }
    }
    all
}

fn history(hourly: &[i64], last_completed: Option<i64>) -> History {
    let mut h = vec![0; HOURS - hourly.len()];
    h.extend_from_slice(hourly);
    History {
        read_at: t(0),
        hourly: h,
        ten_minutes: vec![0; TEN_MINUTES],
        failed_hourly: vec![0; HOURS],
        last_completed_at: last_completed.map(t),
        first_started_at: None,
    }
}

const HALF_HOUR: Duration = Duration::from_secs(1800);

#[test]
fn counts_done_total_and_remaining() {
    let p = progress(&months(3, 2, 4, 1), None, t(0), HALF_HOUR);
    assert_eq!((p.done, p.total, p.remaining), (4, 10, 5));
    assert!((p.ratio() - 0.4).abs() < 1e-9);
    // No history yet: no rate, no ETA, no stall claimed.
    assert_eq!((p.per_hour, p.eta_low, p.eta_high, p.stalled), (None, None, None, false));
}

#[test]
fn the_eta_band_is_the_remaining_months_at_the_faster_and_the_slower_recent_rate() {
    // 100 months left; the last six hours ran at 18, 22, 18, 22, 18, 22 an hour (20 on average).
    let h = history(&[18, 22, 18, 22, 18, 22], Some(-60));
    let p = progress(&months(100, 0, 120, 0), Some(&h), t(0), HALF_HOUR);
    assert_eq!(p.per_hour, Some(20.0));
    let (low, high) = (p.eta_low.unwrap(), p.eta_high.unwrap());
    // At 20 an hour the work ends in 5 h: inside the band, which is not a point.
    let truth = t(5 * 3600);
    assert!(low <= truth && truth <= high && low < high, "{low} .. {high}");
    assert_eq!(low, t((100.0 / 22.0 * 3600.0) as i64));
    assert_eq!(high, t((100.0 / 18.0 * 3600.0) as i64));
    assert!(!p.stalled);
}

#[test]
fn hours_before_the_first_completion_do_not_drag_the_rate_down() {
    // Started two hours ago: four empty hours before, then 30 and 30.
    let p = progress(&months(60, 0, 60, 0), Some(&history(&[30, 30], Some(-10))), t(0), HALF_HOUR);
    assert_eq!(p.per_hour, Some(30.0));
    assert_eq!(p.eta_low, Some(t(7200)));
}

#[test]
fn too_little_history_gives_no_eta_rather_than_a_false_one() {
    // One hour with data, and no ten-minute buckets to fall back on.
    let p = progress(&months(60, 0, 5, 0), Some(&history(&[5], Some(-10))), t(0), HALF_HOUR);
    assert_eq!((p.per_hour, p.eta_low, p.eta_high), (None, None, None));
    // Three ten-minute buckets are enough: 4, 5, 6 per ten minutes = 24, 30, 36 an hour.
    let mut h = history(&[15], Some(-10));
    h.ten_minutes[TEN_MINUTES - 3..].copy_from_slice(&[4, 5, 6]);
    let p = progress(&months(60, 0, 15, 0), Some(&h), t(0), HALF_HOUR);
    assert_eq!(p.per_hour, Some(30.0));
}

#[test]
fn a_slower_rate_of_zero_leaves_the_band_open_above() {
    let p = progress(&months(10, 0, 10, 0), Some(&history(&[10, 0, 10, 0], Some(-4000))), t(0), HALF_HOUR);
    assert!(p.eta_low.is_some());
    assert_eq!(p.eta_high, None);
}

#[test]
fn stalled_when_work_remains_and_nothing_completed_for_the_threshold() {
    let h = history(&[10, 10, 0], Some(-1801));
    assert!(progress(&months(5, 1, 20, 0), Some(&h), t(0), HALF_HOUR).stalled);
    // Not when it completed recently, nor when nothing remains (failed months wait for an operator).
    assert!(!progress(&months(5, 1, 20, 0), Some(&history(&[10], Some(-60))), t(0), HALF_HOUR).stalled);
    assert!(!progress(&months(0, 0, 20, 3), Some(&h), t(0), HALF_HOUR).stalled);
    // Nothing ever completed: judged from the first start; no start at all: not judged.
    let mut never = history(&[], None);
    assert!(!progress(&months(5, 0, 0, 0), Some(&never), t(0), HALF_HOUR).stalled);
    never.first_started_at = Some(t(-3600));
    let p = progress(&months(5, 0, 0, 0), Some(&never), t(0), HALF_HOUR);
    assert!(p.stalled && p.quiet_for == Some(Duration::from_secs(3600)));
}

#[test]
fn a_completion_in_this_refresh_counts_before_the_history_catches_up() {
    // The history (read a minute ago) last saw a completion 3 h back; this refresh's months
    // show one a minute ago: not stalled, and that is the last completion.
    let h = history(&[10, 0, 0], Some(-3 * 3600));
    let mut m = months(5, 1, 20, 0);
    m[7].completed_at = Some(t(-60));
    let p = progress(&m, Some(&h), t(0), HALF_HOUR);
    assert!(!p.stalled);
    assert_eq!(p.last_completed_at, Some(t(-60)));
    // Without any history read yet, the months alone judge it.
    let p = progress(&m, None, t(0), HALF_HOUR);
    assert_eq!((p.stalled, p.quiet_for), (false, Some(Duration::from_secs(60))));
}

/// `n` months completed in the last `minutes`, each started a minute before it completed.
fn completed_recently(m: &mut [MonthRow], n: usize, minutes: i64) {
    for (i, row) in m.iter_mut().filter(|r| r.status == "completed".into()).take(n).enumerate() {
        let at = -(minutes * 60) + (i as i64 * minutes * 60) / n as i64;
        row.started_at = Some(t(at - 60));
        row.completed_at = Some(t(at));
    }
}

#[test]
fn a_fixed_stall_shows_the_new_pace_within_minutes() {
    // Twenty an hour, then three hours of nothing (a stall), then 60 months in three minutes.
    let h = history(&[20, 20, 20, 0, 0, 0], Some(-3 * 3600));
    let mut m = months(100, 4, 120, 0);
    completed_recently(&mut m, 60, 3);
    let p = progress(&m, Some(&h), t(0), HALF_HOUR);
    assert!(!p.stalled);
    let rate = p.per_hour.unwrap();
    assert!(rate > 500.0, "the current pace, not the stall's: {rate}");
    let (low, high) = (p.eta_low.unwrap(), p.eta_high.unwrap());
    // 104 left: within the hour at the new pace, a few hours at the slower recent one.
    assert!(low < t(3600), "{low}");
    assert!(high < t(12 * 3600) && high > low, "no longer days: {high}");
}

#[test]
fn the_rate_follows_a_slowdown_within_the_hour() {
    // Sixty an hour for six hours; the last half hour only three completed.
    let h = history(&[60, 60, 60, 60, 60, 60], Some(-120));
    let mut m = months(100, 2, 400, 0);
    completed_recently(&mut m, 3, 29);
    let p = progress(&m, Some(&h), t(0), HALF_HOUR);
    let rate = p.per_hour.unwrap();
    assert!((5.0..=7.0).contains(&rate), "the last half hour's pace: {rate}");
    // The band's near end stays the faster recent hours, its far end the slow current pace.
    assert!(p.eta_high.unwrap() > t(10 * 3600), "{:?}", p.eta_high);
}
