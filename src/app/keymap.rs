//! Key bindings, per mode: key names ("q", "ctrl-c", "tab", "pgdn", "?") to the
//! actions of the main screen ([`Action`]), of a dialog ([`DialogAction`]), of the
//! filter line ([`FilterAction`]) and of the help and detail overlays
//! ([`OverlayAction`]). The defaults live in `assets/default-config.toml` alone;
//! a config file's `[keys]` tables replace the keys of the actions they name.
//! Every hint and the help overlay are generated from here, so they cannot drift.

use std::collections::{BTreeMap, HashMap};

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use serde::{Deserialize, Serialize};

use crate::app::Action;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct KeyCombo {
    pub code: KeyCode,
    pub ctrl: bool,
    pub alt: bool,
}

impl KeyCombo {
    pub fn from_event(event: &KeyEvent) -> Self {
        // Shift is folded into the character itself ('G', '?'), so it is not compared.
        Self {
            code: event.code,
            ctrl: event.modifiers.contains(KeyModifiers::CONTROL),
            alt: event.modifiers.contains(KeyModifiers::ALT),
        }
    }

    pub fn parse(text: &str) -> Result<Self, KeymapError> {
        let mut ctrl = false;
        let mut alt = false;
        let mut rest = text;
        loop {
            if let Some(r) = rest.strip_prefix("ctrl-") {
                ctrl = true;
                rest = r;
            } else if let Some(r) = rest.strip_prefix("alt-") {
                alt = true;
                rest = r;
            } else {
                break;
            }
        }
        let code = match rest {
            "tab" => KeyCode::Tab,
            "backtab" | "shift-tab" => KeyCode::BackTab,
            "enter" => KeyCode::Enter,
            "esc" => KeyCode::Esc,
            "space" => KeyCode::Char(' '),
            "up" => KeyCode::Up,
            "down" => KeyCode::Down,
            "left" => KeyCode::Left,
            "right" => KeyCode::Right,
            "pgup" | "pageup" => KeyCode::PageUp,
            "pgdn" | "pagedown" => KeyCode::PageDown,
            "home" => KeyCode::Home,
            "end" => KeyCode::End,
            "backspace" => KeyCode::Backspace,
            "delete" => KeyCode::Delete,
            f if f.starts_with('f') && f.len() > 1 && f[1..].parse::<u8>().is_ok() => {
                KeyCode::F(f[1..].parse().map_err(|_| KeymapError::UnknownKey(text.to_string()))?)
            }
            c if c.chars().count() == 1 => KeyCode::Char(c.chars().next().unwrap_or(' ')),
            _ => return Err(KeymapError::UnknownKey(text.to_string())),
        };
        Ok(Self { code, ctrl, alt })
    }

    pub fn name(&self) -> String {
        let key = match self.code {
            KeyCode::Tab => "Tab".into(),
            KeyCode::BackTab => "S-Tab".into(),
            KeyCode::Enter => "Enter".into(),
            KeyCode::Esc => "Esc".into(),
            KeyCode::Char(' ') => "Space".into(),
            KeyCode::Up => "↑".into(),
            KeyCode::Down => "↓".into(),
            KeyCode::Left => "←".into(),
            KeyCode::Right => "→".into(),
            KeyCode::PageUp => "PgUp".into(),
            KeyCode::PageDown => "PgDn".into(),
            KeyCode::Home => "Home".into(),
            KeyCode::End => "End".into(),
            KeyCode::Backspace => "Bksp".into(),
            KeyCode::Delete => "Del".into(),
            KeyCode::F(n) => format!("F{n}"),
            KeyCode::Char(c) => c.to_string(),
            _ => "?".into(),
        };
        let mut name = String::new();
        if self.ctrl {
            name.push_str("C-");
        }
        if self.alt {
            name.push_str("M-");
        }
        name.push_str(&key);
        name
    }
}

pub use crate::model::action::{KeyAction, OverlayAction};

crate::model::mode_actions!(
    /// Keys while a dialog is open (claim form, release, reset, a result).
    DialogAction {
        Confirm => "confirm",
        Cancel => "cancel",
        NextField => "next field",
        PrevField => "previous field",
        Increase => "increase",
        Decrease => "decrease",
    }
);

crate::model::mode_actions!(
    /// Keys while typing a filter; any other printable key is typed into it.
    FilterAction {
        Apply => "apply",
        Clear => "clear",
        DeleteChar => "delete a character",
    }
);

crate::model::mode_actions!(
    /// Keys while replaying a recording (checked before the main screen's).
    ReplayAction {
        StepBack => "step back",
        StepForward => "step forward",
        JumpBack => "jump back a minute",
        JumpForward => "jump ahead a minute",
        Play => "play/stop",
        Faster => "play faster",
        Slower => "play slower",
        NextAction => "next action",
        PrevAction => "previous action",
    }
);

