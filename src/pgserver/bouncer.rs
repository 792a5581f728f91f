//! A throwaway PgBouncer in front of a [`TempServer`]: the machine's own
//! `pgbouncer` binary with PgBouncer's **default** settings except where it must
//! be told (where to listen, which server, how to authenticate, the pool mode).
//! Loopback only, no Unix socket, scram-sha-256 with the server's password, its
//! own directory, and the same guardian as the server: stopped and removed on
//! every exit path.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use super::account::{self, RunAs};
use super::{PgServerError, TempServer, free_port, private_dir, run_as_account, spawn_guardian};

/// PgBouncer's `pool_mode`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PoolMode {
    Session,
    Transaction,
}

impl PoolMode {
    fn word(self) -> &'static str {
        match self {
            PoolMode::Session => "session",
            PoolMode::Transaction => "transaction",
        }
    }
}

/// What a test sets beyond the mode (everything else stays PgBouncer's default).
#[derive(Debug, Clone, Default)]
pub struct BouncerSettings {
    /// `default_pool_size` (server connections per user and database; default 20).
    pub pool_size: Option<u32>,
    /// `server_reset_query` (default `DISCARD ALL`); `Some("")` turns it off.
    pub server_reset_query: Option<String>,
}

pub struct TempBouncer {
    dir: PathBuf,
    port: u16,
    password: String,
    process: Option<Child>,
    guardian: Option<Child>,
}

/// Where the `pgbouncer` binary is: `PATH`, then Debian's `/usr/sbin`.
fn find_binary() -> Result<PathBuf, PgServerError> {
    let on_path = std::env::var_os("PATH")
        .map(|p| std::env::split_paths(&p).map(|d| d.join("pgbouncer")).collect::<Vec<_>>())
        .unwrap_or_default();
    on_path
        .into_iter()
        .chain([PathBuf::from("/usr/sbin/pgbouncer")])
        .find(|p| p.is_file())
        .ok_or(PgServerError::NoPgBouncer)
}

impl TempBouncer {
    /// Starts PgBouncer in `mode` in front of `server` (all its databases, as its superuser).
    pub fn start(server: &TempServer, mode: PoolMode) -> Result<Self, PgServerError> {
        Self::start_with(server, mode, &BouncerSettings::default())
    }

    /// [`TempBouncer::start`] with some of PgBouncer's settings changed.
    pub fn start_with(server: &TempServer, mode: PoolMode, extra: &BouncerSettings) -> Result<Self, PgServerError> {
        let binary = find_binary()?;
        let run_as = account::server_account()?;
        let dir = private_dir("backfill-bouncer-")?;
        let guardian = spawn_guardian(&dir, "pgbouncer.pid")?;
        let mut bouncer = TempBouncer {
            dir,
            port: 0,
            password: server.password().to_string(),
            process: None,
            guardian: Some(guardian),
        };
        let mut last = String::new();
        for _ in 0..5 {
            let port = free_port()?;
            bouncer.write_files(server, mode, extra, port, run_as)?;
            match bouncer.launch(&binary, run_as) {
                Ok(()) => {
                    bouncer.port = port;
                    return Ok(bouncer);
                }
                Err(log) if log.contains("Address already in use") => last = log,
                Err(log) => return Err(PgServerError::Failed { step: "starting pgbouncer", log }),
            }
        }
        Err(PgServerError::Failed { step: "starting pgbouncer", log: last })
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    /// A URL for `dbname` through the pooler, as the server's superuser, password included.
    pub fn url(&self, dbname: &str) -> String {
        format!("postgresql://{}:{}@127.0.0.1:{}/{dbname}?sslmode=disable", super::SUPERUSER, self.password, self.port)
    }

    pub fn log(&self) -> String {
        std::fs::read_to_string(self.dir.join("pgbouncer.log")).unwrap_or_default()
    }

    fn write_files(
        &self,
        server: &TempServer,
        mode: PoolMode,
        extra: &BouncerSettings,
        port: u16,
        run_as: Option<RunAs>,
    ) -> Result<(), PgServerError> {
        let mut ini = format!(
            "[databases]\n* = host=127.0.0.1 port={server_port}\n\n[pgbouncer]\n\
             listen_addr = 127.0.0.1\nlisten_port = {port}\nunix_socket_dir =\n\
             auth_type = scram-sha-256\nauth_file = {dir}/userlist.txt\npool_mode = {mode}\n\
             logfile = {dir}/pgbouncer.log\npidfile = {dir}/pgbouncer.pid\n",
            server_port = server.port(),
            dir = self.dir.display(),
            mode = mode.word(),
        );
        if let Some(size) = extra.pool_size {
            ini.push_str(&format!("default_pool_size = {size}\n"));
        }
        if let Some(query) = &extra.server_reset_query {
            ini.push_str(&format!("server_reset_query = {query}\n"));
        }
        let users = format!("\"{}\" \"{}\"\n", super::SUPERUSER, self.password);
        for (name, text) in [("pgbouncer.ini", ini), ("userlist.txt", users)] {
            let path = self.dir.join(name);
            write_private(&path, &text)?;
            account::give(&path, run_as)?;
        }
        account::give(&self.dir, run_as)
    }

    fn launch(&mut self, binary: &Path, run_as: Option<RunAs>) -> Result<(), String> {
        let mut cmd = Command::new(binary);
        cmd.arg(self.dir.join("pgbouncer.ini")).stdin(Stdio::null()).stdout(Stdio::null()).stderr(Stdio::piped());
        std::os::unix::process::CommandExt::process_group(&mut cmd, 0);
        run_as_account(&mut cmd, run_as);
        let mut child = cmd.spawn().map_err(|e| format!("could not run {}: {e}", binary.display()))?;
        // Ready when it accepts connections on its port (its log says "listening on").
        let deadline = Instant::now() + Duration::from_secs(30);
        while Instant::now() < deadline {
            if let Ok(Some(status)) = child.try_wait() {
                let mut err = String::new();
                if let Some(mut e) = child.stderr.take() {
                    let _ = std::io::Read::read_to_string(&mut e, &mut err);
                }
                return Err(format!("pgbouncer exited with {status}: {} {}", err.trim(), self.log().trim()));
            }
            if self.log().contains("listening on 127.0.0.1") {
                self.process = Some(child);
                return Ok(());
            }
            std::thread::sleep(Duration::from_millis(25));
        }
        let _ = child.kill();
        let _ = child.wait();
        Err(format!("pgbouncer not ready after 30 s: {}", self.log()))
    }

    pub fn stop(&mut self) {
        if let Some(mut child) = self.process.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
        if let Some(mut guardian) = self.guardian.take() {
            drop(guardian.stdin.take());
            let _ = guardian.wait();
        }
    }
}

impl Drop for TempBouncer {
    fn drop(&mut self) {
        self.stop();
    }
}

fn write_private(path: &Path, text: &str) -> Result<(), PgServerError> {
    use std::io::Write;
    use std::os::unix::fs::OpenOptionsExt;
    let mut file = std::fs::File::options()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o600)
        .open(path)
        .map_err(|e| PgServerError::io("write the pgbouncer files", e))?;
    file.write_all(text.as_bytes()).map_err(|e| PgServerError::io("write the pgbouncer files", e))
}
