//! The tests that need neither a database nor a terminal: the console's state machine,
//! its screens (insta snapshots, styles included), the recorder's format, properties.
#![allow(clippy::unwrap_used, clippy::expect_used)] // tests may panic

#[path = "../fixture/mod.rs"]
mod fixture;

mod app_actions;
mod app_update;
mod causes_corpus;
mod incident_console;
mod incident_views;
mod properties;
mod recorder;
mod ui;
mod ui_ascii;
mod ui_contexts;
mod wall;

/// The one job `fx` runs, as its own request type (the test fails on anything else).
pub(crate) fn ran<T: 'static>(fx: &[backfill_console::app::Effect]) -> &T {
    match fx {
        [backfill_console::app::Effect::Run(job)] => {
            job.get::<T>().unwrap_or_else(|| panic!("another job than the one asked for: {job:?}"))
        }
        _ => panic!("one job to run: {fx:?}"),
    }
}

/// The open confirmation's job and plan, as their own types (the test fails on anything else).
pub(crate) fn confirming<J: 'static, P: 'static>(overlay: &backfill_console::app::Overlay) -> (&J, &P) {
    use backfill_console::app::{Overlay, dialog::Dialog};
    let Overlay::Dialog(Dialog::Confirm { job, plan }) = overlay else { panic!("a confirmation: {overlay:?}") };
    let job = job.get::<J>().unwrap_or_else(|| panic!("another job than the one asked for: {job:?}"));
    (job, plan.get::<P>().unwrap_or_else(|| panic!("another plan than the one asked for: {plan:?}")))
}
