//! The failure causes group as a person would: a corpus of realistic messages, each group
//! the messages an operator would call one error (one signature), every group apart from
//! the others; and the signature stays the same whatever the masked values are.
#![allow(clippy::unwrap_used, clippy::expect_used)] // tests may panic

use backfill_console::model::causes::signature;
use proptest::prelude::*;

const PY_KEYERROR_1: &str = "Traceback (most recent call last):
  File \"/app/consumer.py\", line 212, in handle
    books = resolve(batch)
  File \"/app/isbn.py\", line 88, in resolve
    return cache[key]
KeyError: 'isbn'";
const PY_KEYERROR_2: &str = "Traceback (most recent call last):
  File \"/app/consumer.py\", line 219, in handle
    books = resolve(batch)
  File \"/app/isbn.py\", line 91, in resolve
    return cache[key]
KeyError: 'isbn13'";
const PY_VALUEERROR: &str = "Traceback (most recent call last):
  File \"/app/consumer.py\", line 212, in handle
    books = resolve(batch)
  File \"/app/isbn.py\", line 88, in resolve
    return cache[key]
ValueError: invalid literal for int() with base 10: 'x'";
const JAVA_TIMEOUT_1: &str = "java.net.SocketTimeoutException: Read timed out
\tat java.net.SocketInputStream.socketRead0(Native Method)
\tat java.net.SocketInputStream.read(SocketInputStream.java:170)
\tat com.books.Resolver.fetch(Resolver.java:88)";
const JAVA_TIMEOUT_2: &str = "java.net.SocketTimeoutException: Read timed out
\tat java.net.SocketInputStream.socketRead0(Native Method)
\tat java.net.SocketInputStream.read(SocketInputStream.java:171)
\tat com.books.Resolver.fetch(Resolver.java:92)";
const JAVA_CAUSED_BY: &str = "com.books.ResolveException: batch 17 failed
\tat com.books.Resolver.run(Resolver.java:40)
\tat com.books.Worker.loop(Worker.java:12)
Caused by: java.sql.SQLTransientConnectionException: pool exhausted after 30000ms
\tat com.zaxxer.hikari.pool.HikariPool.getConnection(HikariPool.java:696)";
const JAVA_CAUSED_BY_2: &str = "com.books.ResolveException: batch 204 failed
\tat com.books.Resolver.run(Resolver.java:41)
\tat com.books.Worker.loop(Worker.java:12)
Caused by: java.sql.SQLTransientConnectionException: pool exhausted after 15000ms
\tat com.zaxxer.hikari.pool.HikariPool.getConnection(HikariPool.java:696)";
const GO_PANIC_1: &str = "panic: runtime error: index out of range [5] with length 3

goroutine 1 [running]:
main.resolve(...)
\t/app/resolve.go:42 +0x1d";
const GO_PANIC_2: &str = "panic: runtime error: index out of range [12] with length 7

goroutine 19 [running]:
main.resolve(...)
\t/app/resolve.go:44 +0x2f";
const RUST_PANIC_1: &str = "thread 'worker-3' panicked at src/resolve.rs:42:5:
called `Option::unwrap()` on a `None` value
note: run with `RUST_BACKTRACE=1` environment variable to display a backtrace";
const RUST_PANIC_2: &str = "thread 'worker-11' panicked at src/resolve.rs:57:9:
called `Option::unwrap()` on a `None` value
note: run with `RUST_BACKTRACE=1` environment variable to display a backtrace";
const RUST_PANIC_OTHER: &str = "thread 'worker-3' panicked at src/resolve.rs:42:5:
attempt to divide by zero
note: run with `RUST_BACKTRACE=1` environment variable to display a backtrace";

