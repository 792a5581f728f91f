//! `app::update` for navigation, filters, keys and modes (the actions are in `app_actions.rs`): pure, so no terminal and no database.
#![allow(clippy::unwrap_used, clippy::expect_used)] // tests may panic
use crate::fixture;

use std::time::Duration;

use backfill_console::app::dialog::Dialog;
use backfill_console::app::update::on_action;
use backfill_console::app::{
    self, Action, DbEvent, Detail, Effect, JobResult, Link, Msg, Overlay, Panel, State, WorkerCmd,
};
use backfill_console::db::lock_key::YearMonth;
use backfill_console::model::FailureKind;
use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};

pub(crate) fn key(state: &mut State, code: KeyCode) -> Vec<Effect> {
    app::update(state, Msg::Key(KeyEvent::new(code, KeyModifiers::NONE)))
}

fn ctrl(state: &mut State, c: char) -> Vec<Effect> {
    app::update(state, Msg::Key(KeyEvent::new(KeyCode::Char(c), KeyModifiers::CONTROL)))
}

pub(crate) fn ym(y: i32, m: i32) -> YearMonth {
    YearMonth::new(y, m).unwrap()
}

#[test]
fn navigation_focus_and_selection() {
    let (mut s, _) = fixture::state(20);
    assert_eq!(s.focus, Panel::Months);
    assert_eq!(s.selected_month, Some(ym(2024, 12)));
    on_action(&mut s, Action::Down);
    on_action(&mut s, Action::Down);
    assert_eq!(s.selected_month, Some(ym(2024, 10)));
    on_action(&mut s, Action::PageDown);
    assert_eq!(s.selected_month, Some(ym(2023, 12)));
    on_action(&mut s, Action::End);
    assert_eq!(s.selected_month, Some(ym(2000, 1)));
    on_action(&mut s, Action::Home);
    assert_eq!(s.selected_month, Some(ym(2024, 12)));
    on_action(&mut s, Action::Up);
    assert_eq!(s.selected_month, Some(ym(2024, 12)), "stays at the top");
    // The calendar moves by month and by year over the same selection.
    on_action(&mut s, Action::FocusCalendar);
    on_action(&mut s, Action::Left);
    assert_eq!(s.selected_month, Some(ym(2024, 11)));
    on_action(&mut s, Action::Down);
    assert_eq!(s.selected_month, Some(ym(2023, 11)));
    on_action(&mut s, Action::Right);
    on_action(&mut s, Action::Up);
    assert_eq!(s.selected_month, Some(ym(2024, 12)));
    on_action(&mut s, Action::Up);
    assert_eq!(s.selected_month, Some(ym(2024, 12)), "no 2025 row: stays");
    // Focus cycles through the four panels, both ways.
    for want in [Panel::Locks, Panel::Queue, Panel::Months, Panel::Calendar] {
        on_action(&mut s, Action::FocusNext);
        assert_eq!(s.focus, want);
    }
    on_action(&mut s, Action::FocusPrev);
    assert_eq!(s.focus, Panel::Months);
    on_action(&mut s, Action::FocusLocks);
    on_action(&mut s, Action::Down);
    assert_eq!(s.selected_lock, 1);
    on_action(&mut s, Action::End);
    assert_eq!(s.selected_lock, 3);
    on_action(&mut s, Action::FocusQueue);
    assert_eq!(s.focus, Panel::Queue);
}

#[test]
fn filter_typing_applies_and_escape_clears() {
    let (mut s, _) = fixture::state(20);
    on_action(&mut s, Action::Filter);
    assert_eq!(s.overlay, Overlay::Filter);
    for c in "fail".chars() {
        key(&mut s, KeyCode::Char(c));
    }
    assert_eq!(s.filter, "fail");
    assert_eq!(app::select::visible_months(&s).len(), 13);
    assert!(s.selected_month.is_some(), "selection moved into the filtered rows");
    key(&mut s, KeyCode::Backspace);
    assert_eq!(s.filter, "fai");
    key(&mut s, KeyCode::Enter);
    assert_eq!(s.overlay, Overlay::None);
    assert_eq!(s.filter, "fai", "Enter keeps the filter");
    on_action(&mut s, Action::Filter);
    key(&mut s, KeyCode::Esc);
    assert!(s.filter.is_empty());
    // Keys typed into the filter are not actions.
    on_action(&mut s, Action::Filter);
    key(&mut s, KeyCode::Char('q'));
    assert!(!s.quit);
    assert_eq!(s.filter, "q");
}

