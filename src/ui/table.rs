//! The one table widget behind every live table: a title, a header, rows of
//! cells, a selection that stays visible, and an empty-state line.

use ratatui::Frame;
use ratatui::layout::{Constraint, Rect};
use ratatui::style::{Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Cell, Paragraph, Row, Table, TableState};

use super::theme::Theme;
use crate::app::State;
use crate::text::clip;

/// A column, declared once: its header, its width, who gives way first when space is
/// short, and how a row fills its cell.
pub struct Column<R> {
    pub header: &'static str,
    /// Cells wide when there is room; 0: the fill column (what the others leave, and it is
    /// kept whole before any column that gives way).
    pub width: u16,
    /// The narrowest it may shrink to before it is dropped (= `width`: it never shrinks).
    pub min: u16,
    /// Who gives way when space is short: the highest number shrinks first, then goes;
    /// 0 never goes (a month, a pid).
    pub give_way: u8,
    /// The cell for a row, given the cells it has (text longer than that is clipped with `…`).
    pub cell: fn(&R, usize) -> Cell<'static>,
}

/// The width of each column in `avail` cells (`None`: dropped), the fill column wanting
/// `fill_need`. While the columns do not fit, the one that gives way first shrinks toward
/// its `min`, then goes; the fill column gets what is left (clipped only when every column
/// that may give way has gone).
pub fn allocate<R>(columns: &[Column<R>], avail: u16, fill_need: u16) -> Vec<Option<u16>> {
    let mut widths: Vec<Option<u16>> = columns.iter().map(|c| Some(c.width)).collect();
    let has_fill = columns.iter().any(|c| c.width == 0);
    loop {
        // One space after each column shown.
        let used: u16 = widths.iter().flatten().map(|w| w + 1).sum::<u16>() + if has_fill { fill_need } else { 0 };
        let Some(over) = used.checked_sub(avail).filter(|o| *o > 0) else { break };
        let giving = columns
            .iter()
            .enumerate()
            .filter(|(i, c)| c.width > 0 && c.give_way > 0 && widths[*i].is_some())
            .max_by_key(|(i, c)| (c.give_way, *i));
        let Some((i, c)) = giving else { break };
        let w = widths[i].unwrap_or(0);
        widths[i] = if w > c.min { Some(w.saturating_sub(over).max(c.min)) } else { None };
    }
    widths
}
pub struct DataTable<'a, R> {
    pub title: Line<'a>,
    pub columns: &'a [Column<R>],
    /// How wide the fill column's longest text is (it is kept whole when it can be).
    pub fill_need: u16,
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
        // Borders (2) and the selection mark (1).
        let avail = area.width.saturating_sub(3);
        let columns: Vec<(&Column<R>, u16)> = self
            .columns
            .iter()
            .zip(allocate(self.columns, avail, self.fill_need))
            .filter_map(|(c, w)| w.map(|w| (c, w)))
            .collect();
        let fixed: u16 = columns.iter().map(|(_, w)| w + 1).sum();
        let fill = usize::from(avail.saturating_sub(fixed)).max(1);
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
    scroll(selected.unwrap_or(0), len, usize::from(area_height.saturating_sub(3))) // borders and header
}

/// Of `len` rows, the ones that fit in `rows` lines, scrolled so `selected` shows:
/// `(first, count)`. Every table and list scrolls by it.
pub fn scroll(selected: usize, len: usize, rows: usize) -> (usize, usize) {
    let rows = rows.max(1);
    let first = selected.saturating_sub(rows - 1).min(len.saturating_sub(rows));
    (first, rows.min(len - first.min(len)))
}

/// A list's lines: of `len` rows, those that fit in `height` lines scrolled so `selected`
/// shows ([`scroll`]), each built by `row` (its text and style) only when shown, clipped
/// to `width`, the selected one highlighted. The popup lists (dead letters, contexts,
/// the fleet) draw their rows by it.
pub fn list_lines(
    len: usize,
    selected: usize,
    height: usize,
    width: usize,
    theme: &Theme,
    row: impl Fn(usize) -> (String, Style),
) -> Vec<Line<'static>> {
    let (first, count) = scroll(selected, len, height);
    (first..first + count)
        .map(|i| {
            let (text, style) = row(i);
            Line::styled(clip(&text, width), if i == selected { theme.selected() } else { style })
        })
        .collect()
}

