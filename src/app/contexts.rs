//! The context picker (`:`): type to filter the config's contexts, ↑/↓ to choose, Enter
//! to switch — the console ends and starts again on that context, nothing carried over
//! (marks, filters, dialogs) — Esc to stay. And the fleet view (`F`): every context read
//! at once, a row each; the main filter applies, `h` hides the healthy ones, Enter switches.

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};

use super::msg::Effect;
use super::rows::matches;
use super::state::{ContextInfo, Overlay, State};
use super::update::refuse;

/// The contexts the picker shows for `filter`, in the config's order.
pub fn shown<'a>(state: &'a State, filter: &str) -> Vec<&'a ContextInfo> {
    state
        .contexts
        .iter()
        .filter(|c| filter.is_empty() || matches(&format!("{} {}", c.name, c.target), filter))
        .collect()
}

/// Opens the picker, or says why there is nothing to pick.
pub fn open(state: &mut State) -> Vec<Effect> {
    if state.contexts.is_empty() {
        return refuse(state, "the config file names no context to switch to ([contexts.NAME] with a url)".into());
    }
    state.overlay = Overlay::Contexts { filter: String::new(), selected: 0 };
    Vec::new()
}

/// Ends this console for one on context `name` (not the one it is on).
fn switch(state: &mut State, name: String) -> Vec<Effect> {
    if state.context.as_ref().is_some_and(|c| c.name == name) {
        state.overlay = Overlay::None;
        return refuse(state, format!("already on context `{name}`"));
    }
    state.switch_to = Some(name);
    state.quit = true;
    Vec::new()
}

pub fn on_key(state: &mut State, filter: String, selected: usize, key: KeyEvent) -> Vec<Effect> {
    let mut filter = filter;
    let mut selected = selected;
    match key.code {
        KeyCode::Esc => {
            state.overlay = Overlay::None;
            return Vec::new();
        }
        KeyCode::Enter => {
            let Some(name) = shown(state, &filter).get(selected).map(|c| c.name.clone()) else {
                return refuse(state, "no context matches the filter".into());
            };
            return switch(state, name);
        }
        KeyCode::Up => selected = selected.saturating_sub(1),
        KeyCode::Down => selected += 1,
        KeyCode::Backspace => {
            filter.pop();
            selected = 0;
        }
        KeyCode::Char(c) if !key.modifiers.intersects(KeyModifiers::CONTROL | KeyModifiers::ALT) => {
            if filter.chars().count() < 40 {
                filter.push(c);
            }
            selected = 0;
        }
        _ => {}
    }
    let last = shown(state, &filter).len().saturating_sub(1);
    state.overlay = Overlay::Contexts { filter, selected: selected.min(last) };
    Vec::new()
}

/// The fleet rows the view shows: the filter applied, the healthy hidden with `problems`.
pub fn fleet_rows(state: &State, problems: bool) -> Vec<&crate::model::fleet::FleetRow> {
    let Some(rows) = &state.fleet else { return Vec::new() };
    rows.iter()
        .filter(|r| !(problems && r.healthy()))
        .filter(|r| {
            let kinds: Vec<String> = r.verdicts.iter().map(|k| k.name()).collect();
            let text = format!("{} {} {}", r.context, r.level.word(), kinds.join(" "));
            state.filter.is_empty() || matches(&text, &state.filter)
        })
        .collect()
}

/// Opens the fleet view and reads every context (or says why there is nothing to read).
pub fn open_fleet(state: &mut State) -> Vec<Effect> {
    if state.contexts.is_empty() {
        return refuse(
            state,
            "the fleet is the config's contexts, and it names none ([contexts.NAME] with a url)".into(),
        );
    }
    state.fleet = None;
    state.overlay = Overlay::Fleet { selected: 0, problems: false };
    vec![Effect::ReadFleet]
}

pub fn on_fleet_key(state: &mut State, selected: usize, problems: bool, key: KeyEvent) -> Vec<Effect> {
    let (mut selected, mut problems) = (selected, problems);
    match key.code {
        KeyCode::Esc | KeyCode::Char('q') => {
            state.overlay = Overlay::None;
            return Vec::new();
        }
        KeyCode::Enter => {
            let Some(name) = fleet_rows(state, problems).get(selected).map(|r| r.context.clone()) else {
                return Vec::new();
            };
            return switch(state, name);
        }
        KeyCode::Up | KeyCode::Char('k') => selected = selected.saturating_sub(1),
        KeyCode::Down | KeyCode::Char('j') => selected += 1,
        KeyCode::Char('h') => {
            problems = !problems;
            selected = 0;
        }
        KeyCode::Char('r') | KeyCode::F(5) => {
            state.fleet = None;
            state.overlay = Overlay::Fleet { selected: 0, problems };
            return vec![Effect::ReadFleet];
        }
        _ => {}
    }
    let last = fleet_rows(state, problems).len().saturating_sub(1);
    state.overlay = Overlay::Fleet { selected: selected.min(last), problems };
    Vec::new()
}
