//! The key hints of every mode, built from the keymap (so they say what the keys do
//! now, whatever the config bound). The footer and the dialogs show the same text.

use crate::app::dialog::Dialog;
use crate::app::keymap::{DialogAction, FilterAction, Keymap, OverlayAction};
use crate::model::job::Knob;

/// The hint under a dialog.
pub fn dialog(keymap: &Keymap, dialog: &Dialog) -> String {
    let k = &keymap.dialog;
    match dialog {
        Dialog::Running { cancellable: true, .. } => format!("{} stop after this chunk", k.key(DialogAction::Cancel)),
        Dialog::Running { .. } => "working…".into(),
        Dialog::Result { .. } => format!("{} close", k.key(DialogAction::Confirm)),
        Dialog::Claim(form) => [
            format!("{} {}", k.key(DialogAction::Confirm), if form.params.dry_run { "dry run first" } else { "claim" }),
            format!("{} cancel", k.key(DialogAction::Cancel)),
            format!("{}/{} field", k.key(DialogAction::NextField), k.key(DialogAction::PrevField)),
            format!("{}/{} change", k.key(DialogAction::Decrease), k.key(DialogAction::Increase)),
        ]
        .join(" · "),
        Dialog::Confirm { job, plan } => {
            let verb = job.confirmation(plan).verb;
            let mut parts = vec![k.hint(DialogAction::Confirm, verb), k.hint(DialogAction::Cancel, "cancel")];
            parts.extend(job.knobs().into_iter().map(|(knob, text)| match knob {
                Knob::Adjust { .. } => {
                    format!("{}/{} {text}", k.key(DialogAction::Decrease), k.key(DialogAction::Increase))
                }
                Knob::Switch => format!("{} {text}", k.key(DialogAction::NextField)),
            }));
            parts.join(" · ")
        }
    }
}

/// The hint under a destructive dialog in a production context: the name to type, and
/// what was typed so far.
pub fn typed(name: &str, typed: &str) -> String {
    format!("PRODUCTION: type `{name}` then Enter to do it: {}_ · Esc cancel", crate::text::sanitize(typed))
}

/// The hint after the filter line.
pub fn filter(keymap: &Keymap) -> String {
    let k = &keymap.filter;
    format!("{} apply · {} clear", k.key(FilterAction::Apply), k.key(FilterAction::Clear))
}

/// The hint under the errors view.
pub fn errors(keymap: &Keymap) -> String {
    let k = &keymap.overlay;
    format!(
        "{}/{} move · {} show its months · {} close",
        k.key(OverlayAction::Up),
        k.key(OverlayAction::Down),
        k.key(OverlayAction::Open),
        k.key(OverlayAction::Close)
    )
}

/// The hint under the audit view.
pub fn audit(keymap: &Keymap) -> String {
    let k = &keymap.overlay;
    format!(
        "{}/{} move · {} close · / filter",
        k.key(OverlayAction::Up),
        k.key(OverlayAction::Down),
        k.key(OverlayAction::Close)
    )
}

/// The hint under the dead-letter view.
pub fn dead(keymap: &Keymap, open: bool) -> String {
    let k = &keymap.overlay;
    if open {
        return format!("{} back", k.key(OverlayAction::Close));
    }
    format!(
        "{}/{} move · {} open · {} redrive · {} purge · {} back",
        k.key(OverlayAction::Up),
        k.key(OverlayAction::Down),
        k.key(OverlayAction::Open),
        k.key(OverlayAction::Redrive),
        k.key(OverlayAction::Purge),
        k.key(OverlayAction::Close)
    )
}

/// The hint under the verdicts' view.
pub fn verdicts(keymap: &Keymap, open: bool) -> String {
    let k = &keymap.overlay;
    if open {
        return format!("{} back", k.key(OverlayAction::Close));
    }
    format!(
        "{}/{} move · {} evidence and cure · {} close",
        k.key(OverlayAction::Up),
        k.key(OverlayAction::Down),
        k.key(OverlayAction::Open),
        k.key(OverlayAction::Close)
    )
}

/// The hint under help and detail views.
pub fn overlay(keymap: &Keymap) -> String {
    format!("{} close", keymap.overlay.key(OverlayAction::Close))
}
