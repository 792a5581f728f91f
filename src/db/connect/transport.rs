//! Opening the connection ourselves (TCP or Unix socket) so that every part of it
//! has a deadline: the whole start-up — TCP, TLS, authentication, session set-up —
//! within `connect_timeout` per host (libpq's rule; 10 s when unset), then every
//! round trip within the [`Watchdog`] limit, with TCP keepalives and
//! `TCP_USER_TIMEOUT` on the socket.

use std::sync::Arc;
use std::time::{Duration, Instant};

use socket2::{SockRef, TcpKeepalive};
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::{TcpStream, UnixStream};
use tokio::sync::mpsc;
use tokio::task::JoinHandle;
use tokio_postgres::config::SslMode as PgSslMode;
use tokio_postgres::tls::{MakeTlsConnect, TlsConnect};
use tokio_postgres::{Client, Config, NoTls};

use super::settings::ConnSettings;
use super::watchdog::{LinkState, Watchdog};
use crate::db::error::{DbError, describe_connect_error, describe_connect_io};

pub const DEFAULT_CONNECT_TIMEOUT: Duration = Duration::from_secs(10);

/// A server that answered the start-up and then owes the rest of it for this long is a
/// pooler holding us in its queue (a PostgreSQL server finishes in milliseconds).
const QUEUE_SIGN: Duration = Duration::from_secs(1);
/// Longest wait in a pooler's queue (PgBouncer's own `query_wait_timeout`, 120 s by
/// default, usually answers first).
pub const MAX_QUEUE_WAIT: Duration = Duration::from_secs(600);

/// Told how long the connection has waited in a pooler's queue so far (every ~250 ms).
#[derive(Clone)]
pub struct WaitReport(pub Arc<dyn Fn(Duration) + Send + Sync>);

impl std::fmt::Debug for WaitReport {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("WaitReport")
    }
}

/// What to do when a pooler holds the start-up in its queue (every server connection busy).
#[derive(Debug, Clone)]
pub enum QueuePolicy {
    /// Wait our turn, as psql does (the time queued does not count against the connect
    /// timeout), telling `report` how long so far.
    Wait { report: Option<WaitReport>, max: Duration },
    /// Give up after this long queued (the pooler probe: never wait for a second server
    /// connection while holding the first).
    GiveUpAfter(Duration),
}
/// What one successful attempt hands back.
pub struct Opened {
    pub client: Client,
    pub connection: JoinHandle<()>,
    pub notifications: Notices,
    pub backend_pid: i32,
    pub server_version: String,
}

/// Tries each host in order (libpq's rule), each within the connect timeout, which
/// covers the session's first query (its backend pid and the server version) too.
pub async fn open(
    settings: &ConnSettings,
    config: &Config,
    tls: Option<rustls::ClientConfig>,
    round_trip: Option<Duration>,
    queue: &QueuePolicy,
    pooled: bool,
) -> Result<Opened, DbError> {
    let limit = settings.connect_timeout.unwrap_or(DEFAULT_CONNECT_TIMEOUT);
    let mut last = None;
    for (host, port) in settings.hosts.iter().zip(settings.ports.iter().cycle()) {
        let target = if host.contains(':') { format!("[{host}]:{port}") } else { format!("{host}:{port}") };
        let target = format!("{}@{target}/{}", settings.user, settings.dbname);
        let link = Arc::new(LinkState::default());
        let attempt = async {
            let (client, connection, notifications) =
                one_host(settings, config, tls.clone(), round_trip, host, *port, &target, link.clone()).await?;
            link.started();
            let row = client
                .query_typed_one("SELECT pg_backend_pid(), current_setting('server_version')", &[])
                .await
                .map_err(|e| DbError::query("read the session's backend pid", e))?;
            Ok::<_, DbError>(Opened {
                client,
                connection,
                notifications,
                backend_pid: row.get(0),
                server_version: row.get(1),
            })
        };
        match within(attempt, &link, limit, queue, pooled, &target).await {
            Ok(done) => return Ok(done),
            Err(e) => last = Some(e),
        }
    }
    Err(last.unwrap_or_else(|| DbError::Connect { target: settings.target(), reason: "no host to connect to".into() }))
}

