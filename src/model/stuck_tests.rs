use super::*;
use crate::model::fixtures::{lock, month, session, snapshot, t};
use crate::model::hold::HoldBasis;

#[test]
fn an_idle_holder_of_a_completed_month_is_leaked_after_thirty_seconds() {
    let months = vec![month(1, "completed", Some(-500))];
    let th = shipped();
    // Idle for 20 s: not yet.
    let s = snapshot(0, months.clone(), vec![lock(7, 202401, 1, session(7, "idle", -20))], 0);
    let a = assess(&s, &HoldTracker::default(), &th);
    assert!(a.locks[0].problems.is_empty());
    assert_eq!(a.locks[0].hold.unwrap().basis, HoldBasis::IdleSince);
    // Idle for 31 s: leaked.
    let s = snapshot(0, months, vec![lock(7, 202401, 1, session(7, "idle", -31))], 0);
    let a = assess(&s, &HoldTracker::default(), &th);
    assert_eq!(a.locks[0].problems, [LockProblem::Leaked { month_status: Some(crate::model::Status::Completed) }]);
    assert_eq!(a.overall, Level::Warning);
}

#[test]
fn an_active_holder_is_judged_by_observed_time_across_snapshots() {
    let months = vec![month(1, "pending", None)];
    let l = lock(7, 202401, 1, session(7, "active", -1));
    let mut holds = HoldTracker::default();
    let first = snapshot(0, months.clone(), vec![l.clone()], 0);
    holds.observe(&first);
    assert!(assess(&first, &holds, &shipped()).locks[0].problems.is_empty());
    let later = snapshot(45, months, vec![l], 0);
    holds.observe(&later);
    let a = assess(&later, &holds, &shipped());
    let hold = a.locks[0].hold.unwrap();
    assert_eq!((hold.basis, hold.at_least.as_secs()), (HoldBasis::Observed, 45));
    assert!(matches!(a.locks[0].problems[0], LockProblem::Leaked { .. }));
}

#[test]
fn a_reused_pid_restarts_the_observation() {
    let months = vec![month(1, "processing", Some(-10))];
    let mut holds = HoldTracker::default();
    let mut l = lock(7, 202401, 1, session(7, "active", 0));
    holds.observe(&snapshot(0, months.clone(), vec![l.clone()], 0));
    // Same pid, new backend_start: a different session.
    if let Some(h) = l.holder.as_mut() {
        h.backend_start = Some(t(50));
    }
    let s = snapshot(100, months, vec![l], 0);
    holds.observe(&s);
    assert_eq!(holds.estimate(&s.locks[0], s.taken_at).unwrap().at_least.as_secs(), 0);
    assert_eq!(holds.len(), 1, "the vanished session was forgotten");
}

#[test]
fn a_consumer_working_a_processing_month_is_normal_until_overdue() {
    let months = vec![month(1, "processing", Some(-600))];
    let working = lock(7, 202401, 1, session(7, "idle", -600));
    let a = assess(&snapshot(0, months.clone(), vec![working], 0), &HoldTracker::default(), &shipped());
    assert!(a.locks[0].problems.is_empty(), "idle between API calls is normal");
    let overdue = lock(7, 202401, 1, session(7, "idle", -3600));
    let a = assess(&snapshot(0, months, vec![overdue], 0), &HoldTracker::default(), &shipped());
    assert_eq!(a.locks[0].problems, [LockProblem::Overdue]);
}

#[test]
fn idle_in_transaction_for_five_minutes_is_flagged() {
    let months = vec![month(1, "processing", Some(-400))];
    let l = lock(7, 202401, 1, session(7, "idle in transaction", -301));
    let a = assess(&snapshot(0, months, vec![l], 0), &HoldTracker::default(), &shipped());
    assert!(matches!(a.locks[0].problems[..], [LockProblem::IdleInTransaction { .. }]));
}

#[test]
fn foreign_locks_and_waiters_are_never_stuck() {
    let months = vec![month(1, "completed", None)];
    let two_int = lock(8, 202401, 2, session(8, "idle", -9999));
    let other_key = lock(9, 42, 1, session(9, "idle", -9999));
    let mut waiter = lock(10, 202401, 1, session(10, "active", -9999));
    waiter.granted = false;
    let a = assess(&snapshot(0, months, vec![two_int, other_key, waiter], 0), &HoldTracker::default(), &shipped());
    assert!(a.locks.iter().all(|v| v.problems.is_empty()));
    assert_eq!(a.overall, Level::Ok);
}

