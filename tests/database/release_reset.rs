//! Releasing stuck locks and resetting stuck months, race-free (SPEC §4).
#![allow(clippy::unwrap_used, clippy::expect_used)] // tests may panic
use crate::common;

use std::time::Duration;

use backfill_console::db::lock_key::YearMonth;
use backfill_console::db::release::{self, Method, Outcome, Target};
use backfill_console::db::reset;
use chrono::{DateTime, Utc};

fn ym(year: i32, month: i32) -> YearMonth {
    YearMonth::new(year, month).unwrap()
}

async fn backend_start(client: &tokio_postgres::Client, pid: i32) -> DateTime<Utc> {
    client.query_one("SELECT backend_start FROM pg_stat_activity WHERE pid = $1", &[&pid]).await.unwrap().get(0)
}

async fn audit_outcomes(client: &tokio_postgres::Client, action: &str) -> Vec<String> {
    client
        .query("SELECT outcome FROM backfill_console_audit WHERE action = $1 ORDER BY id", &[&action])
        .await
        .unwrap()
        .iter()
        .map(|r| r.get(0))
        .collect()
}

#[tokio::test]
async fn release_terminates_the_holder_only_while_it_still_holds_the_key() {
    let db = common::migrated_db().await;
    let admin = db.session().await;
    let holder = db.session().await;
    holder.client.execute("SELECT pg_advisory_lock(202403::bigint)", &[]).await.unwrap();
    let started = backend_start(&admin.client, holder.backend_pid).await;
    let actor = common::actor();

    // Same pid, different backend_start: as if the pid had been reused.
    let stale = Target {
        pid: holder.backend_pid,
        backend_start: started + chrono::Duration::microseconds(1),
        month: ym(2024, 3),
    };
    let outcome = release::release(&admin.client, &actor, &stale, Method::Terminate, "test").await.unwrap();
    assert!(matches!(outcome, Outcome::Refused { .. }), "{outcome:?}");
    // Right session, wrong key.
    let wrong_key = Target { pid: holder.backend_pid, backend_start: started, month: ym(2024, 4) };
    let outcome = release::release(&admin.client, &actor, &wrong_key, Method::Terminate, "test").await.unwrap();
    assert!(matches!(outcome, Outcome::Refused { .. }), "{outcome:?}");
    assert_eq!(common::month_locks_of(&admin.client, holder.backend_pid).await, [202403], "holder untouched");

    let target = Target { pid: holder.backend_pid, backend_start: started, month: ym(2024, 3) };
    let outcome = release::release(&admin.client, &actor, &target, Method::Terminate, "test").await.unwrap();
    assert_eq!(outcome, Outcome::Done { lock_released: true });
    assert!(holder.client.simple_query("SELECT 1").await.is_err(), "the holder's session is gone");
    let outcomes = audit_outcomes(&admin.client, "release.terminate").await;
    assert_eq!(outcomes.len(), 3);
    assert!(outcomes[0].starts_with("refused") && outcomes[1].starts_with("refused"));
    assert_eq!(outcomes[2], "done");
}

#[tokio::test]
async fn release_refuses_once_the_key_was_released() {
    let db = common::migrated_db().await;
    let admin = db.session().await;
    let holder = db.session().await;
    holder.client.execute("SELECT pg_advisory_lock(202403::bigint)", &[]).await.unwrap();
    let target = Target {
        pid: holder.backend_pid,
        backend_start: backend_start(&admin.client, holder.backend_pid).await,
        month: ym(2024, 3),
    };
    holder.client.execute("SELECT pg_advisory_unlock(202403::bigint)", &[]).await.unwrap();
    let outcome = release::release(&admin.client, &common::actor(), &target, Method::Terminate, "t").await.unwrap();
    assert!(matches!(outcome, Outcome::Refused { .. }));
    holder.client.simple_query("SELECT 1").await.expect("the session was not terminated");
}

#[tokio::test]
async fn foreign_locks_with_the_same_number_are_never_touched() {
    let db = common::migrated_db().await;
    let admin = db.session().await;
    let other = db.session().await;
    // The two-int4 form with the same numbers is somebody else's lock.
    other.client.execute("SELECT pg_advisory_lock(0, 202403)", &[]).await.unwrap();
    let target = Target {
        pid: other.backend_pid,
        backend_start: backend_start(&admin.client, other.backend_pid).await,
        month: ym(2024, 3),
    };
    let outcome = release::release(&admin.client, &common::actor(), &target, Method::Terminate, "t").await.unwrap();
    assert!(matches!(outcome, Outcome::Refused { .. }));
    other.client.simple_query("SELECT 1").await.expect("foreign holder survives");
}

