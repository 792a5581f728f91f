//! Least privilege: the watcher reads everything and may do nothing; the
//! operator may act; every refusal names the missing privilege and is audited
//! where the role may write the audit. Read-only mode and `watch` issue no write
//! at all (proven with the server's statement log). Passwords stay out of the
//! process title.
#![allow(clippy::unwrap_used, clippy::expect_used)] // tests may panic
use crate::common;

use std::process::{Command, Output};
use std::time::Duration;

use backfill_console::db::{migrate, seed};
use backfill_console::pgserver::{ServerOptions, TempServer};
use common::pty::{APP, Console};

fn run(url: &str, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_backfill-console"))
        .args(args)
        .env("DATABASE_URL", url)
        .env("PGAPPNAME", APP)
        .env_remove("PGPASSWORD")
        .output()
        .unwrap()
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).to_string()
}

async fn world() -> (common::TestDb, common::Session, i32) {
    let db = common::migrated_db().await;
    let mut admin = db.session().await;
    common::seed(&mut admin, "2024-01", "2024-06").await;
    admin
        .client
        .batch_execute(
            "UPDATE backfill_log SET status = 'processing', started_at = now() - interval '3 hours' WHERE month = 1",
        )
        .await
        .unwrap();
    // A non-superuser holder (pg_signal_backend cannot touch a superuser's backend).
    let (holder_user, pw) = common::login_in_role(&db, "backfill_watcher").await;
    let holder = common::connect_url(&common::url_as(&db, &holder_user, &pw)).await;
    holder.client.execute("SELECT pg_advisory_lock(202405::bigint)", &[]).await.unwrap();
    let pid = holder.backend_pid;
    std::mem::forget(holder); // held for the whole test
    (db, admin, pid)
}

#[tokio::test]
async fn the_watcher_reads_everything_and_every_action_is_refused_by_name() {
    let (db, admin, holder_pid) = world().await;
    let (user, pw) = common::login_in_role(&db, "backfill_watcher").await;
    let url = common::url_as(&db, &user, &pw);
    for args in [&["snapshot"][..], &["locks"], &["claim", "--dry-run", "--years", "2024..2024"]] {
        let o = run(&url, args);
        assert!(o.status.success(), "{args:?}: {}", stderr(&o));
    }
    assert_ne!(run(&url, &["check"]).status.code(), Some(3), "check reads fine");
    let pid = holder_pid.to_string();
    for (args, what) in [
        (&["claim", "--years", "2024..2024"][..], "permission denied for table backfill_log"),
        (&["release", "--pid", &pid, "--yes"], "permission denied"),
        (&["reset-stuck", "--yes"], "permission denied for table backfill_log"),
    ] {
        let o = run(&url, args);
        let err = stderr(&o);
        assert_eq!(o.status.code(), Some(1), "{args:?}: {err}");
        assert!(err.contains(what) && err.contains("roles.sql"), "{args:?}: {err}");
        // The watcher may not write the audit either: the refusal is logged instead.
        assert!(err.contains("could not audit"), "{args:?}: {err}");
    }
    let audited =
        common::count(&admin.client, &format!("SELECT count(*) FROM backfill_console_audit WHERE db_user = '{user}'"))
            .await;
    assert_eq!(audited, 0);
    assert_eq!(common::status_of(&admin.client, 2024, 6).await, "pending", "nothing was claimed");
    assert_eq!(common::month_locks_of(&admin.client, holder_pid).await, [202405], "nothing was released");
}

#[tokio::test]
async fn the_operator_acts_and_is_audited_by_name() {
    let (db, admin, holder_pid) = world().await;
    let (user, pw) = common::login_in_role(&db, "backfill_operator").await;
    let url = common::url_as(&db, &user, &pw);
    let o = run(&url, &["claim", "--years", "2024..2024", "--batch", "1"]);
    assert!(o.status.success(), "{}", stderr(&o));
    let o = run(&url, &["release", "--pid", &holder_pid.to_string(), "--yes"]);
    assert!(o.status.success(), "{}", stderr(&o));
    let o = run(&url, &["reset-stuck", "--yes"]);
    assert!(o.status.success(), "{}", stderr(&o));
    let actions: Vec<String> = admin
        .client
        .query("SELECT action || ':' || outcome FROM backfill_console_audit WHERE db_user = $1 ORDER BY id", &[&user])
        .await
        .unwrap()
        .iter()
        .map(|r| r.get(0))
        .collect();
    assert_eq!(actions.len(), 3, "{actions:?}");
    assert!(actions[0].starts_with("claim:claimed 1"), "{actions:?}");
    assert_eq!(actions[1], "release.terminate:done");
    assert!(actions[2].starts_with("reset-stuck:done"), "{actions:?}");
}

