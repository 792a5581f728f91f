//! The console's incident workflow without a database: the errors view, marks, and the
//! retry dialog, driven through `app::update` and drawn on a TestBackend.
#![allow(clippy::unwrap_used, clippy::expect_used)] // tests may panic
use crate::fixture;

use backfill_console::app::dialog::Dialog;
use backfill_console::app::update::on_action;
use backfill_console::app::{self, Action, DbEvent, Effect, JobResult, Msg, Overlay};
use backfill_console::db::lock_key::YearMonth;
use backfill_console::model::claim::{Candidate, ClaimParams, ClaimReport};
use backfill_console::model::job::{ClaimPlanned, PlanClaim};
use backfill_console::model::reset::ResetReport;
use backfill_console::model::retry::{RetryReport, RetrySkip, Skipped};
use backfill_console::model::status::Status;
use backfill_console::ops::reset::{ResetDone, ResetJob};
use backfill_console::ops::retry::{RetryDone, RetryJob};
use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use fixture::screen::render;

fn key(state: &mut app::State, code: KeyCode) -> Vec<Effect> {
    app::update(state, Msg::Key(KeyEvent::new(code, KeyModifiers::NONE)))
}

fn ym(text: &str) -> YearMonth {
    YearMonth::parse(text).unwrap()
}

#[test]
fn the_errors_view_lists_causes_and_narrows_the_months_to_one() {
    let (mut s, _) = fixture::state(20);
    assert!(s.causes.len() >= 2, "the fixture has failures of two causes");
    on_action(&mut s, Action::Errors);
    assert_eq!(s.overlay, Overlay::Errors { selected: 0 });
    insta::assert_snapshot!("errors_view_80x24", render(&s, 80, 24, false));
    key(&mut s, KeyCode::Down);
    insta::assert_snapshot!("errors_view_160x48", render(&s, 160, 48, false));
    let top = s.causes[0].clone();
    key(&mut s, KeyCode::Enter);
    assert_eq!(s.overlay, Overlay::None);
    assert_eq!(s.cause.as_deref(), Some(top.signature.as_str()));
    let shown: Vec<YearMonth> = backfill_console::app::select::visible_months(&s)
        .iter()
        .map(|&i| s.snapshot.as_ref().unwrap().months[i].year_month().unwrap())
        .collect();
    let mut expected = top.months.clone();
    expected.sort();
    let mut got = shown.clone();
    got.sort();
    assert_eq!(got, expected, "the months table shows that cause's months only");
    // Row 0 is every month again.
    on_action(&mut s, Action::Errors);
    key(&mut s, KeyCode::Enter);
    assert_eq!(s.cause, None);
}

#[test]
fn marks_then_retry_plans_with_a_dry_run_asks_and_runs_it() {
    let (mut s, _) = fixture::state(20);
    on_action(&mut s, Action::Errors);
    key(&mut s, KeyCode::Down);
    key(&mut s, KeyCode::Enter);
    on_action(&mut s, Action::MarkAll);
    let marked: Vec<YearMonth> = s.marked.iter().copied().collect();
    assert_eq!(marked.len(), s.causes[0].count);
    // Space unmarks the selected one, and marks it again.
    let first = s.selected_month.unwrap();
    key(&mut s, KeyCode::Char(' '));
    assert!(!s.marked.contains(&first));
    key(&mut s, KeyCode::Char(' '));
    assert!(s.marked.contains(&first));
    insta::assert_snapshot!("marked_months_80x24", render(&s, 80, 24, false));
    insta::assert_snapshot!("marked_months_160x48", render(&s, 160, 48, false));
    let fx = on_action(&mut s, Action::Retry);
    let job = crate::ran::<RetryJob>(&fx);
    assert!(job.dry_run && !job.reset_count);
    assert_eq!(job.months, marked);
    // The dry run's answer opens the dialog that says exactly what will happen.
    let plan = RetryReport {
        dry_run: true,
        retried: marked[1..].to_vec(),
        skipped: vec![Skipped { month: marked[0], why: RetrySkip::AtRetryCap { retry_count: 5 } }],
        ..Default::default()
    };
    app::update(
        &mut s,
        Msg::Db(DbEvent::JobDone(JobResult::done(RetryDone { job: job.clone(), report: plan.clone() }))),
    );
    crate::confirming::<RetryJob, RetryReport>(&s.overlay);
    insta::assert_snapshot!("retry_dialog_80x24", render(&s, 80, 24, false));
    insta::assert_snapshot!("retry_dialog_160x48", render(&s, 160, 48, false));
    // → asks again with the count reset; Enter runs it for real.
    let fx = key(&mut s, KeyCode::Right);
    let replan = crate::ran::<RetryJob>(&fx);
    assert!(replan.dry_run && replan.reset_count);
    app::update(&mut s, Msg::Db(DbEvent::JobDone(JobResult::done(RetryDone { job: replan.clone(), report: plan }))));
    let fx = key(&mut s, KeyCode::Enter);
    let RetryJob { dry_run: false, reset_count: true, months, .. } = crate::ran::<RetryJob>(&fx) else {
        panic!("{fx:?}")
    };
    assert_eq!(months, &marked);
    let done = RetryReport { retried: marked.clone(), reset_count: true, ..Default::default() };
    let job = RetryJob { dry_run: false, ..replan.clone() };
    app::update(&mut s, Msg::Db(DbEvent::JobDone(JobResult::done(RetryDone { job, report: done }))));
    let Overlay::Dialog(Dialog::Result { lines, ok: true, .. }) = &s.overlay else { panic!("{:?}", s.overlay) };
    assert!(lines[0].starts_with(&format!("retried {}, left alone 0", marked.len())), "{lines:?}");
    assert!(s.marked.is_empty(), "marks are cleared once every marked month was retried");
}

