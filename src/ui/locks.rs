//! Advisory lock holders and waiters, decoded, with stuck reasons highlighted.

use ratatui::Frame;
use ratatui::layout::{Constraint, Rect};
use ratatui::style::Style;
use ratatui::text::Span;
use ratatui::widgets::Cell;

use super::table::{DataTable, TableRow};
use super::table::{placeholder, title};
use super::theme::Theme;
use crate::app::{Panel, State, select};
use crate::duration_text::format as dur;
use crate::model::hold::since;
use crate::model::{HoldBasis, LockProblem};
use crate::text::clip;

pub fn table(frame: &mut Frame, area: Rect, state: &State, theme: &Theme) {
    let focused = state.focus == Panel::Locks;
    let (Some(snap), Some(assessment)) = (&state.snapshot, &state.assessment) else {
        return placeholder(frame, area, "Lock holders", focused, theme);
    };
    let wide = area.width >= 120;
    let visible = select::visible_locks(state);
    let selected = (!visible.is_empty()).then(|| state.selected_lock.min(visible.len() - 1));
    let (first, count) = super::table::window(selected, visible.len(), area.height);
    let rows = visible[first..first + count]
        .iter()
        .map(|&i| {
            let lock = &snap.locks[i];
            let verdict = &assessment.locks[i];
            let holder = lock.holder.as_ref();
            let month = match (lock.month(), lock.granted) {
                (Some(m), true) => m.to_string(),
                (Some(m), false) => format!("{m}…"),
                (None, _) => "foreign".into(),
            };
            let idle = holder
                .filter(|h| h.is_idle())
                .and_then(|h| h.state_change)
                .map_or(String::new(), |c| dur(since(c, snap.taken_at)));
            // A lower bound; "obs" marks one observed across refreshes (else: idle since).
            let held = verdict.hold.map_or(String::new(), |h| {
                let basis = if h.basis == HoldBasis::Observed { " obs" } else { "" };
                format!("≥{}{basis}", dur(h.at_least))
            });
            let why = if !lock.granted {
                format!("waits on {:?}", lock.blocking_pids)
            } else {
                verdict.problems.iter().map(LockProblem::describe).collect::<Vec<_>>().join("; ")
            };
            let why_style = if verdict.is_stuck() { theme.stuck() } else { Style::new() };
            let text = |s: Option<&String>, n: usize| clip(s.map_or("-", |v| v.as_str()), n);
            let mut cells = vec![
                Cell::from(month),
                Cell::from(lock.pid.map_or("-".into(), |p| p.to_string())),
                Cell::from(text(holder.and_then(|h| h.application_name.as_ref()), if wide { 16 } else { 12 })),
            ];
            if wide {
                cells.push(Cell::from(text(holder.and_then(|h| h.usename.as_ref()), 12)));
                let client = holder.map_or("-".into(), |h| h.client_via(&state.thresholds.poolers));
                cells.push(Cell::from(clip(&client, 24)));
            }
            cells.extend([
                Cell::from(text(holder.and_then(|h| h.state.as_ref()), 13)),
                Cell::from(idle),
                Cell::from(held),
                Cell::from(snap.waiters_of(lock).to_string()),
                Cell::from(Span::styled(why, why_style)),
            ]);
            TableRow { cells, style: if lock.month().is_none() { theme.dim() } else { Style::new() } }
        })
        .collect();
    let mut header = vec!["Month", "Pid", "Application"];
    let mut widths = vec![Constraint::Length(8), Constraint::Length(6), Constraint::Length(if wide { 16 } else { 12 })];
    if wide {
        header.extend(["User", "Client"]);
        widths.extend([Constraint::Length(12), Constraint::Length(21)]);
    }
    header.extend(["State", "Idle", "Held", "W", "Why stuck"]);
    widths.extend([
        Constraint::Length(if wide { 13 } else { 8 }),
        Constraint::Length(6),
        Constraint::Length(8),
        Constraint::Length(1),
        Constraint::Fill(1),
    ]);
    DataTable {
        title: title("Lock holders", visible.len(), snap.locks.len(), state, state.lock_sort.label()),
        header,
        widths,
        rows,
        selected: selected.map(|s| s - first),
        focused,
        empty: "no advisory lock is held or awaited",
    }
    .render(frame, area, theme);
}
