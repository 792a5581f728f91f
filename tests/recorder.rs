//! The flight recorder's file: deltas after a whole snapshot, rotation past the cap (the
//! new file starts whole, so each part replays on its own), and every frame read back equal.
#![allow(clippy::unwrap_used, clippy::expect_used)] // tests may panic
mod fixture;

use backfill_console::model::recording::{FORMAT, Header};
use backfill_console::tui::recorder::{RecordOptions, Recorder};
use backfill_console::tui::replay::load;

fn header() -> Header {
    Header { format: FORMAT, target: "ops@db:5432/books".into(), mode: "watch".into(), server_version: None }
}

#[test]
fn frames_come_back_equal_and_a_full_file_rotates_to_one_that_starts_whole() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("wall.rec");
    // A cap of 1,000 bytes of deltas: the queue changes every frame (a few hundred bytes each).
    let options = RecordOptions { path: path.clone(), max_bytes: 1000 };
    let recorder = Recorder::start(&options, header()).unwrap();
    // Snapshots reach the writer as they do in the console: through the worker's sender.
    let sender = recorder.sender();
    let frames: Vec<_> = (0..12).map(|i| fixture::snapshot(i, 20 + i)).collect();
    for snapshot in &frames {
        sender.snapshot(snapshot);
    }
    drop(sender);
    recorder.finish(std::time::Duration::from_secs(20));
    let older = load(&dir.path().join("wall.rec.1")).unwrap_or_else(|e| panic!("{e}"));
    let newer = load(&path).unwrap_or_else(|e| panic!("{e}"));
    let text = std::fs::read_to_string(&path).unwrap();
    let mut lines = text.lines();
    assert!(lines.next().unwrap().contains("\"header\""));
    assert!(lines.next().unwrap().contains("\"snapshot\""), "a rotated file starts with a whole snapshot");
    // The newest part ends with the last frame, whole and equal; each part is frames in order.
    let equal = |a: &backfill_console::model::Snapshot, b: &backfill_console::model::Snapshot| {
        a.months == b.months && a.locks == b.locks && a.queue == b.queue && a.taken_at == b.taken_at
    };
    assert!(equal(&newer.snapshot(newer.len() - 1), &frames[11]));
    let first_new = frames.iter().position(|f| equal(f, &newer.snapshot(0))).expect("the new file starts at a frame");
    for i in 0..newer.len() {
        assert!(equal(&newer.snapshot(i), &frames[first_new + i]), "frame {i} of the newer part");
    }
    let last_old = frames.iter().position(|f| equal(f, &older.snapshot(older.len() - 1))).unwrap();
    assert_eq!(last_old, first_new, "the newer part starts with the older part's last frame");
    assert!(older.len() >= 2 && older.len() < 12, "a part holds its cap's worth of deltas: {}", older.len());
}

#[test]
fn a_file_that_cannot_be_written_is_an_error_naming_it() {
    let options = RecordOptions { path: "/nonexistent/dir/x.rec".into(), max_bytes: 1 << 20 };
    let err = Recorder::start(&options, header()).err().unwrap().to_string();
    assert!(err.contains("--record /nonexistent/dir/x.rec: cannot open it for writing"), "{err}");
}
