use chrono::{DateTime, TimeZone, Utc};

use super::*;
use crate::model::snapshot::{LockRow, MonthRow, QueueDepth, QueuedFor, SessionInfo};
use crate::model::stuck::{Thresholds, assess, assess_with};
use crate::model::{HoldTracker, Status};

fn t(secs: i64) -> DateTime<Utc> {
    Utc.timestamp_opt(1_700_000_000 + secs, 0).unwrap()
}

fn shipped() -> Thresholds {
    crate::config::Config::builtin().unwrap().thresholds
}

fn month(m: i32, status: &str, started: Option<i64>, error: Option<&str>) -> MonthRow {
    MonthRow {
        id: m,
        year: 2024,
        month: m,
        status: status.into(),
        retry_count: Some(1),
        started_at: started.map(t),
        completed_at: None,
        last_retry_at: None,
        error: error.map(str::to_string),
    }
}

/// A processing month's message: `read` times, enqueued and visible at these seconds.
fn queued(m: i32, msg: Option<(i64, i32, i64, i64)>) -> QueuedFor {
    QueuedFor {
        year: 2024,
        month: m,
        msg_id: msg.map(|x| x.0),
        read_count: msg.map(|x| x.1),
        enqueued_at: msg.map(|x| t(x.2)),
        visible_at: msg.map(|x| t(x.3)),
    }
}

fn lock_on(m: i32, pid: i32, app: &str) -> LockRow {
    LockRow {
        pid: Some(pid),
        granted: true,
        classid: 0,
        objid: 202400 + m as u32,
        objsubid: 1,
        in_this_database: true,
        mode: "ExclusiveLock".into(),
        waitstart: None,
        blocking_pids: vec![],
        holder: Some(SessionInfo {
            pid,
            usename: None,
            application_name: Some(app.into()),
            client_addr: None,
            client_hostname: None,
            client_port: None,
            backend_start: Some(t(-9000)),
            xact_start: None,
            query_start: Some(t(-600)),
            state_change: Some(t(-600)),
            state: Some("idle".into()),
            wait_event_type: None,
            wait_event: None,
            query: None,
            backend_type: None,
        }),
    }
}

/// With a month completed a minute ago: nothing here is STALLED.
fn snapshot(mut months: Vec<MonthRow>, processing: Vec<QueuedFor>, locks: Vec<LockRow>, q: QueueDepth) -> Snapshot {
    months.push(MonthRow {
        id: 1,
        year: 2023,
        month: 12,
        status: "completed".into(),
        retry_count: Some(0),
        started_at: Some(t(-120)),
        completed_at: Some(t(-60)),
        last_retry_at: None,
        error: None,
    });
    let mut s = Snapshot {
        taken_at: t(0),
        reader_pid: None,
        months,
        locks,
        queue: q,
        processing: Some(processing),
        duplicates: Vec::new(),
        history: None,
    };
    s.sort_months();
    s
}

fn kinds(v: &[Verdict]) -> Vec<Kind> {
    v.iter().map(|v| v.kind).collect()
}

#[test]
fn a_month_whose_message_waits_in_the_queue_is_a_consumer_stall_never_a_stuck_month() {
    // Processing for two hours, its message ready (never read) for two hours, nobody on it.
    let months = vec![month(3, "processing", Some(-7200), None)];
    let q = QueueDepth { ready: 54, oldest_ready_at: Some(t(-7200)), ..QueueDepth::default() };
    let s = snapshot(months, vec![queued(3, Some((200, 0, -7200, -7200)))], vec![], q);
    let a = assess(&s, &HoldTracker::default(), &shipped());
    assert_eq!(kinds(&a.verdicts), [Kind::ConsumerStall]);
    let stall = &a.verdicts[0];
    assert_eq!(stall.remedy.action, None, "no console action helps a stall");
    assert!(stall.remedy.text.contains("check the consumer deployment"), "{}", stall.remedy.text);
    assert_eq!((stall.months.clone(), stall.msg_ids.clone()), (vec![YearMonth::new(2024, 3).unwrap()], vec![200]));
    assert!(a.stuck_months.is_empty(), "never offered for reset: {:?}", a.stuck_months);
}