#[test]
fn without_marks_actions_take_the_selected_month_and_read_only_refuses_retry() {
    let (mut s, _) = fixture::state(20);
    let fx = on_action(&mut s, Action::Retry);
    let job = crate::ran::<RetryJob>(&fx);
    assert_eq!(job.months, [s.selected_month.unwrap()]);
    let (mut ro, _) = fixture::state(20);
    ro.read_only = true;
    assert!(matches!(on_action(&mut ro, Action::Retry).as_slice(), [Effect::Log { .. }]));
    assert!(ro.notice.as_ref().unwrap().text.contains("read-only"));
    // Marks are for months.
    let (mut l, _) = fixture::state(20);
    on_action(&mut l, Action::FocusLocks);
    on_action(&mut l, Action::Mark);
    assert!(l.marked.is_empty());
    // A claim with marks is the claim of those months, planned by a dry run first.
    let (mut c, _) = fixture::state(20);
    c.marked.extend([ym("2024-06"), ym("2024-08")]);
    let fx = on_action(&mut c, Action::Claim);
    let params = &crate::ran::<PlanClaim>(&fx).0;
    assert!(params.dry_run);
    assert_eq!(params.months, [ym("2024-06"), ym("2024-08")]);
    assert_eq!(params.batch_size, 2);
    let candidate = |month, holder_pid: Option<i32>| Candidate {
        year: 2024,
        month,
        status: Status::Pending,
        retry_count: Some(0),
        lock_free: holder_pid.is_none(),
        holder_pid,
        queued_msg: None,
    };
    let found = ClaimReport {
        dry_run: true,
        candidates: vec![candidate(8, None), candidate(6, Some(4242))],
        ..ClaimReport::default()
    };
    let done = JobResult::done(ClaimPlanned { params: params.clone(), report: Box::new(found) });
    app::update(&mut c, Msg::Db(DbEvent::JobDone(done)));
    let Overlay::Dialog(Dialog::Claim(form)) = &c.overlay else { panic!("{:?}", c.overlay) };
    assert!(!form.params.dry_run, "the confirmed claim is the real one");
    assert!(form.plan.is_some());
    let screen = render(&c, 80, 24, false);
    assert!(screen.contains("A dry run of the routine (nothing changed) found:"), "{screen}");
    assert!(screen.contains("candidate 2024-06  pending  locked by pid 4242"), "{screen}");
    insta::assert_snapshot!("claim_marked_dialog_80x24", screen);
    insta::assert_snapshot!("claim_marked_dialog_160x48", render(&c, 160, 48, false));
    // Force-retry plans it again; Enter claims.
    let fx = key(&mut c, KeyCode::Right);
    let PlanClaim(p) = crate::ran::<PlanClaim>(&fx);
    assert!(p.force_retry && p.dry_run, "{fx:?}");
    let done = JobResult::done(ClaimPlanned {
        params: ClaimParams { force_retry: true, ..params.clone() },
        report: Box::new(ClaimReport { dry_run: true, ..ClaimReport::default() }),
    });
    app::update(&mut c, Msg::Db(DbEvent::JobDone(done)));
    let fx = key(&mut c, KeyCode::Enter);
    let p = crate::ran::<ClaimParams>(&fx);
    assert!(p.force_retry && !p.dry_run, "{fx:?}");
}

#[test]
fn the_queue_panel_shows_months_with_duplicate_messages() {
    let (mut s, at) = fixture::state(20);
    let mut snap = fixture::snapshot(31, 20);
    snap.duplicates = vec![
        backfill_console::model::snapshot::Duplicate { year: 2024, month: 3, msg_ids: vec![11, 12], more: false },
        backfill_console::model::snapshot::Duplicate { year: 2023, month: 7, msg_ids: vec![20, 21, 22], more: false },
    ];
    app::update(&mut s, Msg::Db(DbEvent::Snapshot(Box::new(snap), at + std::time::Duration::from_secs(1))));
    let screen = render(&s, 80, 24, false);
    assert!(screen.contains("duplicates: 2024-03×2 2023-07×3"), "{screen}");
    assert!(s.assessment.as_ref().unwrap().reasons.iter().any(|r| r.contains("more than one live queue message")));
    insta::assert_snapshot!("queue_duplicates_80x24", screen);
}

#[test]
fn the_reset_dialog_says_month_by_month_what_its_dry_run_found() {
    let (mut s, _) = fixture::state(20);
    let fx = on_action(&mut s, Action::ResetStuck);
    let job = crate::ran::<ResetJob>(&fx);
    let month = job.months[0].month;
    let plan = ResetReport { dry_run: true, skipped_locked: vec![month], ..ResetReport::default() };
    app::update(&mut s, Msg::Db(DbEvent::JobDone(JobResult::done(ResetDone { job: job.clone(), report: plan }))));
    let (job, plan) = crate::confirming::<ResetJob, ResetReport>(&s.overlay);
    let text = backfill_console::present::reset::plan(job.older_than, &job.months, job.taken_at, Some(plan));
    assert_eq!(text[0].text, "Nothing would be reset now (1 month(s) chosen):");
    assert!(text[1].text.starts_with("  2024-09  left alone: a live worker holds its lock  since"), "{text:?}");
    assert!(text[2].text.starts_with("Planned by a dry run of the same routine (rolled back)"), "{text:?}");
    insta::assert_snapshot!("reset_dialog_80x24", render(&s, 80, 24, false));
    insta::assert_snapshot!("reset_dialog_160x48", render(&s, 160, 48, false));
}
