//! The claim routine, stepped by hand on real connections (SPEC §2).
#![allow(clippy::unwrap_used, clippy::expect_used)] // tests may panic
use crate::common;

use std::time::Duration;

use backfill_console::db::claim::{self, Checks, ClaimParams, Step, YearRange};
use backfill_console::db::lock_key::YearMonth;
use backfill_console::model::claim::ParamsError;
use common::gate::gate;

pub(crate) fn ym(year: i32, month: i32) -> YearMonth {
    YearMonth::new(year, month).unwrap()
}

pub(crate) fn params(batch: i64) -> ClaimParams {
    ClaimParams {
        batch_size: batch,
        years: YearRange { from: 2000, to: 2024 },
        lock_wait: Duration::from_millis(300),
        ..ClaimParams::default()
    }
}

pub(crate) const MESSAGES: &str = "SELECT count(*) FROM backfill_queue";

/// B has taken the month's lock; before B's UPDATE runs, a scheduler that does
/// not take the month lock claims it: marks it processing, enqueues, commits.
/// With the walk's second look switched off (it row-locks the month and would
/// block that scheduler, see below), B's guarded UPDATE changes 0 rows.
/// Returns the queue's message count.
async fn claimed_between_lock_and_update(row_count: bool, live_message: bool) -> (i64, claim::ClaimReport) {
    let db = common::migrated_db().await;
    let mut admin = db.session().await;
    common::seed(&mut admin, "2024-01", "2024-01").await;
    let mut b = db.session().await;
    let (gate_b, mut ctl_b) = gate();
    let checks = Checks { recheck_after_lock: false, row_count, live_message };
    let task_b = tokio::spawn(async move { claim::claim_weakened(&mut b, &params(10), Some(&gate_b), checks).await });
    ctl_b.expect(Step::Walked).await;
    ctl_b.go();
    ctl_b.expect(Step::Locked(ym(2024, 1))).await;
    admin.client.batch_execute(CLAIM_WITHOUT_THE_LOCK).await.unwrap();
    ctl_b.go();
    for step in [Step::Updated(ym(2024, 1)), Step::BeforeCommit] {
        ctl_b.expect(step).await;
        ctl_b.go();
    }
    let report_b = task_b.await.unwrap().unwrap();
    (common::count(&admin.client, MESSAGES).await, report_b)
}

pub(crate) const CLAIM_WITHOUT_THE_LOCK: &str =
    "UPDATE backfill_log SET status = 'processing', started_at = now() WHERE year = 2024 AND month = 1;
     INSERT INTO backfill_queue (message) VALUES ('{\"year\": 2024, \"month\": 1}');";

#[tokio::test]
async fn the_row_count_guard_alone_sends_no_second_message() {
    let (messages, b) = claimed_between_lock_and_update(true, false).await;
    assert!(b.claimed.is_empty());
    assert_eq!(b.skipped_raced, [ym(2024, 1)]);
    assert_eq!(messages, 1);
}

#[tokio::test]
async fn without_either_guard_the_claim_sends_a_duplicate() {
    // The existing scheduler's defect, which the test above guards against.
    let (messages, b) = claimed_between_lock_and_update(false, false).await;
    assert_eq!(b.claimed.len(), 1, "the defective variant enqueues a month it did not update");
    assert_eq!(messages, 2);
}

#[tokio::test]
async fn the_live_message_guard_alone_sends_no_second_message() {
    let (messages, b) = claimed_between_lock_and_update(false, true).await;
    assert!(b.claimed.is_empty());
    assert_eq!(b.skipped_queued, [ym(2024, 1)]);
    assert_eq!(messages, 1);
}

/// 2024-01 and 2024-02 pending, and a live message of 2024-02 already in the queue.
async fn february_already_queued() -> (common::TestDb, common::Session) {
    let db = common::migrated_db().await;
    let mut admin = db.session().await;
    common::seed(&mut admin, "2024-01", "2024-02").await;
    admin
        .client
        .batch_execute("INSERT INTO backfill_queue (message) VALUES ('{\"year\": 2024, \"month\": 2}')")
        .await
        .unwrap();
    (db, admin)
}

