//! A recording read back: its frames (whole snapshots and deltas, materialised every so
//! often so any frame is a few deltas away) and its actions, to move through in a replay.

use chrono::{DateTime, Utc};

use crate::model::recording::{Entry, FORMAT, Header, What, apply};
use crate::model::snapshot::Snapshot;

/// Every this many frames a whole snapshot is kept in memory.
const KEYFRAME_EVERY: usize = 200;

/// A recorded action: when, and what (the request, or its outcome).
pub type RecordedAction = (DateTime<Utc>, String);

pub struct Reel {
    pub header: Header,
    frames: Vec<Frame>,
    /// (frame index, its whole snapshot), in order.
    keyframes: Vec<(usize, Snapshot)>,
    /// Recorded actions, in time order.
    pub actions: Vec<RecordedAction>,
}

enum Frame {
    Whole(Box<Snapshot>),
    Delta(Box<crate::model::recording::Delta>),
}

impl Frame {
    fn taken_at(&self) -> DateTime<Utc> {
        match self {
            Frame::Whole(s) => s.taken_at,
            Frame::Delta(d) => d.taken_at,
        }
    }
}

impl Reel {
    /// The reel of a recording's entries (a file, or the part of it after a rotation).
    /// `Err` names what is wrong: no header first, a newer format, no frame at all, a
    /// delta with nothing before it.
    pub fn new(entries: Vec<Entry>) -> Result<Self, String> {
        let mut entries = entries.into_iter();
        let header = match entries.next() {
            Some(Entry { what: What::Header(h), .. }) => h,
            _ => return Err("it does not start with a recording header".into()),
        };
        if header.format > FORMAT {
            return Err(format!("its format is {}, newer than this binary reads ({FORMAT}); upgrade", header.format));
        }
        let mut reel = Reel { header, frames: Vec::new(), keyframes: Vec::new(), actions: Vec::new() };
        let mut current: Option<Snapshot> = None;
        for entry in entries {
            match entry.what {
                What::Snapshot(s) => {
                    current = Some((*s).clone());
                    reel.push(Frame::Whole(s), current.as_ref());
                }
                What::Delta(d) => {
                    let Some(base) = &current else {
                        return Err("a delta comes before any whole snapshot".into());
                    };
                    current = Some(apply(base, &d));
                    reel.push(Frame::Delta(d), current.as_ref());
                }
                // A later session in the same file, or a gap: the next snapshot is whole.
                What::Header(_) | What::Gap { .. } => current = None,
                What::Connected { server_version } => {
                    reel.header.server_version.get_or_insert(server_version);
                }
                What::Requested { title } => reel.actions.push((entry.t, format!("confirmed: {title}"))),
                What::Outcome { title, lines, ok } => {
                    let first = lines.first().cloned().unwrap_or_default();
                    let verdict = if ok { "done" } else { "FAILED" };
                    reel.actions.push((entry.t, format!("{title} {verdict}: {first}")));
                }
            }
        }
        if reel.frames.is_empty() {
            return Err("it holds no snapshot".into());
        }
        reel.actions.sort_by_key(|(t, _)| *t);
        Ok(reel)
    }

    fn push(&mut self, frame: Frame, whole: Option<&Snapshot>) {
        let i = self.frames.len();
        if (matches!(frame, Frame::Whole(_)) || i.is_multiple_of(KEYFRAME_EVERY))
            && let Some(s) = whole
        {
            self.keyframes.push((i, s.clone()));
        }
        self.frames.push(frame);
    }

    pub fn len(&self) -> usize {
        self.frames.len()
    }

    pub fn is_empty(&self) -> bool {
        self.frames.is_empty()
    }

    /// When frame `i` was read.
    pub fn time(&self, i: usize) -> DateTime<Utc> {
        self.frames[i.min(self.frames.len() - 1)].taken_at()
    }

    /// Frame `i` whole: the nearest keyframe before it, and the deltas after that.
    pub fn snapshot(&self, i: usize) -> Snapshot {
        let i = i.min(self.frames.len() - 1);
        let k = self.keyframes.partition_point(|(at, _)| *at <= i).saturating_sub(1);
        let (from, base) = &self.keyframes[k];
        let mut s = base.clone();
        for frame in &self.frames[from + 1..=i] {
            s = match frame {
                Frame::Whole(w) => (**w).clone(),
                Frame::Delta(d) => apply(&s, d),
            };
        }
        s
    }

    /// Frame `i` from frame `i - 1` (`before`): one delta applied, for stepping forward.
    pub fn advance(&self, before: &Snapshot, i: usize) -> Snapshot {
        match self.frames.get(i) {
            Some(Frame::Whole(w)) => (**w).clone(),
            Some(Frame::Delta(d)) => apply(before, d),
            None => before.clone(),
        }
    }

    /// The last frame read at or before `t` (the first frame when none was).
    pub fn frame_at(&self, t: DateTime<Utc>) -> usize {
        self.frames.partition_point(|f| f.taken_at() <= t).saturating_sub(1)
    }

    /// The newest action at or before `t`, and the first one after it.
    pub fn actions_around(&self, t: DateTime<Utc>) -> (Option<&RecordedAction>, Option<&RecordedAction>) {
        let next = self.actions.partition_point(|(at, _)| *at <= t);
        (next.checked_sub(1).and_then(|i| self.actions.get(i)), self.actions.get(next))
    }
}

#[cfg(test)]
#[path = "reel_tests.rs"]
mod tests;
