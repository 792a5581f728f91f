//! The relay (issue 21, goal 2), with the real binary: consoles on one database share
//! one read — the first reads and publishes, the others show what it read and read
//! nothing themselves; a change reaches every screen; when the leader quits another
//! takes over, and when it freezes the others read for themselves; a forged publication,
//! or a leader of another user, is never followed.
#![allow(clippy::unwrap_used, clippy::expect_used)] // tests may panic
use crate::common;

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use backfill_console::db::migrate::{LOCK_NAMESPACE, RELAY_LOCK};
use backfill_console::db::relay::{self, wire};
use common::pty::{APP, Console};

const LEADS: &str = "reads for other consoles";
const FOLLOWS: &str = "shared read (pid ";

fn console(db: &common::TestDb) -> Console {
    Console::start_with(&db.url, &[], &[], 40, 160)
}

/// The leader's pid, as a follower's header names it.
fn followed_pid(c: &Console) -> i32 {
    let screen = c.contents();
    let at = screen.find(FOLLOWS).unwrap() + FOLLOWS.len();
    screen[at..].chars().take_while(char::is_ascii_digit).collect::<String>().parse().unwrap()
}

/// When each console's session last started a statement, by pid.
async fn last_statements(client: &tokio_postgres::Client) -> Vec<(i32, String)> {
    let rows = client
        .query(
            "SELECT pid, query_start::text FROM pg_stat_activity WHERE application_name = $1 AND datname = current_database()
             ORDER BY pid",
            &[&APP],
        )
        .await
        .unwrap();
    rows.iter().map(|r| (r.get(0), r.get(1))).collect()
}

async fn set_failed(db: &common::TestDb, months: &[i32]) {
    let s = db.session().await;
    s.client.execute("UPDATE backfill_log SET status = 'pending'", &[]).await.unwrap();
    s.client
        .execute("UPDATE backfill_log SET status = 'failed' WHERE year = 2024 AND month = ANY($1)", &[&months.to_vec()])
        .await
        .unwrap();
}

#[tokio::test(flavor = "multi_thread")]
async fn consoles_share_one_read_and_another_takes_over_when_the_leader_quits() {
    let db = common::migrated_db().await;
    let mut admin = db.session().await;
    common::seed(&mut admin, "2024-01", "2024-12").await;
    let mut first = console(&db);
    first.wait_for(LEADS);
    let others = [console(&db), console(&db)];
    for c in &others {
        c.wait_for(FOLLOWS);
    }
    let leader = followed_pid(&others[0]);
    assert_eq!(followed_pid(&others[1]), leader);
    // A change reaches every screen.
    set_failed(&db, &[3]).await;
    first.wait_for("✗ fail 1");
    for c in &others {
        c.wait_for("✗ fail 1");
    }
    // Only the leader's session reads: the followers' sessions run no statement at all.
    let before = last_statements(&admin.client).await;
    tokio::time::sleep(Duration::from_millis(3500)).await;
    let after = last_statements(&admin.client).await;
    assert_eq!(before.len(), 3, "{before:?}");
    for ((pid, was), (_, is)) in before.iter().zip(&after) {
        if *pid == leader {
            assert_ne!(was, is, "the leader reads at every refresh");
        } else {
            assert_eq!(was, is, "follower {pid} ran a statement");
        }
    }
    // The leader quits: another console leads, and changes still reach the screens left.
    first.send("q");
    first.wait_exit();
    let deadline = std::time::Instant::now() + Duration::from_secs(15);
    while !others.iter().any(|c| c.contents().contains(LEADS)) {
        assert!(std::time::Instant::now() < deadline, "nobody took over:\n{}", others[0].contents());
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    set_failed(&db, &[3, 4]).await;
    for c in &others {
        c.wait_for("✗ fail 2");
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_frozen_leader_leaves_the_others_reading_for_themselves() {
    use nix::sys::signal::{Signal, kill};
    use nix::unistd::Pid;
    let db = common::migrated_db().await;
    let mut admin = db.session().await;
    common::seed(&mut admin, "2024-01", "2024-12").await;
    let leader = console(&db);
    leader.wait_for(LEADS);
    let follower = console(&db);
    follower.wait_for(FOLLOWS);
    // Stopped (Ctrl-Z, a frozen SSH session): its session stays, the lock stays, nothing is published.
    let pid = Pid::from_raw(i32::try_from(leader.child.process_id().unwrap()).unwrap());
    kill(pid, Signal::SIGSTOP).unwrap();
    set_failed(&db, &[5]).await;
    let seen = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        follower.wait_for_within("✗ fail 1", Duration::from_secs(15))
    }));
    kill(pid, Signal::SIGCONT).unwrap();
    assert!(seen.is_ok(), "the follower never read for itself");
    leader.wait_for("✗ fail 1");
}

