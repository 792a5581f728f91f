//! The errors view: failures grouped by cause, the most frequent first; the row under
//! the cursor shows one full example. Row 0 is "every month" (no cause filter).

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::style::{Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Paragraph, Wrap};

use super::overlay::popup;
use super::table::scroll;
use super::theme::Theme;
use crate::app::State;
use crate::model::causes::Cause;
use crate::text::clip;

pub fn view(frame: &mut Frame, area: Rect, selected: usize, state: &State, theme: &Theme) {
    let width = area.width.saturating_sub(4).min(140);
    let text_width = usize::from(width.saturating_sub(2));
    let height = area.height.saturating_sub(2);
    // Rows: the header, "every month", the causes, a blank line and the example (3 lines).
    let list_rows = usize::from(height.saturating_sub(2 + 1 + 1 + 4)).max(1);
    let (first, _) = scroll(selected, state.causes.len() + 1, list_rows);
    let mut lines = vec![Line::styled(
        format!("{:>5} {:>6} {:>4}  {:<24} {}", "Count", "Failed", "Cap", "Months", "Cause"),
        Style::new().add_modifier(Modifier::BOLD | Modifier::UNDERLINED),
    )];
    let all = (0, format!("{:>5} {:>6} {:>4}  {:<24} {}", "", "", "", "", "every month (no cause filter)"));
    let rows = std::iter::once(all).chain(state.causes.iter().enumerate().map(|(i, c)| (i + 1, row(c, text_width))));
    for (i, text) in rows.skip(first).take(list_rows) {
        let chosen = state
            .cause
            .as_ref()
            .is_some_and(|s| state.causes.get(i.wrapping_sub(1)).is_some_and(|c| &c.signature == s))
            || (i == 0 && state.cause.is_none());
        let mark = if chosen { "•" } else { " " };
        let style = if i == selected { theme.selected() } else { Style::new() };
        lines.push(Line::from(vec![Span::raw(mark), Span::styled(clip(&text, text_width - 1), style)]));
    }
    if state.causes.is_empty() {
        lines.push(Line::styled("  no failed or retry month", theme.dim()));
    }
    lines.push(Line::raw(""));
    if let Some(cause) = selected.checked_sub(1).and_then(|i| state.causes.get(i)) {
        let seen =
            |t: Option<chrono::DateTime<chrono::Utc>>| t.map_or("-".into(), |t| t.format("%m-%d %H:%M").to_string());
        lines.push(Line::styled(
            format!(
                "{} month(s): {} · first seen {} · last seen {}",
                cause.count,
                cause.month_ranges(),
                seen(cause.first_seen),
                seen(cause.last_seen)
            ),
            theme.dim(),
        ));
        lines.push(Line::from(vec![
            Span::styled("e.g. ", theme.dim()),
            Span::raw(clip(&cause.example, text_width * 2)),
        ]));
    }
    let title = format!("Errors by cause · {} cause(s)", state.causes.len());
    let inner = popup(frame, area, width, height, title, theme.accent());
    frame.render_widget(Paragraph::new(lines).wrap(Wrap { trim: false }), inner);
}

fn row(cause: &Cause, width: usize) -> String {
    let failed = cause.statuses.get(&crate::model::Status::Failed).copied().unwrap_or(0);
    let months = clip(&cause.month_ranges(), 24);
    let head = format!("{:>5} {:>6} {:>4}  {months:<24} ", cause.count, failed, cause.at_retry_cap);
    let rest = width.saturating_sub(head.chars().count() + 1);
    format!("{head}{}", clip(&cause.signature, rest.max(1)))
}
