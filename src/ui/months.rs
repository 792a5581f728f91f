//! The months table and the year × month calendar grid.

use chrono::{DateTime, Utc};
use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::style::{Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Cell, Paragraph};

use super::table::{Column, DataTable, placeholder, title};
use super::theme::Theme;
use crate::app::{Panel, State, select};
use crate::duration_text::format as dur;
use crate::model::lock_key::YearMonth;
use crate::model::time::since;
use crate::model::{MonthRow, Status};
use crate::text::clip;

/// One month row and what the columns need to draw it.
struct MonthLine<'s> {
    month: &'s MonthRow,
    marked: bool,
    taken_at: DateTime<Utc>,
    status_style: Style,
}

/// The months table's columns, in order.
fn columns<'s>() -> [Column<MonthLine<'s>>; 6] {
    [
        Column {
            header: " Month",
            width: 8,
            min: 8,
            give_way: 0,
            // A marked month carries a dot before it.
            cell: |r, _| {
                Cell::from(format!("{}{:04}-{:02}", if r.marked { "●" } else { " " }, r.month.year, r.month.month))
            },
        },
        Column {
            header: "Status",
            width: 12,
            min: 12,
            give_way: 0,
            cell: |r, w| {
                let status = &r.month.status;
                let text = format!("{} {}", Theme::status_symbol(status), status.as_str());
                Cell::from(Span::styled(clip(&text, w), r.status_style))
            },
        },
        Column {
            header: "R",
            width: 1,
            min: 1,
            give_way: 2,
            cell: |r, _| Cell::from(r.month.retry_count.map_or("-".into(), |n| n.to_string())),
        },
        Column {
            header: "Started",
            width: 11,
            min: 11,
            give_way: 4,
            cell: |r, _| Cell::from(r.month.started_at.map_or("-".into(), |t| t.format("%m-%d %H:%M").to_string())),
        },
        Column {
            header: "Age",
            width: 6,
            min: 6,
            give_way: 3,
            cell: |r, _| {
                let m = r.month;
                let age = m.started_at.filter(|_| m.status == Status::Processing).map(|s| dur(since(s, r.taken_at)));
                Cell::from(age.unwrap_or_default())
            },
        },
        Column {
            header: "Error",
            width: 0,
            min: 0,
            give_way: 0,
            cell: |r, w| Cell::from(clip(r.month.error.as_deref().unwrap_or(""), w)),
        },
    ]
}

pub fn table(frame: &mut Frame, area: Rect, state: &State, theme: &Theme) {
    let Some(snap) = &state.snapshot else {
        return placeholder(frame, area, "Months", state.focus == Panel::Months, theme);
    };
    let visible = select::visible_months(state);
    let selected = visible.iter().position(|&i| snap.months[i].year_month() == state.selected_month);
    let (first, count) = super::table::window(selected, visible.len(), area.height);
    let rows = visible[first..first + count]
        .iter()
        .map(|&i| {
            let month = &snap.months[i];
            let marked = month.year_month().is_some_and(|m| state.marked.contains(&m));
            let line = MonthLine { month, marked, taken_at: snap.taken_at, status_style: theme.status(&month.status) };
            (line, if marked { Style::new().add_modifier(Modifier::BOLD) } else { Style::new() })
        })
        .collect();
    let columns = columns();
    DataTable {
        title: months_title(title("Months", visible.len(), snap.months.len(), state, state.month_sort.label()), state),
        columns: &columns,
        // An error can be any length: it asks for a little room (the started time gives way
        // for it) and takes whatever else is left.
        fill_need: 10,
        rows,
        selected: selected.map(|s| s - first),
        focused: state.focus == Panel::Months,
        empty: &empty_text(state, snap),
    }
    .render(frame, area, theme);
}

/// What an empty months table says: which of the cause, the filter or the data emptied it.
fn empty_text(state: &State, snap: &crate::model::Snapshot) -> String {
    let with_cause = match &state.cause {
        Some(_) if !state.filter.is_empty() => {
            let only = select::cause_months(state);
            crate::app::rows::month_rows(snap, "", only, state.month_sort).len()
        }
        _ => 0,
    };
    if state.cause.is_some() && with_cause > 0 {
        super::table::hidden_by_filter(with_cause, "months with that cause", &state.filter)
    } else if state.cause.is_some() {
        "no month has that cause now (e: choose another, or every month)".into()
    } else if snap.months.is_empty() {
        "no months — run `backfill-console seed`".into()
    } else {
        super::table::hidden_by_filter(snap.months.len(), "months", &state.filter)
    }
}