/// A publication as an attacker would forge it: every month failed, no lock held.
fn forged(seq: u64) -> Vec<String> {
    let document = serde_json::json!({
        "taken_at": "2026-12-01T00:00:00Z",
        "months": { "fingerprint": "1:1", "delta": false,
                    "rows": [{ "id": 1, "year": 2024, "month": 1, "status": "failed", "retry_count": 0,
                               "error": "FORGED" }] },
        "locks": { "common": [[], []], "other": [] },
        "sessions": { "fingerprint": "0:0", "rows": [] },
        "queue": { "ready": 0, "in_flight": 0, "delayed": 0, "dead": 0, "enqueued_total": 0 },
        "processing": { "rows": [] }
    });
    let p =
        wire::Publication { seq, document: document.to_string(), push_gap_ms: 200, duplicates: None, history: None };
    wire::cut(&p).unwrap()
}

/// Publishes forged publications every 100 ms from `client` until `stop`.
fn forge(session: common::Session, stop: Arc<AtomicBool>) -> tokio::task::JoinHandle<common::Session> {
    tokio::spawn(async move {
        let mut seq = 0;
        while !stop.load(Ordering::Relaxed) {
            relay::publish(&session.client, &forged(seq)).await.unwrap();
            seq += 1;
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        session
    })
}

#[tokio::test(flavor = "multi_thread")]
async fn a_forged_publication_or_an_untrusted_leader_is_never_followed() {
    let db = common::migrated_db().await;
    let mut admin = db.session().await;
    common::seed(&mut admin, "2024-01", "2024-12").await;
    let (mallory, password) = common::login_in_role(&db, "backfill_watcher").await;
    let attacker = common::connect_url(&common::url_as(&db, &mallory, &password)).await;
    // Mallory takes the relay lock before any console comes, and publishes forgeries.
    let took: bool = attacker
        .client
        .query_one("SELECT pg_try_advisory_lock($1, $2)", &[&LOCK_NAMESPACE, &RELAY_LOCK])
        .await
        .unwrap()
        .get(0);
    assert!(took);
    let stop = Arc::new(AtomicBool::new(false));
    let forging = forge(attacker, stop.clone());
    let c = console(&db);
    c.wait_for("Months 12/12");
    // Not followed: it reads for itself, and shows what is true.
    set_failed(&db, &[6, 7]).await;
    c.wait_for("✗ fail 2");
    for _ in 0..20 {
        let screen = c.contents();
        assert!(!screen.contains("FORGED") && !screen.contains(FOLLOWS), "{screen}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    stop.store(true, Ordering::Relaxed);
    let attacker = forging.await.unwrap();
    // Mallory lets go: the console leads, a second follows it — and forgeries from any
    // session but the leader's are dropped.
    attacker.client.execute("SELECT pg_advisory_unlock_all()", &[]).await.unwrap();
    c.wait_for_within(LEADS, Duration::from_secs(15));
    let follower = console(&db);
    follower.wait_for(FOLLOWS);
    let stop = Arc::new(AtomicBool::new(false));
    let forging = forge(attacker, stop.clone());
    set_failed(&db, &[8]).await;
    follower.wait_for("✗ fail 1");
    for _ in 0..20 {
        let screen = follower.contents();
        assert!(!screen.contains("FORGED") && screen.contains("Months 12/12"), "{screen}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    stop.store(true, Ordering::Relaxed);
    forging.await.unwrap();
}
