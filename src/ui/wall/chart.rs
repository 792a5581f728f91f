//! Throughput over time, from the database's own history: months completed (and failed)
//! per hour over the last day, and per ten minutes over the last two hours when there is
//! room. A time axis and labelled values; bars that read without colour too.

use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::style::{Modifier, Style};
use ratatui::symbols::Marker;
use ratatui::text::Line;
use ratatui::widgets::{Axis, Block, Chart, Dataset, GraphType, Paragraph};

use crate::app::State;
use crate::model::Status;
use crate::model::progress::History;
use crate::ui::theme::Theme;

pub fn throughput(frame: &mut Frame, area: Rect, state: &State, theme: &Theme) {
    let Some(history) = state.snapshot.as_ref().and_then(|s| s.history.as_ref()) else {
        let block = Block::bordered().title(" Throughput ");
        let text = Line::styled("reading the history (once a minute)…", theme.dim());
        frame.render_widget(Paragraph::new(text).block(block), area);
        return;
    };
    if area.height >= 22 {
        let [day, recent] = Layout::vertical([Constraint::Fill(3), Constraint::Fill(2)]).areas(area);
        hourly(frame, day, history, theme);
        ten_minutes(frame, recent, history, theme);
    } else {
        hourly(frame, area, history, theme);
    }
}

fn hourly(frame: &mut Frame, area: Rect, h: &History, theme: &Theme) {
    let done: u64 = h.hourly.iter().map(|n| n.max(&0).unsigned_abs()).sum();
    let failed: u64 = h.failed_hourly.iter().map(|n| n.max(&0).unsigned_abs()).sum();
    // Failures are counted in the title: drawn in the same columns they would hide bars.
    // "failed" on this screen means months now failed (the tiles); these are failures.
    let mut title = format!(" Done/hour, 24 h: {done} · {failed} failures ");
    if title.chars().count() + 2 > usize::from(area.width) {
        title = format!(" 24 h: {done} done · {failed} failures ");
    }
    let series = [(&h.hourly[..], "completed", theme.status(&Status::Completed))];
    bars(frame, area, &title, &series, ["-24h", "-12h", "now"]);
}

fn ten_minutes(frame: &mut Frame, area: Rect, h: &History, theme: &Theme) {
    let done: u64 = h.ten_minutes.iter().map(|n| n.max(&0).unsigned_abs()).sum();
    let title = format!(" Done/10 min, 2 h: {done} ");
    bars(
        frame,
        area,
        &title,
        &[(&h.ten_minutes[..], "completed", theme.status(&Status::Completed))],
        ["-2h", "-1h", "now"],
    );
}

/// One bar per bucket (oldest on the left), the y axis labelled 0, half and the top.
fn bars(frame: &mut Frame, area: Rect, title: &str, series: &[(&[i64], &str, Style)], x_labels: [&str; 3]) {
    let points: Vec<Vec<(f64, f64)>> = series
        .iter()
        // An empty bucket draws nothing (a zero-height bar would still show a mark).
        .map(|(counts, _, _)| {
            counts.iter().enumerate().filter(|(_, n)| **n > 0).map(|(i, n)| (i as f64 + 0.5, *n as f64)).collect()
        })
        .collect();
    let buckets = series.first().map_or(1, |(c, _, _)| c.len().max(1));
    let peak = series.iter().flat_map(|(c, _, _)| c.iter()).copied().max().unwrap_or(0).max(1);
    let top = nice_ceiling(peak);
    let datasets = series
        .iter()
        .zip(&points)
        .map(|((_, name, style), data)| {
            Dataset::default().name(*name).marker(Marker::HalfBlock).graph_type(GraphType::Bar).style(*style).data(data)
        })
        .collect();
    let axis_style = Style::new().add_modifier(Modifier::DIM);
    let chart = Chart::new(datasets)
        .block(Block::bordered().title(title.to_string()))
        .x_axis(Axis::default().bounds([0.0, buckets as f64]).labels(x_labels).style(axis_style))
        .y_axis(
            Axis::default()
                .bounds([0.0, top as f64])
                .labels(if top >= 2 {
                    vec!["0".to_string(), (top / 2).to_string(), top.to_string()]
                } else {
                    vec!["0".to_string(), top.to_string()]
                })
                .style(axis_style),
        )
        // The title says what the bars are; a legend box would cover them.
        .legend_position(None);
    frame.render_widget(chart, area);
}

/// The smallest of 1, 2, 5 × 10ⁿ at or above `n` (a y axis that reads at a glance).
fn nice_ceiling(n: i64) -> i64 {
    let mut scale = 1;
    loop {
        for step in [1, 2, 5] {
            if step * scale >= n {
                return step * scale;
            }
        }
        scale = scale.saturating_mul(10);
    }
}
