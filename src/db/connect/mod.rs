//! Opening a session: resolved settings + TLS + the console's session settings
//! (`application_name`, statement/lock/idle-in-transaction timeouts, read-only).

pub mod guards;
pub mod params;
pub mod pgpass;
pub mod pooling;
pub mod redact;
pub mod settings;
pub mod tls;
mod transport;
mod watchdog;

use std::time::Duration;

use tokio::sync::mpsc;
use tokio::task::JoinHandle;
use tokio_postgres::config::SslMode as PgSslMode;
use tokio_postgres::{Client, Config};

pub use guards::{Applied, Guards};
pub use pooling::{PoolerSetting, Pooling};
pub use settings::{ConnSettings, PasswordSource, Secret, SslMode, resolve};
pub use transport::{QueuePolicy, RelayNotice, WaitReport};

use crate::db::error::DbError;

/// Per-session guard rails; every session the console opens carries them.
#[derive(Debug, Clone)]
pub struct SessionOptions {
    pub statement_timeout: Duration,
    pub lock_timeout: Duration,
    pub idle_in_transaction_timeout: Duration,
    /// `default_transaction_read_only = on`: the server refuses every write.
    pub read_only: bool,
    /// Statements may legitimately run for minutes (`migrate` builds indexes with no
    /// statement timeout): no client-side round-trip deadline; TCP keepalives and
    /// `TCP_USER_TIMEOUT` still end a dead link.
    pub long_statements: bool,
    /// Which pooler is in between: detected (`Auto`) or the config's word.
    pub pooler: pooling::PoolerSetting,
    /// Told how long the start-up has waited in a pooler's queue (the CLI prints it, the
    /// console's header shows it).
    pub waiting: Option<transport::WaitReport>,
}

