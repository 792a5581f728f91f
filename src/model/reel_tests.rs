use std::io::Cursor;

use chrono::TimeZone;

use super::*;
use crate::model::recording::{Entry, delta};
use crate::model::snapshot::{MonthRow, QueueDepth};

fn t(secs: i64) -> DateTime<Utc> {
    Utc.timestamp_opt(1_700_000_000 + secs, 0).unwrap()
}

fn header() -> Entry {
    let h = Header {
        format: FORMAT,
        target: "ops@db:5432/books".into(),
        mode: crate::model::recording::Mode::Console,
        server_version: None,
    };
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
        processing: None,
        duplicates: Vec::new(),
        history: None,
    }
}

fn recording(frames: i64) -> Vec<Entry> {
    let mut entries = vec![header(), Entry { t: t(0), what: What::Snapshot(Box::new(snapshot(0))) }];
    for i in 1..frames {
        entries.push(Entry { t: t(i), what: What::Delta(Box::new(delta(&snapshot(i - 1), &snapshot(i)))) });
        if i == 4 {
            entries.push(Entry { t: t(i), what: What::Requested { title: "Claim".into(), job: None } });
            let lines = vec!["claimed 1".into()];
            entries
                .push(Entry { t: t(i), what: What::Outcome { title: "Claim".into(), lines, ok: true, result: None } });
        }
    }
    entries
}

fn bytes(entries: &[Entry]) -> Vec<u8> {
    entries.iter().map(|e| serde_json::to_string(e).unwrap() + "\n").collect::<String>().into_bytes()
}

type TestReel = Reel<Cursor<Vec<u8>>, Cursor<Vec<u8>>>;

fn open(data: Vec<u8>) -> Result<TestReel, String> {
    try_open(data).map_err(|e| e.to_string())
}

fn try_open(data: Vec<u8>) -> Result<TestReel, ReelError> {
    Reel::open(Cursor::new(data), Cursor::new(Vec::new()))
}

#[test]
fn every_frame_comes_back_whole_however_far_from_a_checkpoint() {
    let mut reel = open(bytes(&recording(450))).unwrap();
    assert_eq!(reel.len(), 450);
    for i in [0, 1, 4, 5, 199, 200, 201, 399, 449, 10_000] {
        let frame = reel.frame(i).unwrap();
        assert_eq!(frame.snapshot, snapshot(i.min(449) as i64), "frame {i}");
        assert_eq!(frame.index, i.min(449));
    }
    // Stepping on from a frame gives the next one, and stops at the end.
    let frame = reel.frame(198).unwrap();
    let next = reel.step(&frame).unwrap().unwrap();
    assert_eq!((next.index, next.snapshot.clone()), (199, snapshot(199)));
    let last = reel.frame(449).unwrap();
    assert!(reel.step(&last).unwrap().is_none());
    assert_eq!(reel.span(), (t(0), t(449)));
    assert_eq!(reel.frame_at(t(4)).unwrap().index, 4);
    assert_eq!(reel.frame_at(t(-10)).unwrap().index, 0);
    assert_eq!(reel.frame_at(t(100_000)).unwrap().index, 449);
}

#[test]
fn the_index_stays_bounded_however_long_the_recording() {
    // Enough frames to double the checkpoints' spacing three times (small limits, same code).
    let limits = Limits { max_checkpoints: 16, first_spacing: 10 };
    let frames = 10 * 16 * 5;
    let mut data = bytes(&recording(2));
    let step =
        serde_json::to_string(&Entry { t: t(1), what: What::Delta(Box::new(delta(&snapshot(1), &snapshot(1)))) })
            .unwrap()
            + "\n";
    for _ in 2..frames {
        data.extend_from_slice(step.as_bytes());
    }
    let mut reel = Reel::open_with(Cursor::new(data), Cursor::new(Vec::new()), limits).unwrap();
    assert_eq!(reel.len(), frames);
    assert!(reel.checkpoints() <= 16 && reel.checkpoints() > 8, "{}", reel.checkpoints());
    for i in [0, 1, 799, frames - 1] {
        assert_eq!(reel.frame(i).unwrap().snapshot.queue.ready, i.min(1) as i64, "frame {i}");
    }
}

