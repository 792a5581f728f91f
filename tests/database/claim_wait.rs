//! How a claim waits for a busy month, and when it does not: months passed over for the
//! next free one, a month another claimer is claiming or has claimed meanwhile, and the
//! walk that never locks past the last month it needs (the claim's other tests: `claim`).
#![allow(clippy::unwrap_used, clippy::expect_used)] // tests may panic
use crate::common;

use std::time::Duration;

use backfill_console::db::claim::{self, ClaimParams, Step};
use backfill_console::db::connect::Session;
use common::gate::gate;

use crate::claim::{CLAIM_WITHOUT_THE_LOCK, MESSAGES, params, ym};

/// One month, 2024-01, whose (session) lock a scheduler of the existing fleet holds:
/// the database, an admin session, the fleet's session and a claimer's.
async fn january_locked_by_the_fleet() -> (common::TestDb, Session, Session, Session) {
    let db = common::migrated_db().await;
    let mut admin = db.session().await;
    common::seed(&mut admin, "2024-01", "2024-01").await;
    let fleet = db.session().await;
    fleet.client.batch_execute("SELECT pg_advisory_lock(202401)").await.unwrap();
    let b = db.session().await;
    (db, admin, fleet, b)
}

/// The existing fleet's scheduler holds the month's (session) lock and has not
/// touched the row yet; our claim's batch is short, so it waits; the scheduler
/// then claims the month, commits and unlocks; our retry sees the month claimed
/// and leaves it without ever taking its lock.
#[tokio::test]
async fn a_retry_that_finds_the_month_claimed_meanwhile_leaves_it() {
    let (_db, admin, fleet, mut b) = january_locked_by_the_fleet().await;
    let (gate_b, mut ctl_b) = gate();
    let task_b = tokio::spawn(async move { claim::claim_observed(&mut b, &params(10), None, &gate_b).await });
    ctl_b.expect(Step::Walked).await;
    ctl_b.go();
    ctl_b.expect(Step::Retry).await; // B found it busy and is about to try again
    fleet.client.batch_execute(&format!("{CLAIM_WITHOUT_THE_LOCK} SELECT pg_advisory_unlock(202401);")).await.unwrap();
    ctl_b.go();
    ctl_b.expect(Step::Walked).await; // the retry walk: no Locked step follows
    ctl_b.go();
    ctl_b.expect(Step::BeforeCommit).await;
    ctl_b.go();
    let report_b = task_b.await.unwrap().unwrap();
    assert!(report_b.claimed.is_empty() && report_b.skipped_locked.is_empty());
    assert_eq!(report_b.skipped_raced, [ym(2024, 1)]);
    assert_eq!(common::count(&admin.client, MESSAGES).await, 1);
}

/// A scheduler of the existing fleet claims the month and commits while our walk is
/// between its read and the wait, and keeps the month's lock a while (as it does until
/// its `finally`): the month is no longer claimable, so our short batch does not wait
/// for the lock only to find it gone. Before, it did: every short claimer at the end of
/// a drain slept a retry pause or more for such months (`cargo bench --bench claim_drain`).
#[tokio::test]
async fn a_month_claimed_meanwhile_is_not_waited_for() {
    let (_db, admin, fleet, mut b) = january_locked_by_the_fleet().await;
    let (gate_b, mut ctl_b) = gate();
    let p = ClaimParams { lock_wait: Duration::from_secs(10), ..params(10) };
    let task_b = tokio::spawn(async move { claim::claim_observed(&mut b, &p, None, &gate_b).await });
    ctl_b.expect(Step::Walked).await; // B read 2024-01 claimable and found its lock busy
    fleet.client.batch_execute(CLAIM_WITHOUT_THE_LOCK).await.unwrap(); // committed; the lock still held
    ctl_b.go();
    ctl_b.expect(Step::BeforeCommit).await; // no Step::Retry: B did not wait
    ctl_b.go();
    let report_b = task_b.await.unwrap().unwrap();
    assert!(report_b.claimed.is_empty());
    assert_eq!(report_b.skipped_locked, [ym(2024, 1)]);
    assert_eq!(common::count(&admin.client, MESSAGES).await, 1);
}

