//! A simulated fleet in this process, on the project's real code paths:
//! schedulers run the one claim routine; consumers read the queue with a
//! visibility timeout and take the month's session lock while they work, as
//! the production consumers do; chaos injects the production failures.

mod consumer;
mod scheduler;
mod upkeep;

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use rand::SeedableRng;
use rand::rngs::StdRng;
use tokio::sync::watch;
use tokio::task::JoinHandle;

use crate::db::connect::{self, ConnSettings, Session, SessionOptions};

#[derive(Debug, Clone)]
pub struct FleetOptions {
    pub schedulers: usize,
    pub consumers: usize,
    /// Time runs this many times faster (sleeps and visibility timeouts shrink).
    pub speed: f64,
    /// 0 = no chaos, 1 = a lot: the chance per opportunity of a leaked lock,
    /// a consumer dying mid-work, or a consumer stall.
    pub chaos: f64,
    pub seed: u64,
}

/// What every fleet task shares.
#[derive(Clone)]
pub struct Shared {
    pub settings: ConnSettings,
    pub opts: FleetOptions,
    pub stop: watch::Receiver<bool>,
    /// Consumers pause until this instant (millis since `epoch`): a stall builds a backlog.
    pub stall_until_ms: Arc<AtomicU64>,
    pub epoch: Instant,
}

impl Shared {
    /// A real-time duration for a simulated one.
    pub fn scaled(&self, d: Duration) -> Duration {
        d.div_f64(self.opts.speed.max(0.01))
    }

    /// Sleeps (scaled); `false` when the fleet is stopping.
    pub async fn nap(&mut self, d: Duration) -> bool {
        let d = self.scaled(d);
        tokio::select! {
            _ = tokio::time::sleep(d) => !*self.stop.borrow(),
            _ = self.stop.changed() => false,
        }
    }

    pub fn stopping(&self) -> bool {
        *self.stop.borrow()
    }

    pub fn stalled(&self) -> bool {
        self.epoch.elapsed().as_millis() < u128::from(self.stall_until_ms.load(Ordering::Relaxed))
    }

    pub fn rng(&self, task: u64) -> StdRng {
        StdRng::seed_from_u64(self.opts.seed.wrapping_mul(1_000_003).wrapping_add(task))
    }

    pub async fn session(&self, app: &str) -> Option<Session> {
        let mut settings = self.settings.clone();
        settings.application_name = app.to_string();
        let options = SessionOptions { statement_timeout: Duration::from_secs(30), ..SessionOptions::default() };
        connect::connect(&settings, &options).await.ok()
    }
}

pub struct Fleet {
    stop: watch::Sender<bool>,
    tasks: Vec<JoinHandle<()>>,
}

impl Fleet {
    pub fn start(settings: ConnSettings, opts: FleetOptions) -> Self {
        let (stop, stop_rx) = watch::channel(false);
        let shared = Shared {
            settings,
            opts: opts.clone(),
            stop: stop_rx,
            stall_until_ms: Arc::new(AtomicU64::new(0)),
            epoch: Instant::now(),
        };
        let mut tasks = Vec::new();
        for i in 0..opts.schedulers {
            tasks.push(tokio::spawn(scheduler::run(shared.clone(), i)));
        }
        for i in 0..opts.consumers {
            tasks.push(tokio::spawn(consumer::run(shared.clone(), i)));
        }
        tasks.push(tokio::spawn(upkeep::run(shared)));
        Fleet { stop, tasks }
    }

    /// Stops every task; their sessions close with them.
    pub async fn stop(self) {
        let _ = self.stop.send(true);
        for task in self.tasks {
            if tokio::time::timeout(Duration::from_secs(3), task).await.is_err() {
                tracing::warn!("a demo fleet task did not stop in time");
            }
        }
    }
}