/// A month `pending` again whose message is still queued (a reset by hand, the old
/// scheduler's leftover): claiming it — listed or not — would put a second live message
/// on the queue. It is held back and said so; the defective variant (no live-message
/// guard) sends the duplicate.
#[tokio::test]
async fn a_month_with_a_live_message_is_never_claimed_again() {
    for (guarded, months) in [(true, Some("2024-02")), (true, None), (false, Some("2024-02"))] {
        let (db, admin) = february_already_queued().await;
        let mut s = db.session().await;
        let p = match months {
            Some(list) => ClaimParams::for_months(vec![YearMonth::parse(list).unwrap()]).unwrap(),
            None => params(10),
        };
        let checks = Checks { live_message: guarded, ..Checks::ALL };
        let report = claim::claim_weakened(&mut s, &p, None, checks).await.unwrap();
        let february = common::count(
            &admin.client,
            "SELECT count(*) FROM backfill_queue WHERE backfill_message_month(message) = 202402",
        )
        .await;
        if guarded {
            assert_eq!(report.skipped_queued, [ym(2024, 2)], "{months:?}");
            assert_eq!(february, 1, "{months:?}: one live message, still");
            assert_eq!(common::status_of(&admin.client, 2024, 2).await, "pending");
        } else {
            assert_eq!(february, 2, "without the guard the month gets a second live message");
        }
    }
}

#[tokio::test]
async fn a_month_taken_is_row_locked_so_nobody_can_claim_it_under_us() {
    let db = common::migrated_db().await;
    let mut admin = db.session().await;
    common::seed(&mut admin, "2024-01", "2024-01").await;
    let mut b = db.session().await;
    let (gate_b, mut ctl_b) = gate();
    let task_b = tokio::spawn(async move { claim::claim_observed(&mut b, &params(10), None, &gate_b).await });
    ctl_b.expect(Step::Walked).await;
    ctl_b.go();
    ctl_b.expect(Step::Locked(ym(2024, 1))).await;
    let err = admin
        .client
        .batch_execute(&format!("BEGIN; SET LOCAL lock_timeout = '300ms'; {CLAIM_WITHOUT_THE_LOCK} COMMIT;"))
        .await
        .unwrap_err();
    assert!(format!("{err:?}").contains("lock timeout"), "{err:?}");
    admin.client.batch_execute("ROLLBACK").await.unwrap();
    ctl_b.release_all();
    let report_b = task_b.await.unwrap().unwrap();
    assert_eq!(report_b.claimed.len(), 1);
    assert_eq!(common::count(&admin.client, MESSAGES).await, 1);
}

/// The newest month has a live message (a reset by hand, a redrive): a batch of one must
/// take the next month, not end empty because of it — else a scheduler claiming one month
/// at a time would never claim anything again.
#[tokio::test]
async fn a_month_held_back_never_takes_a_batchs_place() {
    let (db, admin) = february_already_queued().await;
    let mut claimer = db.session().await;
    let report = claim::claim(&mut claimer, &params(1), None).await.unwrap();
    assert_eq!(report.claimed.iter().map(|c| c.month).collect::<Vec<_>>(), [1], "{report:?}");
    assert_eq!(report.skipped_queued, [ym(2024, 2)]);
    assert_eq!(common::count(&admin.client, MESSAGES).await, 2, "one live message per month");
    assert_eq!(common::status_of(&admin.client, 2024, 2).await, "pending");
}

#[tokio::test]
async fn a_month_locked_by_the_existing_fleet_is_skipped() {
    let db = common::migrated_db().await;
    let mut admin = db.session().await;
    common::seed(&mut admin, "2024-01", "2024-03").await;
    let fleet = db.session().await;
    fleet.client.execute("SELECT pg_try_advisory_lock(202403::bigint)", &[]).await.unwrap();
    let mut claimer = db.session().await;
    let report = claim::claim(&mut claimer, &params(10), Some(&common::actor())).await.unwrap();
    assert_eq!(report.skipped_locked, [ym(2024, 3)]);
    let claimed: Vec<(i32, i32)> = report.claimed.iter().map(|c| (c.year, c.month)).collect();
    assert_eq!(claimed, [(2024, 2), (2024, 1)], "newest first");
    assert_eq!(common::status_of(&admin.client, 2024, 3).await, "pending");
    assert!(report.audit_id.is_some());
    // Released on the claiming session itself: nothing left behind there.
    assert!(common::month_locks_of(&admin.client, claimer.backend_pid).await.is_empty());
    assert_eq!(common::month_locks_of(&admin.client, fleet.backend_pid).await, [202403]);
}

