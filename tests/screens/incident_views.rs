//! The dead-letter and audit views without a database: loaded through `DbEvent`s,
//! driven by keys, drawn on a TestBackend.
#![allow(clippy::unwrap_used, clippy::expect_used)] // tests may panic
use crate::fixture;

use backfill_console::app::update::on_action;
use backfill_console::app::{self, Action, DbEvent, Effect, JobResult, Msg, Overlay, WorkerCmd};
use backfill_console::model::Status;
use backfill_console::model::audit::AuditRow;
use backfill_console::model::dead::{DeadLetters, DeadMessage, DeadReason, RedriveReport, RedriveSkip, Which};
use backfill_console::model::lock_key::YearMonth;
use backfill_console::model::payload::Payload;
use backfill_console::ops::dead::{PurgeJob, PurgePlan, RedriveDone, RedriveJob};
use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use fixture::screen::render;

fn key(state: &mut app::State, code: KeyCode) -> Vec<Effect> {
    app::update(state, Msg::Key(KeyEvent::new(code, KeyModifiers::NONE)))
}

fn dead(msg_id: i64, month: i32, reason: &str, status: Status) -> DeadMessage {
    DeadMessage {
        msg_id,
        month: YearMonth::new(2024, month),
        month_status: Some(status),
        read_count: 3,
        enqueued_at: fixture::t(7200),
        dead_at: fixture::t(3600 - msg_id),
        reason: Some(reason.into()),
        message: Payload::Value(
            serde_json::json!({ "job_id": "0b6f5d9e-1c1a-4f0e-9b51-6a0e1c3f7a21", "year": 2024, "month": month }),
        ),
    }
}

/// What the worker reads: every reason counted (here from the messages), the messages.
fn letters(messages: Vec<DeadMessage>) -> DeadLetters {
    let mut reasons: Vec<DeadReason> = Vec::new();
    for m in &messages {
        let reason = m.reason.clone().unwrap_or_default();
        match reasons.iter_mut().find(|r| r.reason == reason) {
            Some(r) => r.count += 1,
            None => reasons.push(DeadReason { reason, count: 1, newest: m.dead_at }),
        }
    }
    reasons.sort_by(|a, b| b.count.cmp(&a.count).then_with(|| a.reason.cmp(&b.reason)));
    DeadLetters { total: messages.len() as i64, reasons, messages, read_at: Some(fixture::t(0)) }
}

