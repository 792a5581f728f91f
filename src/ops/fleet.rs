//! The read of every context at once for the fleet overview: concurrently, each on a
//! read-only session of its own, each within a deadline — a slow or unreachable database
//! shows as such and never holds the others up.

use std::time::{Duration, Instant};

use futures_util::future::join_all;

use super::read::{ReadOptions, judged};
use crate::db::connect::{self, ConnSettings, SessionOptions};
use crate::model::Thresholds;
use crate::model::fleet::FleetRow;

/// One context to read.
pub struct Member {
    pub name: String,
    pub settings: ConnSettings,
    pub thresholds: Thresholds,
    pub queue_depth_query: Option<String>,
    pub pooler: connect::PoolerSetting,
}

impl Member {
    /// Its session: read-only (the server refuses any write), with the member's pooler.
    pub fn session_options(&self) -> SessionOptions {
        SessionOptions { read_only: true, pooler: self.pooler, ..SessionOptions::default() }
    }

    /// Its judged read, with the throughput history (rate, ETA).
    pub fn read_options(&self) -> ReadOptions<'_> {
        ReadOptions {
            thresholds: &self.thresholds,
            queue_depth_query: self.queue_depth_query.as_deref(),
            with_history: true,
        }
    }
}

/// Reads every member, each within `deadline` (connecting included), in the order given.
pub async fn read_all(members: Vec<Member>, deadline: Duration) -> Vec<FleetRow> {
    join_all(members.into_iter().map(|m| read_one(m, deadline))).await
}

async fn read_one(member: Member, deadline: Duration) -> FleetRow {
    let started = Instant::now();
    // The deadline covers the connect too: a silent network is cut off by it (dropping the
    // read closes its socket), whatever connect timeout the URL gives.
    let read = async {
        let session = connect::connect(&member.settings, &member.session_options()).await?;
        judged(&session, &member.read_options()).await
    };
    let ms = |started: Instant| u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX);
    match tokio::time::timeout(deadline, read).await {
        Ok(Ok((snap, assessment))) => FleetRow::read(&member.name, &snap, &assessment, ms(started)),
        Ok(Err(e)) => FleetRow::unread(&member.name, crate::text::sanitize(&e.to_string()), ms(started)),
        Err(_) => FleetRow::unread(
            &member.name,
            format!("no answer within {}", crate::duration_text::format(deadline)),
            ms(started),
        ),
    }
}