#[tokio::test]
async fn cancel_stops_the_query_but_keeps_the_session() {
    let db = common::migrated_db().await;
    let admin = db.session().await;
    let holder = db.session().await;
    holder.client.execute("SELECT pg_advisory_lock(202403::bigint)", &[]).await.unwrap();
    let target = Target {
        pid: holder.backend_pid,
        backend_start: backend_start(&admin.client, holder.backend_pid).await,
        month: ym(2024, 3),
    };
    let client = &holder.client;
    let sleeping = client.simple_query("SELECT pg_sleep(8)");
    let cancel = async {
        tokio::time::sleep(Duration::from_millis(300)).await;
        release::release(&admin.client, &common::actor(), &target, Method::Cancel, "t").await
    };
    let (slept, cancelled) = tokio::join!(sleeping, cancel);
    let err = slept.unwrap_err();
    assert_eq!(err.code(), Some(&tokio_postgres::error::SqlState::QUERY_CANCELED), "the query was cancelled: {err}");
    assert_eq!(cancelled.unwrap(), Outcome::Done { lock_released: false }, "a session lock outlives its query");
    holder.client.simple_query("SELECT 1").await.expect("the session survives a cancel");
}

async fn processing_since(client: &tokio_postgres::Client, month: i32, ago: &str, retries: i32) {
    client
        .execute(
            &format!(
                "UPDATE backfill_log SET status = 'processing', started_at = now() - interval '{ago}', retry_count = $2
                 WHERE year = 2024 AND month = $1"
            ),
            &[&month, &retries],
        )
        .await
        .unwrap();
}

#[tokio::test]
async fn reset_returns_old_processing_months_to_retry_but_not_those_a_live_worker_holds() {
    let db = common::migrated_db().await;
    let mut admin = db.session().await;
    common::seed(&mut admin, "2024-01", "2024-04").await;
    processing_since(&admin.client, 1, "2 hours", 0).await; // stuck, free: reset
    processing_since(&admin.client, 2, "2 hours", 1).await; // stuck, but a live consumer holds it
    processing_since(&admin.client, 3, "10 minutes", 0).await; // recent: not stuck
    processing_since(&admin.client, 4, "3 hours", 5).await; // stuck, retries used up
    let consumer = db.session().await;
    consumer.client.execute("SELECT pg_advisory_lock(202402::bigint)", &[]).await.unwrap();

    let preview = reset::stuck_months(&admin.client, Duration::from_secs(3600)).await.unwrap();
    let listed: Vec<i32> = preview.iter().map(|m| m.month.month).collect();
    assert_eq!(listed, [4, 2, 1]);

    let mut operator = db.session().await;
    // The dry run (the console's and reset-stuck's plan) is the routine rolled back:
    // the same outcomes, nothing changed, nothing audited, no lock left.
    let hour = Duration::from_secs(3600);
    let plan = reset::reset_stuck_with(&mut operator.client, None, &common::actor(), hour, None, true).await.unwrap();
    assert!(plan.dry_run);
    assert_eq!(plan.reset, [(ym(2024, 4), "failed".to_string()), (ym(2024, 1), "retry".to_string())]);
    assert_eq!(plan.skipped_locked, [ym(2024, 2)]);
    assert_eq!(common::status_of(&admin.client, 2024, 1).await, "processing", "a dry run changes nothing");
    assert!(audit_outcomes(&admin.client, "reset-stuck").await.is_empty(), "a dry run is not audited");
    assert!(common::month_locks_of(&admin.client, operator.backend_pid).await.is_empty());

    let report =
        reset::reset_stuck(&mut operator.client, &common::actor(), Duration::from_secs(3600), None).await.unwrap();
    assert!(!report.dry_run);
    assert_eq!(report.reset, plan.reset);
    assert_eq!(report.skipped_locked, [ym(2024, 2)]);
    let row = admin
        .client
        .query_one("SELECT status::text, retry_count, error_message FROM backfill_log WHERE month = 1", &[])
        .await
        .unwrap();
    assert_eq!(row.get::<_, String>(0), "retry");
    assert_eq!(row.get::<_, i32>(1), 1);
    assert!(row.get::<_, String>(2).contains("reset by backfill-console"));
    assert_eq!(common::status_of(&admin.client, 2024, 2).await, "processing", "the live worker's month is untouched");
    assert_eq!(common::status_of(&admin.client, 2024, 3).await, "processing");
    // One audit row for the whole reset, with every month's outcome.
    assert_eq!(audit_outcomes(&admin.client, "reset-stuck").await, ["done: reset 2, left alone 1"]);
    let detail: serde_json::Value = admin
        .client
        .query_one("SELECT detail FROM backfill_console_audit WHERE action = 'reset-stuck'", &[])
        .await
        .unwrap()
        .get(0);
    assert!(detail["2024-01"].as_str().unwrap().starts_with("processing -> retry"), "{detail}");
    assert_eq!(detail["2024-02"], "left alone: a live worker holds its lock");
    assert!(common::month_locks_of(&admin.client, operator.backend_pid).await.is_empty());
}

