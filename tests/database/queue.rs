//! Queue semantics: visibility timeout, skip-locked reads, dead-lettering.
#![allow(clippy::unwrap_used, clippy::expect_used)] // tests may panic
use crate::common;

use std::time::Duration;

use backfill_console::db::queue;

#[tokio::test]
async fn a_read_message_is_invisible_until_its_timeout_then_comes_back() {
    let db = common::migrated_db().await;
    let s = db.session().await;
    s.client.batch_execute("INSERT INTO backfill_queue (message) VALUES ('{\"n\": 1}'), ('{\"n\": 2}')").await.unwrap();
    let a = queue::read(&s.client, Duration::from_millis(400)).await.unwrap().unwrap();
    let b = queue::read(&s.client, Duration::from_secs(60)).await.unwrap().unwrap();
    assert_ne!(a.msg_id, b.msg_id, "two consumers never get the same message");
    assert!(queue::read(&s.client, Duration::from_secs(60)).await.unwrap().is_none());
    tokio::time::sleep(Duration::from_millis(600)).await;
    let again = queue::read(&s.client, Duration::from_secs(60)).await.unwrap().unwrap();
    assert_eq!((again.msg_id, again.read_count), (a.msg_id, 2), "redelivered after the timeout");
    assert!(queue::delete(&s.client, b.msg_id).await.unwrap());
    assert!(queue::dead_letter(&s.client, again.msg_id, "3 failed deliveries").await.unwrap());
    assert_eq!(common::count(&s.client, "SELECT count(*) FROM backfill_queue").await, 0);
    let dead: (i64, String) = {
        let r = s.client.query_one("SELECT msg_id, reason FROM backfill_queue_dead", &[]).await.unwrap();
        (r.get(0), r.get(1))
    };
    assert_eq!(dead, (a.msg_id, "3 failed deliveries".to_string()));
}

#[tokio::test]
async fn concurrent_readers_skip_locked_rows() {
    let db = common::migrated_db().await;
    let s = db.session().await;
    s.client
        .batch_execute("INSERT INTO backfill_queue (message) SELECT '{}' FROM generate_series(1, 50)")
        .await
        .unwrap();
    let mut readers = Vec::new();
    for _ in 0..5 {
        let s = db.session().await;
        readers.push(tokio::spawn(async move {
            let mut got = Vec::new();
            while let Some(d) = queue::read(&s.client, Duration::from_secs(60)).await.unwrap() {
                got.push(d.msg_id);
            }
            got
        }));
    }
    let mut all = Vec::new();
    for r in readers {
        all.extend(r.await.unwrap());
    }
    all.sort_unstable();
    let before = all.len();
    all.dedup();
    assert_eq!((before, all.len()), (50, 50), "each message delivered exactly once");
}