impl Default for SessionOptions {
    fn default() -> Self {
        Self {
            statement_timeout: Duration::from_secs(10),
            lock_timeout: Duration::from_secs(3),
            idle_in_transaction_timeout: Duration::from_secs(60),
            read_only: false,
            long_statements: false,
            pooler: pooling::PoolerSetting::Auto,
            waiting: None,
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

    /// How long the client waits for the server's first byte after a request before
    /// it calls the link dead: the statement timeout plus a grace for the network.
    /// `None` when statements may run without limit (statement timeout 0).
    pub fn round_trip_limit(&self) -> Option<Duration> {
        (!self.statement_timeout.is_zero() && !self.long_statements)
            .then(|| self.statement_timeout.max(self.lock_timeout) + ROUND_TRIP_GRACE)
    }
}

/// What a round trip may take beyond the statement timeout before the link counts as dead.
pub const ROUND_TRIP_GRACE: Duration = Duration::from_secs(5);

/// An open session: the client, its backend pid and the task driving the socket.
pub struct Session {
    pub client: Client,
    pub backend_pid: i32,
    pub server_version: String,
    /// `NOTIFY` payloads of the change channel, if this session `LISTEN`s on it (hints:
    /// a full buffer drops them, and one pending hint is as good as many).
    pub notifications: mpsc::Receiver<String>,
    /// The relay's payloads, if this session `LISTEN`s on its channel.
    pub relay: mpsc::Receiver<transport::RelayNotice>,
    /// Statements prepared on this session, by their SQL (a claimer that runs many
    /// claims plans each statement once); through a transaction pooler, none.
    pub(crate) statements: crate::db::statements::Statements,
    /// Through a transaction pooler: the `SET LOCAL` statements that every
    /// transaction the console opens runs first.
    pub per_transaction: Option<String>,
    /// The safety settings as read back after connecting.
    pub guards: Guards,
    /// Direct, or through which kind of pooler.
    pub pooling: Pooling,
    /// Through a pooler: its address as the server sees it (our backend's client address).
    pub pooler_addr: Option<String>,
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

/// The driver's configuration for the protocol start-up (`connect_raw` uses only
/// user, password, database, application name, `options` and the TLS mode; hosts,
/// timeouts and keepalives are `transport`'s). `with_options = false` leaves out the
/// `options` start-up parameter (for a pooler that refuses it).
fn pg_config(settings: &ConnSettings, session: &SessionOptions, with_options: bool) -> Config {
    let mut config = Config::new();
    config.user(&settings.user).dbname(&settings.dbname).application_name(&settings.application_name).ssl_mode(
        match settings.sslmode {
            SslMode::Disable => PgSslMode::Disable,
            SslMode::Prefer => PgSslMode::Prefer,
            SslMode::Require | SslMode::VerifyCa | SslMode::VerifyFull => PgSslMode::Require,
        },
    );
    if with_options {
        config.options(session.startup_options(settings.options.as_deref()));
    }
    if let Some(password) = &settings.password {
        config.password(password.expose());
    }
    config
}

/// How long the pooler probe waits in a pooler's queue for its second server connection
/// before it gives up and takes the safe reading (mode unknown).
const PROBE_QUEUE_WAIT: std::time::Duration = std::time::Duration::from_millis(1500);

/// Connects and reads the backend pid and server version, within the connect timeout
/// (time spent in a pooler's queue does not count: see [`transport::QueuePolicy`]);
/// every later round trip has the session's [`SessionOptions::round_trip_limit`].
/// Through a pooler that refuses the `options` start-up parameter it connects without
/// it. Through any pooler nothing is ever set on the session — a session `SET` (or a
/// `LISTEN`) would stay on a server backend that the pooler hands to the next client,
/// whatever its reset settings: the safety settings are applied per transaction (`SET
/// LOCAL`) by the code that opens transactions. What is in force is read back and kept
/// in [`Session::guards`].
pub async fn connect(settings: &ConnSettings, session: &SessionOptions) -> Result<Session, DbError> {
    let tls = tls::client_config(settings.sslmode, settings.sslrootcert.as_deref())?;
    let limit = session.round_trip_limit();
    let bare = pg_config(settings, session, false);
    let queue = QueuePolicy::Wait { report: session.waiting.clone(), max: transport::MAX_QUEUE_WAIT };
    let (opened, applied) =
        match transport::open(settings, &pg_config(settings, session, true), tls.clone(), limit, &queue, false).await {
            Ok(opened) => (opened, Applied::StartupOptions),
            Err(e) if e.to_string().contains("unsupported startup parameter") => {
                tracing::info!(
                    "the server (a pooler) refused the options start-up parameter; the settings go per transaction"
                );
                (transport::open(settings, &bare, tls.clone(), limit, &queue, true).await?, Applied::Set)
            }
            Err(e) => return Err(e),
        };
    let mut guards = guards::read_back(&opened.client, session, applied).await?;
    let suspected = applied == Applied::Set || !guards.missing().is_empty();
    let pooling = match session.pooler.fixed() {
        Some(fixed) => fixed,
        None if suspected => probe(settings, &bare, tls, limit, &opened).await,
        None => Pooling::None,
    };
    if pooling == Pooling::None && !guards.missing().is_empty() {
        // Our own backend (the operator says there is no pooler): a session SET is ours.
        opened
            .client
            .batch_execute(&guards::set_sql(session, false))
            .await
            .map_err(|e| DbError::query("apply the session's safety settings", e))?;
        guards = guards::read_back(&opened.client, session, Applied::Set).await?;
    }
    let pooler_addr = if pooling == Pooling::None { None } else { client_addr(&opened.client).await };
    if pooling != Pooling::None {
        guards.applied = Applied::PerTransaction;
    } else if !guards.missing().is_empty() {
        tracing::warn!("{}", guards.summary());
    }
    Ok(Session {
        backend_pid: opened.backend_pid,
        server_version: opened.server_version,
        client: opened.client,
        notifications: opened.notifications.changes,
        relay: opened.notifications.relay,
        statements: crate::db::statements::Statements::new(pooling != Pooling::None),
        per_transaction: (pooling != Pooling::None).then(|| guards::set_sql(session, true)),
        guards,
        pooling,
        pooler_addr,
        connection: opened.connection,
    })
}

/// The pooler's mode, from a second client connection that may wait in the pooler's
/// queue only briefly: holding our own server connection while waiting for another
/// could wait for ever on a small session pool. Given up, the mode is unknown (the
/// safe reading: settings per transaction, no push, no stranded-lock judgement of its own).
async fn probe(
    settings: &ConnSettings,
    bare: &Config,
    tls: Option<rustls::ClientConfig>,
    limit: Option<std::time::Duration>,
    opened: &transport::Opened,
) -> Pooling {
    let queue = QueuePolicy::GiveUpAfter(PROBE_QUEUE_WAIT);
    let second = match transport::open(settings, bare, tls, limit, &queue, true).await {
        Ok(second) => second,
        Err(e) => {
            tracing::info!("the pooler's mode is unknown: {e}");
            return Pooling::Unknown;
        }
    };
    match pooling::probe(&opened.client, opened.backend_pid, &second.client).await {
        Ok(mode) => mode,
        Err(e) => {
            tracing::info!("the pooler's mode is unknown: {e}");
            Pooling::Unknown
        }
    }
}

/// Our backend's client address: through a pooler, the pooler's.
async fn client_addr(client: &Client) -> Option<String> {
    let row = client.query_typed_one("SELECT host(inet_client_addr())", &[]).await.ok()?;
    row.get::<_, Option<String>>(0)
}
