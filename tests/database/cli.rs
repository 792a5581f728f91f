//! The headless commands, run as the real binary against a real server.
#![allow(clippy::unwrap_used, clippy::expect_used)] // tests may panic
use crate::common;

use common::cli::{json, run, run_with};

#[tokio::test]
async fn migrate_seed_claim_and_snapshot_in_json() {
    let db = common::fresh_db().await;
    assert_eq!(run(&db.url, &["migrate"]).code, 0);
    let seeded = run(&db.url, &["seed", "--from", "2000-01", "--to", "2024-12", "--json"]);
    assert_eq!(json(&seeded)["inserted"], 300);
    let claim = run(&db.url, &["claim", "--batch", "3", "--years", "2023..2024", "--json"]);
    assert_eq!(claim.code, 0, "{}", claim.stderr);
    let doc = json(&claim);
    let claimed = doc["claimed"].as_array().unwrap();
    assert_eq!(claimed.len(), 3);
    assert_eq!((claimed[0]["year"].as_i64(), claimed[0]["month"].as_i64()), (Some(2024), Some(12)));
    assert!(claimed[0]["job_id"].as_str().is_some());
    assert_eq!(doc["skipped_locked"], serde_json::json!([]));
    assert_eq!(doc["skipped_raced"], serde_json::json!([]));
    assert_eq!(doc["dry_run"], false);
    let snap = json(&run(&db.url, &["snapshot", "--json"]));
    assert_eq!(snap["counts"]["processing"], 3);
    assert_eq!(snap["counts"]["pending"], 297);
    assert_eq!(snap["queue"]["ready"], 3);
}

#[tokio::test]
async fn bad_input_gets_one_clear_line() {
    let db = common::migrated_db().await;
    // A wrong flag value is a usage error (2); a refusal of what the database holds is 1.
    let cases: &[(&[&str], &str, i32)] = &[
        (&["claim", "--batch", "0"], "batch size 0 is outside 1..50", 2),
        (&["claim", "--batch", "51"], "batch size 51 is outside 1..50", 2),
        (&["claim", "--years", "2030..2000"], "write 2000..2030", 2),
        (&["claim", "--lock-timeout", "soon"], "--lock-timeout", 2),
        (&["seed", "--from", "2024-13", "--to", "2024-12"], "--from `2024-13` is not a month", 2),
        (&["reset-stuck", "--older-than", "x"], "--older-than", 2),
        (&["release", "--pid", "999999", "--yes"], "pid 999999 holds no month lock", 1),
        (&["claim", "--months", "2024-13"], "--months: `2024-13` is not a month", 2),
        (&["claim", "--months", "2000-01..2010-01"], "--months: 121 months: a claim takes at most 50", 2),
    ];
    for (args, want, code) in cases {
        let r = run(&db.url, args);
        assert_eq!(r.code, *code, "{args:?}: {}", r.stderr);
        assert!(r.stderr.contains(want), "{args:?}: {}", r.stderr);
        assert_eq!(r.stderr.trim().lines().count(), 1, "{args:?}: one line: {}", r.stderr);
        assert!(!r.stderr.contains("panicked"));
    }
}

