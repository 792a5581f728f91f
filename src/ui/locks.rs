//! Advisory lock holders and waiters, decoded, with stuck reasons highlighted.

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::style::{Modifier, Style};
use ratatui::text::Span;
use ratatui::widgets::Cell;

use super::table::{Column, DataTable, placeholder, title};
use super::theme::Theme;
use crate::app::{Panel, State, select};
use crate::model::release::holder_key;
use crate::present::locks;
use crate::text::clip;
use unicode_width::UnicodeWidthStr;

/// One lock row: its cells (`present::locks`, shared with the CLI) and how its
/// "why stuck" is drawn.
struct LockLine {
    cells: [String; locks::COUNT],
    why_style: Style,
}

/// The cell of column `$i`, clipped to its width.
macro_rules! clipped {
    ($i:expr) => {
        |r: &LockLine, w: usize| Cell::from(clip(&r.cells[$i], w))
    };
}

/// The lock table's columns: `present::locks::COLUMNS` (headers, widths, who gives way),
/// each drawing its cell; "why stuck" highlighted when the lock is stuck.
fn columns() -> [Column<LockLine>; locks::COUNT] {
    let cell: [fn(&LockLine, usize) -> Cell<'static>; locks::COUNT] = [
        clipped!(0),
        clipped!(1),
        clipped!(2),
        clipped!(3),
        clipped!(4),
        clipped!(5),
        clipped!(6),
        clipped!(7),
        clipped!(8),
        |r, _| Cell::from(Span::styled(r.cells[locks::WHY].clone(), r.why_style)),
    ];
    std::array::from_fn(|i| {
        let c = locks::COLUMNS[i];
        Column { header: c.header, width: c.width, min: c.min, give_way: c.give_way, cell: cell[i] }
    })
}

pub fn table(frame: &mut Frame, area: Rect, state: &State, theme: &Theme) {
    let focused = state.focus == Panel::Locks;
    let (Some(snap), Some(assessment)) = (&state.snapshot, &state.assessment) else {
        return placeholder(frame, area, "Lock holders", focused, theme);
    };
    let visible = select::visible_locks(state);
    let selected = (!visible.is_empty()).then(|| state.selected_lock.min(visible.len() - 1));
    let (first, count) = super::table::window(selected, visible.len(), area.height);
    let rows = visible[first..first + count]
        .iter()
        .map(|&i| {
            let (lock, verdict) = (&snap.locks[i], &assessment.locks[i]);
            let why_style = if verdict.is_stuck() { theme.stuck() } else { Style::new() };
            let mut cells = locks::cells(lock, verdict, snap, &state.thresholds.poolers);
            let marked = holder_key(lock).is_some_and(|k| state.marked_locks.contains(&k));
            let row_style = if marked {
                // A marked holder's rows carry a dot before the month, and are bold.
                cells[0] = format!("●{}", cells[0]);
                Style::new().add_modifier(Modifier::BOLD)
            } else if lock.month().is_none() {
                theme.dim()
            } else {
                Style::new()
            };
            (LockLine { cells, why_style }, row_style)
        })
        .collect::<Vec<_>>();
    let fill_need = rows.iter().map(|(r, _)| r.cells[locks::WHY].width()).max().unwrap_or(0);
    let columns = columns();
    let empty = if snap.locks.is_empty() {
        "no advisory lock is held or awaited".to_string()
    } else {
        super::table::hidden_by_filter(snap.locks.len(), "locks", &state.filter)
    };
    DataTable {
        title: super::table::with_marks(
            title("Lock holders", visible.len(), snap.locks.len(), state, state.lock_sort.label()),
            state.marked_locks.len(),
        ),
        columns: &columns,
        fill_need: u16::try_from(fill_need).unwrap_or(u16::MAX).max(9),
        rows,
        selected: selected.map(|s| s - first),
        focused,
        empty: &empty,
    }
    .render(frame, area, theme);
}
