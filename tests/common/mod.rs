//! Test harness: one throwaway PostgreSQL per test binary (or the server named by
//! `BACKFILL_TEST_DATABASE_URL`), and a fresh database per test.
#![allow(dead_code)] // each test binary uses a different part of the harness

pub mod cli;
pub mod gate;
pub mod proxy;
pub mod pty;

use std::sync::OnceLock;
use std::sync::atomic::{AtomicUsize, Ordering};

use backfill_console::db::audit::Actor;
pub use backfill_console::db::connect::Session;
use backfill_console::db::connect::{self, ConnSettings, SessionOptions};
use backfill_console::db::migrate;
use backfill_console::pgserver::TempServer;
use tokio::sync::OnceCell;

static SERVER: OnceLock<Result<TempServer, String>> = OnceLock::new();
static TEMPLATE: OnceCell<String> = OnceCell::const_new();
static COUNTER: AtomicUsize = AtomicUsize::new(0);

fn external_url() -> Option<String> {
    std::env::var("BACKFILL_TEST_DATABASE_URL").ok().filter(|u| !u.is_empty())
}

pub fn server() -> &'static TempServer {
    match SERVER.get_or_init(|| TempServer::start().map_err(|e| e.to_string())) {
        Ok(server) => server,
        Err(e) => panic!("cannot start the test PostgreSQL: {e}"),
    }
}

/// A URL (or DSN) for `dbname` on the test server, as its administrative user.
pub fn url_for(dbname: &str) -> String {
    match external_url() {
        Some(url) => {
            let mut s = settings_of(&url);
            s.dbname = dbname.to_string();
            dsn_of(&s)
        }
        None => format!("{}?sslmode=disable", server().url(dbname)),
    }
}

fn dsn_of(s: &ConnSettings) -> String {
    let mut dsn =
        format!("host={} port={} user={} dbname={} sslmode=disable", s.hosts[0], s.ports[0], s.user, s.dbname);
    if let Some(pw) = &s.password {
        dsn.push_str(&format!(" password='{}'", pw.expose().replace('\\', "\\\\").replace('\'', "\\'")));
    }
    dsn
}

pub fn settings_of(url: &str) -> ConnSettings {
    connect::resolve(Some(url), &|_| None).expect("test URL resolves")
}

fn admin_url() -> String {
    match external_url() {
        Some(url) => url,
        None => url_for("postgres"),
    }
}

pub async fn connect_url(url: &str) -> Session {
    connect::connect(&settings_of(url), &SessionOptions::default()).await.expect("connect to the test database")
}

/// A database for one test.
pub struct TestDb {
    pub name: String,
    pub url: String,
}

impl TestDb {
    pub fn settings(&self) -> ConnSettings {
        settings_of(&self.url)
    }

    pub async fn session(&self) -> Session {
        connect_url(&self.url).await
    }

    pub async fn session_with(&self, options: &SessionOptions) -> Session {
        connect::connect(&self.settings(), options).await.expect("connect to the test database")
    }
}

impl Drop for TestDb {
    fn drop(&mut self) {
        // Our own server is thrown away whole; on a shared server, drop the database.
        if external_url().is_some() {
            let name = self.name.clone();
            let _ = std::thread::spawn(move || {
                if let Ok(rt) = tokio::runtime::Builder::new_current_thread().enable_all().build() {
                    rt.block_on(async {
                        let admin = connect_url(&admin_url()).await;
                        let sql = format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)");
                        let _ = admin.client.batch_execute(&sql).await;
                    });
                }
            })
            .join();
        }
    }
}

fn next_name(prefix: &str) -> String {
    format!("{prefix}_{}_{}", std::process::id(), COUNTER.fetch_add(1, Ordering::SeqCst))
}

/// With `BACKFILL_EXPECT_PG_MAJOR` set (the CI version matrix), every test binary
/// checks that the server it got is that major version — a matrix run on the wrong
/// server would prove nothing.
static VERSION_CHECKED: OnceCell<()> = OnceCell::const_new();