/// A table title: name, rows shown of all, the sort, and the filter when one is set.
pub fn title<'a>(name: &str, shown: usize, total: usize, state: &State, sort: &str) -> Line<'a> {
    let mut text = format!(" {name} {shown}/{total} · sort {sort} ");
    if !state.filter.is_empty() {
        text.push_str(&format!("· filter \"{}\" ", clip(&state.filter, 20)));
    }
    Line::from(text)
}

/// A title with how many rows are marked for an action on many, in bold.
pub fn with_marks(base: Line<'_>, marked: usize) -> Line<'_> {
    let mut spans = base.spans;
    if marked > 0 {
        spans.push(Span::styled(format!("· {marked} marked "), Style::new().add_modifier(Modifier::BOLD)));
    }
    Line::from(spans)
}

/// What an empty table says when the filter, not the data, emptied it: how many rows it
/// hides, and how to get them back.
pub fn hidden_by_filter(total: usize, noun: &str, filter: &str) -> String {
    format!("0 of {total} {noun} shown: the filter \"{}\" hides them (/ then Esc clears it)", clip(filter, 20))
}

pub fn placeholder(frame: &mut Frame, area: Rect, name: &str, focused: bool, theme: &Theme) {
    let block = Block::bordered().title(format!(" {name} ")).border_style(theme.border(focused));
    frame.render_widget(Paragraph::new(Line::styled("waiting for data…", theme.dim())).block(block), area);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_scrolled_window_always_shows_the_selected_row_and_never_runs_past_the_end() {
        assert_eq!(scroll(0, 0, 5), (0, 0), "nothing to show");
        assert_eq!(scroll(0, 3, 5), (0, 3), "fewer rows than lines");
        assert_eq!(scroll(4, 10, 5), (0, 5), "the selected row is the last line");
        assert_eq!(scroll(5, 10, 5), (1, 5), "one past: scrolled by one");
        assert_eq!(scroll(9, 10, 5), (5, 5), "the end: the last rows fill the window");
        assert_eq!(scroll(3, 10, 0), (3, 1), "no room: the selected row alone");
        for len in 0..12 {
            for selected in 0..len {
                for rows in 1..8 {
                    let (first, count) = scroll(selected, len, rows);
                    assert!(first <= selected && selected < first + count, "{selected} in {first}+{count}");
                    assert!(first + count <= len && count == rows.min(len));
                }
            }
        }
        assert_eq!(window(None, 10, 8), (0, 5), "a table: borders and header take 3 lines");
    }

    fn col(header: &'static str, width: u16, min: u16, give_way: u8) -> Column<()> {
        Column { header, width, min, give_way, cell: |_, _| Cell::from("") }
    }

    fn columns() -> Vec<Column<()>> {
        vec![
            col("Month", 8, 8, 0),
            col("Client", 21, 12, 3),
            col("App", 16, 10, 2),
            col("Held", 8, 8, 1),
            col("Why", 0, 0, 0),
        ]
    }

    #[test]
    fn with_room_every_column_keeps_its_width() {
        assert_eq!(allocate(&columns(), 120, 30), [Some(8), Some(21), Some(16), Some(8), Some(0)]);
    }

    #[test]
    fn the_least_important_shrinks_then_goes_before_the_fill_column_is_cut() {
        // 9 + 22 + 17 + 9 + 1 = 58 with the spaces; the reason needs 30: 88 wanted.
        assert_eq!(allocate(&columns(), 80, 30), [Some(8), Some(13), Some(16), Some(8), Some(0)]);
        assert_eq!(allocate(&columns(), 70, 30), [Some(8), None, Some(16), Some(8), Some(0)]);
        assert_eq!(allocate(&columns(), 60, 30), [Some(8), None, Some(10), Some(8), Some(0)]);
        assert_eq!(allocate(&columns(), 40, 30), [Some(8), None, None, None, Some(0)]);
        // Nothing left to give way: the month stays, the reason gets what remains.
        assert_eq!(allocate(&columns(), 20, 30), [Some(8), None, None, None, Some(0)]);
    }
}
