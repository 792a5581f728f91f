//! The flight recorder's file: deltas after a whole snapshot, rotation past the cap (the
//! new file starts whole, so each part replays on its own), and every frame read back
//! equal; and a `--record FILE` that cannot be turned against the machine: no link
//! followed, nothing but a regular file written, an existing file only when it is a
//! recording, one console per file, and a rotation that renames only what it opened.
#![allow(clippy::unwrap_used, clippy::expect_used)] // tests may panic
use crate::fixture;

use std::os::unix::fs::{FileTypeExt, MetadataExt, PermissionsExt};
use std::path::Path;
use std::sync::mpsc;
use std::time::Duration;

use backfill_console::model::recording::{FORMAT, Header};
use backfill_console::tui::recorder::{OnStop, RecordOptions, Recorder};
use backfill_console::tui::replay::load;

fn header() -> Header {
    Header {
        format: FORMAT,
        target: "ops@db:5432/books".into(),
        mode: backfill_console::model::recording::Mode::Watch,
        server_version: None,
    }
}

fn options(path: &Path, max_bytes: u64) -> RecordOptions {
    RecordOptions { path: path.to_path_buf(), max_bytes, queries: false }
}

fn quiet() -> OnStop {
    Box::new(|_| {})
}

fn start(path: &Path) -> Result<Recorder, String> {
    Recorder::start(&options(path, 1 << 20), header(), quiet()).map_err(|e| e.to_string())
}

#[test]
fn frames_come_back_equal_and_a_full_file_rotates_to_one_that_starts_whole() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("wall.rec");
    // A cap of 1,000 bytes of deltas: the queue changes every frame (a few hundred bytes each).
    // With the holders' queries kept (the fixture's hold no secret), every frame comes back equal.
    let options = RecordOptions { queries: true, ..options(&path, 1000) };
    let recorder = Recorder::start(&options, header(), quiet()).unwrap();
    // Snapshots reach the writer as they do in the console: through the worker's sender.
    let sender = recorder.sender();
    let frames: Vec<_> = (0..12).map(|i| fixture::snapshot(i, 20 + i)).collect();
    for snapshot in &frames {
        sender.snapshot(snapshot);
    }
    drop(sender);
    recorder.finish(Duration::from_secs(20));
    let mut older = load(&dir.path().join("wall.rec.1")).unwrap_or_else(|e| panic!("{e}"));
    let mut newer = load(&path).unwrap_or_else(|e| panic!("{e}"));
    let text = std::fs::read_to_string(&path).unwrap();
    let mut lines = text.lines();
    assert!(lines.next().unwrap().contains("\"header\""));
    assert!(lines.next().unwrap().contains("\"snapshot\""), "a rotated file starts with a whole snapshot");
    // The newest part ends with the last frame, whole and equal; each part is frames in order.
    let equal = |a: &backfill_console::model::Snapshot, b: &backfill_console::model::Snapshot| {
        a.months == b.months && a.locks == b.locks && a.queue == b.queue && a.taken_at == b.taken_at
    };
    let last = newer.len() - 1;
    assert!(equal(&newer.frame(last).unwrap().snapshot, &frames[11]));
    let first = newer.frame(0).unwrap().snapshot;
    let first_new = frames.iter().position(|f| equal(f, &first)).expect("the new file starts at a frame");
    for i in 0..newer.len() {
        assert!(equal(&newer.frame(i).unwrap().snapshot, &frames[first_new + i]), "frame {i} of the newer part");
    }
    let old_last = older.frame(older.len() - 1).unwrap().snapshot;
    let last_old = frames.iter().position(|f| equal(f, &old_last)).unwrap();
    assert_eq!(last_old, first_new, "the newer part starts with the older part's last frame");
    assert!(older.len() >= 2 && older.len() < 12, "a part holds its cap's worth of deltas: {}", older.len());
    for part in [&path, &dir.path().join("wall.rec.1")] {
        assert_eq!(std::fs::metadata(part).unwrap().permissions().mode() & 0o777, 0o600, "{}", part.display());
    }
}

