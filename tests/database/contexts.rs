//! Contexts (issue 24, part 1): two throwaway databases named in one config file, picked
//! by --context, BACKFILL_CONTEXT or default_context; a read-only and a production
//! context; bad files refused in one line.
#![allow(clippy::unwrap_used, clippy::expect_used)] // tests may panic
use crate::common;

use std::os::unix::fs::PermissionsExt;

use common::cli::{Run, json, run_with};

/// The binary with no DATABASE_URL (an empty one counts as none) and `config`.
fn run(config: &std::path::Path, args: &[&str], env: &[(&str, &str)]) -> Run {
    let mut all = vec!["--config", config.to_str().unwrap()];
    all.extend_from_slice(args);
    run_with("", &all, env)
}

fn write_config(dir: &tempfile::TempDir, text: &str, mode: u32) -> std::path::PathBuf {
    let path = dir.path().join("config.toml");
    std::fs::write(&path, text).unwrap();
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(mode)).unwrap();
    path
}

#[tokio::test]
async fn contexts_pick_the_database_and_carry_their_own_rules() {
    let (staging, prod) = (common::migrated_db().await, common::migrated_db().await);
    common::seed(&mut staging.session().await, "2024-01", "2024-03").await;
    let mut p = prod.session().await;
    common::seed(&mut p, "2024-01", "2024-06").await;
    p.client.execute("UPDATE backfill_log SET status = 'failed', retry_count = 1 WHERE month = 1", &[]).await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let text = format!(
        "default_context = \"staging\"\n\
         [contexts.staging]\nurl = \"{}\"\nread_only = true\n\
         [contexts.prod]\nurl = \"{}\"\nproduction = true\n[contexts.prod.thresholds]\nfailed_warning = 100\n",
        staging.url, prod.url
    );
    // The URLs hold the test's password: refused while others may read the file.
    let loose = write_config(&dir, &text, 0o644);
    let r = run(&loose, &["contexts"], &[]);
    assert_eq!(r.code, 1, "{}", r.stderr);
    assert!(r.stderr.contains("chmod 600") && r.stderr.trim().lines().count() == 1, "{}", r.stderr);
    let password = common::server().password().to_string();
    assert!(!r.stderr.contains(&password));
    let config = write_config(&dir, &text, 0o600);

    let months = |r: &Run| json(r)["counts"].as_object().unwrap().values().map(|v| v.as_i64().unwrap()).sum::<i64>();
    // default_context, then --context, then BACKFILL_CONTEXT.
    assert_eq!(months(&run(&config, &["snapshot", "--json"], &[])), 3);
    assert_eq!(months(&run(&config, &["--context", "prod", "snapshot", "--json"], &[])), 6);
    assert_eq!(months(&run(&config, &["snapshot", "--json"], &[("BACKFILL_CONTEXT", "prod")])), 6);
    // The context's own thresholds: 1 failed month is no warning where failed_warning is 100.
    let check = run(&config, &["--context", "prod", "check", "--json"], &[]);
    assert!(!json(&check)["reasons"].to_string().contains("failed months"), "{}", check.stdout);

    // The list: no password, the default marked.
    let listed = run(&config, &["contexts", "--json"], &[]);
    assert_eq!(listed.code, 0, "{}", listed.stderr);
    assert!(!listed.stdout.contains(&password), "{}", listed.stdout);
    let doc = json(&listed);
    let names: Vec<&str> = doc["contexts"].as_array().unwrap().iter().map(|c| c["name"].as_str().unwrap()).collect();
    assert_eq!(names, ["prod", "staging"]);
    assert_eq!(doc["contexts"][1]["default"], true);
    assert_eq!(doc["contexts"][0]["production"], true);

    // Read-only by the context's default; --write allows.
    let refused = run(&config, &["claim", "--batch", "1"], &[]);
    assert_eq!(refused.code, 1);
    assert!(refused.stderr.contains("context `staging` is read-only"), "{}", refused.stderr);
    let claimed = run(&config, &["--write", "claim", "--batch", "1", "--json"], &[]);
    assert_eq!(claimed.code, 0, "{}", claimed.stderr);

    // Production: --yes alone is refused; the name typed (--confirm-context) goes ahead.
    let retry = ["--context", "prod", "retry", "--all-failed", "--yes"];
    let r = run(&config, &retry, &[]);
    assert_eq!(r.code, 1);
    assert!(r.stderr.contains("--confirm-context prod"), "{}", r.stderr);
    assert_eq!(common::status_of(&p.client, 2024, 1).await, "failed", "nothing was done");
    let r = run(&config, &[&retry[..], &["--confirm-context", "prod"]].concat(), &[]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert_eq!(common::status_of(&p.client, 2024, 1).await, "retry");

    // Usage errors (exit 2), each one line naming what is wrong.
    let r = run(&config, &["--context", "nope", "snapshot"], &[]);
    assert_eq!(r.code, 2);
    assert!(r.stderr.contains("unknown context `nope`: the known ones are prod, staging"), "{}", r.stderr);
    let r = run(&config, &["--context", "prod", "--database-url", &staging.url, "snapshot"], &[]);
    assert_eq!(r.code, 2, "{}", r.stderr);
    assert!(r.stderr.contains("name two databases"), "{}", r.stderr);
}

#[test]
fn bad_context_tables_are_refused_in_one_line() {
    let dir = tempfile::tempdir().unwrap();
    let cases = [
        ("[contexts.\"\"]\nurl = \"postgresql://u@h/db\"\n", "context name ``"),
        ("[contexts.a]\nproduction = true\n", "missing field `url`"),
        ("[contexts.a]\nurl = \"postgresql://u@h/db\"\n[contexts.a]\nurl = \"postgresql://u@h/db2\"\n", "duplicate"),
        ("[contexts.a]\nurl = \"  \"\n", "context a: url is empty"),
        ("[contexts.a]\nurl = \"postgresql://u@h/db\"\ncolour = \"red\"\n", "unknown field `colour`"),
        (
            "default_context = \"b\"\n[contexts.a]\nurl = \"postgresql://u@h/db\"\n",
            "default_context `b` is not a context",
        ),
        (
            "[contexts.a]\nurl = \"postgresql://u@h/db\"\n[contexts.a.thresholds]\nbacklog_warning = 9\nbacklog_critical = 1\n",
            "backlog_warning is above backlog_critical",
        ),
    ];
    for (text, want) in cases {
        let config = write_config(&dir, text, 0o600);
        let r = run(&config, &["contexts"], &[]);
        assert_eq!(r.code, 1, "{text}: {}", r.stderr);
        assert!(r.stderr.contains(want), "{text}: {}", r.stderr);
        assert_eq!(r.stderr.trim().lines().count(), 1, "{text}: one line: {}", r.stderr);
    }
}

#[tokio::test]
async fn fleet_reads_every_context_at_once_and_a_silent_one_never_holds_the_others() {
    let (calm, busy) = (common::migrated_db().await, common::migrated_db().await);
    common::seed(&mut calm.session().await, "2024-01", "2024-02").await;
    let b = busy.session().await;
    let mut bs = busy.session().await;
    common::seed(&mut bs, "2024-01", "2024-12").await;
    b.client.execute("UPDATE backfill_log SET status = 'failed', retry_count = 1 WHERE month <= 8", &[]).await.unwrap();
    // A database that accepts the connection and then says nothing (a silent network).
    let silent = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = silent.local_addr().unwrap().port();
    let dir = tempfile::tempdir().unwrap();
    let text = format!(
        "[contexts.calm]\nurl = \"{}\"\n[contexts.busy]\nurl = \"{}\"\n\
         [contexts.silent]\nurl = \"postgresql://nobody@127.0.0.1:{port}/none?sslmode=disable\"\n",
        calm.url, busy.url
    );
    let config = write_config(&dir, &text, 0o600);
    // The two runs at once: each waits out the silent context's deadline.
    let (r, problems) = std::thread::scope(|s| {
        let json = s.spawn(|| run(&config, &["fleet", "--json", "--timeout", "5s"], &[]));
        let text = s.spawn(|| run(&config, &["fleet", "--problems", "--timeout", "5s"], &[]));
        (json.join().unwrap(), text.join().unwrap())
    });
    assert_eq!(r.code, 3, "the worst level is UNKNOWN (exit 3): {}{}", r.stdout, r.stderr);
    let doc = json(&r);
    assert_eq!(doc["level"], "UNKNOWN");
    let row = |name: &str| doc["contexts"].as_array().unwrap().iter().find(|c| c["context"] == name).unwrap().clone();
    assert_eq!((row("calm")["level"].clone(), row("calm")["total"].clone()), ("OK".into(), 2.into()), "{doc}");
    assert_eq!(row("busy")["level"], "WARNING", "{doc}");
    assert!(row("busy")["verdicts"].as_array().unwrap().iter().any(|v| v == "failed_months"), "{doc}");
    assert_eq!(row("silent")["level"], "UNKNOWN");
    assert_eq!(row("silent")["error"], "no answer within 5s", "{doc}");
    // The healthy ones hidden; the text table says how many.
    assert_eq!(problems.code, 3);
    assert!(!problems.stdout.contains("calm") && problems.stdout.contains("busy"), "{}", problems.stdout);
    assert!(problems.stdout.contains("(1 healthy context(s) hidden)"), "{}", problems.stdout);
    assert!(
        problems.stdout.contains("silent") && problems.stdout.contains("no answer within 5s"),
        "{}",
        problems.stdout
    );
    drop(silent);
    // Without contexts: one line saying what fleet needs.
    let none = write_config(&dir, "", 0o600);
    let r = run(&none, &["fleet"], &[]);
    assert_eq!(r.code, 1);
    assert!(r.stderr.contains("names no context") && r.stderr.trim().lines().count() == 1, "{}", r.stderr);
}
