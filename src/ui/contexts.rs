//! The context picker (`:`): the config's contexts, filtered as the operator types.

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::text::Line;
use ratatui::widgets::Paragraph;

use super::overlay::popup;
use super::table::list_lines;
use super::theme::Theme;
use crate::app::State;
use crate::app::contexts::shown;
use crate::text::sanitize;

pub fn view(frame: &mut Frame, area: Rect, filter: &str, selected: usize, state: &State, theme: &Theme) {
    let width = area.width.saturating_sub(4).min(100);
    let text_width = usize::from(width.saturating_sub(2));
    let contexts = shown(state, filter);
    let height = u16::try_from(contexts.len()).unwrap_or(u16::MAX).saturating_add(4).min(area.height);
    let mut lines = vec![Line::styled(format!("filter: {}_", sanitize(filter)), theme.dim())];
    let rows = usize::from(height.saturating_sub(3));
    lines.extend(list_lines(contexts.len(), selected, rows, text_width, theme, |i| {
        let c = &contexts[i];
        let here = state.context.as_ref().is_some_and(|now| now.name == c.name);
        let flags = [(c.production, "PROD"), (c.read_only, "read-only"), (here, "current")]
            .iter()
            .filter(|(on, _)| *on)
            .map(|(_, w)| *w)
            .collect::<Vec<_>>()
            .join(", ");
        let text = format!("{:<16} {:<24} {}", sanitize(&c.name), flags, sanitize(&c.target));
        let style =
            if c.production { theme.level(crate::model::Level::Critical) } else { ratatui::style::Style::new() };
        (text, style)
    }));
    if contexts.is_empty() {
        lines.push(Line::styled("no context matches the filter", theme.dim()));
    }
    let title = format!("Switch context · {} of {}", contexts.len(), state.contexts.len());
    let inner = popup(frame, area, width, height, title, theme.accent());
    frame.render_widget(Paragraph::new(lines), inner);
}