#[test]
fn the_dead_letter_view_goes_from_reasons_to_messages_to_a_payload_and_redrives() {
    let (mut s, _) = fixture::state(20);
    let fx = on_action(&mut s, Action::DeadLetters);
    assert_eq!(fx, [Effect::Worker(WorkerCmd::LoadDeadLetters)]);
    assert!(render(&s, 80, 24, true).contains("reading…"));
    let messages = vec![
        dead(41, 3, "consumer crashed", Status::Pending),
        dead(42, 4, "consumer crashed", Status::Completed),
        dead(43, 5, "isbndb timeout", Status::Retry),
    ];
    app::update(&mut s, Msg::Db(DbEvent::DeadLetters(Ok(letters(messages)))));
    insta::assert_snapshot!("dead_reasons_80x24", render(&s, 80, 24, false));
    // Row 0 is every reason at once: it has no list of its own, and Enter says so (issue
    // 23, item 6: it did nothing).
    key(&mut s, KeyCode::Enter);
    assert_eq!(s.overlay, Overlay::Dead { reason: None, selected: 0, open: false });
    let said = &s.notice.as_ref().unwrap().text;
    assert!(said.contains("every dead letter at once (3): r redrives, X purges them all"), "{said}");
    key(&mut s, KeyCode::Down);
    key(&mut s, KeyCode::Enter);
    assert_eq!(s.overlay, Overlay::Dead { reason: Some("consumer crashed".into()), selected: 0, open: false });
    insta::assert_snapshot!("dead_messages_160x48", render(&s, 160, 48, false));
    key(&mut s, KeyCode::Enter);
    let payload = render(&s, 80, 24, false);
    assert!(payload.contains("\"job_id\": \"0b6f5d9e-1c1a-4f0e-9b51-6a0e1c3f7a21\""), "{payload}");
    key(&mut s, KeyCode::Esc);
    key(&mut s, KeyCode::Esc);
    assert_eq!(s.overlay, Overlay::Dead { reason: None, selected: 0, open: false });
    // Redrive the whole reason: planned by a dry run, confirmed, run.
    key(&mut s, KeyCode::Down);
    let fx = key(&mut s, KeyCode::Char('r'));
    let job = crate::ran::<RedriveJob>(&fx);
    assert_eq!((job.which.clone(), job.dry_run, job.force), (Which::Reason("consumer crashed".into()), true, false));
    let skip = backfill_console::model::dead::SkippedMessage { msg_id: 42, why: RedriveSkip::MonthCompleted };
    let plan = RedriveReport { dry_run: true, moved: vec![41], chunks: 1, skipped: vec![skip], ..Default::default() };
    app::update(
        &mut s,
        Msg::Db(DbEvent::JobDone(JobResult::done(RedriveDone { job: job.clone(), report: Box::new(plan) }))),
    );
    crate::confirming::<RedriveJob, RedriveReport>(&s.overlay);
    insta::assert_snapshot!("redrive_dialog_80x24", render(&s, 80, 24, false));
    // Tab: also send the message whose month is completed since — planned again, forced.
    let fx = key(&mut s, KeyCode::Tab);
    let forced = crate::ran::<RedriveJob>(&fx);
    assert!(forced.force && forced.dry_run, "{forced:?}");
    let plan = RedriveReport { dry_run: true, moved: vec![41, 42], chunks: 1, ..Default::default() };
    app::update(
        &mut s,
        Msg::Db(DbEvent::JobDone(JobResult::done(RedriveDone { job: forced.clone(), report: Box::new(plan) }))),
    );
    assert!(render(&s, 80, 24, true).contains("Tab force: yes"));
    // → sets a rate: the plan and the hint say it.
    key(&mut s, KeyCode::Right);
    let screen = render(&s, 160, 48, false);
    assert!(screen.contains("rate: 60/min"), "{screen}");
    insta::assert_snapshot!("redrive_dialog_160x48", screen);
    let fx = key(&mut s, KeyCode::Enter);
    // Confirmed: exactly the messages the plan weighed, by id.
    let RedriveJob { dry_run: false, rate: Some(60), force: true, which, .. } = crate::ran::<RedriveJob>(&fx) else {
        panic!("{fx:?}")
    };
    assert_eq!(which, &Which::Ids(vec![41, 42]));
    // Running: progress shows, and Esc asks it to stop between chunks.
    app::update(&mut s, Msg::Db(DbEvent::JobProgress("chunk 1: moved 1 of 2, left alone 0".into())));
    let running = render(&s, 80, 24, false);
    assert!(running.contains("chunk 1: moved 1 of 2") && running.contains("Esc stop after this chunk"), "{running}");
    insta::assert_snapshot!("redrive_running_80x24", running);
    assert_eq!(key(&mut s, KeyCode::Esc), [Effect::CancelJob]);
    assert!(render(&s, 80, 24, true).contains("stopping after this chunk"));
    // Every reason at once (row 0): every message.
    let (mut all, _) = fixture::state(20);
    on_action(&mut all, Action::DeadLetters);
    let messages = vec![dead(41, 3, "consumer crashed", Status::Pending), dead(43, 5, "isbndb timeout", Status::Retry)];
    app::update(&mut all, Msg::Db(DbEvent::DeadLetters(Ok(letters(messages)))));
    let fx = key(&mut all, KeyCode::Char('r'));
    let job = crate::ran::<RedriveJob>(&fx);
    assert_eq!((job.which.clone(), job.selection.as_str()), (Which::All, "console: every reason"));
    // Purge a single message: the count is in the confirmation.
    let (mut p, _) = fixture::state(20);
    on_action(&mut p, Action::DeadLetters);
    app::update(&mut p, Msg::Db(DbEvent::DeadLetters(Ok(letters(vec![dead(43, 5, "isbndb timeout", Status::Retry)])))));
    key(&mut p, KeyCode::Down);
    key(&mut p, KeyCode::Enter);
    key(&mut p, KeyCode::Char('X'));
    let (PurgeJob { which, .. }, PurgePlan { count, .. }) = crate::confirming::<PurgeJob, PurgePlan>(&p.overlay);
    assert_eq!((which, *count), (&Which::Ids(vec![43]), 1));
    assert!(render(&p, 80, 24, true).contains("DELETE 1 dead letter(s) for good: 43"));
    insta::assert_snapshot!("purge_dialog_80x24", render(&p, 80, 24, false));
    insta::assert_snapshot!("purge_dialog_160x48", render(&p, 160, 48, false));
    let fx = key(&mut p, KeyCode::Enter);
    crate::ran::<PurgeJob>(&fx);
    // Read-only: refused.
    let (mut ro, _) = fixture::state(20);
    ro.read_only = true;
    on_action(&mut ro, Action::DeadLetters);
    app::update(&mut ro, Msg::Db(DbEvent::DeadLetters(Ok(letters(vec![dead(43, 5, "x", Status::Retry)])))));
    assert!(matches!(key(&mut ro, KeyCode::Char('r')).as_slice(), [Effect::Log { .. }]));
    assert!(ro.notice.as_ref().unwrap().text.contains("read-only"));
}

