use super::secrets;

/// (what was tried, the text, what must be left of it): the secret is always `hunter2`
/// (or a spelling of it), and must never survive.
const SPELLINGS: &[(&str, &str, &str)] = &[
    ("URL", "postgres://ops:hunter2@db:5432/books", "postgres://ops:***@db:5432/books"),
    ("URL, unencoded slash", "postgresql://ops:hun/ter2@db/books", "postgresql://ops:***@db/books"),
    ("URL, unencoded @ and ?", "postgres://ops:hu@n?ter2@db/books", "postgres://ops:***@db/books"),
    ("URL in an error", "could not connect to postgres://svc:hunter2@db/x: refused", "postgres://svc:***@db/x"),
    ("URL without a password", "postgres://ops@db/books", "postgres://ops@db/books"),
    ("SQL", "ALTER ROLE x PASSWORD 'hunter2' VALID UNTIL 'infinity'", "ALTER ROLE x PASSWORD *** VALID UNTIL"),
    ("SQL, newline", "ALTER ROLE x PASSWORD\n'hunter2'", "PASSWORD\n***"),
    ("SQL, carriage return", "ALTER ROLE x PASSWORD\r\n'hunter2';", "PASSWORD\r\n***;"),
    ("SQL, block comment", "CREATE ROLE x PASSWORD /* set by ops */ 'hunter2'", "/* set by ops */ ***"),
    ("SQL, line comment", "CREATE ROLE x PASSWORD -- new\n 'hunter2' LOGIN", "***"),
    ("SQL, doubled quote", "ALTER ROLE x PASSWORD 'ab''hunter2'", "PASSWORD ***"),
    ("SQL, E string", "ALTER ROLE x PASSWORD E'hun\\'ter2'", "PASSWORD ***"),
    ("SQL, dollar quotes", "ALTER ROLE x PASSWORD $$hunter2$$", "PASSWORD ***"),
    ("SQL, tagged dollar quotes", "ALTER ROLE x PASSWORD $pw$hunter2$pw$ LOGIN", "PASSWORD *** LOGIN"),
    (
        "SQL, unterminated",
        "ERROR: unterminated quoted string at or near \"'hunter2\" ALTER ROLE x PASSWORD 'hunter2",
        "PASSWORD ***",
    ),
    ("DSN", "host=db password=hunter2 user=x", "host=db password=*** user=x"),
    ("DSN, quoted", "host=db password='hunt er2' user=x", "password=*** user=x"),
    ("DSN, spaces", "host=db password = hunter2 user=x", "password = *** user=x"),
    ("pwd=", "Server=db;Uid=ops;Pwd=hunter2;", "Pwd=***;"),
    ("passwd:", "passwd: hunter2", "passwd: ***"),
    ("pass=", "user=ops pass=hunter2", "pass=***"),
    ("JSON", r#"{"user": "ops", "password": "hunter2"}"#, r#""password": ***}"#),
    ("JSON, escaped quote", r#"{"password":"hun\"ter2"}"#, r#""password":***}"#),
    ("environment", "PGPASSWORD=hunter2 psql", "PGPASSWORD=*** psql"),
    ("environment, colon", "PGPASSWORD: \"hunter2\";", "PGPASSWORD: ***;"),
    ("a longer name", "db_password => 'hunter2'", "db_password => ***"),
    ("token", "retry with token=hunter2&x=1", "token=***&x=1"),
    ("api key", "x-api-key: hunter2", "x-api-key: ***"),
    ("bearer", "Authorization: Bearer hunter2 sent", "Authorization: *** sent"),
    ("secret", "client_secret=hunter2", "client_secret=***"),
    ("an error carrying a DSN", "invalid connection string \"host=db password=hunter2\"", "password=***"),
];

/// Texts that hold no secret, left as they are.
const HARMLESS: &[&str] = &[
    "FATAL: password authentication failed for user \"ops\"",
    "SHOW password_encryption",
    "CREATE ROLE x PASSWORD NULL",
    "the fleet passes over locked months; bypass=none",
    "no secret here",
    "password",
    "é password",
];

#[test]
fn every_spelling_of_a_secret_is_taken_out() {
    let mut failures = Vec::new();
    for (what, text, kept) in SPELLINGS {
        let out = secrets(text);
        let leaked = ["hunter2", "hun/ter2", "hu@n?ter2", "hunt er2", "hun\\'ter2", "hun\\\"ter2", "ab''hunter2"]
            .iter()
            .any(|s| out.contains(s));
        if leaked || !out.contains(kept) {
            failures.push(format!("{what}: {text:?} -> {out:?} (want {kept:?} in it)"));
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {} spellings failed:\n{}",
        failures.len(),
        SPELLINGS.len(),
        failures.join("\n")
    );
}

#[test]
fn text_without_a_secret_stays_as_it_is() {
    for text in HARMLESS {
        assert_eq!(secrets(text), *text);
    }
    // Multi-byte text around a secret stays whole.
    assert_eq!(secrets("é password=ü x"), "é password=*** x");
    assert_eq!(secrets("ü PASSWORD 'é'"), "ü PASSWORD ***");
}
