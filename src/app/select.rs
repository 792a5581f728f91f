//! Selection and the dialogs built from it.

use super::refusal::Refusal;
use super::rows::{lock_rows, month_rows};
use super::state::State;
use super::{Action, Panel};
use crate::model::LockRow;
use crate::model::ask::Chosen;
use crate::model::lock_key::YearMonth;
use crate::model::release::holder_key;

use std::collections::BTreeSet;

const PAGE: usize = 10;

/// The visible month rows (indices into the snapshot): the filter and the cause applied.
pub fn visible_months(state: &State) -> Vec<usize> {
    let only = cause_months(state);
    state.snapshot.as_ref().map_or_else(Vec::new, |s| month_rows(s, &state.filter, only, state.month_sort))
}

/// The months of the cause the table is narrowed to (`None`: no cause chosen).
pub fn cause_months(state: &State) -> Option<&[YearMonth]> {
    state
        .cause
        .as_ref()
        .map(|sig| state.causes.iter().find(|c| &c.signature == sig).map_or(&[][..], |c| c.months.as_slice()))
}

/// The months an action on many months applies to: the marked ones, else the selected one.
pub fn chosen_months(state: &State) -> Vec<YearMonth> {
    if state.marked.is_empty() {
        state.selected_month.into_iter().collect()
    } else {
        state.marked.iter().copied().collect()
    }
}

/// Marks (or unmarks) the selected month; marks every shown month.
pub fn mark(state: &mut State, all_shown: bool) {
    if all_shown {
        let Some(snap) = &state.snapshot else { return };
        let shown: Vec<YearMonth> = visible_months(state).iter().filter_map(|&i| snap.months[i].year_month()).collect();
        state.marked.extend(shown);
    } else if let Some(m) = state.selected_month
        && !state.marked.remove(&m)
    {
        state.marked.insert(m);
    }
}

pub fn visible_locks(state: &State) -> Vec<usize> {
    match (&state.snapshot, &state.assessment) {
        (Some(s), Some(a)) => lock_rows(s, a, &state.filter, state.lock_sort),
        _ => Vec::new(),
    }
}

/// Marks (or unmarks) the selected lock's holder, or marks every holder shown.
pub fn mark_locks(state: &mut State, all_shown: bool) -> Result<(), Refusal> {
    let snap = state.snapshot.as_ref().ok_or(Refusal::NoData)?;
    if all_shown {
        let keys: Vec<_> = visible_locks(state).iter().filter_map(|&i| holder_key(&snap.locks[i])).collect();
        if keys.is_empty() {
            return Err(Refusal::NoHolderShown);
        }
        state.marked_locks.extend(keys);
        return Ok(());
    }
    let lock = selected_lock(state).ok_or(Refusal::NoLockSelected)?;
    let key = holder_key(lock).ok_or(match (lock.month(), lock.granted) {
        (None, _) => Refusal::Foreign { marking: true },
        (_, false) => Refusal::Waiter { marking: true },
        _ => Refusal::HolderHidden { what: "session" },
    })?;
    if !state.marked_locks.remove(&key) {
        state.marked_locks.insert(key);
    }
    Ok(())
}

/// Marks the holders of verdict `index` when its cure is a release: how many (`None`:
/// not such a verdict, or none of its holders holds a month lock now).
pub fn mark_verdict_holders(state: &mut State, index: usize) -> Option<usize> {
    let verdict = state.assessment.as_ref()?.verdicts.get(index)?;
    if verdict.remedy.action != Some(crate::model::verdict::Cure::Release) {
        return None;
    }
    let snap = state.snapshot.as_ref()?;
    let keys: BTreeSet<_> =
        snap.locks.iter().filter(|l| l.pid.is_some_and(|p| verdict.pids.contains(&p))).filter_map(holder_key).collect();
    let n = keys.len();
    state.marked_locks.extend(keys);
    (n > 0).then_some(n)
}

pub fn selected_lock(state: &State) -> Option<&LockRow> {
    let rows = visible_locks(state);
    let i = *rows.get(state.selected_lock.min(rows.len().saturating_sub(1)))?;
    state.snapshot.as_ref()?.locks.get(i)
}

/// Keeps the selections inside what is visible.
pub fn clamp(state: &mut State) {
    let months = visible_months(state);
    let in_view = state.selected_month.is_some_and(|sel| {
        state.snapshot.as_ref().is_some_and(|s| months.iter().any(|&i| s.months[i].year_month() == Some(sel)))
    });
    if !in_view {
        state.selected_month =
            months.first().and_then(|&i| state.snapshot.as_ref().and_then(|s| s.months[i].year_month()));
    }
    let locks = visible_locks(state).len();
    state.selected_lock = state.selected_lock.min(locks.saturating_sub(1));
}

pub fn step(state: &mut State, action: Action) {
    match state.focus {
        Panel::Months => step_months(state, action),
        Panel::Calendar => step_calendar(state, action),
        Panel::Locks => {
            let n = visible_locks(state).len();
            state.selected_lock = moved(state.selected_lock, n, action);
        }
        Panel::Queue => {}
    }
}

fn moved(current: usize, len: usize, action: Action) -> usize {
    let last = len.saturating_sub(1);
    match action {
        Action::Up => current.saturating_sub(1),
        Action::Down => (current + 1).min(last),
        Action::PageUp => current.saturating_sub(PAGE),
        Action::PageDown => (current + PAGE).min(last),
        Action::Home => 0,
        Action::End => last,
        _ => current,
    }
}

fn step_months(state: &mut State, action: Action) {
    let rows = visible_months(state);
    let Some(snap) = state.snapshot.as_ref() else { return };
    let current = rows.iter().position(|&i| snap.months[i].year_month() == state.selected_month).unwrap_or(0);
    let next = moved(current, rows.len(), action);
    state.selected_month = rows.get(next).and_then(|&i| snap.months[i].year_month());
}

/// The calendar moves by month (←/→) and by year (↑/↓), over months that exist.
fn step_calendar(state: &mut State, action: Action) {
    let Some(snap) = state.snapshot.as_ref() else { return };
    let Some(current) = state.selected_month.or_else(|| snap.months.first().and_then(|m| m.year_month())) else {
        return;
    };
    let delta = match action {
        Action::Left => -1,
        Action::Right => 1,
        Action::Up => 12,
        Action::Down => -12,
        Action::PageUp => 60,
        Action::PageDown => -60,
        _ => 0,
    };
    let exists = |ym: YearMonth| snap.month(ym).is_some();
    let target = match action {
        Action::Home => snap.months.first().and_then(|m| m.year_month()),
        Action::End => snap.months.last().and_then(|m| m.year_month()),
        _ => {
            let index = current.index() + delta;
            YearMonth::new(index.div_euclid(12), index.rem_euclid(12) + 1).filter(|ym| exists(*ym))
        }
    };
    if let Some(t) = target {
        state.selected_month = Some(t);
    }
}

/// What the operator has chosen, as an operation reads it when asked for its request.
pub fn chosen(state: &State) -> Chosen<'_> {
    Chosen {
        snapshot: state.snapshot.as_ref(),
        assessment: state.assessment.as_ref(),
        thresholds: &state.thresholds,
        marked_months: &state.marked,
        months: chosen_months(state),
        marked_holders: &state.marked_locks,
        on_locks: state.focus == Panel::Locks,
        selected_lock: selected_lock(state),
        key: Box::new(|action| state.keymap.first_key(action)),
    }
}
