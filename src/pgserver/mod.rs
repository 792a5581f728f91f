//! A throwaway PostgreSQL server from the machine's own binaries: used by the
//! integration tests (one per test binary) and by `demo`.
//!
//! Clean-up is guaranteed on every exit path by a *guardian*: a tiny `sh` process
//! that ignores terminal signals and waits for EOF on a pipe we hold. When we stop
//! the server ourselves, or when our process dies in any way (even SIGKILL, which
//! closes the pipe), the guardian stops the postmaster and removes the directory.

mod account;
mod binaries;
pub mod bouncer;
mod control;

use control::wait_with_timeout;

use std::io::Read;
use std::os::unix::fs::PermissionsExt;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use nix::sys::signal::{Signal, kill};
use nix::unistd::Pid;
use rand::Rng;
use rand::distr::Alphanumeric;

use account::RunAs;
pub use binaries::find_bindir;
pub use bouncer::{BouncerSettings, PoolMode, TempBouncer};
pub use control::Halt;

const SUPERUSER: &str = "postgres";
const READY_TIMEOUT: Duration = Duration::from_secs(60);

#[derive(Debug, thiserror::Error)]
pub enum PgServerError {
    #[error(
        "no PostgreSQL server binaries found (looked at pg_config --bindir, PATH and /usr/lib/postgresql/*/bin); install the server package, e.g. `apt-get install postgresql`"
    )]
    NoServerBinaries,
    #[error(
        "BACKFILL_PG_BINDIR={0} holds no PostgreSQL server (initdb and postgres); point it at a server's bin folder, or unset it"
    )]
    BadBindir(String),
    #[error("no pgbouncer binary found (PATH, /usr/sbin); install it, e.g. `apt-get install pgbouncer`")]
    NoPgBouncer,
    #[error("running as root, but no unprivileged account (postgres or nobody) exists to run the server")]
    NoUnprivilegedAccount,
    #[error("could not {what}: {source}")]
    Io { what: String, source: std::io::Error },
    #[error("{step} failed: {log}")]
    Failed { step: &'static str, log: String },
}

impl PgServerError {
    fn io(what: &str, source: std::io::Error) -> Self {
        Self::Io { what: what.to_string(), source }
    }
}

/// Extra set-up for a server.
#[derive(Debug, Clone, Default)]
pub struct ServerOptions {
    /// PEM certificate chain and private key: the server then offers TLS.
    pub tls: Option<(String, String)>,
    /// Extra `name=value` server settings (e.g. `log_statement=all`).
    pub settings: Vec<String>,
}

/// A running throwaway server. Dropping it stops the server and removes its directory.
pub struct TempServer {
    dir: PathBuf,
    port: u16,
    password: String,
    postmaster: Option<Child>,
    guardian: Option<Child>,
    bindir: PathBuf,
    run_as: Option<RunAs>,
    /// `-c` arguments beyond the defaults, kept for a restart.
    extra: Vec<String>,
}

impl TempServer {
    /// initdb + start, listening on 127.0.0.1 (random free port) and a socket in its directory.
    pub fn start() -> Result<Self, PgServerError> {
        Self::start_with(&ServerOptions::default())
    }

    pub fn start_with(options: &ServerOptions) -> Result<Self, PgServerError> {
        let bindir = find_bindir()?;
        let run_as = account::server_account()?;
        // Only the server's account may enter: the socket lives here.
        let dir = private_dir("backfill-pg-")?;
        // From here on the guardian owns the directory's removal.
        let guardian = spawn_guardian(&dir, "data/postmaster.pid")?;
        let mut server = TempServer {
            dir,
            port: 0,
            password: rand::rng().sample_iter(&Alphanumeric).take(24).map(char::from).collect(),
            postmaster: None,
            guardian: Some(guardian),
            bindir,
            run_as,
            extra: Vec::new(),
        };
        account::give(&server.dir, run_as)?;
        server.initdb(&server.bindir.clone(), run_as)?;
        let mut extra = server.install_tls(options, run_as)?;
        extra.extend(options.settings.iter().flat_map(|s| ["-c".to_string(), s.clone()]));
        server.extra = extra;
        server.launch(None)?;
        Ok(server)
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }

    pub fn superuser(&self) -> &str {
        SUPERUSER
    }

    pub fn password(&self) -> &str {
        &self.password
    }

    /// A URL for `dbname` over TCP on loopback, as the superuser, password included
    /// (for our own connections; never print it).
    pub fn url(&self, dbname: &str) -> String {
        format!("postgresql://{SUPERUSER}:{}@127.0.0.1:{}/{dbname}", self.password, self.port)
    }

    /// The same URL without the password: pair it with [`write_pgpass`](Self::write_pgpass).
    pub fn url_without_password(&self, dbname: &str) -> String {
        format!("postgresql://{SUPERUSER}@127.0.0.1:{}/{dbname}", self.port)
    }

