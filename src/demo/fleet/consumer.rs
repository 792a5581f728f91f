//! A consumer: takes a message with a visibility timeout, takes the month's
//! session lock (as production consumers do), works for a few seconds with its
//! session idle, then ends the month and deletes the message — or
//! dead-letters a message on its third failed delivery. Chaos: it dies
//! mid-work (its month stays `processing`; the message comes back).

use std::time::Duration;

use rand::Rng;
use rand::rngs::StdRng;

use super::Shared;
use crate::db::connect::Session;
use crate::db::queue::{self, Delivery, MAX_FAILED_DELIVERIES};
use crate::demo::data::ERRORS;

pub async fn run(mut shared: Shared, index: usize) {
    let mut rng = shared.rng(1000 + index as u64);
    let name = format!("consumer-{}", index + 1);
    let mut session: Option<Session> = None;
    while !shared.stopping() {
        if shared.stalled() {
            if !shared.nap(Duration::from_secs(1)).await {
                break;
            }
            continue;
        }
        let Some(s) = session.as_ref().filter(|s| !s.is_closed()) else {
            session = shared.session(&name).await;
            if !shared.nap(Duration::from_secs(1)).await {
                break;
            }
            continue;
        };
        let visibility = shared.scaled(Duration::from_secs(30));
        match queue::read(&s.client, visibility).await {
            Ok(Some(delivery)) => match work(&mut shared, s, delivery, &mut rng, &name).await {
                Step::Continue => {}
                Step::Died => session = None, // dropped mid-work: the server ends the session
                Step::Stop => break,
            },
            Ok(None) => {
                if !shared.nap(Duration::from_millis(800)).await {
                    break;
                }
            }
            Err(_) => session = None,
        }
    }
}

enum Step {
    Continue,
    Died,
    Stop,
}

async fn work(shared: &mut Shared, s: &Session, d: Delivery, rng: &mut StdRng, name: &str) -> Step {
    if d.read_count > MAX_FAILED_DELIVERIES {
        // This read is its fourth ("Reads 4" in the console): three deliveries failed before.
        let _ = queue::dead_letter(&s.client, d.msg_id, "3 deliveries failed").await;
        tracing::debug!("{name}: dead-lettered message {}", d.msg_id);
        return Step::Continue;
    }
    let (Some(year), Some(month)) = (d.message["year"].as_i64(), d.message["month"].as_i64()) else {
        let _ = queue::dead_letter(&s.client, d.msg_id, "malformed message").await;
        return Step::Continue;
    };
    if d.message.get("poison").is_some() {
        // It cannot be handled: this delivery fails (it comes back after its timeout), and
        // the third goes to the dead letters — its month left processing, with no message.
        if d.read_count >= MAX_FAILED_DELIVERIES {
            let _ = queue::dead_letter(&s.client, d.msg_id, "schema mismatch: unexpected field 'poison'").await;
        }
        tracing::debug!("{name}: poison message {}", d.msg_id);
        return Step::Continue;
    }
    let key = year * 100 + month;
    let locked = s.client.query_one("SELECT pg_try_advisory_lock($1::bigint)", &[&key]).await;
    if !matches!(locked.map(|r| r.get::<_, bool>(0)), Ok(true)) {
        return Step::Continue; // someone holds it: the message comes back later
    }
    let still_processing = s
        .client
        .query_opt(
            "SELECT 1 FROM backfill_log WHERE year = $1 AND month = $2 AND status = 'processing'",
            &[&(year as i32), &(month as i32)],
        )
        .await
        .is_ok_and(|r| r.is_some());
    if !still_processing {
        // Reset or finished meanwhile: the message is stale.
        let _ = queue::delete(&s.client, d.msg_id).await;
        let _ = s.client.execute("SELECT pg_advisory_unlock($1::bigint)", &[&key]).await;
        return Step::Continue;
    }
    // Calling the external APIs: minutes in production, seconds here; the session idles.
    let die = rng.random_bool(shared.opts.chaos.clamp(0.0, 1.0) * 0.08);
    let busy = Duration::from_millis(rng.random_range(800..3000));
    if !shared.nap(if die { busy / 2 } else { busy }).await {
        return Step::Stop;
    }
    if die {
        tracing::debug!("{name}: died while working on {key}");
        return Step::Died;
    }
    finish(s, year as i32, month as i32, rng).await;
    let _ = queue::delete(&s.client, d.msg_id).await;
    let _ = s.client.execute("SELECT pg_advisory_unlock($1::bigint)", &[&key]).await;
    Step::Continue
}

async fn finish(s: &Session, year: i32, month: i32, rng: &mut StdRng) {
    let roll: f64 = rng.random();
    let books: i32 = rng.random_range(20..=60);
    let resolved = rng.random_range(books / 2..=books);
    let queued = rng.random_range(resolved / 2..=resolved);
    let error = ERRORS[rng.random_range(0..ERRORS.len())];
    let result = if roll < 0.8 {
        s.client
            .execute(
                "UPDATE backfill_log SET status = 'completed', completed_at = greatest(now(), started_at),
                   books_generated = $3, isbns_resolved = $4, isbns_queued = $5,
                   resolution_rate = round(($4::int * 100)::numeric / $3::int, 2),
                   gemini_calls = $3 / 10 + 1, xai_calls = $3 / 20, isbndb_calls = $4
                 WHERE year = $1 AND month = $2 AND status = 'processing'",
                &[&year, &month, &books, &resolved, &queued],
            )
            .await
    } else if roll < 0.92 {
        s.client
            .execute(
                concat!(
                    "UPDATE backfill_log SET status = CASE WHEN retry_count >= ",
                    crate::retry_cap!(),
                    " THEN 'failed' ELSE 'retry' END,
                   retry_count = LEAST(retry_count + 1, ",
                    crate::retry_cap!(),
                    "), error_message = $3
                 WHERE year = $1 AND month = $2 AND status = 'processing'"
                ),
                &[&year, &month, &error],
            )
            .await
    } else {
        s.client
            .execute(
                "UPDATE backfill_log SET status = 'failed', error_message = $3
                 WHERE year = $1 AND month = $2 AND status = 'processing'",
                &[&year, &month, &error],
            )
            .await
    };
    if let Err(e) = result {
        tracing::debug!("demo consumer could not finish {year}-{month:02}: {e}");
    }
}