#[test]
fn the_rates_name_a_stall_before_any_message_is_old() {
    let q = QueueDepth { ready: 40, oldest_ready_at: Some(t(-60)), ..QueueDepth::default() };
    let s = snapshot(vec![], vec![], vec![], q.clone());
    let quiet = assess(&s, &HoldTracker::default(), &shipped());
    assert!(quiet.verdicts.is_empty(), "{:?}", quiet.verdicts);
    let rates = QueueRates { enqueued: 115.0, dequeued: 1.0 };
    let a = assess_with(&s, &HoldTracker::default(), &shipped(), Some(rates));
    assert_eq!(kinds(&a.verdicts), [Kind::ConsumerStall]);
    assert!(a.verdicts[0].summary.contains("out 1.0/min vs in 115.0/min"), "{}", a.verdicts[0].summary);
}

#[test]
fn a_message_taken_and_left_is_a_dead_consumer_handed_out_again_not_reset() {
    let months = vec![month(4, "processing", Some(-300), None)];
    // Read once, invisible for two more minutes; nobody holds the lock.
    let s = snapshot(months, vec![queued(4, Some((301, 1, -300, 120)))], vec![], QueueDepth::default());
    let a = assess(&s, &HoldTracker::default(), &shipped());
    assert_eq!(kinds(&a.verdicts), [Kind::DeadConsumer]);
    assert_eq!(a.verdicts[0].remedy.action, None);
    assert!(
        a.verdicts[0].summary.contains("taken and left by a consumer, redelivered from"),
        "{}",
        a.verdicts[0].summary
    );
    assert_eq!(a.verdicts[0].level, Level::Ok, "once: the queue heals it");
    assert!(a.stuck_months.is_empty());
    // Taken and left a second time: somebody should look.
    let s = snapshot(
        vec![month(4, "processing", Some(-300), None)],
        vec![queued(4, Some((301, 2, -300, 120)))],
        vec![],
        QueueDepth::default(),
    );
    assert_eq!(assess(&s, &HoldTracker::default(), &shipped()).verdicts[0].level, Level::Warning);
    // With its lock held, a worker is on it: no verdict.
    let s = snapshot(
        vec![month(4, "processing", Some(-300), None)],
        vec![queued(4, Some((301, 1, -300, 120)))],
        vec![lock_on(4, 77, "consumer")],
        QueueDepth::default(),
    );
    assert!(assess(&s, &HoldTracker::default(), &shipped()).verdicts.is_empty());
}

#[test]
fn a_month_with_no_message_and_no_worker_is_abandoned_and_reset_is_the_cure() {
    // Recent: a dead consumer whose month nothing will finish.
    let s =
        snapshot(vec![month(5, "processing", Some(-300), None)], vec![queued(5, None)], vec![], QueueDepth::default());
    let a = assess(&s, &HoldTracker::default(), &shipped());
    assert_eq!(kinds(&a.verdicts), [Kind::DeadConsumer]);
    assert_eq!(a.verdicts[0].remedy.action, Some(Cure::Reset));
    assert_eq!(a.stuck_months.len(), 1);
    // Old: stuck months.
    let s =
        snapshot(vec![month(5, "processing", Some(-7200), None)], vec![queued(5, None)], vec![], QueueDepth::default());
    let a = assess(&s, &HoldTracker::default(), &shipped());
    assert_eq!(kinds(&a.verdicts), [Kind::StuckMonths]);
    assert_eq!(a.verdicts[0].remedy.action, Some(Cure::Reset));
    assert_eq!(a.verdicts[0].remedy.command.as_deref(), Some("backfill-console reset-stuck"));
}

