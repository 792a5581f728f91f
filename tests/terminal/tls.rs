//! Every sslmode against a real server that offers TLS with a certificate from a test CA.
#![allow(clippy::unwrap_used, clippy::expect_used)] // tests may panic

use std::path::PathBuf;
use std::sync::OnceLock;

use backfill_console::db::connect::{self, SessionOptions};
use backfill_console::pgserver::{ServerOptions, TempServer};
use rcgen::{BasicConstraints, CertificateParams, DnType, IsCa, KeyPair};

struct Fixture {
    server: TempServer,
    ca_file: PathBuf,
    other_ca_file: PathBuf,
}

fn ca(name: &str) -> (rcgen::Certificate, KeyPair) {
    let mut params = CertificateParams::new(Vec::<String>::new()).unwrap();
    params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    params.distinguished_name.push(DnType::CommonName, name);
    let key = KeyPair::generate().unwrap();
    (params.self_signed(&key).unwrap(), key)
}

fn fixture() -> &'static Fixture {
    static FIXTURE: OnceLock<Fixture> = OnceLock::new();
    FIXTURE.get_or_init(|| {
        let (ca_cert, ca_key) = ca("backfill test CA");
        let (other_ca, _) = ca("somebody else's CA");
        // The server certificate names `localhost` only (not 127.0.0.1).
        let mut params = CertificateParams::new(vec!["localhost".to_string()]).unwrap();
        params.distinguished_name.push(DnType::CommonName, "localhost");
        let key = KeyPair::generate().unwrap();
        let cert = params.signed_by(&key, &ca_cert, &ca_key).unwrap();
        let server = TempServer::start_with(&ServerOptions {
            tls: Some((cert.pem(), key.serialize_pem())),
            ..ServerOptions::default()
        })
        .unwrap();
        // Inside the server's directory, which goes away with the server (a static is never dropped).
        let ca_file = server.dir().join("ca.pem");
        let other_ca_file = server.dir().join("other.pem");
        std::fs::write(&ca_file, ca_cert.pem()).unwrap();
        std::fs::write(&other_ca_file, other_ca.pem()).unwrap();
        Fixture { server, ca_file, other_ca_file }
    })
}

/// Connects with `sslmode` (and `sslrootcert`) to `host`; returns whether the session uses TLS.
async fn connect(host: &str, mode: &str, root: Option<&PathBuf>) -> Result<bool, String> {
    let f = fixture();
    let mut dsn = format!(
        "host={host} port={} user=postgres password={} dbname=postgres sslmode={mode}",
        f.server.port(),
        f.server.password()
    );
    if let Some(root) = root {
        dsn.push_str(&format!(" sslrootcert={}", root.display()));
    }
    let settings = connect::resolve(Some(&dsn), &|_| None).map_err(|e| e.to_string())?;
    let session = connect::connect(&settings, &SessionOptions::default()).await.map_err(|e| e.to_string())?;
    let row = session.client.query_one("SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()", &[]).await.unwrap();
    Ok(row.get(0))
}

#[tokio::test]
async fn disable_prefer_and_require() {
    let f = fixture();
    assert_eq!(connect("127.0.0.1", "disable", None).await, Ok(false));
    assert_eq!(connect("127.0.0.1", "prefer", None).await, Ok(true));
    assert_eq!(connect("127.0.0.1", "require", None).await, Ok(true), "require does not verify without a root");
    // require with a root file verifies the chain, like libpq.
    assert!(connect("127.0.0.1", "require", Some(&f.other_ca_file)).await.is_err());
    assert_eq!(connect("127.0.0.1", "require", Some(&f.ca_file)).await, Ok(true));
}

#[tokio::test]
async fn verify_ca_checks_the_chain_but_not_the_name() {
    let f = fixture();
    assert_eq!(connect("127.0.0.1", "verify-ca", Some(&f.ca_file)).await, Ok(true));
    let err = connect("127.0.0.1", "verify-ca", Some(&f.other_ca_file)).await.unwrap_err();
    assert!(err.contains("cannot connect"), "{err}");
}

#[tokio::test]
async fn verify_full_also_checks_the_host_name() {
    let f = fixture();
    assert_eq!(connect("localhost", "verify-full", Some(&f.ca_file)).await, Ok(true));
    let err = connect("127.0.0.1", "verify-full", Some(&f.ca_file)).await.unwrap_err();
    assert!(err.contains("not valid for") || err.contains("NotValidForName"), "{err}");
    assert!(!err.contains(f.server.password()), "{err}");
}

#[tokio::test]
async fn a_missing_or_bad_root_file_is_one_clear_line() {
    let missing = PathBuf::from("/nonexistent/root.pem");
    let err = connect("localhost", "verify-full", Some(&missing)).await.unwrap_err();
    assert!(err.contains("sslrootcert /nonexistent/root.pem"), "{err}");
    let dir = tempfile::tempdir().unwrap();
    let empty = dir.path().join("empty.pem");
    std::fs::write(&empty, "not a certificate").unwrap();
    let err = connect("localhost", "verify-ca", Some(&empty)).await.unwrap_err();
    assert!(err.contains("no PEM certificate"), "{err}");
}
