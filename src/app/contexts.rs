//! The context picker (`:`): type to filter the config's contexts, ↑/↓ to choose, Enter
//! to switch — the console ends and starts again on that context, nothing carried over
//! (marks, filters, dialogs) — Esc to stay.

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
            if state.context.as_ref().is_some_and(|c| c.name == name) {
                state.overlay = Overlay::None;
                return refuse(state, format!("already on context `{name}`"));
            }
            state.switch_to = Some(name);
            state.quit = true;
            return Vec::new();
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