#[tokio::test]
async fn the_claim_sets_the_row_and_message_exactly() {
    let db = common::migrated_db().await;
    let mut admin = db.session().await;
    common::seed(&mut admin, "2019-12", "2020-01").await;
    admin
        .client
        .batch_execute(
            "UPDATE backfill_log SET status = 'retry', retry_count = 2, error_message = 'timeout',
               completed_at = NULL WHERE year = 2019",
        )
        .await
        .unwrap();
    let mut claimer = db.session().await;
    let report = claim::claim(&mut claimer, &params(10), None).await.unwrap();
    assert_eq!(report.claimed.len(), 2);
    let row = admin
        .client
        .query_one(
            "SELECT status::text, started_at IS NOT NULL, error_message, last_retry_at IS NOT NULL, retry_count
             FROM backfill_log WHERE year = 2019",
            &[],
        )
        .await
        .unwrap();
    assert_eq!(row.get::<_, String>(0), "processing");
    assert!(row.get::<_, bool>(1));
    assert_eq!(row.get::<_, Option<String>>(2), None);
    assert!(row.get::<_, bool>(3), "last_retry_at set for a retry");
    assert_eq!(row.get::<_, i32>(4), 2);
    let fresh_retry: bool = admin
        .client
        .query_one("SELECT last_retry_at IS NULL FROM backfill_log WHERE year = 2020", &[])
        .await
        .unwrap()
        .get(0);
    assert!(fresh_retry, "last_retry_at untouched for a pending month");
    let messages: Vec<serde_json::Value> = admin
        .client
        .query("SELECT message FROM backfill_queue ORDER BY msg_id", &[])
        .await
        .unwrap()
        .iter()
        .map(|r| r.get(0))
        .collect();
    let by_year = |y: i64| messages.iter().find(|m| m["year"] == y).cloned().unwrap();
    let m2020 = by_year(2020);
    assert_eq!(m2020["month"], 1);
    assert_eq!(m2020["batch_size"], 20);
    assert_eq!(m2020["prompt_variant"], "contemporary-notable");
    assert_eq!(m2020["dry_run"], false);
    assert!(uuid::Uuid::parse_str(m2020["job_id"].as_str().unwrap()).is_ok());
    assert_eq!(by_year(2019)["prompt_variant"], "baseline");
    assert_eq!(
        report.claimed.iter().find(|c| c.year == 2020).unwrap().job_id.to_string(),
        m2020["job_id"].as_str().unwrap()
    );
}

#[tokio::test]
async fn force_retry_takes_failed_months_below_five_retries() {
    let db = common::migrated_db().await;
    let mut admin = db.session().await;
    common::seed(&mut admin, "2024-01", "2024-03").await;
    admin
        .client
        .batch_execute(
            "UPDATE backfill_log SET status = 'failed', retry_count = 4 WHERE month = 1;
             UPDATE backfill_log SET status = 'failed', retry_count = 5 WHERE month = 2;
             UPDATE backfill_log SET status = 'completed', started_at = now(), completed_at = now() WHERE month = 3;",
        )
        .await
        .unwrap();
    let mut claimer = db.session().await;
    let plain = claim::claim(&mut claimer, &params(10), None).await.unwrap();
    assert!(plain.claimed.is_empty(), "failed months need force_retry");
    let forced = ClaimParams { force_retry: true, ..params(10) };
    let report = claim::claim(&mut claimer, &forced, None).await.unwrap();
    let claimed: Vec<i32> = report.claimed.iter().map(|c| c.month).collect();
    assert_eq!(claimed, [1], "retry_count 5 is exhausted; completed is never claimed");
}

