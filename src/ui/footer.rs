//! Key hints, generated from the keymap (so they cannot drift from it).

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::style::Style;
use ratatui::text::{Line, Span};
use ratatui::widgets::Paragraph;

use super::hints;
use super::theme::Theme;
use crate::app::{Action, Overlay, State};

pub fn footer(frame: &mut Frame, area: Rect, state: &State, theme: &Theme) {
    let line = match &state.overlay {
        Overlay::Filter => Line::from(vec![
            Span::styled(" filter: ", theme.accent()),
            Span::styled(
                crate::text::sanitize(&state.filter),
                if state.filter_selected { theme.selected() } else { Style::new() },
            ),
            Span::raw("█"),
            Span::styled(format!("   {}", hints::filter(&state.keymap)), theme.dim()),
        ]),
        Overlay::Dialog(dialog) => Line::styled(format!(" {}", hints::dialog(&state.keymap, dialog)), theme.dim()),
        Overlay::Help { .. } | Overlay::Detail(_) => {
            Line::styled(format!(" {}", hints::overlay(&state.keymap)), theme.dim())
        }
        Overlay::Errors { .. } => Line::styled(format!(" {}", hints::errors(&state.keymap)), theme.dim()),
        Overlay::Verdicts { open, .. } => {
            Line::styled(format!(" {}", hints::verdicts(&state.keymap, *open)), theme.dim())
        }
        Overlay::Audit { .. } => Line::styled(format!(" {}", hints::audit(&state.keymap)), theme.dim()),
        Overlay::Dead { open, .. } => Line::styled(format!(" {}", hints::dead(&state.keymap, *open)), theme.dim()),
        Overlay::None => hints(state, theme, area.width as usize),
    };
    frame.render_widget(Paragraph::new(line), area);
}

fn hints<'a>(state: &State, theme: &Theme, width: usize) -> Line<'a> {
    let mut spans = Vec::new();
    let mut used = 1;
    // Replaying: the replay's keys come first.
    if state.replay.is_some() {
        for (action, keys) in state.keymap.replay.bindings() {
            let label = action.label();
            let item_width = keys.chars().count() + label.chars().count() + 3;
            if used + item_width > width {
                return Line::from(spans);
            }
            used += item_width;
            spans.push(Span::styled(format!(" {keys}"), theme.accent()));
            spans.push(Span::raw(format!(" {label} ")));
        }
    }
    for (action, _) in state.keymap.normal.bindings() {
        if !action.in_footer() || !state.may(action) {
            continue;
        }
        let Some(keys) = state.keymap.first_key(action) else {
            continue;
        };
        let label = if action == Action::Pause && state.paused { "resume" } else { action.label() };
        let item_width = keys.chars().count() + label.chars().count() + 3;
        if used + item_width > width {
            break;
        }
        used += item_width;
        spans.push(Span::styled(format!(" {keys}"), theme.accent()));
        spans.push(Span::raw(format!(" {label} ")));
    }
    Line::from(spans)
}
