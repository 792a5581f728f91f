//! Whole screens on a TestBackend, snapshotted with insta. Review with `cargo insta review`.
#![allow(clippy::unwrap_used, clippy::expect_used)] // tests may panic
use crate::fixture;

use fixture::screen::render;

use std::time::Duration;

use backfill_console::app::{self, Action, DbEvent, Msg, State};
use backfill_console::config::Config;
use backfill_console::ops::release::ReleaseJob;
use backfill_console::ops::reset::{ResetDone, ResetJob};
use backfill_console::ui::{self, Theme};
use ratatui::Terminal;
use ratatui::backend::TestBackend;

/// Every cell's colours, foreground, background and underline.
fn colours(state: &State, width: u16, height: u16, mono: bool) -> Vec<ratatui::style::Color> {
    let mut terminal = Terminal::new(TestBackend::new(width, height)).unwrap();
    let theme = Theme::new(&Config::builtin().unwrap().colours, mono);
    terminal.draw(|f| ui::draw(f, state, &theme)).unwrap();
    let buffer = terminal.backend().buffer().clone();
    buffer.content.iter().flat_map(|c| [c.fg, c.bg, c.underline_color]).collect()
}

pub(crate) fn act(state: &mut State, action: Action) {
    app::update::on_action(state, action);
}

pub(crate) fn key(state: &mut State, code: crossterm::event::KeyCode) {
    let ev = crossterm::event::KeyEvent::new(code, crossterm::event::KeyModifiers::NONE);
    app::update(state, Msg::Key(ev));
}

#[test]
fn main_screen_80x24() {
    let (state, _) = fixture::state(150);
    insta::assert_snapshot!(render(&state, 80, 24, false));
}

#[test]
fn main_screen_160x48() {
    let (mut state, _) = fixture::state(150);
    act(&mut state, Action::FocusLocks);
    insta::assert_snapshot!(render(&state, 160, 48, false));
}

#[test]
fn help_overlay() {
    let (mut state, _) = fixture::state(20);
    act(&mut state, Action::Help);
    insta::assert_snapshot!(render(&state, 100, 30, false));
    // At 80×24 it is taller than the terminal: the title says so, and ↓ reaches the legend.
    let top = render(&state, 80, 24, false);
    assert!(top.contains("Keys · ↑/↓ scroll") && !top.contains("Ctrl-C quits"), "{top}");
    for _ in 0..10 {
        app::update(&mut state, Msg::Key(crossterm::event::KeyEvent::from(crossterm::event::KeyCode::Down)));
    }
    let bottom = render(&state, 80, 24, false);
    assert!(bottom.contains("Symbols: · pending") && bottom.contains("Ctrl-C quits from anywhere."), "{bottom}");
    insta::assert_snapshot!("help_overlay_80x24_scrolled", bottom);
}

#[test]
fn claim_dialog() {
    let (mut state, _) = fixture::state(20);
    act(&mut state, Action::Claim);
    key(&mut state, crossterm::event::KeyCode::Down);
    key(&mut state, crossterm::event::KeyCode::Right);
    insta::assert_snapshot!(render(&state, 80, 24, false));
}

#[test]
fn release_dialog() {
    let (mut state, _) = fixture::state(20);
    act(&mut state, Action::FocusLocks);
    act(&mut state, Action::Release);
    insta::assert_snapshot!(render(&state, 100, 30, false));
}

#[test]
fn reset_dialog() {
    let (mut state, _) = fixture::state(20);
    let fx = app::update::on_action(&mut state, Action::ResetStuck);
    let job = crate::ran::<ResetJob>(&fx);
    // The dry run found the stuck month free: it would go back to retry.
    let month = job.months[0].month;
    let report = backfill_console::model::reset::ResetReport {
        dry_run: true,
        reset: vec![(month, "retry".into())],
        ..Default::default()
    };
    app::update(&mut state, Msg::Db(DbEvent::JobDone(app::JobResult::done(ResetDone { job: job.clone(), report }))));
    insta::assert_snapshot!(render(&state, 80, 24, false));
}

#[test]
fn running_dialog() {
    let (mut state, _) = fixture::state(20);
    act(&mut state, Action::Claim);
    key(&mut state, crossterm::event::KeyCode::Enter);
    insta::assert_snapshot!(render(&state, 80, 24, false));
}

#[test]
fn result_dialog_outcome_unknown() {
    let (mut state, _) = fixture::state(20);
    let result = app::JobResult::Failed {
        job: "Claim".into(),
        error: "connection closed".into(),
        kind: backfill_console::model::FailureKind::LinkLost,
    };
    app::update(&mut state, Msg::Db(DbEvent::JobDone(result)));
    insta::assert_snapshot!(render(&state, 80, 24, false));
}

