//! Advisory lock holders and waiters, decoded, with stuck reasons highlighted.

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::style::Style;
use ratatui::text::Span;
use ratatui::widgets::Cell;

use super::table::{Column, DataTable, placeholder, title};
use super::theme::Theme;
use crate::app::{Panel, State, select};
use crate::duration_text::format as dur;
use crate::model::hold::since;
use crate::model::stuck::LockVerdict;
use crate::model::{HoldBasis, LockRow, Snapshot};
use crate::present;
use crate::text::clip;

/// One lock row and what the columns need to draw it.
struct LockLine<'s> {
    lock: &'s LockRow,
    verdict: &'s LockVerdict,
    snap: &'s Snapshot,
    poolers: &'s [String],
    why_style: Style,
}

fn text(value: Option<&String>, width: usize) -> Cell<'static> {
    Cell::from(clip(value.map_or("-", |v| v.as_str()), width))
}

/// The lock table's columns, in order.
fn columns<'s>() -> [Column<LockLine<'s>>; 10] {
    [
        Column {
            header: "Month",
            narrow: Some(8),
            wide: 8,
            cell: |r, _| Cell::from(present::lock_month(r.lock.month(), r.lock.granted)),
        },
        Column {
            header: "Pid",
            narrow: Some(6),
            wide: 6,
            cell: |r, _| Cell::from(r.lock.pid.map_or("-".into(), |p| p.to_string())),
        },
        Column {
            header: "Application",
            narrow: Some(12),
            wide: 16,
            cell: |r, w| text(r.lock.holder.as_ref().and_then(|h| h.application_name.as_ref()), w),
        },
        Column {
            header: "User",
            narrow: None,
            wide: 12,
            cell: |r, w| text(r.lock.holder.as_ref().and_then(|h| h.usename.as_ref()), w),
        },
        Column {
            header: "Client",
            narrow: None,
            wide: 21,
            cell: |r, w| Cell::from(clip(&r.lock.holder.as_ref().map_or("-".into(), |h| h.client_via(r.poolers)), w)),
        },
        Column {
            header: "State",
            narrow: Some(8),
            wide: 13,
            cell: |r, w| text(r.lock.holder.as_ref().and_then(|h| h.state.as_ref()), w),
        },
        Column {
            header: "Idle",
            narrow: Some(6),
            wide: 6,
            cell: |r, _| {
                let idle = r.lock.holder.as_ref().filter(|h| h.is_idle()).and_then(|h| h.state_change);
                Cell::from(idle.map_or(String::new(), |c| dur(since(c, r.snap.taken_at))))
            },
        },
        Column {
            header: "Held",
            narrow: Some(8),
            wide: 8,
            // A lower bound; "obs" marks one observed across refreshes (else: idle since).
            cell: |r, _| {
                Cell::from(r.verdict.hold.map_or(String::new(), |h| {
                    let basis = if h.basis == HoldBasis::Observed { " obs" } else { "" };
                    format!("≥{}{basis}", dur(h.at_least))
                }))
            },
        },
        Column {
            header: "W",
            narrow: Some(1),
            wide: 1,
            cell: |r, _| Cell::from(r.snap.waiters_of(r.lock).to_string()),
        },
        Column {
            header: "Why stuck",
            narrow: Some(0),
            wide: 0,
            cell: |r, _| {
                let why = present::lock_why(r.lock.granted, &r.lock.blocking_pids, &r.verdict.problems);
                Cell::from(Span::styled(why, r.why_style))
            },
        },
    ]
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
            let row = LockLine { lock, verdict, snap, poolers: &state.thresholds.poolers, why_style };
            (row, if lock.month().is_none() { theme.dim() } else { Style::new() })
        })
        .collect();
    let columns = columns();
    DataTable {
        title: title("Lock holders", visible.len(), snap.locks.len(), state, state.lock_sort.label()),
        columns: &columns,
        wide: area.width >= 120,
        rows,
        selected: selected.map(|s| s - first),
        focused,
        empty: "no advisory lock is held or awaited",
    }
    .render(frame, area, theme);
}