/// Three audit rows, newest first.
fn audit_rows() -> Vec<AuditRow> {
    let row = |id: i64, action: &str, months: &str, outcome: &str| AuditRow {
        id,
        at: fixture::t(600 - id * 60),
        db_user: "backfill_operator".into(),
        os_user: Some("ops".into()),
        os_host: Some("bastion-1".into()),
        ssh_client: Some("203.0.113.7:51234".into()),
        application_name: Some("backfill-console".into()),
        action: action.into(),
        target_month: None,
        target_pid: None,
        parameters: Payload::Value(serde_json::json!({ "months": months })),
        outcome: outcome.into(),
        detail: None,
        claims: Default::default(),
    };
    vec![
        row(3, "retry", "2024-10..2024-12", "done: retried 3, left alone 0"),
        row(2, "dead.redrive", "", "done: moved 2, left alone 0"),
        row(1, "claim", "", "claimed 10, skipped 0 locked, 0 raced"),
    ]
}

#[test]
fn the_audit_view_lists_newest_first_and_the_filter_applies() {
    let (mut s, _) = fixture::state(20);
    let fx = on_action(&mut s, Action::Audit);
    assert_eq!(fx, [Effect::Worker(WorkerCmd::LoadAudit)]);
    let rows = audit_rows();
    app::update(&mut s, Msg::Db(DbEvent::Audit(Ok(rows))));
    insta::assert_snapshot!("audit_view_80x24", render(&s, 80, 24, false));
    insta::assert_snapshot!("audit_view_160x48", render(&s, 160, 48, false));
    s.filter = "retry".into();
    let screen = render(&s, 160, 48, false);
    assert!(
        screen.contains("1 row(s) matching \"retry\"") && screen.contains("(claims: ssh 203.0.113.7:51234)"),
        "{screen}"
    );
    assert!(!screen.contains("dead.redrive"), "{screen}");
}

#[test]
fn slash_in_the_audit_view_edits_the_filter_over_it_and_comes_back_to_it() {
    // Issue 23, item 6: `/` in the audit view did nothing though its footer said the
    // filter applies.
    let (mut s, _) = fixture::state(20);
    on_action(&mut s, Action::Audit);
    app::update(&mut s, Msg::Db(DbEvent::Audit(Ok(audit_rows()))));
    let all = backfill_console::app::lists::audit_rows(&s).len();
    assert!(all >= 2, "the fixture has audit rows");
    key(&mut s, KeyCode::Char('/'));
    assert_eq!(s.overlay, Overlay::Filter);
    for c in "retry".chars() {
        key(&mut s, KeyCode::Char(c));
    }
    // While typing, the audit view stays in sight, narrowed.
    let typing = render(&s, 160, 48, false);
    assert!(typing.contains("Audit trail ·") && typing.contains("matching \"retry\""), "{typing}");
    key(&mut s, KeyCode::Enter);
    assert!(matches!(s.overlay, Overlay::Audit { .. }), "back to the audit view: {:?}", s.overlay);
    let shown = backfill_console::app::lists::audit_rows(&s).len();
    assert!(shown >= 1 && shown < all, "{shown} of {all}");
    // Esc on the filter line clears it and comes back too.
    key(&mut s, KeyCode::Char('/'));
    key(&mut s, KeyCode::Esc);
    assert!(matches!(s.overlay, Overlay::Audit { .. }));
    assert_eq!(backfill_console::app::lists::audit_rows(&s).len(), all);
}
