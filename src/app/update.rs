//! Keys to state changes and effects. Pure: the same state and key always give
//! the same result, so every path is a unit test.

use std::time::Duration;

use crossterm::event::{KeyCode, KeyEvent, KeyEventKind, KeyModifiers};

use super::dialog::{ClaimForm, Dialog};
use super::dialog_keys::{on_dialog_action, on_typed_key, plan_claim};
use super::keymap::{FilterAction, OverlayAction};
use super::msg::{Effect, Job, Msg, WorkerCmd};
use super::state::{Detail, Notice, Overlay, State};
use super::{Action, Panel, absorb, lists, select};
use crate::model::Level;
use crate::model::ask::Ask;
use crate::model::claim::ClaimParams;

const MIN_REFRESH: Duration = Duration::from_millis(250);
const MAX_REFRESH: Duration = Duration::from_secs(60);

pub fn update(state: &mut State, msg: Msg) -> Vec<Effect> {
    let before = state.notice.clone();
    let effects = dispatch(state, msg);
    if state.notice != before && state.notice.is_some() {
        state.notice_at = Some(state.now);
    }
    effects
}

fn dispatch(state: &mut State, msg: Msg) -> Vec<Effect> {
    match msg {
        Msg::Tick(now) => {
            state.now = now;
            Vec::new()
        }
        Msg::Db(event) => absorb::absorb(state, event),
        Msg::Key(key) if key.kind == KeyEventKind::Release => Vec::new(),
        Msg::Key(key) => on_key(state, key),
    }
}

fn on_key(state: &mut State, key: KeyEvent) -> Vec<Effect> {
    // Ctrl-C always quits, whatever is open (the terminal's own way out; not remappable).
    if key.code == KeyCode::Char('c') && key.modifiers.contains(KeyModifiers::CONTROL) {
        state.quit = true;
        return Vec::new();
    }
    match state.overlay.clone() {
        // Replaying: the replay's keys first.
        Overlay::None => match super::replay::on_key(state, &key) {
            Some(effects) => effects,
            None => match state.keymap.action_for(&key) {
                Some(action) => on_action(state, action),
                None => Vec::new(),
            },
        },
        Overlay::Filter => on_filter_key(state, key),
        Overlay::Help { scroll } => {
            state.overlay = match state.keymap.overlay.action_for(&key) {
                Some(OverlayAction::Close | OverlayAction::Open) => Overlay::None,
                // The view clamps it to what there is to show.
                Some(OverlayAction::Down) => Overlay::Help { scroll: scroll.saturating_add(1).min(60) },
                Some(OverlayAction::Up) => Overlay::Help { scroll: scroll.saturating_sub(1) },
                _ => Overlay::Help { scroll },
            };
            Vec::new()
        }
        Overlay::Detail(_) => {
            if matches!(state.keymap.overlay.action_for(&key), Some(OverlayAction::Close | OverlayAction::Open)) {
                state.overlay = Overlay::None;
            }
            Vec::new()
        }
        Overlay::Errors { selected } => {
            on_errors_key(state, selected, state.keymap.overlay.action_for(&key));
            Vec::new()
        }
        Overlay::Contexts { filter, selected } => super::contexts::on_key(state, filter, selected, key),
        Overlay::Fleet { selected, problems } => super::contexts::on_fleet_key(state, selected, problems, key),
        Overlay::Verdicts { selected, open } => {
            lists::on_verdicts_key(state, selected, open, state.keymap.overlay.action_for(&key));
            Vec::new()
        }
        // The main filter applies to the audit trail: `/` edits it over the view.
        Overlay::Audit { .. } if state.keymap.action_for(&key) == Some(Action::Filter) => {
            state.filter_return = Some(Box::new(state.overlay.clone()));
            state.filter_selected = !state.filter.is_empty();
            state.overlay = Overlay::Filter;
            Vec::new()
        }
        Overlay::Audit { selected } => {
            lists::on_audit_key(state, selected, state.keymap.overlay.action_for(&key));
            Vec::new()
        }
        Overlay::Dead { reason, selected, open } => {
            let action = state.keymap.overlay.action_for(&key);
            lists::on_dead_key(state, reason, selected, open, action)
        }
        Overlay::Dialog(dialog) => {
            if let Some(name) = state.typed_confirmation(&dialog).map(str::to_string)
                && let Some(effects) = on_typed_key(state, &dialog, &name, key)
            {
                return effects;
            }
            match state.keymap.dialog.action_for(&key) {
                Some(action) => on_dialog_action(state, dialog, action),
                None => Vec::new(),
            }
        }
    }
}

