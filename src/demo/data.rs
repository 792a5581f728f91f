//! Believable seed data: 2000-01 … 2024-12, mostly pending, older years mostly
//! completed with metrics, a few retry and failed with realistic errors.
//! Deterministic for a given seed.

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use tokio_postgres::Client;

use crate::db::DbError;
use crate::model::claim::prompt_variant;
use crate::model::{RETRY_CAP, Status};

pub const ERRORS: &[&str] = &[
    "gemini: 503 Service Unavailable (model overloaded)",
    "isbndb: 429 Too Many Requests (daily quota)",
    "xai: request timed out after 60s",
    "validation: 3 generated books have no title",
    "isbndb: ISBN-13 checksum mismatch for 978-0-14-044913-5",
    "gemini: response was not valid JSON (truncated at 8192 tokens)",
];

/// Inserts the 300 months (the table must be empty of them).
pub async fn load(client: &mut Client, seed: u64) -> Result<(), DbError> {
    let mut rng = StdRng::seed_from_u64(seed);
    let tx = client.transaction().await.map_err(|e| DbError::query("begin the demo data", e))?;
    for year in 2000..=2024 {
        for month in 1..=12 {
            let roll: f64 = rng.random();
            // Older years are mostly done; recent ones mostly to do.
            let done_share = ((2020 - year) as f64 / 20.0).clamp(0.0, 0.9);
            let status = if roll < done_share {
                Status::Completed
            } else if roll < done_share + 0.04 {
                Status::Retry
            } else if roll < done_share + 0.07 {
                Status::Failed
            } else {
                Status::Pending
            };
            insert(&tx, &mut rng, year, month, &status).await?;
        }
    }
    tx.commit().await.map_err(|e| DbError::query("commit the demo data", e))
}

async fn insert(
    tx: &tokio_postgres::Transaction<'_>,
    rng: &mut StdRng,
    year: i32,
    month: i32,
    status: &Status,
) -> Result<(), DbError> {
    let books: i32 = rng.random_range(20..=60);
    let resolved = rng.random_range(books / 2..=books);
    let queued = rng.random_range(resolved / 2..=resolved);
    let days_ago: f64 = rng.random_range(1.0..400.0);
    let minutes: f64 = rng.random_range(3.0..40.0);
    // Four in ten completed months finished within the last day, so the wall monitor's
    // throughput chart and ETA have a day of history from the first minute.
    let recent = rng.random_bool(0.4);
    let ago_secs = if *status == Status::Completed && recent {
        rng.random_range(600.0..86_000.0)
    } else {
        days_ago.floor() * 86_400.0
    };
    let retries = match status {
        Status::Retry => rng.random_range(1..=3),
        Status::Failed => RETRY_CAP,
        _ => 0,
    };
    let error = matches!(status, Status::Retry | Status::Failed).then(|| ERRORS[rng.random_range(0..ERRORS.len())]);
    let done = *status == Status::Completed;
    tx.execute(
        "INSERT INTO backfill_log (year, month, status, books_generated, isbns_resolved, isbns_queued,
           resolution_rate, gemini_calls, xai_calls, isbndb_calls, started_at, completed_at,
           error_message, retry_count, prompt_variant)
         VALUES ($1, $2, $3, $4, $5, $6, round(($5::int * 100)::numeric / greatest($4::int, 1), 2), $7, $8, $9,
           CASE WHEN $16 THEN now() - make_interval(secs => $10) - make_interval(mins => $12) END,
           CASE WHEN $11 THEN now() - make_interval(secs => $10) END,
           $13, $14, $15)
         ON CONFLICT (year, month) DO NOTHING",
        &[
            &year,
            &month,
            &status.as_str(),
            &if done { books } else { 0 },
            &if done { resolved } else { 0 },
            &if done { queued } else { 0 },
            &if done { books / 10 + 1 } else { 0 },
            &if done { books / 20 } else { 0 },
            &if done { resolved } else { 0 },
            &ago_secs,
            &done,
            &(minutes as i32),
            &error,
            &retries,
            &prompt_variant(year),
            &(*status != Status::Pending),
        ],
    )
    .await
    .map_err(|e| DbError::query("insert a demo month", e))?;
    Ok(())
}