#[test]
fn a_file_that_cannot_be_written_is_an_error_naming_it() {
    let err = start(Path::new("/nonexistent/dir/x.rec")).err().unwrap();
    assert!(err.starts_with("--record /nonexistent/dir/x.rec: cannot open it"), "{err}");
}

#[test]
fn a_symbolic_link_is_refused_and_its_target_left_alone() {
    let dir = tempfile::tempdir().unwrap();
    let victim = dir.path().join("victim.txt");
    std::fs::write(&victim, "precious\n").unwrap();
    std::fs::set_permissions(&victim, std::fs::Permissions::from_mode(0o644)).unwrap();
    let link = dir.path().join("rec.jsonl");
    std::os::unix::fs::symlink(&victim, &link).unwrap();
    let err = start(&link).err().unwrap();
    assert!(err.contains("is a symbolic link"), "{err}");
    assert_eq!(std::fs::read_to_string(&victim).unwrap(), "precious\n");
    assert_eq!(std::fs::metadata(&victim).unwrap().permissions().mode() & 0o777, 0o644);
    // A dangling link is refused too (it would otherwise create its target).
    let dangling = dir.path().join("dangling.rec");
    std::os::unix::fs::symlink(dir.path().join("nowhere"), &dangling).unwrap();
    assert!(start(&dangling).err().unwrap().contains("is a symbolic link"));
    assert!(!dir.path().join("nowhere").exists());
}

#[test]
fn devices_and_fifos_are_refused_without_being_opened() {
    let err = start(Path::new("/dev/null")).err().unwrap();
    assert!(err.contains("/dev/null: is a character device, not a regular file"), "{err}");
    assert!(std::fs::metadata("/dev/null").unwrap().file_type().is_char_device());
    let dir = tempfile::tempdir().unwrap();
    let fifo = dir.path().join("rec.fifo");
    nix::unistd::mkfifo(&fifo, nix::sys::stat::Mode::from_bits_truncate(0o600)).unwrap();
    // Refused at once: opening a FIFO for writing would block until somebody reads it.
    let (tx, rx) = mpsc::channel();
    let path = fifo.clone();
    std::thread::spawn(move || tx.send(start(&path).err()).unwrap());
    let err = rx.recv_timeout(Duration::from_secs(20)).expect("an answer, not a hang").unwrap();
    assert!(err.contains("is a FIFO"), "{err}");
    // And replay neither blocks on a FIFO nor reads a device without end.
    assert!(load(&fifo).err().unwrap().to_string().contains("is a FIFO"));
    assert!(load(Path::new("/dev/zero")).err().unwrap().to_string().contains("is a character device"));
    assert!(load(dir.path()).err().unwrap().to_string().contains("is a directory"));
}

#[test]
fn a_device_node_is_never_renamed_or_replaced() {
    // mknod needs root (CAP_MKNOD); as an ordinary user /dev/null above covers the refusal.
    if !nix::unistd::geteuid().is_root() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let node = dir.path().join("null");
    let mode = nix::sys::stat::Mode::from_bits_truncate(0o666);
    nix::sys::stat::mknod(&node, nix::sys::stat::SFlag::S_IFCHR, mode, nix::sys::stat::makedev(1, 3)).unwrap();
    let before = std::fs::symlink_metadata(&node).unwrap();
    let err = Recorder::start(&options(&node, 64 << 10), header(), quiet()).err().unwrap().to_string();
    assert!(err.contains("is a character device"), "{err}");
    let after = std::fs::symlink_metadata(&node).unwrap();
    assert_eq!((after.ino(), after.rdev()), (before.ino(), before.rdev()));
    assert!(!dir.path().join("null.1").exists());
}

