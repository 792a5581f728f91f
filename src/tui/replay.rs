//! `replay FILE`: the console on a recording. The recorded frames are fed to the same
//! state and drawn by the same screens; a time line moves through them (step, jump a
//! minute, play at a speed, go to the recorded actions). Every action is refused: the
//! state is read-only, and the screen says REPLAY.

use std::io::stdout;
use std::path::Path;
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};

use crossterm::event::{Event, EventStream};
use futures_util::StreamExt;
use ratatui::Terminal;
use ratatui::backend::CrosstermBackend;
use tokio::signal::unix::{SignalKind, signal};

use crate::app::keymap::ReplayAction;
use crate::app::replay::ReplayView;
use crate::app::{self, DbEvent, Effect, Msg, Route, State};
use crate::config::Config;
use crate::model::reel::{Frame, Reel, ReelError};
use crate::ui::Theme;

/// Frames absorbed before the one shown after a jump (the queue's sparkline and rates,
/// and the holds observed across refreshes, come from the frames before).
const WARM_UP: usize = 60;
const SPEEDS: [u32; 7] = [1, 2, 4, 8, 16, 32, 64];
/// Playing never waits longer than this for the next frame (a quiet hour is skipped).
const LONGEST_WAIT: Duration = Duration::from_secs(2);

/// A recording file, read through its index.
pub type FileReel = Reel<std::fs::File, std::fs::File>;

/// Opens and indexes a recording: no link, device or FIFO is followed or read (see
/// [`super::record_file`]), and memory stays bounded whatever the file's size. A line
/// that is not a recording's is an error naming the file and the line; a last line cut
/// short (the recorder was killed mid-write) is left out, and that is said.
pub fn load(path: &Path) -> anyhow::Result<FileReel> {
    let name = path.display();
    let file = super::record_file::open_for_reading(path).map_err(|e| anyhow::anyhow!("replay {e}"))?;
    let spill = tempfile::tempfile().map_err(|e| anyhow::anyhow!("replay {name}: cannot make its index ({e})"))?;
    let reel =
        Reel::open(file, spill).map_err(|why| anyhow::anyhow!("replay {name}: not a usable recording: {why}"))?;
    for note in &reel.notes {
        tracing::warn!("replay {name}: {note}");
    }
    Ok(reel)
}

struct Player {
    reel: FileReel,
    file: String,
    current: Frame,
    /// The frame after `current`, once read (playing asks for it to know when it is due).
    upcoming: Option<Option<Frame>>,
    first: DateTime<Utc>,
    playing: bool,
    speed: u32,
    /// The clock the frames are fed on: the first frame at `base`, the others as far
    /// after it as they were read after the first.
    base: Instant,
}

impl Player {
    fn instant(&self, taken_at: DateTime<Utc>) -> Instant {
        self.base + (taken_at - self.first).to_std().unwrap_or_default()
    }

    fn absorb(&self, state: &mut State, frame: &Frame) {
        let at = self.instant(frame.snapshot.taken_at);
        app::update(state, Msg::Db(DbEvent::Snapshot(Box::new(frame.snapshot.clone()), at)));
        app::update(state, Msg::Tick(at));
    }

    fn next(&mut self) -> Result<Option<Frame>, ReelError> {
        match self.upcoming.take() {
            Some(next) => Ok(next),
            None => self.reel.step(&self.current),
        }
    }

    /// Shows `target`: one delta on when it is the next frame, else a fresh state warmed
    /// up on the frames before it (what the operator was looking at is kept).
    fn go(&mut self, state: &mut State, target: Target) -> Result<(), ReelError> {
        let frame = match target {
            Target::Frame(i) if i == self.current.index + 1 => self.next()?,
            Target::Frame(i) if i == self.current.index && state.snapshot.is_some() => None,
            Target::Frame(i) => Some(self.reel.frame(i)?),
            Target::At(t) => Some(self.reel.frame_at(t)?),
        };
        match frame {
            Some(frame) if frame.index == self.current.index + 1 => {
                self.absorb(state, &frame);
                self.current = frame;
            }
            Some(frame) => {
                let mut fresh = fresh_state(state.keymap.clone(), state.thresholds.clone(), &self.reel);
                carry_view(state, &mut fresh);
                let mut warm = self.reel.frame(frame.index.saturating_sub(WARM_UP))?;
                self.absorb(&mut fresh, &warm);
                while warm.index < frame.index {
                    match self.reel.step(&warm)? {
                        Some(next) => warm = next,
                        None => break,
                    }
                    self.absorb(&mut fresh, &warm);
                }
                self.current = warm;
                *state = fresh;
            }
            None => {
                if target != Target::Frame(self.current.index) {
                    self.playing = false; // the end
                }
            }
        }
        self.upcoming = None;
        let view = self.view();
        app::update(state, Msg::Db(DbEvent::Replay(view)));
        Ok(())
    }

