//! `app::update` for the actions: each dialog planned, confirmed or cancelled, its job sent
//! once, and every action refused where it may not run. Pure: no terminal, no database.
#![allow(clippy::unwrap_used, clippy::expect_used)] // tests may panic
use crate::fixture;

use backfill_console::app::dialog::Dialog;
use backfill_console::app::keymap::OverlayAction;
use backfill_console::app::update::on_action;
use backfill_console::app::{self, Action, DbEvent, Effect, JobResult, Msg, Overlay, WorkerCmd};
use backfill_console::db::claim::ClaimReport;
use backfill_console::db::release::{Method, Outcome};
use backfill_console::model::ask::Catalog;
use backfill_console::model::claim::ClaimParams;
use backfill_console::model::job::{ClaimPlanned, PlanClaim};
use backfill_console::model::release::{HolderPlan, Released};
use backfill_console::model::reset::ResetReport;
use backfill_console::ops::release::{ReleaseDone, ReleaseJob};
use backfill_console::ops::reset::{ResetDone, ResetJob};
use crossterm::event::KeyCode;

use super::app_update::{key, ym};

#[test]
fn claim_dialog_edits_and_runs_once() {
    let (mut s, _) = fixture::state(20);
    on_action(&mut s, Action::Claim);
    key(&mut s, KeyCode::Right); // batch 11
    key(&mut s, KeyCode::Down);
    key(&mut s, KeyCode::Right); // from 2001
    key(&mut s, KeyCode::Down);
    key(&mut s, KeyCode::Down);
    key(&mut s, KeyCode::Char(' ')); // force retry on
    let Overlay::Dialog(Dialog::Claim(form)) = &s.overlay else { panic!("claim dialog") };
    assert_eq!((form.params.batch_size, form.params.years.from, form.params.force_retry), (11, 2001, true));
    // A dry run first (issue 23, item 6): its plan comes back into the same dialog.
    let fx = key(&mut s, KeyCode::Enter);
    let planned = &crate::ran::<PlanClaim>(&fx).0;
    assert!(planned.dry_run && planned.batch_size == 11, "{planned:?}");
    let plan = JobResult::done(ClaimPlanned { params: planned.clone(), report: Box::new(ClaimReport::default()) });
    app::update(&mut s, Msg::Db(DbEvent::JobDone(plan)));
    let Overlay::Dialog(Dialog::Claim(form)) = &s.overlay else { panic!("the claim dialog again: {:?}", s.overlay) };
    assert!(form.plan.is_some() && !form.params.dry_run, "planned, ready to claim: {form:?}");
    // Changing the claim drops the plan: Enter plans again.
    key(&mut s, KeyCode::Right);
    let Overlay::Dialog(Dialog::Claim(form)) = &s.overlay else { panic!() };
    assert!(form.plan.is_none() && form.params.dry_run && form.params.batch_size == 12, "{form:?}");
    key(&mut s, KeyCode::Left);
    let fx = key(&mut s, KeyCode::Enter);
    let planned = &crate::ran::<PlanClaim>(&fx).0;
    let plan = JobResult::done(ClaimPlanned { params: planned.clone(), report: Box::new(ClaimReport::default()) });
    app::update(&mut s, Msg::Db(DbEvent::JobDone(plan)));
    let fx = key(&mut s, KeyCode::Enter);
    let p = crate::ran::<ClaimParams>(&fx);
    assert!(!p.dry_run);
    assert_eq!(p.batch_size, 11);
    assert!(s.job_running);
    assert!(matches!(s.overlay, Overlay::Dialog(Dialog::Running { .. })));
    // Keys do nothing while it runs: it is never started twice.
    assert!(key(&mut s, KeyCode::Enter).is_empty());
    let fx = app::update(&mut s, Msg::Db(DbEvent::JobDone(JobResult::done(ClaimReport::default()))));
    assert!(fx.contains(&Effect::Worker(WorkerCmd::RefreshNow)), "refreshes to show the effect");
    assert!(!s.job_running);
    assert!(matches!(s.overlay, Overlay::Dialog(Dialog::Result { ok: true, .. })));
    key(&mut s, KeyCode::Enter);
    assert_eq!(s.overlay, Overlay::None);
}

