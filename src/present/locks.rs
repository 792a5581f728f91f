//! The lock table's columns, declared once: the console's lock panel (`ui/locks.rs`) and
//! the `locks` and `snapshot` commands' text table show these cells under these headers.

use crate::duration_text::format as dur;
use crate::model::stuck::LockVerdict;
use crate::model::time::since;
use crate::model::{HoldBasis, LockRow, Snapshot};

/// One column: its header, how wide it is when there is room (0: the last column, which
/// takes what the others leave), how narrow it may get, and who gives way first when
/// space is short (the highest number; 0 never goes).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LockColumn {
    pub header: &'static str,
    pub width: u16,
    pub min: u16,
    pub give_way: u8,
}

/// How many columns a lock row has.
pub const COUNT: usize = 10;

/// The columns, in order. When space is short the client goes first, then the user, the
/// state, the idle time and the waiter count, then the hold; the application — which
/// scheduler leaks — goes last; the month, the pid and why it is stuck stay whole.
pub const COLUMNS: [LockColumn; COUNT] = [
    LockColumn { header: "Month", width: 8, min: 8, give_way: 0 },
    LockColumn { header: "Pid", width: 6, min: 6, give_way: 0 },
    LockColumn { header: "Application", width: 16, min: 10, give_way: 1 },
    LockColumn { header: "User", width: 12, min: 8, give_way: 5 },
    LockColumn { header: "Client", width: 21, min: 12, give_way: 6 },
    LockColumn { header: "State", width: 13, min: 6, give_way: 4 },
    LockColumn { header: "Idle", width: 6, min: 6, give_way: 3 },
    LockColumn { header: "Held", width: 8, min: 8, give_way: 2 },
    LockColumn { header: "W", width: 1, min: 1, give_way: 3 },
    LockColumn { header: "Why stuck", width: 0, min: 0, give_way: 0 },
];

/// The index of the "why stuck" column (drawn highlighted when the lock is stuck).
pub const WHY: usize = COUNT - 1;

/// One lock's cells, in [`COLUMNS`] order, as read (the table clips, which sanitises
/// them too). `poolers`: the addresses a client is shown through ("via pooler").
pub fn cells(lock: &LockRow, verdict: &LockVerdict, snap: &Snapshot, poolers: &[String]) -> [String; COUNT] {
    let holder = lock.holder.as_ref();
    let text = |value: Option<&String>| value.map_or_else(|| "-".to_string(), String::clone);
    let idle = holder.filter(|h| h.is_idle()).and_then(|h| h.state_change);
    // A lower bound; "obs" marks one observed across refreshes (else: idle since).
    let held = verdict.hold.map_or(String::new(), |h| {
        let basis = if h.basis == HoldBasis::Observed { " obs" } else { "" };
        format!("≥{}{basis}", dur(h.at_least))
    });
    [
        super::lock_month(lock.month(), lock.granted),
        lock.pid.map_or("-".into(), |p| p.to_string()),
        text(holder.and_then(|h| h.application_name.as_ref())),
        text(holder.and_then(|h| h.usename.as_ref())),
        holder.map_or("-".into(), |h| h.client_via(poolers)),
        text(holder.and_then(|h| h.state.as_ref())),
        idle.map_or(String::new(), |c| dur(since(c, snap.taken_at))),
        held,
        snap.waiters_of(lock).to_string(),
        super::lock_why(lock.granted, &lock.blocking_pids, &verdict.problems),
    ]
}
