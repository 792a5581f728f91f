//! Hostile and odd data: a `backfill_log` without the status check holding unknown
//! statuses, NULL timestamps and a 1 MB error; escape sequences in error
//! messages and query texts. Shown sanely, never sent raw to the terminal.
#![allow(clippy::unwrap_used, clippy::expect_used)] // tests may panic
use crate::common;

use std::process::Command;
use std::time::Instant;

use backfill_console::app::{self, DbEvent, Msg, State};
use backfill_console::config::Config;
use backfill_console::db::{migrate, snapshot};
use backfill_console::ui::{self, Theme};
use common::pty::Console;
use ratatui::Terminal;
use ratatui::backend::TestBackend;

/// Sets the terminal title and clears the screen, if it ever got through.
const EVIL: &str = "boom \u{1b}]0;pwned\u{7}\u{1b}[2J\u{9b}31m done";

async fn hostile_db() -> common::TestDb {
    let db = common::fresh_db().await;
    let mut s = db.session().await;
    s.client
        .batch_execute(
            "CREATE TABLE backfill_log (
               id SERIAL PRIMARY KEY, year INT NOT NULL, month INT NOT NULL, status VARCHAR(20) NOT NULL,
               books_generated INT DEFAULT 0, isbns_resolved INT DEFAULT 0, isbns_queued INT DEFAULT 0,
               resolution_rate DECIMAL(5,2), gemini_calls INT DEFAULT 0, xai_calls INT DEFAULT 0,
               isbndb_calls INT DEFAULT 0, started_at TIMESTAMPTZ, completed_at TIMESTAMPTZ, error_message TEXT,
               retry_count INT DEFAULT 0, last_retry_at TIMESTAMPTZ, prompt_variant VARCHAR(50) DEFAULT 'baseline',
               batch_size INT DEFAULT 20, UNIQUE (year, month))",
        )
        .await
        .unwrap();
    migrate::migrate(&mut s.client).await.unwrap();
    let big = format!("{EVIL} {}", "x".repeat(1024 * 1024));
    s.client
        .execute(
            "INSERT INTO backfill_log (year, month, status, started_at, error_message, retry_count) VALUES
               (2024, 1, 'ZOMBIE', NULL, $1, NULL),
               (2024, 2, 'processing', NULL, NULL, 0),
               (2024, 3, 'completed', NULL, NULL, 0),
               (2024, 4, 'failed', now(), $2, 9),
               (1850, 1, 'pending', NULL, NULL, 0)",
            &[&EVIL, &big],
        )
        .await
        .unwrap();
    db
}

fn render(state: &State, w: u16, h: u16) -> String {
    let mut terminal = Terminal::new(TestBackend::new(w, h)).unwrap();
    terminal.draw(|f| ui::draw(f, state, &Theme::new(&Config::builtin().unwrap().colours, false))).unwrap();
    let buffer = terminal.backend().buffer().clone();
    buffer.content().iter().map(|c| c.symbol()).collect()
}

#[tokio::test]
async fn odd_rows_and_escapes_are_read_and_drawn_sanely() {
    let db = hostile_db().await;
    let s = db.session().await;
    // A holder whose query text carries escape sequences.
    let holder = db.session().await;
    holder.client.execute("SELECT pg_advisory_lock(202401::bigint)", &[]).await.unwrap();
    holder.client.simple_query(&format!("SELECT '{}'", EVIL.replace('\'', "''"))).await.unwrap();
    let snap = snapshot::read(&s.client).await.unwrap();
    assert_eq!(snap.months.len(), 5, "every row, even an out-of-range year");
    let big = snap.months.iter().find(|m| m.month == 4 && m.year == 2024).unwrap();
    let carried = big.error.as_ref().unwrap().chars().count();
    assert!(carried <= 2003, "the 1 MB error is not carried in a snapshot: {carried} characters");
    let config = Config::builtin().unwrap();
    let mut state =
        State::new(config.thresholds.clone(), config.refresh, config.keymap().unwrap(), "t".into(), Instant::now());
    app::update(&mut state, Msg::Db(DbEvent::Snapshot(Box::new(snap), Instant::now())));
    for (w, h) in [(80, 24), (160, 48)] {
        let screen = render(&state, w, h);
        assert!(!screen.chars().any(|c| c.is_control()), "a control character reached the screen");
        assert!(screen.contains("ZOMBIE"), "an unknown status is shown as it is");
        assert!(screen.contains("boom ^[]0;"), "escapes shown in caret notation: {screen}");
    }
    // The holder's session detail shows its query, escapes neutralised too.
    app::update::on_action(&mut state, app::Action::FocusLocks);
    app::update::on_action(&mut state, app::Action::Detail);
    let screen = render(&state, 160, 48);
    assert!(screen.contains("Session ") && screen.contains("SELECT 'boom ^[]0;pwned^G"), "{screen}");
    assert!(!screen.chars().any(|c| c.is_control()));
    // The headless commands print the same data without a raw escape.
    for args in
        [&["snapshot"][..], &["locks"], &["snapshot", "--json"], &["claim", "--dry-run", "--years", "2024..2024"]]
    {
        let out = Command::new(env!("CARGO_BIN_EXE_backfill-console"))
            .args(args)
            .env("DATABASE_URL", &db.url)
            .output()
            .unwrap();
        assert!(out.status.success(), "{args:?}: {}", String::from_utf8_lossy(&out.stderr));
        assert!(!out.stdout.contains(&0x1b), "{args:?} printed a raw ESC");
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn the_console_never_forwards_database_escapes_to_the_terminal() {
    let db = hostile_db().await;
    let holder = db.session().await;
    holder.client.execute("SELECT pg_advisory_lock(202402::bigint)", &[]).await.unwrap();
    holder.client.simple_query(&format!("SELECT '{}'", EVIL.replace('\'', "''"))).await.unwrap();
    let url = db.url.clone();
    tokio::task::spawn_blocking(move || {
        let mut c = Console::start(&url, &[]);
        c.wait_for("ZOMBIE");
        c.send("3"); // the lock panel, then the session detail with its query
        c.send("\r");
        c.wait_for("SELECT 'boom ^[]0;pwned^G");
        c.send("\x1b");
        c.wait_gone("SELECT 'boom");
        c.send("q");
        assert_eq!(c.wait_exit(), 0);
        let raw = c.raw.lock().unwrap().clone();
        let needle = b"\x1b]0;pwned";
        assert!(!raw.windows(needle.len()).any(|w| w == needle), "a database escape reached the terminal");
    })
    .await
    .unwrap();
}

#[tokio::test(flavor = "multi_thread")]
async fn tiny_terminals_resize_storms_dumb_terminals_and_no_color() {
    let db = common::migrated_db().await;
    let mut admin = db.session().await;
    common::seed(&mut admin, "2024-01", "2024-12").await;
    let url = db.url.clone();
    tokio::task::spawn_blocking(move || {
        let mut c = Console::start_with(&url, &[], &[("NO_COLOR", "1"), ("TERM", "dumb")], 5, 20);
        c.wait_for("too small");
        for (rows, cols) in [(24, 80), (5, 20), (60, 200), (1, 1), (30, 100), (23, 79), (40, 120)] {
            c.resize(rows, cols);
        }
        c.resize(30, 100);
        c.wait_for("Months 12/12");
        assert!(!c.any_colour(), "NO_COLOR: no colour anywhere");
        c.send("q");
        assert_eq!(c.wait_exit(), 0, "no panic through the storm");
        c.assert_restored();
    })
    .await
    .unwrap();
}
