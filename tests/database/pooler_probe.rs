//! The pooler's mode as the probe reads it while other clients are busy on the same
//! pooler — production's case: the fleet's schedulers and consumers never stop.
#![allow(clippy::unwrap_used, clippy::expect_used)] // tests may panic
use crate::common;

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use backfill_console::db::connect::{self, Pooling, SessionOptions};
use backfill_console::pgserver::{PoolMode, TempBouncer};

/// The mode read by `connects` connections made one after another through a PgBouncer in
/// `mode` while six other clients run short transactions through it without a pause.
async fn readings_while_busy(mode: PoolMode, connects: usize) -> Vec<Pooling> {
    let pool = TempBouncer::start(common::server(), mode).expect("start a throwaway PgBouncer");
    let db = common::migrated_db().await;
    let settings = common::settings_of(&pool.url(&db.name));
    let stop = Arc::new(AtomicBool::new(false));
    let mut busy = Vec::new();
    for _ in 0..6 {
        let s = connect::connect(&settings, &SessionOptions::default()).await.unwrap();
        let stop = stop.clone();
        busy.push(tokio::spawn(async move {
            while !stop.load(Ordering::Relaxed) {
                s.client.batch_execute("BEGIN; SELECT pg_backend_pid(); COMMIT").await.unwrap();
            }
        }));
    }
    let mut read = Vec::new();
    for _ in 0..connects {
        read.push(connect::connect(&settings, &SessionOptions::default()).await.unwrap().pooling);
    }
    stop.store(true, Ordering::Relaxed);
    for b in busy {
        b.await.unwrap();
    }
    read
}

/// Randomized: a transaction pooler busy with other clients is read as one every time — read
/// as a session pooler, a lock stranded on a backend behind it would not be judged stranded.
/// With one look (the second client did not get our server
/// connection, and our next transaction did) 3 to 6 of 40 connects were read as a session
/// pooler: another client had our server connection just while the second client asked.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_transaction_pooler_busy_with_other_clients_is_never_read_as_a_session_pooler() {
    let read = readings_while_busy(PoolMode::Transaction, 30).await;
    let sessions = read.iter().filter(|p| **p == Pooling::Session).count();
    assert_eq!(sessions, 0, "read as a session pooler {sessions} times of 30: {read:?}");
}

/// And a session pooler busy with other clients is still read as one.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_session_pooler_busy_with_other_clients_is_still_read_as_one() {
    let read = readings_while_busy(PoolMode::Session, 10).await;
    assert!(read.iter().all(|p| *p == Pooling::Session), "{read:?}");
}