#[tokio::test]
async fn the_schema_missing_names_migrate_and_passwords_never_show() {
    let db = common::fresh_db().await;
    let r = run(&db.url, &["snapshot"]);
    assert_eq!(r.code, 1);
    assert!(r.stderr.contains("run `backfill-console migrate`"), "{}", r.stderr);
    let password = common::server().password().to_string();
    for args in [&["snapshot"][..], &["locks", "--json"], &["claim", "--dry-run"]] {
        let r = run(&db.url, args);
        assert!(!r.stdout.contains(&password) && !r.stderr.contains(&password), "{args:?}");
    }
    // A wrong database and a wrong password: named, and the password not echoed.
    let url = db.url.replace(&db.name, "no_such_db");
    let r = run(&url, &["snapshot"]);
    assert!(r.stderr.contains("\"no_such_db\" does not exist"), "{}", r.stderr);
    assert!(!r.stderr.contains(&password));
    // A refused port and a host that does not resolve.
    for (bad, want) in [
        ("postgresql://u:pw-secret-1@127.0.0.1:1/db", "Connection refused"),
        ("postgresql://u:pw-secret-1@nohost.invalid/db", "does not resolve"),
    ] {
        let r = run(bad, &["snapshot"]);
        assert_eq!(r.code, 1);
        assert!(r.stderr.contains(want), "{}", r.stderr);
        assert!(!r.stderr.contains("pw-secret-1") && r.stderr.trim().lines().count() == 1, "{}", r.stderr);
    }
    let wrong = db.url.replace(&password, "not-the-password-xyz");
    let r = run(&wrong, &["check"]);
    assert_eq!(r.code, 3, "check says UNKNOWN when it cannot connect");
    assert!(r.stdout.starts_with("BACKFILL UNKNOWN"), "{}", r.stdout);
    assert!(r.stdout.contains("password authentication failed"), "{}", r.stdout);
    assert!(!r.stdout.contains("not-the-password-xyz"));
}

#[tokio::test]
async fn check_follows_the_monitoring_plugin_convention() {
    let db = common::migrated_db().await;
    let mut s = db.session().await;
    common::seed(&mut s, "2024-01", "2024-12").await;
    let r = run(&db.url, &["check"]);
    assert_eq!(r.code, 0, "{}", r.stdout);
    assert!(r.stdout.starts_with("BACKFILL OK"));
    s.client.batch_execute("UPDATE backfill_log SET status = 'failed' WHERE month <= 6").await.unwrap();
    let r = run(&db.url, &["check"]);
    assert_eq!(r.code, 1, "{}", r.stdout);
    assert!(r.stdout.contains("6 failed months"), "{}", r.stdout);
    s.client
        .batch_execute("INSERT INTO backfill_queue (message) SELECT '{}' FROM generate_series(1, 200)")
        .await
        .unwrap();
    let r = run(&db.url, &["check", "--json"]);
    assert_eq!(r.code, 2);
    assert_eq!(json(&r)["level"], "CRITICAL");
}

