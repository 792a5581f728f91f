//! `app::update` for every action and mode: pure, so no terminal and no database.
#![allow(clippy::unwrap_used, clippy::expect_used)] // tests may panic
use crate::fixture;

use std::time::Duration;

use backfill_console::app::dialog::Dialog;
use backfill_console::app::update::on_action;
use backfill_console::app::{
    self, Action, DbEvent, Detail, Effect, Job, JobResult, Link, Msg, Overlay, Panel, State, WorkerCmd,
};
use backfill_console::db::claim::ClaimReport;
use backfill_console::db::lock_key::YearMonth;
use backfill_console::db::release::{Method, Outcome};
use backfill_console::model::FailureKind;
use backfill_console::model::job::Plan;
use backfill_console::model::release::Released;
use backfill_console::model::reset::ResetReport;
use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};

fn key(state: &mut State, code: KeyCode) -> Vec<Effect> {
    app::update(state, Msg::Key(KeyEvent::new(code, KeyModifiers::NONE)))
}

fn ctrl(state: &mut State, c: char) -> Vec<Effect> {
    app::update(state, Msg::Key(KeyEvent::new(KeyCode::Char(c), KeyModifiers::CONTROL)))
}

fn ym(y: i32, m: i32) -> YearMonth {
    YearMonth::new(y, m).unwrap()
}

#[test]
fn navigation_focus_and_selection() {
    let (mut s, _) = fixture::state(20);
    assert_eq!(s.focus, Panel::Months);
    assert_eq!(s.selected_month, Some(ym(2024, 12)));
    on_action(&mut s, Action::Down);
    on_action(&mut s, Action::Down);
    assert_eq!(s.selected_month, Some(ym(2024, 10)));
    on_action(&mut s, Action::PageDown);
    assert_eq!(s.selected_month, Some(ym(2023, 12)));
    on_action(&mut s, Action::End);
    assert_eq!(s.selected_month, Some(ym(2000, 1)));
    on_action(&mut s, Action::Home);
    assert_eq!(s.selected_month, Some(ym(2024, 12)));
    on_action(&mut s, Action::Up);
    assert_eq!(s.selected_month, Some(ym(2024, 12)), "stays at the top");
    // The calendar moves by month and by year over the same selection.
    on_action(&mut s, Action::FocusCalendar);
    on_action(&mut s, Action::Left);
    assert_eq!(s.selected_month, Some(ym(2024, 11)));
    on_action(&mut s, Action::Down);
    assert_eq!(s.selected_month, Some(ym(2023, 11)));
    on_action(&mut s, Action::Right);
    on_action(&mut s, Action::Up);
    assert_eq!(s.selected_month, Some(ym(2024, 12)));
    on_action(&mut s, Action::Up);
    assert_eq!(s.selected_month, Some(ym(2024, 12)), "no 2025 row: stays");
    // Focus cycles through the four panels, both ways.
    for want in [Panel::Locks, Panel::Queue, Panel::Months, Panel::Calendar] {
        on_action(&mut s, Action::FocusNext);
        assert_eq!(s.focus, want);
    }
    on_action(&mut s, Action::FocusPrev);
    assert_eq!(s.focus, Panel::Months);
    on_action(&mut s, Action::FocusLocks);
    on_action(&mut s, Action::Down);
    assert_eq!(s.selected_lock, 1);
    on_action(&mut s, Action::End);
    assert_eq!(s.selected_lock, 3);
    on_action(&mut s, Action::FocusQueue);
    assert_eq!(s.focus, Panel::Queue);
}

#[test]
fn filter_typing_applies_and_escape_clears() {
    let (mut s, _) = fixture::state(20);
    on_action(&mut s, Action::Filter);
    assert_eq!(s.overlay, Overlay::Filter);
    for c in "fail".chars() {
        key(&mut s, KeyCode::Char(c));
    }
    assert_eq!(s.filter, "fail");
    assert_eq!(app::select::visible_months(&s).len(), 13);
    assert!(s.selected_month.is_some(), "selection moved into the filtered rows");
    key(&mut s, KeyCode::Backspace);
    assert_eq!(s.filter, "fai");
    key(&mut s, KeyCode::Enter);
    assert_eq!(s.overlay, Overlay::None);
    assert_eq!(s.filter, "fai", "Enter keeps the filter");
    on_action(&mut s, Action::Filter);
    key(&mut s, KeyCode::Esc);
    assert!(s.filter.is_empty());
    // Keys typed into the filter are not actions.
    on_action(&mut s, Action::Filter);
    key(&mut s, KeyCode::Char('q'));
    assert!(!s.quit);
    assert_eq!(s.filter, "q");
}