#[test]
fn session_detail() {
    let (mut state, _) = fixture::state(20);
    act(&mut state, Action::FocusLocks);
    act(&mut state, Action::Detail);
    insta::assert_snapshot!(render(&state, 100, 30, false));
}

#[test]
fn stale_state() {
    let (mut state, at) = fixture::state(20);
    app::update(
        &mut state,
        Msg::Db(DbEvent::RefreshFailed { error: "connection refused".into(), link_lost: true, attempt: 3 }),
    );
    app::update(&mut state, Msg::Tick(at + Duration::from_secs(42)));
    let screen = render(&state, 80, 24, false);
    // Issue 23, item 6: at 80 columns the link read "⟳ re": the target narrows instead.
    assert!(screen.lines().next().unwrap().contains("⟳ reconnect #3 "), "{screen}");
    insta::assert_snapshot!(screen);
}

#[test]
fn a_recording_that_stops_says_so_in_the_header_and_the_status_line() {
    let (mut state, _) = fixture::state(20);
    state.recording = Some(app::Recording::On);
    let on = fixture::screen::render_rows(&state, 80, 24, false, 0..2);
    assert!(on.lines().next().unwrap().contains("● REC"), "{on}");
    app::update(
        &mut state,
        Msg::Db(DbEvent::RecordingStopped("cannot write to wall.rec: No space left on device".into())),
    );
    for (width, height) in [(80, 24), (160, 48)] {
        // The header, and the status line above the footer.
        let header = fixture::screen::render_rows(&state, width, height, false, 0..1);
        let status = fixture::screen::render_rows(&state, width, height, false, height - 2..height - 1);
        assert!(header.contains("REC STOPPED"), "{header}");
        assert!(status.contains("the recording stopped: cannot write to wall.rec"), "{status}");
        insta::assert_snapshot!(format!("recording_stopped_{width}x{height}"), format!("{header}{status}"));
    }
}

#[test]
fn watch_layout() {
    let (mut state, _) = fixture::state(250);
    state.watch = true;
    insta::assert_snapshot!(render(&state, 100, 30, false));
}

#[test]
fn no_color_main_screen() {
    let (mut state, _) = fixture::state(150);
    insta::assert_snapshot!(render(&state, 80, 24, true));
    // Not one colour anywhere, on any screen (emphasis such as bold or reverse stays).
    let no_colour = |state: &State| colours(state, 120, 36, true).iter().all(|c| *c == ratatui::style::Color::Reset);
    assert!(no_colour(&state), "main screen");
    act(&mut state, Action::Help);
    assert!(no_colour(&state), "help overlay");
    key(&mut state, crossterm::event::KeyCode::Esc);
    act(&mut state, Action::Claim);
    assert!(no_colour(&state), "claim dialog");
    // And the same screen in colour does use colour (the check can fail).
    assert!(!colours(&state, 120, 36, false).iter().all(|c| *c == ratatui::style::Color::Reset));
}

#[test]
fn too_small() {
    let (state, _) = fixture::state(150);
    insta::assert_snapshot!(render(&state, 60, 20, false));
    // A tiny terminal and a storm of sizes never panic.
    for (w, h) in [(1, 1), (20, 5), (79, 24), (80, 23), (0, 0), (300, 100)] {
        let _ = render(&state, w, h, false);
    }
}

#[test]
fn header_through_a_transaction_pooler_with_a_setting_missing() {
    let (mut state, _) = fixture::state(20);
    let route = app::Route {
        via: app::Via::TransactionPooler,
        pooler_addr: Some("10.0.0.5".into()),
        safety: "NOT in force: statement_timeout is 0 (wanted 10000)".into(),
        safety_ok: false,
    };
    app::update(&mut state, Msg::Db(DbEvent::Connected { server_version: "15.18".into(), route }));
    state.read_only = true;
    let wide = render(&state, 160, 24, false);
    let narrow = render(&state, 80, 24, false);
    let first = |screen: &str| screen.lines().next().unwrap_or_default().to_string();
    // The badges stay whole at any width (the overall level first); the left part is what gets cut.
    assert!(first(&narrow).ends_with(" ▲ WARNING  SAFETY OFF  READ-ONLY "), "{}", first(&narrow));
    assert!(first(&wide).contains("push off (transaction pooler): polling"), "{}", first(&wide));
    assert!(first(&wide).ends_with(" ▲ WARNING  SAFETY OFF  READ-ONLY "), "{}", first(&wide));
    insta::assert_snapshot!(wide);
}

