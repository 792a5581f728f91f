//! Key hints, generated from the keymap (so they cannot drift from it).

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::style::Style;
use ratatui::text::{Line, Span};
use ratatui::widgets::Paragraph;

use super::hints;
use super::theme::Theme;
use crate::app::{Action, Overlay, Panel, State};
use crate::model::Level;

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
        Overlay::Dialog(dialog) => match state.typed_confirmation(dialog) {
            Some(name) => Line::styled(format!(" {}", hints::typed(name, &state.typed)), theme.alert(Level::Critical)),
            None => Line::styled(format!(" {}", hints::dialog(&state.keymap, dialog)), theme.dim()),
        },
        Overlay::Help { .. } | Overlay::Detail(_) => {
            Line::styled(format!(" {}", hints::overlay(&state.keymap)), theme.dim())
        }
        Overlay::Errors { .. } => Line::styled(format!(" {}", hints::errors(&state.keymap)), theme.dim()),
        Overlay::Fleet { problems, .. } => Line::styled(
            format!(
                " ↑/↓ choose · Enter switch to it · h {} the healthy · r read again · Esc close",
                if *problems { "show" } else { "hide" }
            ),
            theme.dim(),
        ),
        Overlay::Contexts { .. } => Line::styled(
            " type to filter · ↑/↓ choose · Enter switch (this console ends, a new one starts there) · Esc stay",
            theme.dim(),
        ),
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
    for (action, label) in footer_actions(state) {
        if !state.may(action) {
            continue;
        }
        let Some(keys) = state.keymap.first_key(action) else {
            continue;
        };
        let item_width = keys.chars().count() + label.chars().count() + 3;
        // A hint that does not fit is left out whole; a shorter one after it may still fit.
        if used + item_width > width {
            continue;
        }
        used += item_width;
        spans.push(Span::styled(format!(" {keys}"), theme.accent()));
        spans.push(Span::raw(format!(" {label} ")));
    }
    Line::from(spans)
}

/// The footer's keys, most useful first: help always; clearing marks while there are
/// some; the focused panel's own actions (on the selected row); then the views and the
/// rest. The footer shows as many as fit, each whole; the help overlay lists every key.
pub fn footer_actions(state: &State) -> Vec<(Action, &'static str)> {
    use Action::*;
    let panel: &[Action] = match state.focus {
        Panel::Locks => &[Release, CancelQuery, Mark, MarkAll, Detail, Sort],
        Panel::Months | Panel::Calendar => &[Mark, Retry, Claim, ResetStuck, Errors, Detail],
        Panel::Queue => &[DeadLetters, Claim, Detail],
    };
    let marks = !state.marked.is_empty() || !state.marked_locks.is_empty();
    let mut order = vec![Help];
    if marks {
        order.push(ClearMarks);
    }
    order.extend_from_slice(panel);
    order.extend_from_slice(&[Verdicts, Filter, FocusNext, Pause, Quit, ResetStuck, Errors, DeadLetters, Audit]);
    let mut seen = std::collections::BTreeSet::new();
    // Marks only serve actions that change the database: not offered where none may run.
    let read_only = state.acts_read_only();
    order.retain(|a| {
        seen.insert(*a)
            && !(read_only && matches!(a, Mark | MarkAll | ClearMarks))
            && !(state.watch && matches!(a, Detail | FocusNext | Sort))
    });
    order.into_iter().map(|a| (a, label(state, a))).collect()
}

/// An action's label in the footer, as the focus and the marks make it.
fn label(state: &State, action: Action) -> &'static str {
    match action {
        Action::Pause if state.paused => "resume",
        Action::Mark if state.focus == Panel::Locks => "mark holder",
        Action::Release if !state.marked_locks.is_empty() => "release marked",
        Action::Retry if !state.marked.is_empty() => "retry marked",
        _ => action.label(),
    }
}
