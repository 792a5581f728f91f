-- Push instead of poll: a NOTIFY on channel `backfill_console` after any statement
-- that changes the work list or the queue, so a console redraws at once. One
-- statement-level trigger per table: a batch of a thousand rows is one
-- notification, and PostgreSQL folds identical ones within a transaction.
CREATE OR REPLACE FUNCTION backfill_console_notify() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
  PERFORM pg_notify('backfill_console', TG_TABLE_NAME);
  RETURN NULL;
END
$$;

DROP TRIGGER IF EXISTS backfill_console_notify ON backfill_log;
CREATE TRIGGER backfill_console_notify AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON backfill_log
  FOR EACH STATEMENT EXECUTE FUNCTION backfill_console_notify();

DROP TRIGGER IF EXISTS backfill_console_notify ON backfill_queue;
CREATE TRIGGER backfill_console_notify AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON backfill_queue
  FOR EACH STATEMENT EXECUTE FUNCTION backfill_console_notify();

DROP TRIGGER IF EXISTS backfill_console_notify ON backfill_queue_dead;
CREATE TRIGGER backfill_console_notify AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON backfill_queue_dead
  FOR EACH STATEMENT EXECUTE FUNCTION backfill_console_notify();
