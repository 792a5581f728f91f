//! Progress in words: done of total, the recent rate, the ETA band (never one falsely
//! precise time) and a stall.

use chrono::{DateTime, Utc};

use crate::duration_text::format as dur;
use crate::model::progress::Progress;
use crate::model::time::since;

/// `126/300 done (42%)`.
pub fn done(p: &Progress) -> String {
    format!("{}/{} done ({:.0}%)", p.done, p.total, p.ratio() * 100.0)
}

/// `20.0/h`, or `—/h` without enough history.
pub fn rate(p: &Progress) -> String {
    p.per_hour.map_or("—/h".into(), |r| if r >= 10.0 { format!("{r:.0}/h") } else { format!("{r:.1}/h") })
}

/// The ETA band from `now`: `ETA 4h32m–5h33m`, `ETA ≥ 4h32m` (the slower rate is zero),
/// `ETA —` (not enough history), `done` when nothing remains.
pub fn eta(p: &Progress, now: DateTime<Utc>) -> String {
    if p.remaining == 0 {
        return "nothing left".into();
    }
    let left = |at: DateTime<Utc>| dur(since(now, at));
    match (p.eta_low, p.eta_high) {
        (Some(low), Some(high)) if left(low) == left(high) => format!("ETA ~{}", left(low)),
        (Some(low), Some(high)) => format!("ETA {}–{}", left(low), left(high)),
        (Some(low), None) => format!("ETA ≥ {}", left(low)),
        _ => "ETA —".into(),
    }
}

/// The band as clock times, `(≈ 02:10–03:11 UTC)`, when there is one.
pub fn eta_clock(p: &Progress) -> Option<String> {
    let (low, high) = (p.eta_low?, p.eta_high?);
    let fmt = |t: DateTime<Utc>| {
        if low.date_naive() == high.date_naive() {
            t.format("%H:%M").to_string()
        } else {
            t.format("%m-%d %H:%M").to_string()
        }
    };
    Some(format!("≈ {}–{} UTC", fmt(low), fmt(high)))
}

/// One line for the CLI and the header: `126/300 done (42%) · 20/h · ETA 4h32m–5h33m`.
pub fn summary(p: &Progress, now: DateTime<Utc>) -> String {
    let mut text = format!("{} · {} · {}", done(p), rate(p), eta(p, now));
    if p.stalled {
        text.push_str(" · STALLED");
    }
    text
}
