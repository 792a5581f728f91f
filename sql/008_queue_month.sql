-- The month a queue message is for, as its advisory-lock key (year * 100 + month),
-- NULL for a message that names no month. Never fails, whatever a message holds,
-- so an index on it can never refuse a producer's INSERT.
CREATE OR REPLACE FUNCTION backfill_message_month(message jsonb) RETURNS int
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
  SELECT CASE WHEN message ->> 'year' ~ '^[0-9]{4}$' AND message ->> 'month' ~ '^[0-9]{1,2}$'
              THEN (message ->> 'year')::int * 100 + (message ->> 'month')::int END
$$;

-- "Has this month a live message?" is one index probe: every action that could put a
-- second message on the queue for a month (claim, reset, retry, redrive) asks it in
-- the same transaction, after taking the month's lock (its first message by id is the
-- index's first entry for the month); the duplicate check walks it month by month.
-- Built in the migration's transaction: the queue takes no writes while it builds
-- (seconds at a million messages).
CREATE INDEX IF NOT EXISTS backfill_queue_month ON backfill_queue (backfill_message_month(message), msg_id);