#[test]
fn actions_are_found_around_a_time() {
    let reel = open(bytes(&recording(10))).unwrap();
    assert_eq!(reel.actions.len(), 2);
    let (last, next) = reel.actions_around(t(3));
    assert!(last.is_none());
    assert_eq!(next.unwrap().1, "confirmed: Claim");
    let (last, next) = reel.actions_around(t(4));
    assert_eq!(last.unwrap().1, "Claim done: claimed 1");
    assert!(next.is_none());
}

#[test]
fn an_outage_and_a_stop_are_on_the_time_line() {
    let mut entries = recording(6);
    entries.insert(3, Entry { t: t(2), what: What::LinkLost { error: "server closed the connection".into() } });
    entries.insert(4, Entry { t: t(3), what: What::Connected { server_version: "15.4".into() } });
    entries.push(Entry { t: t(6), what: What::Stopped { reason: "cannot write: disk full".into() } });
    let reel = open(bytes(&entries)).unwrap();
    let texts: Vec<&str> = reel.actions.iter().map(|(_, a)| a.as_str()).collect();
    assert!(texts.contains(&"link lost: server closed the connection"), "{texts:?}");
    assert!(texts.contains(&"reconnected to the database"), "{texts:?}");
    assert!(texts.contains(&"recording stopped: cannot write: disk full"), "{texts:?}");
}

#[test]
fn a_last_line_cut_in_the_middle_of_a_character_is_left_out_and_said() {
    let mut data = bytes(&recording(5));
    let cut =
        serde_json::to_string(&Entry { t: t(5), what: What::Requested { title: "Réinitialiser".into(), job: None } })
            .unwrap()
            .into_bytes();
    let at = cut.iter().position(|b| *b == 0xC3).unwrap() + 1; // inside the two bytes of 'é'
    data.extend_from_slice(&cut[..at]);
    let reel = open(data).unwrap();
    assert_eq!(reel.len(), 5);
    assert!(reel.notes.iter().any(|n| n.contains("cut short")), "{:?}", reel.notes);
}

#[test]
fn a_time_out_of_range_is_refused_naming_the_line() {
    let mut entries = recording(3);
    let stamp = serde_json::to_string(&t(1)).unwrap();
    let line = serde_json::to_string(&entries[2]).unwrap().replace(&stamp, "\"-262143-01-01T00:00:00Z\"");
    assert_ne!(line, serde_json::to_string(&entries[2]).unwrap());
    entries.truncate(2);
    let mut data = bytes(&entries);
    data.extend_from_slice(format!("{line}\n").as_bytes());
    data.extend_from_slice(&bytes(&recording(3)[2..]));
    let err = open(data).err().unwrap();
    assert!(err.contains("line 3") && err.contains("out of range"), "{err}");
}

#[test]
fn a_broken_recording_is_refused_with_the_reason() {
    let no_header = recording(3).split_off(1);
    assert!(open(bytes(&no_header)).err().unwrap().contains("header"));
    let mut newer = recording(3);
    if let What::Header(h) = &mut newer[0].what {
        h.format = FORMAT + 1;
    }
    assert!(open(bytes(&newer)).err().unwrap().contains("newer"));
    let mut delta_first = recording(3);
    delta_first.remove(1);
    assert!(open(bytes(&delta_first)).err().unwrap().contains("before any whole snapshot"));
    assert!(open(bytes(&[header()])).err().unwrap().contains("no snapshot"));
    let mut garbage = bytes(&recording(3));
    garbage.splice(0..0, b"not json\n".iter().copied());
    assert!(open(garbage.clone()).err().unwrap().contains("line 1"));
    // Each kind of refusal is its own variant (the texts above are their one line).
    assert_eq!(try_open(bytes(&no_header)).err(), Some(ReelError::NoHeader));
    assert_eq!(try_open(bytes(&newer)).err(), Some(ReelError::Newer(FORMAT + 1)));
    assert_eq!(try_open(bytes(&[header()])).err(), Some(ReelError::NoSnapshot));
    let Some(ReelError::BadLine { line, .. }) = try_open(garbage).err() else { panic!() };
    assert_eq!(line, "line 1");
}
