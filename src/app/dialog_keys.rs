//! The keys of an open dialog: its actions (confirm, cancel, fields, rates), and in a
//! production context the name typed before a destructive one.

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};

use super::dialog::Dialog;
use super::keymap::DialogAction;
use super::msg::{Effect, Job};
use super::state::{Notice, Overlay, State};
use super::update::{refuse, start};
use crate::model::Level;
use crate::model::claim::ClaimParams;
use crate::model::job::{Knob, PlanClaim, Turned};

/// A destructive dialog in a production context: letters go to the typed name (so `y`
/// and `n` are letters here), Enter confirms only the exact name, Esc cancels. Other keys
/// (arrows, Tab) go on to the dialog (`None`).
pub(super) fn on_typed_key(state: &mut State, dialog: &Dialog, name: &str, key: KeyEvent) -> Option<Vec<Effect>> {
    match key.code {
        KeyCode::Char(c) if !key.modifiers.intersects(KeyModifiers::CONTROL | KeyModifiers::ALT) => {
            if state.typed.chars().count() < 64 {
                state.typed.push(c);
            }
            Some(Vec::new())
        }
        KeyCode::Backspace => {
            state.typed.pop();
            Some(Vec::new())
        }
        KeyCode::Enter if state.typed == name => {
            state.typed.clear();
            Some(on_dialog_action(state, dialog.clone(), DialogAction::Confirm))
        }
        KeyCode::Enter => {
            Some(refuse(state, format!("production context: type `{name}` exactly to confirm (Esc cancels)")))
        }
        KeyCode::Esc => {
            state.typed.clear();
            Some(on_dialog_action(state, dialog.clone(), DialogAction::Cancel))
        }
        _ => None,
    }
}

pub(super) fn on_dialog_action(state: &mut State, dialog: Dialog, action: DialogAction) -> Vec<Effect> {
    match (dialog, action) {
        // A running job cannot be cancelled from here (it would not be safe to pretend).
        // A redrive stops between chunks (each is committed and audited): safe to ask.
        (Dialog::Running { title, progress, cancellable: true }, DialogAction::Cancel) => {
            let title = format!("{title} (stopping after this chunk)");
            state.overlay = Overlay::Dialog(Dialog::Running { title, progress, cancellable: false });
            vec![Effect::CancelJob]
        }
        // Any other running job cannot be cancelled from here (it would not be safe to pretend).
        (Dialog::Running { .. }, _) => Vec::new(),
        (Dialog::Result { .. }, DialogAction::Confirm | DialogAction::Cancel) => {
            state.overlay = Overlay::None;
            Vec::new()
        }
        (_, DialogAction::Cancel) => {
            state.overlay = Overlay::None;
            state.notice = Some(Notice { text: "cancelled; nothing was done".into(), level: Level::Ok });
            Vec::new()
        }
        // The claim of listed months: switching force-retry plans it again.
        (Dialog::Claim(form), DialogAction::Increase | DialogAction::Decrease)
            if form.plan.is_some() && !form.params.months.is_empty() =>
        {
            let params = ClaimParams { force_retry: !form.params.force_retry, ..form.params };
            plan_claim(state, params)
        }
        (Dialog::Claim(mut form), action) => {
            match action {
                // A dry run first (the default): its result comes back in this dialog, and
                // Enter then claims.
                DialogAction::Confirm if form.params.dry_run => return plan_claim(state, form.params),
                DialogAction::Confirm => return start(state, Job::new(form.params.clone())),
                DialogAction::NextField => form.move_field(true),
                DialogAction::PrevField => form.move_field(false),
                DialogAction::Increase | DialogAction::Decrease => {
                    form.adjust(action == DialogAction::Increase);
                    // A changed claim is no longer the one planned: plan it again first.
                    if form.plan.take().is_some() && form.field != super::dialog::ClaimField::DryRun {
                        form.params.dry_run = true;
                    }
                }
                DialogAction::Cancel => {}
            }
            state.overlay = Overlay::Dialog(Dialog::Claim(form));
            Vec::new()
        }
        (Dialog::Confirm { job, plan }, DialogAction::Confirm) => start(state, job.confirmed(&plan)),
        (Dialog::Confirm { job, plan }, action) => {
            let knob = match action {
                DialogAction::Increase => Knob::Adjust { up: true },
                DialogAction::Decrease => Knob::Adjust { up: false },
                DialogAction::NextField | DialogAction::PrevField => Knob::Switch,
                DialogAction::Confirm | DialogAction::Cancel => return Vec::new(),
            };
            match job.turned(knob) {
                Some(Turned::Kept(job)) => {
                    state.overlay = Overlay::Dialog(Dialog::Confirm { job, plan });
                    Vec::new()
                }
                Some(Turned::Replan(job)) => start(state, job),
                None => Vec::new(),
            }
        }
        _ => Vec::new(),
    }
}

/// The errors view: row 0 is "every month", then the causes; Open filters the months to it.
pub(super) fn plan_claim(state: &mut State, params: ClaimParams) -> Vec<Effect> {
    start(state, Job::new(PlanClaim(ClaimParams { dry_run: true, ..params })))
}