#[test]
fn editing_a_filter_starts_with_its_text_selected() {
    let (mut s, _) = fixture::state(20);
    on_action(&mut s, Action::Filter);
    for c in "processing".chars() {
        key(&mut s, KeyCode::Char(c));
    }
    key(&mut s, KeyCode::Enter);
    // Opened again: typing replaces the old text (it was appended to: "processing2015-02").
    on_action(&mut s, Action::Filter);
    assert!(s.filter_selected);
    for c in "2015-02".chars() {
        key(&mut s, KeyCode::Char(c));
    }
    assert_eq!(s.filter, "2015-02");
    assert!(!s.filter_selected);
    // Enter keeps a selected filter as it is; Backspace on it clears it whole.
    key(&mut s, KeyCode::Enter);
    on_action(&mut s, Action::Filter);
    key(&mut s, KeyCode::Enter);
    assert_eq!(s.filter, "2015-02");
    on_action(&mut s, Action::Filter);
    key(&mut s, KeyCode::Backspace);
    assert_eq!(s.filter, "");
    // Once something was typed, Backspace takes one character, as before.
    for c in "fail".chars() {
        key(&mut s, KeyCode::Char(c));
    }
    key(&mut s, KeyCode::Backspace);
    assert_eq!(s.filter, "fai");
    // An empty filter opens with nothing selected.
    key(&mut s, KeyCode::Esc);
    on_action(&mut s, Action::Filter);
    assert!(!s.filter_selected);
}

#[test]
fn sort_help_pause_refresh_rate_and_quit() {
    let (mut s, _) = fixture::state(20);
    let before = s.month_sort;
    on_action(&mut s, Action::Sort);
    assert_ne!(s.month_sort, before);
    on_action(&mut s, Action::FocusLocks);
    let before = s.lock_sort;
    on_action(&mut s, Action::Sort);
    assert_ne!(s.lock_sort, before);
    on_action(&mut s, Action::Help);
    assert_eq!(s.overlay, Overlay::Help { scroll: 0 });
    key(&mut s, KeyCode::Esc);
    assert_eq!(s.overlay, Overlay::None);
    assert_eq!(on_action(&mut s, Action::Pause), [Effect::Worker(WorkerCmd::SetPaused(true))]);
    assert!(s.paused && !s.is_stale());
    on_action(&mut s, Action::Pause);
    assert!(!s.paused);
    for _ in 0..10 {
        on_action(&mut s, Action::Faster);
    }
    assert_eq!(s.refresh, Duration::from_millis(250), "clamped");
    for _ in 0..20 {
        on_action(&mut s, Action::Slower);
    }
    assert_eq!(s.refresh, Duration::from_secs(60), "clamped");
    assert_eq!(on_action(&mut s, Action::Refresh), [Effect::Worker(WorkerCmd::RefreshNow)]);
    key(&mut s, KeyCode::Char('q'));
    assert!(s.quit);
}

#[test]
fn ctrl_c_quits_from_anywhere() {
    let (mut s, _) = fixture::state(20);
    on_action(&mut s, Action::Claim);
    ctrl(&mut s, 'c');
    assert!(s.quit);
}

