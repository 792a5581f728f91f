//! A claim that fails half-way — an error after the month locks, a dropped future, a
//! panic, a failed commit or update — leaves no lock, no half state and a usable session.
#![allow(clippy::unwrap_used, clippy::expect_used)] // tests may panic
use crate::common;

use std::time::Duration;

use backfill_console::db::claim::{self, ClaimParams, Step};
use common::gate::gate;
use futures_util::FutureExt;

use crate::claim::{MESSAGES, params, ym};

/// Every insert into the queue fails ("queue is broken"): an error after the month locks.
async fn break_the_queue(admin: &common::Session) {
    admin
        .client
        .batch_execute(
            "CREATE FUNCTION fail_enqueue() RETURNS trigger LANGUAGE plpgsql AS
               $$ BEGIN RAISE EXCEPTION 'queue is broken'; END $$;
             CREATE TRIGGER fail_enqueue BEFORE INSERT ON backfill_queue FOR EACH ROW EXECUTE FUNCTION fail_enqueue();",
        )
        .await
        .unwrap();
}

#[tokio::test]
async fn an_error_after_the_lock_rolls_back_and_releases_it() {
    let db = common::migrated_db().await;
    let mut admin = db.session().await;
    common::seed(&mut admin, "2024-01", "2024-02").await;
    break_the_queue(&admin).await;
    let mut claimer = db.session().await;
    let pid = claimer.backend_pid;
    let (g, mut ctl) = gate();
    let task = tokio::spawn(async move {
        let result = claim::claim_observed(&mut claimer, &params(10), Some(&common::actor()), &g).await;
        (result, claimer)
    });
    ctl.expect(Step::Walked).await;
    ctl.go();
    // One lock pass takes both months' locks; the steps then come month by month.
    ctl.expect(Step::Locked(ym(2024, 2))).await;
    assert_eq!(common::month_locks_of(&admin.client, pid).await, [202401, 202402], "the locks are really taken");
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
    let outcome = tokio::time::timeout(Duration::from_millis(800), claim::claim(&mut claimer, &p, None)).await;
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
    let result =
        std::panic::AssertUnwindSafe(claim::claim_observed(&mut claimer, &p, None, &PanicAt)).catch_unwind().await;
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
    // With an audit row (its insert and the COMMIT go together), and without (the fleet's
    // way: a full batch's update and the COMMIT go together).
    for actor in [Some(common::actor()), None] {
        let mut claimer = db.session().await;
        let err = claim::claim(&mut claimer, &params(3), actor.as_ref()).await.unwrap_err();
        assert!(err.to_string().contains("commit refused"), "{err}");
        for month in 1..=3 {
            assert_eq!(common::status_of(&admin.client, 2024, month).await, "pending");
        }
        assert_eq!(common::count(&admin.client, MESSAGES).await, 0);
        // The server sends a failed COMMIT's error before it has finished the rollback;
        // once the session answers again, no lock is left.
        claimer.client.simple_query("SELECT 1").await.unwrap();
        assert!(common::month_locks_of(&admin.client, claimer.backend_pid).await.is_empty());
    }
}

/// A full batch sends its update with the COMMIT behind it, in one round trip: when the
/// update fails, that COMMIT only ends the failed transaction — nothing is written, no
/// lock is left, and the session is idle, ready for the next claim.
#[tokio::test]
async fn a_failed_update_sent_with_its_commit_leaves_nothing_behind() {
    let db = common::migrated_db().await;
    let mut admin = db.session().await;
    common::seed(&mut admin, "2024-01", "2024-02").await;
    break_the_queue(&admin).await;
    let mut claimer = db.session().await;
    let pid = claimer.backend_pid;
    let err = claim::claim(&mut claimer, &params(2), None).await.unwrap_err();
    assert!(err.to_string().contains("queue is broken"), "{err}");
    assert!(common::month_locks_of(&admin.client, pid).await.is_empty());
    for month in 1..=2 {
        assert_eq!(common::status_of(&admin.client, 2024, month).await, "pending");
    }
    let state: String =
        admin.client.query_one("SELECT state FROM pg_stat_activity WHERE pid = $1", &[&pid]).await.unwrap().get(0);
    assert_eq!(state, "idle", "no transaction left open");
    admin.client.batch_execute("DROP TRIGGER fail_enqueue ON backfill_queue").await.unwrap();
    let report = claim::claim(&mut claimer, &params(2), None).await.unwrap();
    assert_eq!(report.claimed.len(), 2, "the same session claims again");
}