    fn view(&self) -> ReplayView {
        let at = self.current.snapshot.taken_at;
        let (last, next) = self.reel.actions_around(at);
        let (first, end) = self.reel.span();
        ReplayView {
            file: self.file.clone(),
            frame: self.current.index,
            frames: self.reel.len(),
            at,
            first,
            last: end,
            playing: self.playing,
            speed: self.speed,
            last_action: last.cloned(),
            next_action: next.cloned(),
        }
    }

    fn act(&mut self, state: &mut State, action: ReplayAction) -> Result<(), ReelError> {
        let at = self.current.snapshot.taken_at;
        let pos = self.current.index;
        let minute = chrono::Duration::seconds(60);
        // Times in a reel are checked to lie in 1970..3000: a minute either way cannot overflow.
        let shifted = |d: chrono::Duration| at.checked_add_signed(d).unwrap_or(at);
        let target = match action {
            ReplayAction::StepBack => Target::Frame(pos.saturating_sub(1)),
            ReplayAction::StepForward => Target::Frame(pos + 1),
            ReplayAction::JumpBack => {
                let t = shifted(-minute);
                let i = self.reel.frame_at(t)?.index.min(pos.saturating_sub(1));
                Target::Frame(i)
            }
            ReplayAction::JumpForward => Target::Frame(self.reel.frame_at(shifted(minute))?.index.max(pos + 1)),
            ReplayAction::Play => {
                self.playing = !self.playing;
                Target::Frame(pos)
            }
            ReplayAction::Faster | ReplayAction::Slower => {
                let i = SPEEDS.iter().position(|s| *s == self.speed).unwrap_or(0);
                let i =
                    if action == ReplayAction::Faster { (i + 1).min(SPEEDS.len() - 1) } else { i.saturating_sub(1) };
                self.speed = SPEEDS[i];
                Target::Frame(pos)
            }
            // The screen as it was when the action happened; pressed again, the frame after.
            ReplayAction::NextAction => match self.reel.actions_around(at).1.map(|(t, _)| *t) {
                Some(t) => {
                    let at_action = self.reel.frame_at(t)?.index;
                    let after = (at_action + 1).min(self.reel.len() - 1);
                    Target::Frame(at_action.max(pos + 1).min(after))
                }
                None => Target::Frame(pos),
            },
            ReplayAction::PrevAction => {
                match self.reel.actions_around(shifted(-chrono::Duration::milliseconds(1))).0.map(|(t, _)| *t) {
                    Some(t) => Target::At(t),
                    None => Target::Frame(pos),
                }
            }
        };
        if matches!(target, Target::Frame(i) if i >= self.reel.len()) {
            self.playing = false;
        }
        self.go(state, target)
    }

    /// How long until the next frame is due, when playing.
    fn next_due(&mut self) -> Option<Duration> {
        if !self.playing {
            return None;
        }
        if self.upcoming.is_none() {
            self.upcoming = Some(self.reel.step(&self.current).unwrap_or(None));
        }
        let next = self.upcoming.as_ref()?.as_ref()?;
        let gap = (next.snapshot.taken_at - self.current.snapshot.taken_at).to_std().unwrap_or_default();
        Some((gap / self.speed).min(LONGEST_WAIT))
    }
}

/// Where to go: a frame, or the last frame read at a time.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Target {
    Frame(usize),
    At(DateTime<Utc>),
}