#[tokio::test]
async fn the_audit_trail_cannot_be_forged_by_a_role_that_writes_it() {
    let (db, admin, _) = world().await;
    let (user, pw) = common::login_in_role(&db, "backfill_operator").await;
    let operator = common::connect_url(&common::url_as(&db, &user, &pw)).await;
    // Naming who or when is refused outright (column grants) …
    let forged = "INSERT INTO backfill_console_audit (db_user, at, backend_pid, application_name, action, outcome)
                  VALUES ('alice', now() - interval '3 hours', 1, 'scheduler', 'release.terminate', 'done')";
    let err = operator.client.batch_execute(forged).await.unwrap_err();
    assert!(format!("{err:?}").contains("permission denied"), "{err:?}");
    // … and whatever an INSERT says, the row carries the real login, time, backend and application.
    admin.client.batch_execute(forged).await.unwrap();
    let row = admin
        .client
        .query_one(
            "SELECT db_user, at > now() - interval '1 minute', backend_pid = pg_backend_pid(), application_name
             FROM backfill_console_audit WHERE action = 'release.terminate'",
            &[],
        )
        .await
        .unwrap();
    let (db_user, recent, ours, application): (String, bool, bool, String) =
        (row.get(0), row.get(1), row.get(2), row.get(3));
    assert_ne!(db_user, "alice");
    assert!(recent && ours, "the time and the backend are the database's");
    assert_eq!(application, "backfill-console");
    // What the console writes goes in, the login stamped by the database.
    let o = run(&common::url_as(&db, &user, &pw), &["claim", "--years", "2024..2024", "--batch", "1"]);
    assert!(o.status.success(), "{}", stderr(&o));
    let by: String = admin
        .client
        .query_one("SELECT db_user FROM backfill_console_audit WHERE action = 'claim'", &[])
        .await
        .unwrap()
        .get(0);
    assert_eq!(by, user);
}

#[tokio::test]
async fn a_refusal_is_audited_where_the_role_may_write_the_audit() {
    let (db, admin, _) = world().await;
    let (user, pw) = common::login_in_role(&db, "backfill_watcher").await;
    admin
        .client
        .batch_execute(&format!(
            "GRANT INSERT ON backfill_console_audit TO {user}; GRANT USAGE ON SEQUENCE backfill_console_audit_id_seq TO {user}"
        ))
        .await
        .unwrap();
    let o = run(&common::url_as(&db, &user, &pw), &["claim", "--years", "2024..2024"]);
    assert_eq!(o.status.code(), Some(1));
    let outcome: String = admin
        .client
        .query_one("SELECT outcome FROM backfill_console_audit WHERE db_user = $1", &[&user])
        .await
        .unwrap()
        .get(0);
    assert!(outcome.starts_with("failed:") && outcome.contains("permission denied"), "{outcome}");
}

