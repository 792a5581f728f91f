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

/// A column, declared once: its header, its width, and how a row fills its cell.
pub struct Column<R> {
    pub header: &'static str,
    /// Cells wide in a normal table; `None`: shown only in a wide one.
    pub narrow: Option<u16>,
    /// Cells wide in a wide table. 0 (in either) fills what the others leave.
    pub wide: u16,
    /// The cell for a row, given the cells it has (text longer than that is clipped with `…`).
    pub cell: fn(&R, usize) -> Cell<'static>,
}

/// The columns a table of this size shows, each with its width (0 = fill).
fn shown<R>(columns: &[Column<R>], wide: bool) -> Vec<(&Column<R>, u16)> {
    columns.iter().filter_map(|c| if wide { Some((c, c.wide)) } else { c.narrow.map(|w| (c, w)) }).collect()
}

pub struct DataTable<'a, R> {
    pub title: Line<'a>,
    pub columns: &'a [Column<R>],
    /// The wide layout (the caller decides from the area it has).
    pub wide: bool,
    /// Rows, each with a style for the whole row.
    pub rows: Vec<(R, Style)>,
    pub selected: Option<usize>,
    pub focused: bool,
    pub empty: &'a str,
}

impl<R> DataTable<'_, R> {
    pub fn render(self, frame: &mut Frame, area: Rect, theme: &Theme) {
        let block = Block::bordered().title(self.title).border_style(theme.border(self.focused));
        if self.rows.is_empty() {
            frame.render_widget(Paragraph::new(Line::styled(self.empty, theme.dim())).block(block), area);
            return;
        }
        let columns = shown(self.columns, self.wide);
        // Borders (2), the selection mark (1), one space between columns.
        let fixed: u16 = columns.iter().map(|(_, w)| w + 1).sum();
        let fill = usize::from(area.width.saturating_sub(3 + fixed)).max(1);
        let widths: Vec<Constraint> =
            columns.iter().map(|(_, w)| if *w == 0 { Constraint::Fill(1) } else { Constraint::Length(*w) }).collect();
        let header = Row::new(columns.iter().map(|(c, _)| c.header))
            .style(Style::new().add_modifier(Modifier::BOLD | Modifier::UNDERLINED));
        let rows = self.rows.into_iter().map(|(row, style)| {
            let cells = columns.iter().map(|(c, w)| (c.cell)(&row, if *w == 0 { fill } else { usize::from(*w) }));
            Row::new(cells.collect::<Vec<_>>()).style(style)
        });
        let highlight = if self.focused { theme.selected() } else { Style::new().add_modifier(Modifier::BOLD) };
        let table = Table::new(rows, widths)
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