pub fn on_action(state: &mut State, action: Action) -> Vec<Effect> {
    if !state.may(action) {
        return refuse(state, format!("{} refused: read-only mode (no action is allowed)", action.label()));
    }
    match action {
        Action::Quit => state.quit = true,
        Action::FocusNext | Action::FocusPrev => {
            let i = Panel::ALL.iter().position(|p| *p == state.focus).unwrap_or(0);
            let step = if action == Action::FocusNext { 1 } else { Panel::ALL.len() - 1 };
            state.focus = Panel::ALL[(i + step) % Panel::ALL.len()];
        }
        Action::FocusMonths => state.focus = Panel::Months,
        Action::FocusCalendar => state.focus = Panel::Calendar,
        Action::FocusLocks => state.focus = Panel::Locks,
        Action::FocusQueue => state.focus = Panel::Queue,
        Action::Up | Action::Down | Action::Left | Action::Right => select::step(state, action),
        Action::PageUp | Action::PageDown | Action::Home | Action::End => select::step(state, action),
        Action::Filter => {
            state.filter_selected = !state.filter.is_empty();
            state.overlay = Overlay::Filter;
        }
        Action::Sort => match state.focus {
            Panel::Locks => state.lock_sort = state.lock_sort.next(),
            _ => state.month_sort = state.month_sort.next(),
        },
        // The wall selects nothing: a detail would open over it for a row nobody sees.
        Action::Detail if state.watch => {
            return refuse(state, "the wall has no row to open: the console (without watch) opens details".into());
        }
        Action::Detail => return open_detail(state),
        Action::Help => state.overlay = Overlay::Help { scroll: 0 },
        Action::Pause => {
            state.paused = !state.paused;
            return vec![Effect::Worker(WorkerCmd::SetPaused(state.paused))];
        }
        Action::Faster | Action::Slower => {
            let next = if action == Action::Faster { state.refresh / 2 } else { state.refresh * 2 };
            state.refresh = next.clamp(MIN_REFRESH, MAX_REFRESH);
            return vec![Effect::Worker(WorkerCmd::SetInterval(state.refresh))];
        }
        Action::Refresh => return vec![Effect::Worker(WorkerCmd::RefreshNow)],
        Action::CopyRow | Action::CopySql => return copy(state, action == Action::CopySql),
        Action::Claim => {
            if state.marked.is_empty() {
                state.overlay = Overlay::Dialog(Dialog::Claim(ClaimForm::new()));
                return Vec::new();
            }
            // The marked months: a dry run of the routine plans the dialog.
            return match ClaimParams::for_months(state.marked.iter().copied().collect()) {
                Ok(params) => plan_claim(state, params),
                Err(why) => refuse(state, format!("claim of the marked months refused: {why}")),
            };
        }
        Action::Errors => state.overlay = Overlay::Errors { selected: 0 },
        Action::Verdicts => state.overlay = Overlay::Verdicts { selected: 0, open: false },
        Action::Contexts => return super::contexts::open(state),
        Action::Fleet => return super::contexts::open_fleet(state),
        Action::Audit => {
            state.audit = None;
            state.overlay = Overlay::Audit { selected: 0 };
            return vec![Effect::Worker(WorkerCmd::LoadAudit)];
        }
        Action::DeadLetters => {
            state.dead = None;
            state.overlay = Overlay::Dead { reason: None, selected: 0, open: false };
            return vec![Effect::Worker(WorkerCmd::LoadDeadLetters)];
        }
        Action::Mark | Action::MarkAll if state.focus == Panel::Locks => {
            if let Err(why) = select::mark_locks(state, action == Action::MarkAll) {
                return refuse(state, why.to_string());
            }
        }
        Action::Mark | Action::MarkAll => {
            if !matches!(state.focus, Panel::Months | Panel::Calendar) {
                return refuse(state, "marks are for months and lock holders: focus their table".into());
            }
            select::mark(state, action == Action::MarkAll);
        }
        Action::ClearMarks => {
            state.marked.clear();
            state.marked_locks.clear();
        }
        // Every other action is an operation's, answered by the catalogue (`ask`: what the
        // operator chose is gathered only then); a console without one (a replay) does
        // nothing. `tests/screens/app_actions.rs` checks that each action is either the
        // console's own, here, or an operation's.
        _ => return ask(state, action).unwrap_or_default(),
    }
    Vec::new()
}

/// The request an operation of the catalogue makes of what the operator chose, when one
/// answers to `action`: a dry run to plan it, or its confirmation.
fn ask(state: &mut State, action: Action) -> Option<Vec<Effect>> {
    let answer = state.ops.ask(action, &select::chosen(state))?;
    Some(match answer {
        Ok(ask) => asked(state, ask),
        Err(why) => refuse(state, why.to_string()),
    })
}

/// What an operation asked for: its dry run, which plans the confirmation, or the
/// confirmation of a plan it already has.
pub(super) fn asked(state: &mut State, ask: Ask) -> Vec<Effect> {
    match ask {
        Ask::Plan(job) => start(state, job),
        Ask::Confirm(job, plan) => {
            state.overlay = Overlay::Dialog(Dialog::Confirm { job, plan });
            Vec::new()
        }
    }
}

