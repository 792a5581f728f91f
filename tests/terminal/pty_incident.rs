//! The incident workflow through the real binary in a pseudo-terminal: an operator
//! marks three failed months, retries them through the dialog, and the database shows it.
#![allow(clippy::unwrap_used, clippy::expect_used)] // tests may panic
use crate::common;

use common::pty::Console;

#[tokio::test(flavor = "multi_thread")]
async fn operator_marks_three_failed_months_and_retries_them_through_the_dialog() {
    let db = common::migrated_db().await;
    let mut admin = db.session().await;
    common::seed(&mut admin, "2024-01", "2024-12").await;
    admin
        .client
        .batch_execute(
            "UPDATE backfill_log SET status = 'failed', retry_count = 2, error_message = 'gemini: 503 (model x-' || month || ')'
             WHERE month >= 10",
        )
        .await
        .unwrap();
    let url = db.url.clone();
    let mut console = tokio::task::spawn_blocking(move || {
        let mut c = Console::start(&url, &[]);
        c.wait_for("Months 12/12");
        // The three newest months, one after the other.
        c.send(" ");
        c.wait_for("1 marked");
        c.send("j");
        c.send(" ");
        c.wait_for("2 marked");
        c.send("j");
        c.send(" ");
        c.wait_for("3 marked");
        c.send("t");
        // The plan comes from a dry run of the same routine.
        c.wait_for("Retry 3 month(s): failed -> retry");
        c.wait_for("2024-10..2024-12");
        c.send("\r");
        c.wait_for("retried 3, left alone 0");
        c
    })
    .await
    .unwrap();
    for month in 10..=12 {
        assert_eq!(common::status_of(&admin.client, 2024, month).await, "retry");
    }
    assert_eq!(common::status_of(&admin.client, 2024, 9).await, "pending");
    let audit = admin
        .client
        .query_one("SELECT parameters->>'months', outcome FROM backfill_console_audit WHERE action = 'retry'", &[])
        .await
        .unwrap();
    assert_eq!(audit.get::<_, String>(0), "2024-10..2024-12");
    assert_eq!(audit.get::<_, String>(1), "done: retried 3, left alone 0");
    let code = tokio::task::spawn_blocking(move || {
        console.send("\r");
        console.send("q");
        let code = console.wait_exit();
        console.assert_restored();
        code
    })
    .await
    .unwrap();
    assert_eq!(code, 0);
}

/// A dead letter and an audit row nested 300 deep: the console's views show that one
/// value as unreadable and go on (a panicked task used to leave a frozen screen behind).
#[tokio::test(flavor = "multi_thread")]
async fn poison_values_are_shown_as_unreadable_in_the_console() {
    let db = common::migrated_db().await;
    let mut admin = db.session().await;
    common::seed(&mut admin, "2024-01", "2024-03").await;
    let deep = format!("{}{}", "[".repeat(300), "]".repeat(300));
    admin
        .client
        .execute(
            "INSERT INTO backfill_queue_dead (msg_id, enqueued_at, visible_at, read_count, message, reason)
             VALUES (900001, now(), now(), 3, $1::text::jsonb, 'poison pill')",
            &[&deep],
        )
        .await
        .unwrap();
    admin
        .client
        .execute(
            "INSERT INTO backfill_console_audit (action, outcome, parameters, detail)
             VALUES ('claim', 'done: forged deep', $1::text::jsonb, $1::text::jsonb)",
            &[&deep],
        )
        .await
        .unwrap();
    let url = db.url.clone();
    tokio::task::spawn_blocking(move || {
        let mut c = Console::start_with(&url, &[], &[], 30, 120);
        c.wait_for("Months 3/3");
        c.send("D");
        c.wait_for("poison pill");
        c.send("j"); // row 0 is every reason at once
        c.send("\r");
        c.wait_for("900001");
        c.send("\r");
        c.wait_for("payload unreadable (nested deeper than 128 levels)");
        // One Esc at a time (two at once read as Alt+Esc): the payload, the list, the view.
        c.send("\x1b");
        c.wait_gone("payload unreadable");
        c.send("\x1b");
        c.wait_for("(every reason)");
        c.send("\x1b");
        c.wait_gone("Dead letters");
        c.send("A");
        c.wait_for("done: forged deep");
        c.send("\x1b");
        c.wait_gone("Audit trail");
        c.send("q");
        assert_eq!(c.wait_exit(), 0);
        c.assert_restored();
    })
    .await
    .unwrap();
}