#[test]
fn editing_a_filter_starts_with_its_text_selected() {
    let (mut s, _) = fixture::state(20);
    on_action(&mut s, Action::Filter);
    for c in "processing".chars() {
        key(&mut s, KeyCode::Char(c));
    }
    key(&mut s, KeyCode::Enter);
    // Opened again: typing replaces the old text (it was appended to: "processing2015-02").
    on_action(&mut s, Action::Filter);
    assert!(s.filter_selected);
    for c in "2015-02".chars() {
        key(&mut s, KeyCode::Char(c));
    }
    assert_eq!(s.filter, "2015-02");
    assert!(!s.filter_selected);
    // Enter keeps a selected filter as it is; Backspace on it clears it whole.
    key(&mut s, KeyCode::Enter);
    on_action(&mut s, Action::Filter);
    key(&mut s, KeyCode::Enter);
    assert_eq!(s.filter, "2015-02");
    on_action(&mut s, Action::Filter);
    key(&mut s, KeyCode::Backspace);
    assert_eq!(s.filter, "");
    // Once something was typed, Backspace takes one character, as before.
    for c in "fail".chars() {
        key(&mut s, KeyCode::Char(c));
    }
    key(&mut s, KeyCode::Backspace);
    assert_eq!(s.filter, "fai");
    // An empty filter opens with nothing selected.
    key(&mut s, KeyCode::Esc);
    on_action(&mut s, Action::Filter);
    assert!(!s.filter_selected);
}

#[test]
fn sort_help_pause_refresh_rate_and_quit() {
    let (mut s, _) = fixture::state(20);
    let before = s.month_sort;
    on_action(&mut s, Action::Sort);
    assert_ne!(s.month_sort, before);
    on_action(&mut s, Action::FocusLocks);
    let before = s.lock_sort;
    on_action(&mut s, Action::Sort);
    assert_ne!(s.lock_sort, before);
    on_action(&mut s, Action::Help);
    assert_eq!(s.overlay, Overlay::Help { scroll: 0 });
    key(&mut s, KeyCode::Esc);
    assert_eq!(s.overlay, Overlay::None);
    assert_eq!(on_action(&mut s, Action::Pause), [Effect::Worker(WorkerCmd::SetPaused(true))]);
    assert!(s.paused && !s.is_stale());
    on_action(&mut s, Action::Pause);
    assert!(!s.paused);
    for _ in 0..10 {
        on_action(&mut s, Action::Faster);
    }
    assert_eq!(s.refresh, Duration::from_millis(250), "clamped");
    for _ in 0..20 {
        on_action(&mut s, Action::Slower);
    }
    assert_eq!(s.refresh, Duration::from_secs(60), "clamped");
    assert_eq!(on_action(&mut s, Action::Refresh), [Effect::Worker(WorkerCmd::RefreshNow)]);
    key(&mut s, KeyCode::Char('q'));
    assert!(s.quit);
}

#[test]
fn ctrl_c_quits_from_anywhere() {
    let (mut s, _) = fixture::state(20);
    on_action(&mut s, Action::Claim);
    ctrl(&mut s, 'c');
    assert!(s.quit);
}

#[test]
fn copy_row_and_sql_go_to_the_clipboard() {
    let (mut s, _) = fixture::state(20);
    let fx = on_action(&mut s, Action::CopySql);
    assert_eq!(fx, [Effect::Copy("SELECT * FROM backfill_log WHERE year = 2024 AND month = 12;".into())]);
    let fx = on_action(&mut s, Action::CopyRow);
    assert!(matches!(&fx[0], Effect::Copy(t) if t.starts_with("2024-12\tprocessing")));
    on_action(&mut s, Action::FocusLocks);
    let fx = on_action(&mut s, Action::CopySql);
    assert_eq!(fx, [Effect::Copy("SELECT pg_terminate_backend(4242); -- holds 2023-05".into())]);
}

#[test]
fn a_month_detail_is_loaded_and_shown() {
    let (mut s, _) = fixture::state(20);
    let fx = on_action(&mut s, Action::Detail);
    assert_eq!(fx, [Effect::Worker(WorkerCmd::LoadMonthDetail(ym(2024, 12)))]);
    let lines = vec!["status processing".to_string()];
    app::update(&mut s, Msg::Db(DbEvent::MonthDetail { month: ym(2024, 12), lines: lines.clone() }));
    assert_eq!(s.overlay, Overlay::Detail(Detail::Month { month: ym(2024, 12), lines: Some(lines) }));
    key(&mut s, KeyCode::Esc);
    on_action(&mut s, Action::FocusLocks);
    on_action(&mut s, Action::Detail);
    assert_eq!(s.overlay, Overlay::Detail(Detail::Session { pid: 4242 }));
}