/// Each inner list: messages an operator would call one error.
const GROUPS: &[&[&str]] = &[
    &[
        "isbndb: HTTP 429 Too Many Requests (request 77aa01)",
        "isbndb: HTTP 429 Too Many Requests (request e4da3b…)",
        "isbndb: HTTP 429 Too Many Requests (request 1234567)",
        "isbndb: HTTP 429 Too Many Requests (request req_8fKq2LmN)",
    ],
    &[
        "gemini: 503 Service Unavailable (model gemini-1.5-pro) after 12s",
        "gemini: 503 Service Unavailable (model gemini-2.0-flash) after 1m05s",
        "gemini: 503 Service Unavailable (model gemini-1.5-pro) after 61.5s",
    ],
    &["gemini: 500 Internal Server Error (model gemini-1.5-pro) after 12s"],
    &[
        "xai: deadline exceeded after 55s",
        "xai: deadline exceeded after 1m05s",
        "xai: deadline exceeded after 120000ms",
        "xai: deadline exceeded after 61.5s",
    ],
    &[
        "ERROR: 23505: duplicate key value violates unique constraint \"isbn_pkey\"",
        "ERROR: 23505: duplicate key value violates unique constraint \"books_isbn_key\"",
    ],
    &["ERROR: 57014: canceling statement due to statement timeout"],
    &["ERROR: could not serialize access due to concurrent update (SQLSTATE 40001)"],
    &["ERROR: deadlock detected (SQLSTATE 40P01)", "ERROR: deadlock detected (SQLSTATE 40P01)  "],
    &["worker exited: exit status 137 (pid 4242)", "worker exited: exit status 137 (pid 918)"],
    &["worker exited: exit status 1 (pid 77)", "worker exited: exit status 1 (pid 31337)"],
    &[
        "job 3f2b8c1e-9d4a-4e7b-a1c2-0f9e8d7c6b5a lost by the consumer",
        "job {3F2B8C1E-9D4A-4E7B-A1C2-0F9E8D7C6B5A} lost by the consumer",
        "job 3f2b8c1e9d4a4e7ba1c20f9e8d7c6b5a lost by the consumer",
        "job 0b6f5d9e-1c1a-4f0e-9b51-6a0e1c3f7a21 lost by the consumer",
    ],
    &[
        "token expired at 2024-03-05T10:00:00Z",
        "token expired at 2024-11-30T23:59:59.123+01:00",
        "token expired at Tue, 05 Mar 2024 10:00:00 GMT",
        "token expired at Sat, 30 Nov 2024 23:59:59 +0100",
        "token expired at 1709632800",
        "token expired at 1709632800123",
    ],
    &[PY_KEYERROR_1, PY_KEYERROR_2],
    &[PY_VALUEERROR],
    &[JAVA_TIMEOUT_1, JAVA_TIMEOUT_2],
    &[JAVA_CAUSED_BY, JAVA_CAUSED_BY_2],
    &[GO_PANIC_1, GO_PANIC_2],
    &[RUST_PANIC_1, RUST_PANIC_2],
    &[RUST_PANIC_OTHER],
    &["Error: connect ECONNREFUSED 10.0.0.5:5432", "Error: connect ECONNREFUSED 10.0.0.7:5432"],
    &["Error: connect ETIMEDOUT 10.0.0.5:443", "Error: connect ETIMEDOUT 192.168.1.20:443"],
    &["consumer 4242 killed by signal 9", "consumer 918 killed by signal 9  "],
    &["consumer 4242 killed by signal 15"],
    &["os error 111: connection refused", "os error 111: connection refused"],
    &["os error 113: no route to host"],
    &["resolved 12 of 40 ISBNs: below the 50% threshold", "resolved 3 of 17 ISBNs: below the 50% threshold"],
    &["lock KEY-88 held by another worker", "lock KEY-1203 held by another worker"],
    &[
        "FATAL: password authentication failed for user \"ops\"",
        "FATAL: password authentication failed for user \"svc-backfill\"",
    ],
    &["upstream returned 500", "upstream returned 500 "],
    &["upstream returned 502"],
    &["rate limited: retry after 30 seconds", "rate limited: retry after 5 seconds", "rate limited: retry after 1 s"],
    &["connection reset by peer (after 1532 bytes)", "connection reset by peer (after 88 bytes)"],
    &[
        "openlibrary: HTTP/1.1 404 Not Found for /isbn/9780306406157",
        "openlibrary: HTTP/1.1 404 Not Found for /isbn/9781861972712",
    ],
    &["openlibrary: HTTP/1.1 410 Gone for /isbn/9780306406157"],
];