async fn check_server_version(admin: &Session) {
    let Some(expected) = std::env::var("BACKFILL_EXPECT_PG_MAJOR").ok().filter(|v| !v.is_empty()) else {
        return;
    };
    let row = admin.client.query_one("SELECT current_setting('server_version_num')::int / 10000", &[]).await;
    let major: i32 = row.expect("read server_version_num").get(0);
    assert_eq!(major.to_string(), expected, "BACKFILL_EXPECT_PG_MAJOR={expected}, but the test server is {major}");
    eprintln!("test server: PostgreSQL {}", admin.server_version);
}

async fn create_database(name: &str, template: Option<&str>) {
    let admin = connect_url(&admin_url()).await;
    VERSION_CHECKED.get_or_init(|| check_server_version(&admin)).await;
    let sql = match template {
        Some(t) => format!("CREATE DATABASE {name} TEMPLATE {t}"),
        None => format!("CREATE DATABASE {name}"),
    };
    admin.client.batch_execute(&sql).await.expect("create a test database");
}

/// An empty database: no schema.
pub async fn fresh_db() -> TestDb {
    let name = next_name("bfc_test");
    create_database(&name, None).await;
    TestDb { url: url_for(&name), name }
}

/// A database with the schema applied (copied from a migrated template on our own server).
pub async fn migrated_db() -> TestDb {
    if external_url().is_some() {
        let db = fresh_db().await;
        let mut session = db.session().await;
        migrate::migrate(&mut session.client).await.expect("migrate");
        return db;
    }
    let template = TEMPLATE
        .get_or_init(|| async {
            let name = next_name("bfc_template");
            create_database(&name, None).await;
            let mut session = connect_url(&url_for(&name)).await;
            migrate::migrate(&mut session.client).await.expect("migrate the template");
            name
        })
        .await;
    let name = next_name("bfc_test");
    create_database(&name, Some(template)).await;
    TestDb { url: url_for(&name), name }
}

/// A server of a test's own, for a test that counts every advisory lock on the server
/// (the console lists other databases' locks as foreign: on the shared server, other tests'
/// locks would be counted too). Its databases go with it.
pub struct OwnServer {
    server: TempServer,
}

impl OwnServer {
    pub async fn start() -> Self {
        let server = tokio::task::spawn_blocking(TempServer::start).await.unwrap().expect("start a test PostgreSQL");
        Self { server }
    }

    /// A database on it with the schema applied.
    pub async fn migrated_db(&self) -> TestDb {
        let name = next_name("bfc_own");
        let admin = connect_url(&format!("{}?sslmode=disable", self.server.url("postgres"))).await;
        admin.client.batch_execute(&format!("CREATE DATABASE {name}")).await.expect("create a test database");
        let url = format!("{}?sslmode=disable", self.server.url(&name));
        let mut session = connect_url(&url).await;
        migrate::migrate(&mut session.client).await.expect("migrate");
        TestDb { url, name }
    }
}

pub fn actor() -> Actor {
    Actor::named("tester", "test-host")
}

/// Inserts months `from..=to` (YYYY-MM) as pending.
pub async fn seed(session: &mut Session, from: &str, to: &str) -> u64 {
    use backfill_console::db::lock_key::YearMonth;
    let from = YearMonth::parse(from).expect("from");
    let to = YearMonth::parse(to).expect("to");
    backfill_console::db::seed::seed(&mut session.client, &actor(), from, to).await.expect("seed")
}

/// Month advisory locks (one-bigint form) held by `pid`, as keys.
pub async fn month_locks_of(client: &tokio_postgres::Client, pid: i32) -> Vec<i64> {
    client
        .query(
            "SELECT objid::bigint FROM pg_locks WHERE locktype = 'advisory' AND objsubid = 1 AND granted AND pid = $1
             ORDER BY 1",
            &[&pid],
        )
        .await
        .expect("read pg_locks")
        .iter()
        .map(|r| r.get(0))
        .collect()
}

/// Every advisory lock in this database (any holder).
pub async fn advisory_locks_in_db(client: &tokio_postgres::Client) -> i64 {
    client
        .query_one(
            "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory'
               AND database = (SELECT oid FROM pg_database WHERE datname = current_database())",
            &[],
        )
        .await
        .expect("read pg_locks")
        .get(0)
}

pub async fn status_of(client: &tokio_postgres::Client, year: i32, month: i32) -> String {
    client
        .query_one("SELECT status::text FROM backfill_log WHERE year = $1 AND month = $2", &[&year, &month])
        .await
        .expect("read status")
        .get(0)
}

