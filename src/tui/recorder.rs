//! The flight recorder's writer (`--record FILE`): what was seen (snapshots as deltas) and
//! what was done, appended as JSON lines by a thread of its own. The draw loop only hands
//! entries over (never waiting: when the writer falls behind, entries are dropped and a
//! gap is written). The file is created 0600; past the size cap it rotates to FILE.1,
//! and the new file starts with a header and a whole snapshot. Passwords are taken out.

use std::io::Write;
use std::path::PathBuf;
use std::sync::mpsc::{Receiver, SyncSender, TrySendError, sync_channel};

use chrono::Utc;

use super::record_file::RecordFile;
use crate::model::Snapshot;
use crate::model::recording::{Entry, Header, What, delta, redact};

/// Where and how much to record.
#[derive(Debug, Clone)]
pub struct RecordOptions {
    pub path: PathBuf,
    /// Past this many bytes the file rotates to `FILE.1` (so at most twice this on disk).
    pub max_bytes: u64,
    /// Keep other sessions' query text (passwords still taken out); off by default: a
    /// query is the one text a recording would keep that anybody may have typed a secret into.
    pub queries: bool,
}

/// Told once, from the writer's thread, when the recording stops before the console
/// does (a full disk, a file replaced under it): the reason, one line.
pub type OnStop = Box<dyn FnOnce(String) + Send>;

pub struct Recorder {
    tx: SyncSender<Entry>,
    dropped: u64,
    writer: std::thread::JoinHandle<()>,
}

impl Recorder {
    /// Opens the file (an error now, before the console starts, names it and why) and
    /// starts the writer; `on_stop` hears why, should it stop early.
    pub fn start(options: &RecordOptions, header: Header, on_stop: OnStop) -> anyhow::Result<Self> {
        let file = RecordFile::open(&options.path).map_err(|e| anyhow::anyhow!("--record {e}"))?;
        let (tx, rx) = sync_channel(256);
        let writer = Writer::new(options.clone(), header, file, on_stop)
            .map_err(|e| anyhow::anyhow!("--record {}: cannot write to it ({e})", options.path.display()))?;
        let writer = std::thread::Builder::new().name("recorder".into()).spawn(move || writer.run(rx))?;
        Ok(Self { tx, dropped: 0, writer })
    }

    /// Lets the writer put down what is still queued and close the file (at the console's
    /// exit), waiting at most `within` (a sender still held elsewhere keeps it open: the
    /// entries already written stay written either way).
    pub fn finish(self, within: std::time::Duration) {
        drop(self.tx);
        let until = std::time::Instant::now() + within;
        while !self.writer.is_finished() && std::time::Instant::now() < until {
            std::thread::sleep(std::time::Duration::from_millis(10));
        }
    }

    /// Another handle on the same writer (the worker hands it the snapshots, off the draw loop).
    pub fn sender(&self) -> RecordSender {
        RecordSender { tx: self.tx.clone(), dropped: std::sync::atomic::AtomicU64::new(0) }
    }

    /// Hands an entry to the writer, never waiting.
    pub fn record(&mut self, what: What) {
        record(&self.tx, &mut self.dropped, what);
    }
}

/// A handle on a recorder's writer, for another task.
pub struct RecordSender {
    tx: SyncSender<Entry>,
    dropped: std::sync::atomic::AtomicU64,
}

impl RecordSender {
    /// Hands a snapshot to the writer (a clone and a channel send), never waiting.
    pub fn snapshot(&self, snapshot: &Snapshot) {
        use std::sync::atomic::Ordering::Relaxed;
        let mut dropped = self.dropped.load(Relaxed);
        record(&self.tx, &mut dropped, What::Snapshot(Box::new(snapshot.clone())));
        self.dropped.store(dropped, Relaxed);
    }
}

/// Sends `what`, first a gap when entries were dropped; counts a drop when the writer is behind.
fn record(tx: &SyncSender<Entry>, dropped: &mut u64, what: What) {
    if *dropped > 0 {
        match tx.try_send(Entry { t: Utc::now(), what: What::Gap { dropped: *dropped } }) {
            Ok(()) => *dropped = 0,
            Err(_) => {
                *dropped += 1;
                return;
            }
        }
    }
    match tx.try_send(Entry { t: Utc::now(), what }) {
        Ok(()) => {}
        Err(TrySendError::Full(_)) => *dropped += 1,
        // The writer stopped (a write failed; it said so in the log).
        Err(TrySendError::Disconnected(_)) => {}
    }
}