#[test]
fn escape_cancels_every_dialog_and_does_nothing() {
    let (mut s, _) = fixture::state(20);
    on_action(&mut s, Action::Claim);
    assert!(key(&mut s, KeyCode::Esc).is_empty());
    assert_eq!(s.overlay, Overlay::None);
    on_action(&mut s, Action::FocusLocks);
    on_action(&mut s, Action::Release);
    assert!(key(&mut s, KeyCode::Char('n')).is_empty());
    assert_eq!(s.overlay, Overlay::None);
    // The reset dialog comes from its dry run; Esc then does nothing more.
    let fx = on_action(&mut s, Action::ResetStuck);
    let job = crate::ran::<ResetJob>(&fx);
    let plan = ResetReport { dry_run: true, ..Default::default() };
    app::update(&mut s, Msg::Db(DbEvent::JobDone(JobResult::done(ResetDone { job: job.clone(), report: plan }))));
    crate::confirming::<ResetJob, ResetReport>(&s.overlay);
    assert!(key(&mut s, KeyCode::Esc).is_empty());
    assert_eq!(s.overlay, Overlay::None);
    assert!(!s.job_running);
}

#[test]
fn release_targets_the_selected_holder_and_refuses_foreign_and_waiters() {
    let (mut s, _) = fixture::state(20);
    // Not on the lock panel: refused with a hint.
    assert!(on_action(&mut s, Action::Release).len() == 1 && s.overlay == Overlay::None);
    on_action(&mut s, Action::FocusLocks);
    on_action(&mut s, Action::Release);
    let (ReleaseJob { method, .. }, plans) = crate::confirming::<ReleaseJob, Vec<HolderPlan>>(&s.overlay);
    let (method, plans) = (*method, plans.clone());
    let [plan] = plans.as_slice() else { panic!("one holder: {plans:?}") };
    let target = plan.target.clone();
    assert_eq!((target.pid, target.month, method), (4242, ym(2023, 5), Method::Terminate));
    let text = backfill_console::present::release::plan(&plans, method);
    assert!(
        text[0].strong
            && text[0]
                .text
                .contains("TERMINATE pid 4242 (pg_terminate_backend(4242)): it holds month lock(s) 2023-05 (pending)"),
        "{text:?}"
    );
    let fx = key(&mut s, KeyCode::Enter);
    assert_eq!(crate::ran::<ReleaseJob>(&fx).method, Method::Terminate);
    let done = Released { target, outcome: Outcome::Done { lock_released: true } };
    let result = JobResult::done(ReleaseDone { method, outcomes: vec![done] });
    app::update(&mut s, Msg::Db(DbEvent::JobDone(result)));
    key(&mut s, KeyCode::Enter);
    // The waiter (row 2) and the foreign lock (row 4) are refused.
    on_action(&mut s, Action::Down);
    on_action(&mut s, Action::CancelQuery);
    assert_eq!(s.overlay, Overlay::None);
    assert!(s.notice.as_ref().unwrap().text.contains("waiting"));
    on_action(&mut s, Action::End);
    on_action(&mut s, Action::Release);
    assert_eq!(s.overlay, Overlay::None);
    assert!(s.notice.as_ref().unwrap().text.contains("foreign lock"));
}