/// The title with the marks, then the cause the table is narrowed to.
fn months_title<'a>(base: Line<'a>, state: &State) -> Line<'a> {
    let mut spans = super::table::with_marks(base, state.marked.len()).spans;
    if let Some(cause) = &state.cause {
        spans.push(Span::raw(format!("· cause \"{}\" ", clip(cause, 30))));
    }
    Line::from(spans)
}

/// One row per year, twelve cells, newest year first; a legend with counts below.
pub fn calendar(frame: &mut Frame, area: Rect, state: &State, theme: &Theme) {
    let focused = state.focus == Panel::Calendar;
    let Some(snap) = &state.snapshot else {
        return placeholder(frame, area, "Calendar", focused, theme);
    };
    let block = Block::bordered().title(" Calendar ").border_style(theme.border(focused));
    let inner = block.inner(area);
    frame.render_widget(block, area);
    let cell_width: usize = if inner.width >= 4 + 1 + 12 * 3 { 3 } else { 2 };
    let mut years: Vec<i32> = snap.months.iter().map(|m| m.year).collect();
    years.dedup();
    let legend_rows = if inner.width >= 76 { 1 } else { 2 };
    let grid_rows = (inner.height as usize).saturating_sub(1 + legend_rows);
    // Scroll so that the selected month's year is visible.
    let sel_year = state.selected_month.map(|m| m.year);
    let pos = sel_year.and_then(|y| years.iter().position(|&v| v == y)).unwrap_or(0);
    let first = pos.saturating_sub(grid_rows.saturating_sub(1));
    let mut lines = vec![Line::styled(
        format!("     {}", "JFMAMJJASOND".chars().map(|c| format!("{c:<cell_width$}")).collect::<String>()),
        theme.dim(),
    )];
    for &year in years.iter().skip(first).take(grid_rows) {
        let mut spans = vec![Span::raw(format!("{year} "))];
        for month in 1..=12 {
            let ym = YearMonth::new(year, month);
            let row = ym.and_then(|ym| snap.month(ym));
            let (symbol, style) = match row {
                Some(r) => (Theme::status_symbol(&r.status), theme.status(&r.status)),
                None => (" ", Style::new()),
            };
            let marked = ym.is_some_and(|m| state.marked.contains(&m));
            let style = if marked { style.add_modifier(Modifier::UNDERLINED | Modifier::BOLD) } else { style };
            let style = if ym.is_some() && ym == state.selected_month { style.patch(theme.selected()) } else { style };
            spans.push(Span::styled(format!("{symbol:<cell_width$}"), style));
        }
        lines.push(Line::from(spans));
    }
    lines.extend(legend(&state.status_counts, theme, legend_rows));
    frame.render_widget(Paragraph::new(lines), inner);
}

/// Counts by status, in the order of a month's life (the map's order), unknown ones last.
fn legend<'a>(counts: &std::collections::BTreeMap<Status, i64>, theme: &Theme, rows: usize) -> Vec<Line<'a>> {
    let short = |s: &Status| match s {
        Status::Pending => "pend".to_string(),
        Status::Processing => "proc".to_string(),
        Status::Completed => "done".to_string(),
        Status::Retry => "retry".to_string(),
        Status::Failed => "fail".to_string(),
        Status::Other(other) => clip(other, 6),
    };
    let spans: Vec<Span> = counts
        .iter()
        .map(|(status, &n)| {
            let name = if rows == 1 { clip(status.as_str(), 10) } else { short(status) };
            Span::styled(format!("{} {name} {n} ", Theme::status_symbol(status)), theme.status(status))
        })
        .collect();
    if rows == 1 {
        return vec![Line::from(spans)];
    }
    let (a, b) = spans.split_at(3.min(spans.len()));
    vec![Line::from(a.to_vec()), Line::from(b.to_vec())]
}
