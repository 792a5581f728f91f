//! Key bindings: key names ("q", "ctrl-c", "tab", "pgdn", "?") to [`Action`]s.
//! The defaults live in `assets/default-config.toml`; a config file's `[keys]`
//! table replaces the keys of the actions it names. Hints and help are
//! generated from the keymap, so they cannot drift from it.

use std::collections::{BTreeMap, HashMap};

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};

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

    pub fn parse(text: &str) -> Result<Self, String> {
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
                KeyCode::F(f[1..].parse().map_err(|_| format!("unknown key `{text}`"))?)
            }
            c if c.chars().count() == 1 => KeyCode::Char(c.chars().next().unwrap_or(' ')),
            _ => return Err(format!("unknown key `{text}` (e.g. q, G, ctrl-c, tab, pgdn, f5)")),
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

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Keymap {
    by_key: HashMap<KeyCombo, Action>,
    by_action: BTreeMap<Action, Vec<KeyCombo>>,
}

impl Keymap {
    /// Builds a keymap from `action = ["key", ...]` entries; a key bound twice is an error.
    pub fn from_table(table: &BTreeMap<Action, Vec<String>>) -> Result<Self, String> {
        let mut by_key = HashMap::new();
        let mut by_action: BTreeMap<Action, Vec<KeyCombo>> = BTreeMap::new();
        for (action, keys) in table {
            for text in keys {
                let combo = KeyCombo::parse(text)?;
                if let Some(other) = by_key.insert(combo, *action)
                    && other != *action
                {
                    return Err(format!(
                        "key `{text}` is bound to both `{}` and `{}`",
                        serde_label(other),
                        serde_label(*action)
                    ));
                }
                by_action.entry(*action).or_default().push(combo);
            }
        }
        Ok(Self { by_key, by_action })
    }

    pub fn action_for(&self, event: &KeyEvent) -> Option<Action> {
        self.by_key.get(&KeyCombo::from_event(event)).copied()
    }

    /// The keys of an action, as shown to the operator ("j/↓").
    pub fn keys_of(&self, action: Action) -> Option<String> {
        let keys = self.by_action.get(&action)?;
        Some(keys.iter().map(KeyCombo::name).collect::<Vec<_>>().join("/"))
    }

    /// The first key of an action (for the footer).
    pub fn first_key(&self, action: Action) -> Option<String> {
        self.by_action.get(&action).and_then(|keys| keys.first()).map(KeyCombo::name)
    }

    /// Every bound action with its keys, in a stable order.
    pub fn bindings(&self) -> impl Iterator<Item = (Action, String)> + '_ {
        self.by_action.iter().map(|(a, keys)| (*a, keys.iter().map(KeyCombo::name).collect::<Vec<_>>().join("/")))
    }
}

fn serde_label(action: Action) -> String {
    serde_json::to_value(action).ok().and_then(|v| v.as_str().map(str::to_string)).unwrap_or_default()
}

/// The built-in bindings (the same as `assets/default-config.toml`'s `[keys]`).
pub fn default_table() -> BTreeMap<Action, Vec<String>> {
    let pairs: &[(Action, &[&str])] = &[
        (Action::Quit, &["q", "ctrl-c"]),
        (Action::FocusNext, &["tab"]),
        (Action::FocusPrev, &["backtab"]),
        (Action::FocusMonths, &["1"]),
        (Action::FocusCalendar, &["2"]),
        (Action::FocusLocks, &["3"]),
        (Action::FocusQueue, &["4"]),
        (Action::Up, &["k", "up"]),
        (Action::Down, &["j", "down"]),
        (Action::Left, &["h", "left"]),
        (Action::Right, &["l", "right"]),
        (Action::PageUp, &["pgup"]),
        (Action::PageDown, &["pgdn"]),
        (Action::Home, &["home", "g"]),
        (Action::End, &["end", "G"]),
        (Action::Filter, &["/"]),
        (Action::Sort, &["s"]),
        (Action::Detail, &["enter"]),
        (Action::Help, &["?", "f1"]),
        (Action::Pause, &["p"]),
        (Action::Faster, &["+"]),
        (Action::Slower, &["-"]),
        (Action::CopyRow, &["y"]),
        (Action::CopySql, &["Y"]),
        (Action::Claim, &["c"]),
        (Action::Release, &["r"]),
        (Action::CancelQuery, &["x"]),
        (Action::ResetStuck, &["R"]),
        (Action::Refresh, &["f5", "ctrl-r"]),
    ];
    pairs.iter().map(|(a, keys)| (*a, keys.iter().map(|k| k.to_string()).collect())).collect()
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
        assert!(KeyCombo::parse("hyper-x").unwrap_err().contains("unknown key"));
    }

    #[test]
    fn maps_events_and_refuses_double_bindings() {
        let mut table = BTreeMap::new();
        table.insert(Action::Quit, vec!["q".to_string(), "ctrl-c".to_string()]);
        table.insert(Action::Down, vec!["j".to_string(), "down".to_string()]);
        let map = Keymap::from_table(&table).unwrap();
        assert_eq!(map.action_for(&key(KeyCode::Char('c'), KeyModifiers::CONTROL)), Some(Action::Quit));
        assert_eq!(map.action_for(&key(KeyCode::Char('c'), KeyModifiers::NONE)), None);
        assert_eq!(map.keys_of(Action::Down).as_deref(), Some("j/↓"));
        table.insert(Action::Up, vec!["j".to_string()]);
        let err = Keymap::from_table(&table).unwrap_err();
        assert!(err.contains("`j`") && err.contains("up") && err.contains("down"), "{err}");
    }
}
