use chrono::TimeZone;

use super::*;

fn t(secs: i64) -> DateTime<Utc> {
    Utc.timestamp_opt(1_700_000_000 + secs, 0).unwrap()
}

fn month(id: i32, status: &str, error: Option<&str>) -> MonthRow {
    serde_json::from_value(serde_json::json!({
        "id": id, "year": 2000 + id / 12, "month": id % 12 + 1, "status": status, "error": error,
    }))
    .unwrap()
}

fn lock(pid: i32, key: u32, query: &str) -> LockRow {
    serde_json::from_value(serde_json::json!({
        "pid": pid, "granted": true, "classid": 0, "objid": key, "objsubid": 1, "in_this_database": true,
        "mode": "ExclusiveLock", "blocking_pids": [],
        "holder": { "pid": pid, "application_name": "scheduler", "query": query },
    }))
    .unwrap()
}

fn snapshot(at: i64, months: Vec<MonthRow>, locks: Vec<LockRow>) -> Snapshot {
    let mut s = Snapshot {
        taken_at: t(at),
        reader_pid: Some(7),
        months,
        locks,
        queue: QueueDepth { ready: at, ..QueueDepth::default() },
        processing: None,
        duplicates: Vec::new(),
        history: None,
    };
    s.sort_months();
    s
}

#[test]
fn a_delta_carries_only_what_changed_and_applies_back_to_the_same_snapshot() {
    let old = snapshot(0, (0..50).map(|i| month(i, "pending", None)).collect(), vec![lock(10, 200001, "SELECT 1")]);
    let mut months: Vec<MonthRow> = (1..50).map(|i| month(i, "pending", None)).collect();
    months[3] = month(4, "processing", None);
    months.push(month(60, "pending", None));
    let new = snapshot(1, months, vec![lock(10, 200001, "SELECT 1")]);
    let d = delta(&old, &new);
    assert_eq!(d.months.iter().map(|m| m.id).collect::<Vec<_>>(), [60, 4], "newest first, as the snapshot keeps them");
    assert_eq!(d.removed, [0]);
    assert_eq!(d.locks, None, "the locks did not change");
    assert_eq!(apply(&old, &d), new);
    // A lock taken: all lock rows travel.
    let newer = snapshot(2, new.months.clone(), vec![lock(10, 200001, "SELECT 1"), lock(11, 200002, "SELECT 2")]);
    let d = delta(&new, &newer);
    assert!(d.months.is_empty() && d.removed.is_empty());
    assert_eq!(d.locks.as_ref().map(Vec::len), Some(2));
    assert_eq!(apply(&new, &d), newer);
    // Through JSON and back (the file), the same.
    let line = serde_json::to_string(&Entry { t: t(2), what: What::Delta(Box::new(d.clone())) }).unwrap();
    let back: Entry = serde_json::from_str(&line).unwrap();
    assert_eq!(back.what, What::Delta(Box::new(d)));
}

#[test]
fn redaction_takes_passwords_out_of_queries_and_errors() {
    let mut s = snapshot(
        0,
        vec![month(1, "failed", Some("could not connect to postgres://svc:hunter2@db/books"))],
        vec![lock(10, 200001, "ALTER ROLE svc PASSWORD 'hunter2'")],
    );
    let original = s.clone();
    redact(&mut s, true);
    let text = serde_json::to_string(&s).unwrap();
    assert!(!text.contains("hunter2"), "{text}");
    assert!(text.contains("postgres://svc:***@db/books") && text.contains("PASSWORD ***"), "{text}");
    // Without --record-queries no other session's statement is kept at all.
    let mut s = original;
    redact(&mut s, false);
    let text = serde_json::to_string(&s).unwrap();
    assert!(!text.contains("hunter2") && !text.contains("ALTER ROLE"), "{text}");
    assert!(text.contains(QUERY_NOT_RECORDED), "{text}");
}

#[test]
fn the_mode_is_written_as_a_word_and_any_other_word_reads_as_the_console() {
    use crate::model::recording::Mode;
    assert_eq!(serde_json::to_string(&Mode::Watch).unwrap(), "\"watch\"");
    assert_eq!(serde_json::to_string(&Mode::Console).unwrap(), "\"console\"");
    assert_eq!(serde_json::from_str::<Mode>("\"watch\"").unwrap(), Mode::Watch);
    assert_eq!(serde_json::from_str::<Mode>("\"console\"").unwrap(), Mode::Console);
    assert_eq!(serde_json::from_str::<Mode>("\"wall\"").unwrap(), Mode::Console);
}

#[test]
fn an_action_is_recorded_as_data_and_older_files_still_read() {
    use crate::model::claim::ClaimParams;
    use crate::model::job::Job;
    let job = serde_json::to_value(Job::new(ClaimParams::default())).unwrap();
    assert_eq!(job["claim"]["batch_size"], 10, "{job}");
    let entry = Entry { t: t(1), what: What::Requested { title: "Run the claim routine".into(), job: Some(job) } };
    let line = serde_json::to_string(&entry).unwrap();
    assert_eq!(serde_json::from_str::<Entry>(&line).unwrap(), entry);
    // Written before the request was recorded as data: read, without it.
    let old = r#"{"t":"2026-11-01T00:00:00Z","requested":{"title":"Claim"}}"#;
    assert_eq!(serde_json::from_str::<Entry>(old).unwrap().what, What::Requested { title: "Claim".into(), job: None });
    let old = r#"{"t":"2026-11-01T00:00:00Z","outcome":{"title":"Claim","lines":["done"],"ok":true}}"#;
    let what = serde_json::from_str::<Entry>(old).unwrap().what;
    assert_eq!(what, What::Outcome { title: "Claim".into(), lines: vec!["done".into()], ok: true, result: None });
}
