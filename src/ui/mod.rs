//! The view: `draw(&State, &mut Frame)`. Pure: no I/O, nothing awaited.

pub mod ascii;
mod contexts;
pub mod errors;
mod fleet;
pub mod footer;
pub mod header;
pub mod hints;
pub mod lists;
pub mod locks;
mod log_lines;
pub mod months;
pub mod overlay;
pub mod queue;
pub mod replay;
pub mod table;
pub mod theme;
pub mod verdicts;
pub mod wall;

use ratatui::Frame;
use ratatui::layout::{Alignment, Constraint, Layout, Rect};
use ratatui::text::Line;
use ratatui::widgets::{Block, Paragraph, Wrap};

use crate::app::{Overlay, State};
pub use theme::Theme;

pub const MIN_WIDTH: u16 = 80;
pub const MIN_HEIGHT: u16 = 24;

pub fn draw(frame: &mut Frame, state: &State, theme: &Theme) {
    draw_screen(frame, state, theme);
    if theme.ascii {
        ascii::transliterate(frame.buffer_mut());
    }
}

fn draw_screen(frame: &mut Frame, state: &State, theme: &Theme) {
    let area = frame.area();
    if area.width < MIN_WIDTH || area.height < MIN_HEIGHT {
        return too_small(frame, area);
    }
    // Replaying: the time line on top, the recorded screen under it.
    let area = match &state.replay {
        Some(view) => {
            let [line, rest] = Layout::vertical([Constraint::Length(1), Constraint::Fill(1)]).areas(area);
            replay::timeline(frame, line, view, theme);
            rest
        }
        None => area,
    };
    // Overlays open over the panels; the header, the verdicts, the status line and the
    // footer stay in sight (nothing may hide what is wrong).
    let panels =
        if state.watch { wall::draw(frame, area, state, theme) } else { main_screen(frame, area, state, theme) };
    // The filter line opened over a view (the audit trail) keeps that view in sight.
    let shown = match (&state.overlay, &state.filter_return) {
        (Overlay::Filter, Some(under)) => under.as_ref(),
        (overlay, _) => overlay,
    };
    match shown {
        Overlay::Help { scroll } => overlay::help(frame, panels, *scroll, state, theme),
        Overlay::Dialog(d) => overlay::dialog(frame, panels, d, state, theme),
        Overlay::Detail(d) => overlay::detail(frame, panels, d, state, theme),
        Overlay::Errors { selected } => errors::view(frame, panels, *selected, state, theme),
        Overlay::Audit { selected } => lists::audit(frame, panels, *selected, state, theme),
        Overlay::Dead { reason, selected, open } => {
            lists::dead(frame, panels, reason.as_deref(), *selected, *open, state, theme)
        }
        Overlay::Verdicts { selected, open } => verdicts::view(frame, panels, *selected, *open, state, theme),
        Overlay::Contexts { filter, selected } => contexts::view(frame, panels, filter, *selected, state, theme),
        Overlay::Fleet { selected, problems } => fleet::view(frame, panels, *selected, *problems, state, theme),
        Overlay::None | Overlay::Filter => {}
    }
}

/// Draws the console's screen; returns the panels' area (where overlays open).
fn main_screen(frame: &mut Frame, area: Rect, state: &State, theme: &Theme) -> Rect {
    let strip = verdicts::strip_height(state, area.height);
    let [top, body, verdict_area, status, foot] = Layout::vertical([
        Constraint::Length(1),
        Constraint::Fill(1),
        Constraint::Length(strip),
        Constraint::Length(1),
        Constraint::Length(1),
    ])
    .areas(area);
    header::header(frame, top, state, theme);
    let [upper, middle, lower] =
        Layout::vertical([Constraint::Percentage(43), Constraint::Fill(1), Constraint::Fill(1)]).areas(body);
    let calendar_width = if area.width >= 140 { 46 } else { 33 };
    let [month_table, calendar] =
        Layout::horizontal([Constraint::Fill(1), Constraint::Length(calendar_width)]).areas(upper);
    months::table(frame, month_table, state, theme);
    months::calendar(frame, calendar, state, theme);
    locks::table(frame, middle, state, theme);
    let [queue_area, log_area] = Layout::horizontal([Constraint::Length(44), Constraint::Fill(1)]).areas(lower);
    queue::panel(frame, queue_area, state, theme);
    log_pane(frame, log_area, theme);
    verdicts::strip(frame, verdict_area, state, theme);
    header::status_line(frame, status, state, theme);
    footer::footer(frame, foot, state, theme);
    body
}

/// What the console did and what failed (tracing, through tui-logger).
fn log_pane(frame: &mut Frame, area: Rect, theme: &Theme) {
    let widget = tui_logger::TuiLoggerWidget::default().block(Block::bordered().title(" Log ")).formatter(Box::new(
        log_lines::WordWrap {
            error: theme.level(crate::model::Level::Critical),
            warn: theme.level(crate::model::Level::Warning),
        },
    ));
    frame.render_widget(widget, area);
}

fn too_small(frame: &mut Frame, area: Rect) {
    let text = vec![
        Line::raw("backfill-console"),
        Line::raw(format!("terminal too small: {}×{}", area.width, area.height)),
        Line::raw(format!("needs at least {MIN_WIDTH}×{MIN_HEIGHT}")),
    ];
    frame.render_widget(Paragraph::new(text).alignment(Alignment::Center).wrap(Wrap { trim: true }), area);
}
