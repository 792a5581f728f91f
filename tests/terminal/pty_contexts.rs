//! Contexts in the console, through the real binary (issue 24, part 1): the picker
//! switches databases — the old console ends, a new one starts on the other context —
//! and a production context takes a destructive action only with its name typed; the fleet
//! view reads both at once and switches too.
#![allow(clippy::unwrap_used, clippy::expect_used)] // tests may panic
use crate::common;

use std::os::unix::fs::PermissionsExt;

use common::pty::Console;

#[tokio::test(flavor = "multi_thread")]
async fn the_picker_switches_context_and_production_wants_its_name() {
    // A server of its own: it counts the lock holders (other tests' locks would show as foreign).
    let own = common::OwnServer::start().await;
    let (staging, prod) = (own.migrated_db().await, own.migrated_db().await);
    common::seed(&mut staging.session().await, "2024-01", "2024-03").await;
    let mut admin = prod.session().await;
    common::seed(&mut admin, "2024-01", "2024-06").await;
    // A leaked lock in production.
    let holder = prod.session().await;
    holder.client.execute("SELECT pg_advisory_lock(202402::bigint)", &[]).await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("config.toml");
    let text = format!(
        "[contexts.staging]\nurl = \"{}\"\n[contexts.prod-eu]\nurl = \"{}\"\nproduction = true\n",
        staging.url, prod.url
    );
    std::fs::write(&config, text).unwrap();
    std::fs::set_permissions(&config, std::fs::Permissions::from_mode(0o600)).unwrap();
    let config = config.to_string_lossy().to_string();
    tokio::task::spawn_blocking(move || {
        let args = ["--config", config.as_str(), "--context", "staging"];
        let mut c = Console::start_with("", &args, &[], 30, 120);
        c.wait_for("Months 3/3");
        assert!(c.contents().lines().next().unwrap().contains("staging"), "{}", c.contents());
        c.send(":");
        c.wait_for("Switch context · 2 of 2");
        for ch in "prod".chars() {
            c.send(&ch.to_string());
        }
        c.wait_for("Switch context · 1 of 2");
        c.send("\r");
        // A new console on the other database: its months, its name, its badge.
        c.wait_for("Months 6/6");
        c.wait_for("!! PROD prod-eu !!");
        c.send("3");
        c.wait_for("Lock holders 1/1");
        c.send("r");
        c.wait_for("PRODUCTION: type `prod-eu` then Enter");
        c.send("y");
        c.send("\r");
        c.wait_for("type `prod-eu` exactly to confirm");
        c.send("\x7f");
        for ch in "prod-eu".chars() {
            c.send(&ch.to_string());
        }
        c.send("\r");
        c.wait_for("lock on 2024-02 released");
        c.send("\r");
        c.wait_gone("Enter close");
        // The fleet: both contexts read at once, a row each; Enter on staging goes back.
        c.send("F");
        c.wait_for("Fleet · 2 context(s)");
        c.wait_for("0/3");
        c.wait_for("*prod-eu");
        c.send("\x1b[B");
        c.send("\r");
        c.wait_for("Months 3/3");
        assert!(c.contents().lines().next().unwrap().contains("staging"), "{}", c.contents());
        c.send("q");
        assert_eq!(c.wait_exit(), 0);
    })
    .await
    .unwrap();
    assert!(holder.client.simple_query("SELECT 1").await.is_err(), "the leaked holder was released");
}