#[tokio::test]
async fn reset_only_touches_the_months_the_operator_confirmed() {
    let db = common::migrated_db().await;
    let mut admin = db.session().await;
    common::seed(&mut admin, "2024-01", "2024-02").await;
    processing_since(&admin.client, 1, "2 hours", 0).await;
    processing_since(&admin.client, 2, "2 hours", 0).await;
    let only = [ym(2024, 2)];
    let report =
        reset::reset_stuck(&mut admin.client, &common::actor(), Duration::from_secs(3600), Some(&only)).await.unwrap();
    assert_eq!(report.reset.len(), 1);
    assert_eq!(common::status_of(&admin.client, 2024, 1).await, "processing");
}

#[tokio::test]
async fn a_bulk_release_checks_each_holder_on_its_own_and_writes_one_audit_row() {
    // Issue 23, item 3: the marked holders in one go. Three holders: one holding two months,
    // one that let its lock go after the operator saw it (refused, untouched), one whose pid
    // the operator saw with another start (as if reused: refused, untouched).
    let db = common::migrated_db().await;
    let admin = db.session().await;
    let (a, b, c) = (db.session().await, db.session().await, db.session().await);
    a.client.execute("SELECT pg_advisory_lock(202401::bigint), pg_advisory_lock(202402::bigint)", &[]).await.unwrap();
    b.client.execute("SELECT pg_advisory_lock(202403::bigint)", &[]).await.unwrap();
    c.client.execute("SELECT pg_advisory_lock(202404::bigint)", &[]).await.unwrap();
    let holder = |pid, start, months: &[YearMonth]| release::Holder {
        target: Target { pid, backend_start: start, month: months[0] },
        months: months.to_vec(),
    };
    let a_start = backend_start(&admin.client, a.backend_pid).await;
    let b_start = backend_start(&admin.client, b.backend_pid).await;
    let c_start = backend_start(&admin.client, c.backend_pid).await + chrono::Duration::microseconds(1);
    let holders = [
        holder(a.backend_pid, a_start, &[ym(2024, 1), ym(2024, 2)]),
        holder(b.backend_pid, b_start, &[ym(2024, 3)]),
        holder(c.backend_pid, c_start, &[ym(2024, 4)]),
    ];
    // b lets go between the operator's look and the release.
    b.client.execute("SELECT pg_advisory_unlock(202403::bigint)", &[]).await.unwrap();

    let outcomes =
        release::release_all(&admin.client, &common::actor(), &holders, Method::Terminate, "test").await.unwrap();
    assert_eq!(outcomes[0], Outcome::Done { lock_released: true });
    assert!(matches!(outcomes[1], Outcome::Refused { .. }), "{:?}", outcomes[1]);
    assert!(matches!(outcomes[2], Outcome::Refused { .. }), "{:?}", outcomes[2]);
    assert!(a.client.simple_query("SELECT 1").await.is_err(), "a's session is gone");
    b.client.simple_query("SELECT 1").await.expect("b let go: not terminated");
    c.client.simple_query("SELECT 1").await.expect("c was seen with another start: not terminated");
    assert_eq!(common::month_locks_of(&admin.client, c.backend_pid).await, [202404], "c keeps its lock");

    let rows = admin
        .client
        .query(
            "SELECT outcome, target_pid, detail -> 'months' ->> '2024-02', detail -> 'months' ->> '2024-03',
                    jsonb_array_length(detail -> 'holders'), jsonb_array_length(parameters -> 'holders')
             FROM backfill_console_audit WHERE action = 'release.terminate'",
            &[],
        )
        .await
        .unwrap();
    assert_eq!(rows.len(), 1, "one audit row for the whole release");
    let r = &rows[0];
    assert_eq!(r.get::<_, String>(0), "done: 1 of 3 holders signalled");
    assert_eq!(r.get::<_, Option<i32>>(1), None, "several holders: no single target pid");
    assert_eq!(r.get::<_, Option<String>>(2).as_deref(), Some(format!("pid {}: done", a.backend_pid).as_str()));
    assert!(r.get::<_, Option<String>>(3).unwrap().contains("refused"), "b's month says refused");
    assert_eq!((r.get::<_, Option<i32>>(4), r.get::<_, Option<i32>>(5)), (Some(3), Some(3)));
    // The audit view finds the row by any month it touched.
    let found = backfill_console::db::audit::read(&admin.client, Duration::from_secs(600), Some(ym(2024, 2)), 10)
        .await
        .unwrap();
    assert_eq!(found.len(), 1, "{found:?}");
}

