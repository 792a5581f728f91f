//! `replay FILE`: the console on a recording. The recorded frames are fed to the same
//! state and drawn by the same screens; a time line moves through them (step, jump a
//! minute, play at a speed, go to the recorded actions). Every action is refused: the
//! state is read-only, and the screen says REPLAY.

use std::io::{BufRead, BufReader, stdout};
use std::path::Path;
use std::time::{Duration, Instant};

use crossterm::event::{Event, EventStream};
use futures_util::StreamExt;
use ratatui::Terminal;
use ratatui::backend::CrosstermBackend;
use tokio::signal::unix::{SignalKind, signal};

use crate::app::keymap::ReplayAction;
use crate::app::replay::ReplayView;
use crate::app::{self, DbEvent, Effect, Msg, Route, State};
use crate::config::Config;
use crate::model::Snapshot;
use crate::model::recording::Entry;
use crate::model::reel::Reel;
use crate::ui::Theme;

/// Frames absorbed before the one shown after a jump (the queue's sparkline and rates,
/// and the holds observed across refreshes, come from the frames before).
const WARM_UP: usize = 60;
const SPEEDS: [u32; 7] = [1, 2, 4, 8, 16, 32, 64];
/// Playing never waits longer than this for the next frame (a quiet hour is skipped).
const LONGEST_WAIT: Duration = Duration::from_secs(2);

/// Reads a recording. A line that is not one is an error naming the file and the line;
/// a last line cut short (the recorder was killed mid-write) is left out.
pub fn load(path: &Path) -> anyhow::Result<Reel> {
    let name = path.display();
    let file = std::fs::File::open(path).map_err(|e| anyhow::anyhow!("replay {name}: cannot open it ({e})"))?;
    let lines: Vec<String> = BufReader::new(file)
        .lines()
        .collect::<Result<_, _>>()
        .map_err(|e| anyhow::anyhow!("replay {name}: cannot read it ({e})"))?;
    let last = lines.iter().rposition(|l| !l.trim().is_empty()).unwrap_or(0);
    let mut entries = Vec::new();
    for (i, line) in lines.iter().enumerate().filter(|(_, l)| !l.trim().is_empty()) {
        match serde_json::from_str::<Entry>(line) {
            Ok(entry) => entries.push(entry),
            Err(_) if i == last && i > 0 => tracing::warn!("replay {name}: its last line is cut short; left out"),
            Err(e) => anyhow::bail!(
                "replay {name}: line {} is not a recording line ({}); is it a file written by --record?",
                i + 1,
                crate::text::clip(&e.to_string(), 80)
            ),
        }
    }
    Reel::new(entries).map_err(|why| anyhow::anyhow!("replay {name}: not a usable recording: {why}"))
}

struct Player {
    reel: Reel,
    file: String,
    pos: usize,
    current: Snapshot,
    playing: bool,
    speed: u32,
    /// The clock the frames are fed on: the first frame at `base`, the others as far
    /// after it as they were read after the first.
    base: Instant,
}

impl Player {
    fn instant(&self, i: usize) -> Instant {
        self.base + (self.reel.time(i) - self.reel.time(0)).to_std().unwrap_or_default()
    }

    fn absorb(&self, state: &mut State, i: usize, snapshot: Snapshot) {
        let at = self.instant(i);
        app::update(state, Msg::Db(DbEvent::Snapshot(Box::new(snapshot), at)));
        app::update(state, Msg::Tick(at));
    }

    /// Shows frame `target`: one delta on when it is the next, else a fresh state warmed up
    /// on the frames before it (what the operator was looking at is kept).
    fn go(&mut self, state: &mut State, target: usize) {
        let target = target.min(self.reel.len() - 1);
        if target == self.pos + 1 {
            self.current = self.reel.advance(&self.current, target);
            self.absorb(state, target, self.current.clone());
        } else if target != self.pos || state.snapshot.is_none() {
            let mut fresh = fresh_state(state.keymap.clone(), state.thresholds.clone(), &self.reel);
            carry_view(state, &mut fresh);
            let from = target.saturating_sub(WARM_UP);
            let mut snapshot = self.reel.snapshot(from);
            self.absorb(&mut fresh, from, snapshot.clone());
            for i in from + 1..=target {
                snapshot = self.reel.advance(&snapshot, i);
                self.absorb(&mut fresh, i, snapshot.clone());
            }
            self.current = snapshot;
            *state = fresh;
        }
        self.pos = target;
        let view = self.view();
        app::update(state, Msg::Db(DbEvent::Replay(view)));
    }