#[test]
fn stuck_months_queue_and_failures_set_the_level() {
    let th = shipped();
    let months =
        vec![month(1, "processing", Some(-3600)), month(2, "processing", Some(-3599)), month(3, "processing", None)];
    let a = assess(&snapshot(0, months, vec![], 0), &HoldTracker::default(), &th);
    let stuck: Vec<i32> = a.stuck_months.iter().map(|m| m.month.month).collect();
    assert_eq!(stuck, [1, 3], "an hour or more, or no started_at");
    for (ready, level) in [(99, Level::Ok), (100, Level::Warning), (199, Level::Warning), (200, Level::Critical)] {
        assert_eq!(assess(&snapshot(0, vec![], vec![], ready), &HoldTracker::default(), &th).overall, level);
    }
    let failed = |n: i32| (1..=n).map(|m| month(m, "failed", None)).collect::<Vec<_>>();
    assert_eq!(assess(&snapshot(0, failed(5), vec![], 0), &HoldTracker::default(), &th).overall, Level::Ok);
    assert_eq!(assess(&snapshot(0, failed(6), vec![], 0), &HoldTracker::default(), &th).overall, Level::Warning);
}

#[test]
fn a_pooled_backend_that_moved_on_strands_a_processing_months_lock_after_leaked_after() {
    let months = vec![month(3, "processing", Some(-100))];
    let th = Thresholds { poolers: vec!["10.0.0.5".into()], ..shipped() };
    let mut holds = HoldTracker::default();
    // First seen at t=0, the holder's last query at -5.
    let first = snapshot(0, months.clone(), vec![lock(7, 202403, 1, session(7, "idle", -5))], 0);
    holds.observe(&first);
    // 40 s later: the same backend ran another client's query at +35 — the lock stayed: stranded.
    let moved = snapshot(40, months.clone(), vec![lock(7, 202403, 1, session(7, "idle", 35))], 0);
    holds.observe(&moved);
    let a = assess(&moved, &holds, &th);
    assert_eq!(a.locks[0].problems, [LockProblem::Stranded { pooler: "10.0.0.5".into() }]);
    assert_eq!(a.locks[0].problems[0].describe(), "STRANDED on a pooled connection (via pooler 10.0.0.5)");
    // Not moved on (a consumer idle while it calls an API): not stranded.
    let still = snapshot(40, months.clone(), vec![lock(7, 202403, 1, session(7, "idle", -5))], 0);
    assert!(assess(&still, &holds, &th).locks[0].problems.is_empty());
    // Not through a known pooler: not stranded.
    let direct = shipped();
    assert!(assess(&moved, &holds, &direct).locks[0].problems.is_empty());
    // Moved on, but not yet held past leaked_after: not yet.
    let mut fresh = HoldTracker::default();
    fresh.observe(&snapshot(30, months.clone(), vec![lock(7, 202403, 1, session(7, "idle", 29))], 0));
    let early = snapshot(40, months, vec![lock(7, 202403, 1, session(7, "idle", 35))], 0);
    fresh.observe(&early);
    assert!(assess(&early, &fresh, &th).locks[0].problems.is_empty());
}

#[test]
fn a_month_lock_held_by_the_reading_backend_itself_is_stranded_at_once() {
    let months = vec![month(4, "processing", Some(-100))];
    // Our snapshot ran on backend 9, which holds 2024-04: a pooler handed us a backend with a lock on it.
    let mut s = snapshot(0, months, vec![lock(9, 202404, 1, session(9, "active", 0))], 0);
    s.reader_pid = Some(9);
    let a = assess(&s, &HoldTracker::default(), &shipped());
    assert_eq!(a.locks[0].problems, [LockProblem::Stranded { pooler: "10.0.0.5".into() }]);
    // Read by another backend: a consumer working on its month, nothing wrong.
    s.reader_pid = Some(8);
    assert!(assess(&s, &HoldTracker::default(), &shipped()).locks[0].problems.is_empty());
}

/// The thresholds the product ships with (`assets/default-config.toml`).
fn shipped() -> Thresholds {
    crate::config::Config::builtin().unwrap().thresholds
}