#[test]
fn the_link_drops_goes_stale_and_recovers_and_an_action_in_flight_is_unknown() {
    let (mut s, at) = fixture::state(20);
    let ev = DbEvent::RefreshFailed { error: "connection closed".into(), link_lost: true, attempt: 1 };
    app::update(&mut s, Msg::Db(ev));
    assert!(matches!(s.link, Link::Reconnecting { attempt: 1, .. }));
    assert!(s.is_stale(), "data kept but marked stale");
    assert!(s.snapshot.is_some(), "the last good data stays");
    let result =
        JobResult::Failed { job: "Claim".into(), error: "connection closed".into(), kind: FailureKind::LinkLost };
    let fx = app::update(&mut s, Msg::Db(DbEvent::JobDone(result)));
    assert!(!fx.iter().any(|e| matches!(e, Effect::Run(_))), "never repeated by itself");
    let Overlay::Dialog(Dialog::Result { lines, ok: false, .. }) = &s.overlay else { panic!() };
    assert!(lines[0].contains("outcome unknown — see the audit table"));
    app::update(&mut s, Msg::Db(DbEvent::Connected { server_version: "15".into(), route: app::Route::direct() }));
    let snap = fixture::snapshot(60, 20);
    app::update(&mut s, Msg::Db(DbEvent::Snapshot(Box::new(snap), at + Duration::from_secs(60))));
    assert_eq!(s.link, Link::Connected);
    assert!(!s.is_stale());
}

/// The privilege advice follows the failure's kind, not words in its text.
#[test]
fn a_missing_privilege_is_told_by_its_kind() {
    let advice = |kind: FailureKind, error: &str| {
        let (mut s, _) = fixture::state(20);
        s.job_running = true;
        let result = JobResult::Failed { job: "Claim".into(), error: error.into(), kind };
        app::update(&mut s, Msg::Db(DbEvent::JobDone(result)));
        let Overlay::Dialog(Dialog::Result { lines, ok: false, .. }) = &s.overlay else { panic!() };
        lines.iter().any(|l| l.contains("the database role lacks a privilege"))
    };
    assert!(advice(FailureKind::PermissionDenied, "could not claim: permission denied for table backfill_log"));
    assert!(advice(FailureKind::PermissionDenied, "could not claim: keine Berechtigung für Tabelle backfill_log"));
    assert!(!advice(FailureKind::Other, "could not claim: a month named 'permission denied' broke it"));
    assert!(!advice(FailureKind::LinkLost, "permission denied"));
}

#[test]
fn a_new_critical_rings_the_bell_once_when_asked() {
    let (mut s, at) = fixture::state(20);
    s.bell_on_critical = true;
    let critical =
        |i: u64| Msg::Db(DbEvent::Snapshot(Box::new(fixture::snapshot(i as i64, 500)), at + Duration::from_secs(i)));
    assert_eq!(app::update(&mut s, critical(1)), [Effect::Bell]);
    assert!(app::update(&mut s, critical(2)).is_empty(), "not again while it stays critical");
}

#[test]
fn stale_after_two_intervals_without_a_refresh() {
    let (mut s, at) = fixture::state(20);
    app::update(&mut s, Msg::Tick(at + Duration::from_secs(2)));
    assert!(!s.is_stale());
    app::update(&mut s, Msg::Tick(at + Duration::from_secs(4)));
    assert!(s.is_stale());
}

#[test]
fn only_a_transaction_poolers_address_judges_stranded_locks() {
    // Behind a session pooler a backend keeps its client for life: a consumer working
    // while it holds its month's lock is normal there, never stranded.
    for (via, judged) in [(app::Via::SessionPooler, false), (app::Via::TransactionPooler, true)] {
        let (mut s, _) = fixture::state(20);
        let route = app::Route { via, pooler_addr: Some("10.0.0.5".into()), ..app::Route::direct() };
        app::update(&mut s, Msg::Db(DbEvent::Connected { server_version: "15".into(), route }));
        assert_eq!(s.thresholds.poolers.contains(&"10.0.0.5".to_string()), judged, "{via:?}");
    }
}

#[test]
fn enter_on_the_wall_opens_nothing_over_it() {
    // Issue 23, item 6: in `watch`, Enter opened a month's detail over the wall.
    let (mut s, _) = fixture::state(20);
    s.watch = true;
    on_action(&mut s, Action::Detail);
    assert_eq!(s.overlay, Overlay::None);
    assert!(s.notice.as_ref().unwrap().text.contains("the wall has no row to open"));
}