#[test]
fn an_existing_file_that_is_not_a_recording_is_refused_untouched() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("notes.txt");
    std::fs::write(&path, "my notes\n").unwrap();
    let err = start(&path).err().unwrap();
    assert!(err.contains("notes.txt: exists and is not a recording"), "{err}");
    assert_eq!(std::fs::read_to_string(&path).unwrap(), "my notes\n");
    // A second name for another file (a hard link) is refused whatever it holds.
    let recording = dir.path().join("a.rec");
    start(&recording).unwrap().finish(Duration::from_secs(5));
    let second = dir.path().join("b.rec");
    std::fs::hard_link(&recording, &second).unwrap();
    assert!(start(&second).err().unwrap().contains("has 2 hard links"));
}

#[test]
fn an_existing_recording_is_appended_to_and_made_private() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("wall.rec");
    let recorder = start(&path).unwrap();
    recorder.sender().snapshot(&fixture::snapshot(0, 10));
    recorder.finish(Duration::from_secs(5));
    let size = std::fs::metadata(&path).unwrap().len();
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).unwrap();
    let recorder = start(&path).unwrap();
    recorder.sender().snapshot(&fixture::snapshot(1, 11));
    recorder.finish(Duration::from_secs(5));
    let meta = std::fs::metadata(&path).unwrap();
    assert_eq!(meta.permissions().mode() & 0o777, 0o600, "group/other access taken away");
    assert!(meta.len() > size, "appended");
    assert_eq!(load(&path).unwrap().len(), 2, "both sessions replay");
}

#[test]
fn two_consoles_never_share_one_recording() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("wall.rec");
    let first = start(&path).unwrap();
    let err = start(&path).err().unwrap();
    assert!(err.contains("another console is recording to it"), "{err}");
    first.finish(Duration::from_secs(5));
    // Free again once the first has finished.
    start(&path).unwrap().finish(Duration::from_secs(5));
}

/// Records frames until the writer says it stopped (or `frames` were handed over).
fn record_until_stopped(path: &Path, max_bytes: u64, before: impl FnOnce()) -> Option<String> {
    let (tx, rx) = mpsc::channel();
    let recorder = Recorder::start(
        &options(path, max_bytes),
        header(),
        Box::new(move |why| {
            let _ = tx.send(why);
        }),
    )
    .unwrap();
    before();
    let sender = recorder.sender();
    for i in 0..400 {
        sender.snapshot(&fixture::snapshot(i, 20 + i));
        if let Ok(why) = rx.try_recv() {
            return Some(why);
        }
        std::thread::sleep(Duration::from_millis(2));
    }
    drop(sender);
    recorder.finish(Duration::from_secs(20));
    rx.recv_timeout(Duration::from_secs(20)).ok()
}

#[test]
fn a_rotation_renames_only_the_file_it_opened() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("wall.rec");
    let moved = dir.path().join("moved.rec");
    // Somebody moves the recording away and puts a file of theirs in its place.
    let why = record_until_stopped(&path, 64 << 10, || {
        std::fs::rename(&path, &moved).unwrap();
        std::fs::write(&path, "theirs\n").unwrap();
    })
    .expect("the recording says it stopped");
    assert!(why.contains("was moved or replaced since it was opened"), "{why}");
    assert_eq!(std::fs::read_to_string(&path).unwrap(), "theirs\n", "their file is neither renamed nor written");
    assert!(!dir.path().join("wall.rec.1").exists());
    // The part it did write ends with the reason (replay shows where and why it stopped).
    let reel = load(&moved).unwrap();
    assert!(reel.actions.iter().any(|(_, a)| a.contains("recording stopped")), "{:?}", reel.actions);
}

#[test]
fn a_rotation_never_replaces_an_older_part_that_is_not_a_recording() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("wall.rec");
    let older = dir.path().join("wall.rec.1");
    std::fs::write(&older, "someone's data\n").unwrap();
    let why = record_until_stopped(&path, 64 << 10, || {}).expect("the recording says it stopped");
    assert!(why.contains("wall.rec.1: exists and is not a recording"), "{why}");
    assert_eq!(std::fs::read_to_string(&older).unwrap(), "someone's data\n");
}