pub async fn count(client: &tokio_postgres::Client, sql: &str) -> i64 {
    client.query_one(sql, &[]).await.expect(sql).get(0)
}

/// Ends every other client backend of database `db`. A backend reports its statistics
/// (`pg_stat_user_tables`, `pg_stat_user_functions`) as it exits, where a running one does
/// so only when it goes idle — before PostgreSQL 15 no more often than every 500 ms, so an
/// idle pooled backend's counts could wait for its next transaction.
#[allow(dead_code)] // not every test binary reads the server's statistics
pub async fn end_other_backends(client: &tokio_postgres::Client, db: &str) {
    let sql = format!(
        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity
         WHERE datname = '{db}' AND pid <> pg_backend_pid() AND backend_type = 'client backend'"
    );
    client.batch_execute(&sql).await.expect("end the other backends");
}

/// The root plan node of `EXPLAIN (ANALYZE, FORMAT JSON) sql` (run as a simple query).
#[allow(dead_code)] // not every test binary explains a plan
pub async fn explain_analyze(client: &tokio_postgres::Client, sql: &str) -> serde_json::Value {
    let rows = client.simple_query(&format!("EXPLAIN (ANALYZE, FORMAT JSON) {sql}")).await.expect(sql);
    let text = rows
        .iter()
        .find_map(|m| match m {
            tokio_postgres::SimpleQueryMessage::Row(r) => r.get(0).map(str::to_string),
            _ => None,
        })
        .expect("EXPLAIN returns its plan");
    let doc: serde_json::Value = serde_json::from_str(&text).expect("the plan is JSON");
    doc[0]["Plan"].clone()
}

/// A private temporary directory for a child that starts its own server (`TMPDIR`
/// pointed here): that server's directory is then the only one inside, whatever
/// else runs on the machine. Traversable by the server account when we are root.
pub fn private_tmpdir() -> tempfile::TempDir {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().expect("create a private TMPDIR");
    std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o711)).expect("open it to the server");
    dir
}

/// The throwaway servers' directories in `tmpdir`.
pub fn server_dirs_in(tmpdir: &std::path::Path) -> std::collections::BTreeSet<std::path::PathBuf> {
    std::fs::read_dir(tmpdir)
        .expect("read the private temporary directory")
        .filter_map(Result::ok)
        .map(|e| e.path())
        .filter(|p| p.file_name().is_some_and(|n| n.to_string_lossy().starts_with("backfill-pg-")))
        .collect()
}

/// The same database as `db`, logging in as `user` with `password`.
pub fn url_as(db: &TestDb, user: &str, password: &str) -> String {
    let s = db.settings();
    format!(
        "host={} port={} user={user} password={password} dbname={} sslmode=disable",
        s.hosts[0], s.ports[0], s.dbname
    )
}

/// Roles are cluster-wide: one test at a time may create them.
pub static ROLES: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

/// Applies sql/roles.sql in `db` and creates a login in `role` (name unique per test).
pub async fn login_in_role(db: &TestDb, role: &str) -> (String, String) {
    let _guard = ROLES.lock().await;
    let s = db.session().await;
    s.client.batch_execute(include_str!("../../sql/roles.sql")).await.expect("apply sql/roles.sql");
    let name = next_name("login");
    let password = "not-a-real-secret-42";
    s.client
        .batch_execute(&format!("CREATE ROLE {name} LOGIN PASSWORD '{password}' IN ROLE {role}"))
        .await
        .expect("create a login");
    (name, password.to_string())
}

/// Enqueues a message for the month and moves it to the dead-letter table with `reason`,
/// as a consumer does after the third failed delivery; its id.
pub async fn dead_letter(session: &Session, year: i32, month: i32, reason: &str) -> i64 {
    let message = serde_json::json!({ "job_id": uuid::Uuid::new_v4(), "year": year, "month": month });
    let id: i64 = session
        .client
        .query_one("INSERT INTO backfill_queue (message, read_count) VALUES ($1, 3) RETURNING msg_id", &[&message])
        .await
        .expect("enqueue")
        .get(0);
    assert!(backfill_console::db::queue::dead_letter(&session.client, id, reason).await.expect("dead-letter"));
    id
}