#[test]
fn copy_row_and_sql_go_to_the_clipboard() {
    let (mut s, _) = fixture::state(20);
    let fx = on_action(&mut s, Action::CopySql);
    assert_eq!(fx, [Effect::Copy("SELECT * FROM backfill_log WHERE year = 2024 AND month = 12;".into())]);
    let fx = on_action(&mut s, Action::CopyRow);
    assert!(matches!(&fx[0], Effect::Copy(t) if t.starts_with("2024-12\tprocessing")));
    on_action(&mut s, Action::FocusLocks);
    let fx = on_action(&mut s, Action::CopySql);
    assert_eq!(fx, [Effect::Copy("SELECT pg_terminate_backend(4242); -- holds 2023-05".into())]);
}

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
    let [Effect::Run(Job::PlanClaim(planned))] = fx.as_slice() else { panic!("a dry run first: {fx:?}") };
    assert!(planned.dry_run && planned.batch_size == 11, "{planned:?}");
    let plan = JobResult::ClaimPlan { params: planned.clone(), report: Box::new(ClaimReport::default()) };
    app::update(&mut s, Msg::Db(DbEvent::JobDone(plan)));
    let Overlay::Dialog(Dialog::Claim(form)) = &s.overlay else { panic!("the claim dialog again: {:?}", s.overlay) };
    assert!(form.plan.is_some() && !form.params.dry_run, "planned, ready to claim: {form:?}");
    // Changing the claim drops the plan: Enter plans again.
    key(&mut s, KeyCode::Right);
    let Overlay::Dialog(Dialog::Claim(form)) = &s.overlay else { panic!() };
    assert!(form.plan.is_none() && form.params.dry_run && form.params.batch_size == 12, "{form:?}");
    key(&mut s, KeyCode::Left);
    let fx = key(&mut s, KeyCode::Enter);
    let [Effect::Run(Job::PlanClaim(planned))] = fx.as_slice() else { panic!("planned again: {fx:?}") };
    let plan = JobResult::ClaimPlan { params: planned.clone(), report: Box::new(ClaimReport::default()) };
    app::update(&mut s, Msg::Db(DbEvent::JobDone(plan)));
    let fx = key(&mut s, KeyCode::Enter);
    let [Effect::Run(Job::Claim(p))] = fx.as_slice() else { panic!("one claim job: {fx:?}") };
    assert!(!p.dry_run);
    assert_eq!(p.batch_size, 11);
    assert!(s.job_running);
    assert!(matches!(s.overlay, Overlay::Dialog(Dialog::Running { .. })));
    // Keys do nothing while it runs: it is never started twice.
    assert!(key(&mut s, KeyCode::Enter).is_empty());
    let fx = app::update(&mut s, Msg::Db(DbEvent::JobDone(JobResult::Claim(ClaimReport::default()))));
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
    let [Effect::Run(Job::Reset(job))] = fx.as_slice() else { panic!("{fx:?}") };
    let plan = ResetReport { dry_run: true, ..Default::default() };
    app::update(&mut s, Msg::Db(DbEvent::JobDone(JobResult::Reset { job: job.clone(), report: plan })));
    assert!(matches!(s.overlay, Overlay::Dialog(Dialog::Confirm { job: Job::Reset(_), plan: Plan::Reset(_) })));
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
    let Overlay::Dialog(Dialog::Confirm { job: Job::Release { method, .. }, plan: Plan::Release(plans) }) =
        s.overlay.clone()
    else {
        panic!()
    };
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
    assert!(matches!(&fx[..], [Effect::Run(Job::Release { method: Method::Terminate, .. })]));
    let done = Released { target, outcome: Outcome::Done { lock_released: true } };
    let result = JobResult::Release { method, outcomes: vec![done] };
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
    let Dialog::Confirm { job: Job::Release { method, .. }, plan: Plan::Release(plans) } = &dialog else { panic!() };
    let (plans, method) = (plans.clone(), *method);
    assert_eq!(plans.iter().map(|p| p.target.pid).collect::<std::collections::BTreeSet<_>>(), holders);
    let title = dialog.title();
    assert!(title.starts_with(&format!("Terminate {} sessions", holders.len())), "{title}");
    let text = backfill_console::present::release::plan(&plans, method);
    for pid in &holders {
        assert!(text.iter().any(|l| l.text.starts_with(&format!("  pid {pid} · "))), "each pid listed: {text:?}");
    }
    let fx = key(&mut s, KeyCode::Enter);
    let [Effect::Run(Job::Release { holders: asked, .. })] = fx.as_slice() else { panic!("{fx:?}") };
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
    app::update(&mut s, Msg::Db(DbEvent::JobDone(JobResult::Release { method, outcomes })));
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
    let [Effect::Run(Job::Reset(job))] = fx.as_slice() else { panic!("a planning job: {fx:?}") };
    assert!(job.dry_run);
    assert_eq!(job.months.iter().map(|m| m.month).collect::<Vec<_>>(), [ym(2024, 9)]);
    let plan = ResetReport { dry_run: true, reset: vec![(ym(2024, 9), "retry".into())], ..Default::default() };
    app::update(&mut s, Msg::Db(DbEvent::JobDone(JobResult::Reset { job: job.clone(), report: plan })));
    let Overlay::Dialog(Dialog::Confirm { job: Job::Reset(shown), plan: Plan::Reset(plan) }) = s.overlay.clone() else {
        panic!("{:?}", s.overlay)
    };
    let text = backfill_console::present::reset::plan(shown.older_than, &shown.months, shown.taken_at, Some(&plan));
    assert!(text[0].text.starts_with("Reset 1 month(s)"), "{text:?}");
    assert!(text[1].text.starts_with("  2024-09  -> retry  since"), "{text:?}");
    let fx = key(&mut s, KeyCode::Char('y'));
    let [Effect::Run(Job::Reset(run))] = fx.as_slice() else { panic!("the reset: {fx:?}") };
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
fn a_month_detail_is_loaded_and_shown() {
    let (mut s, _) = fixture::state(20);
    let fx = on_action(&mut s, Action::Detail);
    assert_eq!(fx, [Effect::Worker(WorkerCmd::LoadMonthDetail(ym(2024, 12)))]);
    let lines = vec!["status processing".to_string()];
    app::update(&mut s, Msg::Db(DbEvent::MonthDetail { month: ym(2024, 12), lines: lines.clone() }));
    assert_eq!(s.overlay, Overlay::Detail(Detail::Month { month: ym(2024, 12), lines: Some(lines) }));
    key(&mut s, KeyCode::Esc);
    on_action(&mut s, Action::FocusLocks);
    on_action(&mut s, Action::Detail);
    assert_eq!(s.overlay, Overlay::Detail(Detail::Session { pid: 4242 }));
}