/// Following the console's advice — release the stuck holders, then claim — never leaves
/// a month with two live messages. A scheduler released in the middle of its claim had
/// queued a message in its open transaction: the termination rolls both back (no message,
/// month pending again). A holder whose month already has a live message (the old
/// scheduler's leftover) is released, and the claim that follows holds that month back;
/// without the claim's live-message check it would queue a second message.
#[tokio::test]
async fn releasing_stuck_holders_then_claiming_never_leaves_two_live_messages() {
    use backfill_console::db::claim::{self, Checks, ClaimParams};
    for guarded in [true, false] {
        let db = common::migrated_db().await;
        let mut admin = db.session().await;
        common::seed(&mut admin, "2024-01", "2024-02").await;
        // February has a live message already (nobody holds it).
        admin
            .client
            .execute("INSERT INTO backfill_queue (message) VALUES ('{\"year\": 2024, \"month\": 2}')", &[])
            .await
            .unwrap();
        let (mid_claim, leftover) = (db.session().await, db.session().await);
        mid_claim
            .client
            .batch_execute(
                "SELECT pg_advisory_lock(202401::bigint); BEGIN;
                 UPDATE backfill_log SET status = 'processing', started_at = now() WHERE year = 2024 AND month = 1;
                 INSERT INTO backfill_queue (message) VALUES ('{\"year\": 2024, \"month\": 1}');",
            )
            .await
            .unwrap();
        leftover.client.execute("SELECT pg_advisory_lock(202402::bigint)", &[]).await.unwrap();
        let holders = [
            release::Holder {
                target: Target {
                    pid: mid_claim.backend_pid,
                    backend_start: backend_start(&admin.client, mid_claim.backend_pid).await,
                    month: ym(2024, 1),
                },
                months: vec![ym(2024, 1)],
            },
            release::Holder {
                target: Target {
                    pid: leftover.backend_pid,
                    backend_start: backend_start(&admin.client, leftover.backend_pid).await,
                    month: ym(2024, 2),
                },
                months: vec![ym(2024, 2)],
            },
        ];
        let outcomes =
            release::release_all(&admin.client, &common::actor(), &holders, Method::Terminate, "t").await.unwrap();
        assert!(outcomes.iter().all(|o| *o == Outcome::Done { lock_released: true }), "{outcomes:?}");
        let per_month =
            |m: i32| format!("SELECT count(*) FROM backfill_queue WHERE backfill_message_month(message) = 2024{m:02}");
        assert_eq!(common::count(&admin.client, &per_month(1)).await, 0, "the open claim rolled back");
        assert_eq!(common::status_of(&admin.client, 2024, 1).await, "pending");

        let mut s = db.session().await;
        let checks = Checks { live_message: guarded, ..Checks::ALL };
        claim::claim_weakened(&mut s, &ClaimParams::for_months(vec![ym(2024, 1), ym(2024, 2)]).unwrap(), None, checks)
            .await
            .unwrap();
        assert_eq!(common::count(&admin.client, &per_month(1)).await, 1, "January: one message");
        let february = common::count(&admin.client, &per_month(2)).await;
        if guarded {
            assert_eq!(february, 1, "February keeps its one live message");
        } else {
            assert_eq!(february, 2, "without the live-message check the claim queues a second one");
        }
    }
}