pub(super) fn refuse(state: &mut State, text: String) -> Vec<Effect> {
    state.notice = Some(Notice { text: text.clone(), level: Level::Warning });
    vec![Effect::Log { error: false, text }]
}

fn on_filter_key(state: &mut State, key: KeyEvent) -> Vec<Effect> {
    let selected = std::mem::take(&mut state.filter_selected);
    match (state.keymap.filter.action_for(&key), key.code) {
        (Some(FilterAction::Apply), _) => state.overlay = state.filter_return.take().map_or(Overlay::None, |o| *o),
        (Some(FilterAction::Clear), _) => {
            state.filter.clear();
            state.overlay = state.filter_return.take().map_or(Overlay::None, |o| *o);
        }
        (Some(FilterAction::DeleteChar), _) if selected => state.filter.clear(),
        (Some(FilterAction::DeleteChar), _) => {
            state.filter.pop();
        }
        (None, KeyCode::Char(c))
            if !c.is_control()
                && !key.modifiers.intersects(KeyModifiers::CONTROL | KeyModifiers::ALT)
                && state.filter.chars().count() < 40 =>
        {
            if selected {
                state.filter.clear();
            }
            state.filter.push(c)
        }
        // Any other key (an arrow, say) leaves the text as it is, no longer selected.
        _ => {}
    }
    select::clamp(state);
    Vec::new()
}

fn on_errors_key(state: &mut State, selected: usize, action: Option<OverlayAction>) {
    let rows = state.causes.len() + 1;
    match action {
        Some(OverlayAction::Close) => state.overlay = Overlay::None,
        Some(OverlayAction::Up) => state.overlay = Overlay::Errors { selected: selected.saturating_sub(1) },
        Some(OverlayAction::Down) => state.overlay = Overlay::Errors { selected: (selected + 1).min(rows - 1) },
        Some(OverlayAction::Open) => {
            state.cause = selected.checked_sub(1).and_then(|i| state.causes.get(i)).map(|c| c.signature.clone());
            state.overlay = Overlay::None;
            state.focus = Panel::Months;
            select::clamp(state);
        }
        Some(OverlayAction::Redrive | OverlayAction::Purge) | None => {}
    }
}

/// Runs `job`; the dialog says what runs (its `Request::running`) until its result.
pub(super) fn start(state: &mut State, job: Job) -> Vec<Effect> {
    if state.job_running {
        return refuse(state, "another action is still running; wait for its result".into());
    }
    state.job_running = true;
    let cancellable = job.cancellable();
    let title = format!("{}…", job.running());
    state.overlay = Overlay::Dialog(Dialog::Running { title, progress: None, cancellable });
    vec![Effect::Run(job)]
}

fn open_detail(state: &mut State) -> Vec<Effect> {
    match state.focus {
        Panel::Months | Panel::Calendar => {
            let Some(month) = state.selected_month else {
                return Vec::new();
            };
            state.overlay = Overlay::Detail(Detail::Month { month, lines: None });
            vec![Effect::Worker(WorkerCmd::LoadMonthDetail(month))]
        }
        Panel::Locks => {
            if let Some(pid) = select::selected_lock(state).and_then(|l| l.pid) {
                state.overlay = Overlay::Detail(Detail::Session { pid });
            }
            Vec::new()
        }
        Panel::Queue => Vec::new(),
    }
}

fn copy(state: &mut State, sql: bool) -> Vec<Effect> {
    let text = match state.focus {
        Panel::Locks => select::selected_lock(state).map(|l| {
            let month = l.month().map_or("a foreign lock".to_string(), |m| m.to_string());
            let pid = l.pid.unwrap_or_default();
            if sql {
                format!("SELECT pg_terminate_backend({pid}); -- holds {month}")
            } else {
                let app = l.holder.as_ref().and_then(|h| h.application_name.clone()).unwrap_or_default();
                format!("{month}\t{pid}\t{}", crate::text::sanitize(&app))
            }
        }),
        _ => state.selected_month.and_then(|m| {
            if sql {
                return Some(format!("SELECT * FROM backfill_log WHERE year = {} AND month = {};", m.year, m.month));
            }
            let row = state.snapshot.as_ref()?.month(m)?;
            let clean = crate::text::sanitize;
            Some(format!(
                "{m}\t{}\t{}\t{}",
                clean(row.status.as_str()),
                row.retry_count.unwrap_or(0),
                clean(row.error.as_deref().unwrap_or(""))
            ))
        }),
    };
    match text {
        Some(text) => {
            state.notice = Some(Notice { text: "copied to the clipboard (OSC 52)".into(), level: Level::Ok });
            vec![Effect::Copy(text)]
        }
        None => Vec::new(),
    }
}