/// A panic in a task (here the database worker, asked to by the test build) ends the
/// whole process: the terminal given back, one line saying so, exit status 101.
#[tokio::test(flavor = "multi_thread")]
async fn a_panic_in_a_task_ends_the_process_with_the_terminal_restored() {
    let db = common::migrated_db().await;
    let url = db.url.clone();
    tokio::task::spawn_blocking(move || {
        let mut c = Console::start_with(&url, &[], &[("BACKFILL_TEST_PANIC", "worker")], 30, 120);
        assert_eq!(c.wait_exit(), 101, "the screen:\n{}", c.contents());
        c.assert_restored();
        let screen = c.contents();
        let lines: Vec<&str> = screen.lines().filter(|l| l.contains("internal error")).collect();
        assert_eq!(lines.len(), 1, "{screen}");
        assert!(lines[0].contains("a test asked the worker to panic"), "{screen}");
    })
    .await
    .unwrap();
}

/// A consumer stall through the real binary: named on the verdict strip, `R` offers nothing
/// for the months whose messages wait in the queue (and says why), and a dialog opened and
/// cancelled leaves the verdict where it was — nothing covers it.
#[tokio::test(flavor = "multi_thread")]
async fn a_stall_is_named_r_offers_nothing_and_a_dialog_leaves_the_verdict_in_sight() {
    let db = common::migrated_db().await;
    let mut admin = db.session().await;
    common::seed(&mut admin, "2024-01", "2024-06").await;
    let p = backfill_console::model::claim::ClaimParams { batch_size: 3, ..Default::default() };
    backfill_console::db::claim::claim(&mut admin, &p, None).await.unwrap();
    admin
        .client
        .batch_execute(
            "UPDATE backfill_log SET started_at = now() - interval '2 hours' WHERE status = 'processing';
             UPDATE backfill_queue SET enqueued_at = now() - interval '2 hours', visible_at = now() - interval '2 hours'",
        )
        .await
        .unwrap();
    let url = db.url.clone();
    tokio::task::spawn_blocking(move || {
        let mut c = Console::start_with(&url, &[], &[], 30, 120);
        c.wait_for("▲ consumer stall: 3 ready");
        c.wait_for("no console cure");
        c.send("R");
        c.wait_for("nothing to reset: 3 processing month(s) still have their message in the queue");
        // A dialog opens over the panels; the verdict strip stays in sight, and after Esc too.
        c.send("c");
        c.wait_for("Run the claim routine");
        assert!(c.contents().contains("▲ consumer stall: 3 ready"), "{}", c.contents());
        c.send("\x1b");
        c.wait_gone("Run the claim routine");
        assert!(c.contents().contains("▲ consumer stall: 3 ready"), "{}", c.contents());
        c.send("q");
        assert_eq!(c.wait_exit(), 0);
    })
    .await
    .unwrap();
    // Nothing was reset: the three months still have one message each.
    assert_eq!(common::count(&admin.client, "SELECT count(*) FROM backfill_log WHERE status = 'processing'").await, 3);
    assert_eq!(common::count(&admin.client, "SELECT count(*) FROM backfill_queue").await, 3);
}

