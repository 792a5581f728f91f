//! Through a small PgBouncer pool: commands wait their turn in the pooler's queue and say
//! so (the console's header too), and nothing is left on a pooled backend whatever the
//! pooler's reset settings.
#![allow(clippy::unwrap_used, clippy::expect_used)] // tests may panic
use crate::common;

use std::process::{Command, Stdio};
use std::time::Duration;

use super::pooler::{BIN, ok_json};
use backfill_console::pgserver::{BouncerSettings, PoolMode, TempBouncer};
use common::pty::Console;

fn small_pool(mode: PoolMode, pool_size: u32, server_reset_query: Option<&str>) -> TempBouncer {
    let settings =
        BouncerSettings { pool_size: Some(pool_size), server_reset_query: server_reset_query.map(str::to_string) };
    TempBouncer::start_with(common::server(), mode, &settings).expect("start a throwaway PgBouncer")
}

/// Six commands at once through a session pool of two server connections: each waits its
/// turn (as psql does) and all succeed; the probe never holds one connection while it
/// waits for a second.
#[tokio::test(flavor = "multi_thread")]
async fn six_commands_at_once_through_a_session_pool_of_two_all_succeed() {
    let db = common::migrated_db().await;
    let mut admin = db.session().await;
    common::seed(&mut admin, "2024-01", "2024-03").await;
    let pool = small_pool(PoolMode::Session, 2, None);
    let url = pool.url(&db.name);
    let kids: Vec<_> = (0..6)
        .map(|i| {
            let args: &[&str] = if i % 2 == 0 { &["snapshot", "--json"] } else { &["locks", "--json"] };
            Command::new(BIN)
                .args(args)
                .env("DATABASE_URL", &url)
                .env_remove("PGPASSWORD")
                .stdin(Stdio::null())
                .stdout(Stdio::piped())
                .stderr(Stdio::piped())
                .spawn()
                .unwrap()
        })
        .collect();
    for kid in kids {
        let out = tokio::task::spawn_blocking(move || kid.wait_with_output().unwrap()).await.unwrap();
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
        let doc: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        assert!(doc.is_object() || doc.is_array(), "{doc}");
    }
}

/// A pool of one, its only server connection held by another client: the command waits
/// in the pooler's queue, says so on stderr (not "is the link up?"), and succeeds once
/// the connection is free.
#[tokio::test(flavor = "multi_thread")]
async fn a_command_waits_its_turn_in_the_pooler_queue_and_says_so() {
    use std::io::BufRead;
    let db = common::migrated_db().await;
    let pool = small_pool(PoolMode::Session, 1, None);
    let url = pool.url(&db.name);
    let holder = common::connect_url(&url).await;
    let mut kid = Command::new(BIN)
        .args(["snapshot", "--json"])
        .env("DATABASE_URL", &url)
        .env_remove("PGPASSWORD")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let stderr = kid.stderr.take().unwrap();
    // Release the held connection only once the command said it waits (no sleep to guess).
    let (first_tx, first_rx) = std::sync::mpsc::channel::<String>();
    let reader = std::thread::spawn(move || {
        let mut lines = std::io::BufReader::new(stderr).lines().map_while(Result::ok);
        if let Some(first) = lines.next() {
            let _ = first_tx.send(first);
        }
        lines.collect::<Vec<String>>()
    });
    let first = tokio::task::spawn_blocking(move || first_rx.recv_timeout(Duration::from_secs(60)))
        .await
        .unwrap()
        .expect("a word from the waiting command");
    drop(holder);
    let out = tokio::task::spawn_blocking(move || kid.wait_with_output().unwrap()).await.unwrap();
    let rest = reader.join().unwrap();
    assert!(first.starts_with("waiting for a server connection in the pooler's queue for 2 s"), "{first}\n{rest:?}");
    assert!(out.status.success(), "{first}\n{rest:?}");
    let doc: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(doc["connection"]["pooling"], "unknown", "the probe gave up rather than wait: {doc}");
}

/// PgBouncer with `server_reset_query` empty hands the next client the very server
/// backend we used: a read-only snapshot and a console must leave nothing on it — no
/// setting, no LISTEN.
#[tokio::test(flavor = "multi_thread")]
async fn nothing_is_left_on_a_pooled_backend_whatever_the_poolers_reset_settings() {
    let db = common::migrated_db().await;
    let mut admin = db.session().await;
    common::seed(&mut admin, "2024-01", "2024-02").await;
    for mode in [PoolMode::Session, PoolMode::Transaction] {
        let pool = small_pool(mode, 1, Some(""));
        let url = pool.url(&db.name);
        let snap = ok_json(&url, &["--read-only", "snapshot", "--json"]);
        assert_eq!(snap["counts"]["pending"], 2, "{snap}");
        let (u, console_url) = (url.clone(), url.clone());
        tokio::task::spawn_blocking(move || {
            let mut c = Console::start_with(&console_url, &["--read-only"], &[], 30, 200);
            c.wait_for("● connected");
            c.wait_for("pend 2");
            c.send("q");
            assert_eq!(c.wait_exit(), 0);
        })
        .await
        .unwrap();
        let _ = u;
        // The next client of the pool (one server connection: the same backend).
        let next = common::connect_url(&url).await;
        let row = next
            .client
            .query_one(
                "SELECT current_setting('default_transaction_read_only'), current_setting('statement_timeout'),
                        current_setting('lock_timeout'), current_setting('idle_in_transaction_session_timeout'),
                        (SELECT count(*) FROM pg_listening_channels())",
                &[],
            )
            .await
            .unwrap();
        let left: (String, String, String, String, i64) = (row.get(0), row.get(1), row.get(2), row.get(3), row.get(4));
        assert_eq!(left, ("off".into(), "0".into(), "0".into(), "0".into(), 0), "{mode:?}: left on the backend");
        // And the fleet's next write through it works.
        next.client.batch_execute("UPDATE backfill_log SET status = 'pending'").await.unwrap();
    }
}

/// The console's header says it is waiting in the pooler's queue (not "reconnecting"),
/// and connects once a server connection is free.
#[tokio::test(flavor = "multi_thread")]
async fn the_console_header_shows_the_wait_in_the_pooler_queue() {
    let db = common::migrated_db().await;
    let pool = small_pool(PoolMode::Session, 1, None);
    let url = pool.url(&db.name);
    let holder = common::connect_url(&url).await;
    let console_url = url.clone();
    let (tx, rx) = std::sync::mpsc::channel::<()>();
    let task = tokio::task::spawn_blocking(move || {
        let mut c = Console::start_with(&console_url, &[], &[], 30, 200);
        c.wait_for("waiting for a server connection in the pooler's queue for");
        tx.send(()).unwrap();
        c.wait_for("● connected");
        c.send("q");
        assert_eq!(c.wait_exit(), 0);
    });
    tokio::task::spawn_blocking(move || rx.recv_timeout(Duration::from_secs(60)).expect("the header says it waits"))
        .await
        .unwrap();
    drop(holder);
    task.await.unwrap();
}