#[tokio::test]
async fn a_dry_run_reports_what_a_claim_would_take_and_pass_over_and_changes_nothing() {
    let db = common::migrated_db().await;
    let mut admin = db.session().await;
    common::seed(&mut admin, "2024-01", "2024-03").await;
    let fleet = db.session().await;
    fleet.client.execute("SELECT pg_advisory_lock(202402::bigint)", &[]).await.unwrap();
    let audit_before = common::count(&admin.client, "SELECT count(*) FROM backfill_console_audit").await;
    // A read-only session is enough for a dry run.
    let options = backfill_console::db::connect::SessionOptions { read_only: true, ..Default::default() };
    let mut claimer = db.session_with(&options).await;
    let p = ClaimParams { dry_run: true, ..params(2) };
    let report = claim::claim(&mut claimer, &p, Some(&common::actor())).await.unwrap();
    assert!(report.dry_run && report.claimed.is_empty());
    let seen: Vec<(i32, bool, Option<i32>)> =
        report.candidates.iter().map(|c| (c.month, c.lock_free, c.holder_pid)).collect();
    // A claim of 2 would take 2024-03 and 2024-01, passing over the fleet's 2024-02.
    assert_eq!(seen, [(3, true, None), (2, false, Some(fleet.backend_pid)), (1, true, None)]);
    for month in 1..=3 {
        assert_eq!(common::status_of(&admin.client, 2024, month).await, "pending");
    }
    assert_eq!(common::count(&admin.client, MESSAGES).await, 0);
    assert_eq!(common::count(&admin.client, "SELECT count(*) FROM backfill_console_audit").await, audit_before);
    assert!(common::month_locks_of(&admin.client, claimer.backend_pid).await.is_empty());
}

#[tokio::test]
async fn invalid_parameters_are_refused_with_a_clear_message() {
    let db = common::migrated_db().await;
    let mut claimer = db.session().await;
    for (batch, want) in [(0, "batch size 0 is outside 1..50"), (51, "batch size 51 is outside 1..50")] {
        let err = claim::claim(&mut claimer, &params(batch), None).await.unwrap_err().to_string();
        assert!(err.contains(want), "{err}");
    }
}

/// `claim --months`: the one routine restricted to the listed months — the others are
/// never touched, a listed month whose lock is held is passed over, and a dry run
/// looks at the listed months only.
#[tokio::test]
async fn a_claim_of_listed_months_takes_only_those() {
    let db = common::migrated_db().await;
    let mut admin = db.session().await;
    common::seed(&mut admin, "2024-01", "2024-12").await;
    let holder = db.session().await;
    holder.client.execute("SELECT pg_advisory_lock(202407::bigint)", &[]).await.unwrap();
    let listed = ClaimParams {
        lock_wait: Duration::ZERO,
        ..ClaimParams::for_months(vec![ym(2024, 3), ym(2024, 7), ym(2024, 11)]).unwrap()
    };
    let mut claimer = db.session().await;
    let dry = claim::claim(&mut claimer, &ClaimParams { dry_run: true, ..listed.clone() }, None).await.unwrap();
    let looked: Vec<(i32, bool)> = dry.candidates.iter().map(|c| (c.month, c.lock_free)).collect();
    assert_eq!(looked, [(11, true), (7, false), (3, true)]);
    let report = claim::claim(&mut claimer, &listed, None).await.unwrap();
    let claimed: Vec<i32> = report.claimed.iter().map(|c| c.month).collect();
    assert_eq!(claimed, [11, 3]);
    assert_eq!(report.skipped_locked, [ym(2024, 7)]);
    assert_eq!(common::count(&admin.client, MESSAGES).await, 2);
    let processing =
        common::count(&admin.client, "SELECT count(*) FROM backfill_log WHERE status = 'processing'").await;
    assert_eq!(processing, 2, "no other month is touched");
    assert_eq!(ClaimParams::for_months(Vec::new()).unwrap_err(), ParamsError::NoMonth);
    let too_many: Vec<YearMonth> = (0..51).map(|i| YearMonth::new(2000 + i / 12, i % 12 + 1).unwrap()).collect();
    let err = ClaimParams::for_months(too_many).unwrap_err();
    assert_eq!(err, ParamsError::TooManyMonths(51));
    assert!(err.to_string().contains("at most 50"), "{err}");
}