    /// Writes a password file (mode 0600, ours, inside the server's 0700 directory,
    /// removed with it) that gives the password to `PGPASSFILE=<it>` clients.
    pub fn write_pgpass(&self) -> Result<PathBuf, PgServerError> {
        use std::io::Write;
        use std::os::unix::fs::OpenOptionsExt;
        let path = self.dir.join("pgpass");
        let mut file = std::fs::File::options()
            .write(true)
            .create(true)
            .truncate(true)
            .mode(0o600)
            .open(&path)
            .map_err(|e| PgServerError::io("write the demo's password file", e))?;
        writeln!(file, "127.0.0.1:{}:*:{SUPERUSER}:{}", self.port, self.password)
            .map_err(|e| PgServerError::io("write the demo's password file", e))?;
        Ok(path)
    }

    /// The postmaster's pid while it runs.
    pub fn postmaster_pid(&self) -> Option<u32> {
        self.postmaster.as_ref().map(Child::id)
    }

    /// `Some(why)` once the postmaster has exited without being asked to (killed, crashed).
    pub fn exited(&mut self) -> Option<String> {
        let child = self.postmaster.as_mut()?;
        match child.try_wait() {
            Ok(Some(status)) => Some(format!("the demo's PostgreSQL server exited ({status}): {}", self.log_tail())),
            _ => None,
        }
    }

    /// Stops the server (fast shutdown) and removes its directory. Idempotent.
    pub fn stop(&mut self) {
        if let Some(mut child) = self.postmaster.take() {
            let pid = Pid::from_raw(child.id() as i32);
            let _ = kill(pid, Signal::SIGINT);
            if !wait_with_timeout(&mut child, Duration::from_secs(15)) {
                let _ = child.kill();
                let _ = child.wait();
            }
        }
        if let Some(mut guardian) = self.guardian.take() {
            drop(guardian.stdin.take()); // EOF: the guardian removes the directory
            let _ = guardian.wait();
        }
    }

    fn initdb(&self, bindir: &Path, run_as: Option<RunAs>) -> Result<(), PgServerError> {
        let pwfile = self.dir.join("pwfile");
        std::fs::write(&pwfile, &self.password).map_err(|e| PgServerError::io("write the password file", e))?;
        std::fs::set_permissions(&pwfile, std::fs::Permissions::from_mode(0o600))
            .map_err(|e| PgServerError::io("protect the password file", e))?;
        account::give(&pwfile, run_as)?;
        let mut cmd = Command::new(bindir.join("initdb"));
        cmd.arg("-D")
            .arg(self.dir.join("data"))
            .args(["-U", SUPERUSER, "-E", "UTF8", "--locale=C", "--no-sync"])
            // Every connection, socket or TCP, needs the password only we hold.
            .args(["--auth-local=scram-sha-256", "--auth-host=scram-sha-256"])
            .arg(format!("--pwfile={}", pwfile.display()));
        run_as_account(&mut cmd, run_as);
        let out = cmd.output().map_err(|e| PgServerError::io("run initdb", e))?;
        let _ = std::fs::remove_file(&pwfile);
        if !out.status.success() {
            let log = String::from_utf8_lossy(&out.stderr).trim().to_string();
            return Err(PgServerError::Failed { step: "initdb", log });
        }
        Ok(())
    }