#[test]
fn marked_holders_are_released_together_and_only_the_signalled_lose_their_mark() {
    // Issue 23, item 3: Space marks the selected holder, * every holder shown (never a
    // waiter or a foreign lock), r releases the marked ones in one confirmation.
    let (mut s, _) = fixture::state(20);
    let holders: std::collections::BTreeSet<i32> = {
        let snap = s.snapshot.as_ref().unwrap();
        snap.locks.iter().filter(|l| l.granted && l.month().is_some()).filter_map(|l| l.pid).collect()
    };
    assert!(holders.len() >= 2, "the fixture has several holders: {holders:?}");
    on_action(&mut s, Action::FocusLocks);
    on_action(&mut s, Action::Mark);
    assert_eq!(s.marked_locks.len(), 1, "Space marks the selected holder");
    on_action(&mut s, Action::Mark);
    assert!(s.marked_locks.is_empty(), "Space again unmarks it");
    on_action(&mut s, Action::End);
    on_action(&mut s, Action::Mark);
    assert!(s.notice.as_ref().unwrap().text.contains("foreign lock"), "a foreign lock is never marked");
    assert!(s.marked_locks.is_empty());
    on_action(&mut s, Action::MarkAll);
    let marked: std::collections::BTreeSet<i32> = s.marked_locks.iter().map(|(pid, _)| *pid).collect();
    assert_eq!(marked, holders, "* marks every holder shown, no waiter, no foreign lock");

    on_action(&mut s, Action::Release);
    let Overlay::Dialog(dialog) = s.overlay.clone() else { panic!("{:?}", s.overlay) };
    let (ReleaseJob { method, .. }, plans) = crate::confirming::<ReleaseJob, Vec<HolderPlan>>(&s.overlay);
    let (plans, method) = (plans.clone(), *method);
    assert_eq!(plans.iter().map(|p| p.target.pid).collect::<std::collections::BTreeSet<_>>(), holders);
    let title = dialog.title();
    assert!(title.starts_with(&format!("Terminate {} sessions", holders.len())), "{title}");
    let text = backfill_console::present::release::plan(&plans, method);
    for pid in &holders {
        assert!(text.iter().any(|l| l.text.starts_with(&format!("  pid {pid} · "))), "each pid listed: {text:?}");
    }
    let fx = key(&mut s, KeyCode::Enter);
    let ReleaseJob { holders: asked, .. } = crate::ran::<ReleaseJob>(&fx);
    assert_eq!(asked.len(), holders.len(), "one job for every marked holder");
    // The first was signalled, the others refused: only the first loses its mark.
    let outcomes = asked
        .iter()
        .enumerate()
        .map(|(i, h)| {
            let outcome = if i == 0 {
                Outcome::Done { lock_released: true }
            } else {
                Outcome::Refused { reason: "that session no longer holds the lock".into() }
            };
            Released { target: h.target.clone(), outcome }
        })
        .collect();
    app::update(&mut s, Msg::Db(DbEvent::JobDone(JobResult::done(ReleaseDone { method, outcomes }))));
    let Overlay::Dialog(Dialog::Result { lines, ok, .. }) = &s.overlay else { panic!("{:?}", s.overlay) };
    assert_eq!(lines.len(), holders.len(), "a line per holder: {lines:?}");
    assert!(!ok, "not every holder was signalled");
    assert_eq!(s.marked_locks.len(), holders.len() - 1, "the refused stay marked");
    key(&mut s, KeyCode::Enter);
    on_action(&mut s, Action::ClearMarks);
    assert!(s.marked_locks.is_empty(), "u clears the lock marks too");
}

#[test]
fn reset_is_planned_by_a_dry_run_then_confirmed() {
    let (mut s, _) = fixture::state(20);
    // The stuck months are planned first: the same routine, as a dry run.
    let fx = on_action(&mut s, Action::ResetStuck);
    let job = crate::ran::<ResetJob>(&fx);
    assert!(job.dry_run);
    assert_eq!(job.months.iter().map(|m| m.month).collect::<Vec<_>>(), [ym(2024, 9)]);
    let plan = ResetReport { dry_run: true, reset: vec![(ym(2024, 9), "retry".into())], ..Default::default() };
    app::update(&mut s, Msg::Db(DbEvent::JobDone(JobResult::done(ResetDone { job: job.clone(), report: plan }))));
    let (shown, plan) = crate::confirming::<ResetJob, ResetReport>(&s.overlay);
    let (shown, plan) = (shown.clone(), plan.clone());
    let text = backfill_console::present::reset::plan(shown.older_than, &shown.months, shown.taken_at, Some(&plan));
    assert!(text[0].text.starts_with("Reset 1 month(s)"), "{text:?}");
    assert!(text[1].text.starts_with("  2024-09  -> retry  since"), "{text:?}");
    let fx = key(&mut s, KeyCode::Char('y'));
    let run = crate::ran::<ResetJob>(&fx);
    assert!(!run.dry_run);
    assert_eq!(run.months, job.months);
}

