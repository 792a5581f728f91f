//! The detail view of one month: every column, the full error, its queue and dead-letter
//! messages, and its history (the audit rows that touched it).

use crate::db::param::p;
use tokio_postgres::Client;

use super::DbError;
use super::lock_key::YearMonth;

/// The most audit rows the detail shows.
const HISTORY: i64 = 20;

/// Lines to show (the UI sanitises them).
pub async fn month_detail(client: &Client, month: YearMonth) -> Result<Vec<String>, DbError> {
    let q = |what: &'static str| move |e: tokio_postgres::Error| DbError::query(what, e);
    let mut lines = Vec::new();
    let row = client
        .query_typed_opt(
            "SELECT to_jsonb(b)::text FROM backfill_log b WHERE year = $1 AND month = $2",
            &[p(&month.year), p(&month.month)],
        )
        .await
        .map_err(q("read the month"))?;
    match row {
        None => lines.push("this month is not in backfill_log".to_string()),
        Some(row) => {
            let text: String = row.get(0);
            let value: serde_json::Value = serde_json::from_str(&text).unwrap_or_default();
            if let Some(map) = value.as_object() {
                // The error last and whole: it is what an operator reads most.
                for (key, v) in map.iter().filter(|(k, _)| k.as_str() != "error_message") {
                    lines.push(format!("{key:<16} {}", plain(v)));
                }
                lines.push(format!("{:<16} {}", "error_message", map.get("error_message").map_or("-".into(), plain)));
            }
        }
    }
    let messages = client
        .query_typed(
            "SELECT 'queue', msg_id, read_count, visible_at > now(), message::text FROM backfill_queue
               WHERE message->>'year' = $1::int::text AND message->>'month' = $2::int::text
             UNION ALL
             SELECT 'dead', msg_id, read_count, false, message::text || ' (' || coalesce(reason, '') || ')'
               FROM backfill_queue_dead
               WHERE message->>'year' = $1::int::text AND message->>'month' = $2::int::text
             ORDER BY 2 LIMIT 20",
            &[p(&month.year), p(&month.month)],
        )
        .await
        .map_err(q("read the month's queue messages"))?;
    lines.push(String::new());
    lines.push(format!("queue messages ({}):", messages.len()));
    for m in messages {
        let (place, id, reads, invisible, body): (String, i64, i32, bool, String) =
            (m.get(0), m.get(1), m.get(2), m.get(3), m.get(4));
        let state = if place == "dead" {
            "DEAD"
        } else if invisible {
            "in flight"
        } else {
            "ready"
        };
        lines.push(format!("  #{id} {state}, read {reads}×: {body}"));
    }
    // Its history: the audit rows that touched it, its own or a bulk action's that lists it.
    let history = super::audit::read(client, crate::duration_text::MAX, Some(month), HISTORY).await?;
    lines.push(String::new());
    lines.push(format!(
        "history ({}{}):",
        history.len(),
        if history.len() as i64 == HISTORY { ", the newest" } else { "" }
    ));
    for row in history {
        lines.push(format!(
            "  {} {} by {}: {}",
            row.at.format("%Y-%m-%d %H:%M:%S"),
            row.action,
            row.who(),
            row.outcome
        ));
    }
    Ok(lines)
}

fn plain(v: &serde_json::Value) -> String {
    match v {
        serde_json::Value::Null => "-".into(),
        serde_json::Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}
