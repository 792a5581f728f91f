//! The incident workflow through the real binary in a pseudo-terminal: an operator
//! marks three failed months, retries them through the dialog, and the database shows it.
#![allow(clippy::unwrap_used, clippy::expect_used)] // tests may panic
mod common;

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
    assert_eq!(audit.get::<_, String>(1), "done: retried 3, skipped 0");
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