/// A dialog key rebound in a config file works, the old one no longer does, and the
/// dialog and the footer show the new one.
#[test]
fn a_dialog_key_remapped_in_the_config_file_works_and_is_shown() {
    use backfill_console::app::Overlay;
    use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("config.toml");
    std::fs::write(&path, "[keys.dialog]\nconfirm = [\"o\"]\ncancel = [\"ctrl-g\"]\n").unwrap();
    let config = Config::load(Some(&path)).unwrap();
    let (mut state, _) = fixture::state(20);
    state.keymap = config.keymap().unwrap();
    act(&mut state, Action::FocusLocks);
    act(&mut state, Action::Release);
    let screen = render(&state, 100, 30, true);
    assert!(screen.contains("o do it · C-g cancel"), "{screen}");
    assert!(!screen.contains("Enter/y do it"), "{screen}");
    // The shipped confirm keys do nothing now.
    for code in [KeyCode::Enter, KeyCode::Char('y'), KeyCode::Esc, KeyCode::Char('n')] {
        let effects = app::update(&mut state, Msg::Key(KeyEvent::new(code, KeyModifiers::NONE)));
        assert!(effects.is_empty() && matches!(state.overlay, Overlay::Dialog(_)), "{code:?}");
    }
    let effects = app::update(&mut state, Msg::Key(KeyEvent::new(KeyCode::Char('o'), KeyModifiers::NONE)));
    crate::ran::<ReleaseJob>(&effects);
    // And the new cancel key closes a fresh dialog.
    let failed = app::JobResult::Failed {
        job: "Release".into(),
        error: "x".into(),
        kind: backfill_console::model::FailureKind::Other,
    };
    app::update(&mut state, Msg::Db(DbEvent::JobDone(failed)));
    assert!(render(&state, 80, 24, true).contains("o close"));
    app::update(&mut state, Msg::Key(KeyEvent::new(KeyCode::Char('o'), KeyModifiers::NONE)));
    assert!(matches!(state.overlay, Overlay::None));
    act(&mut state, Action::Claim);
    assert!(render(&state, 80, 24, true).contains("o dry run first · C-g cancel"));
    app::update(&mut state, Msg::Key(KeyEvent::new(KeyCode::Char('g'), KeyModifiers::CONTROL)));
    assert!(matches!(state.overlay, Overlay::None));
}

/// A consumer stall: each processing month's message waits in the queue. The verdict strip
/// (above the status line) and the verdicts' view (v, then Enter) at both sizes.
#[test]
fn the_verdicts_of_a_consumer_stall() {
    use backfill_console::model::snapshot::QueuedFor;
    let (mut state, at) = fixture::state(20);
    let mut snap = fixture::snapshot(1, 230);
    let waiting = |month: i32, msg_id: i64| QueuedFor {
        year: 2024,
        month,
        msg_id: Some(msg_id),
        read_count: Some(0),
        enqueued_at: Some(fixture::t(7200)),
        visible_at: Some(fixture::t(7200)),
    };
    // 2024-11 is worked (its lock held); 2024-09, -10 and -12 wait for a consumer.
    snap.processing = Some(vec![waiting(12, 412), waiting(11, 411), waiting(10, 410), waiting(9, 409)]);
    snap.queue.oldest_ready_at = Some(fixture::t(7200));
    app::update(&mut state, Msg::Db(DbEvent::Snapshot(Box::new(snap), at + Duration::from_secs(1))));
    let a = state.assessment.as_ref().unwrap();
    assert_eq!(a.verdicts[0].kind, backfill_console::model::verdict::Kind::ConsumerStall);
    assert!(a.stuck_months.is_empty(), "never offered for reset");
    for (w, h) in [(80u16, 24u16), (160, 48)] {
        let k = backfill_console::ui::verdicts::strip_height(&state, h);
        let strip = fixture::screen::render_rows(&state, w, h, false, h - 2 - k..h - 2);
        assert!(strip.contains("✖ consumer stall: 230 ready, the oldest waiting 2h00m"), "{strip}");
        insta::assert_snapshot!(format!("verdict_strip_{w}x{h}"), strip);
    }
    act(&mut state, Action::Verdicts);
    insta::assert_snapshot!("verdicts_view_80x24", render(&state, 80, 24, false));
    key(&mut state, crossterm::event::KeyCode::Enter);
    let detail = render(&state, 160, 48, false);
    assert!(detail.contains("no console action helps: consumers are not taking messages"), "{detail}");
    assert!(detail.contains("months: 2024-09..2024-10, 2024-12"), "{detail}");
    insta::assert_snapshot!("verdict_detail_160x48", detail);
}

