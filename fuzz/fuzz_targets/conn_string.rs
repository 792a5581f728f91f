#![no_main]
//! Connection strings: never a panic, never the password in an error.
use backfill_console::db::connect::{params, redact, resolve};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &str| {
    let _ = params::parse(data);
    let stripped = redact::split_password(data);
    if let (Err(e), Some((without, pw))) = (resolve(Some(data), &|_| None), stripped) {
        // Differential: the password may only appear in the error if it also appears when
        // the password is taken out (it is then part of another value or of our own words).
        let msg = e.to_string();
        if pw.len() >= 4 && msg.contains(&pw) {
            let again = resolve(Some(&without), &|_| None).err().map(|e| e.to_string()).unwrap_or_default();
            assert!(again.contains(&pw), "password in an error: {msg}");
        }
    }
});
