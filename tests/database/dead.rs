//! The dead-letter routines on a real server: exactly the chosen messages move, once; a
//! redrive stopped or cut off between chunks leaves every message in exactly one table.
#![allow(clippy::unwrap_used, clippy::expect_used)] // tests may panic
use crate::common;

use std::time::Duration;

use backfill_console::db::connect::Session;
use backfill_console::db::dead::{self, RedriveRequest, RedriveSkip, Which};

/// Dead letters for each (year, month) with `reason`; their ids.
async fn dead_letters(s: &Session, months: &[(i32, i32)], reason: &str) -> Vec<i64> {
    let mut ids = Vec::new();
    for (year, month) in months {
        ids.push(common::dead_letter(s, *year, *month, reason).await);
    }
    ids
}

async fn where_is(s: &Session, id: i64) -> (i64, i64) {
    let q = common::count(&s.client, &format!("SELECT count(*) FROM backfill_queue WHERE msg_id = {id}")).await;
    let d = common::count(&s.client, &format!("SELECT count(*) FROM backfill_queue_dead WHERE msg_id = {id}")).await;
    (q, d)
}

fn request<'a>(ids: &'a [i64], chunk: usize) -> RedriveRequest<'a> {
    RedriveRequest { ids, force: false, dry_run: false, chunk, pause: Duration::ZERO, selection: "test" }
}

#[tokio::test]
async fn exactly_the_chosen_messages_move_once_and_completed_months_wait_for_force() {
    let db = common::migrated_db().await;
    let mut s = db.session().await;
    common::seed(&mut s, "2024-01", "2024-06").await;
    s.client
        .batch_execute(
            "UPDATE backfill_log SET status = 'completed', started_at = now(), completed_at = now() WHERE month = 3",
        )
        .await
        .unwrap();
    let crashed = dead_letters(&s, &[(2024, 1), (2024, 2), (2024, 3)], "consumer crashed").await;
    let timeouts = dead_letters(&s, &[(2024, 4)], "isbndb timeout").await;
    let listed = dead::list(&s.client, None, 100).await.unwrap();
    assert_eq!((listed.total, listed.messages.len()), (4, 4));
    assert_eq!((listed.reasons[0].reason.as_str(), listed.reasons[0].count), ("consumer crashed", 3));
    assert_eq!(dead::list(&s.client, Some("isbndb timeout"), 100).await.unwrap().messages.len(), 1);
    // A page: every reason still counted, only the newest messages read.
    let page = dead::list(&s.client, None, 1).await.unwrap();
    assert_eq!((page.total, page.messages.len(), page.messages[0].msg_id), (4, 1, timeouts[0]));
    assert_eq!(dead::ids(&s.client, &Which::Reason("consumer crashed".into()), None).await.unwrap(), crashed);
    let (_stop, mut never) = tokio::sync::watch::channel(false);
    // A dry run changes nothing.
    let dry = RedriveRequest { dry_run: true, ..request(&crashed, 2) };
    let plan = dead::redrive(&mut s.client, None, &common::actor(), &dry, &mut never, &mut |_| {}).await.unwrap();
    assert_eq!(plan.moved, [crashed[0], crashed[1]]);
    assert_eq!(plan.skipped[0].why, RedriveSkip::MonthCompleted);
    assert_eq!(where_is(&s, crashed[0]).await, (0, 1));
    let report = dead::redrive(&mut s.client, None, &common::actor(), &request(&crashed, 2), &mut never, &mut |_| {})
        .await
        .unwrap();
    assert_eq!(report.moved, [crashed[0], crashed[1]]);
    assert_eq!(report.chunks, 2);
    // Their pending months were claimed with the message: the claim routine will not queue them again.
    assert_eq!(report.claimed.iter().map(|c| c.month.to_string()).collect::<Vec<_>>(), ["2024-01", "2024-02"]);
    assert_eq!(common::status_of(&s.client, 2024, 1).await, "processing");
    for id in &crashed[..2] {
        assert_eq!(where_is(&s, *id).await, (1, 0));
        let (reads, ready): (i32, bool) = {
            let r = s
                .client
                .query_one("SELECT read_count, visible_at <= now() FROM backfill_queue WHERE msg_id = $1", &[id])
                .await
                .unwrap();
            (r.get(0), r.get(1))
        };
        assert_eq!((reads, ready), (0, true), "ready now, read_count 0");
    }
    assert_eq!(where_is(&s, crashed[2]).await, (0, 1), "the completed month's message waits");
    assert_eq!(where_is(&s, timeouts[0]).await, (0, 1), "not chosen, not touched");
    // Again: those are gone from the dead table (moved once); force sends the completed one.
    let forced = RedriveRequest { force: true, ..request(&crashed, 10) };
    let again = dead::redrive(&mut s.client, None, &common::actor(), &forced, &mut never, &mut |_| {}).await.unwrap();
    assert_eq!(again.moved, [crashed[2]]);
    assert!(again.skipped.iter().all(|k| k.why == RedriveSkip::Gone) && again.skipped.len() == 2);
    assert_eq!(common::count(&s.client, "SELECT count(*) FROM backfill_queue").await, 3);
    // Purge: exactly the chosen, one audit row.
    let purged =
        dead::purge(&mut s.client, None, &common::actor(), &Which::Ids(timeouts.clone()), None, "test").await.unwrap();
    assert_eq!(purged.purged, timeouts);
    assert_eq!(where_is(&s, timeouts[0]).await, (0, 0));
    let audits =
        common::count(&s.client, "SELECT count(*) FROM backfill_console_audit WHERE action LIKE 'dead.%'").await;
    assert_eq!(audits, 2 + 1 + 1, "a row per committed chunk, one for the purge");
}

