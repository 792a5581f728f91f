//! A recording read back, streamed: one pass indexes it (its header, how many frames,
//! their time span, the recorded actions, and a checkpoint every so many frames whose
//! whole snapshot is spilled to a side file), then any frame is read on demand — the
//! nearest checkpoint before it, and the deltas after that read again from the file.
//! Memory is bounded by constants, not by the size of the file: at most
//! [`MAX_CHECKPOINTS`] checkpoints (their spacing doubles when more would be needed),
//! at most [`MAX_ACTIONS`] actions, lines of at most [`MAX_LINE`] bytes.
//!
//! The source and the spill are any `Read + Seek` (a file at the edge, memory in tests).

use std::io::{BufReader, Read, Seek, SeekFrom, Write};

use chrono::{DateTime, Utc};

use crate::model::recording::{FORMAT, Header, What, apply};
pub use crate::model::reel_lines::ReelError;
use crate::model::reel_lines::{Line, at_end, check_time, io, line_name, read_entry};
use crate::model::snapshot::Snapshot;

/// Checkpoints kept at most; past it every other one is dropped and the spacing doubles.
pub const MAX_CHECKPOINTS: usize = 1024;
/// Frames between two checkpoints at first.
pub const FIRST_SPACING: usize = 200;

/// How many checkpoints, how far apart at first.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    pub max_checkpoints: usize,
    pub first_spacing: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Self { max_checkpoints: MAX_CHECKPOINTS, first_spacing: FIRST_SPACING }
    }
}
/// Recorded actions listed at most (the rest are counted in a note).
pub const MAX_ACTIONS: usize = 10_000;
/// The longest line read: a whole snapshot of a large fleet is a few megabytes.
pub const MAX_LINE: u64 = 64 << 20;

/// A recorded action (or event: an outage, a gap, a stop): when, and what.
pub type RecordedAction = (DateTime<Utc>, String);

/// A frame read back: its number, the snapshot whole, and where the next line starts.
#[derive(Debug, Clone)]
pub struct Frame {
    pub index: usize,
    pub snapshot: Snapshot,
    next: u64,
}

#[derive(Debug, Clone, Copy)]
struct Checkpoint {
    frame: usize,
    taken_at: DateTime<Utc>,
    /// Where the line after the frame starts in the source.
    next: u64,
    /// Where its whole snapshot is in the spill.
    spill_at: u64,
    spill_len: u64,
}

pub struct Reel<R, S> {
    source: R,
    spill: S,
    pub header: Header,
    frames: usize,
    first: DateTime<Utc>,
    last: DateTime<Utc>,
    checkpoints: Vec<Checkpoint>,
    spacing: usize,
    max_checkpoints: usize,
    /// Where the usable part of the source ends (before a cut last line).
    end: u64,
    /// Recorded actions, in time order.
    pub actions: Vec<RecordedAction>,
    /// What the reader left out and why (a cut last line, actions beyond the cap).
    pub notes: Vec<String>,
}

impl<R: Read + Seek, S: Read + Write + Seek> Reel<R, S> {
    /// Indexes `source` in one pass. `Err` is one line naming what is wrong and, where
    /// there is one, the line: no header first, a newer format, a line that is not a
    /// recording's, a time out of range, a delta with nothing before it, no frame at all.
    pub fn open(source: R, spill: S) -> Result<Self, ReelError> {
        Self::open_with(source, spill, Limits::default())
    }

    /// [`Reel::open`] with other limits (the tests' small ones).
    pub fn open_with(mut source: R, spill: S, limits: Limits) -> Result<Self, ReelError> {
        source.rewind().map_err(|e| io("read it", e))?;
        let mut reader = BufReader::new(&mut source);
        let mut offset = 0u64;
        let mut line_no = 0usize;
        let header = loop {
            line_no += 1;
            match read_entry(&mut reader, &mut offset, line_no)? {
                Line::Blank => continue,
                Line::Entry(entry) => match entry.what {
                    What::Header(h) => break h,
                    _ => return Err(ReelError::NoHeader),
                },
                Line::End => return Err(ReelError::NoHeader),
            }
        };
        if header.format > FORMAT {
            return Err(ReelError::Newer(header.format));
        }
        drop(reader);
        let mut reel = Reel {
            source,
            spill,
            header,
            frames: 0,
            first: DateTime::<Utc>::MIN_UTC,
            last: DateTime::<Utc>::MIN_UTC,
            checkpoints: Vec::new(),
            spacing: limits.first_spacing.max(1),
            max_checkpoints: limits.max_checkpoints.max(2),
            end: offset,
            actions: Vec::new(),
            notes: Vec::new(),
        };
        reel.index(offset, line_no)?;
        if reel.frames == 0 {
            return Err(ReelError::NoSnapshot);
        }
        reel.actions.sort_by_key(|(t, _)| *t);
        Ok(reel)
    }

