-- Queue depth without scanning the queue: the invisible part (in flight,
-- delayed) is read from this index alone, and the ready part is counted exactly
-- only up to a cap (see src/db/snapshot/sql.rs). It replaces the plain visible_at
-- index: consumers' `visible_at <= now()` reads use it just as well.
CREATE INDEX IF NOT EXISTS backfill_queue_visibility ON backfill_queue (visible_at) INCLUDE (read_count);
DROP INDEX IF EXISTS backfill_queue_visible_at;