#[test]
fn read_only_and_watch_refuse_every_action() {
    for watch in [false, true] {
        let (mut s, _) = fixture::state(20);
        s.read_only = !watch;
        s.watch = watch;
        on_action(&mut s, Action::FocusLocks);
        for action in [Action::Claim, Action::Release, Action::CancelQuery, Action::ResetStuck] {
            let fx = on_action(&mut s, action);
            assert_eq!(s.overlay, Overlay::None, "{action:?}");
            assert!(!fx.iter().any(|e| matches!(e, Effect::Run(_))), "{action:?}");
            assert!(s.notice.as_ref().unwrap().text.contains("read-only"), "{action:?}");
        }
    }
}

#[test]
fn cancel_on_an_idle_holder_points_to_release_instead_of_offering_a_no_op() {
    // Issue 23, item 6: an idle session runs no query; a cancel would keep its locks.
    let (mut s, _) = fixture::state(20);
    on_action(&mut s, Action::FocusLocks);
    assert!(backfill_console::app::select::selected_lock(&s).unwrap().holder.as_ref().unwrap().is_idle());
    on_action(&mut s, Action::CancelQuery);
    assert_eq!(s.overlay, Overlay::None, "no dialog for a no-op");
    let text = &s.notice.as_ref().unwrap().text;
    assert!(text.contains("is idle: there is no query to cancel") && text.contains("r ends its session"), "{text}");
}

/// Every action of the main screen is the console's own (`app::update`) or an operation's
/// (answered by the catalogue, `ops::OPERATIONS`), never both and never neither: a new
/// action nobody answers would otherwise do nothing without a word.
#[test]
fn every_action_is_the_consoles_own_or_an_operations() {
    use Action::*;
    let own = [
        Quit,
        FocusNext,
        FocusPrev,
        FocusMonths,
        FocusCalendar,
        FocusLocks,
        FocusQueue,
        Up,
        Down,
        Left,
        Right,
        PageUp,
        PageDown,
        Home,
        End,
        Filter,
        Sort,
        Detail,
        Help,
        Pause,
        Faster,
        Slower,
        CopyRow,
        CopySql,
        Claim,
        Refresh,
        Errors,
        Mark,
        MarkAll,
        ClearMarks,
        Audit,
        DeadLetters,
        Verdicts,
        Contexts,
        Fleet,
    ];
    let (s, _) = fixture::state(20);
    let chosen = app::select::chosen(&s);
    for action in Action::ALL {
        let answered = backfill_console::ops::OPERATIONS.ask(*action, &chosen).is_some();
        assert!(
            own.contains(action) != answered,
            "{action:?}: the console's own: {}, an operation's: {answered}",
            own.contains(action)
        );
    }
    // In the dead-letter view, redrive and purge are the operations'.
    let choice = backfill_console::model::ask::DeadChoice {
        which: backfill_console::model::dead::Which::All,
        count: 1,
        what: "every dead letter".into(),
        selection: "console: every reason".into(),
        until: None,
    };
    for action in OverlayAction::ALL {
        let answered = backfill_console::ops::OPERATIONS.ask_in_view(*action, &choice).is_some();
        assert_eq!(answered, matches!(action, OverlayAction::Redrive | OverlayAction::Purge), "{action:?}");
    }
}