    /// Writes the certificate and key into the data directory; returns the settings that use them.
    fn install_tls(&self, options: &ServerOptions, run_as: Option<RunAs>) -> Result<Vec<String>, PgServerError> {
        let Some((cert, key)) = &options.tls else {
            return Ok(Vec::new());
        };
        let data = self.dir.join("data");
        for (name, pem) in [("server.crt", cert), ("server.key", key)] {
            let path = data.join(name);
            std::fs::write(&path, pem).map_err(|e| PgServerError::io("write the TLS files", e))?;
            std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600))
                .map_err(|e| PgServerError::io("protect the TLS key", e))?;
            account::give(&path, run_as)?;
        }
        Ok(["ssl=on", "ssl_cert_file=server.crt", "ssl_key_file=server.key"]
            .iter()
            .flat_map(|s| ["-c".to_string(), s.to_string()])
            .collect())
    }

    /// Starts the postmaster on `port`, or on a free one (retrying if another process takes it first).
    fn launch(&mut self, fixed_port: Option<u16>) -> Result<(), PgServerError> {
        let (bindir, run_as) = (self.bindir.clone(), self.run_as);
        let mut last_log = String::new();
        for _ in 0..5 {
            let port = match fixed_port {
                Some(p) => p,
                None => free_port()?,
            };
            let log_path = self.dir.join("server.log");
            let log = std::fs::File::options()
                .create(true)
                .append(true)
                .open(&log_path)
                .map_err(|e| PgServerError::io("create the server log", e))?;
            account::give(&log_path, run_as)?;
            let log_err = log.try_clone().map_err(|e| PgServerError::io("open the server log", e))?;
            let mut cmd = Command::new(bindir.join("postgres"));
            cmd.arg("-D")
                .arg(self.dir.join("data"))
                .arg("-k")
                .arg(&self.dir)
                .arg("-p")
                .arg(port.to_string())
                .args(server_settings())
                .args(&self.extra)
                .stdin(Stdio::null())
                .stdout(log)
                .stderr(log_err)
                .process_group(0); // a terminal's Ctrl-C must not reach it directly
            run_as_account(&mut cmd, run_as);
            let child = cmd.spawn().map_err(|e| PgServerError::io("start postgres", e))?;
            self.postmaster = Some(child);
            match self.wait_ready() {
                Ok(()) => {
                    self.port = port;
                    return Ok(());
                }
                Err(log) => {
                    last_log = log;
                    if let Some(mut child) = self.postmaster.take() {
                        let _ = child.kill();
                        let _ = child.wait();
                    }
                    let port_taken =
                        last_log.contains("could not bind") || last_log.contains("could not create any TCP");
                    if !port_taken || fixed_port.is_some() {
                        break;
                    }
                }
            }
        }
        Err(PgServerError::Failed { step: "starting postgres", log: last_log })
    }

    /// Waits until postmaster.pid says "ready"; on failure returns the log's tail.
    fn wait_ready(&mut self) -> Result<(), String> {
        let deadline = Instant::now() + READY_TIMEOUT;
        let pidfile = self.dir.join("data").join("postmaster.pid");
        while Instant::now() < deadline {
            if let Some(child) = self.postmaster.as_mut()
                && let Ok(Some(status)) = child.try_wait()
            {
                return Err(format!("postgres exited with {status}: {}", self.log_tail()));
            }
            if let Ok(text) = std::fs::read_to_string(&pidfile)
                && text.lines().any(|line| line.trim() == "ready")
            {
                return Ok(());
            }
            std::thread::sleep(Duration::from_millis(25));
        }
        Err(format!("not ready after {READY_TIMEOUT:?}: {}", self.log_tail()))
    }

    fn log_tail(&self) -> String {
        let mut text = String::new();
        if let Ok(mut file) = std::fs::File::open(self.dir.join("server.log")) {
            let _ = file.read_to_string(&mut text);
        }
        let lines: Vec<&str> = text.lines().rev().take(5).collect();
        lines.into_iter().rev().collect::<Vec<_>>().join(" | ")
    }
}

impl Drop for TempServer {
    fn drop(&mut self) {
        self.stop();
    }
}

/// Settings for a fast, disposable, loopback-only server.
fn server_settings() -> Vec<String> {
    [
        "listen_addresses=127.0.0.1",
        "fsync=off",
        "synchronous_commit=off",
        "full_page_writes=off",
        "max_connections=300",
        "shared_buffers=128MB",
        "max_locks_per_transaction=256",
        "log_min_messages=warning",
    ]
    .iter()
    .flat_map(|s| ["-c".to_string(), s.to_string()])
    .collect()
}

/// Runs `cmd` as the server's account (when we are root) with a cleared environment:
/// the operator's shell may hold `PGPASSWORD` and other secrets, and a superuser
/// session can read the server's environment.
pub(crate) fn run_as_account(cmd: &mut Command, run_as: Option<RunAs>) {
    cmd.env_clear().env("PATH", "/usr/bin:/bin").env("LC_ALL", "C").env("HOME", "/");
    if let Some(account) = run_as {
        cmd.uid(account.uid.as_raw()).gid(account.gid.as_raw());
    }
}

/// The guardian: ignores terminal signals, waits for EOF on stdin, then stops the
/// process whose pid file (`pidfile`, relative to `dir`) is still there and removes the directory.
pub(crate) fn spawn_guardian(dir: &Path, pidfile: &str) -> Result<Child, PgServerError> {
    const SCRIPT: &str = r#"trap '' INT TERM HUP
cat >/dev/null
pidfile="$1/$2"
if [ -f "$pidfile" ]; then
  pid=$(head -n 1 "$pidfile")
  if [ -n "$pid" ] && kill -INT "$pid" 2>/dev/null; then
    i=0
    while kill -0 "$pid" 2>/dev/null && [ $i -lt 150 ]; do sleep 0.1; i=$((i+1)); done
    kill -KILL "$pid" 2>/dev/null
  fi
fi
rm -rf "$1"
"#;
    Command::new("sh")
        .arg("-c")
        .arg(SCRIPT)
        .arg("backfill-pg-guardian")
        .arg(dir)
        .arg(pidfile)
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .process_group(0)
        .spawn()
        .map_err(|e| PgServerError::io("start the clean-up guardian (sh)", e))
}

/// A fresh temporary directory, mode 0700, kept (its guardian removes it).
pub(crate) fn private_dir(prefix: &str) -> Result<PathBuf, PgServerError> {
    Ok(tempfile::Builder::new()
        .prefix(prefix)
        .permissions(std::fs::Permissions::from_mode(0o700))
        .tempdir()
        .map_err(|e| PgServerError::io("create a temporary directory", e))?
        .keep())
}

pub(crate) fn free_port() -> Result<u16, PgServerError> {
    let listener =
        std::net::TcpListener::bind("127.0.0.1:0").map_err(|e| PgServerError::io("find a free loopback port", e))?;
    listener.local_addr().map(|addr| addr.port()).map_err(|e| PgServerError::io("find a free loopback port", e))
}