/// The `[keys]` tables of a config file: the main screen's actions directly,
/// the other modes in sub-tables.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(default)]
pub struct KeyTables {
    #[serde(flatten)]
    pub normal: BTreeMap<Action, Vec<String>>,
    pub dialog: BTreeMap<DialogAction, Vec<String>>,
    pub filter_input: BTreeMap<FilterAction, Vec<String>>,
    pub overlay: BTreeMap<OverlayAction, Vec<String>>,
    pub replay: BTreeMap<ReplayAction, Vec<String>>,
}

/// One mode's bindings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Bindings<A> {
    by_key: HashMap<KeyCombo, A>,
    by_action: BTreeMap<A, Vec<KeyCombo>>,
}

impl<A: KeyAction> Bindings<A> {
    /// Builds one mode from `action = ["key", ...]` entries; a key bound twice is an error.
    pub fn from_table(mode: &'static str, table: &BTreeMap<A, Vec<String>>) -> Result<Self, KeymapError> {
        let mut by_key = HashMap::new();
        let mut by_action: BTreeMap<A, Vec<KeyCombo>> = BTreeMap::new();
        for (action, keys) in table {
            for text in keys {
                let combo = KeyCombo::parse(text)?;
                if let Some(other) = by_key.insert(combo, *action)
                    && other != *action
                {
                    return Err(KeymapError::BoundTwice {
                        mode,
                        key: text.clone(),
                        first: serde_label(other),
                        second: serde_label(*action),
                    });
                }
                by_action.entry(*action).or_default().push(combo);
            }
        }
        Ok(Self { by_key, by_action })
    }

    pub fn action_for(&self, event: &KeyEvent) -> Option<A> {
        self.by_key.get(&KeyCombo::from_event(event)).copied()
    }

    /// The keys of an action, as shown to the operator ("j/↓"); "(unbound)" when it has none.
    pub fn keys_of(&self, action: A) -> String {
        match self.by_action.get(&action) {
            Some(keys) if !keys.is_empty() => keys.iter().map(KeyCombo::name).collect::<Vec<_>>().join("/"),
            _ => "(unbound)".into(),
        }
    }

    /// The first key of an action (for the footer).
    pub fn first_key(&self, action: A) -> Option<String> {
        self.by_action.get(&action).and_then(|keys| keys.first()).map(KeyCombo::name)
    }

    /// The first key of an action, or "(unbound)".
    pub fn key(&self, action: A) -> String {
        self.first_key(action).unwrap_or_else(|| "(unbound)".into())
    }

    /// `keys label`, for a hint ("Enter/y confirm").
    pub fn hint(&self, action: A, label: &str) -> String {
        format!("{} {label}", self.keys_of(action))
    }

    /// Every bound action with its keys, in a stable order.
    pub fn bindings(&self) -> impl Iterator<Item = (A, String)> + '_ {
        self.by_action
            .iter()
            .filter(|(_, keys)| !keys.is_empty())
            .map(|(a, keys)| (*a, keys.iter().map(KeyCombo::name).collect::<Vec<_>>().join("/")))
    }
}

/// Every mode's bindings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Keymap {
    pub normal: Bindings<Action>,
    pub dialog: Bindings<DialogAction>,
    pub filter: Bindings<FilterAction>,
    pub overlay: Bindings<OverlayAction>,
    pub replay: Bindings<ReplayAction>,
}

/// Why the configured keys cannot be used, each said in one line.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum KeymapError {
    #[error("unknown key `{0}` (e.g. q, G, ctrl-c, tab, pgdn, f5)")]
    UnknownKey(String),
    /// `mode` is the table's prefix as the file names it (`keys.dialog: `, empty for `[keys]`).
    #[error("{mode}key `{key}` is bound to both `{first}` and `{second}`")]
    BoundTwice { mode: &'static str, key: String, first: String, second: String },
    #[error(
        "keys.filter_input: `{key}` for `{action}` is a character the filter needs to type; use a key like enter, esc or ctrl-x"
    )]
    FilterTypes { key: String, action: String },
}

impl Keymap {
    pub fn from_tables(tables: &KeyTables) -> Result<Self, KeymapError> {
        let filter = Bindings::from_table("keys.filter_input: ", &tables.filter_input)?;
        if let Some((action, key)) = filter.by_key.iter().find_map(|(k, a)| typed(k).then_some((a, k))) {
            return Err(KeymapError::FilterTypes { key: key.name(), action: serde_label(*action) });
        }
        Ok(Self {
            normal: Bindings::from_table("", &tables.normal)?,
            dialog: Bindings::from_table("keys.dialog: ", &tables.dialog)?,
            filter,
            overlay: Bindings::from_table("keys.overlay: ", &tables.overlay)?,
            replay: Bindings::from_table("keys.replay: ", &tables.replay)?,
        })
    }

