//! Contexts on screen, snapshotted with insta: a production context, the context picker
//! and the fleet view.
#![allow(clippy::unwrap_used, clippy::expect_used)] // tests may panic
use crate::fixture;

use fixture::screen::render;

use super::ui::{act, key};
use backfill_console::app::{self, Action, DbEvent, Msg, State};
use backfill_console::config::Config;
use backfill_console::ops::release::ReleaseJob;
use backfill_console::ui::{self, Theme};
use ratatui::Terminal;
use ratatui::backend::TestBackend;

#[test]
fn a_production_context_is_unmistakable_and_asks_for_its_name_typed() {
    use backfill_console::app::Effect;
    use crossterm::event::{KeyEvent, KeyModifiers};
    // Issue 24, part 1: the context's name in the header, a PROD badge (also without
    // colour), every frame red, and a destructive action confirmed only by the name typed.
    let mut state = fixture::state(20).0;
    state.context = Some(app::ContextInfo { name: "prod-eu".into(), production: true, ..Default::default() });
    let theme = Theme::new(&Config::builtin().unwrap().colours, false).with_production(true);
    let draw = |state: &State, mono: bool| {
        let theme = Theme::new(&Config::builtin().unwrap().colours, mono).with_production(true);
        let mut terminal = Terminal::new(TestBackend::new(80, 24)).unwrap();
        terminal.draw(|f| ui::draw(f, state, &theme)).unwrap();
        terminal.backend().buffer().clone()
    };
    let header: String = (0..80).map(|x| draw(&state, true)[(x, 0)].symbol().to_string()).collect();
    assert!(header.contains("prod-eu") && header.contains("!! PROD prod-eu !!"), "{header}");
    let buffer = draw(&state, false);
    assert_eq!(buffer[(0, 1)].fg, ratatui::style::Color::LightRed, "the frames in the critical colour");
    drop(theme);

    act(&mut state, Action::FocusLocks);
    act(&mut state, Action::Release);
    // y and Enter do not confirm: y is a letter of the name being typed.
    for code in [crossterm::event::KeyCode::Char('y'), crossterm::event::KeyCode::Enter] {
        let effects = app::update(&mut state, Msg::Key(KeyEvent::new(code, KeyModifiers::NONE)));
        assert!(!effects.iter().any(|e| matches!(e, Effect::Run(_))), "{code:?}: {effects:?}");
    }
    assert!(state.notice.as_ref().unwrap().text.contains("type `prod-eu` exactly"));
    key(&mut state, crossterm::event::KeyCode::Backspace);
    for c in "prod-eu".chars() {
        key(&mut state, crossterm::event::KeyCode::Char(c));
    }
    let screen = render(&state, 80, 24, false);
    assert!(screen.contains("PRODUCTION: type `prod-eu` then Enter to do it: prod-eu_"), "{screen}");
    insta::assert_snapshot!("production_release_80x24", screen);
    let effects =
        app::update(&mut state, Msg::Key(KeyEvent::new(crossterm::event::KeyCode::Enter, KeyModifiers::NONE)));
    crate::ran::<ReleaseJob>(&effects);
}

#[test]
fn the_context_picker_filters_as_you_type() {
    let mut state = fixture::state(20).0;
    let ctx = |name: &str, production: bool| app::ContextInfo {
        name: name.into(),
        production,
        read_only: !production,
        target: format!("ops@{name}-db:5432/books"),
    };
    state.contexts = vec![ctx("eu-prod", true), ctx("staging", false), ctx("us-prod", true)];
    state.context = Some(ctx("staging", false));
    act(&mut state, Action::Contexts);
    let all = render(&state, 80, 24, false);
    assert!(all.contains("Switch context · 3 of 3") && all.contains("current"), "{all}");
    for c in "prod".chars() {
        key(&mut state, crossterm::event::KeyCode::Char(c));
    }
    key(&mut state, crossterm::event::KeyCode::Down);
    let narrowed = render(&state, 80, 24, false);
    assert!(narrowed.contains("Switch context · 2 of 3"), "{narrowed}");
    insta::assert_snapshot!("context_picker_80x24", narrowed);
    key(&mut state, crossterm::event::KeyCode::Enter);
    assert_eq!((state.switch_to.as_deref(), state.quit), (Some("us-prod"), true));
}

#[test]
fn the_fleet_view_shows_every_context_and_hides_the_healthy_on_h() {
    use backfill_console::model::fleet::FleetRow;
    let mut state = fixture::state(20).0;
    let ctx = |name: &str| app::ContextInfo { name: name.into(), ..Default::default() };
    state.contexts = vec![ctx("eu"), ctx("staging"), ctx("us")];
    state.context = Some(ctx("staging"));
    act(&mut state, Action::Fleet);
    assert!(render(&state, 80, 24, false).contains("reading every context"));
    let (snap, a) = (state.snapshot.clone().unwrap(), state.assessment.clone().unwrap());
    let mut calm = FleetRow::read("eu", &snap, &a, 12);
    calm.level = backfill_console::model::Level::Ok;
    let rows =
        vec![calm, FleetRow::read("staging", &snap, &a, 9), FleetRow::unread("us", "no answer within 5s".into(), 5000)];
    app::update(&mut state, Msg::Db(DbEvent::Fleet(rows)));
    let screen = render(&state, 80, 24, false);
    assert!(screen.contains("Fleet · 3 context(s) · worst UNKNOWN"), "{screen}");
    assert!(screen.contains("no answer within 5s") && screen.contains("*staging"), "{screen}");
    insta::assert_snapshot!("fleet_view_80x24", screen);
    key(&mut state, crossterm::event::KeyCode::Char('h'));
    let hidden = render(&state, 80, 24, false);
    assert!(!hidden.contains(" eu ") && hidden.contains("1 healthy hidden"), "{hidden}");
    // Enter on the first row shown (staging, the current one) switches nothing.
    key(&mut state, crossterm::event::KeyCode::Down);
    key(&mut state, crossterm::event::KeyCode::Enter);
    assert_eq!(state.switch_to.as_deref(), Some("us"));
}