#[tokio::test]
async fn a_redrive_cancelled_between_chunks_leaves_every_message_in_exactly_one_table() {
    let db = common::migrated_db().await;
    let mut s = db.session().await;
    common::seed(&mut s, "2024-01", "2024-06").await;
    let ids = dead_letters(&s, &[(2024, 1), (2024, 2), (2024, 3), (2024, 4), (2024, 5), (2024, 6)], "boom").await;
    let (stop, mut cancel) = tokio::sync::watch::channel(false);
    // The operator cancels as the first chunk is reported.
    let report = dead::redrive(&mut s.client, None, &common::actor(), &request(&ids, 2), &mut cancel, &mut |_| {
        let _ = stop.send(true);
    })
    .await
    .unwrap();
    assert!(report.stopped);
    assert_eq!(report.moved, ids[..2]);
    assert_eq!(report.remaining, ids[2..]);
    for (i, id) in ids.iter().enumerate() {
        let expected = if i < 2 { (1, 0) } else { (0, 1) };
        assert_eq!(where_is(&s, *id).await, expected, "message {id}");
    }
    let audits =
        common::count(&s.client, "SELECT count(*) FROM backfill_console_audit WHERE action = 'dead.redrive'").await;
    assert_eq!(audits, 1, "the committed chunk is audited");
}

/// The link dies between two chunks (the server ends the session while the redrive
/// waits to send its next chunk): the redrive stops and reports the lost link with what
/// the committed chunk did; the rest are still dead letters — none in both tables or neither.
#[tokio::test]
async fn a_redrive_cut_off_between_chunks_leaves_every_message_in_exactly_one_table() {
    let db = common::migrated_db().await;
    let mut s = db.session().await;
    common::seed(&mut s, "2024-01", "2024-06").await;
    let ids = dead_letters(&s, &[(2024, 1), (2024, 2), (2024, 3), (2024, 4)], "boom").await;
    let pid: i32 = s.client.query_one("SELECT pg_backend_pid()", &[]).await.unwrap().get(0);
    let killer = db.session().await;
    let ids_for_task = ids.clone();
    let task = tokio::spawn(async move {
        let (_stop, mut cancel) = tokio::sync::watch::channel(false);
        let slow = RedriveRequest { pause: Duration::from_secs(1), ..request(&ids_for_task, 2) };
        dead::redrive(&mut s.client, None, &common::actor(), &slow, &mut cancel, &mut |_| {}).await
    });
    // Step: the first chunk is committed (its audit row is there); then the link dies.
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    while common::count(&killer.client, "SELECT count(*) FROM backfill_console_audit WHERE action = 'dead.redrive'")
        .await
        == 0
    {
        assert!(std::time::Instant::now() < deadline, "the first chunk never committed");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    killer.client.execute("SELECT pg_terminate_backend($1)", &[&pid]).await.unwrap();
    let report = task.await.unwrap().expect("the first chunk was committed: a report, with the error");
    assert!(report.stopped && report.error.is_some(), "{report:?}");
    assert_eq!((report.moved.as_slice(), report.remaining.as_slice()), (&ids[..2], &ids[2..]));
    for (i, id) in ids.iter().enumerate() {
        let expected = if i < 2 { (1, 0) } else { (0, 1) };
        assert_eq!(where_is(&killer, *id).await, expected, "message {id}");
    }
}

/// Randomized: redrives and purges of overlapping selections race. Every message ends
/// in exactly one place (the queue, the dead table, or purged), each moved at most once,
/// and the reports add up to what the tables hold.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn racing_redrives_and_purges_move_each_message_once() {
    use rand::{Rng, SeedableRng};
    let db = common::migrated_db().await;
    let mut s = db.session().await;
    common::seed(&mut s, "2020-01", "2024-12").await;
    let months: Vec<(i32, i32)> = (0..60).map(|i| (2020 + i / 12, i % 12 + 1)).collect();
    let ids = dead_letters(&s, &months, "boom").await;
    let mut tasks = Vec::new();
    for w in 0..4u64 {
        let (url, ids) = (db.url.clone(), ids.clone());
        tasks.push(tokio::spawn(async move {
            let mut s = common::connect_url(&url).await;
            let mut rng = rand::rngs::StdRng::seed_from_u64(w);
            let (mut moved, mut purged) = (Vec::new(), Vec::new());
            for _ in 0..8 {
                let chosen: Vec<i64> = ids.iter().copied().filter(|_| rng.random_bool(0.3)).collect();
                if chosen.is_empty() {
                    continue;
                }
                if w == 3 && rng.random_bool(0.3) {
                    let which = Which::Ids(chosen);
                    purged.extend(
                        dead::purge(&mut s.client, None, &common::actor(), &which, None, "t").await.unwrap().purged,
                    );
                } else {
                    let (_stop, mut never) = tokio::sync::watch::channel(false);
                    let req = request(&chosen, rng.random_range(1..6));
                    let r = dead::redrive(&mut s.client, None, &common::actor(), &req, &mut never, &mut |_| {}).await;
                    moved.extend(r.unwrap().moved);
                }
            }
            (moved, purged)
        }));
    }
    let (mut moved, mut purged) = (Vec::new(), Vec::new());
    for t in tasks {
        let (m, p) = t.await.unwrap();
        moved.extend(m);
        purged.extend(p);
    }
    let total_moved = moved.len();
    moved.sort_unstable();
    moved.dedup();
    assert_eq!(moved.len(), total_moved, "no message was moved twice");
    for id in &ids {
        let (q, d) = where_is(&s, *id).await;
        let p = usize::from(purged.contains(id));
        assert_eq!(q as usize + d as usize + p, 1, "message {id}: queue {q}, dead {d}, purged {p}");
        assert_eq!(q == 1, moved.binary_search(id).is_ok(), "message {id}");
    }
}
