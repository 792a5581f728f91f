//! Rows for the tests of the judgements (model/ and serve/): months, sessions, locks
//! and snapshots at times counted in seconds from one instant.
#![allow(clippy::unwrap_used)]

use chrono::{DateTime, TimeZone, Utc};

use crate::model::snapshot::{MonthRow, QueueDepth, SessionInfo};
use crate::model::{LockRow, Snapshot};

pub fn t(secs: i64) -> DateTime<Utc> {
    Utc.timestamp_opt(1_700_000_000 + secs, 0).unwrap()
}

pub fn month(m: i32, status: &str, started: Option<i64>) -> MonthRow {
    MonthRow {
        id: m,
        year: 2024,
        month: m,
        status: status.into(),
        retry_count: Some(0),
        started_at: started.map(t),
        completed_at: None,
        last_retry_at: None,
        error: None,
    }
}

pub fn session(pid: i32, state: &str, state_change: i64) -> SessionInfo {
    SessionInfo {
        pid,
        usename: Some("app".into()),
        application_name: Some("scheduler".into()),
        client_addr: Some("10.0.0.5".into()),
        client_hostname: None,
        client_port: Some(5555),
        backend_start: Some(t(-10_000)),
        xact_start: None,
        query_start: Some(t(state_change)),
        state_change: Some(t(state_change)),
        state: Some(state.into()),
        wait_event_type: None,
        wait_event: None,
        query: Some("SELECT 1".into()),
        backend_type: Some("client backend".into()),
    }
}

pub fn lock(pid: i32, key: u32, subid: i16, holder: SessionInfo) -> LockRow {
    LockRow {
        pid: Some(pid),
        granted: true,
        classid: 0,
        objid: key,
        objsubid: subid,
        in_this_database: true,
        mode: "ExclusiveLock".into(),
        waitstart: None,
        blocking_pids: vec![],
        holder: Some(holder),
    }
}

pub fn snapshot(now: i64, months: Vec<MonthRow>, locks: Vec<LockRow>, ready: i64) -> Snapshot {
    Snapshot {
        taken_at: t(now),
        reader_pid: None,
        months,
        locks,
        queue: QueueDepth { ready, ..QueueDepth::default() },
        processing: None,
        duplicates: Vec::new(),
        history: None,
    }
}