/// Issue 23, item 3, through the real binary: three leaked month locks built by hand and
/// a foreign lock; `*` on the lock panel marks the three holders (never the foreign one),
/// `r` asks once for all of them, and after Enter every one is gone, the foreign holder
/// is untouched, and one audit row tells every outcome.
#[tokio::test(flavor = "multi_thread")]
async fn marked_leaked_locks_are_released_in_one_confirmation_and_one_audit_row() {
    // A server of its own: it counts the lock holders (other tests' locks would show as foreign).
    let own = common::OwnServer::start().await;
    let db = own.migrated_db().await;
    let mut admin = db.session().await;
    common::seed(&mut admin, "2024-01", "2024-12").await;
    let mut holders = Vec::new();
    for month in [3, 4, 5] {
        let s = db.session().await;
        s.client.execute(&format!("SELECT pg_advisory_lock(2024{month:02}::bigint)"), &[]).await.unwrap();
        holders.push(s);
    }
    let foreign = db.session().await;
    foreign.client.execute("SELECT pg_advisory_lock(7, 202406)", &[]).await.unwrap();
    let url = db.url.clone();
    let console = tokio::task::spawn_blocking(move || {
        let mut c = Console::start_with(&url, &[], &[], 30, 120);
        c.wait_for("Lock holders 4/4");
        c.send("3");
        // Item 4: the lock panel's own keys lead the footer (help first, each whole).
        c.wait_for(" ? help  r release lock  x cancel query  Space mark holder");
        c.send("*");
        c.wait_for("3 marked");
        c.send("r");
        c.wait_for("Terminate 3 sessions (they hold 3 month locks)");
        c.send("\r");
        c.wait_for("lock on 2024-05 released");
        c
    })
    .await
    .unwrap();
    for s in &holders {
        assert!(s.client.simple_query("SELECT 1").await.is_err(), "holder pid {} is gone", s.backend_pid);
    }
    foreign.client.simple_query("SELECT 1").await.expect("the foreign holder is untouched");
    let rows = admin
        .client
        .query(
            "SELECT outcome, jsonb_array_length(detail -> 'holders') FROM backfill_console_audit
             WHERE action = 'release.terminate'",
            &[],
        )
        .await
        .unwrap();
    assert_eq!(rows.len(), 1, "one audit row for the whole release");
    assert_eq!(rows[0].get::<_, String>(0), "done: 3 of 3 holders signalled");
    assert_eq!(rows[0].get::<_, Option<i32>>(1), Some(3));
    let code = tokio::task::spawn_blocking(move || {
        let mut console = console;
        console.send("\r");
        console.send("q");
        console.wait_exit()
    })
    .await
    .unwrap();
    assert_eq!(code, 0);
}

/// Issue 23, item 2, through the real binary: with month locks held, a filter that
/// matches none of them says how many it hides instead of "no advisory lock is held".
#[tokio::test(flavor = "multi_thread")]
async fn a_filter_with_locks_held_says_what_it_hides() {
    // A server of its own: it counts the lock holders (other tests' locks would show as foreign).
    let own = common::OwnServer::start().await;
    let db = own.migrated_db().await;
    let mut admin = db.session().await;
    common::seed(&mut admin, "2024-01", "2024-06").await;
    let holder = db.session().await;
    holder
        .client
        .execute("SELECT pg_advisory_lock(202402::bigint), pg_advisory_lock(202403::bigint)", &[])
        .await
        .unwrap();
    let url = db.url.clone();
    tokio::task::spawn_blocking(move || {
        let mut c = Console::start_with(&url, &[], &[], 30, 120);
        c.wait_for("Lock holders 2/2");
        c.send("/");
        for ch in "failed".chars() {
            c.send(&ch.to_string());
        }
        c.send("\r");
        c.wait_for("0 of 2 locks shown: the filter \"failed\" hides them");
        assert!(!c.contents().contains("no advisory lock is held"), "{}", c.contents());
        c.send("q");
        assert_eq!(c.wait_exit(), 0);
    })
    .await
    .unwrap();
    drop(holder);
}