#[test]
fn leaked_locks_are_grouped_by_the_holders_application() {
    let months =
        vec![month(1, "completed", None, None), month(2, "completed", None, None), month(6, "pending", None, None)];
    let locks = vec![lock_on(1, 11, "scheduler-a"), lock_on(2, 12, "scheduler-a"), lock_on(6, 13, "scheduler-b")];
    let s = snapshot(months, vec![], locks, QueueDepth::default());
    let a = assess(&s, &HoldTracker::default(), &shipped());
    assert_eq!(kinds(&a.verdicts), [Kind::LeakedLocks]);
    let v = &a.verdicts[0];
    assert!(
        v.summary.starts_with("3 leaked month lock(s)") && v.summary.contains("scheduler-a ×2, scheduler-b ×1"),
        "{}",
        v.summary
    );
    assert_eq!((v.remedy.action, v.pids.len()), (Some(Cure::Release), 3));
}

#[test]
fn one_cause_failing_far_above_its_usual_rate_is_an_error_burst() {
    let mut months = Vec::new();
    // Six failures of one kind in the last hour, one in the day before; another cause steady.
    for m in 1..=6 {
        months.push(month(m, "failed", Some(-500 * m as i64), Some("isbndb: HTTP 429 after 3 attempts")));
    }
    months.push(month(7, "failed", Some(-20 * 3600), Some("isbndb: HTTP 429 after 3 attempts")));
    for m in 8..=12 {
        months.push(month(m, "retry", Some(-(m as i64) * 3600 * 2), Some("gemini: deadline exceeded")));
    }
    let s = snapshot(months, vec![], vec![], QueueDepth::default());
    let a = assess(&s, &HoldTracker::default(), &shipped());
    let burst: Vec<&Verdict> = a.verdicts.iter().filter(|v| v.kind == Kind::ErrorBurst).collect();
    assert_eq!(burst.len(), 1, "{:?}", a.verdicts);
    assert!(burst[0].summary.contains("6 failure(s) in the last hour"), "{}", burst[0].summary);
    assert_eq!(burst[0].remedy.action, Some(Cure::Retry));
    assert!(burst[0].remedy.command.as_deref().unwrap().starts_with("backfill-console retry --cause '"));
}

#[test]
fn dead_letters_are_shown_at_ok_below_the_threshold_and_warn_from_it() {
    let q = |dead| QueueDepth { dead, ..QueueDepth::default() };
    let a = assess(&snapshot(vec![], vec![], vec![], q(3)), &HoldTracker::default(), &shipped());
    assert_eq!(kinds(&a.verdicts), [Kind::PoisonMessages]);
    assert_eq!((a.verdicts[0].level, a.overall), (Level::Ok, Level::Ok));
    assert!(a.reasons.is_empty(), "an OK verdict is no reason for alarm");
    let a = assess(&snapshot(vec![], vec![], vec![], q(10)), &HoldTracker::default(), &shipped());
    assert_eq!((a.verdicts[0].level, a.verdicts[0].remedy.action), (Level::Warning, Some(Cure::DeadLetters)));
}

#[test]
fn verdicts_come_most_severe_first_and_serialise_with_their_kind() {
    let months = vec![month(3, "processing", Some(-7200), None), month(1, "completed", None, None)];
    let q = QueueDepth { ready: 250, oldest_ready_at: Some(t(-3600)), dead: 1, ..QueueDepth::default() };
    let s = snapshot(months, vec![queued(3, Some((9, 0, -3600, -3600)))], vec![lock_on(1, 5, "s")], q);
    let a = assess(&s, &HoldTracker::default(), &shipped());
    assert_eq!(kinds(&a.verdicts), [Kind::ConsumerStall, Kind::LeakedLocks, Kind::PoisonMessages]);
    assert_eq!(a.overall, Level::Critical);
    let json = serde_json::to_value(&a.verdicts[0]).unwrap();
    assert_eq!(json["kind"], "consumer_stall");
    assert_eq!(json["level"], "CRITICAL");
    assert_eq!(json["remedy"]["action"], serde_json::Value::Null);
    assert_eq!(json["months"], serde_json::json!(["2024-03"]));
    assert_eq!(json["evidence"]["ready"], 250);
    // A month the status table calls processing keeps its status text.
    assert_eq!(s.month(YearMonth::new(2024, 3).unwrap()).unwrap().status, Status::Processing);
}
