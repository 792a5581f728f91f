//! The wall monitor (`watch`) at the three sizes it is designed for, in colour and under
//! NO_COLOR, and the console's tables with long stuck reasons: nothing critical is cut.
#![allow(clippy::unwrap_used, clippy::expect_used)] // tests may panic
use crate::fixture;

use std::time::Duration;

use backfill_console::app::{self, DbEvent, Msg, State};
use fixture::screen::render;

/// The fixture, its leaked lock also idle in a transaction (a long stuck reason).
fn state_with_a_long_reason(ready: i64) -> State {
    let (mut state, at) = fixture::state(ready);
    let mut snap = fixture::snapshot(1, ready);
    let holder = snap.locks[0].holder.as_mut().unwrap();
    holder.state = Some("idle in transaction".into());
    holder.xact_start = holder.state_change.map(|t| t - chrono::Duration::seconds(5));
    app::update(&mut state, Msg::Db(DbEvent::Snapshot(Box::new(snap), at + Duration::from_secs(1))));
    state
}

const REASON: &str = "LEAKED: month pending; OVERDUE; IDLE IN TX 1h02m";

/// The text inside the panel titled `title`, its wrapped lines joined with a space (a
/// wrapped reason reads whole again).
fn panel_text(screen: &str, title: &str) -> String {
    let lines: Vec<Vec<char>> =
        screen.split("--- styles").next().unwrap().lines().map(|l| l.chars().collect()).collect();
    let (top, left) = lines
        .iter()
        .enumerate()
        .find_map(|(y, l)| {
            let text: String = l.iter().collect();
            text.find(&format!("┌ {title}")).map(|byte| (y, text[..byte].chars().count()))
        })
        .unwrap_or_else(|| panic!("no panel {title}:\n{screen}"));
    let right = (left + 1..lines[top].len()).find(|x| lines[top][*x] == '┐').unwrap();
    lines[top + 1..]
        .iter()
        .take_while(|l| l.get(left) == Some(&'│'))
        .map(|l| l[left + 1..right].iter().collect::<String>().trim().to_string())
        .collect::<Vec<_>>()
        .join(" ")
}

#[test]
fn watch_at_three_sizes_shows_every_critical_fact_whole() {
    let mut state = state_with_a_long_reason(250);
    state.watch = true;
    for (w, h) in [(80, 24), (120, 36), (200, 60)] {
        for mono in [false, true] {
            let screen = render(&state, w, h, mono);
            let name = format!("watch_{w}x{h}{}", if mono { "_no_color" } else { "" });
            // Badges whole; the headline facts present; the stuck month and lock whole.
            assert!(screen.contains(" READ-ONLY "), "{name}:\n{screen}");
            assert!(screen.contains("126/300 done (42%)"), "{name}:\n{screen}");
            assert!(screen.contains("ETA "), "{name}:\n{screen}");
            assert!(screen.contains("2023-05 pid 4242"), "{name}:\n{screen}");
            assert!(screen.contains("2024-09 processing for 2h01m"), "{name}:\n{screen}");
            let alerts = panel_text(&screen, "Verdicts");
            assert!(alerts.contains(REASON), "{name}: the reason whole or wrapped: {alerts}\n{screen}");
            for tile in ["done", "months left", "done per hour", "queue ready"] {
                assert!(screen.contains(&format!(" {tile} ")), "{name}: tile {tile}:\n{screen}");
            }
            insta::assert_snapshot!(name, screen);
        }
    }
}

#[test]
fn the_console_never_cuts_a_stuck_reason_while_other_columns_have_room() {
    let state = state_with_a_long_reason(20);
    for (w, h) in [(80, 24), (120, 36)] {
        let screen = render(&state, w, h, false);
        let row = screen.lines().find(|l| l.contains("2023-05  4242")).unwrap();
        assert!(row.contains(REASON), "{w}x{h}: {row}");
        insta::assert_snapshot!(format!("console_long_reason_{w}x{h}"), screen);
    }
}

#[test]
fn watch_without_history_yet_says_so_and_claims_no_eta() {
    let (mut state, at) = fixture::state(20);
    let mut snap = fixture::snapshot(1, 20);
    snap.history = None;
    app::update(&mut state, Msg::Db(DbEvent::Snapshot(Box::new(snap), at + Duration::from_secs(1))));
    state.watch = true;
    let screen = render(&state, 80, 24, true);
    assert!(screen.contains("ETA —"), "{screen}");
    assert!(screen.contains("reading the history"), "{screen}");
}

#[test]
fn a_stale_wall_dims_its_figures_and_its_ages_keep_counting() {
    // Issue 23, item 6: while STALE the big digits stayed bold green and "last completion
    // 0s ago" stood still.
    let (mut state, at) = fixture::state(20);
    state.watch = true;
    let ago = |screen: &str| {
        let line = screen.lines().find(|l| l.contains("last completion")).unwrap_or_else(|| panic!("{screen}"));
        line.split("last completion ").nth(1).unwrap().split(" ago").next().unwrap().to_string()
    };
    let fresh = render(&state, 200, 60, false);
    let before = ago(&fresh);
    app::update(
        &mut state,
        Msg::Db(DbEvent::RefreshFailed { error: "connection refused".into(), link_lost: true, attempt: 2 }),
    );
    app::update(&mut state, Msg::Tick(at + Duration::from_secs(125)));
    assert!(state.is_stale());
    let stale = render(&state, 200, 60, false);
    assert_ne!(ago(&stale), before, "the age counts on while no data comes: {before} then {}", ago(&stale));
    // The big digits' rows carry DIM in the style dump, and no bold green run.
    let digit_rows = |screen: &str| -> Vec<String> {
        let styles = screen.split("--- styles").nth(1).unwrap();
        styles.lines().filter(|l| l.starts_with("5:") || l.starts_with("6:")).map(str::to_string).collect()
    };
    let (fresh_rows, stale_rows) = (digit_rows(&fresh), digit_rows(&stale));
    assert!(fresh_rows.iter().all(|l| l.contains("Green/Reset BOLD") && !l.contains("DIM")), "{fresh_rows:?}");
    assert!(stale_rows.iter().all(|l| l.contains("DIM") && !l.contains("Green/Reset BOLD")), "{stale_rows:?}");
}