    fn index(&mut self, from: u64, mut line_no: usize) -> Result<(), ReelError> {
        self.source.seek(SeekFrom::Start(from)).map_err(|e| io("read it", e))?;
        let mut reader = BufReader::new(&mut self.source);
        let mut offset = from;
        let mut current: Option<Snapshot> = None;
        let mut down = false;
        let mut dropped_actions = 0usize;
        loop {
            line_no += 1;
            let at = offset;
            let entry = match read_entry(&mut reader, &mut offset, line_no) {
                Ok(Line::Entry(entry)) => entry,
                Ok(Line::Blank) => continue,
                Ok(Line::End) => break,
                // A last line cut short (the recorder was killed mid-write): left out, said so.
                Err(why) if at_end(&mut reader) => {
                    self.notes.push(format!("its last line (line {line_no}) is cut short; left out ({why})"));
                    offset = at;
                    break;
                }
                Err(why) => return Err(why),
            };
            let t = entry.t;
            let mut action = |text: String| {
                if self.actions.len() < MAX_ACTIONS {
                    self.actions.push((t, text));
                } else {
                    dropped_actions += 1;
                }
            };
            match entry.what {
                What::Snapshot(s) => {
                    check_time(s.taken_at, line_no)?;
                    current = Some(*s);
                }
                What::Delta(d) => {
                    check_time(d.taken_at, line_no)?;
                    let Some(base) = &current else {
                        let why = ": a delta comes before any whole snapshot".into();
                        return Err(ReelError::BadLine { line: line_name(line_no), why });
                    };
                    current = Some(apply(base, &d));
                }
                // A later session in the same file, or a gap: the next snapshot is whole.
                What::Header(_) => {
                    current = None;
                    continue;
                }
                What::Gap { dropped } => {
                    current = None;
                    action(format!("{dropped} recorded entries dropped (the writer fell behind)"));
                    continue;
                }
                What::Connected { server_version } => {
                    self.header.server_version.get_or_insert(server_version);
                    if std::mem::take(&mut down) {
                        action("reconnected to the database".into());
                    }
                    continue;
                }
                What::LinkLost { error } => {
                    down = true;
                    action(format!("link lost: {error}"));
                    continue;
                }
                What::Requested { title, .. } => {
                    action(format!("confirmed: {title}"));
                    continue;
                }
                What::Outcome { title, lines, ok, .. } => {
                    let first = lines.first().cloned().unwrap_or_default();
                    action(format!("{title} {}: {first}", if ok { "done" } else { "FAILED" }));
                    continue;
                }
                What::Stopped { reason } => {
                    action(format!("recording stopped: {reason}"));
                    continue;
                }
            }
            // A frame.
            let Some(snapshot) = &current else { continue };
            if self.frames == 0 {
                self.first = snapshot.taken_at;
            }
            self.last = snapshot.taken_at;
            if self.frames.is_multiple_of(self.spacing) {
                self.checkpoints.push(spill(&mut self.spill, self.frames, offset, snapshot)?);
                if self.checkpoints.len() > self.max_checkpoints {
                    // Their snapshots stay in the spill: it grows by at most twice what is kept.
                    self.spacing *= 2;
                    let spacing = self.spacing;
                    self.checkpoints.retain(|c| c.frame.is_multiple_of(spacing));
                }
            }
            self.frames += 1;
        }
        self.end = offset;
        if dropped_actions > 0 {
            self.notes.push(format!("{dropped_actions} more recorded actions are not listed (at most {MAX_ACTIONS})"));
        }
        Ok(())
    }

    pub fn len(&self) -> usize {
        self.frames
    }

    pub fn is_empty(&self) -> bool {
        self.frames == 0
    }

