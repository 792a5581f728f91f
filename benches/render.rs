//! Rendering at scale (issue 5, target 3): frame time at 200×60 with 2,412 months
//! and 1,000 advisory locks, and the bytes written to the terminal by a refresh
//! that changes nothing. `cargo bench --bench render`
#![allow(clippy::unwrap_used, clippy::expect_used)] // a benchmark may panic

use std::io::Write;
use std::sync::{Arc, Mutex};
use std::time::Instant;

use backfill_console::app::{self, DbEvent, Msg, State};
use backfill_console::config::Config;
use backfill_console::model::progress::History;
use backfill_console::model::{LockRow, MonthRow, QueueDepth, SessionInfo, Snapshot};
use backfill_console::ui::{self, Theme};
use chrono::{TimeZone, Utc};
use ratatui::backend::CrosstermBackend;
use ratatui::layout::Rect;
use ratatui::{Terminal, TerminalOptions, Viewport};

/// A writer that counts what it is given.
#[derive(Clone, Default)]
struct Counter(Arc<Mutex<usize>>);

impl Write for Counter {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        *self.0.lock().unwrap() += buf.len();
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

fn scale_snapshot(seconds: i64) -> Snapshot {
    let now = Utc.with_ymd_and_hms(2026, 11, 26, 12, 0, 0).unwrap() + chrono::Duration::seconds(seconds);
    let statuses = ["pending", "processing", "completed", "retry", "failed"];
    let months: Vec<MonthRow> = (1900..=2100)
        .rev()
        .flat_map(|y| (1..=12).rev().map(move |m| (y, m)))
        .enumerate()
        .map(|(i, (year, month))| MonthRow {
            id: i as i32,
            year,
            month,
            status: statuses[i % 5].into(),
            retry_count: Some((i % 6) as i32),
            started_at: Some(now - chrono::Duration::seconds(i as i64 * 7)),
            completed_at: None,
            last_retry_at: None,
            error: (i % 5 == 4).then(|| "isbndb: 429 Too Many Requests (daily quota)".to_string()),
        })
        .collect();
    let locks: Vec<LockRow> = (0..1000)
        .map(|i| {
            let pid = 10_000 + (i / 10) as i32; // 100 sessions, 10 locks each
            LockRow {
                pid: Some(pid),
                granted: true,
                classid: 0,
                objid: (1900 + i / 12) * 100 + i % 12 + 1,
                objsubid: 1,
                in_this_database: true,
                mode: "ExclusiveLock".into(),
                waitstart: None,
                blocking_pids: vec![],
                holder: Some(SessionInfo {
                    pid,
                    usename: Some("backfill".into()),
                    application_name: Some(format!("consumer-{}", i / 10)),
                    client_addr: Some("10.0.0.9".into()),
                    client_hostname: None,
                    client_port: Some(40_000),
                    backend_start: Some(now - chrono::Duration::hours(3)),
                    xact_start: None,
                    query_start: Some(now - chrono::Duration::seconds(40)),
                    state_change: Some(now - chrono::Duration::seconds(40)),
                    state: Some("idle".into()),
                    wait_event_type: None,
                    wait_event: None,
                    query: Some("UPDATE backfill_log SET isbns_resolved = $1 WHERE id = $2".into()),
                    backend_type: Some("client backend".into()),
                }),
            }
        })
        .collect();
    let queue = QueueDepth {
        ready: 900_000,
        in_flight: 100_000,
        delayed: 0,
        dead: 100_000,
        oldest_ready_at: Some(now - chrono::Duration::seconds(3600)),
        enqueued_total: 2_000_000 + seconds,
        estimated: true,
    };
    // A day of throughput for the wall monitor's chart.
    let history = History {
        read_at: now,
        hourly: (0..24).map(|h| 40 + (h * 7) % 23).collect(),
        ten_minutes: (0..12).map(|m| 6 + (m * 5) % 7).collect(),
        failed_hourly: (0..24).map(|h| h % 4).collect(),
        last_completed_at: Some(now - chrono::Duration::seconds(30)),
        first_started_at: None,
    };
    Snapshot {
        taken_at: now,
        reader_pid: None,
        months,
        locks,
        queue,
        processing: None,
        duplicates: Vec::new(),
        history: Some(history),
    }
}

fn scale_state() -> (State, Instant) {
    let config = Config::builtin().unwrap();
    let start = Instant::now();
    let mut state = State::new(
        config.thresholds.clone(),
        config.refresh,
        config.keymap().unwrap(),
        "backfill@db:5432/books".into(),
        start,
    );
    app::update(
        &mut state,
        Msg::Db(DbEvent::Connected { server_version: "15.18".into(), route: app::Route::direct() }),
    );
    for i in 0..60 {
        let snap = scale_snapshot(i);
        app::update(&mut state, Msg::Db(DbEvent::Snapshot(Box::new(snap), start)));
    }
    (state, start)
}

/// A fixed 200×60 viewport: no size query per frame (the bench's stdout is no terminal, and
/// asking for its size would measure a fallback the real console never takes).
fn terminal(out: Counter) -> Terminal<CrosstermBackend<Counter>> {
    let viewport = Viewport::Fixed(Rect::new(0, 0, 200, 60));
    Terminal::with_options(CrosstermBackend::new(out), TerminalOptions { viewport }).unwrap()
}

fn main() {
    report_bytes();
    divan::main();
}

#[divan::bench(sample_count = 200)]
fn frame_200x60_full_redraw(bencher: divan::Bencher) {
    full_redraw(bencher, false);
}

/// Every frame drawn whole, of the console or of `watch`.
fn full_redraw(bencher: divan::Bencher, watch: bool) {
    let (mut state, _) = scale_state();
    state.watch = watch;
    let theme = Theme::new(&Config::builtin().unwrap().colours, false);
    let mut terminal = terminal(Counter::default());
    bencher.bench_local(|| {
        // Forget what the terminal shows, so every cell is diffed and written.
        terminal.clear().ok();
        terminal.draw(|f| ui::draw(f, &state, &theme)).unwrap();
    });
}

#[divan::bench(sample_count = 200)]
fn frame_200x60_steady(bencher: divan::Bencher) {
    let (state, _) = scale_state();
    let theme = Theme::new(&Config::builtin().unwrap().colours, false);
    let mut terminal = terminal(Counter::default());
    bencher.bench_local(|| {
        terminal.draw(|f| ui::draw(f, &state, &theme)).unwrap();
    });
}

#[divan::bench(sample_count = 200)]
fn frame_200x60_watch_full_redraw(bencher: divan::Bencher) {
    full_redraw(bencher, true);
}

/// What recording costs per refresh: handing a snapshot at scale to the writer thread (a
/// clone and a channel send, in the worker task; the delta and the file are the writer's).
#[divan::bench(sample_count = 200)]
fn recorder_hand_over_at_scale(bencher: divan::Bencher) {
    let snapshot = scale_snapshot(0);
    let dir = tempfile::tempdir().unwrap();
    let options = backfill_console::tui::recorder::RecordOptions {
        path: dir.path().join("bench.rec"),
        max_bytes: 64 << 20,
        queries: false,
    };
    let header = backfill_console::model::recording::Header {
        format: backfill_console::model::recording::FORMAT,
        target: "bench".into(),
        mode: backfill_console::model::recording::Mode::Watch,
        server_version: None,
    };
    let recorder = backfill_console::tui::recorder::Recorder::start(&options, header, Box::new(|_| {})).unwrap();
    let sender = recorder.sender();
    bencher.bench_local(|| sender.snapshot(&snapshot));
    drop(sender);
    recorder.finish(std::time::Duration::from_secs(20));
}

/// Bytes sent for a refresh where nothing changed, and one where a second passed.
fn report_bytes() {
    let theme = Theme::new(&Config::builtin().unwrap().colours, false);
    let (mut state, start) = scale_state();
    let counter = Counter::default();
    let mut terminal = terminal(counter.clone());
    terminal.draw(|f| ui::draw(f, &state, &theme)).unwrap();
    let first = *counter.0.lock().unwrap();
    terminal.draw(|f| ui::draw(f, &state, &theme)).unwrap();
    let unchanged = *counter.0.lock().unwrap() - first;
    // The same data, one second later: only the age counters move.
    app::update(&mut state, Msg::Tick(start + std::time::Duration::from_secs(1)));
    let before = *counter.0.lock().unwrap();
    terminal.draw(|f| ui::draw(f, &state, &theme)).unwrap();
    let one_second = *counter.0.lock().unwrap() - before;
    // A new snapshot identical but for its time (what a quiet system sends every second).
    let snap = scale_snapshot(61);
    app::update(&mut state, Msg::Db(DbEvent::Snapshot(Box::new(snap), start + std::time::Duration::from_secs(2))));
    let before = *counter.0.lock().unwrap();
    terminal.draw(|f| ui::draw(f, &state, &theme)).unwrap();
    let quiet_refresh = *counter.0.lock().unwrap() - before;
    println!(
        "bytes at 200x60: first frame {first}, redraw with nothing changed {unchanged}, one second later {one_second}, a quiet refresh {quiet_refresh}"
    );
}
