//! The claim routine, stepped by hand on real connections (SPEC §2).
#![allow(clippy::unwrap_used, clippy::expect_used)] // tests may panic
mod common;

use std::time::Duration;

use backfill_console::db::claim::{self, ClaimParams, Step, YearRange};
use backfill_console::db::lock_key::YearMonth;
use common::gate::gate;
use futures_util::FutureExt;

fn ym(year: i32, month: i32) -> YearMonth {
    YearMonth::new(year, month).unwrap()
}

fn params(batch: i64) -> ClaimParams {
    ClaimParams {
        batch_size: batch,
        years: YearRange { from: 2000, to: 2024 },
        lock_wait: Duration::from_millis(300),
        ..ClaimParams::default()
    }
}

const MESSAGES: &str = "SELECT count(*) FROM backfill_queue";

/// Two schedulers read the same candidate; A claims and commits; then B locks
/// it, its guarded UPDATE changes 0 rows. Returns the queue's message count.
async fn two_claimers_same_candidate(unchecked_b: bool) -> (i64, claim::ClaimReport, claim::ClaimReport) {
    let db = common::migrated_db().await;
    let mut admin = db.session().await;
    common::seed(&mut admin, "2024-01", "2024-01").await;
    let (mut a, mut b) = (db.session().await, db.session().await);
    let (gate_a, mut ctl_a) = gate();
    let (gate_b, mut ctl_b) = gate();
    let p = params(10);
    let pb = p.clone();
    let task_b = tokio::spawn(async move {
        if unchecked_b {
            claim::claim_unchecked_row_count(&mut b.client, &pb, Some(&gate_b)).await
        } else {
            claim::claim_observed(&mut b.client, &pb, None, &gate_b).await
        }
    });
    // B has read its candidates and waits.
    ctl_b.expect(Step::CandidatesRead).await;
    // A runs the whole claim and commits.
    let task_a = tokio::spawn(async move { claim::claim_observed(&mut a.client, &p, None, &gate_a).await });
    for step in [Step::CandidatesRead, Step::Locked(ym(2024, 1)), Step::Updated(ym(2024, 1)), Step::BeforeCommit] {
        ctl_a.expect(step).await;
        ctl_a.go();
    }
    let report_a = task_a.await.unwrap().unwrap();
    // Now B goes on with its stale candidate: the lock is free again.
    ctl_b.go();
    ctl_b.expect(Step::Locked(ym(2024, 1))).await;
    ctl_b.go();
    ctl_b.expect(Step::Updated(ym(2024, 1))).await;
    ctl_b.go();
    ctl_b.expect(Step::BeforeCommit).await;
    ctl_b.go();
    let report_b = task_b.await.unwrap().unwrap();
    (common::count(&admin.client, MESSAGES).await, report_a, report_b)
}

#[tokio::test]
async fn two_claimers_same_candidate_send_exactly_one_message() {
    let (messages, a, b) = two_claimers_same_candidate(false).await;
    assert_eq!(a.claimed.len(), 1);
    assert!(b.claimed.is_empty());
    assert_eq!(b.skipped_raced, [ym(2024, 1)]);
    assert_eq!(messages, 1);
}

#[tokio::test]
async fn the_unchecked_row_count_variant_sends_a_duplicate() {
    // The defect the test above guards against: it would see two messages.
    let (messages, a, b) = two_claimers_same_candidate(true).await;
    assert_eq!(a.claimed.len(), 1);
    assert_eq!(b.claimed.len(), 1, "the defective variant enqueues a month it did not update");
    assert_eq!(messages, 2);
}

#[tokio::test]
async fn an_error_after_the_lock_rolls_back_and_releases_it() {
    let db = common::migrated_db().await;
    let mut admin = db.session().await;
    common::seed(&mut admin, "2024-01", "2024-02").await;
    admin
        .client
        .batch_execute(
            "CREATE FUNCTION fail_enqueue() RETURNS trigger LANGUAGE plpgsql AS
               $$ BEGIN RAISE EXCEPTION 'queue is broken'; END $$;
             CREATE TRIGGER fail_enqueue BEFORE INSERT ON backfill_queue FOR EACH ROW EXECUTE FUNCTION fail_enqueue();",
        )
        .await
        .unwrap();
    let mut claimer = db.session().await;
    let pid = claimer.backend_pid;
    let (g, mut ctl) = gate();
    let task = tokio::spawn(async move {
        let result = claim::claim_observed(&mut claimer.client, &params(10), Some(&common::actor()), &g).await;
        (result, claimer)
    });
    ctl.expect(Step::CandidatesRead).await;
    ctl.go();
    ctl.expect(Step::Locked(ym(2024, 2))).await;
    assert_eq!(common::month_locks_of(&admin.client, pid).await, [202402], "the lock is really taken");
    ctl.release_all();
    let (result, claimer) = task.await.unwrap();
    let err = result.unwrap_err().to_string();
    assert!(err.contains("queue is broken"), "{err}");
    // Same session, still open: no lock, no transaction, nothing changed.
    claimer.client.simple_query("SELECT 1").await.unwrap();
    assert!(common::month_locks_of(&admin.client, pid).await.is_empty());
    assert_eq!(common::status_of(&admin.client, 2024, 2).await, "pending");
    let failed = common::count(
        &admin.client,
        "SELECT count(*) FROM backfill_console_audit WHERE action = 'claim' AND outcome LIKE 'failed:%queue is broken%'",
    )
    .await;
    assert_eq!(failed, 1, "the failure is audited");
}

