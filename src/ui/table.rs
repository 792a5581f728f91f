//! The one table widget behind every live table: a title, a header, rows of
//! cells, a selection that stays visible, and an empty-state line.

use ratatui::Frame;
use ratatui::layout::{Constraint, Rect};
use ratatui::style::{Modifier, Style};
use ratatui::text::Line;
use ratatui::widgets::{Block, Cell, Paragraph, Row, Table, TableState};

use super::theme::Theme;
use crate::app::State;
use crate::text::clip;

/// One row as cells, and an optional style for the whole row.
pub struct TableRow<'a> {
    pub cells: Vec<Cell<'a>>,
    pub style: Style,
}

pub struct DataTable<'a> {
    pub title: Line<'a>,
    pub header: Vec<&'a str>,
    pub widths: Vec<Constraint>,
    pub rows: Vec<TableRow<'a>>,
    pub selected: Option<usize>,
    pub focused: bool,
    pub empty: &'a str,
}

impl DataTable<'_> {
    pub fn render(self, frame: &mut Frame, area: Rect, theme: &Theme) {
        let block = Block::bordered().title(self.title).border_style(theme.border(self.focused));
        if self.rows.is_empty() {
            frame.render_widget(Paragraph::new(Line::styled(self.empty, theme.dim())).block(block), area);
            return;
        }
        let header = Row::new(self.header).style(Style::new().add_modifier(Modifier::BOLD | Modifier::UNDERLINED));
        let rows = self.rows.into_iter().map(|r| Row::new(r.cells).style(r.style));
        let highlight = if self.focused { theme.selected() } else { Style::new().add_modifier(Modifier::BOLD) };
        let table = Table::new(rows, self.widths)
            .header(header)
            .block(block)
            .column_spacing(1)
            .row_highlight_style(highlight)
            .highlight_symbol(if self.focused { "▸" } else { " " });
        let mut state = TableState::default().with_selected(self.selected);
        frame.render_stateful_widget(table, area, &mut state);
    }
}

/// The rows a table of `area_height` can show around `selected`: `(first, count)`.
/// Only those rows are built, so a 2,400-row table costs what 20 rows cost.
pub fn window(selected: Option<usize>, len: usize, area_height: u16) -> (usize, usize) {
    let rows = usize::from(area_height.saturating_sub(3)).max(1); // borders and header
    let first = match selected {
        Some(s) if s >= rows => s + 1 - rows,
        _ => 0,
    };
    (first.min(len), rows.min(len.saturating_sub(first)))
}

/// A table title: name, rows shown of all, the sort, and the filter when one is set.
pub fn title<'a>(name: &str, shown: usize, total: usize, state: &State, sort: &str) -> Line<'a> {
    let mut text = format!(" {name} {shown}/{total} · sort {sort} ");
    if !state.filter.is_empty() {
        text.push_str(&format!("· filter \"{}\" ", clip(&state.filter, 20)));
    }
    Line::from(text)
}

pub fn placeholder(frame: &mut Frame, area: Rect, name: &str, focused: bool, theme: &Theme) {
    let block = Block::bordered().title(format!(" {name} ")).border_style(theme.border(focused));
    frame.render_widget(Paragraph::new(Line::styled("waiting for data…", theme.dim())).block(block), area);
}
