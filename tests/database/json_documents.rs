//! Every headless command's `--json` document against its schema (`docs/json/`): one
//! object with named fields, stable (issue 23, item 8). The database holds a little of
//! everything first, so that each list the schemas describe has members to check.
#![allow(clippy::unwrap_used, clippy::expect_used)] // tests may panic
use crate::common;

use common::cli::{Run, run};

/// The schema of `name` (`docs/json/NAME.schema.json`), compiled.
fn schema(name: &str) -> jsonschema::Validator {
    let path = format!("{}/docs/json/{name}.schema.json", env!("CARGO_MANIFEST_DIR"));
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"));
    let value: serde_json::Value = serde_json::from_str(&text).unwrap_or_else(|e| panic!("{path}: {e}"));
    jsonschema::draft202012::new(&value).unwrap_or_else(|e| panic!("{path}: {e}"))
}

/// `r`'s standard output is one JSON object that `name`'s schema accepts.
fn check(name: &str, r: &Run) -> serde_json::Value {
    let doc: serde_json::Value = serde_json::from_str(&r.stdout)
        .unwrap_or_else(|e| panic!("{name}: not one JSON document ({e}): {}{}", r.stdout, r.stderr));
    assert!(doc.is_object(), "{name}: a JSON object, not {doc}");
    let errors: Vec<String> =
        schema(name).iter_errors(&doc).map(|e| format!("{} at {}", e, e.instance_path())).collect();
    assert!(errors.is_empty(), "{name} does not match its schema:\n{}\n{doc:#}", errors.join("\n"));
    doc
}

#[tokio::test]
async fn every_json_document_matches_its_schema() {
    let db = common::fresh_db().await;
    let url = db.url.as_str();
    check("migrate", &run(url, &["migrate", "--json"]));
    check("seed", &run(url, &["seed", "--from", "2024-01", "--to", "2024-12", "--json"]));
    let admin = db.session().await;
    admin
        .client
        .batch_execute(
            "UPDATE backfill_log SET status = 'failed', retry_count = 1, error_message = 'gemini: 503 for ' || month
               WHERE month IN (1, 2);
             UPDATE backfill_log SET status = 'failed', retry_count = 5, error_message = 'gemini: 503 for 7' WHERE month = 7;
             UPDATE backfill_log SET status = 'completed', started_at = now() - interval '2 hours',
               completed_at = now() - interval '1 hour' WHERE month = 8;
             UPDATE backfill_log SET status = 'processing', started_at = now() - interval '3 hours' WHERE month = 3;
             INSERT INTO backfill_queue_dead (msg_id, enqueued_at, visible_at, read_count, message, dead_at, reason)
               VALUES (900001, now(), now(), 3, '{\"year\": 2024, \"month\": 4, \"job_id\": \"x\"}', now(), 'delivered 3 times'),
                      (900002, now(), now(), 3, '{\"year\": 2024, \"month\": 5, \"job_id\": \"y\"}', now(), 'delivered 3 times'),
                      (900003, now(), now(), 3, '{\"year\": 2024, \"month\": 8, \"job_id\": \"z\"}', now(), 'delivered 3 times');",
        )
        .await
        .unwrap();
    // A leaked lock: a session holding a pending month's lock (the newest: the claim passes it).
    let holder = db.session().await;
    holder.client.execute("SELECT pg_advisory_lock(202412::bigint)", &[]).await.unwrap();

    check("claim", &run(url, &["claim", "--batch", "1", "--dry-run", "--json"]));
    let claim = check("claim", &run(url, &["claim", "--batch", "1", "--lock-timeout", "0s", "--json"]));
    assert!(!claim["skipped_locked"].as_array().unwrap().is_empty(), "{claim}");
    // The month just claimed looks stuck by age but its message waits: the reset leaves it.
    admin
        .client
        .execute("UPDATE backfill_log SET started_at = now() - interval '3 hours' WHERE status = 'processing'", &[])
        .await
        .unwrap();
    check("snapshot", &run(url, &["snapshot", "--json"]));
    check("check", &run(url, &["check", "--json"]));
    let locks = check("locks", &run(url, &["locks", "--json"]));
    assert!(!locks["locks"].as_array().unwrap().is_empty(), "{locks}");
    check("errors", &run(url, &["errors", "--json"]));
    check("dead-list", &run(url, &["dead", "list", "--json"]));
    check("reset-stuck", &run(url, &["reset-stuck", "--older-than", "1h", "--dry-run", "--json"]));
    let reset = check("reset-stuck", &run(url, &["reset-stuck", "--older-than", "1h", "--yes", "--json"]));
    assert!(!reset["reset"].as_array().unwrap().is_empty(), "{reset}");
    assert!(!reset["skipped_queued"].as_array().unwrap().is_empty(), "{reset}");
    check("retry", &run(url, &["retry", "--all-failed", "--dry-run", "--json"]));
    let retry = check("retry", &run(url, &["retry", "--all-failed", "--yes", "--json"]));
    assert!(!retry["skipped"].as_array().unwrap().is_empty(), "{retry}");
    let redrive = check("dead-redrive", &run(url, &["dead", "redrive", "--ids", "900001,900003", "--yes", "--json"]));
    assert!(!redrive["skipped"].as_array().unwrap().is_empty(), "{redrive}");
    check("dead-purge", &run(url, &["dead", "purge", "--ids", "900002", "--yes", "--json"]));
    let released =
        check("release", &run(url, &["release", "--pid", &holder.backend_pid.to_string(), "--yes", "--json"]));
    assert_eq!(released["released"].as_array().unwrap().len(), 1, "{released}");
    check("release", &run(url, &["release", "--stuck", "--yes", "--json"]));
    check("audit", &run(url, &["audit", "--json"]));
    // The contexts of a config file (the URL holds the password: the file is 0600).
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("config.toml");
    std::fs::write(
        &config,
        format!("default_context = \"here\"\n[contexts.here]\nurl = \"{url}\"\nproduction = true\n"),
    )
    .unwrap();
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&config, std::fs::Permissions::from_mode(0o600)).unwrap();
    let listed = check("contexts", &run(url, &["--config", config.to_str().unwrap(), "contexts", "--json"]));
    assert_eq!(listed["contexts"].as_array().unwrap().len(), 1, "{listed}");
    let fleet = check("fleet", &run(url, &["--config", config.to_str().unwrap(), "fleet", "--json"]));
    assert_eq!(fleet["contexts"][0]["context"], "here", "{fleet}");
}

#[test]
fn every_schema_belongs_to_a_command_checked_above() {
    // A schema nobody checks would document a shape nothing holds to.
    let dir = format!("{}/docs/json", env!("CARGO_MANIFEST_DIR"));
    let mut found: Vec<String> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().trim_end_matches(".schema.json").to_string())
        .collect();
    found.sort();
    let source = include_str!("json_documents.rs");
    for name in &found {
        assert!(source.contains(&format!("check(\"{name}\"")), "docs/json/{name}.schema.json is checked by no test");
    }
    assert_eq!(found.len(), 16, "one schema per command with --json: {found:?}");
}