#[test]
fn the_link_drops_goes_stale_and_recovers_and_an_action_in_flight_is_unknown() {
    let (mut s, at) = fixture::state(20);
    let ev = DbEvent::RefreshFailed { error: "connection closed".into(), link_lost: true, attempt: 1 };
    app::update(&mut s, Msg::Db(ev));
    assert!(matches!(s.link, Link::Reconnecting { attempt: 1, .. }));
    assert!(s.is_stale(), "data kept but marked stale");
    assert!(s.snapshot.is_some(), "the last good data stays");
    let result =
        JobResult::Failed { job: "Claim".into(), error: "connection closed".into(), kind: FailureKind::LinkLost };
    let fx = app::update(&mut s, Msg::Db(DbEvent::JobDone(result)));
    assert!(!fx.iter().any(|e| matches!(e, Effect::Run(_))), "never repeated by itself");
    let Overlay::Dialog(Dialog::Result { lines, ok: false, .. }) = &s.overlay else { panic!() };
    assert!(lines[0].contains("outcome unknown — see the audit table"));
    app::update(&mut s, Msg::Db(DbEvent::Connected { server_version: "15".into(), route: app::Route::direct() }));
    let snap = fixture::snapshot(60, 20);
    app::update(&mut s, Msg::Db(DbEvent::Snapshot(Box::new(snap), at + Duration::from_secs(60))));
    assert_eq!(s.link, Link::Connected);
    assert!(!s.is_stale());
}

/// The privilege advice follows the failure's kind, not words in its text.
#[test]
fn a_missing_privilege_is_told_by_its_kind() {
    let advice = |kind: FailureKind, error: &str| {
        let (mut s, _) = fixture::state(20);
        s.job_running = true;
        let result = JobResult::Failed { job: "Claim".into(), error: error.into(), kind };
        app::update(&mut s, Msg::Db(DbEvent::JobDone(result)));
        let Overlay::Dialog(Dialog::Result { lines, ok: false, .. }) = &s.overlay else { panic!() };
        lines.iter().any(|l| l.contains("the database role lacks a privilege"))
    };
    assert!(advice(FailureKind::PermissionDenied, "could not claim: permission denied for table backfill_log"));
    assert!(advice(FailureKind::PermissionDenied, "could not claim: keine Berechtigung für Tabelle backfill_log"));
    assert!(!advice(FailureKind::Other, "could not claim: a month named 'permission denied' broke it"));
    assert!(!advice(FailureKind::LinkLost, "permission denied"));
}

#[test]
fn a_new_critical_rings_the_bell_once_when_asked() {
    let (mut s, at) = fixture::state(20);
    s.bell_on_critical = true;
    let critical =
        |i: u64| Msg::Db(DbEvent::Snapshot(Box::new(fixture::snapshot(i as i64, 500)), at + Duration::from_secs(i)));
    assert_eq!(app::update(&mut s, critical(1)), [Effect::Bell]);
    assert!(app::update(&mut s, critical(2)).is_empty(), "not again while it stays critical");
}

#[test]
fn stale_after_two_intervals_without_a_refresh() {
    let (mut s, at) = fixture::state(20);
    app::update(&mut s, Msg::Tick(at + Duration::from_secs(2)));
    assert!(!s.is_stale());
    app::update(&mut s, Msg::Tick(at + Duration::from_secs(4)));
    assert!(s.is_stale());
}

#[test]
fn only_a_transaction_poolers_address_judges_stranded_locks() {
    // Behind a session pooler a backend keeps its client for life: a consumer working
    // while it holds its month's lock is normal there, never stranded.
    for (via, judged) in [(app::Via::SessionPooler, false), (app::Via::TransactionPooler, true)] {
        let (mut s, _) = fixture::state(20);
        let route = app::Route { via, pooler_addr: Some("10.0.0.5".into()), ..app::Route::direct() };
        app::update(&mut s, Msg::Db(DbEvent::Connected { server_version: "15".into(), route }));
        assert_eq!(s.thresholds.poolers.contains(&"10.0.0.5".to_string()), judged, "{via:?}");
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

#[test]
fn enter_on_the_wall_opens_nothing_over_it() {
    // Issue 23, item 6: in `watch`, Enter opened a month's detail over the wall.
    let (mut s, _) = fixture::state(20);
    s.watch = true;
    on_action(&mut s, Action::Detail);
    assert_eq!(s.overlay, Overlay::None);
    assert!(s.notice.as_ref().unwrap().text.contains("the wall has no row to open"));
}