/// Runs one host's attempt under the connect timeout — except while a pooler holds it in
/// its queue, which `queue` decides. A pooler queues a client at one of two points: in
/// the start-up (the server answered it, then owes the rest: a PostgreSQL server never
/// pauses there), or — `pooled`, known to be a pooler — at the first query right after
/// a start-up it completed at once (PgBouncer assigns a server connection then).
async fn within<F: std::future::Future<Output = Result<Opened, DbError>>>(
    attempt: F,
    link: &LinkState,
    limit: Duration,
    queue: &QueuePolicy,
    pooled: bool,
    target: &str,
) -> Result<Opened, DbError> {
    let error = |reason: String| DbError::Connect { target: target.to_string(), reason };
    tokio::pin!(attempt);
    let mut deadline = Instant::now() + limit;
    let mut tick = tokio::time::interval(Duration::from_millis(250));
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            done = &mut attempt => {
                // Out of the queue: every later round trip has its full deadline again.
                link.set_patient(false);
                return done;
            }
            _ = tick.tick() => {}
        }
        let now = Instant::now();
        let in_startup = link.server_quiet_for().filter(|_| !link.has_started());
        let at_first_query = link.client_waiting_for().filter(|_| pooled && link.has_started());
        let queued = in_startup.or(at_first_query).filter(|q| *q >= QUEUE_SIGN);
        link.set_patient(queued.is_some() && matches!(queue, QueuePolicy::Wait { .. }));
        match queued {
            Some(queued) => match queue {
                QueuePolicy::GiveUpAfter(after) if queued >= *after => {
                    return Err(error(format!(
                        "waited {} s in the pooler's queue for a server connection; gave up",
                        queued.as_secs()
                    )));
                }
                QueuePolicy::GiveUpAfter(_) => {}
                QueuePolicy::Wait { report, max } => {
                    if queued >= *max {
                        return Err(error(format!(
                            "waited {} in the pooler's queue for a server connection: every one is in use \
                             (the pool is too small for its clients, or they hold their connections)",
                            crate::duration_text::format(queued)
                        )));
                    }
                    if let Some(WaitReport(report)) = report {
                        report(queued);
                    }
                    // Queued time does not count against the connect timeout.
                    deadline = now + limit;
                }
            },
            None if now >= deadline => {
                let secs = limit.as_secs_f64();
                return Err(error(if link.has_started() {
                    format!(
                        "the start-up completed but the first query got no answer within {secs} s — a \
                         transaction pooler whose server connections are all busy, or a server too loaded to \
                         answer (connect_timeout / PGCONNECT_TIMEOUT set the limit)"
                    )
                } else {
                    format!(
                        "no complete answer within the connect timeout ({secs} s) — is that a PostgreSQL server, \
                         and is the link up? (connect_timeout / PGCONNECT_TIMEOUT set the limit)"
                    )
                }));
            }
            None => {}
        }
    }
}

type Link = (Client, JoinHandle<()>, Notices);

/// A notification on the relay's channel (`db::relay`), with the backend that sent it.
#[derive(Debug, Clone)]
pub struct RelayNotice {
    pub pid: i32,
    pub payload: String,
}

/// What the session's LISTENs bring.
pub struct Notices {
    /// The change channel's payloads (hints: a full buffer drops them, and one pending
    /// hint is as good as many).
    pub changes: mpsc::Receiver<String>,
    /// The relay's payloads (a publication's pieces come together; a full buffer drops
    /// some, and the follower reads for itself).
    pub relay: mpsc::Receiver<RelayNotice>,
}

/// Pieces of publications the relay buffers (a publication is at most 64).
const RELAY_BUFFER: usize = 256;

