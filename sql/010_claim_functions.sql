-- The claim's two main statements as functions, for consoles connected through a
-- transaction pooler (PgBouncer in transaction mode): there a statement cannot stay
-- prepared, so each claim planned both afresh; a PL/pgSQL function's plans are kept by
-- the server process that runs it. Each body is the console's statement word for word
-- (src/db/claim/sql.rs; generated from it and checked by the tests). They run with the
-- caller's rights. A console uses them only when their bodies are exactly its own.
-- The generic plan is the one the tests check (no table read whole).
CREATE OR REPLACE FUNCTION backfill_claim_walk(text[], bigint, integer, integer, integer, integer, bigint, integer[])
RETURNS TABLE (walk_id integer, walk_year integer, walk_month integer, walk_outcome text)
LANGUAGE plpgsql VOLATILE SET plan_cache_mode = force_generic_plan
AS $claim$
#variable_conflict use_column
BEGIN
  RETURN QUERY WITH RECURSIVE cand AS MATERIALIZED (SELECT (row_number() OVER (ORDER BY year DESC, month DESC))::int AS i, id, year, month FROM backfill_log
         WHERE status = ANY($1) AND (status <> 'failed' OR retry_count < 5) AND year BETWEEN $3 AND $4
           AND (year, month) < ($5, $6) AND ($8::int[] IS NULL OR year * 100 + month = ANY($8))
         ORDER BY year DESC, month DESC LIMIT $7), arr AS MATERIALIZED (
                SELECT array_agg(id ORDER BY i) AS ids, array_agg(year ORDER BY i) AS years,
                       array_agg(month ORDER BY i) AS months, count(*)::int AS n FROM cand),
            walk (i, taken, outcome) AS (
                SELECT 0, 0, NULL::text
              UNION ALL
                SELECT w.i + 1, w.taken + (o.outcome = 'taken')::int, o.outcome
                FROM walk w CROSS JOIN arr a
                CROSS JOIN LATERAL (SELECT a.ids[w.i + 1] AS id, a.years[w.i + 1] AS year,
                                           a.months[w.i + 1] AS month) c
                CROSS JOIN LATERAL (SELECT CASE WHEN NOT pg_try_advisory_xact_lock((c.year * 100 + c.month)::bigint) THEN 'busy'
              WHEN NOT EXISTS (SELECT 1 FROM backfill_log b WHERE b.id = c.id AND b.status = ANY($1)
                             AND (b.status <> 'failed' OR b.retry_count < 5) FOR NO KEY UPDATE OF b SKIP LOCKED)
                   THEN 'gone'
              WHEN EXISTS (SELECT 1 FROM backfill_queue q WHERE backfill_message_month(q.message) = c.year * 100 + c.month) THEN 'queued'
              ELSE 'taken' END AS outcome) o
                WHERE w.i < a.n AND w.taken < $2)
            SELECT c.id, c.year, c.month, w.outcome FROM cand c LEFT JOIN walk w USING (i) ORDER BY c.i;
END
$claim$;

CREATE OR REPLACE FUNCTION backfill_claim_update(integer[], text[], integer[], jsonb[], integer[])
RETURNS TABLE (sent_msg_id bigint, sent_job_id text, held_id integer)
LANGUAGE plpgsql VOLATILE SET plan_cache_mode = force_generic_plan
AS $claim$
#variable_conflict use_column
BEGIN
  RETURN QUERY WITH queued AS MATERIALIZED (
        SELECT t.id FROM unnest($1::int[], $5::int[]) AS t(id, key) WHERE EXISTS (SELECT 1 FROM backfill_queue q WHERE backfill_message_month(q.message) = t.key OFFSET 0)),
      updated AS (
        UPDATE backfill_log SET status = 'processing', started_at = now(), completed_at = NULL,
          error_message = NULL, last_retry_at = CASE WHEN status = 'retry' THEN now() ELSE last_retry_at END
        FROM unnest($1::int[]) AS t(id)
        WHERE backfill_log.id = t.id AND t.id NOT IN (SELECT id FROM queued) AND status = ANY($2)
          AND (status <> 'failed' OR retry_count < 5) RETURNING backfill_log.id),
      sent AS (
        INSERT INTO backfill_queue (message)
        SELECT m.message FROM unnest($3::int[], $4::jsonb[]) WITH ORDINALITY AS m(id, message, i)
        WHERE m.id IN (SELECT id FROM updated) ORDER BY m.i
        RETURNING msg_id, message->>'job_id' AS job_id)
    SELECT msg_id, job_id, NULL::int FROM sent UNION ALL SELECT NULL, NULL, id FROM queued;
END
$claim$;
