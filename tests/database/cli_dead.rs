//! `dead list | redrive | purge` as the real binary: the JSON, the confirmation, and
//! bad input.
#![allow(clippy::unwrap_used, clippy::expect_used)] // tests may panic
use crate::common;

use common::cli::{json, run};

#[tokio::test]
async fn dead_letters_are_listed_by_reason_redriven_at_a_rate_and_purged() {
    let db = common::migrated_db().await;
    let mut s = db.session().await;
    common::seed(&mut s, "2024-01", "2024-04").await;
    let a = common::dead_letter(&s, 2024, 1, "consumer crashed").await;
    let b = common::dead_letter(&s, 2024, 2, "consumer crashed").await;
    let c = common::dead_letter(&s, 2024, 3, "isbndb timeout").await;
    let listed = json(&run(&db.url, &["dead", "list", "--json"]));
    assert_eq!(listed["reasons"][0]["reason"], "consumer crashed");
    assert_eq!(listed["reasons"][0]["count"], 2);
    assert_eq!(listed["messages"].as_array().unwrap().len(), 3);
    assert_eq!(listed["messages"][0]["month"], "2024-03");
    let text = run(&db.url, &["dead", "list"]);
    assert!(
        text.stdout.contains("consumer crashed") && text.stdout.contains("month 2024-01 (pending)"),
        "{}",
        text.stdout
    );
    // Without --yes and without a terminal: refused, nothing moved.
    let refused = run(&db.url, &["dead", "redrive", "--reason", "consumer crashed"]);
    assert_eq!(refused.code, 1);
    assert!(refused.stderr.contains("add --yes"), "{}", refused.stderr);
    let dry = json(&run(&db.url, &["dead", "redrive", "--all", "--dry-run", "--json"]));
    assert_eq!(dry["moved"], serde_json::json!([a, b, c]));
    assert_eq!(dry["dry_run"], true);
    // 120/min: chunks of 2 a second.
    let moved =
        run(&db.url, &["dead", "redrive", "--reason", "consumer crashed", "--rate", "120/min", "--yes", "--json"]);
    assert_eq!(moved.code, 0, "{}", moved.stderr);
    let report = json(&moved);
    assert_eq!(report["moved"], serde_json::json!([a, b]));
    assert_eq!(report["chunks"], 1);
    assert_eq!(common::count(&s.client, "SELECT count(*) FROM backfill_queue").await, 2);
    let purged = json(&run(&db.url, &["dead", "purge", "--ids", &c.to_string(), "--yes", "--json"]));
    assert_eq!(purged["purged"], serde_json::json!([c]));
    assert_eq!(common::count(&s.client, "SELECT count(*) FROM backfill_queue_dead").await, 0);
}

#[tokio::test]
async fn dead_letter_bad_input_gets_one_clear_line() {
    let db = common::migrated_db().await;
    let s = db.session().await;
    common::dead_letter(&s, 2024, 1, "boom").await;
    // A wrong flag value is a usage error (2); a refusal of what the database holds is 1.
    let cases: &[(&[&str], &str, i32)] = &[
        (&["dead", "redrive", "--ids", "x", "--yes"], "--ids: `x` is not a message id", 2),
        (&["dead", "redrive", "--ids", "", "--yes"], "--ids: no message id given", 2),
        (&["dead", "redrive", "--all", "--rate", "fast", "--yes"], "--rate `fast`", 2),
        (&["dead", "redrive", "--reason", "nope", "--yes"], "--reason: no dead letter has the reason `nope`", 1),
        (&["dead", "purge", "--reason", "nope", "--yes"], "--reason: no dead letter has the reason `nope`", 1),
        (&["--read-only", "dead", "purge", "--all", "--yes"], "read-only", 1),
    ];
    for (args, want, code) in cases {
        let r = run(&db.url, args);
        assert_eq!(r.code, *code, "{args:?}: {}", r.stderr);
        assert!(r.stderr.contains(want), "{args:?}: {}", r.stderr);
        assert_eq!(r.stderr.trim().lines().count(), 1, "{args:?}: {}", r.stderr);
    }
    assert_eq!(common::count(&s.client, "SELECT count(*) FROM backfill_queue_dead").await, 1, "nothing changed");
    // A deployment whose queue is elsewhere: refused, with the reason.
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("c.toml");
    std::fs::write(&config, "queue_depth_query = \"SELECT 1 AS ready, 0 AS in_flight, 0 AS delayed, 0 AS dead\"\n")
        .unwrap();
    let r = run(&db.url, &["--config", config.to_str().unwrap(), "dead", "list"]);
    assert_eq!(r.code, 1);
    assert!(r.stderr.contains("queue_depth_query is set"), "{}", r.stderr);
}

/// More than one live message for a month (the old scheduler's defect): `snapshot --json`
/// lists it and `check` warns.
#[tokio::test]
async fn duplicate_queue_messages_are_listed_and_make_check_warn() {
    let db = common::migrated_db().await;
    let mut s = db.session().await;
    common::seed(&mut s, "2024-01", "2024-03").await;
    let ok = run(&db.url, &["check"]);
    assert_eq!(ok.code, 0, "{}{}", ok.stdout, ok.stderr);
    let mut ids = Vec::new();
    for month in [2, 2, 3] {
        let message = serde_json::json!({ "year": 2024, "month": month });
        let id: i64 = s
            .client
            .query_one("INSERT INTO backfill_queue (message) VALUES ($1) RETURNING msg_id", &[&message])
            .await
            .unwrap()
            .get(0);
        ids.push(id);
    }
    let doc = json(&run(&db.url, &["snapshot", "--json"]));
    assert_eq!(
        doc["duplicates"],
        serde_json::json!([{ "year": 2024, "month": 2, "msg_ids": [ids[0], ids[1]], "more": false }])
    );
    let warned = run(&db.url, &["check"]);
    assert_eq!(warned.code, 1, "{}{}", warned.stdout, warned.stderr);
    assert!(warned.stdout.contains("1 month(s) with more than one live queue message"), "{}", warned.stdout);
}

