//! `serve`: a Prometheus endpoint. `GET /metrics` gives every context's figures (a
//! `context` label), read at most once per `min_interval` however many scrapers ask
//! (the reads of a context queue behind one lock: a scrape that arrives while a read is
//! under way takes its result), each within `timeout` — a slow or unreachable database
//! never holds a scrape past it: what is known is served, with `backfill_up 0`. Its
//! sessions are read-only (`default_transaction_read_only`), kept open between reads,
//! and each context's reads are kept up ([`Kept`]): an unchanged part costs a
//! fingerprint, the duplicate check and the history are read when due, and the verdicts
//! judge by the hold and queue history as the console's do.

pub mod exposition;

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::Router;
use axum::http::{HeaderMap, header};
use axum::response::IntoResponse;
use axum::routing::get;
use futures_util::future::join_all;
use tokio::sync::Mutex;

use crate::db::connect::{self, Session};
use crate::model::{Assessment, Snapshot};
use crate::ops::read::Kept;
use exposition::Known;

/// One database to serve the metrics of: as the fleet reads it.
pub use crate::ops::fleet::Member;

pub struct ServeOptions {
    pub listen: SocketAddr,
    /// A read younger than this is served again instead of reading anew.
    pub min_interval: Duration,
    /// The most a read may take (connecting included).
    pub timeout: Duration,
    pub members: Vec<Member>,
}

/// What is known of one member, and its session.
#[derive(Default)]
struct Cache {
    session: Option<Session>,
    /// The context's reads so far (made on first use).
    kept: Option<Kept>,
    last: Option<(Snapshot, Assessment)>,
    tried_at: Option<Instant>,
    up: bool,
    read_seconds: f64,
    reads: u64,
}

struct Slot {
    member: Member,
    cache: Mutex<Cache>,
}

struct Shared {
    slots: Vec<Slot>,
    min_interval: Duration,
    timeout: Duration,
}

/// Serves until SIGINT or SIGTERM; an address that cannot be listened on is an error
/// naming it. `listening` is told the address once it is bound (port 0: the one chosen).
pub async fn serve(options: ServeOptions, listening: impl FnOnce(SocketAddr)) -> anyhow::Result<()> {
    let listener = tokio::net::TcpListener::bind(options.listen)
        .await
        .map_err(|e| anyhow::anyhow!("cannot listen on {}: {e} (is another serve running there?)", options.listen))?;
    listening(listener.local_addr()?);
    let shared = Arc::new(Shared {
        slots: options.members.into_iter().map(|member| Slot { member, cache: Mutex::default() }).collect(),
        min_interval: options.min_interval,
        timeout: options.timeout,
    });
    tracing::info!("serving /metrics on {} for {} database(s)", options.listen, shared.slots.len());
    let app = Router::new()
        .route("/metrics", get(metrics))
        .route("/", get(|| async { "backfill-console serve: the metrics are at /metrics\n" }))
        .with_state(shared);
    let mut sigterm = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())?;
    let stop = async move {
        tokio::select! {
            _ = tokio::signal::ctrl_c() => {}
            _ = sigterm.recv() => {}
        }
    };
    axum::serve(listener, app).with_graceful_shutdown(stop).await?;
    Ok(())
}

async fn metrics(
    axum::extract::State(shared): axum::extract::State<Arc<Shared>>,
    headers: HeaderMap,
) -> impl IntoResponse {
    join_all(shared.slots.iter().map(|slot| refresh(slot, shared.min_interval, shared.timeout))).await;
    // One after the other, in the same order in every scrape: two scrapes never wait on
    // each other's locks.
    let mut caches = Vec::with_capacity(shared.slots.len());
    for slot in &shared.slots {
        caches.push(slot.cache.lock().await);
    }
    let known: Vec<Known<'_>> = shared
        .slots
        .iter()
        .zip(caches.iter())
        .map(|(slot, cache)| Known {
            context: &slot.member.name,
            read: cache.last.as_ref().map(|(s, a)| (s, a)),
            up: cache.up,
            read_seconds: cache.read_seconds,
            reads_total: cache.reads,
        })
        .collect();
    let accept = headers.get(header::ACCEPT).and_then(|v| v.to_str().ok()).unwrap_or_default();
    let openmetrics = accept.contains("application/openmetrics-text");
    let body = exposition::render(&known, openmetrics);
    let kind = if openmetrics {
        "application/openmetrics-text; version=1.0.0; charset=utf-8"
    } else {
        "text/plain; version=0.0.4; charset=utf-8"
    };
    ([(header::CONTENT_TYPE, kind)], body)
}

/// Reads `slot` anew unless its last attempt is younger than `min_interval`.
async fn refresh(slot: &Slot, min_interval: Duration, timeout: Duration) {
    let mut cache = slot.cache.lock().await;
    if cache.tried_at.is_some_and(|t| t.elapsed() < min_interval) {
        return;
    }
    let started = Instant::now();
    let member = &slot.member;
    let session = cache.session.take();
    let kept = cache.kept.get_or_insert_with(|| Kept::new(member.queue_depth_query.as_deref()));
    let read = async {
        let session = match session {
            Some(s) if !s.client.is_closed() => s,
            _ => connect::connect(&member.settings, &member.session_options()).await?,
        };
        let read = kept.read(&session, &member.read_options(), timeout).await?;
        Ok::<_, crate::db::DbError>((session, read))
    };
    let outcome = tokio::time::timeout(timeout, read).await;
    cache.reads += 1;
    cache.tried_at = Some(Instant::now());
    cache.read_seconds = started.elapsed().as_secs_f64();
    match outcome {
        Ok(Ok((session, read))) => {
            cache.session = Some(session);
            cache.last = Some(read);
            cache.up = true;
        }
        Ok(Err(e)) => {
            tracing::warn!("{}: read failed: {e}", member.name);
            cache.up = false;
        }
        Err(_) => {
            tracing::warn!("{}: no answer within {:?}", member.name, timeout);
            cache.up = false;
        }
    }
}