    /// The main screen's action for a key.
    pub fn action_for(&self, event: &KeyEvent) -> Option<Action> {
        self.normal.action_for(event)
    }

    /// The keys of a main-screen action, as shown to the operator ("j/↓").
    pub fn keys_of(&self, action: Action) -> String {
        self.normal.keys_of(action)
    }

    /// The first key of a main-screen action.
    pub fn first_key(&self, action: Action) -> Option<String> {
        self.normal.first_key(action)
    }
}

/// A key the filter line types as text (a printable character without ctrl/alt).
pub fn typed(key: &KeyCombo) -> bool {
    matches!(key.code, KeyCode::Char(c) if !c.is_control()) && !key.ctrl && !key.alt
}

fn serde_label<A: Serialize>(action: A) -> String {
    serde_json::to_value(action).ok().and_then(|v| v.as_str().map(str::to_string)).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crossterm::event::KeyEventKind;

    fn key(code: KeyCode, modifiers: KeyModifiers) -> KeyEvent {
        KeyEvent { code, modifiers, kind: KeyEventKind::Press, state: crossterm::event::KeyEventState::NONE }
    }

    #[test]
    fn parses_and_names_keys() {
        assert_eq!(KeyCombo::parse("ctrl-c").unwrap().name(), "C-c");
        assert_eq!(KeyCombo::parse("pgdn").unwrap().code, KeyCode::PageDown);
        assert_eq!(KeyCombo::parse("G").unwrap().code, KeyCode::Char('G'));
        assert_eq!(KeyCombo::parse("f5").unwrap().code, KeyCode::F(5));
        let err = KeyCombo::parse("hyper-x").unwrap_err();
        assert_eq!(err, KeymapError::UnknownKey("hyper-x".into()));
        assert!(err.to_string().starts_with("unknown key `hyper-x`"), "{err}");
    }

    #[test]
    fn maps_events_and_refuses_double_bindings() {
        let mut table = BTreeMap::new();
        table.insert(Action::Quit, vec!["q".to_string(), "ctrl-c".to_string()]);
        table.insert(Action::Down, vec!["j".to_string(), "down".to_string()]);
        let map = Bindings::from_table("", &table).unwrap();
        assert_eq!(map.action_for(&key(KeyCode::Char('c'), KeyModifiers::CONTROL)), Some(Action::Quit));
        assert_eq!(map.action_for(&key(KeyCode::Char('c'), KeyModifiers::NONE)), None);
        assert_eq!(map.keys_of(Action::Down), "j/↓");
        assert_eq!(map.keys_of(Action::Up), "(unbound)");
        table.insert(Action::Up, vec!["j".to_string()]);
        let err = Bindings::from_table("", &table).unwrap_err();
        assert!(matches!(&err, KeymapError::BoundTwice { key, .. } if key == "j"), "{err:?}");
        let err = err.to_string();
        assert!(err.contains("`j`") && err.contains("up") && err.contains("down"), "{err}");
    }

    #[test]
    fn the_same_key_may_mean_different_things_in_different_modes() {
        let mut tables = KeyTables::default();
        tables.normal.insert(Action::Quit, vec!["q".into()]);
        tables.overlay.insert(OverlayAction::Close, vec!["q".into()]);
        tables.dialog.insert(DialogAction::Cancel, vec!["q".into()]);
        let map = Keymap::from_tables(&tables).unwrap();
        let q = key(KeyCode::Char('q'), KeyModifiers::NONE);
        assert_eq!(map.normal.action_for(&q), Some(Action::Quit));
        assert_eq!(map.overlay.action_for(&q), Some(OverlayAction::Close));
        assert_eq!(map.dialog.action_for(&q), Some(DialogAction::Cancel));
    }

    #[test]
    fn the_filter_line_cannot_lose_a_printable_key() {
        let mut tables = KeyTables::default();
        tables.filter_input.insert(FilterAction::Clear, vec!["x".into()]);
        let err = Keymap::from_tables(&tables).unwrap_err();
        assert!(matches!(err, KeymapError::FilterTypes { .. }), "{err:?}");
        let err = err.to_string();
        assert!(err.contains("keys.filter_input") && err.contains("`x`") && err.contains("clear"), "{err}");
        tables.filter_input.insert(FilterAction::Clear, vec!["ctrl-x".into()]);
        assert!(Keymap::from_tables(&tables).is_ok());
    }
}