#[tokio::test]
async fn release_needs_confirmation_and_never_touches_foreign_locks() {
    let db = common::migrated_db().await;
    let mut s = db.session().await;
    common::seed(&mut s, "2024-01", "2024-03").await;
    let holder = db.session().await;
    holder.client.execute("SELECT pg_advisory_lock(202402::bigint)", &[]).await.unwrap();
    let foreign = db.session().await;
    foreign.client.execute("SELECT pg_advisory_lock(1, 2), pg_advisory_lock(42::bigint)", &[]).await.unwrap();
    let pid = holder.backend_pid.to_string();

    let r = run(&db.url, &["release", "--pid", &pid]);
    assert_eq!(r.code, 1);
    assert!(r.stderr.contains("add --yes"), "{}", r.stderr);
    assert_eq!(common::month_locks_of(&s.client, holder.backend_pid).await, [202402]);

    let r = run(&db.url, &["--read-only", "release", "--pid", &pid, "--yes"]);
    assert!(r.stderr.contains("read-only"), "{}", r.stderr);

    let fpid = foreign.backend_pid.to_string();
    let r = run(&db.url, &["release", "--pid", &fpid, "--yes"]);
    assert_eq!(r.code, 1);
    assert!(r.stderr.contains("foreign lock(s), which this console never touches"), "{}", r.stderr);

    // --stuck with a 1 s leak threshold: the idle holder of a pending month is leaked; foreign ones are not.
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("config.toml");
    std::fs::write(&config, "[thresholds]\nleaked_after = \"1s\"\n").unwrap();
    tokio::time::sleep(std::time::Duration::from_millis(2100)).await;
    let cfg = config.to_string_lossy().to_string();
    let locks = json(&run(&db.url, &["--config", &cfg, "locks", "--json"]));
    let stuck: Vec<&serde_json::Value> =
        locks["locks"].as_array().unwrap().iter().filter(|l| !l["problems"].as_array().unwrap().is_empty()).collect();
    assert_eq!(stuck.len(), 1, "{locks}");
    // The text table: the console's columns (present::locks), the leaked holder's row
    // saying why it is stuck in the console's words.
    let text = run(&db.url, &["--config", &cfg, "locks"]).stdout;
    let header = text.lines().next().unwrap_or_default();
    assert!(header.starts_with("MONTH    PID    APPLICATION") && header.ends_with("WHY STUCK"), "{text}");
    let leaked = text.lines().find(|l| l.starts_with("2024-02") && l.contains(&pid)).unwrap_or_default();
    assert!(leaked.ends_with("LEAKED: month pending"), "{text}");
    let r = run(&db.url, &["--config", &cfg, "release", "--stuck", "--yes", "--json"]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let report = json(&r);
    assert_eq!(report["released"][0]["outcome"]["outcome"], "done", "{report}");
    assert_eq!(report["refused"], serde_json::json!([]), "{report}");
    // Nothing stuck any more: the same shape, both lists empty.
    let r = run(&db.url, &["--config", &cfg, "release", "--stuck", "--yes", "--json"]);
    assert_eq!(json(&r), serde_json::json!({ "released": [], "refused": [] }));
    assert!(holder.client.simple_query("SELECT 1").await.is_err(), "the leaked holder was terminated");
    foreign.client.simple_query("SELECT 1").await.expect("foreign holder survives");
    let sql = format!("SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND pid = {}", foreign.backend_pid);
    assert_eq!(common::count(&s.client, &sql).await, 2, "both foreign locks still held");
}

#[tokio::test]
async fn reset_stuck_and_a_bad_config_file() {
    let db = common::migrated_db().await;
    let mut s = db.session().await;
    common::seed(&mut s, "2024-01", "2024-02").await;
    s.client
        .batch_execute("UPDATE backfill_log SET status = 'processing', started_at = now() - interval '2 hours'")
        .await
        .unwrap();
    // --dry-run: the routine rolled back, month by month; nothing changes. A read-only
    // session cannot run it (it writes inside its transaction): a clear refusal.
    let r = run(&db.url, &["--read-only", "reset-stuck", "--dry-run"]);
    assert_eq!(r.code, 1);
    assert!(r.stderr.contains("reset-stuck --dry-run refused: --read-only is set"), "{}", r.stderr);
    assert_eq!(r.stderr.trim().lines().count(), 1, "{}", r.stderr);
    let r = run(&db.url, &["reset-stuck", "--dry-run", "--json"]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert_eq!((json(&r)["reset"].as_array().unwrap().len(), &json(&r)["dry_run"]), (2, &serde_json::json!(true)));
    let r = run(&db.url, &["reset-stuck", "--dry-run"]);
    assert!(r.stdout.starts_with("DRY RUN (nothing was changed):\nReset 2 month(s)"), "{}", r.stdout);
    assert!(r.stdout.contains("  2024-02  -> retry  since"), "{}", r.stdout);
    assert_eq!(common::status_of(&s.client, 2024, 1).await, "processing");
    let r = run(&db.url, &["reset-stuck", "--yes", "--json"]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert_eq!(json(&r)["reset"].as_array().unwrap().len(), 2);
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("bad.toml");
    std::fs::write(&config, "refresh = \"1s\"\n[thresholds]\nleaked_after = 30\n").unwrap();
    let r = run(&db.url, &["--config", &config.to_string_lossy(), "locks"]);
    assert_eq!(r.code, 1);
    assert!(r.stderr.contains("bad.toml line 3"), "{}", r.stderr);
}

#[tokio::test]
async fn errors_group_causes_and_retry_takes_a_cause_back() {
    let db = common::migrated_db().await;
    let mut s = db.session().await;
    common::seed(&mut s, "2024-01", "2024-06").await;
    s.client
        .batch_execute(
            "UPDATE backfill_log SET status = 'failed', retry_count = 2,
               error_message = 'gemini: 503 Service Unavailable (model x-' || month || ')' WHERE month <= 3;
             UPDATE backfill_log SET status = 'failed', retry_count = 5,
               error_message = 'gemini: 503 Service Unavailable (model y-9)' WHERE month = 4;
             UPDATE backfill_log SET status = 'retry', retry_count = 1, error_message = 'isbndb: 401 unauthorized'
               WHERE month = 5;",
        )
        .await
        .unwrap();
    let errors = run(&db.url, &["errors", "--json"]);
    assert_eq!(errors.code, 0, "{}", errors.stderr);
    let doc = json(&errors);
    let causes = doc["causes"].as_array().unwrap();
    assert_eq!(causes.len(), 2, "{doc}");
    let top = &causes[0];
    assert_eq!(top["signature"], "gemini: 503 Service Unavailable (model <id>)");
    assert_eq!(top["count"], 4);
    assert_eq!(top["months"], serde_json::json!(["2024-01", "2024-02", "2024-03", "2024-04"]));
    assert_eq!(top["statuses"], serde_json::json!({"failed": 4}));
    assert_eq!(top["at_retry_cap"], 1);
    let text = run(&db.url, &["errors"]);
    assert!(text.stdout.contains("gemini: 503 Service Unavailable (model <id>)"), "{}", text.stdout);
    // Retry that cause: the month at the cap is left alone, and that makes the exit 1.
    let signature = top["signature"].as_str().unwrap();
    let retried = run(&db.url, &["retry", "--cause", signature, "--yes", "--json"]);
    assert_eq!(retried.code, 1, "{}", retried.stderr);
    let report = json(&retried);
    assert_eq!(report["retried"], serde_json::json!(["2024-01", "2024-02", "2024-03"]));
    assert_eq!(
        report["skipped"],
        serde_json::json!([{"month": "2024-04", "reason": "at_retry_cap", "retry_count": 5}])
    );
    assert_eq!(common::status_of(&s.client, 2024, 2).await, "retry");
    // Without a terminal and without --yes nothing happens.
    let refused = run(&db.url, &["retry", "--months", "2024-04", "--reset-count"]);
    assert_eq!(refused.code, 1);
    assert!(refused.stderr.contains("add --yes"), "{}", refused.stderr);
    assert_eq!(common::status_of(&s.client, 2024, 4).await, "failed");
    let dry = run(&db.url, &["retry", "--months", "2024-04", "--reset-count", "--dry-run"]);
    assert!(dry.stdout.starts_with("would retry 1, left alone 0"), "{}", dry.stdout);
    assert_eq!(common::status_of(&s.client, 2024, 4).await, "failed");
}

#[tokio::test]
async fn retry_bad_input_gets_one_clear_line_and_changes_nothing() {
    let db = common::migrated_db().await;
    let mut s = db.session().await;
    common::seed(&mut s, "2024-01", "2024-02").await;
    // A wrong flag value is a usage error (2); a refusal of what the database holds is 1.
    let cases: &[(&[&str], &str, i32)] = &[
        (&["retry", "--months", "2024-13", "--yes"], "--months: `2024-13` is not a month", 2),
        (&["retry", "--months", "1899-12", "--yes"], "between 1900-01 and 2100-12", 2),
        (&["retry", "--months", "2101-01", "--yes"], "between 1900-01 and 2100-12", 2),
        (&["retry", "--months", ",", "--yes"], "--months: no month given", 2),
        (&["retry", "--months", "2024-05..2024-01", "--yes"], "write 2024-01..2024-05", 2),
        (&["retry", "--cause", "nothing like it", "--yes"], "--cause: no failed or retry month has the cause", 1),
        (&["retry", "--all-failed", "--yes"], "--all-failed: no month is failed", 1),
        (&["--read-only", "retry", "--all-failed", "--yes"], "read-only", 1),
        (
            &["--read-only", "retry", "--months", "2024-01", "--dry-run"],
            "retry --dry-run refused: --read-only is set",
            1,
        ),
        (&["--read-only", "dead", "redrive", "--all", "--dry-run"], "dead redrive --dry-run refused", 1),
    ];
    for (args, want, code) in cases {
        let r = run(&db.url, args);
        assert_eq!(r.code, *code, "{args:?}: {}", r.stderr);
        assert!(r.stderr.contains(want), "{args:?}: {}", r.stderr);
        assert_eq!(r.stderr.trim().lines().count(), 1, "{args:?}: one line: {}", r.stderr);
    }
    let audited =
        common::count(&s.client, "SELECT count(*) FROM backfill_console_audit WHERE action LIKE 'retry%'").await;
    assert_eq!(audited, 0);
}

#[tokio::test]
async fn the_audit_trail_says_who_did_what_to_which_month_and_never_a_password() {
    let db = common::migrated_db().await;
    let mut s = db.session().await;
    common::seed(&mut s, "2024-01", "2024-12").await;
    s.client.batch_execute("UPDATE backfill_log SET status = 'failed' WHERE month IN (10, 11)").await.unwrap();
    let ssh = [("SSH_CONNECTION", "203.0.113.7 51234 10.0.0.2 22"), ("USER", "ops"), ("SUDO_USER", "alice")];
    let retried = run_with(&db.url, &["retry", "--months", "2024-10..2024-11", "--yes"], &ssh);
    assert_eq!(retried.code, 0, "{}", retried.stderr);
    let claimed = run(&db.url, &["claim", "--months", "2024-11", "--json"]);
    assert_eq!(claimed.code, 0, "{}", claimed.stderr);
    let doc = json(&run(&db.url, &["audit", "--json"]));
    let rows = doc["rows"].as_array().unwrap();
    let retry = rows.iter().find(|r| r["action"] == "retry").unwrap_or_else(|| panic!("{doc}"));
    assert_eq!(retry["ssh_client"], "203.0.113.7:51234");
    // The OS user is the process's own (its uid); what the environment says is a claim.
    let me = nix::unistd::User::from_uid(nix::unistd::getuid()).unwrap().unwrap().name;
    assert_eq!(retry["os_user"], me.as_str());
    assert_eq!(retry["claims"]["ssh_client"], "203.0.113.7:51234");
    assert_eq!(retry["claims"]["sudo_user"], "alice");
    if me != "ops" {
        assert_eq!(retry["claims"]["env_user"], "ops");
    }
    assert_eq!(retry["parameters"]["months"], "2024-10..2024-11");
    assert_eq!(retry["outcome"], "done: retried 2, left alone 0");
    assert!(retry["db_user"].as_str().is_some_and(|u| !u.is_empty()));
    // By month: the bulk retry and the claim both touched 2024-11; nothing touched 2024-01.
    let november = json(&run(&db.url, &["audit", "--month", "2024-11", "--json"]));
    let actions: Vec<&str> =
        november["rows"].as_array().unwrap().iter().map(|r| r["action"].as_str().unwrap()).collect();
    assert_eq!(actions, ["claim", "retry"], "newest first");
    let january = json(&run(&db.url, &["audit", "--month", "2024-01", "--json"]));
    assert_eq!(january["rows"], serde_json::json!([]));
    let text = run(&db.url, &["audit"]);
    assert!(
        text.stdout.contains(&format!("{me}@")) && text.stdout.contains("(claims: ssh 203.0.113.7:51234, sudo alice"),
        "{}",
        text.stdout
    );
    let password = db.url.split(':').nth(2).and_then(|s| s.split('@').next()).unwrap();
    let all = common::count(
        &s.client,
        &format!("SELECT count(*) FROM backfill_console_audit WHERE row_to_json(backfill_console_audit.*)::text LIKE '%{password}%'"),
    )
    .await;
    assert_eq!(all, 0, "no password in the audit table");
    for (args, want) in [
        (&["audit", "--since", "soon"][..], "--since"),
        (&["audit", "--month", "2024-13"][..], "--month `2024-13` is not a month"),
        (&["audit", "--limit", "0"][..], "--limit 0 is outside 1..10000"),
    ] {
        let r = run(&db.url, args);
        assert_eq!(r.code, 2, "{args:?}: a wrong flag value is a usage error");
        assert!(r.stderr.contains(want) && r.stderr.trim().lines().count() == 1, "{args:?}: {}", r.stderr);
    }
}