/// Another claimer is in the middle of claiming the month (its transaction has
/// changed the row): waiting for its lock is pointless, so a short batch does
/// not wait for it.
#[tokio::test]
async fn a_month_another_transaction_is_claiming_is_not_waited_for() {
    let db = common::migrated_db().await;
    let mut admin = db.session().await;
    common::seed(&mut admin, "2024-01", "2024-01").await;
    let (mut a, mut b) = (db.session().await, db.session().await);
    let (gate_a, mut ctl_a) = gate();
    let task_a = tokio::spawn(async move { claim::claim_observed(&mut a, &params(10), None, &gate_a).await });
    for step in [Step::Walked, Step::Locked(ym(2024, 1)), Step::Updated(ym(2024, 1))] {
        ctl_a.expect(step).await;
        ctl_a.go();
    }
    ctl_a.expect(Step::BeforeCommit).await; // A has updated 2024-01, uncommitted
    let p = ClaimParams { lock_wait: Duration::from_secs(10), ..params(10) };
    let report_b = tokio::time::timeout(Duration::from_secs(5), claim::claim(&mut b, &p, None))
        .await
        .expect("B waited for a month A is claiming")
        .unwrap();
    assert!(report_b.claimed.is_empty());
    assert_eq!(report_b.skipped_locked, [ym(2024, 1)]);
    ctl_a.release_all();
    assert_eq!(task_a.await.unwrap().unwrap().claimed.len(), 1);
    assert_eq!(common::count(&admin.client, MESSAGES).await, 1);
}

#[tokio::test]
async fn a_walk_never_locks_a_month_past_the_last_one_it_needs() {
    let db = common::migrated_db().await;
    let mut admin = db.session().await;
    common::seed(&mut admin, "2024-01", "2024-06").await;
    let fleet = db.session().await;
    fleet.client.execute("SELECT pg_advisory_lock(202405::bigint)", &[]).await.unwrap();
    let mut claimer = db.session().await;
    let pid = claimer.backend_pid;
    let (g, mut ctl) = gate();
    let task = tokio::spawn(async move { claim::claim_observed(&mut claimer, &params(2), None, &g).await });
    ctl.expect(Step::Walked).await;
    // 06 taken, 05 busy (the fleet), 04 taken: the walk stopped there.
    assert_eq!(common::month_locks_of(&admin.client, pid).await, [202404, 202406]);
    ctl.release_all();
    let report = task.await.unwrap().unwrap();
    assert_eq!(report.claimed.iter().map(|c| c.month).collect::<Vec<_>>(), [6, 4]);
    assert_eq!(report.skipped_locked, [ym(2024, 5)]);
}

#[tokio::test]
async fn a_claimer_passes_over_months_another_claimer_holds_instead_of_waiting() {
    let db = common::migrated_db().await;
    let mut admin = db.session().await;
    common::seed(&mut admin, "2024-01", "2024-04").await;
    let (mut a, mut b) = (db.session().await, db.session().await);
    let (gate_a, mut ctl_a) = gate();
    let task_a = tokio::spawn(async move { claim::claim_observed(&mut a, &params(2), None, &gate_a).await });
    ctl_a.expect(Step::Walked).await;
    ctl_a.go();
    for step in [Step::Locked(ym(2024, 4)), Step::Locked(ym(2024, 3)), Step::Updated(ym(2024, 4))] {
        ctl_a.expect(step).await;
        ctl_a.go();
    }
    ctl_a.expect(Step::Updated(ym(2024, 3))).await; // A holds 04 and 03, uncommitted
    // B wants 2 as well, with the full 10 s lock wait: it takes 02 and 01 at once.
    let p = ClaimParams { lock_wait: Duration::from_secs(10), ..params(2) };
    let report_b = tokio::time::timeout(Duration::from_secs(5), claim::claim(&mut b, &p, None))
        .await
        .expect("B waited on A's months although free ones were left")
        .unwrap();
    let claimed: Vec<i32> = report_b.claimed.iter().map(|c| c.month).collect();
    assert_eq!(claimed, [2, 1]);
    assert_eq!(report_b.skipped_locked, [ym(2024, 4), ym(2024, 3)]);
    ctl_a.release_all();
    let report_a = task_a.await.unwrap().unwrap();
    assert_eq!(report_a.claimed.iter().map(|c| c.month).collect::<Vec<_>>(), [4, 3]);
    assert_eq!(common::count(&admin.client, MESSAGES).await, 4);
}
