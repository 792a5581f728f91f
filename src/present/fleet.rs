//! The fleet's rows as text, a line each, under one header: the `fleet` command and the
//! console's fleet view show the same columns.

use crate::model::fleet::FleetRow;
use crate::text::{clip, sanitize};

/// The header over [`line()`]s whose names are `name_width` wide.
pub fn header(name_width: usize) -> String {
    format!(
        "{:<name_width$} {:<8} {:>11} {:>6} {:>5} {:>6} {:>5}  verdicts",
        "context", "level", "done", "per h", "stuck", "ready", "dead"
    )
}

/// One context: `name` (as the caller marks it) in `name_width` columns, then its level and
/// figures — or, when it could not be read, why.
pub fn line(row: &FleetRow, name: &str, name_width: usize) -> String {
    let name = clip(&sanitize(name), name_width);
    if let Some(error) = &row.error {
        return format!("{name:<name_width$} {:<8} {}", row.level.word(), sanitize(error));
    }
    let kinds: Vec<String> = row.verdicts.iter().map(|k| k.name()).collect();
    format!(
        "{name:<name_width$} {:<8} {:>11} {:>6} {:>5} {:>6} {:>5}  {}",
        row.level.word(),
        format!("{}/{}", row.done, row.total),
        row.per_hour.map_or("-".into(), |h| format!("{h:.0}")),
        row.stuck_locks,
        row.ready,
        row.dead,
        if kinds.is_empty() { "-".into() } else { kinds.join(", ") }
    )
}