    fn view(&self) -> ReplayView {
        let at = self.reel.time(self.pos);
        let (last, next) = self.reel.actions_around(at);
        ReplayView {
            file: self.file.clone(),
            frame: self.pos,
            frames: self.reel.len(),
            at,
            first: self.reel.time(0),
            last: self.reel.time(self.reel.len() - 1),
            playing: self.playing,
            speed: self.speed,
            last_action: last.cloned(),
            next_action: next.cloned(),
        }
    }

    fn act(&mut self, state: &mut State, action: ReplayAction) {
        let at = self.reel.time(self.pos);
        let minute = chrono::Duration::seconds(60);
        let target = match action {
            ReplayAction::StepBack => self.pos.saturating_sub(1),
            ReplayAction::StepForward => self.pos + 1,
            ReplayAction::JumpBack => self.reel.frame_at(at - minute).min(self.pos.saturating_sub(1)),
            ReplayAction::JumpForward => self.reel.frame_at(at + minute).max(self.pos + 1),
            ReplayAction::Play => {
                self.playing = !self.playing;
                self.pos
            }
            ReplayAction::Faster | ReplayAction::Slower => {
                let i = SPEEDS.iter().position(|s| *s == self.speed).unwrap_or(0);
                let i =
                    if action == ReplayAction::Faster { (i + 1).min(SPEEDS.len() - 1) } else { i.saturating_sub(1) };
                self.speed = SPEEDS[i];
                self.pos
            }
            // The screen as it was when the action happened; pressed again, the frame after.
            ReplayAction::NextAction => match self.reel.actions_around(at).1 {
                Some((t, _)) => self.reel.frame_at(*t).max(self.pos + 1).min(self.after(*t)),
                None => self.pos,
            },
            ReplayAction::PrevAction => match self.reel.actions_around(at - chrono::Duration::milliseconds(1)).0 {
                Some((t, _)) => self.reel.frame_at(*t),
                None => self.pos,
            },
        };
        if target >= self.reel.len() {
            self.playing = false;
        }
        self.go(state, target);
    }

    /// The first frame read after `t`.
    fn after(&self, t: chrono::DateTime<chrono::Utc>) -> usize {
        (self.reel.frame_at(t) + 1).min(self.reel.len() - 1)
    }

    /// How long until the next frame is due, when playing.
    fn next_due(&self) -> Option<Duration> {
        if !self.playing || self.pos + 1 >= self.reel.len() {
            return None;
        }
        let gap = (self.reel.time(self.pos + 1) - self.reel.time(self.pos)).to_std().unwrap_or_default();
        Some((gap / self.speed).min(LONGEST_WAIT))
    }
}

fn fresh_state(keymap: app::keymap::Keymap, thresholds: crate::model::Thresholds, reel: &Reel) -> State {
    let mut state = State::new(thresholds, Duration::from_secs(1), keymap, reel.header.target.clone(), Instant::now());
    state.read_only = true;
    state.watch = reel.header.mode == "watch";
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

pub async fn run(reel: Reel, file: &Path, config: &Config) -> anyhow::Result<i32> {
    let keymap = config.keymap().map_err(anyhow::Error::msg)?;
    let theme = Theme::new(&config.colours, Theme::no_color_from_env());
    let mut state = fresh_state(keymap, config.thresholds.clone(), &reel);
    let current = reel.snapshot(0);
    let file = file.display().to_string();
    let mut player = Player { reel, file, pos: 0, current, playing: false, speed: 1, base: Instant::now() };
    player.go(&mut state, 0);
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
                Effect::Replay(action) => player.act(&mut state, action),
                Effect::Copy(text) => super::terminal::copy_to_clipboard(&text),
                Effect::Log { error: true, text } => tracing::warn!("{text}"),
                Effect::Log { error: false, text } => tracing::info!("{text}"),
                // Nothing is read or run: the data is the recording's.
                Effect::Worker(_) | Effect::Run(_) | Effect::CancelJob | Effect::Bell => {}
            }
        }
    }
    drop(term);
    drop(guard);
    Ok(exit)
}
