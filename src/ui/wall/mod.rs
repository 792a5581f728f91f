//! `watch`: the wall monitor, read from across a room for days. The headline numbers in
//! big digits, a progress gauge with the ETA band, throughput over the day, the alerts
//! (stuck locks and months, a stall) whole or wrapped, the top error causes, and the
//! queue with its history. Three sizes are designed for: 80×24, 120×36 and 200×60.

mod alerts;
mod chart;
mod tiles;

use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};

use super::theme::Theme;
use super::{footer, header, locks, months, queue};
use crate::app::State;

/// Draws the wall; returns the area under its header and banner (where overlays open).
pub fn draw(frame: &mut Frame, area: Rect, state: &State, theme: &Theme) -> Rect {
    let banner_height = alerts::banner_height(state, area.width);
    let tile_height = tiles::height(area);
    let [top, banner, headline, gauge, body, foot] = Layout::vertical([
        Constraint::Length(1),
        Constraint::Length(banner_height),
        Constraint::Length(tile_height),
        Constraint::Length(tiles::GAUGE_HEIGHT),
        Constraint::Fill(1),
        Constraint::Length(1),
    ])
    .areas(area);
    header::header(frame, top, state, theme);
    alerts::banner(frame, banner, state, theme);
    tiles::headline(frame, headline, state, theme);
    tiles::gauge(frame, gauge, state, theme);
    if area.width >= 160 && area.height >= 48 {
        // 200×60: everything, the calendar and the lock holders too.
        let [left, middle, right] =
            Layout::horizontal([Constraint::Percentage(36), Constraint::Percentage(34), Constraint::Fill(1)])
                .areas(body);
        let [charts, cal] = Layout::vertical([Constraint::Fill(1), Constraint::Length(16)]).areas(left);
        chart::throughput(frame, charts, state, theme);
        months::calendar(frame, cal, state, theme);
        let [alert_list, lock_table] = Layout::vertical([Constraint::Fill(1), Constraint::Fill(1)]).areas(middle);
        alerts::list(frame, alert_list, state, theme);
        locks::table(frame, lock_table, state, theme);
        let [q, causes] = Layout::vertical([Constraint::Length(10), Constraint::Fill(1)]).areas(right);
        queue::panel(frame, q, state, theme);
        alerts::causes(frame, causes, state, theme);
    } else if area.width >= 110 {
        // 120×36: the chart, the alerts, the queue and the causes.
        let [left, middle, right] =
            Layout::horizontal([Constraint::Percentage(38), Constraint::Percentage(34), Constraint::Fill(1)])
                .areas(body);
        chart::throughput(frame, left, state, theme);
        alerts::list(frame, middle, state, theme);
        let [q, causes] = Layout::vertical([Constraint::Length(7), Constraint::Fill(1)]).areas(right);
        queue::panel(frame, q, state, theme);
        alerts::causes(frame, causes, state, theme);
    } else {
        // 80×24: the chart beside the alerts (the queue's ready count is a tile).
        let [left, right] = Layout::horizontal([Constraint::Percentage(45), Constraint::Fill(1)]).areas(body);
        chart::throughput(frame, left, state, theme);
        alerts::list(frame, right, state, theme);
    }
    footer::footer(frame, foot, state, theme);
    Rect { y: headline.y, height: area.height.saturating_sub(headline.y - area.y + 1), ..area }
}
