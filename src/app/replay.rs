//! Replaying a recording: where the replay stands (the driver sends it with every frame)
//! and the keys that move it. The console's screens draw the recorded frames; every action
//! is refused (the state is read-only), and the screen says REPLAY.

use chrono::{DateTime, Utc};

use super::keymap::ReplayAction;
use super::msg::Effect;
use super::state::State;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReplayView {
    /// The recording's file name, as given.
    pub file: String,
    /// The frame shown (0-based) and how many there are.
    pub frame: usize,
    pub frames: usize,
    /// When the frame shown was read, and the recording's first and last frames.
    pub at: DateTime<Utc>,
    pub first: DateTime<Utc>,
    pub last: DateTime<Utc>,
    pub playing: bool,
    /// Times real time, when playing.
    pub speed: u32,
    /// The newest recorded action at or before `at`, and the next one after it.
    pub last_action: Option<(DateTime<Utc>, String)>,
    pub next_action: Option<(DateTime<Utc>, String)>,
}

/// A key while replaying: the replay's own keys move it; the main screen's keys still
/// look around (focus, filter, detail, help); actions are refused as in read-only mode.
pub fn on_key(state: &State, key: &crossterm::event::KeyEvent) -> Option<Vec<Effect>> {
    state.replay.as_ref()?;
    state.keymap.replay.action_for(key).map(|action: ReplayAction| vec![Effect::Replay(action)])
}
