//! The replay's time line: REPLAY, when the frame shown was read, where it is in the
//! recording, playing or not, and the recorded actions around it.

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::style::{Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::Paragraph;

use super::theme::Theme;
use crate::app::replay::ReplayView;
use crate::model::Level;
use crate::text::{clip, sanitize};

pub fn timeline(frame: &mut Frame, area: Rect, view: &ReplayView, theme: &Theme) {
    let width = usize::from(area.width);
    let play = if view.playing { format!("▶ {}×", view.speed) } else { "❚❚".into() };
    let mut spans = vec![
        Span::styled(" REPLAY ", theme.alert(Level::Warning)),
        Span::styled(
            format!(" {} UTC ", view.at.format("%Y-%m-%d %H:%M:%S")),
            Style::new().add_modifier(Modifier::BOLD),
        ),
        Span::raw(format!("· {}/{} · {play} ", view.frame + 1, view.frames)),
    ];
    let used: usize = spans.iter().map(Span::width).sum();
    // The position in the recording, when there is room for it beside the actions.
    if width >= used + 60 {
        let bar = 20;
        let at = if view.frames > 1 { view.frame * (bar - 1) / (view.frames - 1) } else { 0 };
        let track: String = (0..bar)
            .map(|i| {
                if i == at {
                    '●'
                } else if i < at {
                    '━'
                } else {
                    '─'
                }
            })
            .collect();
        spans.push(Span::styled(format!("{track} "), theme.accent()));
    }
    let used: usize = spans.iter().map(Span::width).sum();
    let action = |label: &str, a: &Option<(chrono::DateTime<chrono::Utc>, String)>| {
        a.as_ref().map(|(t, what)| format!("· {label} {} {} ", t.format("%H:%M:%S"), sanitize(what)))
    };
    let actions: String =
        [action("last", &view.last_action), action("next", &view.next_action)].into_iter().flatten().collect();
    spans.push(Span::styled(clip(&actions, width.saturating_sub(used)), theme.dim()));
    frame.render_widget(Paragraph::new(Line::from(spans)), area);
}
