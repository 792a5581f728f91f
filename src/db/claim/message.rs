//! The queue message a claim enqueues, exactly as the production consumers expect it.

use uuid::Uuid;

use crate::model::claim::prompt_variant;
use crate::model::lock_key::YearMonth;

/// The queue message, exactly as the production consumers expect it.
pub fn message(job_id: Uuid, month: YearMonth) -> serde_json::Value {
    serde_json::json!({
        "job_id": job_id,
        "year": month.year,
        "month": month.month,
        "batch_size": 20,
        "prompt_variant": prompt_variant(month.year),
        "dry_run": false,
    })
}
