//! The list views over data read on demand: the audit trail and the dead letters
//! (by reason, then a reason's messages, then one message's payload).

use super::keymap::OverlayAction;
use super::msg::Effect;
use super::rows::matches;
use super::state::{Overlay, State};
use super::update::refuse;
use crate::model::ask::DeadChoice;
use crate::model::audit::AuditRow;
use crate::model::dead::{DeadMessage, DeadReason, Which, compact_ids};

/// The audit rows the view shows: the filter applied.
pub fn audit_rows(state: &State) -> Vec<&AuditRow> {
    let Some(Ok(rows)) = &state.audit else { return Vec::new() };
    rows.iter()
        .filter(|r| {
            let text = format!("{} {} {} {}", r.action, r.what(), r.who(), r.outcome);
            state.filter.is_empty() || matches(&text, &state.filter)
        })
        .collect()
}

/// The dead letters by reason, the most frequent first (every reason, counted exactly).
pub fn dead_reasons(state: &State) -> &[DeadReason] {
    match &state.dead {
        Some(Ok(letters)) => &letters.reasons,
        _ => &[],
    }
}

/// The messages of one reason among those read (the newest), newest first.
pub fn dead_messages<'a>(state: &'a State, reason: &str) -> Vec<&'a DeadMessage> {
    match &state.dead {
        Some(Ok(letters)) => letters.messages_of(reason),
        _ => Vec::new(),
    }
}

/// The verdicts' view: move, open one, back, close.
pub fn on_verdicts_key(state: &mut State, selected: usize, open: bool, action: Option<OverlayAction>) {
    let last = state.assessment.as_ref().map_or(0, |a| a.verdicts.len()).saturating_sub(1);
    if let (Some(OverlayAction::Open), true) = (action, open)
        && let Some(n) = super::select::mark_verdict_holders(state, selected)
    {
        // An opened verdict whose cure is a release: its holders marked on the lock panel.
        let key = state.keymap.first_key(super::Action::Release).unwrap_or_else(|| "r".into());
        state.overlay = Overlay::None;
        state.focus = super::Panel::Locks;
        let text = format!("marked this verdict's {n} lock holder(s): {key} releases them (one confirmation)");
        state.notice = Some(super::state::Notice { text, level: crate::model::Level::Ok });
        return;
    }
    state.overlay = match (action, open) {
        (Some(OverlayAction::Close), true) => Overlay::Verdicts { selected, open: false },
        (Some(OverlayAction::Close), false) => Overlay::None,
        (Some(OverlayAction::Open), _) => Overlay::Verdicts { selected, open: true },
        (Some(OverlayAction::Up), false) => Overlay::Verdicts { selected: selected.saturating_sub(1), open },
        (Some(OverlayAction::Down), false) => Overlay::Verdicts { selected: (selected + 1).min(last), open },
        _ => Overlay::Verdicts { selected, open },
    };
}

pub fn on_audit_key(state: &mut State, selected: usize, action: Option<OverlayAction>) {
    let last = audit_rows(state).len().saturating_sub(1);
    state.overlay = match action {
        Some(OverlayAction::Close | OverlayAction::Open) => Overlay::None,
        Some(OverlayAction::Up) => Overlay::Audit { selected: selected.saturating_sub(1) },
        Some(OverlayAction::Down) => Overlay::Audit { selected: (selected + 1).min(last) },
        _ => Overlay::Audit { selected },
    };
}

pub fn on_dead_key(
    state: &mut State,
    reason: Option<String>,
    selected: usize,
    open: bool,
    action: Option<OverlayAction>,
) -> Vec<Effect> {
    let rows = match &reason {
        // "every reason", then each reason.
        None => dead_reasons(state).len() + 1,
        Some(r) => dead_messages(state, r).len(),
    };
    let last = rows.saturating_sub(1);
    let stay = |reason: Option<String>, selected: usize, open: bool| Overlay::Dead { reason, selected, open };
    match action {
        Some(OverlayAction::Close) => {
            state.overlay = match (reason, open) {
                (Some(r), true) => stay(Some(r), selected, false),
                (Some(_), false) => stay(None, 0, false),
                (None, _) => Overlay::None,
            }
        }
        Some(OverlayAction::Up) if !open => state.overlay = stay(reason, selected.saturating_sub(1), false),
        Some(OverlayAction::Down) if !open => state.overlay = stay(reason, (selected + 1).min(last), false),
        // Row 0 of the reasons is every reason at once: it has no list of its own.
        Some(OverlayAction::Open) if rows > 0 => match reason {
            // Every reason at once has no list of its own: say what the row is for.
            None if selected == 0 => {
                let total = match &state.dead {
                    Some(Ok(letters)) => letters.total,
                    _ => 0,
                };
                let k = &state.keymap.overlay;
                let text = format!(
                    "this row is every dead letter at once ({total}): {} redrives, {} purges them all; Enter on a reason below lists its messages",
                    k.key(OverlayAction::Redrive),
                    k.key(OverlayAction::Purge)
                );
                return refuse(state, text);
            }
            None => state.overlay = stay(dead_reasons(state).get(selected - 1).map(|g| g.reason.clone()), 0, false),
            Some(r) => state.overlay = stay(Some(r), selected, true),
        },
        Some(action @ (OverlayAction::Redrive | OverlayAction::Purge)) => {
            if state.acts_read_only() {
                return refuse(
                    state,
                    format!("{} refused: read-only mode (no action is allowed)", action_word(action)),
                );
            }
            let Some(choice) = chosen(state, reason.as_deref(), selected) else {
                return refuse(state, "no dead letter selected".into());
            };
            // The operation makes its request of the choice (`ops::dead`).
            return match state.ops.ask_in_view(action, &choice) {
                Some(asked) => super::update::asked(state, asked),
                None => Vec::new(),
            };
        }
        _ => {}
    }
    Vec::new()
}

fn action_word(action: OverlayAction) -> &'static str {
    if action == OverlayAction::Purge { "purge" } else { "redrive" }
}

/// Every message (row 0 of the reasons), all of the selected reason's, or the selected
/// message; none that died after the view was read.
fn chosen(state: &State, reason: Option<&str>, selected: usize) -> Option<DeadChoice> {
    let count = |n: i64| usize::try_from(n).unwrap_or(0);
    let until = match &state.dead {
        Some(Ok(letters)) => letters.read_at,
        _ => None,
    };
    match reason {
        None if selected == 0 => {
            let Some(Ok(letters)) = &state.dead else { return None };
            (letters.total > 0).then(|| DeadChoice {
                which: Which::All,
                count: count(letters.total),
                what: "every dead letter".into(),
                selection: "console: every reason".into(),
                until,
            })
        }
        None => {
            let group = dead_reasons(state).get(selected - 1)?;
            Some(DeadChoice {
                which: Which::Reason(group.reason.clone()),
                count: count(group.count),
                what: format!("every dead letter with the reason `{}`", group.reason),
                selection: format!("console: reason {}", group.reason),
                until,
            })
        }
        Some(r) => {
            let message = dead_messages(state, r).into_iter().nth(selected)?;
            Some(DeadChoice {
                which: Which::Ids(vec![message.msg_id]),
                count: 1,
                what: compact_ids(&[message.msg_id]),
                selection: format!("console: message {}", message.msg_id),
                until,
            })
        }
    }
}
