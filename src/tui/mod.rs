//! The interactive console and `watch`: the terminal, the event loop and the
//! tasks. The draw loop never awaits the database: keys and database events
//! become messages, `app::update` turns them into state and effects, and the
//! screen is redrawn from state — only when something changed.

mod jobs;
pub mod record_file;
pub mod recorder;
mod relay;
pub mod replay;
pub mod terminal;
mod worker;

use std::io::stdout;
use std::time::{Duration, Instant};

use crossterm::event::{Event, EventStream};
use crossterm::terminal::{BeginSynchronizedUpdate, EndSynchronizedUpdate};
use futures_util::StreamExt;
use ratatui::Terminal;
use ratatui::backend::CrosstermBackend;
use tokio::signal::unix::{SignalKind, signal};
use tokio::sync::mpsc;

use crate::app::{self, Effect, Msg, State};
use crate::config::Config;
use crate::db::audit::Actor;
use crate::db::connect::{ConnSettings, SessionOptions};
use crate::model::recording::{Header, What};
use crate::ui::{self, Theme};

pub struct ConsoleOptions {
    pub settings: ConnSettings,
    /// A direct (not pooled) connection for releases only (`--direct-url` / `direct_url`).
    pub direct: Option<ConnSettings>,
    pub config: Config,
    pub read_only: bool,
    pub watch: bool,
    pub bell: bool,
    /// `--record FILE`: the flight recorder.
    pub record: Option<recorder::RecordOptions>,
    /// The config context (`--context`): its name in the header, a production one framed
    /// red and confirmed by its name typed.
    pub context: Option<crate::contexts::Active>,
    /// Every context of the config, for the picker (`:`).
    pub contexts: Vec<crate::app::ContextInfo>,
}

/// Each context's deadline in the fleet view (connecting included).
const FLEET_DEADLINE: Duration = Duration::from_secs(5);

/// How a console ended: its exit status, and the context the operator switched to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Ended {
    pub code: i32,
    pub switch_to: Option<String>,
}

/// Runs until the operator quits or a signal arrives; returns the exit status
/// (0, or 128 + the signal number).
pub async fn run(opts: ConsoleOptions) -> anyhow::Result<i32> {
    Ok(run_switching(opts).await?.code)
}

