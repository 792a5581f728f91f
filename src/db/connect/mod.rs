//! Opening a session: resolved settings + TLS + the console's session settings
//! (`application_name`, statement/lock/idle-in-transaction timeouts, read-only).

pub mod params;
pub mod pgpass;
pub mod redact;
pub mod settings;
pub mod tls;

use std::time::Duration;

use tokio::sync::mpsc;
use tokio::task::JoinHandle;
use tokio_postgres::config::SslMode as PgSslMode;
use tokio_postgres::{Client, Config, NoTls};

pub use settings::{ConnSettings, PasswordSource, Secret, SslMode, resolve};

use crate::db::error::{DbError, describe_connect_error};

/// Per-session guard rails; every session the console opens carries them.
#[derive(Debug, Clone)]
pub struct SessionOptions {
    pub statement_timeout: Duration,
    pub lock_timeout: Duration,
    pub idle_in_transaction_timeout: Duration,
    /// `default_transaction_read_only = on`: the server refuses every write.
    pub read_only: bool,
}

impl Default for SessionOptions {
    fn default() -> Self {
        Self {
            statement_timeout: Duration::from_secs(10),
            lock_timeout: Duration::from_secs(3),
            idle_in_transaction_timeout: Duration::from_secs(60),
            read_only: false,
        }
    }
}

impl SessionOptions {
    fn startup_options(&self, user_options: Option<&str>) -> String {
        let mut parts: Vec<String> = user_options.map(str::to_string).into_iter().collect();
        parts.push(format!("-c statement_timeout={}", self.statement_timeout.as_millis()));
        // A console's reads must cost production little: no parallel workers for them.
        parts.push("-c max_parallel_workers_per_gather=0".to_string());
        parts.push(format!("-c lock_timeout={}", self.lock_timeout.as_millis()));
        parts.push(format!("-c idle_in_transaction_session_timeout={}", self.idle_in_transaction_timeout.as_millis()));
        if self.read_only {
            parts.push("-c default_transaction_read_only=on".to_string());
        }
        parts.join(" ")
    }
}

/// An open session: the client, its backend pid and the task driving the socket.
pub struct Session {
    pub client: Client,
    pub backend_pid: i32,
    pub server_version: String,
    /// `NOTIFY` payloads for channels this session `LISTEN`s on (hints: a full
    /// buffer drops them, and one pending hint is as good as many).
    pub notifications: mpsc::Receiver<String>,
    /// Statements prepared on this session, by their SQL (the claim routine's:
    /// a claimer that runs many claims plans each statement once).
    pub(crate) prepared: std::collections::HashMap<&'static str, tokio_postgres::Statement>,
    connection: JoinHandle<()>,
}

impl Session {
    /// Has the connection task ended (server gone, socket closed)?
    pub fn is_closed(&self) -> bool {
        self.client.is_closed() || self.connection.is_finished()
    }
}

impl Drop for Session {
    fn drop(&mut self) {
        // Dropping the client ends the connection task; abort is a backstop.
        self.connection.abort();
    }
}

pub fn pg_config(settings: &ConnSettings, session: &SessionOptions) -> Config {
    let mut config = Config::new();
    for host in &settings.hosts {
        if host.starts_with('/') {
            config.host_path(host);
        } else {
            config.host(host);
        }
    }
    for port in &settings.ports {
        config.port(*port);
    }
    config
        .user(&settings.user)
        .dbname(&settings.dbname)
        .application_name(&settings.application_name)
        .options(session.startup_options(settings.options.as_deref()))
        .keepalives(true)
        .keepalives_idle(settings.keepalives_idle.unwrap_or(Duration::from_secs(5)))
        .ssl_mode(match settings.sslmode {
            SslMode::Disable => PgSslMode::Disable,
            SslMode::Prefer => PgSslMode::Prefer,
            SslMode::Require | SslMode::VerifyCa | SslMode::VerifyFull => PgSslMode::Require,
        });
    if let Some(password) = &settings.password {
        config.password(password.expose());
    }
    config.connect_timeout(settings.connect_timeout.unwrap_or(Duration::from_secs(10)));
    config
}

/// Connects and reads the backend pid and server version.
pub async fn connect(settings: &ConnSettings, session: &SessionOptions) -> Result<Session, DbError> {
    let config = pg_config(settings, session);
    let tls = tls::client_config(settings.sslmode, settings.sslrootcert.as_deref())?;
    let target = settings.target();
    let (notify_tx, notifications) = mpsc::channel(16);
    let (client, connection) = match tls {
        None => {
            let (client, conn) =
                config.connect(NoTls).await.map_err(|e| describe_connect_error(&target, settings, &e))?;
            (client, tokio::spawn(drive(conn, notify_tx)))
        }
        Some(tls_config) => {
            let connector = tokio_postgres_rustls::MakeRustlsConnect::new(tls_config);
            let (client, conn) =
                config.connect(connector).await.map_err(|e| describe_connect_error(&target, settings, &e))?;
            (client, tokio::spawn(drive(conn, notify_tx)))
        }
    };
    let row = client
        .query_one("SELECT pg_backend_pid(), current_setting('server_version')", &[])
        .await
        .map_err(|e| DbError::query("read the session's backend pid", &e))?;
    Ok(Session {
        backend_pid: row.get(0),
        server_version: row.get(1),
        client,
        notifications,
        prepared: std::collections::HashMap::new(),
        connection,
    })
}

/// Drives the socket, passing notifications on.
async fn drive<S, T>(mut connection: tokio_postgres::Connection<S, T>, notify: mpsc::Sender<String>)
where
    S: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin,
    T: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin,
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
