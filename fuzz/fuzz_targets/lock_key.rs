#![no_main]
//! Lock keys and pg_locks rows: decode only to valid months, always classify.
use backfill_console::db::lock_key::{self, YearMonth};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: [u8; 19]| {
    let key = i64::from_le_bytes(data[0..8].try_into().unwrap_or_default());
    if let Some(ym) = YearMonth::from_lock_key(key) {
        assert_eq!(ym.lock_key(), key);
    }
    let classid = u32::from_le_bytes(data[8..12].try_into().unwrap_or_default());
    let objid = u32::from_le_bytes(data[12..16].try_into().unwrap_or_default());
    let sub = i16::from_le_bytes(data[16..18].try_into().unwrap_or_default());
    let _ = lock_key::classify(classid, objid, sub, data[18] & 1 == 1);
    let _ = YearMonth::parse(&String::from_utf8_lossy(&data));
});