fn fresh_state(keymap: app::keymap::Keymap, thresholds: crate::model::Thresholds, reel: &FileReel) -> State {
    let mut state = State::new(thresholds, Duration::from_secs(1), keymap, reel.header.target.clone(), Instant::now());
    state.read_only = true;
    state.watch = reel.header.mode == crate::model::recording::Mode::Watch;
    // Recorded data is never stale: each frame comes with its own clock (see `Player::instant`).
    let version = reel.header.server_version.clone().unwrap_or_else(|| "?".into());
    app::update(&mut state, Msg::Db(DbEvent::Connected { server_version: version, route: Route::direct() }));
    state
}

/// What the operator was looking at, kept across a jump.
fn carry_view(from: &State, to: &mut State) {
    to.focus = from.focus;
    to.selected_month = from.selected_month;
    to.selected_lock = from.selected_lock;
    to.month_sort = from.month_sort;
    to.lock_sort = from.lock_sort;
    to.filter = from.filter.clone();
    to.cause = from.cause.clone();
    to.marked = from.marked.clone();
    if !matches!(from.overlay, app::Overlay::Dialog(_)) {
        to.overlay = from.overlay.clone();
    }
}

pub async fn run(mut reel: FileReel, file: &Path, config: &Config) -> anyhow::Result<i32> {
    let keymap = config.keymap().map_err(anyhow::Error::msg)?;
    let theme = Theme::new(&config.colours, Theme::no_color_from_env())
        .with_ascii(config.charset.ascii(false, &|k| std::env::var(k).ok()));
    let mut state = fresh_state(keymap, config.thresholds.clone(), &reel);
    let name = file.display().to_string();
    let current = reel.frame(0).map_err(|why| anyhow::anyhow!("replay {name}: {why}"))?;
    let first = reel.span().0;
    let mut player =
        Player { reel, file: name, current, upcoming: None, first, playing: false, speed: 1, base: Instant::now() };
    player.absorb(&mut state, &player.current.clone());
    let view = player.view();
    app::update(&mut state, Msg::Db(DbEvent::Replay(view)));
    let mut sigterm = signal(SignalKind::terminate())?;
    let mut sighup = signal(SignalKind::hangup())?;
    let mut sigint = signal(SignalKind::interrupt())?;
    let guard = super::terminal::TerminalGuard::enter()?;
    crossterm::execute!(stdout(), crossterm::terminal::Clear(crossterm::terminal::ClearType::All))?;
    let mut term = Terminal::new(CrosstermBackend::new(stdout()))?;
    let mut events = EventStream::new();
    let mut exit = 0;
    tracing::info!("replaying {} ({} frames)", player.file, player.reel.len());
    while !state.quit {
        tui_logger::move_events();
        super::draw(&mut term, &state, &theme)?;
        let due = player.next_due();
        let effects = tokio::select! {
            event = events.next() => match event {
                Some(Ok(Event::Key(key))) => app::update(&mut state, Msg::Key(key)),
                Some(Ok(_)) => Vec::new(),
                Some(Err(_)) | None => { exit = 129; break }
            },
            _ = tokio::time::sleep(due.unwrap_or(Duration::from_secs(3600))), if due.is_some() => {
                vec![Effect::Replay(ReplayAction::StepForward)]
            }
            _ = sigterm.recv() => { exit = 143; break }
            _ = sighup.recv() => { exit = 129; break }
            _ = sigint.recv() => { exit = 130; break }
        };
        for effect in effects {
            match effect {
                Effect::Replay(action) => {
                    if let Err(why) = player.act(&mut state, action) {
                        player.playing = false;
                        tracing::warn!("replay {}: {why}", player.file);
                    }
                }
                Effect::Copy(text) => super::terminal::copy_to_clipboard(&text),
                Effect::Log { error: true, text } => tracing::warn!("{text}"),
                Effect::Log { error: false, text } => tracing::info!("{text}"),
                // Nothing is read or run: the data is the recording's.
                Effect::Worker(_) | Effect::Run(_) | Effect::CancelJob | Effect::ReadFleet | Effect::Bell => {}
            }
        }
    }
    drop(term);
    drop(guard);
    Ok(exit)
}
