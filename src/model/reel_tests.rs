use chrono::TimeZone;

use super::*;
use crate::model::recording::delta;
use crate::model::snapshot::{MonthRow, QueueDepth};

fn t(secs: i64) -> DateTime<Utc> {
    Utc.timestamp_opt(1_700_000_000 + secs, 0).unwrap()
}

fn header() -> Entry {
    let h = Header { format: FORMAT, target: "ops@db:5432/books".into(), mode: "console".into(), server_version: None };
    Entry { t: t(0), what: What::Header(h) }
}

/// Second `i`: month 0 is `pending` until second 5, then `completed`; the queue says `i`.
fn snapshot(i: i64) -> Snapshot {
    let status = if i < 5 { "pending" } else { "completed" };
    let month: MonthRow =
        serde_json::from_value(serde_json::json!({ "id": 1, "year": 2024, "month": 1, "status": status })).unwrap();
    Snapshot {
        taken_at: t(i),
        reader_pid: None,
        months: vec![month],
        locks: Vec::new(),
        queue: QueueDepth { ready: i, ..QueueDepth::default() },
        duplicates: Vec::new(),
        history: None,
    }
}

fn recording(frames: i64) -> Vec<Entry> {
    let mut entries = vec![header(), Entry { t: t(0), what: What::Snapshot(Box::new(snapshot(0))) }];
    for i in 1..frames {
        entries.push(Entry { t: t(i), what: What::Delta(Box::new(delta(&snapshot(i - 1), &snapshot(i)))) });
        if i == 4 {
            entries.push(Entry { t: t(i), what: What::Requested { title: "Claim".into() } });
            let lines = vec!["claimed 1".into()];
            entries.push(Entry { t: t(i), what: What::Outcome { title: "Claim".into(), lines, ok: true } });
        }
    }
    entries
}

#[test]
fn every_frame_comes_back_whole_however_far_from_a_keyframe() {
    let reel = Reel::new(recording(450)).unwrap();
    assert_eq!(reel.len(), 450);
    for i in [0, 1, 4, 5, 199, 200, 201, 399, 449] {
        assert_eq!(reel.snapshot(i), snapshot(i as i64), "frame {i}");
    }
    assert_eq!(reel.time(449), t(449));
    assert_eq!(reel.frame_at(t(4)), 4);
    assert_eq!(reel.frame_at(t(-10)), 0);
}

#[test]
fn actions_are_found_around_a_time() {
    let reel = Reel::new(recording(10)).unwrap();
    assert_eq!(reel.actions.len(), 2);
    let (last, next) = reel.actions_around(t(3));
    assert!(last.is_none());
    assert_eq!(next.unwrap().1, "confirmed: Claim");
    let (last, next) = reel.actions_around(t(4));
    assert_eq!(last.unwrap().1, "Claim done: claimed 1");
    assert!(next.is_none());
}

#[test]
fn a_broken_recording_is_refused_with_the_reason() {
    let no_header = recording(3).split_off(1);
    assert!(Reel::new(no_header).err().unwrap().contains("header"));
    let mut newer = recording(3);
    if let What::Header(h) = &mut newer[0].what {
        h.format = FORMAT + 1;
    }
    assert!(Reel::new(newer).err().unwrap().contains("newer"));
    let mut delta_first = recording(3);
    delta_first.remove(1);
    assert!(Reel::new(delta_first).err().unwrap().contains("before any whole snapshot"));
    assert!(Reel::new(vec![header()]).err().unwrap().contains("no snapshot"));
}