/// [`run`], saying also which context the operator switched to (`:`), if any.
pub async fn run_switching(opts: ConsoleOptions) -> anyhow::Result<Ended> {
    let keymap = opts.config.keymap().map_err(anyhow::Error::msg)?;
    let mut opts = opts;
    // A connect that hangs (a silent network) must not hold the worker for long.
    opts.settings.connect_timeout.get_or_insert(Duration::from_secs(5));
    let theme = Theme::new(&opts.config.colours, Theme::no_color_from_env())
        .with_ascii(opts.config.charset.ascii(false, &|k| std::env::var(k).ok()))
        .with_production(opts.context.as_ref().is_some_and(|c| c.production));
    let mut state =
        State::new(opts.config.thresholds.clone(), opts.config.refresh, keymap, opts.settings.target(), Instant::now());
    state.ops = &crate::ops::OPERATIONS;
    state.read_only = opts.read_only || opts.watch;
    state.contexts = opts.contexts.clone();
    state.context = opts.context.as_ref().map(|c| crate::app::ContextInfo {
        name: c.name.clone(),
        production: c.production,
        read_only: state.read_only,
        target: opts.settings.target(),
    });
    state.watch = opts.watch;
    state.bell_on_critical = opts.bell;
    // The reading session is read-only in watch / read-only mode: the server refuses any write.
    let pooler = opts.config.pooler;
    let read_options = SessionOptions { read_only: state.read_only, pooler, ..SessionOptions::default() };
    let write_options = SessionOptions { pooler, ..SessionOptions::default() };
    let (cmd_tx, cmd_rx) = mpsc::channel(16);
    let (db_tx, mut db_rx) = mpsc::channel(64);
    // The header says so while a pooler holds the reading session's start-up in its queue.
    let read_options = SessionOptions { waiting: Some(queue_reporter(db_tx.clone())), ..read_options };

    // Opened before the terminal is taken: a file that cannot be written is a plain error.
    let mut recorder = match &opts.record {
        Some(options) => {
            let header = Header {
                format: crate::model::recording::FORMAT,
                target: state.target.clone(),
                mode: if opts.watch {
                    crate::model::recording::Mode::Watch
                } else {
                    crate::model::recording::Mode::Console
                },
                server_version: None,
            };
            // The writer's thread says so when the recording stops early (the REC STOPPED badge).
            let tx = db_tx.clone();
            let on_stop: recorder::OnStop = Box::new(move |why| {
                let _ = tx.try_send(app::DbEvent::RecordingStopped(why));
            });
            state.recording = Some(app::Recording::On);
            Some(recorder::Recorder::start(options, header, on_stop)?)
        }
        None => None,
    };
    let worker = worker::Worker {
        settings: opts.settings.clone(),
        options: read_options,
        interval: state.refresh,
        commands: cmd_rx,
        events: db_tx.clone(),
        listen: opts.config.listen,
        // A wall monitor needs no more than one refresh per interval, however busy the
        // fleet: that keeps `watch` nearly free for days; the console answers in 200 ms.
        min_push_gap: if opts.watch { state.refresh } else { worker::CONSOLE_PUSH_GAP },
        queue_query: opts.config.queue_depth_query.clone(),
        // Snapshots are handed to the recorder from the worker: the clone never costs a frame.
        recorder: recorder.as_ref().map(recorder::Recorder::sender),
        relay: opts.config.relay,
        relay_trust: opts.config.relay_trust.clone(),
    };
    let worker_task = tokio::spawn(worker.run());

    let mut sigterm = signal(SignalKind::terminate())?;
    let mut sighup = signal(SignalKind::hangup())?;
    let mut sigint = signal(SignalKind::interrupt())?;
    let guard = terminal::TerminalGuard::enter()?;
    // Cleared without `Terminal::clear`, which asks the terminal where its cursor is.
    crossterm::execute!(stdout(), crossterm::terminal::Clear(crossterm::terminal::ClearType::All))?;
    let mut term = Terminal::new(CrosstermBackend::new(stdout()))?;
    let mut events = EventStream::new();
    let mut tick = tokio::time::interval(Duration::from_millis(250));
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
    let actor = Actor::current();
    let mut dirty = true;
    let mut last_second = 0u64;
    let started = Instant::now();
    let mut exit = 0;
    // Asks the running job to stop at its next safe point.
    let mut job_stop: Option<tokio::sync::watch::Sender<bool>> = None;
    tracing::info!("console started on {}", state.target);
    while !state.quit {
        if dirty {
            tui_logger::move_events();
            draw(&mut term, &state, &theme)?;
            dirty = false;
        }
        let effects = tokio::select! {
            event = events.next() => match event {
                Some(Ok(Event::Key(key))) => {
                    dirty = true;
                    let confirming = match &state.overlay { app::Overlay::Dialog(d) => Some(d.title()), _ => None };
                    let effects = app::update(&mut state, Msg::Key(key));
                    record_request(recorder.as_mut(), confirming, &effects);
                    effects
                }
                Some(Ok(Event::Resize(..))) => { dirty = true; Vec::new() }
                Some(Ok(_)) => Vec::new(),
                // The terminal is gone (SSH dropped): leave.
                Some(Err(_)) | None => { exit = 129; break }
            },
            Some(event) = db_rx.recv() => {
                dirty = true;
                // The outcome as data, for the recorder only (nothing to write without one).
                let job_done = match &event {
                    app::DbEvent::JobDone(result) => {
                        Some(recorder.as_ref().and_then(|_| serde_json::to_value(result).ok()))
                    }
                    _ => None,
                };
                record_link(recorder.as_mut(), &state, &event);
                let effects = app::update(&mut state, Msg::Db(event));
                if let Some(result) = job_done {
                    record_outcome(recorder.as_mut(), &state, result);
                }
                effects
            }
            _ = tick.tick() => {
                let now = Instant::now();
                // Ages on screen change once a second; redraw only then.
                let second = now.duration_since(started).as_secs();
                dirty |= second != last_second;
                last_second = second;
                app::update(&mut state, Msg::Tick(now))
            }
            _ = sigterm.recv() => { exit = 143; break }
            _ = sighup.recv() => { exit = 129; break }
            _ = sigint.recv() => { exit = 130; break }
        };
        for effect in effects {
            match effect {
                // A full command queue means a refresh is already due: dropping is right.
                Effect::Worker(cmd) => {
                    let _ = cmd_tx.try_send(cmd);
                }
                Effect::Run(job) => {
                    let settings = crate::ops::settings_for(&job, &opts.settings, opts.direct.as_ref()).clone();
                    let (options, actor, tx) = (write_options.clone(), actor.clone(), db_tx.clone());
                    let (stop, cancel) = tokio::sync::watch::channel(false);
                    job_stop = Some(stop);
                    let control = jobs::control(cancel, db_tx.clone());
                    tokio::spawn(async move {
                        let result = jobs::run(job, settings, options, actor, control).await;
                        let _ = tx.send(app::DbEvent::JobDone(result)).await;
                    });
                }
                Effect::ReadFleet => {
                    let tx = db_tx.clone();
                    match crate::contexts::members(&opts.config) {
                        Ok(members) => {
                            tokio::spawn(async move {
                                let rows = crate::ops::fleet::read_all(members, FLEET_DEADLINE).await;
                                let _ = tx.send(app::DbEvent::Fleet(rows)).await;
                            });
                        }
                        Err(e) => tracing::warn!("fleet: {e}"),
                    }
                }
                Effect::CancelJob => {
                    if let Some(stop) = &job_stop {
                        let _ = stop.send(true);
                    }
                }
                Effect::Copy(text) => terminal::copy_to_clipboard(&text),
                Effect::Bell => terminal::bell(),
                // Only a replay moves (it has its own loop).
                Effect::Replay(_) => {}
                Effect::Log { error: true, text } => tracing::warn!("{text}"),
                Effect::Log { error: false, text } => tracing::info!("{text}"),
            }
        }
    }
    tracing::info!("console stopped");
    tui_logger::move_events();
    drop(cmd_tx); // the worker ends, and its session with it
    let _ = tokio::time::timeout(Duration::from_secs(2), worker_task).await;
    if let Some(recorder) = recorder {
        recorder.finish(Duration::from_secs(2));
    }
    drop(term);
    drop(guard);
    Ok(Ended { code: exit, switch_to: state.switch_to.take() })
}

