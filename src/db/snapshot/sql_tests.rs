//! Each snapshot statement exactly as it is sent, and the text path's literals.
use super::*;

#[test]
fn the_snapshot_statement_as_sent() {
    insta::assert_snapshot!("snapshot_prepared", snapshot_sql(None));
    let later = Known {
        months: Some("300:-1234"),
        months_horizon: Some(9876),
        sessions: Some("4:-99"),
        quiet_activity: Some("120:77"),
        fractions: Some([0.9, 0.1, 0.0]),
    };
    let parts = Parts { locks: true, months: false, queue: true, sample: false };
    insta::assert_snapshot!(
        "snapshot_later_read_as_text",
        with_literals(&snapshot_sql(None), &Params::new(later, parts))
    );
    insta::assert_snapshot!(
        "snapshot_custom_queue",
        snapshot_sql(Some("SELECT ready, in_flight, delayed, dead FROM my_queue_depth"))
    );
}

#[test]
fn a_fingerprint_that_is_not_ours_is_never_written_into_the_text() {
    let known = Known { months: Some("1'; DROP TABLE x; --"), ..Known::default() };
    let text = with_literals(&snapshot_sql(None), &Params::new(known, Parts::ALL));
    assert!(!text.contains("DROP TABLE"));
    assert!(!text.contains("$1") && !text.contains("$9"));
}
