#![no_main]
//! Config files: parse or a "config file F line N: …" error; never a panic.
use backfill_console::config;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &str| {
    if let Err(e) = config::parse(data, "fuzz.toml") {
        assert!(e.to_string().starts_with("config file fuzz.toml line "));
    }
});
