//! The throwaway server (tests and `demo`) lets in only the connections that hold
//! its random password: not another OS user, not a password-less login over TCP or
//! the socket, and its environment carries nothing of ours.
#![allow(clippy::unwrap_used, clippy::expect_used)] // tests may panic

use std::os::unix::fs::PermissionsExt;
use std::os::unix::process::CommandExt;
use std::path::Path;
use std::process::{Command, Output};

use backfill_console::pgserver::TempServer;
use nix::unistd::{User, geteuid};

/// Runs `backfill-console check` against `url` with a clean environment (no password
/// anywhere), as `as_user` when given (we are root then).
fn check_as(binary: &Path, url: &str, as_user: Option<&User>) -> Output {
    let mut cmd = Command::new(binary);
    cmd.args(["check", "--database-url", url]).env_clear().env("HOME", "/nonexistent").env("PATH", "/usr/bin:/bin");
    if let Some(user) = as_user {
        cmd.uid(user.uid.as_raw()).gid(user.gid.as_raw());
    }
    cmd.output().unwrap()
}

fn text(out: &Output) -> String {
    format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr))
}

#[test]
fn nobody_without_the_password_gets_in_by_tcp_or_socket() {
    let server = TempServer::start().unwrap();
    let tcp = format!("postgresql://postgres@127.0.0.1:{}/postgres?sslmode=disable", server.port());
    let socket = format!("host={} port={} user=postgres dbname=postgres", server.dir().display(), server.port());
    assert_eq!(std::fs::metadata(server.dir()).unwrap().permissions().mode() & 0o777, 0o700, "socket directory");

    // Ourselves, without the password: refused both ways.
    let binary = Path::new(env!("CARGO_BIN_EXE_backfill-console"));
    for url in [&tcp, &socket] {
        let out = check_as(binary, url, None);
        assert_eq!(out.status.code(), Some(3), "{url}: {}", text(&out));
        assert!(text(&out).contains("password"), "{url}: refused for want of a password: {}", text(&out));
    }
    // With the password: in (the harness's own connections); the empty database has no schema.
    let with_password = format!("{}?sslmode=disable", server.url("postgres"));
    let out = check_as(binary, &with_password, None);
    assert!(text(&out).contains("schema is not installed"), "connected: {}", text(&out));

    // Another OS user (only root can become one): refused by TCP, and cannot even reach the socket.
    if geteuid().is_root() {
        let nobody = User::from_name("nobody").unwrap().expect("a `nobody` account");
        // A copy of the binary that `nobody` may run, wherever the build directory is.
        let shelf = tempfile::tempdir().unwrap();
        std::fs::set_permissions(shelf.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
        let copy = shelf.path().join("backfill-console");
        std::fs::copy(binary, &copy).unwrap();
        std::fs::set_permissions(&copy, std::fs::Permissions::from_mode(0o755)).unwrap();
        let out = check_as(&copy, &tcp, Some(&nobody));
        assert_eq!(out.status.code(), Some(3), "{}", text(&out));
        assert!(text(&out).contains("password"), "{}", text(&out));
        let out = check_as(&copy, &socket, Some(&nobody));
        assert_eq!(out.status.code(), Some(3), "{}", text(&out));
        assert!(text(&out).contains("ermission denied"), "the socket directory is closed to others: {}", text(&out));
    }
}

#[test]
fn the_server_runs_with_a_cleared_environment() {
    let server = TempServer::start().unwrap();
    let pid = server.postmaster_pid().unwrap();
    let environ = std::fs::read(format!("/proc/{pid}/environ")).unwrap();
    let mut names: Vec<String> = environ
        .split(|b| *b == 0)
        .filter(|v| !v.is_empty())
        .map(|v| String::from_utf8_lossy(v).split('=').next().unwrap_or_default().to_string())
        .collect();
    names.sort();
    // What the server needs, and what it sets itself (PG_GRANDPARENT_PID, PGLOCALEDIR, …: none of ours).
    let ours: Vec<&String> = names.iter().filter(|n| !n.starts_with("PG_") && !n.starts_with("PGLOCALEDIR")).collect();
    assert_eq!(ours, ["HOME", "LC_ALL", "PATH"], "the server's environment: {names:?}");
}