#[test]
fn the_corpus_groups_as_a_person_would() {
    let messages: usize = GROUPS.iter().map(|g| g.len()).sum();
    assert!(messages >= 60, "the corpus holds {messages} messages");
    let mut signatures = Vec::new();
    let mut failures = Vec::new();
    for group in GROUPS {
        let first = signature(group[0]);
        for message in &group[1..] {
            let other = signature(message);
            if other != first {
                failures.push(format!("split:\n  {first}\n  {other}"));
            }
        }
        signatures.push(first);
    }
    for (i, a) in signatures.iter().enumerate() {
        for b in &signatures[i + 1..] {
            if a == b {
                failures.push(format!("merged two errors: {a}"));
            }
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn what_names_the_kind_of_error_is_kept() {
    assert!(signature("isbndb: HTTP 429 Too Many Requests (request 77aa01)").contains("HTTP 429"));
    assert!(signature("ERROR: 23505: duplicate key").contains("23505"));
    assert!(signature("ERROR: deadlock detected (SQLSTATE 40P01)").contains("40P01"));
    assert!(signature("worker exited: exit status 137 (pid 4242)").contains("exit status 137"));
    assert!(signature("consumer 4242 killed by signal 9").contains("signal 9"));
    assert!(signature(PY_KEYERROR_1).starts_with("KeyError: '…'"), "{}", signature(PY_KEYERROR_1));
    assert!(signature(JAVA_CAUSED_BY).starts_with("Caused by: java.sql.SQLTransientConnectionException"));
}

/// A message with its masked values filled in: an id, a number, seconds, a UUID, an epoch.
type Template = dyn Fn(&str, u32, u32, &str, u64) -> String;

fn hex(len: usize) -> impl Strategy<Value = String> {
    proptest::collection::vec(proptest::sample::select(&b"0123456789abcdef"[..]), len)
        .prop_map(|b| String::from_utf8(b).unwrap())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(300))]

    /// A signature is stable under changing any masked value.
    #[test]
    fn the_signature_is_stable_under_any_masked_value(
        id in "[a-z]{0,3}[0-9][0-9a-zA-Z]{2,10}",
        id2 in "[a-z]{0,3}[0-9][0-9a-zA-Z]{2,10}",
        n in 0u32..100_000, n2 in 0u32..100_000,
        secs in 1u32..5_000, secs2 in 1u32..5_000,
        u1 in hex(32), u2 in hex(32),
        epoch in 1_000_000_000u64..2_000_000_000, epoch2 in 1_000_000_000u64..2_000_000_000,
    ) {
        let uuid = |h: &str| format!("{}-{}-{}-{}-{}", &h[..8], &h[8..12], &h[12..16], &h[16..20], &h[20..]);
        let iso = |e: u64| chrono::DateTime::from_timestamp(e as i64, 0).unwrap().to_rfc3339();
        let templates: [&Template; 6] = [
            &|id, _, s, _, _| format!("isbndb: HTTP 429 Too Many Requests (request {id}) after {s}s"),
            &|_, n, s, _, _| format!("resolved {n} ISBNs in {}m{:02}s then gave up", s / 60, s % 60),
            &|_, _, _, u, _| format!("job {u} lost by the consumer"),
            &|_, _, _, _, e| format!("token expired at {e}"),
            &|_, n, s, _, _| format!("ERROR: 57014: canceling statement after {}ms (row {n})", s * 1000),
            &|id, n, _, u, _| format!("worker {id} exited: exit status 137 (pid {n}, job {u})"),
        ];
        for t in templates {
            prop_assert_eq!(signature(&t(&id, n, secs, &uuid(&u1), epoch)), signature(&t(&id2, n2, secs2, &uuid(&u2), epoch2)));
        }
        prop_assert_eq!(signature(&format!("token expired at {}", iso(epoch))), signature(&format!("token expired at {}", iso(epoch2))));
    }
}
