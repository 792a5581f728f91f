//! A recording's lines read one at a time (each at most [`MAX_LINE`] bytes, its time in
//! range), and why a recording cannot be read: the reading half of [`super::reel`].

use std::io::{BufRead, Read};

use chrono::{DateTime, Datelike, Utc};

use crate::model::recording::{Entry, FORMAT};
use crate::model::reel::MAX_LINE;

/// A line of the recording.
pub(super) enum Line {
    Entry(Box<Entry>),
    Blank,
    End,
}

/// Nothing more to read after this point.
pub(super) fn at_end<B: BufRead>(reader: &mut B) -> bool {
    reader.fill_buf().map(|b| b.is_empty()).unwrap_or(true)
}

/// Reads one line at most [`MAX_LINE`] long; `line_no` names it in an error (0: unknown).
pub(super) fn read_entry<B: BufRead>(reader: &mut B, offset: &mut u64, line_no: usize) -> Result<Line, ReelError> {
    let name = line_name(line_no);
    let bad = |why: String| ReelError::BadLine { line: name.clone(), why };
    let mut bytes = Vec::new();
    let n = reader.take(MAX_LINE + 1).read_until(b'\n', &mut bytes).map_err(|e| io(&format!("read {name}"), e))?;
    if n == 0 {
        return Ok(Line::End);
    }
    if n as u64 > MAX_LINE {
        return Err(bad(format!(" is longer than {} MB; not a recording line", MAX_LINE >> 20)));
    }
    *offset += n as u64;
    let text = std::str::from_utf8(&bytes).map_err(|_| bad(" is not UTF-8 text".into()))?;
    if text.trim().is_empty() {
        return Ok(Line::Blank);
    }
    let entry: Entry = serde_json::from_str(text).map_err(|e| {
        bad(format!(
            " is not a recording line ({}); is it a file written by --record?",
            crate::text::clip(&e.to_string(), 80)
        ))
    })?;
    check_time(entry.t, line_no)?;
    Ok(Line::Entry(Box::new(entry)))
}

/// A recording's times are those of a running console: from 1970 to 2999.
pub(super) fn check_time(t: DateTime<Utc>, line_no: usize) -> Result<(), ReelError> {
    if (1970..3000).contains(&t.year()) {
        return Ok(());
    }
    let why = format!(": its time {} is out of range (1970–2999); not a recording line", t.to_rfc3339());
    Err(ReelError::BadLine { line: line_name(line_no), why })
}

/// A line as an error names it: `line 7`, or `a line` when its number is not known.
pub(super) fn line_name(line_no: usize) -> String {
    if line_no > 0 { format!("line {line_no}") } else { "a line".into() }
}

/// Why a recording cannot be read, each said in one line.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ReelError {
    /// Reading the file, or reading or writing the index beside it, failed.
    #[error("cannot {what} ({detail})")]
    Io { what: String, detail: String },
    #[error("it does not start with a recording header")]
    NoHeader,
    #[error("its format is {0}, newer than this binary reads ({FORMAT}); upgrade")]
    Newer(u32),
    #[error("it holds no snapshot")]
    NoSnapshot,
    /// A line that is not a recording's: `line` names it, `why` follows it.
    #[error("{line}{why}")]
    BadLine { line: String, why: String },
    /// The file or its index is not what was read when it was opened.
    #[error("{0}")]
    Changed(&'static str),
}

pub(super) fn io(what: &str, e: impl std::fmt::Display) -> ReelError {
    ReelError::Io { what: what.to_string(), detail: e.to_string() }
}
