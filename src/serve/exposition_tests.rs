use std::time::Duration;

use super::*;
use crate::model::fixtures::{lock, month, session, snapshot};
use crate::model::{HoldTracker, Status, assess};

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
    let months = vec![month(1, "completed", Some(-500)), month(2, "processing", Some(-2))];
    let mut waiter = lock(10, 202402, 1, session(10, "active", -1));
    waiter.granted = false;
    let other = lock(9, 1, 2, session(9, "idle", -5));
    let locks =
        vec![lock(7, 202401, 1, session(7, "idle", -60)), lock(8, 202402, 1, session(8, "active", -1)), waiter, other];
    let mut snap = snapshot(0, months, locks, 3);
    snap.queue.in_flight = 1;
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
