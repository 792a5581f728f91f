use std::collections::HashMap;
use std::os::unix::fs::PermissionsExt;

use super::*;

fn env_of(pairs: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> + use<> {
    let map: HashMap<String, String> = pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
    move |key| map.get(key).cloned()
}

#[test]
fn flag_wins_over_database_url_and_environment_fills_gaps() {
    let env = env_of(&[
        ("DATABASE_URL", "postgresql://ignored@elsewhere/other"),
        ("PGPORT", "6543"),
        ("PGUSER", "envuser"),
        ("PGAPPNAME", "from-env"),
        ("HOME", "/nonexistent"),
    ]);
    let s = resolve(Some("postgresql://alice@db1/books"), &env).unwrap();
    assert_eq!(s.hosts, ["db1"]);
    assert_eq!(s.ports, [6543]);
    assert_eq!(s.user, "alice");
    assert_eq!(s.dbname, "books");
    assert_eq!(s.application_name, "from-env");
    assert_eq!(s.sslmode, SslMode::Prefer);
}

#[test]
fn database_url_then_pure_environment() {
    let env = env_of(&[("DATABASE_URL", "host=h1 dbname=d1 user=u1"), ("HOME", "/nonexistent")]);
    let s = resolve(None, &env).unwrap();
    assert_eq!((s.hosts[0].as_str(), s.dbname.as_str(), s.user.as_str()), ("h1", "d1", "u1"));
    assert_eq!(s.application_name, DEFAULT_APPLICATION_NAME);

    let env = env_of(&[
        ("PGHOST", "h2"),
        ("PGDATABASE", "d2"),
        ("PGUSER", "u2"),
        ("PGPASSWORD", "pw2"),
        ("PGSSLMODE", "verify-full"),
        ("PGSSLROOTCERT", "/etc/ca.pem"),
        ("PGCONNECT_TIMEOUT", "7"),
    ]);
    let s = resolve(None, &env).unwrap();
    assert_eq!(s.target(), "u2@h2:5432/d2");
    assert_eq!(s.password.as_ref().map(Secret::expose), Some("pw2"));
    assert_eq!(s.password_source, PasswordSource::Environment);
    assert_eq!(s.sslmode, SslMode::VerifyFull);
    assert_eq!(s.sslrootcert.as_deref(), Some(std::path::Path::new("/etc/ca.pem")));
    assert_eq!(s.connect_timeout, Some(Duration::from_secs(7)));
}

#[test]
fn dbname_defaults_to_user_and_ports_pair_with_hosts() {
    let env = env_of(&[("HOME", "/nonexistent")]);
    let s = resolve(Some("host=a,b port=1,2 user=x"), &env).unwrap();
    assert_eq!(s.dbname, "x");
    assert_eq!(s.target(), "x@a:1,b:2/x");
    let err = resolve(Some("host=a,b,c port=1,2 user=x"), &env).unwrap_err().to_string();
    assert!(err.contains("2 ports given for 3 hosts"), "{err}");
}

#[test]
fn password_file_is_used_only_when_no_password_given() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("pass");
    std::fs::write(&file, "h:5432:db:u:from-file\n").unwrap();
    std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o600)).unwrap();
    let path = file.to_string_lossy().to_string();
    let env = env_of(&[("PGPASSFILE", path.as_str())]);
    let s = resolve(Some("host=h dbname=db user=u"), &env).unwrap();
    assert_eq!(s.password.as_ref().map(Secret::expose), Some("from-file"));
    assert_eq!(s.password_source, PasswordSource::PasswordFile);
    let s = resolve(Some("host=h dbname=db user=u password=given"), &env).unwrap();
    assert_eq!(s.password.as_ref().map(Secret::expose), Some("given"));
    let s = resolve(Some("host=other dbname=db user=u"), &env).unwrap();
    assert!(s.password.is_none());
}

#[test]
fn bad_values_are_named_and_passwords_never_shown() {
    let env = env_of(&[("HOME", "/nonexistent")]);
    let err = resolve(Some("host=h user=u sslmode=allow password=topsecret"), &env).unwrap_err().to_string();
    assert!(err.contains("sslmode") && err.contains("verify-full"), "{err}");
    assert!(!err.contains("topsecret"));
    let err = resolve(Some("host=h user=u port=http"), &env).unwrap_err().to_string();
    assert!(err.contains("port") && err.contains("http"), "{err}");
    let s = resolve(Some("postgresql://u:topsecret@h/db"), &env).unwrap();
    assert!(!format!("{s:?}").contains("topsecret"));
    assert!(!s.target().contains("topsecret"));
}
