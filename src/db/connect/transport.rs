//! Opening the connection ourselves (TCP or Unix socket) so that every part of it
//! has a deadline: the whole start-up — TCP, TLS, authentication, session set-up —
//! within `connect_timeout` per host (libpq's rule; 10 s when unset), then every
//! round trip within the [`Watchdog`] limit, with TCP keepalives and
//! `TCP_USER_TIMEOUT` on the socket.

use std::time::Duration;

use socket2::{SockRef, TcpKeepalive};
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::{TcpStream, UnixStream};
use tokio::sync::mpsc;
use tokio::task::JoinHandle;
use tokio_postgres::config::SslMode as PgSslMode;
use tokio_postgres::tls::{MakeTlsConnect, TlsConnect};
use tokio_postgres::{Client, Config, NoTls};

use super::settings::ConnSettings;
use super::watchdog::Watchdog;
use crate::db::error::{DbError, describe_connect_error, describe_connect_io};

pub const DEFAULT_CONNECT_TIMEOUT: Duration = Duration::from_secs(10);

/// What one successful attempt hands back.
pub struct Opened {
    pub client: Client,
    pub connection: JoinHandle<()>,
    pub notifications: mpsc::Receiver<String>,
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
) -> Result<Opened, DbError> {
    let limit = settings.connect_timeout.unwrap_or(DEFAULT_CONNECT_TIMEOUT);
    let mut last = None;
    for (host, port) in settings.hosts.iter().zip(settings.ports.iter().cycle()) {
        let target = if host.contains(':') { format!("[{host}]:{port}") } else { format!("{host}:{port}") };
        let target = format!("{}@{target}/{}", settings.user, settings.dbname);
        let attempt = async {
            let (client, connection, notifications) =
                one_host(settings, config, tls.clone(), round_trip, host, *port, &target).await?;
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
        match tokio::time::timeout(limit, attempt).await {
            Ok(Ok(done)) => return Ok(done),
            Ok(Err(e)) => last = Some(e),
            Err(_) => {
                last = Some(DbError::Connect {
                    target,
                    reason: format!(
                        "no complete answer within the connect timeout ({} s) — is that a PostgreSQL server, and is the link up? (connect_timeout / PGCONNECT_TIMEOUT set the limit)",
                        limit.as_secs_f64()
                    ),
                })
            }
        }
    }
    Err(last.unwrap_or_else(|| DbError::Connect { target: settings.target(), reason: "no host to connect to".into() }))
}

type Link = (Client, JoinHandle<()>, mpsc::Receiver<String>);

async fn one_host(
    settings: &ConnSettings,
    config: &Config,
    tls: Option<rustls::ClientConfig>,
    round_trip: Option<Duration>,
    host: &str,
    port: u16,
    target: &str,
) -> Result<Link, DbError> {
    let mut config = config.clone();
    if host.starts_with('/') {
        // No TLS over a Unix socket (as libpq).
        let path = format!("{host}/.s.PGSQL.{port}");
        let stream = UnixStream::connect(&path).await.map_err(|e| describe_connect_io(target, &e))?;
        config.ssl_mode(PgSslMode::Disable);
        return start(&config, Watchdog::new(stream, round_trip), NoTls, settings, target).await;
    }
    let stream = TcpStream::connect((host, port)).await.map_err(|e| describe_connect_io(target, &e))?;
    tune(&stream, settings, round_trip);
    let stream = Watchdog::new(stream, round_trip);
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
    let (notify_tx, notifications) = mpsc::channel(16);
    Ok((client, tokio::spawn(drive(conn, notify_tx)), notifications))
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
async fn drive<S, T>(mut connection: tokio_postgres::Connection<S, T>, notify: mpsc::Sender<String>)
where
    S: AsyncRead + AsyncWrite + Unpin,
    T: AsyncRead + AsyncWrite + Unpin,
{
    loop {
        match std::future::poll_fn(|cx| connection.poll_message(cx)).await {
            Some(Ok(tokio_postgres::AsyncMessage::Notification(n))) => {
                let _ = notify.try_send(n.payload().to_string());
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
