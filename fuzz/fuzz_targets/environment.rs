#![no_main]
//! The libpq environment: any values for the PG* variables resolve or fail cleanly.
use backfill_console::db::connect::resolve;
use libfuzzer_sys::fuzz_target;

const KEYS: &[&str] = &[
    "PGHOST", "PGPORT", "PGUSER", "PGPASSWORD", "PGDATABASE", "PGSSLMODE", "PGSSLROOTCERT", "PGAPPNAME",
    "PGCONNECT_TIMEOUT", "DATABASE_URL",
];

fuzz_target!(|data: &str| {
    let values: Vec<&str> = data.split('\u{1}').collect();
    let env = |key: &str| {
        KEYS.iter().position(|k| *k == key).and_then(|i| values.get(i)).map(|v| v.to_string())
    };
    let _ = resolve(None, &env);
});
