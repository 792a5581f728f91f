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
use crate::model::stuck::LockVerdict;
use crate::model::time::since;
use crate::model::{HoldBasis, LockRow, Snapshot};
use crate::present;
use crate::text::clip;
use unicode_width::UnicodeWidthStr;

/// One lock row and what the columns need to draw it.
struct LockLine<'s> {
    lock: &'s LockRow,
    verdict: &'s LockVerdict,
    snap: &'s Snapshot,
    poolers: &'s [String],
    /// Why it is stuck (or what it waits on), worded once: the column and its width need it.
    why: String,
    why_style: Style,
}

fn text(value: Option<&String>, width: usize) -> Cell<'static> {
    Cell::from(clip(value.map_or("-", |v| v.as_str()), width))
}

/// The lock table's columns, in order. When space is short the client goes first, then
/// the user, the application, the state, the idle time, the waiter count and the hold;
/// the month, the pid and the stuck reason stay whole.
fn columns<'s>() -> [Column<LockLine<'s>>; 10] {
    [
        Column {
            header: "Month",
            width: 8,
            min: 8,
            give_way: 0,
            cell: |r, _| Cell::from(present::lock_month(r.lock.month(), r.lock.granted)),
        },
        Column {
            header: "Pid",
            width: 6,
            min: 6,
            give_way: 0,
            cell: |r, _| Cell::from(r.lock.pid.map_or("-".into(), |p| p.to_string())),
        },
        Column {
            header: "Application",
            width: 16,
            min: 10,
            give_way: 4,
            cell: |r, w| text(r.lock.holder.as_ref().and_then(|h| h.application_name.as_ref()), w),
        },
        Column {
            header: "User",
            width: 12,
            min: 8,
            give_way: 5,
            cell: |r, w| text(r.lock.holder.as_ref().and_then(|h| h.usename.as_ref()), w),
        },
        Column {
            header: "Client",
            width: 21,
            min: 12,
            give_way: 6,
            cell: |r, w| Cell::from(clip(&r.lock.holder.as_ref().map_or("-".into(), |h| h.client_via(r.poolers)), w)),
        },
        Column {
            header: "State",
            width: 13,
            min: 6,
            give_way: 3,
            cell: |r, w| text(r.lock.holder.as_ref().and_then(|h| h.state.as_ref()), w),
        },
        Column {
            header: "Idle",
            width: 6,
            min: 6,
            give_way: 2,
            cell: |r, _| {
                let idle = r.lock.holder.as_ref().filter(|h| h.is_idle()).and_then(|h| h.state_change);
                Cell::from(idle.map_or(String::new(), |c| dur(since(c, r.snap.taken_at))))
            },
        },
        Column {
            header: "Held",
            width: 8,
            min: 8,
            give_way: 1,
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
            width: 1,
            min: 1,
            give_way: 2,
            cell: |r, _| Cell::from(r.snap.waiters_of(r.lock).to_string()),
        },
        Column {
            header: "Why stuck",
            width: 0,
            min: 0,
            give_way: 0,
            cell: |r, _| Cell::from(Span::styled(r.why.clone(), r.why_style)),
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
            let why = present::lock_why(lock.granted, &lock.blocking_pids, &verdict.problems);
            let row = LockLine { lock, verdict, snap, poolers: &state.thresholds.poolers, why, why_style };
            (row, if lock.month().is_none() { theme.dim() } else { Style::new() })
        })
        .collect::<Vec<_>>();
    let fill_need = rows.iter().map(|(r, _)| r.why.width()).max().unwrap_or(0);
    let columns = columns();
    DataTable {
        title: title("Lock holders", visible.len(), snap.locks.len(), state, state.lock_sort.label()),
        columns: &columns,
        fill_need: u16::try_from(fill_need).unwrap_or(u16::MAX).max(9),
        rows,
        selected: selected.map(|s| s - first),
        focused,
        empty: "no advisory lock is held or awaited",
    }
    .render(frame, area, theme);
}