/// Why the writer stopped.
#[derive(Debug, thiserror::Error)]
enum Stop {
    #[error("cannot write to {0}: {1}")]
    Write(String, std::io::Error),
    #[error("cannot rotate: {0}")]
    Rotate(#[from] super::record_file::RecordFileError),
}

struct Writer {
    options: RecordOptions,
    header: Header,
    out: RecordFile,
    on_stop: Option<OnStop>,
    written: u64,
    /// What the file held before its first delta (the header and a whole snapshot): the
    /// cap counts what grows after it, so a snapshot larger than the cap never rotates
    /// on every entry.
    base: u64,
    /// This file has its whole snapshot (later ones, after a gap, count against the cap).
    has_base: bool,
    /// The last snapshot written (deltas are from it).
    last: Option<Snapshot>,
}

impl Writer {
    fn new(options: RecordOptions, header: Header, file: RecordFile, on_stop: OnStop) -> std::io::Result<Self> {
        let written = file.len;
        let mut writer = Self {
            options,
            header,
            out: file,
            on_stop: Some(on_stop),
            written,
            base: written,
            has_base: false,
            last: None,
        };
        writer.write_header().map_err(|e| match e {
            Stop::Write(_, e) => e,
            other => std::io::Error::other(other.to_string()),
        })?;
        writer.base = writer.written;
        Ok(writer)
    }

    fn run(mut self, rx: Receiver<Entry>) {
        for entry in rx {
            if let Err(stop) = self.write(entry) {
                let reason = stop.to_string();
                tracing::warn!("recording stopped: {reason}");
                // Said in the file too when it can still take a line (a rotation refused).
                let _ = self.line(&Entry { t: Utc::now(), what: What::Stopped { reason: reason.clone() } });
                if let Some(tell) = self.on_stop.take() {
                    tell(reason);
                }
                return;
            }
        }
    }

    fn write(&mut self, entry: Entry) -> Result<(), Stop> {
        let mut whole = false;
        let what = match entry.what {
            What::Snapshot(mut snapshot) => {
                redact(&mut snapshot, self.options.queries);
                let what = match &self.last {
                    Some(before) => What::Delta(Box::new(delta(before, &snapshot))),
                    None => {
                        whole = true;
                        What::Snapshot(snapshot.clone())
                    }
                };
                self.last = Some(*snapshot);
                what
            }
            What::Gap { dropped } => {
                // What is missing breaks the chain of deltas: the next snapshot is whole.
                self.last = None;
                What::Gap { dropped }
            }
            What::Outcome { title, lines, ok, result } => What::Outcome {
                title: crate::redact::secrets(&title),
                lines: lines.iter().map(|l| crate::redact::secrets(l)).collect(),
                ok,
                result: result.map(redact_strings),
            },
            What::Requested { title, job } => {
                What::Requested { title: crate::redact::secrets(&title), job: job.map(redact_strings) }
            }
            other => other,
        };
        self.line(&Entry { t: entry.t, what })?;
        if whole && !self.has_base {
            self.base = self.written;
            self.has_base = true;
        }
        if self.written.saturating_sub(self.base) > self.options.max_bytes {
            self.rotate()?;
        }
        Ok(())
    }

    /// One entry, one `write` of a whole line: every entry reaches the file at once (a
    /// crash loses nothing recorded, and no line is ever interleaved).
    fn line(&mut self, entry: &Entry) -> Result<(), Stop> {
        let path = || self.options.path.display().to_string();
        let mut text = serde_json::to_string(entry).map_err(|e| Stop::Write(path(), std::io::Error::other(e)))?;
        text.push('\n');
        self.out.file().write_all(text.as_bytes()).map_err(|e| Stop::Write(path(), e))?;
        self.written += text.len() as u64;
        Ok(())
    }

    fn write_header(&mut self) -> Result<(), Stop> {
        self.line(&Entry { t: Utc::now(), what: What::Header(self.header.clone()) })
    }

    /// FILE → FILE.1 (replacing an older part); a new FILE starts whole.
    fn rotate(&mut self) -> Result<(), Stop> {
        self.out.rotate(&self.options.path)?;
        self.written = 0;
        self.write_header()?;
        if let Some(last) = self.last.clone() {
            self.line(&Entry { t: last.taken_at, what: What::Snapshot(Box::new(last)) })?;
        }
        self.base = self.written;
        self.has_base = self.last.is_some();
        Ok(())
    }
}

/// Every string in `value` with its secrets taken out (an error text, a selection).
fn redact_strings(value: serde_json::Value) -> serde_json::Value {
    use serde_json::Value;
    match value {
        Value::String(text) => Value::String(crate::redact::secrets(&text)),
        Value::Array(items) => Value::Array(items.into_iter().map(redact_strings).collect()),
        Value::Object(fields) => Value::Object(fields.into_iter().map(|(k, v)| (k, redact_strings(v))).collect()),
        other => other,
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn secrets_are_taken_out_of_every_string_of_a_recorded_request() {
        let job = serde_json::json!({
            "failed": { "job": "Claim", "error": "connect failed: password=hunter2", "kind": "link_lost" },
            "lines": ["ok", "ALTER ROLE x PASSWORD 'hunter2'"],
            "count": 3
        });
        let clean = super::redact_strings(job).to_string();
        assert!(!clean.contains("hunter2"), "{clean}");
        assert!(clean.contains("password=***") && clean.contains("\"count\":3"), "{clean}");
    }
}