#[test]
fn a_filter_opened_again_shows_its_text_selected() {
    // The footer row only: typing replaces the selected text (shown reversed).
    let mut state = fixture::state(20).0;
    act(&mut state, Action::Filter);
    for c in "fail".chars() {
        key(&mut state, crossterm::event::KeyCode::Char(c));
    }
    key(&mut state, crossterm::event::KeyCode::Enter);
    act(&mut state, Action::Filter);
    insta::assert_snapshot!(fixture::screen::render_rows(&state, 80, 24, false, 23..24));
}

#[test]
fn a_frozen_screen_says_so_in_the_header() {
    // `p` freezes the screen (not the fleet): the header says FROZEN, highlighted.
    let mut state = fixture::state(20).0;
    act(&mut state, Action::Pause);
    insta::assert_snapshot!(fixture::screen::render_rows(&state, 100, 30, false, 0..1));
}

#[test]
fn a_filter_that_hides_every_row_says_so_and_how_many() {
    // Issue 23, item 2: with locks held, a filter matching none of them said "no advisory
    // lock is held or awaited". Each table now says how many rows the filter hides.
    let mut state = fixture::state(20).0;
    let (locks, months) = {
        let snap = state.snapshot.as_ref().unwrap();
        (snap.locks.len(), snap.months.len())
    };
    assert!(locks > 0, "the fixture holds locks");
    act(&mut state, Action::Filter);
    for c in "zzz-no-such".chars() {
        key(&mut state, crossterm::event::KeyCode::Char(c));
    }
    key(&mut state, crossterm::event::KeyCode::Enter);
    let screen = render(&state, 160, 48, false);
    assert!(!screen.contains("no advisory lock is held"), "{screen}");
    assert!(screen.contains(&format!("0 of {locks} locks shown: the filter \"zzz-no-such\" hides them")), "{screen}");
    assert!(screen.contains(&format!("0 of {months} months shown: the filter \"zzz-no-such\"")), "{screen}");
    insta::assert_snapshot!(screen);
}

#[test]
fn a_cause_hidden_by_the_text_filter_blames_the_filter_not_the_cause() {
    let mut state = fixture::state(20).0;
    let cause = state.causes.first().expect("the fixture has failed months").clone();
    state.cause = Some(cause.signature.clone());
    act(&mut state, Action::Filter);
    for c in "zzz".chars() {
        key(&mut state, crossterm::event::KeyCode::Char(c));
    }
    key(&mut state, crossterm::event::KeyCode::Enter);
    let screen = render(&state, 160, 48, false);
    let n = cause.months.len();
    assert!(!screen.contains("no month has that cause now"), "{screen}");
    assert!(screen.contains(&format!("0 of {n} months with that cause shown: the filter \"zzz\"")), "{screen}");
}

#[test]
fn marked_lock_holders_and_their_release_dialog() {
    // Issue 23, item 3: marked holders carry a dot and are bold; one dialog lists each pid,
    // its months and what ends.
    let mut state = fixture::state(20).0;
    act(&mut state, Action::FocusLocks);
    act(&mut state, Action::MarkAll);
    let panel = fixture::screen::render_rows(&state, 160, 48, false, 18..24);
    assert!(panel.contains("● marked") || panel.contains("marked"), "{panel}");
    insta::assert_snapshot!("marked_lock_holders_160x48", panel);
    act(&mut state, Action::Release);
    let dialog = render(&state, 80, 24, false);
    assert!(dialog.contains("TERMINATE") && dialog.contains("one audit row"), "{dialog}");
    insta::assert_snapshot!("bulk_release_dialog_80x24", dialog);
}

#[test]
fn an_opened_leaked_lock_verdict_marks_its_holders_with_enter() {
    let mut state = fixture::state(20).0;
    let index = state
        .assessment
        .as_ref()
        .unwrap()
        .verdicts
        .iter()
        .position(|v| v.remedy.action == Some(backfill_console::model::verdict::Cure::Release))
        .expect("the fixture has a verdict cured by a release");
    act(&mut state, Action::Verdicts);
    for _ in 0..index {
        key(&mut state, crossterm::event::KeyCode::Down);
    }
    key(&mut state, crossterm::event::KeyCode::Enter);
    let detail = render(&state, 160, 48, false);
    assert!(detail.contains("Enter marks its"), "{detail}");
    key(&mut state, crossterm::event::KeyCode::Enter);
    assert!(!state.marked_locks.is_empty(), "its holders are marked");
    assert_eq!(state.focus, backfill_console::app::Panel::Locks);
    let screen = render(&state, 160, 48, false);
    assert!(screen.contains("lock holder(s): r releases them"), "{screen}");
}