#[tokio::test]
async fn a_claim_dropped_half_way_leaves_no_lock_and_no_half_state() {
    let db = common::migrated_db().await;
    let mut admin = db.session().await;
    common::seed(&mut admin, "2024-01", "2024-02").await;
    // The existing fleet holds 2024-01 the way it does: a session lock.
    let fleet = db.session().await;
    fleet.client.execute("SELECT pg_advisory_lock(202401::bigint)", &[]).await.unwrap();
    let mut claimer = db.session().await;
    let pid = claimer.backend_pid;
    let p = ClaimParams { lock_wait: Duration::from_secs(10), ..params(10) };
    // 2024-02 is claimed and enqueued, then the claim waits for 2024-01's lock...
    let outcome = tokio::time::timeout(Duration::from_millis(800), claim::claim(&mut claimer.client, &p, None)).await;
    assert!(outcome.is_err(), "the claim was still waiting, and is dropped here");
    // ...and is dropped. The same session goes on without the lock or the writes.
    claimer.client.simple_query("SELECT 1").await.unwrap();
    assert!(common::month_locks_of(&admin.client, pid).await.is_empty());
    assert_eq!(common::status_of(&admin.client, 2024, 2).await, "pending");
    assert_eq!(common::count(&admin.client, MESSAGES).await, 0);
    let state: String =
        admin.client.query_one("SELECT state FROM pg_stat_activity WHERE pid = $1", &[&pid]).await.unwrap().get(0);
    assert_eq!(state, "idle", "no transaction left open");
    // The fleet's lock is untouched.
    assert_eq!(common::month_locks_of(&admin.client, fleet.backend_pid).await, [202401]);
}

#[tokio::test]
async fn a_panic_inside_the_claim_rolls_back_on_the_same_session() {
    struct PanicAt;
    impl claim::StepObserver for PanicAt {
        fn at(&self, step: Step) -> claim::steps::StepFuture<'_> {
            Box::pin(async move {
                if step == Step::Updated(ym(2024, 1)) {
                    panic!("injected panic after the update");
                }
            })
        }
    }
    let db = common::migrated_db().await;
    let mut admin = db.session().await;
    common::seed(&mut admin, "2024-01", "2024-01").await;
    let mut claimer = db.session().await;
    let pid = claimer.backend_pid;
    let p = params(10);
    let result = std::panic::AssertUnwindSafe(claim::claim_observed(&mut claimer.client, &p, None, &PanicAt))
        .catch_unwind()
        .await;
    assert!(result.is_err(), "the panic propagated");
    claimer.client.simple_query("SELECT 1").await.unwrap();
    assert!(common::month_locks_of(&admin.client, pid).await.is_empty());
    assert_eq!(common::status_of(&admin.client, 2024, 1).await, "pending");
    assert_eq!(common::count(&admin.client, MESSAGES).await, 0);
}

#[tokio::test]
async fn a_failed_commit_rolls_back_status_and_message_together() {
    let db = common::migrated_db().await;
    let mut admin = db.session().await;
    common::seed(&mut admin, "2024-01", "2024-03").await;
    // A deferred constraint fails at COMMIT, after everything else succeeded.
    admin
        .client
        .batch_execute(
            "CREATE FUNCTION fail_at_commit() RETURNS trigger LANGUAGE plpgsql AS
               $$ BEGIN RAISE EXCEPTION 'commit refused'; END $$;
             CREATE CONSTRAINT TRIGGER fail_at_commit AFTER INSERT ON backfill_queue
               DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION fail_at_commit();",
        )
        .await
        .unwrap();
    let mut claimer = db.session().await;
    let err = claim::claim(&mut claimer.client, &params(10), Some(&common::actor())).await.unwrap_err();
    assert!(err.to_string().contains("commit refused"), "{err}");
    for month in 1..=3 {
        assert_eq!(common::status_of(&admin.client, 2024, month).await, "pending");
    }
    assert_eq!(common::count(&admin.client, MESSAGES).await, 0);
    assert!(common::month_locks_of(&admin.client, claimer.backend_pid).await.is_empty());
}

#[tokio::test]
async fn a_month_locked_by_the_existing_fleet_is_skipped() {
    let db = common::migrated_db().await;
    let mut admin = db.session().await;
    common::seed(&mut admin, "2024-01", "2024-03").await;
    let fleet = db.session().await;
    fleet.client.execute("SELECT pg_try_advisory_lock(202403::bigint)", &[]).await.unwrap();
    let mut claimer = db.session().await;
    let report = claim::claim(&mut claimer.client, &params(10), Some(&common::actor())).await.unwrap();
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
    let report = claim::claim(&mut claimer.client, &params(10), None).await.unwrap();
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
    let plain = claim::claim(&mut claimer.client, &params(10), None).await.unwrap();
    assert!(plain.claimed.is_empty(), "failed months need force_retry");
    let forced = ClaimParams { force_retry: true, ..params(10) };
    let report = claim::claim(&mut claimer.client, &forced, None).await.unwrap();
    let claimed: Vec<i32> = report.claimed.iter().map(|c| c.month).collect();
    assert_eq!(claimed, [1], "retry_count 5 is exhausted; completed is never claimed");
}

#[tokio::test]
async fn a_dry_run_reports_candidates_and_locks_and_changes_nothing() {
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
    let report = claim::claim(&mut claimer.client, &p, Some(&common::actor())).await.unwrap();
    assert!(report.dry_run && report.claimed.is_empty());
    let seen: Vec<(i32, bool, Option<i32>)> =
        report.candidates.iter().map(|c| (c.month, c.lock_free, c.holder_pid)).collect();
    assert_eq!(seen, [(3, true, None), (2, false, Some(fleet.backend_pid))]);
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
        let err = claim::claim(&mut claimer.client, &params(batch), None).await.unwrap_err().to_string();
        assert!(err.contains(want), "{err}");
    }
}