/// Tells the loop, once a second at most, how long a pooler has held the start-up in its queue.
fn queue_reporter(tx: mpsc::Sender<app::DbEvent>) -> crate::db::connect::WaitReport {
    let last = std::sync::atomic::AtomicU64::new(u64::MAX);
    crate::db::connect::WaitReport(std::sync::Arc::new(move |waited: Duration| {
        let secs = waited.as_secs();
        if last.swap(secs, std::sync::atomic::Ordering::Relaxed) != secs {
            let _ = tx.try_send(app::DbEvent::Queued(waited));
        }
    }))
}

/// The link's changes: every (re)connection, and the start of each outage (the console
/// keeps the last data, marked stale; a replay shows where the recording has no frames).
fn record_link(recorder: Option<&mut recorder::Recorder>, state: &State, event: &app::DbEvent) {
    let Some(r) = recorder else { return };
    match event {
        app::DbEvent::Connected { server_version, .. } => {
            r.record(What::Connected { server_version: server_version.clone() });
        }
        app::DbEvent::RefreshFailed { error, link_lost: true, .. }
            if !matches!(state.link, app::Link::Reconnecting { .. }) =>
        {
            r.record(What::LinkLost { error: error.clone() });
        }
        _ => {}
    }
}

/// The operator confirmed an action (a dialog's go-ahead that started a job, not a plan).
fn record_request(recorder: Option<&mut recorder::Recorder>, confirming: Option<String>, effects: &[Effect]) {
    let job = effects.iter().find_map(|e| match e {
        Effect::Run(job) if !job.is_plan() => Some(job),
        _ => None,
    });
    if let (Some(r), Some(title), Some(job)) = (recorder, confirming, job) {
        r.record(What::Requested { title, job: serde_json::to_value(job).ok() });
    }
}

/// An action's outcome as the console showed it, and as it came back (`result`).
fn record_outcome(recorder: Option<&mut recorder::Recorder>, state: &State, result: Option<serde_json::Value>) {
    if let (Some(r), app::Overlay::Dialog(app::dialog::Dialog::Result { title, lines, ok })) =
        (recorder, &state.overlay)
    {
        r.record(What::Outcome { title: title.clone(), lines: lines.clone(), ok: *ok, result });
    }
}

/// One frame inside a synchronized update: the terminal shows it whole.
fn draw(term: &mut Terminal<CrosstermBackend<std::io::Stdout>>, state: &State, theme: &Theme) -> std::io::Result<()> {
    crossterm::queue!(term.backend_mut(), BeginSynchronizedUpdate)?;
    term.draw(|frame| ui::draw(frame, state, theme))?;
    crossterm::execute!(term.backend_mut(), EndSynchronizedUpdate)?;
    Ok(())
}
