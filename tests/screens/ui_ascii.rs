//! The chrome around the screens, snapshotted with insta: the footer's hints, the ASCII
//! console and how its charset is chosen.
#![allow(clippy::unwrap_used, clippy::expect_used)] // tests may panic
use crate::fixture;

use super::ui::act;
use backfill_console::app::{Action, State};
use backfill_console::config::Config;
use backfill_console::ui::{self, Theme};
use ratatui::Terminal;
use ratatui::backend::TestBackend;

#[test]
fn the_footer_puts_help_and_the_focused_panels_keys_first_and_never_cuts_a_hint() {
    // Issue 23, item 4: at 80 columns the footer ended at "p pause/resume"; the lock
    // panel's keys never showed.
    let mut state = fixture::state(20).0;
    for (focus, must) in [
        (Action::FocusLocks, ["r release lock", "Space mark holder"]),
        (Action::FocusMonths, ["Space mark month", "c claim"]),
        (Action::FocusQueue, ["D dead letters", "c claim"]),
    ] {
        act(&mut state, focus);
        let all: Vec<String> = ui::footer::footer_actions(&state)
            .into_iter()
            .filter_map(|(a, label)| state.keymap.first_key(a).map(|k| format!("{k} {label}")))
            .collect();
        for width in [80u16, 100, 160, 220] {
            let row = fixture::screen::render_rows(&state, width, 24, false, 23..24);
            let footer = row.lines().find(|l| l.contains("? help")).unwrap_or_else(|| panic!("help at {width}: {row}"));
            assert!(footer.starts_with(" ? help"), "help first: {footer}");
            // Every hint shown is a whole one: split on the two-space gaps.
            for hint in footer.split("  ").map(str::trim).filter(|h| !h.is_empty()) {
                assert!(all.iter().any(|h| h == hint), "{hint:?} is not a whole hint at {width}: {footer}");
            }
            for m in must {
                assert!(footer.contains(m), "{m:?} at {width} with {focus:?}: {footer}");
            }
        }
    }
}

#[test]
fn ascii_screens_at_80x24_keep_their_meaning() {
    // Issue 23, item 7: on a POSIX locale, the Linux console or a legacy charset the UTF-8
    // borders, symbols, sparklines and big digits are garbage; --ascii draws every screen
    // in ASCII, statuses still told apart without colour.
    let theme = Theme::new(&Config::builtin().unwrap().colours, true).with_ascii(true);
    let draw = |state: &State| {
        let mut terminal = Terminal::new(TestBackend::new(80, 24)).unwrap();
        terminal.draw(|f| ui::draw(f, state, &theme)).unwrap();
        let buffer = terminal.backend().buffer().clone();
        (0..24)
            .map(|y| (0..80).map(|x| buffer[(x, y)].symbol().to_string()).collect::<String>())
            .collect::<Vec<_>>()
            .join("\n")
    };
    let (mut state, _) = fixture::state(150);
    let main = draw(&state);
    assert!(main.is_ascii(), "{main}");
    // The calendar's statuses and the lock panel's border, in ASCII.
    assert!(main.contains("+ Months 300/300") && main.contains("|2024 r"), "{main}");
    insta::assert_snapshot!("ascii_main_80x24", main);
    state.watch = true;
    let wall = draw(&state);
    assert!(wall.is_ascii(), "{wall}");
    assert!(wall.contains("###"), "the big digits in ASCII blocks: {wall}");
    insta::assert_snapshot!("ascii_wall_80x24", wall);
    state.watch = false;
    act(&mut state, Action::FocusLocks);
    act(&mut state, Action::MarkAll);
    act(&mut state, Action::Release);
    let dialog = draw(&state);
    assert!(dialog.is_ascii() && dialog.contains("TERMINATE"), "{dialog}");
    insta::assert_snapshot!("ascii_release_dialog_80x24", dialog);
}

#[test]
fn the_charset_follows_the_flag_then_the_file_then_the_locale() {
    use backfill_console::config::Charset;
    let env = |pairs: &'static [(&'static str, &'static str)]| {
        move |k: &str| pairs.iter().find(|(n, _)| *n == k).map(|(_, v)| v.to_string())
    };
    let utf8 = env(&[("LANG", "en_US.UTF-8")]);
    assert!(!Charset::Auto.ascii(false, &utf8));
    assert!(Charset::Auto.ascii(true, &utf8), "--ascii beats the locale");
    assert!(Charset::Ascii.ascii(false, &utf8), "the file beats the locale");
    assert!(!Charset::Utf8.ascii(false, &env(&[("LANG", "C")])));
    assert!(Charset::Auto.ascii(false, &env(&[("LANG", "C")])), "POSIX locale: ASCII");
    assert!(Charset::Auto.ascii(false, &env(&[])), "no locale at all: ASCII");
    assert!(Charset::Auto.ascii(false, &env(&[("LANG", "de_DE.ISO-8859-1")])));
    // LC_ALL, then LC_CTYPE, then LANG, as the C library reads them.
    assert!(Charset::Auto.ascii(false, &env(&[("LC_ALL", "C"), ("LANG", "en_US.UTF-8")])));
    assert!(!Charset::Auto.ascii(false, &env(&[("LC_CTYPE", "C.utf8"), ("LANG", "C")])));
}