/// `[[[…300 levels…]]]`: deeper than any JSON parser here goes.
fn too_deep() -> String {
    format!("{}{}", "[".repeat(300), "]".repeat(300))
}

/// A poison payload (and a poison audit row) is shown as unreadable, for that one value;
/// every command reads, redrives and purges around it and never panics.
#[tokio::test]
async fn a_payload_nested_too_deep_is_shown_as_unreadable_and_stops_no_command() {
    let db = common::migrated_db().await;
    let mut s = db.session().await;
    common::seed(&mut s, "2024-01", "2024-02").await;
    let fine = common::dead_letter(&s, 2024, 1, "consumer crashed").await;
    let poison: i64 = s
        .client
        .query_one(
            "INSERT INTO backfill_queue_dead (msg_id, enqueued_at, visible_at, read_count, message, reason)
             VALUES (900001, now(), now(), 3, $1::text::jsonb, 'poison') RETURNING msg_id",
            &[&too_deep()],
        )
        .await
        .unwrap()
        .get(0);
    s.client
        .execute(
            "INSERT INTO backfill_console_audit (action, outcome, parameters, detail)
             VALUES ('claim', 'done', $1::text::jsonb, $1::text::jsonb)",
            &[&too_deep()],
        )
        .await
        .unwrap();
    let text = run(&db.url, &["dead", "list"]);
    assert_eq!(text.code, 0, "{}", text.stderr);
    assert!(text.stdout.contains("poison") && text.stdout.contains(&format!("msg {poison}")), "{}", text.stdout);
    let doc = json(&run(&db.url, &["dead", "list", "--json"]));
    let shown = doc["messages"].as_array().unwrap().iter().find(|m| m["msg_id"] == poison).unwrap().clone();
    assert_eq!(shown["message"]["unreadable"], "nested deeper than 128 levels", "{shown}");
    let audit = run(&db.url, &["audit"]);
    assert_eq!(audit.code, 0, "{}", audit.stderr);
    let audit_json = json(&run(&db.url, &["audit", "--json"]));
    assert_eq!(audit_json["rows"][0]["parameters"]["unreadable"], "nested deeper than 128 levels");
    // Redrive and purge work around it (and on it: it names no month, so it goes as it is).
    let moved = json(&run(&db.url, &["dead", "redrive", "--all", "--yes", "--json"]));
    assert_eq!(moved["moved"], serde_json::json!([fine, poison]), "{moved}");
    let back: i64 =
        s.client.query_one("SELECT msg_id FROM backfill_queue WHERE msg_id = $1", &[&poison]).await.unwrap().get(0);
    assert_eq!(back, poison);
    s.client.execute("DELETE FROM backfill_queue WHERE msg_id = $1", &[&poison]).await.unwrap();
    s.client
        .execute(
            "INSERT INTO backfill_queue_dead (msg_id, enqueued_at, visible_at, read_count, message, reason)
             VALUES ($1, now(), now(), 3, $2::text::jsonb, 'poison')",
            &[&poison, &too_deep()],
        )
        .await
        .unwrap();
    let purged = json(&run(&db.url, &["dead", "purge", "--reason", "poison", "--yes", "--json"]));
    assert_eq!(purged["purged"], serde_json::json!([poison]));
}

/// One `msg_id` in both tables: that message is reported and left where it is, and the
/// rest of the redrive goes on (a raw duplicate-key error used to fail every chunk with it).
#[tokio::test]
async fn a_message_already_in_the_queue_is_reported_and_the_rest_goes_on() {
    let db = common::migrated_db().await;
    let mut s = db.session().await;
    common::seed(&mut s, "2024-01", "2024-03").await;
    let a = common::dead_letter(&s, 2024, 1, "crashed").await;
    let b = common::dead_letter(&s, 2024, 2, "crashed").await;
    // A copy of b's row is back in the queue under the same id (a hand-made repair gone wrong).
    s.client
        .execute("INSERT INTO backfill_queue (msg_id, message) VALUES ($1, '{\"note\": \"copy\"}')", &[&b])
        .await
        .unwrap();
    let r = run(&db.url, &["dead", "redrive", "--all", "--yes", "--json"]);
    assert_eq!(r.code, 1, "a message left alone: exit 1\n{}", r.stderr);
    let report = json(&r);
    assert_eq!(report["moved"], serde_json::json!([a]));
    assert_eq!(report["skipped"], serde_json::json!([{ "msg_id": b, "reason": "already_queued" }]));
    assert_eq!(
        common::count(&s.client, &format!("SELECT count(*) FROM backfill_queue_dead WHERE msg_id = {b}")).await,
        1
    );
}

#[test]
fn a_million_ids_in_several_ranges_are_refused() {
    let r = run(
        "postgresql://nobody@127.0.0.1:1/none",
        &["dead", "redrive", "--ids", "1..999999,1000001..1999999", "--yes"],
    );
    assert_eq!(r.code, 2, "a wrong flag value is a usage error: {}", r.stderr);
    assert!(r.stderr.contains("more than a million"), "{}", r.stderr);
}