    /// When the first and the last frames were read.
    pub fn span(&self) -> (DateTime<Utc>, DateTime<Utc>) {
        (self.first, self.last)
    }

    /// How many checkpoints are kept (at most the limit, [`MAX_CHECKPOINTS`] by default).
    pub fn checkpoints(&self) -> usize {
        self.checkpoints.len()
    }

    /// Frame `i` (the last one when `i` is past it) whole: the nearest checkpoint before
    /// it, then the deltas after it.
    pub fn frame(&mut self, i: usize) -> Result<Frame, ReelError> {
        let i = i.min(self.frames - 1);
        let k = self.checkpoints.partition_point(|c| c.frame <= i).saturating_sub(1);
        let mut frame = self.load(k)?;
        while frame.index < i {
            frame = self
                .step(&frame)?
                .ok_or(ReelError::Changed("the recording ended early (changed since it was read?)"))?;
        }
        Ok(frame)
    }

    /// The frame after `frame`, or `None` at the end.
    pub fn step(&mut self, frame: &Frame) -> Result<Option<Frame>, ReelError> {
        self.source.seek(SeekFrom::Start(frame.next)).map_err(|e| io("read it", e))?;
        let mut reader = BufReader::new(&mut self.source);
        let mut offset = frame.next;
        let mut current = Some(&frame.snapshot);
        while offset < self.end {
            let entry = match read_entry(&mut reader, &mut offset, 0)? {
                Line::Entry(entry) => entry,
                Line::Blank => continue,
                Line::End => break,
            };
            let snapshot = match entry.what {
                What::Snapshot(s) => *s,
                What::Delta(d) => match current {
                    Some(base) => apply(base, &d),
                    None => return Err(ReelError::Changed("a delta comes before any whole snapshot")),
                },
                What::Header(_) | What::Gap { .. } => {
                    current = None;
                    continue;
                }
                _ => continue,
            };
            return Ok(Some(Frame { index: frame.index + 1, snapshot, next: offset }));
        }
        Ok(None)
    }

    /// The last frame read at or before `t` (the first frame when none was).
    pub fn frame_at(&mut self, t: DateTime<Utc>) -> Result<Frame, ReelError> {
        let k = self.checkpoints.partition_point(|c| c.taken_at <= t).saturating_sub(1);
        let mut frame = self.load(k)?;
        while let Some(next) = self.step(&frame)? {
            if next.snapshot.taken_at > t {
                break;
            }
            frame = next;
        }
        Ok(frame)
    }

    fn load(&mut self, k: usize) -> Result<Frame, ReelError> {
        let point = *self.checkpoints.get(k).ok_or(ReelError::Changed("the recording holds no frame"))?;
        let len = usize::try_from(point.spill_len).map_err(|_| ReelError::Changed("a checkpoint too large"))?;
        let mut bytes = vec![0u8; len];
        self.spill.seek(SeekFrom::Start(point.spill_at)).map_err(|e| io("read the index", e))?;
        self.spill.read_exact(&mut bytes).map_err(|e| io("read the index", e))?;
        let snapshot = serde_json::from_slice(&bytes).map_err(|e| io("read the index", e))?;
        Ok(Frame { index: point.frame, snapshot, next: point.next })
    }

    /// The newest action at or before `t`, and the first one after it.
    pub fn actions_around(&self, t: DateTime<Utc>) -> (Option<&RecordedAction>, Option<&RecordedAction>) {
        let next = self.actions.partition_point(|(at, _)| *at <= t);
        (next.checked_sub(1).and_then(|i| self.actions.get(i)), self.actions.get(next))
    }
}

fn spill<S: Write + Seek>(
    spill: &mut S,
    frame: usize,
    next: u64,
    snapshot: &Snapshot,
) -> Result<Checkpoint, ReelError> {
    let bytes = serde_json::to_vec(snapshot).map_err(|e| io("index it", e))?;
    let spill_at = spill.seek(SeekFrom::End(0)).map_err(|e| io("write the index", e))?;
    spill.write_all(&bytes).map_err(|e| io("write the index", e))?;
    Ok(Checkpoint { frame, taken_at: snapshot.taken_at, next, spill_at, spill_len: bytes.len() as u64 })
}

#[cfg(test)]
#[path = "reel_tests.rs"]
mod tests;