#[tokio::test(flavor = "multi_thread")]
async fn read_only_mode_and_watch_issue_no_write_at_all() {
    let options = ServerOptions {
        settings: vec!["log_statement=all".into(), "log_line_prefix=%a|".into(), "log_min_messages=log".into()],
        ..ServerOptions::default()
    };
    let server = tokio::task::spawn_blocking(move || TempServer::start_with(&options).unwrap()).await.unwrap();
    let url = format!("{}?sslmode=disable", server.url("postgres"));
    let mut s = common::connect_url(&url).await;
    migrate::migrate(&mut s.client).await.unwrap();
    let (from, to) = (
        backfill_console::db::lock_key::YearMonth::new(2024, 1).unwrap(),
        backfill_console::db::lock_key::YearMonth::new(2024, 6).unwrap(),
    );
    seed::seed(&mut s.client, &common::actor(), from, to).await.unwrap();
    for args in [
        &["--read-only", "snapshot"][..],
        &["--read-only", "locks"],
        &["--read-only", "check"],
        &["--read-only", "claim", "--dry-run"],
    ] {
        let _ = run(&url, args);
    }
    let refused = run(&url, &["--read-only", "claim"]);
    assert!(stderr(&refused).contains("read-only"), "{}", stderr(&refused));
    let u = url.clone();
    tokio::task::spawn_blocking(move || {
        for (args, loaded) in [(&["--read-only"][..], "pend 6"), (&["watch"], "pending 6")] {
            let mut c = Console::start(&u, args);
            c.wait_for(loaded);
            c.send("c"); // refused: read-only
            std::thread::sleep(Duration::from_secs(3));
            c.send("q");
            assert_eq!(c.wait_exit(), 0);
        }
    })
    .await
    .unwrap();
    let log = server.log();
    let ours: Vec<&str> = log.lines().filter(|l| l.starts_with(&format!("{APP}|")) && l.contains("LOG:")).collect();
    assert!(ours.len() >= 10, "the statement log saw the console's reads:\n{log}");
    let writes = regex_like_writes(&ours);
    assert!(writes.is_empty(), "writes issued in read-only mode: {writes:#?}");
    drop(s);
    tokio::task::spawn_blocking(move || drop(server)).await.unwrap();
}

/// Statements that could change anything.
fn regex_like_writes<'a>(lines: &[&'a str]) -> Vec<&'a str> {
    const WRITES: &[&str] = &[
        "insert ",
        "update ",
        "delete ",
        "truncate",
        "create ",
        "alter ",
        "drop ",
        "grant ",
        "copy ",
        "pg_terminate_backend",
        "pg_cancel_backend",
        "pg_advisory",
        "nextval",
        "setval",
    ];
    lines
        .iter()
        .copied()
        .filter(|l| {
            let lower = l.to_lowercase();
            WRITES.iter().any(|w| lower.contains(w))
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread")]
async fn a_password_on_the_command_line_never_shows_in_the_process_title() {
    let db = common::migrated_db().await;
    let (user, pw) = common::login_in_role(&db, "backfill_watcher").await;
    let s = db.settings();
    let url = format!("postgresql://{user}:{pw}@{}:{}/{}?sslmode=disable", s.hosts[0], s.ports[0], s.dbname);
    tokio::task::spawn_blocking(move || {
        let mut c = Console::start("", &["--database-url", &url, "watch"]);
        c.wait_for("● connected");
        let pid = c.child.process_id().unwrap();
        let cmdline =
            String::from_utf8_lossy(&std::fs::read(format!("/proc/{pid}/cmdline")).unwrap()).replace('\0', " ");
        assert!(cmdline.contains("--database-url"), "{cmdline}");
        assert!(!cmdline.contains(&pw), "the password is in the process title: {cmdline}");
        assert!(!c.contents().contains(&pw));
        c.send("q");
        assert_eq!(c.wait_exit(), 0);
    })
    .await
    .unwrap();
}

#[tokio::test(flavor = "multi_thread")]
async fn the_console_as_watcher_reads_and_its_refusals_name_the_privilege() {
    let (db, _admin, _) = world().await;
    let (user, pw) = common::login_in_role(&db, "backfill_watcher").await;
    let url = common::url_as(&db, &user, &pw);
    tokio::task::spawn_blocking(move || {
        let mut c = Console::start(&url, &[]);
        c.wait_for("Months 6/6");
        c.wait_for("2024-05"); // the lock holder is visible (pg_monitor)
        c.send("c");
        c.wait_for("Run the claim routine");
        // A dry run first (it reads only), then the claim itself is refused.
        c.send("\r");
        c.wait_for("A dry run of the routine (nothing changed) found:");
        c.send("\r");
        c.wait_for("permission denied for table backfill_log");
        c.wait_for("roles.sql");
        c.send("\r");
        c.wait_gone("Enter close");
        c.send("q");
        assert_eq!(c.wait_exit(), 0);
    })
    .await
    .unwrap();
}