#[allow(clippy::too_many_arguments)]
async fn one_host(
    settings: &ConnSettings,
    config: &Config,
    tls: Option<rustls::ClientConfig>,
    round_trip: Option<Duration>,
    host: &str,
    port: u16,
    target: &str,
    link: Arc<LinkState>,
) -> Result<Link, DbError> {
    let mut config = config.clone();
    if host.starts_with('/') {
        // No TLS over a Unix socket (as libpq).
        let path = format!("{host}/.s.PGSQL.{port}");
        let stream = UnixStream::connect(&path).await.map_err(|e| describe_connect_io(target, &e))?;
        config.ssl_mode(PgSslMode::Disable);
        return start(&config, Watchdog::watched(stream, round_trip, link), NoTls, settings, target).await;
    }
    let stream = TcpStream::connect((host, port)).await.map_err(|e| describe_connect_io(target, &e))?;
    tune(&stream, settings, round_trip);
    let stream = Watchdog::watched(stream, round_trip, link);
    match tls {
        None => {
            config.ssl_mode(PgSslMode::Disable);
            start(&config, stream, NoTls, settings, target).await
        }
        Some(tls_config) => {
            let mut maker = tokio_postgres_rustls::MakeRustlsConnect::new(tls_config);
            let connector =
                <tokio_postgres_rustls::MakeRustlsConnect as MakeTlsConnect<Watchdog<TcpStream>>>::make_tls_connect(
                    &mut maker, host,
                )
                .map_err(|e| DbError::Connect { target: target.to_string(), reason: format!("TLS set-up: {e}") })?;
            start(&config, stream, connector, settings, target).await
        }
    }
}

/// The protocol start-up over `stream`, then a task driving the connection.
async fn start<S, T>(config: &Config, stream: S, tls: T, settings: &ConnSettings, target: &str) -> Result<Link, DbError>
where
    S: AsyncRead + AsyncWrite + Unpin + Send + 'static,
    T: TlsConnect<S>,
    T::Stream: Send + 'static,
{
    let (client, conn) =
        config.connect_raw(stream, tls).await.map_err(|e| describe_connect_error(target, settings, &e))?;
    let (changes_tx, changes) = mpsc::channel(16);
    let (relay_tx, relay) = mpsc::channel(RELAY_BUFFER);
    Ok((client, tokio::spawn(drive(conn, changes_tx, relay_tx)), Notices { changes, relay }))
}

/// Keepalives (first probe after `keepalives_idle`, default 5 s; then every 2 s, 3 tries)
/// and `TCP_USER_TIMEOUT`: the kernel itself gives up on a link that stopped acknowledging.
fn tune(stream: &TcpStream, settings: &ConnSettings, round_trip: Option<Duration>) {
    let _ = stream.set_nodelay(true);
    let socket = SockRef::from(stream);
    let idle = settings.keepalives_idle.unwrap_or(Duration::from_secs(5));
    let keepalive = TcpKeepalive::new().with_time(idle).with_interval(Duration::from_secs(2)).with_retries(3);
    if let Err(e) = socket.set_tcp_keepalive(&keepalive) {
        tracing::debug!("could not set TCP keepalives: {e}");
    }
    let user_timeout = round_trip.unwrap_or(Duration::from_secs(30)).max(Duration::from_secs(10));
    if let Err(e) = socket.set_tcp_user_timeout(Some(user_timeout)) {
        tracing::debug!("could not set TCP_USER_TIMEOUT: {e}");
    }
}

/// Drives the socket, passing notifications on.
async fn drive<S, T>(
    mut connection: tokio_postgres::Connection<S, T>,
    changes: mpsc::Sender<String>,
    relay: mpsc::Sender<RelayNotice>,
) where
    S: AsyncRead + AsyncWrite + Unpin,
    T: AsyncRead + AsyncWrite + Unpin,
{
    loop {
        match std::future::poll_fn(|cx| connection.poll_message(cx)).await {
            Some(Ok(tokio_postgres::AsyncMessage::Notification(n))) => {
                if n.channel() == crate::db::relay::CHANNEL {
                    let _ = relay.try_send(RelayNotice { pid: n.process_id(), payload: n.payload().to_string() });
                } else {
                    let _ = changes.try_send(n.payload().to_string());
                }
            }
            Some(Ok(_)) => {} // notices: nothing to do
            Some(Err(e)) => {
                tracing::debug!("database connection ended: {e}");
                return;
            }
            None => return,
        }
    }
}
