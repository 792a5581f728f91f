//! The fleet view (`F`): every context at once, a row each — level, done, rate, stuck
//! locks, backlog, dead letters, verdicts — or UNKNOWN and why.

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::text::Line;
use ratatui::widgets::Paragraph;

use super::overlay::popup;
use super::table::list_lines;
use super::theme::Theme;
use crate::app::State;
use crate::app::contexts::fleet_rows;
use crate::model::Level;
use crate::present;

pub fn view(frame: &mut Frame, area: Rect, selected: usize, problems: bool, state: &State, theme: &Theme) {
    let width = area.width.saturating_sub(4).min(140);
    let text_width = usize::from(width.saturating_sub(2));
    let height = area.height.saturating_sub(2);
    let mut lines = Vec::new();
    let title = match &state.fleet {
        None => {
            lines.push(Line::styled("reading every context…", theme.dim()));
            "Fleet · reading".to_string()
        }
        Some(all) => {
            let rows = fleet_rows(state, problems);
            lines.push(Line::styled(present::fleet::header(16), theme.dim()));
            let shown = usize::from(height.saturating_sub(3));
            lines.extend(list_lines(rows.len(), selected, shown, text_width, theme, |i| {
                let r = &rows[i];
                let here = state.context.as_ref().is_some_and(|c| c.name == r.context);
                let text = present::fleet::line(r, &format!("{}{}", if here { "*" } else { " " }, r.context), 16);
                let style = if r.level == Level::Ok { ratatui::style::Style::new() } else { theme.level(r.level) };
                (text, style)
            }));
            if rows.is_empty() {
                lines.push(Line::styled(
                    "no context to show (h shows the healthy ones; the / filter applies)",
                    theme.dim(),
                ));
            }
            let hidden = if problems {
                format!(" · {} healthy hidden", all.iter().filter(|r| r.healthy()).count())
            } else {
                String::new()
            };
            format!("Fleet · {} context(s) · worst {}{hidden}", all.len(), crate::model::fleet::worst(all).word())
        }
    };
    let inner = popup(frame, area, width, height, title, theme.accent());
    frame.render_widget(Paragraph::new(lines), inner);
}
