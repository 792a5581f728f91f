use std::time::Duration;

use chrono::{DateTime, TimeZone, Utc};

use super::*;
use crate::model::snapshot::{MonthRow, QueueDepth, SessionInfo};
use crate::model::{HoldTracker, LockRow, Status, assess};

#[test]
fn the_stuck_label_names_the_gravest_problem() {
    let stranded = LockProblem::Stranded { pooler: "10.0.0.9:6432".into() };
    let leaked = LockProblem::Leaked { month_status: Some(Status::Completed) };
    let idle = LockProblem::IdleInTransaction { idle: Duration::from_secs(90) };
    let overdue = LockProblem::Overdue;
    assert_eq!(stuck(&[]), "none");
    assert_eq!(stuck(std::slice::from_ref(&overdue)), "overdue");
    assert_eq!(stuck(std::slice::from_ref(&idle)), "idle_in_transaction");
    assert_eq!(stuck(std::slice::from_ref(&leaked)), "leaked");
    assert_eq!(stuck(std::slice::from_ref(&stranded)), "stranded");
    // Whatever the order the judgement listed them in.
    assert_eq!(stuck(&[overdue.clone(), idle.clone()]), "idle_in_transaction");
    assert_eq!(stuck(&[idle.clone(), leaked.clone(), overdue.clone()]), "leaked");
    assert_eq!(stuck(&[overdue, leaked, idle, stranded]), "stranded");
}

fn t(secs: i64) -> DateTime<Utc> {
    Utc.timestamp_opt(1_700_000_000 + secs, 0).unwrap()
}

fn month(m: i32, status: &str) -> MonthRow {
    MonthRow {
        id: m,
        year: 2024,
        month: m,
        status: status.into(),
        retry_count: Some(0),
        started_at: Some(t(-500)),
        completed_at: None,
        last_retry_at: None,
        error: None,
    }
}

fn lock(pid: i32, m: u32, granted: bool, state: &str, since: i64) -> LockRow {
    let holder = SessionInfo {
        pid,
        usename: Some("app".into()),
        application_name: Some("scheduler".into()),
        client_addr: Some("10.0.0.5".into()),
        client_hostname: None,
        client_port: Some(5555),
        backend_start: Some(t(-10_000)),
        xact_start: None,
        query_start: Some(t(since)),
        state_change: Some(t(since)),
        state: Some(state.into()),
        wait_event_type: None,
        wait_event: None,
        query: Some("SELECT 1".into()),
        backend_type: Some("client backend".into()),
    };
    LockRow {
        pid: Some(pid),
        granted,
        classid: 0,
        objid: 202_400 + m,
        objsubid: 1,
        in_this_database: true,
        mode: "ExclusiveLock".into(),
        waitstart: None,
        blocking_pids: vec![],
        holder: Some(holder),
    }
}

/// The lines of `body` for one family, without HELP and TYPE.
fn series<'a>(body: &'a str, family: &str) -> Vec<&'a str> {
    let mut lines: Vec<&str> = body.lines().filter(|l| l.starts_with(&format!("{family}{{"))).collect();
    lines.sort_unstable();
    lines
}

#[test]
fn locks_are_counted_by_state_and_why_stuck() {
    // Month 1 done, its holder idle 60 s: leaked. Month 2 being worked on by an active
    // holder: not stuck; a second session waits for it. A lock of another application's.
    let mut months = vec![month(1, "completed"), month(2, "processing")];
    months[1].started_at = Some(t(-2));
    let mut other = lock(9, 0, true, "idle", -5);
    other.classid = 77;
    other.objid = 1;
    let locks =
        vec![lock(7, 1, true, "idle", -60), lock(8, 2, true, "active", -1), lock(10, 2, false, "active", -1), other];
    let snap = Snapshot {
        taken_at: t(0),
        reader_pid: None,
        months,
        locks,
        queue: QueueDepth { ready: 3, in_flight: 1, ..QueueDepth::default() },
        processing: None,
        duplicates: Vec::new(),
        history: None,
    };
    let shipped = crate::config::Config::builtin().unwrap().thresholds;
    let assessment = assess(&snap, &HoldTracker::default(), &shipped);
    let known =
        [Known { context: "prod", read: Some((&snap, &assessment)), up: true, read_seconds: 0.01, reads_total: 3 }];
    let body = render(&known, false);
    assert_eq!(
        series(&body, "backfill_month_locks"),
        [
            r#"backfill_month_locks{context="prod",state="held",stuck="leaked"} 1.0"#,
            r#"backfill_month_locks{context="prod",state="held",stuck="none"} 1.0"#,
            r#"backfill_month_locks{context="prod",state="waiting",stuck="none"} 1.0"#,
        ],
        "{body}"
    );
    assert_eq!(
        series(&body, "backfill_foreign_advisory_locks"),
        [r#"backfill_foreign_advisory_locks{context="prod"} 1.0"#]
    );
    assert!(
        series(&body, "backfill_queue_messages")
            .contains(&r#"backfill_queue_messages{context="prod",state="ready"} 3.0"#)
    );
    assert!(body.contains("backfill_reads_total{context=\"prod\"} 3"), "{body}");
    // A context never read: only whether it is up and how long the attempt took.
    let unread = [Known { context: "eu", read: None, up: false, read_seconds: 5.0, reads_total: 1 }];
    let body = render(&unread, true);
    assert_eq!(series(&body, "backfill_up"), [r#"backfill_up{context="eu"} 0.0"#]);
    assert!(series(&body, "backfill_month_locks").is_empty());
    assert!(body.ends_with("# EOF\n"), "{body}");
}
